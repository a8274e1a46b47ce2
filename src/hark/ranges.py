"""Valid ranges of options and config fields, kept in a dataclass field's metadata
(`field(default=..., metadata=valid(Range(0, 1)))`) so that each range sits beside its field.
Standard library only; `problem(value)` is None for a valid value, else what is wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """low <= value <= high; an `open` end excludes its limit. Numbers must be finite."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def problem(self, value) -> str | None:
        if not math.isfinite(value):
            return "must be a finite number"
        too_low = value < self.low or (self.low_open and value == self.low)
        too_high = value > self.high or (self.high_open and value == self.high)
        return f"must be {self}" if too_low or too_high else None

    def __str__(self) -> str:
        if math.isinf(self.high):
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]

    def problem(self, value) -> str | None:
        return None if value in self.choices else f"must be one of {', '.join(self.choices)}"


@dataclass(frozen=True)
class Ordered:
    """A (low, high) pair of numbers, each in `each`, with low <= high."""

    each: Range = Range()

    def problem(self, value) -> str | None:
        for item in value:
            if self.each.problem(item):
                return f"each value {self.each.problem(item)}"
        return None if value[0] <= value[1] else "the first value must not exceed the second"


def valid(check) -> dict:
    return {"valid": check}


def problem_of(spec, value) -> str | None:
    """What is wrong with `value` for the dataclass field `spec`, if its metadata has a range."""
    check = spec.metadata.get("valid")
    return check.problem(value) if check is not None else None
