"""A run's files, missing, optional, damaged or outdated, give one clear message naming the file."""

import json

import pandas as pd
import pyarrow as pa
import pytest

from hark.errors import HarkError
from hark.runfiles import read_clips, read_json, read_labels, read_table
from hark.schema import LABELS_METADATA_KEY


def test_missing_json_names_the_file_and_the_command(tmp_path):
    with pytest.raises(HarkError, match=r"metrics\.json: no metrics; run `hark evaluate RUN` first"):
        read_json(tmp_path / "metrics.json", "metrics", "hark evaluate RUN")


def test_optional_json_falls_back_to_its_default(tmp_path):
    assert read_json(tmp_path / "findings.json", "findings", "hark analyze", default=[]) == []


def test_damaged_json_is_an_error_even_when_optional(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(HarkError, match=r"config\.json: cannot read the training config"):
        read_json(tmp_path / "config.json", "training config", "hark train", default={})


def test_table_with_a_missing_column_says_what_to_rerun(tmp_path):
    pd.DataFrame({"path": ["a.wav"]}).to_parquet(tmp_path / "clips.parquet")
    with pytest.raises(HarkError, match=r"missing column\(s\) label; re-run `hark analyze RUN`"):
        read_table(tmp_path / "clips.parquet", "per-clip analysis", "hark analyze RUN", ("path", "label"))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(HarkError, match=r"broken\.parquet: cannot read the per-clip analysis"):
        read_table(tmp_path / "broken.parquet", "per-clip analysis", "hark analyze RUN")
    assert read_table(tmp_path / "clips.parquet", "per-clip analysis", "x", ("path",)).num_rows == 1


def test_clips_of_an_older_analysis_get_the_defaults_of_missing_columns(tmp_path):
    pd.DataFrame({"path": ["a.wav"], "label": ["yes"]}).to_parquet(tmp_path / "clips.parquet")
    clips = read_clips(tmp_path / "clips.parquet", ("path",), {"cluster": -1, "label": "?"})
    assert clips.to_dict("records") == [{"path": "a.wav", "label": "yes", "cluster": -1}]
    with pytest.raises(HarkError, match=r"missing column\(s\) pred; re-run `hark analyze RUN`"):
        read_clips(tmp_path / "clips.parquet", ("path", "pred"))


def test_the_class_order_travels_in_the_table_metadata():
    table = pa.table({"path": ["a.wav"]})
    assert read_labels(table) is None
    tagged = table.replace_schema_metadata({LABELS_METADATA_KEY: json.dumps(["no", "yes"]).encode()})
    assert read_labels(tagged) == ["no", "yes"]
