"""What `qwen-edit` prints: progress bars, aligned tables and notes on stderr."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    """A bar redrawn in place on a terminal; one line per step elsewhere (pipes, logs, CI)."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO, *, skipped: int = 0) -> None:
        self.total = total
        self.done = skipped
        self.failed = 0
        self._stream = stream
        self._live = stream.isatty()

    def advance(self, label: str, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if not self._live:
            self._stream.write(f"[{self.done}/{self.total}] {label}\n")
        else:
            filled = round(self.WIDTH * self.done / self.total)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self._stream.write(f"\r[{bar}] {self.done}/{self.total}, {self.failed} failed  {label[:40]:<40}")
        self._stream.flush()

    def close(self) -> None:
        if self._live:
            self._stream.write("\n")
            self._stream.flush()


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns aligned with two spaces; the last column is never padded."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def note(text: str) -> None:
    """A line for the person at the terminal, on stderr."""
    print(f"qwen-edit: {text}", file=sys.stderr, flush=True)


def fail(text: str, status: int) -> int:
    """Say what went wrong; return the exit status to end with."""
    note(text)
    return status
