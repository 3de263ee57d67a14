"""The ``stream`` section: TCP reassembly (net/reassembly.py), every key optional.

    stream:
      policy: linux          # overlaps among held segments: first, last, bsd or linux (the target's OS)
      checksum: auto         # auto, verify (drop every bad checksum) or ignore (check none)
      depth: 1048576         # in-order bytes reassembled per sender; later segments are read as they come
      window: 1048576        # how far past the in-order end a segment may be held
      flow_memcap: 262144    # out-of-order bytes held per sender
      memcap: 67108864       # out-of-order bytes held in all
      max_segments: 1024     # out-of-order pieces held per sender
      gap_timeout_s: 10      # a hole older than this (packet time) is skipped: capture loss
      max_streams: 65536     # senders followed at once
      confirm: 16            # contiguous bytes that confirm a stream picked up without its SYN
      unreliable_after: 2    # checksum auto: bad checksums in a row, none good, before trusting none
"""

from __future__ import annotations

import dataclasses

from ..errors import PolicyError
from ..net.reassembly import CHECKSUM_MODES, POLICIES, StreamConfig
from .yamlfile import Located, known_keys

CHOICES = {"policy": POLICIES, "checksum": CHECKSUM_MODES}
KEYS = tuple(f.name for f in dataclasses.fields(StreamConfig))


def load_stream(doc: Located) -> StreamConfig:
    node = doc.get("stream")
    if node is None:
        return StreamConfig()
    if not isinstance(node, Located):
        raise PolicyError(f"{doc.at('stream')}: stream must be a mapping (policy, checksum, depth, ...)")
    known_keys(node, KEYS, "stream")
    defaults = StreamConfig()
    return StreamConfig(**{key: _value(node, key, getattr(defaults, key)) for key in node})


def _value(node: Located, key: str, default):
    value = node[key]
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise PolicyError(f"{node.at(key)}: stream.{key} must be one of {', '.join(CHOICES[key])}, not {value!r}")
        return value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, int) and not (number and value == int(value) and value >= 1):
        raise PolicyError(f"{node.at(key)}: stream.{key} must be a whole number of at least 1, not {value!r}")
    if not number or value <= 0:
        raise PolicyError(f"{node.at(key)}: stream.{key} must be a positive number, not {value!r}")
    return int(value) if isinstance(default, int) else float(value)
