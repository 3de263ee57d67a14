"""Wire signatures of known formats in plaintext payloads: one small parser per format.

Every parser takes payload bytes and returns Match objects (possibly none). Parsers never
require a valid checksum: real devices send bad ones, so a failed check lowers the confidence
instead. ``scan.scan_payload`` picks the parsers worth trying from the first bytes.
"""
