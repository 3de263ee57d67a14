"""A UDS (ISO 14229-1) request read into what an operator needs to judge it: the service and
its id, the sub-function by name, and the identifiers that say what it touches (the security
level of a SecurityAccess step, the routine of a RoutineControl, the data identifiers read or
written, the memory range of a transfer).

``key`` is what makes two requests "the same request" for counting repeats: service,
sub-function and identifiers, but not what changes while one operation goes on (the block
counter of TransferData, the address of each ReadMemoryByAddress of a dump, the key bytes a
tester sends), so a flash download or a memory dump is one request counted many times, not
thousands of alerts. The suppress-positive-response bit (0x80 of a sub-function) is reported
and left out of the key.

Reading never raises: a request too short for its service is described as far as it goes
and marked ``truncated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ISO 14229-1 service names (the CAN and DoIP detectors both name requests with them)
UDS_NAMES = {0x10: "DiagnosticSessionControl", 0x11: "ECUReset", 0x14: "ClearDiagnosticInformation",
             0x19: "ReadDTCInformation", 0x22: "ReadDataByIdentifier", 0x23: "ReadMemoryByAddress",
             0x24: "ReadScalingDataByIdentifier", 0x27: "SecurityAccess", 0x28: "CommunicationControl",
             0x29: "Authentication", 0x2A: "ReadDataByPeriodicIdentifier", 0x2C: "DynamicallyDefineDataIdentifier",
             0x2E: "WriteDataByIdentifier", 0x2F: "InputOutputControlByIdentifier", 0x31: "RoutineControl",
             0x34: "RequestDownload", 0x35: "RequestUpload", 0x36: "TransferData", 0x37: "RequestTransferExit",
             0x38: "RequestFileTransfer", 0x3D: "WriteMemoryByAddress", 0x3E: "TesterPresent",
             0x85: "ControlDTCSetting", 0x86: "ResponseOnEvent", 0x87: "LinkControl"}

#: services whose second byte is a sub-function, with the names ISO 14229-1 gives its values
SUB_FUNCTIONS: dict[int, dict[int, str]] = {
    0x10: {1: "defaultSession", 2: "programmingSession", 3: "extendedDiagnosticSession", 4: "safetySystemDiagnosticSession"},
    0x11: {1: "hardReset", 2: "keyOffOnReset", 3: "softReset", 4: "enableRapidPowerShutDown", 5: "disableRapidPowerShutDown"},
    0x19: {1: "reportNumberOfDTCByStatusMask", 2: "reportDTCByStatusMask", 4: "reportDTCSnapshotRecordByDTCNumber",
           6: "reportDTCExtDataRecordByDTCNumber", 0x0A: "reportSupportedDTC"},
    0x27: {},  # odd: requestSeed, even: sendKey (named by level below)
    0x28: {0: "enableRxAndTx", 1: "enableRxAndDisableTx", 2: "disableRxAndEnableTx", 3: "disableRxAndTx"},
    0x29: {0: "deAuthenticate", 1: "verifyCertificateUnidirectional", 2: "verifyCertificateBidirectional",
           3: "proofOfOwnership", 4: "transmitCertificate", 5: "requestChallengeForAuthentication",
           8: "authenticationConfiguration"},
    0x2C: {1: "defineByIdentifier", 2: "defineByMemoryAddress", 3: "clearDynamicallyDefinedDataIdentifier"},
    0x31: {1: "startRoutine", 2: "stopRoutine", 3: "requestRoutineResults"},
    0x3E: {0: "zeroSubFunction"},
    0x85: {1: "on", 2: "off"},
    0x86: {},
    0x87: {1: "verifyModeTransitionWithFixedParameter", 2: "verifyModeTransitionWithSpecificParameter",
           3: "transitionMode"},
}
#: InputOutputControlByIdentifier's control option (the byte after the DID)
IO_CONTROL = {0: "returnControlToECU", 1: "resetToDefault", 2: "freezeCurrentState", 3: "shortTermAdjustment"}
#: well-known data identifiers (ISO 14229-1 Annex C) and routines
DIDS = {0xF186: "active diagnostic session", 0xF187: "spare part number", 0xF18A: "system supplier",
        0xF18C: "ECU serial number", 0xF189: "ECU software version", 0xF190: "VIN", 0xF195: "system supplier software version",
        0xF198: "repair shop code", 0xF199: "programming date"}
ROUTINES = {0xFF00: "eraseMemory", 0xFF01: "checkProgrammingDependencies"}
#: services that read data out of the vehicle rather than change it
READS = frozenset({0x19, 0x22, 0x23, 0x24, 0x2A, 0x35})
#: the part of a request that stays the same while one operation goes on
SUMMARISED = frozenset({0x23, 0x34, 0x35, 0x36, 0x37, 0x3D})


@dataclass(frozen=True)
class UdsRequest:
    sid: int
    name: str
    sub_function: int | None = None  # without the suppress-positive-response bit
    sub_name: str | None = None
    details: dict = field(default_factory=dict)  # security_level, routine, dids, address ...
    key: tuple = ()
    truncated: bool = False

    @property
    def text(self) -> str:
        """One line: 'SecurityAccess 0x27 requestSeed level 1 (0x01)'."""
        out = f"{self.name} 0x{self.sid:02X}"
        if self.sub_function is not None:
            out += f" {self.sub_name} (0x{self.sub_function:02X})" if self.sub_name else f" sub-function 0x{self.sub_function:02X}"
        for label in ("routine", "did", "group"):
            if label in self.details:
                out += f" {label} {self.details[label]}"
        if "dids" in self.details:
            out += " DIDs " + ",".join(self.details["dids"])
        return out

    def evidence(self) -> dict:
        out: dict = {"uds_service": f"0x{self.sid:02X}", "uds_service_name": self.name, "kind": self.kind}
        if self.sub_function is not None:
            out["uds_sub_function"] = f"0x{self.sub_function:02X}"
            if self.sub_name:
                out["uds_sub_function_name"] = self.sub_name
        out.update(self.details)
        if self.truncated:
            out["truncated"] = True
        return out

    @property
    def kind(self) -> str:
        return "read" if self.sid in READS else "control" if self.sid != 0x3E else "keep-alive"


def read_request(data: bytes) -> UdsRequest | None:
    """The request in ``data`` (a UDS message from the tester), None for a response or empty."""
    if not data or data[0] == 0x7F or 0x40 <= data[0] < 0x80 or data[0] >= 0xC0:
        return None  # negative and positive responses (0x7F, 0x50-0x7E, 0xC5-0xC7)
    sid = data[0]
    name = UDS_NAMES.get(sid, "unknown service")
    if sid in SUB_FUNCTIONS:
        return _with_sub_function(sid, name, data)
    details, short = _identifiers(sid, data[1:])
    key = (sid,) if sid in SUMMARISED else (sid, *(str(details.get(k)) for k in ("did", "dids", "group", "control")))
    return UdsRequest(sid, name, details=details, key=key, truncated=short)


def _with_sub_function(sid: int, name: str, data: bytes) -> UdsRequest:
    if len(data) < 2:
        return UdsRequest(sid, name, key=(sid,), truncated=True)
    raw = data[1]
    sub = raw & 0x7F
    details: dict = {"suppress_positive_response": True} if raw & 0x80 else {}
    sub_name = SUB_FUNCTIONS[sid].get(sub)
    short = False
    if sid == 0x27 and sub:
        sub_name = "requestSeed" if sub % 2 else "sendKey"
        details["security_level"] = (sub + 1) // 2  # the seed and key bytes are not kept
    if sid == 0x31:
        short = len(data) < 4
        if not short:
            routine = int.from_bytes(data[2:4], "big")
            details["routine"] = f"0x{routine:04X}" + (f" {ROUTINES[routine]}" if routine in ROUTINES else "")
    key = (sid, sub, details.get("routine"), details.get("security_level"))
    return UdsRequest(sid, name, sub, sub_name, details, key, short)


def _identifiers(sid: int, rest: bytes) -> tuple[dict, bool]:
    """What a request without a sub-function touches, and whether it was cut short."""
    if sid in (0x22, 0x24):  # one or more DIDs
        dids = [int.from_bytes(rest[k:k + 2], "big") for k in range(0, len(rest) - 1, 2)][:16]
        return {"dids": [_did(d) for d in dids]}, len(rest) < 2 or len(rest) % 2 == 1
    if sid in (0x2E, 0x2F):
        if len(rest) < 2:
            return {}, True
        details = {"did": _did(int.from_bytes(rest[:2], "big"))}
        if sid == 0x2F and len(rest) >= 3:
            details["control"] = IO_CONTROL.get(rest[2], f"0x{rest[2]:02X}")
        return details, sid == 0x2F and len(rest) < 3
    if sid == 0x14:
        return ({"group": f"0x{int.from_bytes(rest[:3], 'big'):06X}"}, False) if len(rest) >= 3 else ({}, True)
    if sid in (0x23, 0x34, 0x35, 0x3D):
        return _memory(sid, rest)
    if sid == 0x36:
        return ({"first_block": rest[0]}, False) if rest else ({}, True)
    return {}, False


def _memory(sid: int, rest: bytes) -> tuple[dict, bool]:
    """addressAndLengthFormatIdentifier (after a dataFormatIdentifier for 0x34/0x35): address and size."""
    head = 1 if sid in (0x34, 0x35) else 0
    if len(rest) < head + 1:
        return {}, True
    fmt = rest[head]
    size_len, address_len = fmt >> 4, fmt & 0x0F
    body = rest[head + 1:]
    if not address_len or not size_len or len(body) < address_len + size_len:
        return {"address_and_length_format": f"0x{fmt:02X}"}, True
    address = int.from_bytes(body[:address_len], "big")
    size = int.from_bytes(body[address_len:address_len + size_len], "big")
    return {"address": f"0x{address:0{2 * address_len}X}", "size": size}, False


def _did(did: int) -> str:
    return f"0x{did:04X}" + (f" {DIDS[did]}" if did in DIDS else "")
