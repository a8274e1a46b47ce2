"""Error rates per slice (class, speaker) with Wilson score intervals, which stay honest for the
handful of clips a speaker has."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hark.schema import ERROR

Z95 = 1.959963984540054


def wilson_interval(errors: np.ndarray, totals: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    totals = np.asarray(totals, float)
    rate = np.divide(errors, totals, out=np.zeros_like(totals), where=totals > 0)
    n = np.maximum(totals, 1)
    denominator = 1 + z**2 / n
    centre = (rate + z**2 / (2 * n)) / denominator
    spread = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / denominator
    return np.clip(centre - spread, 0, 1), np.clip(centre + spread, 0, 1)


def error_rates(clips: pd.DataFrame, by: str, error_column: str = ERROR, min_clips: int = 1) -> pd.DataFrame:
    """One row per value of `by`: clips, errors, rate, low, high; worst lower bound first, so that
    a slice is ranked high only when the evidence says it is really bad."""
    grouped = (
        clips.groupby(by, dropna=False)[error_column]
        .agg(["size", "sum"])
        .rename(columns={"size": "clips", "sum": "errors"})
    )
    grouped = grouped[grouped["clips"] >= min_clips]
    grouped["errors"] = grouped["errors"].astype(int)
    grouped["rate"] = grouped["errors"] / grouped["clips"]
    grouped["low"], grouped["high"] = wilson_interval(grouped["errors"].to_numpy(), grouped["clips"].to_numpy())
    return grouped.sort_values(["low", "rate"], ascending=False).reset_index()
