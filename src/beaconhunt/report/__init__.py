"""Reporters by name: how findings leave beaconhunt."""

from __future__ import annotations

from beaconhunt.report.base import Reporter
from beaconhunt.report.csv import CsvReporter
from beaconhunt.report.ndjson import NdjsonReporter
from beaconhunt.report.table import TableReporter

__all__ = [
    "REPORTERS",
    "CsvReporter",
    "NdjsonReporter",
    "Reporter",
    "TableReporter",
]

#: ``--format`` name -> reporter class.
REPORTERS: dict[str, type[Reporter]] = {
    "table": TableReporter,
    "ndjson": NdjsonReporter,
    "csv": CsvReporter,
}
