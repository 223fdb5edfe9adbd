"""Names people read in a file list: an edit's local date and time plus the start of its prompt, e.g.
"2026-12-02_1405_make-it-a-watercolour". Letters and digits of any script, "-" and "_" only, so a name is
valid on Windows, macOS and Linux alike and never needs quoting in a shell."""

from __future__ import annotations

import re
import time
import unicodedata

SLUG_LIMIT = 32  # characters of the prompt a name keeps: enough to recognise it, short enough to scan
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; "_" separates a name's parts


def slug(text: str, limit: int = SLUG_LIMIT) -> str:
    """The start of `text` as one lower-case word list joined by "-", at most `limit` characters, cut after a
    whole word where one fits; "edit" when `text` has no letter or digit."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if not words:
        return "edit"
    kept = words[0][:limit]
    for word in words[1:]:
        if len(kept) + 1 + len(word) > limit:
            break
        kept += "-" + word
    return kept


def stamp(when: float) -> str:
    """`when` (seconds since the epoch) in local time to the minute: "2026-12-02_1405"."""
    return time.strftime("%Y-%m-%d_%H%M", time.localtime(when))


def edit_name(created: float, prompt: str, tag: str = "") -> str:
    """ "2026-12-02_1405_make-it-a-watercolour", then "_<tag>" when one is given (e.g. the start of the edit's id,
    where names must differ per edit)."""
    name = f"{stamp(created)}_{slug(prompt)}"
    return f"{name}_{tag}" if tag else name
