"""Helpers of the synthetic-traffic tests: a tiny Zeek TSV parser and CSV reader."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ZeekTsv:
    """A parsed Zeek TSV log: header lines, field names, types, rows, footer."""

    header: list[str]
    fields: list[str]
    types: list[str]
    rows: list[list[str]]
    footer: list[str]

    def column(self, name: str) -> list[str]:
        i = self.fields.index(name)
        return [r[i] for r in self.rows]

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.fields, r, strict=True)) for r in self.rows]


def parse_tsv(text: str) -> ZeekTsv:
    """Split a Zeek TSV document; fails loudly on a row with the wrong column count."""
    lines = text.split("\n")
    assert lines[-1] == "", "file must end with a newline"
    lines = lines[:-1]
    header = lines[:8]
    fields = header[6].split("\t")[1:]
    types = header[7].split("\t")[1:]
    body = [ln for ln in lines[8:] if not ln.startswith("#")]
    footer = [ln for ln in lines[8:] if ln.startswith("#")]
    rows = [ln.split("\t") for ln in body]
    for n, row in enumerate(rows, start=9):
        assert len(row) == len(fields), f"line {n}: {len(row)} columns, expected {len(fields)}"
    return ZeekTsv(header, fields, types, rows, footer)


def read_log(path: Path) -> ZeekTsv:
    """Parse a plain or gzip Zeek TSV log."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return parse_tsv(data.decode())


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))
