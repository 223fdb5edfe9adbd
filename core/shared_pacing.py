"""The pacing every process on one history database shares (`core.pacing.Board`): per (account, rate group),
when the last call started and until when a 429 holds the line, in wall-clock time."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.history import History


class SharedPacing:
    """A `Board` in the history database's `pacing` table."""

    def __init__(self, history: History, clock: Callable[[], float] = time.time) -> None:
        self._history = history
        self._clock = clock

    def claim(self, account: str, group: str, interval: float) -> float:
        with self._history.transaction() as db:
            now = self._clock()  # read under the write lock: the claims' times go up in the order they are made
            row = db.execute(
                "SELECT last_start, blocked_until FROM pacing WHERE account = ? AND rate_group = ?", (account, group)
            ).fetchone()
            if row is not None:
                # A line without a limit is held back only by a 429 (another host's clock may be a little ahead).
                start = max(row["last_start"] + interval if interval else 0.0, row["blocked_until"])
                if start > now:
                    return start - now
            db.execute(
                """INSERT INTO pacing (account, rate_group, last_start, blocked_until) VALUES (?, ?, ?, 0)
                   ON CONFLICT (account, rate_group) DO UPDATE SET last_start = excluded.last_start""",
                (account, group, now),
            )
        return 0.0

    def push_back(self, account: str, group: str, seconds: float) -> None:
        until = self._clock() + seconds
        with self._history.transaction() as db:
            db.execute(
                """INSERT INTO pacing (account, rate_group, last_start, blocked_until) VALUES (?, ?, 0, ?)
                   ON CONFLICT (account, rate_group) DO UPDATE SET blocked_until =
                   CASE WHEN excluded.blocked_until > pacing.blocked_until THEN excluded.blocked_until
                        ELSE pacing.blocked_until END""",
                (account, group, until),
            )
