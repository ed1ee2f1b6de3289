"""The control thread's scheduling: real-time when the OS permits it, else normal.

On Linux the control thread (that thread only, by its native id) runs under `SCHED_FIFO` at a
moderate priority: it then runs the moment its deadline's sleep ends, ahead of the encoders,
the saver and everything else of normal priority on the machine, and a lock it waits for (the
GIL's) is handed to it first. `SCHED_RESET_ON_FORK` keeps the threads it starts (a push, a
policy runtime's pool) at normal priority. It never busy-waits: it sleeps until each deadline
(`core.timing`) and waits for the bus in `select` (`hardware.feetech.port`), so a core stays
free for the rest; the kernel's real-time throttling (95 % of each second by default) is a
last guard.

The OS decides: root or `CAP_SYS_NICE` is granted any priority, any other user up to their
`RLIMIT_RTPRIO` (`ulimit -r`, set in `/etc/security/limits.conf`), which is 0 by default. A
refusal leaves the thread at normal priority and says so, with the fix; macOS (and any other
system) has no `SCHED_FIFO` for one thread of a program (its real-time class is Mach's
time-constraint policy), so the thread stays normal there, said so too.

`--control_priority`: `auto` (real-time if permitted, else normal), `realtime` (refuse to start
without it: checked before a motor moves or a file is written), `normal`.

The interpreter's switch interval stays Python's 5 ms: a shorter one (0.5 ms) made every GIL
hand-over a wait for the OS to run the next thread, and on a loaded machine the encoders (nice
+5) fell behind and dropped frames (`bench_session --variants auto/0.5,auto` measures it).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from dataclasses import dataclass

from hardware.errors import ConfigError

log = logging.getLogger(__name__)

CHOICES = ("auto", "realtime", "normal")
# Moderate: above every normal thread, below the kernel's threaded interrupt handlers (50) that
# bring the servos' replies in from the USB serial adapter.
FIFO_PRIORITY = 40
LIMITS_FIX = (
    "allow it with a line `<user> - rtprio {p}` in /etc/security/limits.conf (log in again), "
    "or give --control_priority=normal"
)


@dataclass(frozen=True)
class ControlPriority:
    """How the control thread is scheduled, and why not real-time when it is not."""

    realtime: bool
    priority: int = 0  # the SCHED_FIFO priority, when real-time
    why: str = ""  # normal: the reason, with the fix when there is one

    def describe(self) -> str:
        """For the session's first line and the log."""
        if self.realtime:
            return f"real-time (SCHED_FIFO {self.priority})"
        return f"normal priority ({self.why})" if self.why else "normal priority"

    @property
    def label(self) -> str:
        """For the console's timing panel."""
        return f"RT {self.priority}" if self.realtime else "normal"


_MADE_REALTIME: set[int] = set()  # threads made real-time here on purpose (native ids)


def set_fifo(native_id: int, priority: int) -> None:
    """The one OS call: `native_id` to SCHED_FIFO at `priority`; OSError when refused."""
    os.sched_setscheduler(
        native_id, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority)
    )


def made_realtime() -> frozenset[int]:
    """The threads lerecord itself runs real-time (a codec's real-time threads are not)."""
    return frozenset(_MADE_REALTIME)


def back_to_normal() -> None:
    """The calling thread to normal scheduling (always permitted), before work that must not
    take a core from the others: a session's teardown, its upload."""
    native_id = threading.get_native_id()
    if native_id in _MADE_REALTIME:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        _MADE_REALTIME.discard(native_id)


CAP_SYS_NICE = 23  # linux/capability.h
_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def forgo_realtime() -> bool:
    """The calling thread, and the threads it starts, lose the right to real-time scheduling
    (Linux: CAP_SYS_NICE leaves this thread's effective capabilities; capabilities are per
    thread). A library that starts its threads at SCHED_FIFO 99 when it may (SVT-AV1, as root)
    is then refused, falls back to normal threads, and they inherit this thread's nice: no
    codec thread ever runs ahead of the control thread, not even for the moment before
    `camera_worker` could demote it. True when no thread started from here can be real-time:
    the capability gone and no `rtprio` limit (which grants real-time without it); else False."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return False
    data[0].effective &= ~(1 << CAP_SYS_NICE)
    return libc.capset(ctypes.byref(header), data) == 0 and _rtprio_limit() == 0


def _rtprio_limit() -> int:
    import resource

    return int(resource.getrlimit(resource.RLIMIT_RTPRIO)[0])


def schedule(asked: str, native_id: int) -> ControlPriority:
    """Schedule the thread `native_id` as `asked` ("auto" | "realtime" | "normal")."""
    if asked == "normal":
        return ControlPriority(False, why="--control_priority=normal")
    if not sys.platform.startswith("linux"):
        return ControlPriority(
            False, why=f"{sys.platform}: no SCHED_FIFO for one thread of a program"
        )
    priority = FIFO_PRIORITY
    try:
        set_fifo(native_id, priority)
    except PermissionError:
        limit = _rtprio_limit()
        if not 0 < limit < priority:
            return ControlPriority(False, why=_refused(limit))
        priority = limit  # as high as this user may go
        try:
            set_fifo(native_id, priority)
        except OSError as error:
            return ControlPriority(False, why=f"real-time refused ({error.strerror})")
    except OSError as error:  # a cgroup with no real-time budget, say
        return ControlPriority(False, why=f"real-time refused ({error.strerror})")
    _MADE_REALTIME.add(native_id)
    return ControlPriority(True, priority)


def _refused(limit: int) -> str:
    return (
        f"real-time refused: no CAP_SYS_NICE and an rtprio limit of {limit}; "
        + LIMITS_FIX.format(p=FIFO_PRIORITY)
    )


def check(asked: str) -> None:
    """ConfigError when real-time is required (`realtime`) and the OS refuses it: tried on a
    thread started for the purpose, so nothing else changes."""
    if asked != "realtime":
        return
    found: list[ControlPriority] = []

    def try_it() -> None:
        found.append(schedule(asked, threading.get_native_id()))
        back_to_normal()

    probe = threading.Thread(target=try_it, name="priority-check")
    probe.start()
    probe.join()
    if not found[0].realtime:
        raise ConfigError(f"--control_priority=realtime: {found[0].why}")


def control_thread_scheduled(asked: str, thread: threading.Thread) -> ControlPriority:
    """Schedule the (started) control thread, logged."""
    assert thread.native_id is not None
    chosen = schedule(asked, thread.native_id)
    log.info("control thread: %s", chosen.describe())
    return chosen
