"""Talking to nftables: JSON commands through ``nft -j -f -`` (libnftables' JSON interface),
one transaction per call. The nft binary comes from Debian's nftables package."""

from __future__ import annotations

import json
import shutil
import subprocess

from ..errors import MonitorError


class EnforceError(MonitorError):
    """The kernel refused a ruleset change, or nftables is not there."""


class Nft:
    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("nft") or ""

    def apply(self, commands: list[dict]) -> None:
        """Run the commands as one transaction: all of them happen, or none."""
        if not self.binary:
            raise EnforceError("nft not found: install Debian's nftables package (deploy/setup-dev.sh does)")
        result = subprocess.run([self.binary, "-j", "-f", "-"], input=json.dumps({"nftables": commands}),
                                capture_output=True, text=True, timeout=30, check=False)
        if result.returncode != 0:
            reason = " ".join(result.stderr.split())[:400] or f"exit status {result.returncode}"
            raise EnforceError(f"nft refused the change: {reason}")
