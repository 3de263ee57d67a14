"""can-masquerade: a compromised node silences the gateway's GW_VehicleMotion (0x4F1) and sends
its own frames in their place, at the same times (a masquerade: the id and the rate are the
genuine ones), claiming the vehicle stands in reverse with a blank odometer while it drives on.

    python seeds/can-masquerade/make.py
"""

import sys
from pathlib import Path

import cantools

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import GATEWAY_DBC, T0, CanLog, drive, gateway_frames

START, END = 150.0, 190.0  # seconds into the drive


def main() -> None:
    log = CanLog()
    gateway_frames(log, drive(240, seed=91))
    motion = cantools.database.load_file(str(GATEWAY_DBC)).get_message_by_name("GW_VehicleMotion")
    forged = motion.encode({"VehicleSpeed": 0, "Odometer": 0.0, "GearReverse": 1})
    replaced = [row for row in log.rows if row[2] == motion.frame_id and T0 + START <= row[0] < T0 + END]
    log.rows = [row for row in log.rows if row not in replaced]
    for t, bus, frame_id, _, extended in replaced:
        log.add(t + 0.0003, frame_id, forged, bus, extended)
    log.write(HERE / "can.log")


if __name__ == "__main__":
    main()
