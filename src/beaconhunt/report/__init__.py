"""Reporters by name: how findings leave beaconhunt."""

from __future__ import annotations

from beaconhunt.report.base import Reporter, finding_record, iso_utc
from beaconhunt.report.csv import CsvReporter
from beaconhunt.report.ndjson import NdjsonReporter
from beaconhunt.report.safe import terminal_text
from beaconhunt.report.table import TableReporter

__all__ = [
    "REPORTERS",
    "CsvReporter",
    "NdjsonReporter",
    "Reporter",
    "TableReporter",
    "finding_record",
    "iso_utc",
    "terminal_text",
]

#: ``--format`` name -> reporter class.
REPORTERS: dict[str, type[Reporter]] = {
    "table": TableReporter,
    "ndjson": NdjsonReporter,
    "csv": CsvReporter,
}
