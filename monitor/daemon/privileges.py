"""Dropping root: ``gatewatch run --user NAME`` started as root becomes NAME with only the
capabilities its mode needs, the same end state as the systemd unit's User= and
AmbientCapabilities= (deploy/gatewatch.service).

It happens in the main thread as the daemon starts, once the configuration is read and the
output folder is handed to the user, and before any thread starts: threads inherit the
credentials of the thread that starts them, so every capture socket, and every reopen after
an interface went away, is opened as NAME with CAP_NET_RAW and nothing more. Enforce mode
keeps CAP_NET_ADMIN (raised into the ambient set, so ``nft`` and ``conntrack`` run by the
daemon have it too) and, with the DNS forwarder, CAP_NET_BIND_SERVICE for its port. No new
privileges can be gained afterwards.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import pwd
import threading
from pathlib import Path

from ..errors import ConfigError

log = logging.getLogger(__name__)

CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW = 10, 12, 13
NAMES = {CAP_NET_BIND_SERVICE: "CAP_NET_BIND_SERVICE", CAP_NET_ADMIN: "CAP_NET_ADMIN", CAP_NET_RAW: "CAP_NET_RAW"}
PR_CAPBSET_DROP, PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 8, 38, 47
PR_CAP_AMBIENT_RAISE = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522
CAPSET = {"x86_64": 126, "aarch64": 91, "armv7l": 185, "armv6l": 185}


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def needed_capabilities(enforce: bool, dns_forwarder: bool = False) -> tuple[int, ...]:
    return (CAP_NET_RAW, *((CAP_NET_ADMIN,) if enforce else ()), *((CAP_NET_BIND_SERVICE,) if dns_forwarder else ()))


def drop_to(user: str, keep: tuple[int, ...], own: list[Path]) -> None:
    """Become ``user`` with only ``keep``; ``own`` (the output folder and its files) is handed
    to the user first. Root is needed to call this; a ConfigError says why it failed."""
    if threading.active_count() > 1:  # a thread started before would keep root
        raise ConfigError(f"--user {user}: threads already run; privileges must drop before any starts")
    if os.geteuid() != 0:
        raise ConfigError(f"--user {user}: only root can switch user (running as uid {os.geteuid()})")
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ConfigError(f"--user {user}: no such user") from None
    for path in own:
        for item in [path, *(path.iterdir() if path.is_dir() else ())]:
            os.chown(item, entry.pw_uid, entry.pw_gid)
    libc = ctypes.CDLL(None, use_errno=True)
    _shrink_bounding_set(libc, keep)  # while root: nothing else can ever come back, even through exec
    _prctl(libc, PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
    os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
    _capset(libc, sum(1 << cap for cap in keep))
    for cap in keep:
        _prctl(libc, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)
    _prctl(libc, PR_SET_KEEPCAPS, 0)
    _prctl(libc, PR_SET_NO_NEW_PRIVS, 1)
    log.warning("running as %s (uid %d) with %s only", user, entry.pw_uid, ", ".join(NAMES[c] for c in keep))


def _shrink_bounding_set(libc, keep: tuple[int, ...]) -> None:
    for cap in range(64):
        if cap in keep:
            continue
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == errno.EINVAL:  # past the last capability this kernel knows
                return
            raise ConfigError(f"--user: cannot drop capability {cap}: {os.strerror(ctypes.get_errno())}")


def _capset(libc, mask: int) -> None:
    number = CAPSET.get(os.uname().machine)
    if number is None:
        raise ConfigError(f"--user: capabilities on {os.uname().machine} are not supported; run under systemd instead")
    header = _Header(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)(_Data(mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, mask & 0xFFFFFFFF),
                       _Data(mask >> 32, mask >> 32, mask >> 32))
    if libc.syscall(number, ctypes.byref(header), ctypes.byref(data)) != 0:
        raise ConfigError(f"--user: capset failed: {os.strerror(ctypes.get_errno())}")


def _prctl(libc, option: int, *args: int) -> None:
    values = [*args, 0, 0, 0, 0][:4]
    if libc.prctl(option, *values) != 0:
        raise ConfigError(f"--user: prctl({option}) failed: {os.strerror(ctypes.get_errno())}")
