"""`RUN/analysis/report.html`: one self-contained page (images and audio inlined as base64, no
external references) that opens offline. Every piece of user text is escaped."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import soundfile as sf  # noqa: E402

from hark.data.audio import load_clip  # noqa: E402
from hark.data.spectrogram import DISPLAY_RANGE, MelSettings, log_mel  # noqa: E402
from hark.errors import AudioError  # noqa: E402
from hark.fileio import write_text  # noqa: E402
from hark.schema import CONFIDENCE, DETECTORS, ERROR, LABEL, NO_CLUSTER, OOF_CONFIDENCE, OOF_PRED, PATH  # noqa: E402
from hark.train.metrics import confusion_matrix  # noqa: E402

EXAMPLES_PER_MODE = 3
MODES_SHOWN = 8
LABEL_CANDIDATES_SHOWN = 20
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
th{background:#f3f3f3}
.clip{display:inline-block;margin:4px;padding:4px;border:1px solid #ddd;font-size:12px;vertical-align:top}
.mode{border-left:4px solid #c33;padding-left:1em;margin:1.5em 0}h2{border-bottom:1px solid #ddd;margin-top:2em}"""


def _prediction_columns(analysis) -> tuple[str, str]:
    """The prediction that defines `error` and its confidence: the report shows what the modes count."""
    return analysis.defining, OOF_CONFIDENCE if analysis.defining == OOF_PRED else CONFIDENCE


def _prediction_words(analysis) -> str:
    return "out-of-fold predictions" if analysis.defining == OOF_PRED else "the final model's predictions"


def _figure_png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def clip_html(root: Path, path: str, caption: str, front_end: MelSettings) -> str:
    """Spectrogram image (the model's own log-mel), audio player and caption of one clip, all inline."""
    sample_rate = front_end.sample_rate
    try:
        wave = load_clip(root, path, sample_rate, None)
    except AudioError as err:
        return f'<div class="clip">{escape(path)}<br>{escape(err.problem)}<br>{escape(caption)}</div>'
    image = log_mel(wave, front_end)
    png = io.BytesIO()
    plt.imsave(
        png, image, cmap="magma", origin="lower", vmin=image.max() - DISPLAY_RANGE, vmax=image.max(), format="png"
    )
    encoded = base64.b64encode(png.getvalue()).decode()
    picture = f'<img alt="spectrogram" height="80" width="200" src="data:image/png;base64,{encoded}">'
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wave, -1, 1), sample_rate, format="WAV", subtype="PCM_16")
    audio = base64.b64encode(buffer.getvalue()).decode()
    return (
        f'<div class="clip">{picture}<br>'
        f'<audio controls preload="none" src="data:audio/wav;base64,{audio}"></audio>'
        f"<br>{escape(path)}<br>{escape(caption)}</div>"
    )


def table_html(frame: pd.DataFrame, floats: str = "{:.3f}") -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = "".join(
            f"<td>{escape(floats.format(v) if isinstance(v, (float, np.floating)) else str(v))}</td>" for v in values
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _metrics_section(metrics: dict) -> str:
    if not metrics:
        return "<p>No metrics.json in the run.</p>"
    frame = pd.DataFrame(
        [
            {
                "split": s,
                "clips": m.get("clips", ""),
                "accuracy": m.get("accuracy", np.nan),
                "macro-F1": m.get("macro_f1", np.nan),
            }
            for s, m in metrics.items()
            if isinstance(m, dict)
        ]
    )
    return table_html(frame, "{:.4f}")


def _distribution_plot(clips: pd.DataFrame) -> str:
    counts = clips.groupby(["label", "split"]).size().unstack(fill_value=0)
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * len(counts)), 3))
    counts.plot.bar(stacked=True, ax=ax, width=0.8)
    ax.set_ylabel("clips")
    ax.set_xlabel("")
    return _figure_png(fig)


def _confusion_plot(clips: pd.DataFrame, labels: list[str], defining: str) -> str:
    matrix = confusion_matrix(clips[LABEL], clips[defining], labels)
    size = max(4, 0.28 * len(labels))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(np.log1p(matrix), cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    return _figure_png(fig)


def _curves_plot(history: pd.DataFrame | None) -> str:
    if history is None or history.empty:
        return "<p>No history.csv in the run.</p>"
    x = history["epoch"] if "epoch" in history else np.arange(1, len(history) + 1)
    groups = [[c for c in history.columns if "loss" in c], [c for c in history.columns if "acc" in c or "f1" in c]]
    groups = [g for g in groups if g]
    if not groups:
        return "<p>history.csv has no loss or accuracy columns.</p>"
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3), squeeze=False)
    for ax, columns in zip(axes[0], groups, strict=True):
        for column in columns:
            ax.plot(x, pd.to_numeric(history[column], errors="coerce"), label=column)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    return _figure_png(fig)


def _map_plot(clips: pd.DataFrame, method: str) -> str:
    fig, ax = plt.subplots(figsize=(6, 5))
    correct = ~clips[ERROR]
    ax.scatter(clips.loc[correct, "x"], clips.loc[correct, "y"], s=3, c="#bbb", label="correct")
    wrong = clips[clips[ERROR]]
    ax.scatter(
        wrong["x"],
        wrong["y"],
        s=6,
        c=np.where(wrong["cluster"] != NO_CLUSTER, wrong["cluster"], 0),
        cmap="tab10",
        label="errors (colour = failure mode)",
    )
    ax.set_title(f"embedding map ({method})")
    ax.legend(fontsize=8, loc="best")
    return _figure_png(fig)


def _modes_section(analysis, root: Path) -> str:
    if not analysis.modes:
        return "<p>No group of errors large enough to call a failure mode.</p>"
    clips, parts = analysis.clips, []
    pred, confidence = _prediction_columns(analysis)
    front_end = MelSettings.of_run(analysis.run.config)
    for mode in analysis.modes[:MODES_SHOWN]:
        rows = clips.iloc[mode.rows].sort_values(confidence, ascending=False).head(EXAMPLES_PER_MODE)
        examples = "".join(
            clip_html(root, path, f"{label} \u2192 {said} ({sure:.2f})", front_end)
            for path, label, said, sure in zip(rows[PATH], rows[LABEL], rows[pred], rows[confidence], strict=True)
        )
        parts.append(
            f'<div class="mode"><h3>{escape(mode.title)}</h3><p>{escape(mode.description)}</p>{examples}</div>'
        )
    return "".join(parts)


def _label_section(analysis, root: Path) -> str:
    clips = analysis.clips
    ours, theirs = clips["label_issue"], clips["cleanlab_issue"]
    folds = analysis.label_errors.crossval_folds
    how = f"{folds}-fold cross-validated" if folds else "in-sample"
    summary = (
        f"<p>{int(ours.sum())} likely label errors (label quality from "
        f"{how} probabilities and embedding neighbours); cleanlab finds {int(theirs.sum())}; "
        f"both agree on {int((ours & theirs).sum())}.</p>"
    )
    candidates = clips[ours].sort_values("label_quality").head(LABEL_CANDIDATES_SHOWN)
    front_end = MelSettings.of_run(analysis.run.config)
    examples = "".join(
        clip_html(
            root,
            r.path,
            f"filed '{r.label}', sounds like '{r.suggested_label}' (quality {r.label_quality:.2f})",
            front_end,
        )
        for r in candidates.itertuples()
    )
    return summary + examples


def _detector_section(clips: pd.DataFrame) -> str:
    rows = []
    for detector in DETECTORS:
        flagged = clips[detector.flag_column]
        rate = clips.loc[flagged, ERROR].mean() if flagged.any() else np.nan
        rows.append(
            {
                "detector": detector.name,
                "flag means": detector.flag_meaning,
                "flagged": int(flagged.sum()),
                "error rate if flagged": rate,
                "error rate otherwise": clips.loc[~flagged, ERROR].mean(),
                "score": detector.score_meaning,
            }
        )
    return table_html(pd.DataFrame(rows))


def _duplicates_section(analysis) -> str:
    leaks = [g for g in analysis.duplicates if g["across_splits"]]
    text = (
        f"<p>{len(analysis.duplicates)} groups of identical recordings, {len(leaks)} across splits (leakage); "
        f"{len(analysis.near_duplicates)} near-identical pairs across splits in embedding space.</p>"
    )
    shown = pd.DataFrame(
        [
            {"clips": ", ".join(g["paths"][:4]), "splits": ", ".join(g["splits"]), "labels": ", ".join(g["labels"])}
            for g in analysis.duplicates[:20]
        ]
    )
    near = pd.DataFrame(analysis.near_duplicates[:20])
    outliers = analysis.clips.nlargest(10, "outlier_score")[["path", "split", "label", "outlier_score"]]
    return (
        text
        + (table_html(shown) if len(shown) else "")
        + (table_html(near) if len(near) else "")
        + "<h3>Outliers (far from every other clip)</h3>"
        + table_html(outliers)
    )


def render_report(analysis, root: Path) -> str:
    run, clips = analysis.run, analysis.clips
    pairs = pd.DataFrame(
        [{k: (", ".join(v) if isinstance(v, list) else v) for k, v in p.items()} for p in analysis.pairs]
    )
    sections = [
        ("Metrics", _metrics_section(run.metrics)),
        ("Failure modes", _modes_section(analysis, root)),
        ("Likely label errors", _label_section(analysis, root)),
        ("Confusable pairs", table_html(pairs) if len(pairs) else "<p>No confusions.</p>"),
        ("Audio detectors", _detector_section(clips)),
        ("Error rates per class (95% Wilson interval)", table_html(analysis.class_rates)),
        ("Error rates per speaker (worst 20, at least 3 clips)", table_html(analysis.speaker_rates.head(20))),
        ("Class distribution", _distribution_plot(clips)),
        (
            f"Confusion matrix ({_prediction_words(analysis)}, log scale)",
            _confusion_plot(clips, run.labels, analysis.defining),
        ),
        ("Training curves", _curves_plot(run.history)),
        ("Embedding map", _map_plot(clips, analysis.map_method)),
        ("Duplicates and leakage", _duplicates_section(analysis)),
    ]
    if analysis.problems:
        items = "".join(f"<li>{escape(p)}</li>" for p in analysis.problems[:100])
        sections.append(("Unreadable clips", f"<ul>{items}</ul>"))
    body = "".join(f"<h2>{escape(title)}</h2>{html}" for title, html in sections)
    title = f"hark analysis: {run.run_dir.name}"
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{len(clips)} clips, {int(clips[ERROR].sum())} errors ({_prediction_words(analysis)}).</p>"
        f"{body}</body></html>"
    )


def write_report(analysis, root: Path, path: Path) -> Path:
    return write_text(path, render_report(analysis, root))
