"""Which process runs what: an id for this process, whether another one is still alive, and background
threads that give way to the rest."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading

RUNNER = f"{socket.gethostname()}:{os.getpid()}"
"""This process, as history records the runner of an edit."""


def pid_alive(pid: int) -> bool:
    """True while a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runner_alive(runner: str | None) -> bool:
    """True when `runner` (host:pid) may still be working: it is alive here, or on another host (unknowable)."""
    if not runner:
        return False
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname():
        return True
    return pid.isdigit() and pid_alive(int(pid))


def port_open(host: str, port: int) -> bool:
    """True when something accepts connections at host:port (a local simulator still running)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def lower_this_thread() -> None:
    """Run the calling thread at the lowest CPU priority (nice 19) where the system allows one thread its own
    (Linux); elsewhere, or when refused, it keeps the process's."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
