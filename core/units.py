"""Byte counts as people read them."""

from __future__ import annotations

MEBIBYTE = 1024 * 1024


def megabytes(byte_count: int) -> str:
    """ "10 MB", "11.8 MB": mebibytes to one decimal, without a trailing ".0"."""
    return f"{round(byte_count / MEBIBYTE, 1):g} MB"
