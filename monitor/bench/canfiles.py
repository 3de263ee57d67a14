"""``gatewatch bench can``'s Vector ASC and BLF contenders: the same frames written by python-can's
own writers, then read to decoded columns by python-can's reader + cantools and by gatewatch's
log reader + decode (``read_log``: today python-can's readers feed a columnar batch builder, so
the ratio shows what a columnar reader of gatewatch's own would have to win)."""

from __future__ import annotations

from pathlib import Path

from ..canbus.decode import decode_batch
from ..canbus.frames import FrameBatch
from ..canbus.logs import read_log


def write_files(batch: FrameBatch, directory: Path, limit: int) -> dict[str, Path]:
    """The first ``limit`` frames of ``batch`` as .asc and .blf files."""
    import can

    n = min(limit, len(batch))
    messages = [can.Message(timestamp=float(batch.timestamp[i]), arbitration_id=int(batch.arbitration_id[i]),
                            is_extended_id=bool(batch.is_extended[i]), dlc=int(batch.dlc[i]), data=batch.payload(i),
                            is_fd=bool(batch.is_fd[i]), channel=0)
                for i in range(n)]
    out = {}
    for suffix, writer in (("asc", can.ASCWriter), ("blf", can.BLFWriter)):
        path = directory / f"workload.{suffix}"
        with writer(str(path)) as sink:
            for message in messages:
                sink.on_message_received(message)
        out[suffix] = path
    return out


def contenders(db, plan, path: Path) -> dict:
    """Name -> action for one file: python-can reader + cantools, and gatewatch's reader +
    decode; each action returns the frames it read (timed by can.py's best-of-N)."""
    import can

    def python_can_cantools() -> int:
        decode, n = db.decode_message, 0
        for message in can.LogReader(str(path)):
            if message.is_error_frame or message.is_remote_frame:
                continue
            try:
                decode(message.arbitration_id, message.data, decode_choices=False, force_extended_id=message.is_extended_id)
            except (KeyError, ValueError):
                pass  # frames cantools cannot decode count as read
            n += 1
        return n

    def gatewatch() -> int:
        n = 0
        for batch, _ in read_log(path):
            decode_batch(plan, batch)
            n += len(batch)
        return n

    kind = path.suffix[1:]
    return {f"python_can_{kind}+cantools": python_can_cantools, f"gatewatch_{kind}_end_to_end": gatewatch}
