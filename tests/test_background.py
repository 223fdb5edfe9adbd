"""Background work (History's thumbnails) waits for a quiet moment and runs at the lowest priority."""

from __future__ import annotations

import os
import threading
import time

from core.background import Background


def test_work_waits_until_no_edit_is_under_way_and_runs_at_nice_19() -> None:
    background = Background(settle=0.2, patience=30)
    ran: list[tuple[float, int]] = []

    def task() -> None:
        ran.append((time.monotonic(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

    with background.busy():
        done = background.submit(task)
        time.sleep(0.5)
        assert not ran  # an edit is under way
        ended = time.monotonic()
    done.result(timeout=5)
    ((at, nice),) = ran
    assert at >= ended + 0.2 and nice == 19
    background.shutdown()


def test_under_constant_load_work_still_runs_after_its_patience() -> None:
    background = Background(settle=0.2, patience=0.5)
    with background.busy():
        started = time.monotonic()
        background.submit(lambda: None).result(timeout=5)
        assert 0.5 <= time.monotonic() - started < 3


def test_shutdown_runs_what_is_queued_without_waiting() -> None:
    background = Background(settle=60, patience=60)
    ran = []
    with background.busy():
        background.submit(ran.append, 1)
        started = time.monotonic()
        background.shutdown()
    assert ran == [1] and time.monotonic() - started < 5
