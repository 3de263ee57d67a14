"""can-fabrication: a compromised node injects GW_VehicleMotion (0x4F1, 100 ms cycle in the
DBC) at 100 Hz for five seconds, claiming 0 km/h while the vehicle drives, so the genuine
frames are drowned out (a fabrication attack on a known id).

    python seeds/can-fabrication/make.py
"""

import sys
from pathlib import Path

import cantools

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout, for its monitor package
from monitor.testing.scene import GATEWAY_DBC, T0, CanLog, drive, gateway_frames


def main() -> None:
    log = CanLog()
    gateway_frames(log, drive(60, seed=81))
    motion = cantools.database.load_file(str(GATEWAY_DBC)).get_message_by_name("GW_VehicleMotion")
    forged = motion.encode({"VehicleSpeed": 0, "Odometer": 12_000.0, "GearReverse": 0})
    for k in range(500):
        log.add(T0 + 30 + 0.01 * k + 0.0015, motion.frame_id, forged)
    log.write(HERE / "can.log")


if __name__ == "__main__":
    main()
