"""The decode plan finds messages by id: an extended id is never the standard id of the same
number; a J1939 parameter group matches by PGN from any source address or priority."""

from __future__ import annotations

import cantools
from cantools.database.can import Database, Message, Signal

from monitor.canbus.dbc import load_dbc
from monitor.canbus.decode import decode_batch
from monitor.canbus.frames import FrameBatch
from monitor.canbus.plan import compile_plan


def test_extended_id_below_0x800_is_not_the_standard_id():
    signal = Signal("Value", start=0, length=8)
    db = Database(messages=[Message(0x123, "Ext", 8, [signal], is_extended_frame=True)])
    db.refresh()
    plan = compile_plan([(db, "ext")])
    batch = FrameBatch.empty(2)
    batch.arbitration_id[:] = 0x123
    batch.is_extended[:] = [True, False]
    batch.dlc[:] = 8
    batch.data[:, 0] = 7
    decoded = decode_batch(plan, batch)
    assert decoded.unknown.tolist() == [1]
    assert decoded.messages[0].rows.tolist() == [0]
    assert decoded.messages[0].values["Value"].tolist() == [7]


def test_a_j1939_group_from_another_source_address_or_priority_decodes_by_pgn():
    """The shipped DBC names PGN 65267 from source address 0x1C; a navigation unit at 0x17,
    or at priority 3, sends the same parameter group, and cantools-style PGN matching decodes it."""
    import can
    import numpy as np

    from monitor.canbus.decode import decode_batch
    from monitor.canbus.frames import BatchBuilder
    from monitor.canbus.plan import compile_plan

    from ..conftest import PROJECT

    path = str(PROJECT / "dbc" / "j1939-vehicle-position.dbc")
    db = cantools.database.load_file(path)
    vp = db.get_message_by_name("VP")
    data = vp.encode({"Latitude": 48.137154, "Longitude": 11.576124})
    plan = compile_plan([(load_dbc(path), path)])
    builder = BatchBuilder(8)
    for frame_id in (0x18FEF31C, 0x18FEF317, 0x0CFEF300, 0x18FEF41C):  # same PGN thrice, then another PGN
        builder.add_message(can.Message(arbitration_id=frame_id, is_extended_id=True, data=data))
    decoded = decode_batch(plan, builder.finish())
    (cols,) = decoded.messages
    assert cols.message.name == "VP" and cols.rows.tolist() == [0, 1, 2]
    assert np.allclose(cols.values["Latitude"], 48.137154) and len(decoded.unknown) == 1
    assert plan.lookup(0x18FEF317, True).name == "VP" and plan.lookup(0x18FEF41C, True) is None
