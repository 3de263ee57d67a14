"""HPACK (RFC 7541) header-block decoding, just enough to read a client's first HTTP/2 request.

Bounded for hostile input: a block is at most MAX_BLOCK bytes and MAX_HEADERS fields, integers
stop at 2^28, the dynamic table never grows past its cap (a size update above it is an error),
and Huffman strings are decoded bit by bit over at most the block's bytes. Every problem is an
HpackError; nothing loops or allocates past those bounds.

The Huffman code (Appendix B) is canonical: each symbol's code follows from the code lengths
alone (codes of one length are consecutive, in symbol order). So only the 257 lengths are written
here, read off the RFC's table; the codes are rebuilt from them at import, and the tests check a
sample of them against the table's hex column and decode the Appendix C examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_BLOCK = 16_384  # header block bytes (HEADERS + CONTINUATION); SETTINGS_MAX_FRAME_SIZE default
MAX_HEADERS = 256
MAX_TABLE = 65_536  # the dynamic-table size cap a size update may ask for
DEFAULT_TABLE = 4_096  # SETTINGS_HEADER_TABLE_SIZE until the peer says otherwise
ENTRY_OVERHEAD = 32  # RFC 7541 4.1
MAX_INTEGER = 1 << 28

STATIC_TABLE: tuple[tuple[str, str], ...] = (  # Appendix A, index 1..61
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
    (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
    (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
    ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
    ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""),
    ("content-length", ""), ("content-location", ""), ("content-range", ""), ("content-type", ""),
    ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""),
    ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""),
    ("retry-after", ""), ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""),
    ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
)

# Appendix B: code length in bits of symbols 0..255 and EOS (256), 16 a row.
HUFFMAN_LENGTHS = (
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
)
EOS = 256


class HpackError(ValueError):
    pass


def canonical_codes(lengths: tuple[int, ...]) -> list[int]:
    """The code of each symbol of a canonical Huffman code given its lengths."""
    codes = [0] * len(lengths)
    code, previous = 0, 0
    for symbol in sorted(range(len(lengths)), key=lambda s: (lengths[s], s)):
        code <<= lengths[symbol] - previous
        previous = lengths[symbol]
        codes[symbol] = code
        code += 1
    return codes


def _decoding_tables(lengths: tuple[int, ...]) -> tuple[dict[int, int], dict[int, int], list[int]]:
    """Per length: the first code, the index of its first symbol in ``ordered``, and the symbols
    in (length, symbol) order, so a code of length n is ``ordered[start[n] + code - first[n]]``."""
    ordered = sorted(range(len(lengths)), key=lambda s: (lengths[s], s))
    codes = canonical_codes(lengths)
    first: dict[int, int] = {}
    start: dict[int, int] = {}
    for index, symbol in enumerate(ordered):
        n = lengths[symbol]
        if n not in first:
            first[n], start[n] = codes[symbol], index
    return first, start, ordered


_FIRST, _START, _ORDERED = _decoding_tables(HUFFMAN_LENGTHS)
_COUNT = {n: sum(1 for length in HUFFMAN_LENGTHS if length == n) for n in _FIRST}


def huffman_decode(data: bytes) -> bytes:
    """RFC 7541 5.2: EOS inside the string and padding over 7 bits or not all ones are errors."""
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = (code << 1) | ((byte >> shift) & 1)
            length += 1
            if length in _FIRST and code - _FIRST[length] < _COUNT[length]:
                symbol = _ORDERED[_START[length] + code - _FIRST[length]]
                if symbol == EOS:
                    raise HpackError("EOS inside a Huffman-coded string")
                out.append(symbol)
                code = length = 0
            elif length >= 30:
                raise HpackError("invalid Huffman code")
    if length > 7 or code != (1 << length) - 1:
        raise HpackError("Huffman padding is not a prefix of EOS")
    return bytes(out)


@dataclass
class Decoder:
    """One direction's decoding context: the dynamic table lives across header blocks."""

    max_size: int = DEFAULT_TABLE
    cap: int = MAX_TABLE
    table: list[tuple[str, str]] = field(default_factory=list)  # newest first
    size: int = 0

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        if len(block) > MAX_BLOCK:
            raise HpackError(f"header block of {len(block)} bytes is over {MAX_BLOCK}")
        headers: list[tuple[str, str]] = []
        pos = 0
        while pos < len(block):
            if len(headers) >= MAX_HEADERS:
                raise HpackError(f"more than {MAX_HEADERS} header fields")
            pos = self._field(block, pos, headers)
        return headers

    def _field(self, block: bytes, pos: int, headers: list[tuple[str, str]]) -> int:
        first = block[pos]
        if first & 0x80:  # 6.1 indexed
            index, pos = read_integer(block, pos, 7)
            headers.append(self._entry(index))
        elif first & 0x40:  # 6.2.1 literal with incremental indexing
            name, value, pos = self._literal(block, pos, 6)
            headers.append((name, value))
            self._add(name, value)
        elif first & 0x20:  # 6.3 dynamic table size update
            size, pos = read_integer(block, pos, 5)
            if size > self.cap:
                raise HpackError(f"dynamic table size {size} is over the cap of {self.cap}")
            self.max_size = size
            self._evict(0)
        else:  # 6.2.2 without indexing, 6.2.3 never indexed
            name, value, pos = self._literal(block, pos, 4)
            headers.append((name, value))
        return pos

    def _literal(self, block: bytes, pos: int, prefix: int) -> tuple[str, str, int]:
        index, pos = read_integer(block, pos, prefix)
        if index:
            name = self._entry(index)[0]
        else:
            name, pos = read_string(block, pos)
        value, pos = read_string(block, pos)
        return name, value, pos

    def _entry(self, index: int) -> tuple[str, str]:
        if 1 <= index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        dynamic = index - len(STATIC_TABLE) - 1
        if index == 0 or dynamic >= len(self.table):
            raise HpackError(f"header table index {index} is not in the table")
        return self.table[dynamic]

    def _add(self, name: str, value: str) -> None:
        entry_size = len(name) + len(value) + ENTRY_OVERHEAD
        if entry_size > self.max_size:  # 4.4: a too-large entry empties the table
            self.table.clear()
            self.size = 0
            return
        self._evict(entry_size)
        self.table.insert(0, (name, value))
        self.size += entry_size

    def _evict(self, room: int) -> None:
        while self.table and self.size + room > self.max_size:
            name, value = self.table.pop()
            self.size -= len(name) + len(value) + ENTRY_OVERHEAD


def read_integer(data: bytes, pos: int, prefix: int) -> tuple[int, int]:
    """RFC 7541 5.1, stopping at MAX_INTEGER so a run of continuation bytes costs nothing."""
    if pos >= len(data):
        raise HpackError("integer runs past the end of the block")
    limit = (1 << prefix) - 1
    value = data[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:
        if pos >= len(data):
            raise HpackError("integer runs past the end of the block")
        byte = data[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if value > MAX_INTEGER:
            raise HpackError("integer over 2^28")
        if not byte & 0x80:
            return value, pos


def read_string(data: bytes, pos: int) -> tuple[str, int]:
    """RFC 7541 5.2; text as latin-1 so every byte survives."""
    if pos >= len(data):
        raise HpackError("string runs past the end of the block")
    huffman = data[pos] & 0x80
    length, pos = read_integer(data, pos, 7)
    end = pos + length
    if end > len(data):
        raise HpackError("string runs past the end of the block")
    raw = data[pos:end]
    return (huffman_decode(raw) if huffman else raw).decode("latin-1"), end
