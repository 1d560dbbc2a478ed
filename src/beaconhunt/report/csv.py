"""CSV for spreadsheets: the ndjson keys, reasons folded into two columns, a kind's
``details`` as one JSON cell."""

from __future__ import annotations

import csv
import json
from typing import IO

from beaconhunt.model import Finding
from beaconhunt.model.record import finding_record
from beaconhunt.report.base import Reporter
from beaconhunt.util.text import terminal_text

__all__ = ["CsvReporter"]

_COLUMNS = (
    "finding_id", "src_ip", "src_host", "dst_ip", "dst_domain", "dst_port", "proto",
    "process_image", "process_pid", "process_user", "process_command_line", "parent_image",
    "connections", "first_seen", "last_seen", "interval_s", "score",
    "decision", "reason_codes", "reasons", "dst_ips", "bytes_out_median", "bytes_in_median",
    "rule", "kind", "details",
)  # fmt: skip

# A cell starting with these is run as a formula by spreadsheet programs
# (CSV injection); attacker-chosen domains must not become formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Longest cell written (spreadsheets stop at 32,767 characters).
_MAX_CELL = 32_000


def _cell(value: object) -> object:
    """A cell that neither runs as a formula nor carries control characters (ESC,
    BEL, NUL, bidi overrides: shown as ``\\xNN`` escapes, as on the terminal) to
    whoever opens or ``cat`` s the file."""
    if not isinstance(value, str):
        return value
    value = terminal_text(value, _MAX_CELL)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


class CsvReporter(Reporter):
    """Comma-separated, header row first; None becomes an empty cell."""

    def write(self, findings: list[Finding], out: IO[str]) -> None:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(_COLUMNS)
        for f in findings:
            rec = finding_record(f)
            rec["reason_codes"] = " ".join(r["code"] for r in rec["reasons"])
            rec["reasons"] = " | ".join(r["text"] for r in rec["reasons"])
            rec["dst_ips"] = " ".join(rec["dst_ips"])
            if rec["details"] is not None:  # the kind's own keys, as one JSON cell
                rec["details"] = json.dumps(rec["details"], sort_keys=True, ensure_ascii=False)
            w.writerow([_cell("" if rec[c] is None else rec[c]) for c in _COLUMNS])
