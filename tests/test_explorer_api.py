"""Every explorer endpoint over HTTP (FastAPI TestClient), its security rules, and a real
server that is SIGKILLed right after acknowledging a write."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import subprocess
import sys

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from explorer_fixtures import BROKEN, FLAGS, WINDOW, make_fake_run
from fastapi.testclient import TestClient

from hark import schema
from hark.cli import main
from hark.explorer.app import create_app
from hark.explorer.queries import ClipIndex, ClipQuery

LOCAL = "http://127.0.0.1:8765"  # the Host the server accepts (see guard.py)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_fake_run(tmp_path_factory.mktemp("explorer"))


@pytest.fixture(scope="module")
def client(run):
    with TestClient(create_app(run), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def clips(run):
    return pd.read_parquet(run / "analysis" / "clips.parquet")


def a_clip(clips, **where) -> str:
    rows = clips
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows[~rows.path.isin([BROKEN, WINDOW])].path.iloc[0]


def test_index_and_static_scripts_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "hark explorer" in page.text
    assert "cdn" not in page.text.lower()
    for script in ("app.js", "map.js", "pointcloud.js"):  # works offline: every script ships in the package
        served = client.get(f"/static/{script}")
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]
        assert "http://" not in served.text and "https://" not in served.text


def test_summary_lists_facets(client, clips):
    s = client.get("/api/summary").json()
    assert s["clips"] == len(clips)
    assert [f["name"] for f in s["flags"]] == [d.name for d in schema.DETECTORS]
    assert [f["title"] for f in s["flags"]] == [d.title for d in schema.DETECTORS]
    assert set(s["splits"]) == set(schema.SPLITS)
    assert s["has_map"] and s["has_similar"] and s["data_problem"] is None
    assert s["views"] == ["oof", "final"] and s["default_view"] == "oof"  # error is defined by oof_pred
    from hark.analysis.fix import CUTOFF_CLASS, UNUSABLE

    assert {CUTOFF_CLASS, UNUSABLE, "yes"} <= set(s["correction_labels"])  # what `hark fix --relabel` reads


def test_clip_filters_match_pandas(client, clips):
    disagree = clips[clips.label != clips.oof_pred]  # the defining prediction, as the analysis counts errors
    assert disagree.error.all() and len(disagree) == clips.error.sum()
    page = client.get("/api/clips", params={"agree": "disagree", "limit": 500}).json()
    assert page["total"] == len(disagree)
    assert {c["path"] for c in page["clips"]} == set(disagree.path)
    assert all(c["pred"] == c["predictions"]["oof"]["pred"] != c["label"] for c in page["clips"])
    final = client.get("/api/clips", params={"agree": "disagree", "prediction": "final", "limit": 500}).json()
    assert {c["path"] for c in final["clips"]} == set(clips.path[clips.label != clips.pred])
    assert all(c["pred"] == c["predictions"]["final"]["pred"] for c in final["clips"])
    both = client.get("/api/clips", params={"flag": ["cutoff", "-no_speech"], "split": "train", "limit": 500}).json()
    expected = clips[clips.flag_cutoff & ~clips.flag_no_speech & (clips.split == "train")]
    assert {c["path"] for c in both["clips"]} == set(expected.path)
    ranged = client.get("/api/clips", params={"conf_min": 0.5, "conf_max": 0.8, "loss_min": 0.3, "limit": 500}).json()
    expected = clips[clips.oof_confidence.between(0.5, 0.8) & (clips.loss >= 0.3)]
    assert ranged["total"] == len(expected)
    one = client.get("/api/clips", params={"label": "yes", "pred": "no", "mode": 2}).json()
    assert all(c["label"] == "yes" and c["pred"] == "no" and c["mode"] == 2 for c in one["clips"]) and one["total"]
    speaker = clips.speaker_id.iloc[0]
    assert client.get("/api/clips", params={"speaker": speaker}).json()["total"] == (clips.speaker_id == speaker).sum()
    assert client.get("/api/clips", params={"label_issue": True}).json()["total"] == clips.label_issue.sum()
    assert client.get("/api/clips", params={"search": "white_noise"}).json()["total"] == 1
    assert client.get("/api/clips", params={"flag": "no_such_flag"}).json()["total"] == 0


def test_sorting_and_paging(client, clips):
    by_loss = client.get("/api/clips", params={"sort": "loss", "order": "desc", "limit": 10}).json()["clips"]
    assert [c["loss"] for c in by_loss] == sorted(clips.loss, reverse=True)[:10]
    by_conf = client.get("/api/clips", params={"sort": "confidence", "order": "asc", "limit": 500}).json()["clips"]
    assert [c["confidence"] for c in by_conf] == sorted(clips.oof_confidence)
    params = {"sort": "confidence", "order": "asc", "limit": 500, "prediction": "final"}
    by_final = client.get("/api/clips", params=params).json()["clips"]
    assert [c["confidence"] for c in by_final] == sorted(clips.confidence)
    pages = [
        client.get("/api/clips", params={"sort": "label_quality", "offset": o, "limit": 20}).json()["clips"]
        for o in (0, 20, 40)
    ]
    paths = [c["path"] for page in pages for c in page]
    assert len(paths) == len(set(paths)) == len(clips)


def test_nan_scores_sort_last_either_way():
    frame = pd.DataFrame(
        {
            "path": list("abcd"),
            "loss": [1.0, np.nan, 3.0, 2.0],
            "confidence": 0.5,
            "label_quality": 0.5,
            "label": "x",
            "pred": "x",
            "split": "train",
        }
    )
    index = ClipIndex(frame, [])
    everything = np.ones(4, dtype=bool)
    assert frame.path[index.ordered(everything, "loss", "desc")].tolist() == ["c", "d", "a", "b"]
    assert frame.path[index.ordered(everything, "loss", "asc")].tolist() == ["a", "d", "c", "b"]


def test_failure_mode_and_issue_filters(client, run, clips):
    import json

    findings = json.loads((run / "analysis/findings.json").read_text())
    for number, finding in enumerate(findings, 1):  # the same numbering as findings.json, from 1
        got = client.get("/api/clips", params={"mode": number, "limit": 500}).json()
        assert {c["path"] for c in got["clips"]} == set(finding["clips"])
        assert all(c["mode"] == number and c["pred"] != c["label"] for c in got["clips"])
    assert client.get("/api/clips", params={"mode": 99}).json()["total"] == 0
    outside = client.get("/api/clips", params={"mode": schema.NO_CLUSTER}).json()["total"]
    assert outside == len(clips) - sum(len(f["clips"]) for f in findings)
    issue = client.post("/api/issues", json={"title": "two", "ids": [3, 5]}).json()
    got = client.get("/api/clips", params={"issue": issue["id"]}).json()
    assert sorted(c["id"] for c in got["clips"]) == [3, 5]


def test_bad_query_values_are_422(client):
    for params in (
        {"sort": "path; DROP TABLE"},
        {"limit": 100000},
        {"offset": -1},
        {"agree": "maybe"},
        {"mode": "x"},
        {"issue": 0},
        {"conf_min": "nan"},
        {"loss_max": "inf"},
        {"cluster": 1},
    ):
        assert client.get("/api/clips", params=params).status_code == 422, params


def test_mask_bits_follow_row_order(client, clips):
    result = client.get("/api/mask", params={"agree": "disagree"}).json()
    import base64

    bits = np.unpackbits(np.frombuffer(base64.b64decode(result["mask"]), dtype=np.uint8))[: len(clips)]
    assert bits.astype(bool).tolist() == (clips.label != clips.oof_pred).tolist()
    assert result["total"] == bits.sum()


def test_clips_by_id(client, clips):
    got = client.get("/api/clips/by-id", params={"ids": [4, 0]}).json()["clips"]
    assert [c["path"] for c in got] == [clips.path[4], clips.path[0]]
    assert client.get("/api/clips/by-id", params={"ids": [len(clips)]}).status_code == 404
    assert client.get("/api/clips/by-id", params={"ids": [10**20]}).status_code == 422
    assert client.get("/api/clips/by-id", params={"ids": ["x"]}).status_code == 422


def test_map_has_a_point_per_clip(client, clips):
    import base64

    m = client.get("/api/map").json()
    x, label, mode = (
        np.frombuffer(base64.b64decode(m[k]), dtype=t) for k, t in (("x", "<f4"), ("label", "<i4"), ("mode", "<i4"))
    )
    assert len(x) == len(label) == len(clips)
    assert np.allclose(x, clips.x) and [m["classes"][i] for i in label] == clips.label.tolist()
    for view, column in (("oof", "oof_pred"), ("final", "pred")):
        pred = np.frombuffer(base64.b64decode(m["pred"][view]), dtype="<i4")
        assert [m["classes"][i] for i in pred] == clips[column].tolist()
    assert mode.tolist() == clips.cluster.tolist()  # this fixture numbers clusters as failure modes
    assert set(m["flags"]) == set(FLAGS)


def test_metrics_confusion_and_findings(client, clips):
    m = client.get("/api/metrics", params={"split": "train"}).json()
    train = clips[clips.split == "train"]
    classes = m["confusion"]["classes"]
    counts = np.array(m["confusion"]["counts"])
    assert counts.sum() == len(train)
    yes, no = classes.index("yes"), classes.index("no")
    assert counts[yes, no] == ((train.label == "yes") & (train.oof_pred == "no")).sum()
    final = client.get("/api/metrics", params={"split": "train", "prediction": "final"}).json()["confusion"]
    final = np.array(final["counts"])
    assert final[yes, no] == ((train.label == "yes") & (train.pred == "no")).sum()
    assert m["distribution"]["train"]["yes"] == (train.label == "yes").sum()
    assert m["metrics"]["test"]["accuracy"] == 0.66
    # Numbered from 1; neither the title's "Failure mode N —" nor its repeat in the description shown.
    assert [(f["number"], f["title"]) for f in m["modes"]] == [
        (1, "speech runs into the end of the clip"),
        (2, "'yes' heard as 'no'"),
    ]
    assert m["modes"][0]["description"] == "speech runs into the end of the clip"


def test_similar_clips_share_the_label(client, clips):
    path = a_clip(clips, label="up")
    result = client.get("/api/similar", params={"path": path, "k": 5}).json()
    assert result["clip"]["path"] == path
    assert len(result["neighbours"]) == 5 and path not in [n["path"] for n in result["neighbours"]]
    assert all(n["label"] == "up" for n in result["neighbours"])  # the fixture clusters embeddings by label
    distances = [n["distance"] for n in result["neighbours"]]
    assert distances == sorted(distances)
    assert client.get("/api/similar", params={"path": "nope.wav"}).status_code == 404


def test_audio_is_served_whole_and_by_range(client, run, clips):
    path = a_clip(clips)
    whole = client.get("/api/audio", params={"path": path})
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    on_disk = (run.parent / "data" / path).read_bytes()
    assert whole.content == on_disk and whole.headers["accept-ranges"] == "bytes"
    part = client.get("/api/audio", params={"path": path}, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == on_disk[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(on_disk)}"


def test_window_clip_is_cut_to_one_second(client):
    import soundfile as sf

    response = client.get("/api/audio", params={"path": WINDOW})
    wave, rate = sf.read(io.BytesIO(response.content))
    assert response.status_code == 200 and rate == 16000 and len(wave) == 16000


def test_spectrogram_is_rendered_once_then_cached(client, run, clips):
    path = a_clip(clips, label="no")
    first = client.get("/api/spectrogram", params={"path": path})
    assert first.status_code == 200 and first.content.startswith(b"\x89PNG")
    cached = list((run / "explorer-cache" / "spectrograms").rglob("*.png"))
    assert cached and any(f.read_bytes() == first.content for f in cached)
    assert client.get("/api/spectrogram", params={"path": path}).content == first.content


def test_broken_clip_is_a_clear_4xx_not_a_crash(client):
    response = client.get("/api/spectrogram", params={"path": BROKEN})
    assert response.status_code == 422 and "zero-length" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["../run/config.json", "../../etc/passwd", "/etc/passwd", "yes/../../run/config.json", "", "yes"]
)
def test_only_clips_of_the_run_are_served(client, path):
    for kind in ("audio", "spectrogram"):
        assert client.get(f"/api/{kind}", params={"path": path}).status_code == 404


def test_issue_endpoints(client, clips):
    created = client.post(
        "/api/issues", json={"title": "Cut-off", "notes": "<script>alert(1)</script>", "ids": [0, 1, 1]}
    )
    assert created.status_code == 201
    issue = created.json()
    assert issue["size"] == 2 and issue["notes"] == "<script>alert(1)</script>" and issue["status"] == "open"
    assert issue["id"] in [i["id"] for i in client.get("/api/issues").json()["issues"]]
    assert client.get(f"/api/issues/{issue['id']}").json()["title"] == "Cut-off"
    patched = client.patch(f"/api/issues/{issue['id']}", json={"status": "resolved", "title": "Cut-off words"}).json()
    assert patched["status"] == "resolved" and patched["title"] == "Cut-off words"
    assert patched["notes"] == issue["notes"]
    added = client.post(f"/api/issues/{issue['id']}/clips", json={"ids": [1, 2]}).json()
    assert added["added"] == 1 and added["added_ids"] == [2]  # 1 was in it already: undo takes out only 2
    assert client.post(f"/api/issues/{issue['id']}/clips/remove", json={"ids": [0]}).json()["removed"] == 1
    exported = client.get(f"/api/issues/{issue['id']}/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["path"] for r in rows] == [clips.path[1], clips.path[2]]
    assert rows[0]["label"] == clips.label[1] and rows[0]["pred"] == clips.oof_pred[1]
    assert client.delete(f"/api/issues/{issue['id']}").status_code == 204
    assert client.get(f"/api/issues/{issue['id']}").status_code == 404


def test_issue_from_a_filter_takes_every_matching_clip(client, clips):
    issue = client.post("/api/issues", json={"title": "all disagreements", "filter": {"agree": "disagree"}}).json()
    assert issue["size"] == (clips.label != clips.oof_pred).sum()


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("post", "/api/issues", {"title": ""}),
        ("post", "/api/issues", {"title": "x" * 201}),
        ("post", "/api/issues", {"title": "t", "status": "closed"}),
        ("post", "/api/issues", {"title": "t", "ids": [10**9]}),
        ("post", "/api/issues", {"title": "t", "ids": ["a"]}),
        ("post", "/api/issues", {"title": "t", "unexpected": 1}),
        ("post", "/api/issues", {"title": "t", "filter": {"sort": "x"}}),
        ("patch", "/api/issues/abc", {"title": "t"}),
        ("post", "/api/issues/1/clips", {"ids": []}),
        ("put", "/api/corrections", {"path": "yes/x.wav"}),
    ],
)
def test_invalid_bodies_are_4xx(client, method, url, body):
    response = getattr(client, method)(url, json=body)
    assert 400 <= response.status_code < 500, response.text


def test_missing_issue_is_404(client):
    assert client.patch("/api/issues/424242", json={"title": "t"}).status_code == 404
    assert client.post("/api/issues/424242/clips", json={"ids": [1]}).status_code == 404
    assert client.delete("/api/issues/424242").status_code == 404
    assert client.get("/api/issues/424242/export.csv").status_code == 404


def test_huge_payloads_are_413(client):
    huge = b'{"title": "t", "notes": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.post("/api/issues", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit must still hold
        for _ in range(80):
            yield b"x" * 65536

    streamed = client.post("/api/issues", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    many_ids = client.post("/api/issues", json={"title": "t", "ids": list(range(300_000))})
    assert 400 <= many_ids.status_code < 500


def test_corrections_endpoints(client, clips):
    path = a_clip(clips, label="down")
    first = client.put("/api/corrections", json={"path": path, "label": "up"})
    assert first.status_code == 200 and first.json()["previous"] is None
    assert client.put("/api/corrections", json={"path": path, "label": "no"}).json()["previous"] == "up"  # for undo
    assert client.put("/api/corrections", json={"path": path, "label": "up"}).status_code == 200
    assert client.put("/api/corrections", json={"path": WINDOW, "label": "unusable"}).status_code == 200
    assert client.put("/api/corrections", json={"path": path, "label": "not-a-class"}).status_code == 422
    assert client.put("/api/corrections", json={"path": "../x.wav", "label": "up"}).status_code == 404
    listed = client.get("/api/corrections").json()["corrections"]
    assert {"path": path, "label": "up"} in listed
    card = client.get("/api/clips", params={"search": path}).json()["clips"][0]
    assert card["correction"] == "up"
    exported = client.get("/api/corrections.csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["path", "label"] and [path, "up"] in rows and [WINDOW, "unusable"] in rows
    assert client.delete("/api/corrections", params={"path": path}).status_code == 204
    assert client.delete("/api/corrections", params={"path": path}).status_code == 404


def test_query_model_rejects_unknown_sort():
    with pytest.raises(ValueError):
        ClipQuery(sort="speaker")


def _start_server(run):
    server = subprocess.Popen(
        [sys.executable, "-m", "hark.cli", "explore", str(run), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not match:
        server.kill()
        pytest.fail(f"server printed no URL: {line!r} {server.stderr.read()}")
    return server, match.group(0)


@pytest.mark.slow
def test_acknowledged_write_survives_sigkill(tmp_path):
    run = make_fake_run(tmp_path)
    server, url = _start_server(run)
    try:
        response = httpx.post(url + "api/issues", json={"title": "survives", "notes": "n", "ids": [1]}, timeout=30)
        assert response.status_code == 201
        os.kill(server.pid, signal.SIGKILL)  # no shutdown, no checkpoint: only what was fsynced counts
        server.wait(timeout=30)
    finally:
        server.kill()
    server, url = _start_server(run)
    try:
        issues = httpx.get(url + "api/issues", timeout=30).json()["issues"]
        assert [(i["title"], i["size"]) for i in issues] == [("survives", 1)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_non_local_host_warns_and_a_busy_port_is_a_clear_error(tmp_path, capsys):
    run = make_fake_run(tmp_path)
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        port = busy.getsockname()[1]
        code = main(["explore", str(run), "--host", "0.0.0.0", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 1  # a run-time problem
    assert "warning: listening on 0.0.0.0" in err and f"cannot listen on 0.0.0.0:{port}" in err


def test_run_without_analysis_is_a_clear_error(tmp_path, capsys):
    (tmp_path / schema.CONFIG_FILE).write_text("{}")
    assert main(["explore", str(tmp_path), "--data", str(tmp_path)]) == 1  # a run-time problem, not usage
    assert "clips.parquet" in capsys.readouterr().err


# ---- one schema: the browser reads every shared name from /api/schema -------------------------


def test_schema_is_served_from_hark_schema(client):
    from hark.explorer.queries import ClipFilter

    served = client.get("/api/schema").json()
    assert {k: v for k, v in served.items() if k in schema.run_schema()} == json_roundtrip(schema.run_schema())
    assert served["filter_keys"] == list(ClipFilter.model_fields)
    assert served["page_size"] == schema.PAGE_SIZE and served["sort_keys"] == list(schema.SORT_KEYS)


def json_roundtrip(value):
    import json

    return json.loads(json.dumps(value))


def test_static_scripts_hold_no_copy_of_the_schema():
    """The browser's copies that once disagreed with the analysis: filter keys, sort keys, page
    size, special labels, issue statuses."""
    from pathlib import Path

    static = Path(__file__).resolve().parents[1] / "src" / "hark" / "explorer" / "static"
    sort_list = ", ".join(f'"{k}"' for k in schema.SORT_KEYS[:2])
    copies = [
        *(f'"{label}"' for label in schema.SPECIAL_LABEL_NAMES),
        "FILTER_KEYS",
        "PAGE_SIZE =",
        '"open", "resolved"',
        sort_list,
        f"= {schema.PAGE_SIZE}",
    ]
    for script in static.glob("*.js"):
        text = script.read_text()
        assert [c for c in copies if c in text] == [], script.name


def test_legacy_analysis_is_read_through_the_schema_names(tmp_path):
    """A clips.parquet from before the rename: `oos_pred` is the out-of-fold prediction and the
    clusters, numbered from 0, become failure modes numbered from 1 by findings.json."""
    run = make_fake_run(tmp_path, legacy=True)
    clips = pd.read_parquet(run / "analysis" / "clips.parquet")
    with TestClient(create_app(run), base_url=LOCAL) as c:
        assert c.get("/api/summary").json()["views"] == ["oof", "final"]
        page = c.get("/api/clips", params={"agree": "disagree", "limit": 500}).json()
        assert {x["path"] for x in page["clips"]} == set(clips.path[clips.label != clips.oos_pred])
        first = c.get("/api/clips", params={"mode": 1, "limit": 500}).json()
        assert {x["path"] for x in first["clips"]} == set(clips.path[clips.cluster == 0])


def test_facets_count_each_value_under_the_filter(client, clips):
    facets = client.get("/api/facets", params={"split": "train"}).json()
    train = clips[clips.split == "train"]
    assert facets["total"] == len(train)
    assert facets["counts"]["label"] == train.label.value_counts().to_dict() | {
        k: 0 for k in set(clips.label) - set(train.label)
    }
    assert facets["counts"]["agree"]["disagree"] == (train.label != train.oof_pred).sum()
    assert facets["counts"]["flag"]["cutoff"] == train.flag_cutoff.sum()
    assert sum(facets["histograms"]["conf"]["counts"]) == train.oof_confidence.notna().sum()


def test_overview_counts_link_to_their_clips(client, clips):
    o = client.get("/api/overview").json()
    assert o["errors"] == clips.error.sum() and o["prediction"] == "oof"
    for split in o["splits"]:
        inside = clips[clips.split == split["split"]]
        listed = client.get("/api/clips", params={"split": split["split"], "agree": "disagree"}).json()["total"]
        assert split["errors"] == listed
        assert split["accuracy"] == round((inside.label == inside.oof_pred).mean(), 4)
    for pair in o["pairs"]:
        got = client.get("/api/clips", params={"label": pair["label"], "pred": pair["pred"]}).json()["total"]
        assert got == pair["count"]
    for mode in o["modes"]:
        assert all(card["mode"] == mode["number"] for card in mode["examples"]) and mode["examples"]
    flagged = {d["name"]: d["count"] for d in o["detectors"]}
    assert flagged == {d.name: int(clips[d.flag_column].sum()) for d in schema.DETECTORS}


def test_clip_detail_names_every_score(client, clips):
    path = a_clip(clips, label="yes")
    detail = client.get("/api/clip", params={"path": path}).json()
    assert [d["title"] for d in detail["detectors"]] == [d.title for d in schema.DETECTORS]
    row = clips.set_index("path").loc[path]
    assert detail["detectors"][0]["score"] == round(row.score_cutoff, 4)
    assert detail["onset"] == row.onset_s and detail["offset"] == row.offset_s and detail["cutoff_tail"]["seconds"] > 0
    assert detail["cutoff_tail"]["flagged"] == bool(row.flag_cutoff)
    assert detail["top"]["final"][0]["label"] == row.pred and len(detail["top"]["final"]) <= 5
    assert detail["clip"]["suggested_label"] == row.suggested_label and len(detail["neighbours"]) == 8
    assert client.get("/api/clip", params={"path": "../etc/passwd"}).status_code == 404
    wave = client.get("/api/waveform", params={"path": path}).json()
    from hark.data.spectrogram import MelSettings

    # The fake run records no front end, so pictures use the default one at its rate.
    assert wave["duration"] == 1.0 and len(wave["min"]) == len(wave["max"])
    assert len(wave["mel_hz"]) == MelSettings.for_rate(16000).n_mels


# ---- server hardening ----------------------------------------------------------------------


def test_ids_out_of_range_and_non_finite_numbers_are_4xx(client):
    assert client.get("/api/issues/99999999999999999999").status_code == 422
    assert client.get("/api/issues/0").status_code == 422
    response = client.post(
        "/api/issues", content=b'{"title": "t", "ids": [1e400]}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "finite" in response.json()["detail"]
    assert client.post("/api/issues", json={"title": "t", "ids": [2**70]}).status_code == 422


def test_an_unknown_url_parameter_is_named(client):
    response = client.get("/api/clips", params={"cluster": "abc"})
    assert response.status_code == 422 and response.json()["detail"] == "'cluster' is not a parameter here"


def test_a_4xx_never_echoes_the_request(client):
    response = client.post("/api/issues", json={"title": "t", "ids": list(range(200_001))})
    assert response.status_code == 422 and len(response.content) < 1000
    long_title = client.post("/api/issues", json={"title": "x" * 5000})
    assert long_title.status_code == 422 and len(long_title.content) < 1000
    label = client.put("/api/corrections", json={"path": "yes/a.wav", "label": "y" * 150})
    assert label.status_code in (404, 422) and len(label.content) < 1000


@pytest.mark.parametrize("host", ["evil.example:8765", "evil.example", "localhost.evil.example:8765", ""])
def test_a_foreign_host_header_is_refused(client, host):
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1."""
    assert client.get("/api/summary", headers={"host": host}).status_code == 421
    assert client.post("/api/issues", json={"title": "t"}, headers={"host": host}).status_code == 421


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST"])
def test_this_machine_s_names_are_accepted(client, host):
    assert client.get("/api/summary", headers={"host": host}).status_code == 200


def test_writes_need_a_same_origin_request(client):
    body = {"title": "from another site"}
    assert client.post("/api/issues", json=body, headers={"origin": "http://evil.example"}).status_code == 403
    assert client.post("/api/issues", json=body, headers={"origin": "null"}).status_code == 403
    assert client.post("/api/issues", json=body, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert (
        client.put(
            "/api/corrections", json={"path": "x", "label": "y"}, headers={"origin": "http://127.0.0.1:9999"}
        ).status_code
        == 403
    )
    assert client.get("/api/issues", headers={"origin": "http://evil.example"}).status_code == 200  # reads are fine
    ok = client.post("/api/issues", json=body, headers={"origin": LOCAL, "sec-fetch-site": "same-origin"})
    assert ok.status_code == 201


def test_spectrogram_cache_follows_the_data_root_and_the_file(tmp_path):
    import shutil

    import soundfile as sf

    run = make_fake_run(tmp_path)
    data = run.parent / "data"
    path = "yes/" + sorted(p.name for p in (data / "yes").glob("*_nohash_0.wav"))[0]
    with TestClient(create_app(run), base_url=LOCAL) as c:
        first = c.get("/api/spectrogram", params={"path": path}).content
    other = tmp_path / "other"
    shutil.copytree(data, other)
    sf.write(other / path, np.zeros(16000), 16000, subtype="PCM_16")  # the same name, other audio
    with TestClient(create_app(run, other), base_url=LOCAL) as c:
        moved = c.get("/api/spectrogram", params={"path": path}).content
    assert moved != first
    sf.write(data / path, np.zeros(16000), 16000, subtype="PCM_16")  # re-recorded in place
    os.utime(data / path, ns=(1, 1))
    with TestClient(create_app(run), base_url=LOCAL) as c:
        assert c.get("/api/spectrogram", params={"path": path}).content == moved


def test_a_missing_data_folder_is_reported_at_start_and_per_clip(tmp_path, capsys):
    run = make_fake_run(tmp_path)
    gone = tmp_path / "moved-away"
    with TestClient(create_app(run, gone), base_url=LOCAL) as c:
        problem = c.get("/api/summary").json()["data_problem"]
        assert str(gone) in problem and "--data" in problem
        path = c.get("/api/clips", params={"limit": 1}).json()["clips"][0]["path"]
        audio = c.get("/api/audio", params={"path": path})
        assert audio.status_code == 404 and str(gone) in audio.json()["detail"]
        assert c.get("/api/clip", params={"path": path}).json()["data_problem"] == problem
    wrong = tmp_path / "empty"
    wrong.mkdir()
    with TestClient(create_app(run, wrong), base_url=LOCAL) as c:
        assert "holds none of the run's clips" in c.get("/api/summary").json()["data_problem"]
    with socket.socket() as busy:  # start-up reports it before anything else can go wrong
        busy.bind(("127.0.0.1", 0))
        main(["explore", str(run), "--data", str(gone), "--port", str(busy.getsockname()[1])])
    assert f"data folder {gone} not found" in capsys.readouterr().err


def test_a_folder_that_is_no_run_names_the_problem(tmp_path, capsys):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("x")
    assert main(["explore", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert "not a run folder" in err and "hark train" in err and "no dataset source" not in err
    assert main(["explore", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


# ---- compare two runs ------------------------------------------------------------------------


def make_run_b(run_a, tmp_path):
    """Run B: run A's clips, where B gets every third clip right and the fifth wrong."""
    import shutil

    run_b = tmp_path / "run-b"
    shutil.copytree(run_a, run_b, ignore=shutil.ignore_patterns("explorer*"))
    table = pq.read_table(run_b / "analysis" / "clips.parquet")
    clips = table.to_pandas()
    rows = np.arange(len(clips))
    b = clips.oof_pred.where(rows % 3 != 0, clips.label)
    b = b.where(rows % 5 != 1, [x + "-wrong" for x in clips.label])
    clips["oof_pred"] = b
    pq.write_table(
        pa.Table.from_pandas(clips, preserve_index=False).replace_schema_metadata(table.schema.metadata),
        run_b / "analysis" / "clips.parquet",
    )
    return run_b, clips


def test_compare_two_runs_finds_what_b_fixed_and_broke(run, clips, tmp_path):
    run_b, b = make_run_b(run, tmp_path)
    a_right, b_right = clips.label == clips.oof_pred, b.label == b.oof_pred
    with TestClient(create_app(run, compare_dir=run_b), base_url=LOCAL) as c:
        summary = c.get("/api/summary").json()["compare"]
        assert summary == {"run": "run-b", "shared": len(clips), "prediction": "oof"}
        fixed = c.get("/api/clips", params={"compare": "fixed", "limit": 500}).json()
        assert {x["path"] for x in fixed["clips"]} == set(clips.path[~a_right & b_right])
        assert all(x["compare"]["pred"] == x["label"] != x["pred"] for x in fixed["clips"])
        broken = c.get("/api/clips", params={"compare": "broken", "limit": 500}).json()
        assert {x["path"] for x in broken["clips"]} == set(clips.path[a_right & ~b_right])
        overview = c.get("/api/overview").json()["compare"]
        assert (overview["fixed"], overview["broken"]) == (fixed["total"], broken["total"])
        assert c.get("/api/facets").json()["counts"]["compare"]["fixed"] == fixed["total"]
    with TestClient(create_app(run), base_url=LOCAL) as c:  # without B: the filter matches nothing
        assert c.get("/api/clips", params={"compare": "fixed"}).json()["total"] == 0


def test_compare_with_an_evaluated_but_not_analysed_run_uses_its_final_predictions(run, clips, tmp_path):
    """`make demo` retrains run B (as `hark train --seeds`: run-b/seed-K) and evaluates it
    without analysing it: B's cards show the final model's predictions from its
    predictions.parquet, and B is named with its seed folder's parent."""
    import shutil

    from hark.errors import HarkError

    run_b = tmp_path / "run-b" / "seed-0"
    shutil.copytree(run, run_b, ignore=shutil.ignore_patterns("explorer*", "analysis"))
    predictions = pd.read_parquet(run_b / "predictions.parquet")
    predictions["pred"] = predictions["label"]  # B gets every clip right
    predictions.to_parquet(run_b / "predictions.parquet", index=False)
    with TestClient(create_app(run, compare_dir=run_b), base_url=LOCAL) as c:
        summary = c.get("/api/summary").json()["compare"]
        assert summary == {"run": "run-b/seed-0", "shared": len(clips), "prediction": "final"}
        fixed = c.get("/api/clips", params={"compare": "fixed", "limit": 500}).json()
        assert {x["path"] for x in fixed["clips"]} == set(clips.path[clips.label != clips.oof_pred])
        assert c.get("/api/clips", params={"compare": "broken"}).json()["total"] == 0
    (run_b / "predictions.parquet").unlink()
    with pytest.raises(HarkError, match="hark evaluate"):
        create_app(run, compare_dir=run_b)


def test_compare_with_a_run_of_other_clips_is_a_clear_error(run, tmp_path):
    from hark.errors import HarkError

    other, clips = make_run_b(run, tmp_path)
    clips["path"] = "elsewhere/" + clips["path"]
    clips.to_parquet(other / "analysis" / "clips.parquet", index=False)
    with pytest.raises(HarkError, match="shares no clip"):
        create_app(run, compare_dir=other)
    with pytest.raises(HarkError, match="not a run folder"):
        create_app(run, compare_dir=tmp_path)
