"""The terminal view: a Rich table sorted by score, every cell sanitized."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from beaconhunt.model import Decision, Finding
from beaconhunt.report.base import Reporter
from beaconhunt.util.text import terminal_text
from beaconhunt.util.timefmt import iso_utc

__all__ = ["TableReporter"]

_STYLE = {Decision.ESCALATE: "bold red", Decision.MONITOR: "yellow", Decision.CLOSE: "green"}


def _interval(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _process(f: Finding) -> str:
    """The image's file name, and how many other processes shared the pair."""
    if not f.process_image:
        return "-"
    name = f.process_image.replace("\\", "/").rsplit("/", 1)[-1]
    more = f" +{len(f.processes) - 1}" if len(f.processes) > 1 else ""
    return terminal_text(name, 30) + more


_WHY_ORDER = ("intel.", "history.", "allowlist.", "process.approved", "service.",
              "client.c2", "persistence.run", "persistence.", "process.", "client.",
              "dest.young", "dest.new", "dest.no_dns", "host.", "lateral.", "dest.", "timing.",
              "size.")  # fmt: skip
_NOT_WHY = (
    "decision.",
    "beacon.",
    "volume.",
    "process.attributed",
    "process.multiple",
    "process.unknown",
    "host.workstation",
    "host.server",
    "host.unknown",
)


def _why_rank(code: str) -> int:
    return next((i for i, p in enumerate(_WHY_ORDER) if code.startswith(p)), len(_WHY_ORDER))


def _why(f: Finding) -> str:
    """The rule that decided, then the two pieces of evidence that matter most:
    intel and analyst history, approval, tradecraft, the destination, timing."""
    shown = sorted(
        (r for r in f.reasons if not r.code.startswith(_NOT_WHY)),
        key=lambda r: _why_rank(r.code),
    )[:2]
    rule = f"[{terminal_text(f.rule, 40)}] " if f.rule else ""
    return rule + "; ".join(terminal_text(r.text, 80) for r in shown)


#: How the table names each detector kind (ndjson and csv keep the kind itself).
_KIND = {"long_session": "session"}


class TableReporter(Reporter):
    """Top ``limit`` findings as a table; cells are Text objects, never markup."""

    def __init__(self, limit: int = 25) -> None:
        self.limit = limit

    def write(self, findings: list[Finding], out: IO[str]) -> None:
        console = Console(file=out, width=160 if not out.isatty() else None, highlight=False)
        if not findings:
            console.print("No findings at or above the reporting score.")
            return
        table = Table(title="beaconhunt findings", show_lines=False, expand=False)
        for name, just in (
            ("#", "right"), ("decision", "left"), ("kind", "left"), ("score", "right"),
            ("source", "left"),
            ("destination", "left"), ("port", "right"), ("process", "left"), ("conns", "right"),
            ("interval", "right"), ("first seen", "left"), ("why", "left"),
        ):  # fmt: skip
            table.add_column(name, justify=just, overflow="fold")  # type: ignore[arg-type]
        for i, f in enumerate(findings[: self.limit], start=1):
            dst = f.dst_domain or f.dst_ip
            if f.dst_domain and f.dst_ip:
                dst = f"{f.dst_domain} ({f.dst_ip})"
            src = f.src_ip if not f.src_host else f"{f.src_host} ({f.src_ip})"
            why = _why(f)
            table.add_row(
                str(i),
                Text(f.decision.value, style=_STYLE[f.decision]),
                _KIND.get(f.kind, f.kind),
                f"{f.score:.2f}",
                Text(terminal_text(src, 40)),
                Text(terminal_text(dst, 60)),
                "-" if f.dst_port is None else str(f.dst_port),
                Text(_process(f)),
                str(f.connections),
                _interval(f.interval_s),
                iso_utc(f.first_seen).replace("T", " ").removesuffix("Z"),
                Text(why),
            )
        console.print(table)
        hidden = len(findings) - self.limit
        if hidden > 0:
            console.print(f"... {hidden} more finding(s); use --format ndjson for all of them.")
