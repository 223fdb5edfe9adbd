"""Which process runs what: an id for this process, and whether another one is still alive."""

from __future__ import annotations

import os
import socket

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
