"""Writes expected.json for this scenario with the reference tools only (python-can + cantools),
never with gatewatch, so `gatewatch demo` is checked against an independent decode.

Run from the project root: .venv/bin/python seeds/gnss-drive/make_expected.py
"""

import json
from collections import Counter
from pathlib import Path

import can
import cantools

HERE = Path(__file__).resolve().parent
DBC = HERE.parent.parent / "dbc" / "css-electronics" / "gnss.dbc"


def main() -> None:
    db = cantools.database.load_file(str(DBC))
    messages = Counter()
    errors = unknown = 0
    fixes = []
    frames = 0
    for msg in can.CanutilsLogReader(str(HERE / "can.log")):
        frames += 1
        try:
            decoded = db.decode_message(msg.arbitration_id, msg.data, decode_choices=False,
                                        force_extended_id=msg.is_extended_id)
        except KeyError:
            unknown += 1
            continue
        except cantools.database.DecodeError:
            errors += 1
            continue
        name = db.get_message_by_frame_id(msg.arbitration_id).name
        messages[name] += 1
        if name == "gnss_pos":
            fixes.append((decoded["Latitude"], decoded["Longitude"]))
    lats = [f[0] for f in fixes]
    lons = [f[1] for f in fixes]
    expected = {
        "frames": frames,
        "decoded_by_message": dict(sorted(messages.items())),
        "decode_errors": errors,
        "no_dbc_entry": unknown,
        "position": {
            "fixes": len(fixes),
            "first": list(fixes[0]),
            "last": list(fixes[-1]),
            "latitude_range": [min(lats), max(lats)],
            "longitude_range": [min(lons), max(lons)],
        },
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")


if __name__ == "__main__":
    main()
