"""A run's files, missing, optional, damaged or outdated, give one clear message naming the file."""

import pandas as pd
import pytest

from hark.errors import HarkError
from hark.runfiles import read_json, read_table


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
