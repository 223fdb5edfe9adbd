"""Pacing under DashScope's account rate limits: calls wait here for their turn instead of being refused there.

One line per (account, rate group). Turns are given in arrival order, one per interval (a limit's seconds
divided by its requests, plus a little slack for the way to the service), never in bursts: the service also
limits bursts per second, so 2 a minute means one call every 30 s. A 429 pushes a line back for everyone in
it. Each line has its own lock; nothing is held while a call waits.

Replicas of the app that share one account take turns through a `Board` (`core.shared_pacing`): when a
line's turn is due here, it is claimed there too, and a 429 pushes the line back there for every replica.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.catalog import RateLimit

SLACK_SECONDS = 0.1  # added to every interval: two calls' ways to the service never take exactly as long
SLACK_SHARE = 0.05
POLL_SECONDS = 0.2  # how often a waiting call asks whether it was cancelled

MESSAGES = {
    "en": {
        "limit": "Waiting for DashScope's limit of {limit} on {model} — starts in about {seconds} s",
        "pushed": "DashScope asked to slow down on {model} — starts in about {seconds} s",
    },
    "zh": {
        "limit": "正在等待 DashScope 对 {model} 的限制（{limit}）— 约 {seconds} 秒后开始",
        "pushed": "DashScope 要求放慢 {model} 的调用 — 约 {seconds} 秒后开始",
    },
}


def account_of(api_key: str) -> str:
    """The pacer's name for the account of `api_key`: a hash of it, never the key itself."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def interval_of(limit: RateLimit | None) -> float:
    """Seconds between the starts of two calls under `limit` (0 when there is none)."""
    if limit is None:
        return 0.0
    return limit.seconds / limit.requests * (1 + SLACK_SHARE) + SLACK_SECONDS


def describe_limit(limit: RateLimit, lang: str) -> str:
    """ "2 edits a minute", "2 edits a second", "3 edits every 10 s" (or in Chinese)."""
    count, seconds = limit.requests, limit.seconds
    if lang == "zh":
        unit = {60.0: "每分钟", 1.0: "每秒", 3600.0: "每小时"}.get(seconds, f"每 {seconds:g} 秒")
        return f"{unit} {count} 次"
    edits = "1 edit" if count == 1 else f"{count} edits"
    unit = {60.0: "a minute", 1.0: "a second", 3600.0: "an hour"}.get(seconds, f"every {seconds:g} s")
    return f"{edits} {unit}"


@dataclass(frozen=True)
class Waiting:
    """Told while a call waits for its turn: the model, the limit it waits for (None when DashScope asked to
    slow down on a model whose limit is not known) and the seconds until it starts, as now known."""

    model: str
    limit: RateLimit | None
    seconds: float

    def message(self, lang: str = "en") -> str:
        """The sentence for a person, in `lang` ("en" or "zh")."""
        texts = MESSAGES.get(lang) or MESSAGES["en"]
        seconds = max(1, math.ceil(self.seconds))
        if self.limit is None:
            return texts["pushed"].format(model=self.model, seconds=seconds)
        return texts["limit"].format(model=self.model, limit=describe_limit(self.limit, lang), seconds=seconds)


class Board(Protocol):
    """Where every process that shares an account records when its lines last started and were pushed back."""

    def claim(self, account: str, group: str, interval: float) -> float:
        """Start a call of this line now and return 0, or return the seconds until it may (nothing claimed)."""
        ...

    def push_back(self, account: str, group: str, seconds: float) -> None:
        """No call of this line starts within `seconds` from now, in any process."""
        ...


class Line:
    """The turns waiting under one (account, rate group), in order, and when the last one started."""

    def __init__(self, pacer: Pacer, interval: float, key: tuple[str, str]) -> None:
        self.interval = interval
        self.key = key
        self._pacer = pacer
        self.changed = threading.Condition()
        self.turns: list[Turn] = []  # in arrival order
        self.last_start = -math.inf
        self.blocked_until = -math.inf
        self._arrivals = itertools.count()

    def reserve(self) -> Turn:
        """The next free turn, after those already waiting. A line without a limit starts a turn at once
        unless a 429 pushed it back."""
        with self.changed:
            return self._insert(0.0, next(self._arrivals))

    def _insert(self, after: float, arrival: int) -> Turn:
        """A turn at least `after` seconds from now, placed by `arrival` (call with `changed` held)."""
        turn = Turn(self._pacer, self, self._pacer.clock() + after, arrival)
        bisect.insort(self.turns, turn, key=lambda waiting: waiting.arrival)
        self.changed.notify_all()
        return turn

    def push_back(self, seconds: float) -> None:
        """DashScope refused a call of this line (429): no turn of it starts within `seconds` from now."""
        with self.changed:
            self.blocked_until = max(self.blocked_until, self._pacer.clock() + seconds)
            self.changed.notify_all()
        if self._pacer.board is not None:
            self._pacer.board.push_back(*self.key, seconds)

    def claim(self) -> bool:
        """True when the board (if any) lets a call of this line start now; else the line waits as long as it
        says (call with `changed` held)."""
        board = self._pacer.board
        if board is None:
            return True
        wait = board.claim(*self.key, self.interval)
        if wait <= 0:
            return True
        self.blocked_until = max(self.blocked_until, self._pacer.clock() + wait)
        return False

    def start_of(self, turn: Turn) -> float:
        """When `turn` starts, as now known (call with `changed` held): one interval after each earlier turn
        ready by then. An earlier turn not due yet (a call waiting to retry) holds no one back: a 429 holds
        the line with `push_back`, any other failure is that call's own."""
        at = max(self.last_start + self.interval, self.blocked_until)
        for waiting in self.turns:
            if waiting is turn:
                return max(at, waiting.not_before)
            if waiting.not_before <= at:
                at += self.interval
        raise ValueError("the turn is not in this line")

    def first_due(self) -> Turn | None:
        """The earliest arrival whose turn may start now, by its own time (call with `changed` held)."""
        now = self._pacer.clock()
        return next((waiting for waiting in self.turns if waiting.not_before <= now), None)


class Turn:
    """A place in a line, held from `Line.reserve` until it is taken or given back."""

    def __init__(self, pacer: Pacer, line: Line, not_before: float, arrival: int) -> None:
        self._pacer = pacer
        self._line = line
        self.not_before = not_before
        self.arrival = arrival

    @property
    def line(self) -> Line:
        return self._line

    def again(self, after: float) -> Turn:
        """A new turn for the same call (it is retrying), at least `after` seconds from now, in this turn's
        place in arrival order: before the calls that came later and still wait when it is due."""
        with self._line.changed:
            return self._line._insert(after, self.arrival)

    @property
    def wait(self) -> float:
        """Seconds until this turn starts, as now known (0 when it may start at once)."""
        with self._line.changed:
            if self not in self._line.turns:
                return 0.0
            return max(0.0, self._line.start_of(self) - self._pacer.clock())

    def take(self, cancelled: Callable[[], bool] | None = None, on_wait: Callable[[float], None] | None = None) -> bool:
        """Block until this turn starts and return True: the call may go. Return False, giving the turn back
        (later turns move up), when `cancelled` answers True meanwhile or the pacer closes; if `cancelled` or
        `on_wait` raises, the turn is given back too and the exception goes on.

        `on_wait(seconds)` is told before any wait, and again whenever the whole seconds left change (it
        is called without any lock held)."""
        try:
            return self._wait_for_start(cancelled, on_wait)
        except BaseException:
            with self._line.changed:
                self._leave()
            raise

    def _wait_for_start(self, cancelled: Callable[[], bool] | None, on_wait: Callable[[float], None] | None) -> bool:
        line, clock = self._line, self._pacer.clock
        told: int | None = None
        while True:
            with line.changed:
                if self._pacer.closed or (cancelled is not None and cancelled()):
                    self._leave()
                    return False
                left = line.start_of(self) - clock()
                if left <= 0 and line.first_due() is self:
                    if line.claim():
                        line.turns.remove(self)
                        line.last_start = clock()
                        line.changed.notify_all()
                        return True
                    left = line.start_of(self) - clock()  # another process has the account's turn
                if on_wait is None or left <= 0 or math.ceil(left) == told:
                    # Nothing new to tell: sleep until the turn comes, the line changes or it is time to
                    # ask `cancelled` again.
                    line.changed.wait(min(max(left, 0.01), POLL_SECONDS))
                    continue
                told = math.ceil(left)
            on_wait(left)

    def _leave(self) -> None:
        if self in self._line.turns:
            self._line.turns.remove(self)
            self._line.changed.notify_all()


class WaitCap:
    """How many calls each address has waiting for a turn at once, at most `limit`: a waiting call holds one of
    the site's places for edits, so one visitor's line must not keep everyone else's edits from starting."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, address: str) -> bool:
        """Count one more call of `address` waiting and return True, or return False when it has `limit`."""
        with self._lock:
            if self._waiting.get(address, 0) >= self.limit:
                return False
            self._waiting[address] = self._waiting.get(address, 0) + 1
            return True

    def leave(self, address: str) -> None:
        """A call `enter` counted no longer waits."""
        with self._lock:
            self._waiting[address] -= 1
            if not self._waiting[address]:
                del self._waiting[address]


class Pacer:
    """Lines of turns, one per (account, rate group); one Pacer serves a whole Studio."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, board: Board | None = None) -> None:
        self.clock = clock
        self.board = board
        self.closed = False
        self._lines: dict[tuple[str, str], Line] = {}
        self._lines_lock = threading.Lock()  # only while a line is looked up or made

    def line(self, account: str, group: str, limit: RateLimit | None) -> Line:
        """The line of (`account`, `group`), paced under `limit` (a group's limit never changes in a pacer)."""
        with self._lines_lock:
            line = self._lines.get((account, group))
            if line is None:
                line = self._lines[(account, group)] = Line(self, interval_of(limit), (account, group))
            return line

    def close(self) -> None:
        """Every waiting turn gives up (take() returns False), and so does every later one."""
        self.closed = True
        with self._lines_lock:
            lines = list(self._lines.values())
        for line in lines:
            with line.changed:
                line.changed.notify_all()
