"""Which process runs what: an id for this process, whether another one is still alive, and background
threads that give way to the rest."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
import threading
import time
from pathlib import Path


def _pid_namespace() -> str:
    """This process's pid namespace (two containers on one host may share a hostname, never this)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


MACHINE = f"{socket.gethostname()}:{_pid_namespace()}"
"""Where process ids mean something: processes with the same MACHINE can look each other up by pid."""

RUNNER = f"{MACHINE}:{os.getpid()}"
"""This process, as history records the runner of an edit and the store names its holds."""


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
    """True when `runner` (a RUNNER) may still be working: it is alive on this machine, or it runs on another
    one (whether it does is for its lease to tell). A runner of an older version ("host:pid") counts as of
    this machine when its host is this one."""
    if not runner:
        return False
    machine, _, pid = runner.rpartition(":")
    if machine not in (MACHINE, socket.gethostname()):
        return True
    return pid.isdigit() and pid_alive(int(pid))


_MACHINE_TAG = hashlib.sha256(MACHINE.encode()).hexdigest()[:8]
FOREIGN_STALE_SECONDS = 3600.0
"""A file another machine's process left in a shared folder counts as abandoned once it is this old."""


def process_tag() -> str:
    """A name for this process to put in a file name in a shared folder: "<machine>-<pid>"."""
    return f"{_MACHINE_TAG}-{os.getpid()}"


def tag_alive(tag: str, path: Path) -> bool:
    """True while the process a `process_tag` (or a bare pid, as older versions wrote) names may still use
    `path`: alive, if it is on this machine; else until the file is FOREIGN_STALE_SECONDS old."""
    machine, _, pid = tag.rpartition("-")
    if not pid.isdigit():
        return False
    if machine in ("", _MACHINE_TAG):
        return pid_alive(int(pid))
    try:
        return time.time() - path.stat().st_mtime < FOREIGN_STALE_SECONDS
    except FileNotFoundError:
        return False


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
