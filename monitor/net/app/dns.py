"""DNS messages (RFC 1035) from bytes: questions and answer records with TTLs.

Written for hostile input: every read is bounds-checked. A compression pointer may point
anywhere inside the message, before or after itself (RFC 1035 4.1.4 does not forbid forward
pointers, and a resolver follows them); loops are cut by bounds instead: at most MAX_POINTERS
pointers per name and the RFC 1035 limit of 255 octets per name. So a crafted message costs
microseconds and raises DnsError (or NameTooLong) rather than looping or crashing.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from ... import native

TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
              33: "SRV", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS",
              255: "ANY"}
NAME_RDATA = {2, 5, 12}  # NS, CNAME, PTR: the rdata is one domain name
MAX_POINTERS = 128  # per name: a pointer chain longer than this is a loop
MAX_NAME = 255  # RFC 1035 2.3.4: octets in a name, length bytes included


class DnsError(ValueError):
    pass


class NameTooLong(DnsError):
    """A name over the RFC 1035 limit; ``end`` is where it ends, so parsing can go on."""

    def __init__(self, message: str, end: int) -> None:
        super().__init__(message)
        self.end = end


@dataclass
class Record:
    name: str
    rtype: int
    ttl: int
    rdata: str | None  # text form for A, AAAA, CNAME, NS, PTR, MX (exchange), TXT; else None
    strings: tuple[str, ...] = ()  # TXT: the separate character-strings (rdata joins them)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.rtype, str(self.rtype))


@dataclass
class Message:
    id: int
    is_response: bool
    rcode: int
    questions: list[tuple[str, int]] = field(default_factory=list)
    question_classes: list[int] = field(default_factory=list)  # QCLASS of each entry in questions
    answers: list[Record] = field(default_factory=list)
    malformed_records: int = 0  # questions/answers skipped: name over the RFC 1035 limit

    def question_key(self) -> tuple[str, int, int]:
        """(name in lower case, type, class) of the first question; ("", 0, 0) when there is none.
        With the id it names a transaction: a response repeats its query's question."""
        if not self.questions:
            return "", 0, 0
        (name, qtype), qclass = self.questions[0], self.question_classes[0]
        return name.lower(), qtype, qclass


def parse_message(data: bytes) -> Message:
    core = native.kernels
    if core is not None:
        verdict, ident, is_response, rcode, questions, classes, answers, malformed = core.dns_parse_message(data)
        if verdict == 0:
            return Message(ident, is_response, rcode, questions, classes,
                           [Record(*answer) for answer in answers], malformed)
        if verdict != _FULL:
            raise DnsError(_native_error(verdict, len(data)))
    return _parse_message(data)  # the reference; also a message too big for the C's arrays


_FULL = 13  # src/gw_dns.h: verdicts and the messages they stand for
_ERRORS = {2: "question runs past the end of the message",
           3: "answer record header runs past the end of the message",
           4: "answer rdata runs past the end of the message",
           5: "name runs past the end of the message", 6: "compression pointer cut off",
           7: "compression pointer points past the end of the message",
           8: f"more than {MAX_POINTERS} compression pointers in one name (a loop)",
           9: "label type 1 is not supported", 10: "label type 2 is not supported",
           11: "label runs past the end of the message"}


def _native_error(verdict: int, size: int) -> str:
    if verdict == 1:
        return f"message of {size} bytes is shorter than the 12-byte header"
    return _ERRORS[verdict]


def _parse_message(data: bytes) -> Message:
    if len(data) < 12:
        raise DnsError(f"message of {len(data)} bytes is shorter than the 12-byte header")
    ident, flags, qdcount, ancount = struct.unpack_from("!HHHH", data)
    message = Message(id=ident, is_response=bool(flags & 0x8000), rcode=flags & 0xF)
    pos = 12
    for _ in range(qdcount):
        name, pos = _name_unless_too_long(data, pos)
        if pos + 4 > len(data):
            raise DnsError("question runs past the end of the message")
        if name is None:
            message.malformed_records += 1
        else:
            qtype, qclass = struct.unpack_from("!HH", data, pos)
            message.questions.append((name, qtype))
            message.question_classes.append(qclass)
        pos += 4
    for _ in range(ancount):
        record, pos = _read_record(data, pos)
        if record is not None:
            message.answers.append(record)
        else:
            message.malformed_records += 1
    return message


def _read_record(data: bytes, pos: int) -> tuple[Record | None, int]:
    """The record at pos; None (and where it ends) when its owner name is over-long."""
    name, pos = _name_unless_too_long(data, pos)
    if pos + 10 > len(data):
        raise DnsError("answer record header runs past the end of the message")
    rtype, _rclass, ttl, rdlength = struct.unpack_from("!HHIH", data, pos)
    pos += 10
    end = pos + rdlength
    if end > len(data):
        raise DnsError("answer rdata runs past the end of the message")
    if name is None:
        return None, end
    try:
        text = _rdata_text(data, rtype, pos, end)
    except DnsError:  # a bad name inside one record's data spoils that record only
        text = None
    if isinstance(text, tuple):
        return Record(name, rtype, ttl, "".join(text), text), end
    return Record(name, rtype, ttl, text), end


def _name_unless_too_long(data: bytes, pos: int) -> tuple[str | None, int]:
    """A question's or record's name, or None for one over the RFC 1035 limit (parsing goes on)."""
    try:
        return read_name(data, pos)
    except NameTooLong as error:
        return None, error.end


def _rdata_text(data: bytes, rtype: int, pos: int, end: int) -> str | tuple[str, ...] | None:
    length = end - pos
    if rtype == 1 and length == 4:
        return str(ipaddress.IPv4Address(data[pos:end]))
    if rtype == 28 and length == 16:
        return str(ipaddress.IPv6Address(data[pos:end]))
    if rtype in NAME_RDATA:
        return read_name(data, pos)[0]
    if rtype == 15 and length >= 3:
        return read_name(data, pos + 2)[0]
    if rtype == 16:
        parts, cursor = [], pos
        while cursor < end:
            size = data[cursor]
            parts.append(data[cursor + 1 : min(cursor + 1 + size, end)].decode("utf-8", "replace"))
            cursor += 1 + size
        return tuple(parts)
    return None


def read_name(data: bytes, pos: int) -> tuple[str, int]:
    """(dotted name, position after the name in the original record)."""
    labels: list[bytes] = []
    after = -1
    pointers = 0
    octets = 1
    while True:
        if pos >= len(data):
            raise DnsError("name runs past the end of the message")
        size = data[pos]
        if size == 0:
            pos += 1
            break
        if size & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise DnsError("compression pointer cut off")
            target = ((size & 0x3F) << 8) | data[pos + 1]
            if after < 0:
                after = pos + 2
            pointers += 1
            if target >= len(data):
                raise DnsError("compression pointer points past the end of the message")
            if pointers > MAX_POINTERS:
                raise DnsError(f"more than {MAX_POINTERS} compression pointers in one name (a loop)")
            pos = target
            continue
        if size & 0xC0:
            raise DnsError(f"label type {size >> 6} is not supported")
        if pos + 1 + size > len(data):
            raise DnsError("label runs past the end of the message")
        octets += 1 + size
        if octets > MAX_NAME and after >= 0:  # where the name ends is known: stop walking
            raise NameTooLong(f"name longer than {MAX_NAME} octets", after)
        labels.append(data[pos + 1 : pos + 1 + size])
        pos += 1 + size
    end = after if after >= 0 else pos
    if octets > MAX_NAME:
        raise NameTooLong(f"name longer than {MAX_NAME} octets", end)
    return b".".join(labels).decode("ascii", "backslashreplace"), end
