"""This host's interfaces and their addresses, read with libc's getifaddrs(3) (netlink under
the hood): the standard library names interfaces but not their addresses, and iproute2 may
not be installed on a gateway image. Used at start to find where ``dns.listen: [inside]``
listens and to check that configured interfaces exist.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class HostAddress:
    interface: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address


class _Ifaddrs(ctypes.Structure):
    pass


_Ifaddrs._fields_ = [("next", ctypes.POINTER(_Ifaddrs)), ("name", ctypes.c_char_p), ("flags", ctypes.c_uint),
                     ("addr", ctypes.c_void_p), ("netmask", ctypes.c_void_p), ("ifu", ctypes.c_void_p),
                     ("data", ctypes.c_void_p)]

# Where the address bytes sit in struct sockaddr_in / sockaddr_in6 (family and port come first).
_OFFSET = {socket.AF_INET: (4, 4), socket.AF_INET6: (8, 16)}


def host_addresses() -> list[HostAddress]:
    """Every IPv4 and IPv6 address of every interface of this host (this network namespace)."""
    libc = ctypes.CDLL(None, use_errno=True)
    head = ctypes.POINTER(_Ifaddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"getifaddrs: {os.strerror(error)}")
    try:
        return list(_walk(head))
    finally:
        libc.freeifaddrs(head)


def _walk(node):
    while node:
        entry = node.contents
        if entry.addr:
            family = ctypes.c_ushort.from_address(entry.addr).value
            if family in _OFFSET:
                offset, size = _OFFSET[family]
                raw = ctypes.string_at(entry.addr + offset, size)
                yield HostAddress(entry.name.decode(errors="replace"), ipaddress.ip_address(raw))
        node = entry.next


def interface_exists(name: str) -> bool:
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True
