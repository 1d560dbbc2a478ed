"""Analyst commands on a ``--db`` store: record a verdict, write a case file.

Usage::

    beaconhunt hunt logs/ --db hunt.duckdb          # findings get ids (finding_id column)
    beaconhunt decide 3fa2 close --note "Dropbox sync client, approved" --db hunt.duckdb
    beaconhunt decide 9b01c4 escalate --note "unsigned binary in AppData" --db hunt.duckdb
    beaconhunt case 9b01c4 --db hunt.duckdb -o case-9b01c4.md

A verdict applies to every later hunt with the same ``--db``: closing one
host's Dropbox poller closes every host's connections to that destination from
that process; escalating a process flags it on other hosts and destinations.
The latest matching verdict wins. ``FINDING_ID`` may be any unique prefix of at
least 4 characters.

The commands are registered on :data:`beaconhunt.cli.main` at the end of
``cli.py``; errors go through the same exit-code mapping (``cli._run``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from beaconhunt.app.store import VerdictReceipt, Workbench
from beaconhunt.errors import ConfigError
from beaconhunt.model import Decision, Finding
from beaconhunt.report.case import render_case, render_markdown
from beaconhunt.store.history import History, StoredFinding
from beaconhunt.util.text import terminal_text

__all__ = ["case_cmd", "decide_cmd", "show_cmd", "write_cases"]

_DB = click.option(
    "--db",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The DuckDB store earlier hunts wrote (hunt --db FILE).",
)


def _run_body(body: Callable[[], None]) -> None:
    """Run ``body`` through the CLI's error-to-exit-code mapping (imported late: no cycle)."""
    from beaconhunt.cli import _run

    _run(body)


def _describe(record: dict[str, object]) -> str:
    """``src -> dst:port (process)`` of a stored finding, safe for a terminal."""
    src = record.get("src_host") or record.get("src_ip")
    dst = record.get("dst_domain") or record.get("dst_ip")
    proc = record.get("process_image") or "process unknown"
    return (
        f"{terminal_text(src, 60)} -> {terminal_text(dst, 80)}:{record.get('dst_port')}"
        f" ({terminal_text(proc, 120)})"
    )


def _confirmation(receipt: VerdictReceipt, stored: StoredFinding) -> str:
    v = receipt.verdict
    who = terminal_text(v.analyst, 40) if v.analyst else "an analyst"
    return (
        f"{v.finding_id} {_describe(stored.record)}: recorded {v.decision.value} by {who};"
        f" later hunts with this --db {receipt.effect}"
    )


@click.command("decide")
@click.argument("finding_id")
@click.argument("decision", type=click.Choice([d.value for d in Decision]))
@click.option("--note", required=True, help="Why: shown as the reason in later hunts.")
@_DB
@click.option(
    "--analyst",
    default=lambda: os.environ.get("USER") or None,
    show_default="$USER",
    help="Who decided.",
)
def decide_cmd(finding_id: str, decision: str, note: str, db: Path, analyst: str | None) -> None:
    """Record an analyst verdict (escalate, monitor or close) on a finding.

    Later hunts with the same --db apply it to the finding's destination and
    process on every host; the latest matching verdict wins.
    """

    def body() -> None:
        if not note.strip():
            raise ConfigError("--note must say why (it is shown as the reason in later hunts)")
        with Workbench(db, read_only=False) as wb:
            fid = wb.resolve(finding_id)
            stored = wb.stored(fid)
            receipt = wb.record_verdict(fid, Decision(decision), note, analyst)
        click.echo(_confirmation(receipt, stored))

    _run_body(body)


@click.command("case")
@click.argument("finding_id")
@_DB
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the case file to FILE instead of standard output.",
)
def case_cmd(finding_id: str, db: Path, output: Path | None) -> None:
    """Write the Markdown case file of a finding (evidence, timing, decision, next steps)."""

    def body() -> None:
        # read-only: writing a case file never changes the store (which may be read-only)
        with Workbench(db) as wb:
            text = render_markdown(wb.case(wb.resolve(finding_id), generated_at=time.time()))
        if output is None:
            sys.stdout.write(text)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--output {output}: {exc.strerror or exc}") from exc

    _run_body(body)


def write_cases(
    findings: Sequence[Finding], directory: Path, history: History | None
) -> list[Path]:
    """Write ``{finding_id}.md`` into ``directory`` for each finding; the paths written.

    With ``history``, each case file carries the finding's analyst verdicts
    and run history. The directory is created when missing; a write failure
    raises :class:`~beaconhunt.errors.ConfigError` naming the path.
    """
    now = time.time()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create case directory {directory}: {exc.strerror}") from exc
    written: list[Path] = []
    for f in findings:
        verdicts = history.verdicts(f.finding_id) if history else []
        stored = history.previous(f.finding_id) if history else None
        path = directory / f"{f.finding_id}.md"
        try:
            path.write_text(render_case(f, verdicts, stored, generated_at=now), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write case file {path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written


@click.command("show")
@click.argument("finding_id")
@_DB
def show_cmd(finding_id: str, db: Path) -> None:
    """Print one finding in full: summary, evidence by pivot, timing, decision, next steps."""
    from rich.console import Console

    from beaconhunt.report.show import render_show

    def body() -> None:
        with Workbench(db) as wb:  # read-only, like case
            doc = wb.case(wb.resolve(finding_id))
        console = Console(highlight=False, markup=False, emoji=False,
                          width=None if sys.stdout.isatty() else 100)  # fmt: skip
        render_show(doc, console)

    _run_body(body)
