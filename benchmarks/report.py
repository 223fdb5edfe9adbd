"""The plot (PNG, matplotlib's Agg backend) of a benchmark run."""

from __future__ import annotations

from pathlib import Path

from benchmarks.figures import Figure, Report, Row


def plot(report: Report, path: Path) -> None:
    """Eight panels, (g) in two of them: medians as bars or points, min-max as error bars, targets dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(21, 9.5))
    _bars(
        axes[0][0],
        [r for r in report.rows if r.scenario == "a" and r.unit == "s"],
        "(a) one edit: 3 inputs, n=6 at 2048*2048",
        "seconds",
    )
    limit = next((r for r in report.rows if r.scenario == "a" and r.label.startswith("physical limit")), None)
    if limit is not None:
        _vline(axes[0][0], 1.10 * limit.figure.median, "1.10x limit")
    prep = [r for r in report.rows if r.scenario == "b"]
    _bars(axes[0][1], prep, "(b) input preparation", "milliseconds", targets=True)
    _crowds(axes[0][2], report)
    _bars(
        axes[1][0],
        [r for r in report.rows if r.scenario == "d"],
        "(d) history and cached results",
        "milliseconds",
        targets=True,
    )
    _bars(
        axes[1][1],
        [r for r in report.rows if r.scenario == "e"],
        "(e) cold start to first page",
        "seconds",
        targets=True,
    )
    _memory(axes[1][2], report)
    photo = [r for r in report.rows if r.scenario == "g"]
    _bars(
        axes[0][3], [r for r in photo if r.unit == "s" and "CPU" not in r.label], "(g) photo-sized results", "seconds"
    )
    _bars(axes[1][3], [r for r in photo if r.unit == "x"], "(g) photo-sized: ratios", "ratio", targets=True)
    title = report.facts.get("plot_title")
    if title:
        fig.suptitle(str(title), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax, rows: list[Row], title: str, unit: str, *, targets: bool = False) -> None:
    if not rows:  # a scenario left out of this run
        ax.set_visible(False)
        return
    labels = [_short(row.label) for row in rows]
    medians = [row.figure.median for row in rows]
    lows = [row.figure.median - row.figure.low for row in rows]
    highs = [row.figure.high - row.figure.median for row in rows]
    positions = list(range(len(rows)))
    colors = ["#c0392b" if row.met is False else "#2e86c1" for row in rows]
    ax.barh(positions, medians, xerr=[lows, highs], color=colors, capsize=3)
    for position, row in zip(positions, rows, strict=True):
        ax.annotate(
            f"{row.figure.median:.3g}",
            (row.figure.high, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit)
    for position, row in zip(positions, rows, strict=True):
        if targets and row.target is not None and row.target.at_most:
            ax.plot([row.target.bound] * 2, [position - 0.4, position + 0.4], "k--", linewidth=1)
    if targets and any(row.target for row in rows):
        ax.plot([], [], "k--", linewidth=1, label="target")
        ax.legend(fontsize=8, loc="lower right")


def _vline(ax, x: float, label: str) -> None:
    ax.axvline(x, color="k", linestyle="--", linewidth=1, label=label)
    ax.legend(fontsize=8, loc="lower right")


def _crowds(ax, report: Report) -> None:
    crowds: dict[int, dict[str, Figure]] = report.facts.get("crowd_figures", {})  # type: ignore[assignment]
    if not crowds:
        ax.set_visible(False)
        return
    sizes = sorted(crowds)
    for key, style, label in (("wall", "o-", "wall time"), ("p95", "s--", "p95 latency")):
        figures = [crowds[size][key] for size in sizes]
        ax.errorbar(
            sizes,
            [f.median for f in figures],
            yerr=[[f.median - f.low for f in figures], [f.high - f.median for f in figures]],
            fmt=style,
            capsize=3,
            label=label,
        )
    one = crowds[sizes[0]]["wall"].median
    ax.axhline(1.3 * one, color="k", linestyle=":", linewidth=1, label="1.3x one user's wall")
    ax.axhline(one, color="grey", linestyle="-", linewidth=0.5)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("concurrent users (gradio_client, /edit)")
    ax.set_ylabel("seconds")
    ax.set_title("(c) crowds through the app", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")


def _memory(ax, report: Report) -> None:
    crowds: dict[int, dict[str, Figure]] = report.facts.get("crowd_figures", {})  # type: ignore[assignment]
    if not crowds:
        ax.set_visible(False)
        return
    sizes = sorted(crowds)
    peaks = [crowds[size]["peak_mb"] for size in sizes]
    idle = [crowds[size]["idle_mb"] for size in sizes]
    ax.errorbar(
        sizes,
        [f.median for f in peaks],
        yerr=[[f.median - f.low for f in peaks], [f.high - f.median for f in peaks]],
        fmt="o-",
        capsize=3,
        label="peak RSS during the crowd",
    )
    ax.plot(sizes, [f.median for f in idle], "s:", label="RSS just before")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("concurrent users")
    ax.set_ylabel("MB")
    ax.set_title("(f) app process memory (VmHWM)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")


def _short(label: str, width: int = 34) -> str:
    words, lines, line = label.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:3])
