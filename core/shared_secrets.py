"""Secrets every replica of the app must agree on (the owner-token key, the browsers' storage key), kept in
the history database's `secrets` table: the first process to need one sets it, the others read it."""

from __future__ import annotations

from collections.abc import Callable

from core.history import History


def shared_secret(history: History, name: str, first: Callable[[], str]) -> str:
    """The secret called `name`; when there is none yet, `first()` becomes it (a secret an older version kept
    in a file, or a new one)."""
    with history.transaction() as db:
        row = db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return row["value"]
        value = first()
        db.execute("INSERT INTO secrets (name, value) VALUES (?, ?)", (name, value))
        return value
