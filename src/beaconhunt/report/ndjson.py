"""One JSON object per finding per line: the machine-readable contract."""

from __future__ import annotations

import json
from typing import IO

from beaconhunt.model import Finding
from beaconhunt.model.record import finding_record
from beaconhunt.report.base import Reporter

__all__ = ["NdjsonReporter"]


class NdjsonReporter(Reporter):
    """Newline-delimited JSON; strings are JSON-escaped, never interpreted."""

    def write(self, findings: list[Finding], out: IO[str]) -> None:
        for f in findings:
            out.write(json.dumps(finding_record(f), ensure_ascii=True))
            out.write("\n")
