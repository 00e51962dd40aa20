"""Who holds a claim: the process (host, pid, boot id), and whether that process is gone.

A claim on a row (an inbound message being processed, an outbound message being sent) names its owner.
The boot id is random per process start, so a new process that got the pid of a dead one (containers start
at pid 1 every time) does not mistake the dead one's claims for its own.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

OWNER_LENGTH = 200  # column size of the claims' owner


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    boot_id: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.boot_id}"[:OWNER_LENGTH]

    @classmethod
    def new(cls, host: str | None = None, pid: int | None = None) -> Owner:
        """A fresh owner identity (one per process start; tests build several)."""
        return cls(host or socket.gethostname(), os.getpid() if pid is None else pid, secrets.token_hex(6))

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        if not text:
            return None
        host, _, rest = text.rpartition(":")
        host, _, pid = host.rpartition(":")
        if not host or not pid.isdigit():
            return None
        return cls(host, int(pid), rest)

    def is_gone(self, seen_by: Owner) -> bool:
        """Whether this owner is known to be dead, as far as `seen_by` (a live process) can tell: only a
        process on the same host can check; elsewhere silence (a stale heartbeat) decides."""
        if self == seen_by:
            return False
        if self.host != seen_by.host:
            return False
        if self.pid == seen_by.pid:
            return True  # our pid, another boot: the process that had it before us is dead
        return not pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


_OWNERS: dict[int, Owner] = {}


def current_owner() -> Owner:
    """This process's identity, the same for every component (inbox, delivery); a forked child gets its own."""
    pid = os.getpid()
    if pid not in _OWNERS:
        _OWNERS[pid] = Owner.new(pid=pid)
    return _OWNERS[pid]
