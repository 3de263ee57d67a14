"""Test helpers shipped with the package, as a library's own test kit (mitmproxy's
``mitmproxy.test`` is the pattern): the tests, the seed scripts, the on-target benchmarks and the
development lab (lab/, outside the wheel) build their inputs from here.

- ``oracle``: random frames and the cantools reference decoder the decode path is checked against;
- ``scene``: the seed scripts' CAN logs and captures of real protocol bytes;
- ``drive``: ``gatewatch bench daemon``'s recorded drive (and the JT/T 808 encodings);
- ``frames``, ``vehicle``, ``episodes``, ``episodes_remote``: wire bytes, random vehicles and the
  episodes of the detection benchmark's generated drives (lab/generate.py draws them);
- ``quicwire``, ``pcapngwire``: QUIC Initial packets and pcapng files built as senders write them;
- ``mosquitto``: a Mosquitto broker on a loopback port, for the fleet tests and ``bench fleet``.

Everything here is deterministic for a given seed. Of the package, only bench (above it in the
import order) imports it; the monitor's running path never does.
"""
