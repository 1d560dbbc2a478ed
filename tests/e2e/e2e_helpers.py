"""Helpers of the end-to-end tests: run the CLI, read its NDJSON, match it with ground truth.

Every end-to-end test goes through ``beaconhunt.cli.main`` with click's
``CliRunner``, the way an analyst runs the tool, and reads the ``--format
ndjson`` output (the public contract) back into findings to compare them with
the generator's ``labels.csv``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from beaconhunt.cli import main
from beaconhunt.lab import Outcome, load_labels, match
from beaconhunt.model import Finding
from beaconhunt.model.record import finding_from_record
from beaconhunt.synth import LOGS, SYSMON_FILE, GenerationSummary

#: ``--option`` -> the context file the generator writes next to the logs.
CONTEXT_FILES = {
    "allowlist": "allowlist.txt",
    "assets": "assets.csv",
    "whois": "whois.csv",
    "intel": "intel.csv",
}
#: Evidence about the timing and size of the connections only (and the verdict's sentence).
TIMING_ONLY = ("beacon.", "timing.", "size.", "count.", "volume.", "decision.")
#: The default policy's escalate rules.
ESCALATE_RULES = frozenset(
    {"analyst-escalated", "c2-indicators", "rare-and-correlated", "jittered-with-indicators"}
)


@dataclass(frozen=True)
class CliRun:
    """Exit code and the two output streams of one CLI invocation."""

    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class HuntRun:
    """The NDJSON records of one ``beaconhunt hunt`` and what it said on stderr."""

    records: list[dict[str, Any]]
    stderr: str

    @property
    def findings(self) -> list[Finding]:
        return [finding_from_record(r, ()) for r in self.records]

    def outcomes(self, day: Path) -> list[Outcome]:
        """Every label of ``day/labels.csv`` with the finding of its pair (or None)."""
        return match(self.findings, load_labels(day / "labels.csv"))


def cli(*args: str | Path) -> CliRun:
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return CliRun(res.exit_code, res.stdout, res.stderr)


def hunt(paths: Iterable[Path], *options: str | Path, quiet: bool = True) -> HuntRun:
    """``beaconhunt hunt PATHS --format ndjson [-q] OPTIONS``; it must succeed."""
    flags = ["--format", "ndjson", *(["-q"] if quiet else [])]
    run = cli("hunt", *paths, *flags, *options)
    assert run.code == 0, run.stderr
    if quiet:
        assert run.stderr == "", "-q must keep stderr empty"
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert records, "the hunt reported nothing at all"
    return HuntRun(records, run.stderr)


def zeek_logs(day: Path) -> list[Path]:
    """The Zeek logs the generator wrote (conn, dns, ssl, http), without Sysmon."""
    return [day / f"{name}.log" for name in LOGS]


def all_logs(day: Path) -> list[Path]:
    """The Zeek logs and the Sysmon file, but no context file."""
    return [*zeek_logs(day), day / SYSMON_FILE]


def context(day: Path, *names: str) -> list[str]:
    """``--allowlist FILE --assets FILE ...`` for the named context files (default: all)."""
    out: list[str] = []
    for name in names or tuple(CONTEXT_FILES):
        out += [f"--{name}", str(day / CONTEXT_FILES[name])]
    return out


def codes(f: Finding | dict[str, Any]) -> list[str]:
    """The evidence codes of a finding or NDJSON record, in order."""
    if isinstance(f, Finding):
        return [e.code for e in f.reasons]
    return [r["code"] for r in f["reasons"]]


def sysmon_ips(summary: GenerationSummary) -> set[str]:
    """Source IPs of the hosts the generator wrote Sysmon telemetry for."""
    short = {name.split(".", 1)[0].lower() for name in summary.sysmon_hosts}
    with (summary.out_dir / "assets.csv").open(encoding="utf-8", newline="") as fh:
        return {r["ip"] for r in csv.DictReader(fh) if r["hostname"].lower() in short}


def implant_pairs(summary: GenerationSummary) -> set[tuple[str, str]]:
    """(source IP, destination) of every hidden implant, from the generator's summary."""
    return {(ip, b.dst.lower()) for b in summary.beacons for ip in b.src_ips}


def by_kind(outcomes: Sequence[Outcome], *kinds: str) -> list[Outcome]:
    """The outcomes whose label is one of ``kinds``; fails when there is none."""
    out = [o for o in outcomes if o.label.kind in kinds]
    assert out, f"no {'/'.join(kinds)} label in this day: the test would be vacuous"
    return out


def describe(o: Outcome) -> str:
    """One line for assertion messages: the label and what was decided, by which rule."""
    f = o.finding
    lab = o.label
    what = "not reported" if f is None else f"{f.decision.value} by {f.rule} {codes(f)}"
    return f"{lab.kind} {lab.src_ip} -> {lab.dst}:{lab.dst_port}: {what}"
