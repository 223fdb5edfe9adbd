"""Measured figures (several runs, reported as median with min and max) and the rows of the report."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """The values one measurement took over its runs."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a figure needs at least one run")

    @classmethod
    def of(cls, values: Iterable[float]) -> Figure:
        return cls(tuple(float(value) for value in values))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def runs(self) -> int:
        return len(self.values)

    def scaled(self, factor: float) -> Figure:
        """The same runs in another unit (e.g. seconds -> milliseconds)."""
        return Figure(tuple(value * factor for value in self.values))


def ratios(numerators: Figure, denominators: Figure) -> Figure:
    """Run-by-run ratios of two figures measured in the same runs (run i over run i)."""
    if numerators.runs != denominators.runs:
        raise ValueError("ratios need the same number of runs on both sides")
    return Figure(tuple(a / b for a, b in zip(numerators.values, denominators.values, strict=True)))


def percentile(values: Iterable[float], share: float) -> float:
    """The `share` (0..1) percentile by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = share * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class Target:
    """What a figure's median must be: at most (`at_most=True`) or at least `bound`."""

    bound: float
    at_most: bool = True

    def met_by(self, value: float) -> bool:
        return value <= self.bound if self.at_most else value >= self.bound

    def text(self, unit: str) -> str:
        return f"{'<=' if self.at_most else '>='} {_number(self.bound)}{_unit_suffix(unit)}"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    scenario: str  # "a" .. "f"
    label: str
    figure: Figure
    unit: str  # "s", "ms", "x", "MB"
    target: Target | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met_by(self.figure.median)

    def cells(self) -> list[str]:
        """scenario, measurement, median, min, max, target, verdict: as text."""
        figure, suffix = self.figure, _unit_suffix(self.unit)
        verdict = "" if self.met is None else ("met" if self.met else "MISSED")
        return [
            f"({self.scenario})",
            self.label + (f" ({self.note})" if self.note else ""),
            _number(figure.median) + suffix,
            _number(figure.low) + suffix,
            _number(figure.high) + suffix,
            self.target.text(self.unit) if self.target else "",
            verdict,
        ]


@dataclass
class Report:
    """Every row, plus the facts the written note needs."""

    rows: list[Row] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def find(self, scenario: str, label: str) -> Row | None:
        return next((r for r in self.rows if r.scenario == scenario and r.label == label), None)


HEADER = ["", "measurement", "median", "min", "max", "target", ""]


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (also readable as plain text)."""
    lines = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    numeric = {2, 3, 4}

    def render(cells: list[str]) -> str:
        padded = [
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([render(lines[0]), rule, *(render(cells) for cells in lines[1:])])


def _number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _unit_suffix(unit: str) -> str:
    return {"x": "x", "": ""}.get(unit, " " + unit)
