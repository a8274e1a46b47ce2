"""Two sides (one run each, or several seeds each) judged on the clips they share, against one
label space: a clip that `hark fix` moved to `_cutoff_` keeps its original label, a `_cutoff_`
prediction on it is a correct rejection and on a clean word a false rejection. Clean accuracy
and the rejection rates are reported apart, with paired statistics (McNemar's exact test with
Newcombe's score interval of each rate's change; a bootstrap interval for macro-F1) and a verdict in
words; with several seeds, their spread too."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.metrics import f1_score

from hark.analysis.findings import read_findings
from hark.analysis.report import STYLE, table_html
from hark.analysis.slices import wilson_interval
from hark.errors import UsageError
from hark.schema import ANALYSIS_DIR, CUTOFF_LABEL, FINDINGS_FILE, LABEL, PATH, PRED, SPLIT

ALPHA = 0.05
BOOTSTRAP = 1000
# Above this share of shared clips with different labels (other than `_cutoff_`), the two label
# sets are not one task: `hark fix --relabel` changes a few percent at most.
MAX_RELABELLED_SHARE = 0.2
EVALUATION_SPLITS = ("test", "validation", "train")
BETTER, WORSE, NO_DIFFERENCE = "B is better", "B is worse", "no difference beyond noise"
# A paired test over clips cannot see that a second training run differs from the first by itself.
ONE_RUN_NOTE = (
    "one run a side: McNemar's test and the intervals cover the sampling of clips, not training's "
    "run-to-run noise; retraining the same recipe with another seed moved a held-out FSDD speaker's "
    'accuracy by 4-10 points (README, "Recipes on real speech"). To tell a change from that noise, '
    "train several seeds a side (`hark train --seeds 3`) and compare the two seed folders"
)


@dataclass
class SideRates:
    clean_accuracy: list[float]  # one per run
    false_rejection: list[float]  # clean clips predicted `_cutoff_`
    cutoff_right: list[float]  # cut-off clips: the original word
    cutoff_wrong: list[float]  # another word
    cutoff_rejected: list[float]  # `_cutoff_`
    macro_f1: list[float]


@dataclass
class Comparison:
    split: str
    clips: pd.DataFrame  # path, truth, is_cutoff, then pred_a{k} / pred_b{k}
    a: SideRates
    b: SideRates
    tests: pd.DataFrame  # measure, clips, differ, a, b, delta, low, high, p_value, verdict
    per_class: pd.DataFrame  # label, f1_a, f1_b, delta, seed_sd (means over each side's seeds)
    modes: pd.DataFrame  # title, size, in_b, fixed_in_b, share_fixed
    verdict: str
    notes: list[str] = field(default_factory=list)


def _evaluation_split(runs) -> str:
    for split in EVALUATION_SPLITS:
        if all((run.clips[SPLIT] == split).any() for run in runs):
            return split
    raise UsageError("the runs share no split (train, validation or test); were they evaluated on one dataset?")


def shared_clips(runs_a: list, runs_b: list, split: str) -> pd.DataFrame:
    """One row per clip every run has in `split`: its truth (the label that is not `_cutoff_`,
    A's first), whether a fix moved it to `_cutoff_`, and each run's prediction."""
    frames = [run.clips.loc[run.clips[SPLIT] == split, [PATH, LABEL, PRED]].set_index(PATH) for run in runs_a + runs_b]
    common = frames[0].index
    for frame in frames[1:]:
        common = common.intersection(frame.index)
    if not len(common):
        raise UsageError(
            f"the runs share no clip in the {split} split: compare runs trained on the same dataset "
            "(or a `hark fix` manifest of it)"
        )
    labels = pd.DataFrame({k: f.loc[common, LABEL] for k, f in enumerate(frames)})
    is_cutoff = (labels == CUTOFF_LABEL).any(axis=1)
    truth = labels.where(labels != CUTOFF_LABEL).bfill(axis=1).iloc[:, 0]
    known = labels.where(labels != CUTOFF_LABEL)
    differs = known.nunique(axis=1) > 1
    if differs.mean() > MAX_RELABELLED_SHARE:
        example = differs[differs].index[0]
        raise UsageError(
            f"the label sets cannot be mapped: {differs.mean():.0%} of the shared clips carry different "
            f"labels (e.g. {example}: {', '.join(map(str, labels.loc[example]))})"
        )
    out = pd.DataFrame({"truth": truth.fillna(CUTOFF_LABEL), "is_cutoff": is_cutoff}, index=common)
    for k, frame in enumerate(frames):
        side, index = ("a", k) if k < len(runs_a) else ("b", k - len(runs_a))
        out[f"pred_{side}{index}"] = frame.loc[common, PRED]
    return out.rename_axis(PATH).reset_index()


def _side_rates(clips: pd.DataFrame, side: str, count: int) -> SideRates:
    clean, cut = clips[~clips["is_cutoff"]], clips[clips["is_cutoff"]]
    rates = SideRates([], [], [], [], [], [])
    for k in range(count):
        pred = clips[f"pred_{side}{k}"]
        rates.clean_accuracy.append(float((pred[clean.index] == clean["truth"]).mean()))
        rates.false_rejection.append(float((pred[clean.index] == CUTOFF_LABEL).mean()))
        rates.macro_f1.append(macro_f1(clean["truth"].to_numpy(), pred[clean.index].to_numpy()))
        if len(cut):
            said = pred[cut.index]
            rates.cutoff_right.append(float((said == cut["truth"]).mean()))
            rates.cutoff_rejected.append(float((said == CUTOFF_LABEL).mean()))
            rates.cutoff_wrong.append(1.0 - rates.cutoff_right[-1] - rates.cutoff_rejected[-1])
    return rates


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the words the clips carry: a `_cutoff_` prediction on a clean clip costs its
    word's recall, but `_cutoff_` is no class of its own to average in."""
    return float(f1_score(truth, pred, labels=np.unique(truth), average="macro", zero_division=0))


def mcnemar(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """McNemar's exact test of paired boolean outcomes: the two-sided p-value, and a 95% interval of
    the change in rate (B's minus A's), Newcombe's hybrid score interval for paired proportions
    (1998, method 10: the two rates' Wilson intervals, joined with their correlation). A bootstrap
    interval of a rate that only a few clips move leaves out 0 where the exact test cannot tell: 4
    of 278 clean clips rejected by B alone gave +0.4% to +3.2% next to p = 0.125; this one gives
    -0.2% to +3.6%."""
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    both, neither = int((a & b).sum()), int((~a & ~b).sum())
    n = len(a)
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_b, only_a + only_b, 0.5).pvalue)
    rate_a, rate_b = (both + only_a) / n, (both + only_b) / n
    (low_a, low_b), (high_a, high_b) = wilson_interval(np.array([both + only_a, both + only_b]), np.array([n, n]))
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = (both * neither - only_a * only_b) / np.sqrt(margins) if margins else 0.0
    change = rate_b - rate_a
    down_b, up_a, up_b, down_a = rate_b - low_b, high_a - rate_a, high_b - rate_b, rate_a - low_a
    low = change - np.sqrt(max(down_b**2 - 2 * phi * down_b * up_a + up_a**2, 0.0))
    high = change + np.sqrt(max(up_b**2 - 2 * phi * up_b * down_a + down_a**2, 0.0))
    return p, float(low), float(high)


def _bootstrap(measure, rows: int, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = [measure(rng.integers(0, rows, rows)) for _ in range(BOOTSTRAP)]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _verdict(higher_is_better: bool, a: float, b: float, low: float, high: float, p: float = np.nan) -> str:
    """No p-value (NaN) leaves the verdict to the interval alone."""
    if p >= ALPHA or (low <= 0 <= high):
        return NO_DIFFERENCE
    better = (b > a) == higher_is_better
    return BETTER if better else WORSE


def _paired_test(clips: pd.DataFrame, rows: pd.Index, outcome, count: int, name: str, higher_is_better: bool) -> dict:
    """Paired over clips (and over seeds k: A's k-th run with B's k-th)."""
    a = np.concatenate([outcome(clips.loc[rows, f"pred_a{k}"], clips.loc[rows]) for k in range(count)])
    b = np.concatenate([outcome(clips.loc[rows, f"pred_b{k}"], clips.loc[rows]) for k in range(count)])
    p, low, high = mcnemar(a, b) if len(a) else (1.0, np.nan, np.nan)
    rate_a, rate_b = float(a.mean()) if len(a) else np.nan, float(b.mean()) if len(b) else np.nan
    return {
        "measure": name,
        "clips": len(rows),
        "differ": int((a != b).sum()),
        "a": rate_a,
        "b": rate_b,
        "delta": rate_b - rate_a,
        "low": low,
        "high": high,
        "p_value": p,
        "verdict": _verdict(higher_is_better, rate_a, rate_b, low, high, p),
    }


def _macro_f1_test(clips: pd.DataFrame, rows: pd.Index, count: int) -> dict:
    truth = clips.loc[rows, "truth"].to_numpy()
    preds = {key: clips.loc[rows, f"pred_{key}"].to_numpy() for key in [f"{s}{k}" for s in "ab" for k in range(count)]}

    def delta(idx: np.ndarray) -> float:
        f1 = {key: macro_f1(truth[idx], pred[idx]) for key, pred in preds.items()}
        return float(np.mean([f1[f"b{k}"] - f1[f"a{k}"] for k in range(count)]))

    a = float(np.mean([macro_f1(truth, preds[f"a{k}"]) for k in range(count)]))
    b = float(np.mean([macro_f1(truth, preds[f"b{k}"]) for k in range(count)]))
    low, high = _bootstrap(delta, len(rows))
    return {
        "measure": "macro-F1, clean clips",
        "clips": len(rows),
        "differ": int(sum((preds[f"a{k}"] != preds[f"b{k}"]).sum() for k in range(count))),
        "a": a,
        "b": b,
        "delta": b - a,
        "low": low,
        "high": high,
        "p_value": np.nan,
        "verdict": _verdict(True, a, b, low, high),
    }


def _per_class(clips: pd.DataFrame, count: int) -> pd.DataFrame:
    """Each word's F1 on clean clips, the mean over each side's seeds, with the larger of the two
    sides' seed-to-seed standard deviations (NaN for one seed a side)."""
    clean = clips[~clips["is_cutoff"]]
    labels = np.unique(clean["truth"])
    scores = {
        side: np.array(
            [
                f1_score(clean["truth"], clean[f"pred_{side}{k}"], labels=labels, average=None, zero_division=0)
                for k in range(count)
            ]
        )  # [seed, label]
        for side in "ab"
    }
    spread = (
        np.maximum(*(s.std(axis=0, ddof=1) for s in scores.values())) if count > 1 else np.full(len(labels), np.nan)
    )
    f1_a, f1_b = scores["a"].mean(axis=0), scores["b"].mean(axis=0)
    per_class = pd.DataFrame({"label": labels, "f1_a": f1_a, "f1_b": f1_b, "delta": f1_b - f1_a, "seed_sd": spread})
    return per_class.sort_values("delta").reset_index(drop=True)


def _modes_in_b(findings_path: Path, clips: pd.DataFrame, count: int) -> pd.DataFrame:
    """For each of A's failure modes, how many of its clips B handles, averaged over B's seeds."""
    columns = ["title", "size", "in_b", "fixed_in_b", "share_fixed"]
    if not findings_path.exists():
        return pd.DataFrame(columns=columns)
    # A cut-off clip that B rejects is handled, as much as one B hears right.
    handled = np.mean(
        [
            (clips[f"pred_b{k}"] == clips["truth"]) | (clips["is_cutoff"] & (clips[f"pred_b{k}"] == CUTOFF_LABEL))
            for k in range(count)
        ],
        axis=0,
    )
    handled_share = pd.Series(handled, index=clips[PATH])
    rows = []
    for finding in read_findings(findings_path):
        present = handled_share[handled_share.index.isin(finding["clips"])]
        rows.append(
            {
                "title": finding["title"],
                "size": finding["size"],
                "in_b": len(present),
                "fixed_in_b": round(float(present.sum()), 1),
                "share_fixed": present.mean() if len(present) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _summary(tests: pd.DataFrame, a: SideRates, b: SideRates) -> tuple[str, list[str]]:
    """The verdict in words, and notes on the seed-to-seed spread."""
    parts = []
    for row in tests.itertuples():
        if row.clips == 0:
            continue
        change = f"{row.a:.1%} -> {row.b:.1%}" if "F1" not in row.measure else f"{row.a:.3f} -> {row.b:.3f}"
        # Rounded before formatting, so that a bound of -0.00001 reads 0.0%, not -0.0%.
        low, high = round(row.low, 3) + 0.0, round(row.high, 3) + 0.0
        interval = (
            f"95% CI of the change {low:+.1%} to {high:+.1%}"
            if "F1" not in row.measure
            else (f"95% CI {low:+.3f} to {high:+.3f}")
        )
        p = "" if not np.isfinite(row.p_value) else f", McNemar p={row.p_value:.3g}"
        # The score interval is approximate; where it leaves out 0 and the exact test does not,
        # too few clips moved, and the exact test decides.
        few = np.isfinite(row.p_value) and row.p_value >= ALPHA and not (row.low <= 0 <= row.high)
        few_note = f"; only {row.differ} clips changed, too few for the exact test to tell" if few else ""
        parts.append(f"{row.measure}: {row.verdict} ({change}; {interval}{p}{few_note})")
    notes = []
    if len(a.clean_accuracy) > 1:
        spread = max(np.std(a.clean_accuracy, ddof=1), np.std(b.clean_accuracy, ddof=1))
        difference = np.mean(b.clean_accuracy) - np.mean(a.clean_accuracy)
        within = abs(difference) <= 2 * spread
        notes.append(
            f"seed-to-seed spread of clean accuracy: A ±{np.std(a.clean_accuracy, ddof=1):.1%}, "
            f"B ±{np.std(b.clean_accuracy, ddof=1):.1%}; the mean difference {difference:+.1%} is "
            + ("within two spreads (seed noise)" if within else "beyond two spreads")
        )
    elif tests["verdict"].isin([BETTER, WORSE]).any():
        notes.append(ONE_RUN_NOTE)
    return "\n".join(parts), notes


def compare_sides(runs_a: list, runs_b: list) -> Comparison:
    """`runs_a`, `runs_b`: RunData of each side's runs (seeds), the same number per side."""
    if len(runs_a) != len(runs_b):
        raise UsageError(
            f"A has {len(runs_a)} run(s) but B has {len(runs_b)}: give the same number of seeds per "
            "side (e.g. `hark train --seeds N` for both)"
        )
    split = _evaluation_split(runs_a + runs_b)
    clips = shared_clips(runs_a, runs_b, split)
    count = len(runs_a)
    a, b = _side_rates(clips, "a", count), _side_rates(clips, "b", count)
    clean = clips.index[~clips["is_cutoff"]]
    cut = clips.index[clips["is_cutoff"]]
    tests = [
        _paired_test(
            clips, clean, lambda pred, rows: (pred == rows["truth"]).to_numpy(), count, "accuracy, clean clips", True
        ),
        _macro_f1_test(clips, clean, count),
        _paired_test(
            clips,
            clean,
            lambda pred, rows: (pred == CUTOFF_LABEL).to_numpy(),
            count,
            "false rejections, clean clips",
            False,
        ),
    ]
    if len(cut):
        tests.append(
            _paired_test(
                clips,
                cut,
                lambda pred, rows: ((pred != rows["truth"]) & (pred != CUTOFF_LABEL)).to_numpy(),
                count,
                "wrong word, cut-off clips",
                False,
            )
        )
    tests = pd.DataFrame(tests)
    verdict, notes = _summary(tests, a, b)
    modes = _modes_in_b(runs_a[0].run_dir / ANALYSIS_DIR / FINDINGS_FILE, clips, count)
    return Comparison(split, clips, a, b, tests, _per_class(clips, count), modes, verdict, notes)


def _rates_table(comparison: Comparison) -> pd.DataFrame:
    rows = []
    for side, rates in (("A", comparison.a), ("B", comparison.b)):
        row = {"side": side, "runs": len(rates.clean_accuracy)}
        for name in (
            "clean_accuracy",
            "false_rejection",
            "macro_f1",
            "cutoff_right",
            "cutoff_wrong",
            "cutoff_rejected",
        ):
            values = getattr(rates, name)
            row[name] = float(np.mean(values)) if values else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def format_comparison(comparison: Comparison, name_a: str, name_b: str, classes: int = 10) -> str:
    clips = comparison.clips
    lines = [
        f"A = {name_a}   B = {name_b}",
        f"{len(clips)} shared {comparison.split} clips: {int((~clips['is_cutoff']).sum())} clean, "
        f"{int(clips['is_cutoff'].sum())} moved to {CUTOFF_LABEL} by a fix (judged by their original label)",
        "",
        _rates_table(comparison).to_string(index=False, float_format="{:.3f}".format),
        "",
        comparison.tests.to_string(index=False, float_format="{:.4f}".format),
        "",
    ]
    if len(comparison.per_class):
        lines += [
            f"per-class F1 on clean {comparison.split} clips{_seeds_note(comparison)} (largest drops first):",
            _per_class_shown(comparison).head(classes).to_string(index=False, float_format="{:.3f}".format),
            "",
        ]
    if len(comparison.modes):
        lines += ["failure modes of A in B:", comparison.modes.to_string(index=False, float_format="{:.2f}".format), ""]
    lines += ["Verdict:", comparison.verdict, *comparison.notes]
    return "\n".join(lines)


def _seeds(comparison: Comparison) -> int:
    return len(comparison.a.clean_accuracy)


def _seeds_note(comparison: Comparison) -> str:
    return f", means over {_seeds(comparison)} seeds a side" if _seeds(comparison) > 1 else ""


def _per_class_shown(comparison: Comparison) -> pd.DataFrame:
    """The per-class table as shown: the seed spread column only where there is a spread."""
    return comparison.per_class.drop(columns="seed_sd") if _seeds(comparison) == 1 else comparison.per_class


def comparison_html(comparison: Comparison, name_a: str, name_b: str) -> str:
    clips = comparison.clips
    changed = clips[clips["pred_a0"] != clips["pred_b0"]].sort_values(PATH)
    sections = [
        (
            "Verdict",
            "".join(f"<p>{escape(line)}</p>" for line in [*comparison.verdict.splitlines(), *comparison.notes]),
        ),
        ("Rates", table_html(_rates_table(comparison))),
        ("Paired tests", table_html(comparison.tests, "{:.4f}")),
        (
            f"Per-class F1 ({comparison.split}, clean clips{_seeds_note(comparison)})",
            table_html(_per_class_shown(comparison)),
        ),
        (
            "Failure modes of A in B",
            table_html(comparison.modes) if len(comparison.modes) else "<p>A has no findings.json.</p>",
        ),
        (
            "Clips whose prediction changed" + (" (first seed of each side)" if _seeds(comparison) > 1 else ""),
            table_html(changed.head(500)),
        ),
    ]
    title = f"hark compare: {name_a} vs {name_b}"
    body = "".join(f"<h2>{escape(t)}</h2>{html}" for t, html in sections)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
