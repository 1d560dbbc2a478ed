"""The terminal view: a Rich table sorted by score, every cell sanitized."""

from __future__ import annotations

from collections import Counter
from typing import IO

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

from beaconhunt.model import Decision, Finding
from beaconhunt.report.base import Reporter
from beaconhunt.util.text import terminal_text

__all__ = ["COLUMNS", "WIDTH", "TableReporter", "why_codes"]

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
    return terminal_text(name, 22) + more


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


def why_codes(f: Finding, n: int = 2) -> list[str]:
    """The ``n`` evidence codes that tell most about ``f``: intel and analyst history,
    approval, tradecraft, the destination, timing (not the decision's own codes)."""
    shown = sorted(
        (r for r in f.reasons if not r.code.startswith(_NOT_WHY)),
        key=lambda r: _why_rank(r.code),
    )
    return list(dict.fromkeys(r.code for r in shown))[:n]


def _why(f: Finding) -> str:
    """The rule that decided, then the two most telling evidence codes
    (``beaconhunt show ID`` gives every reason in full)."""
    rule = terminal_text(f.rule, 30) if f.rule else "-"
    codes = ", ".join(terminal_text(c, 40) for c in why_codes(f))
    return f"{rule}: {codes}" if codes else rule


#: How the table names each detector kind (ndjson and csv keep the kind itself).
_KIND = {"long_session": "session"}
#: Width of the table when the output is not a terminal (a file, a pipe, a ticket).
WIDTH = 100


def _short_host(f: Finding) -> str:
    if f.src_host:
        return terminal_text(f.src_host.split(".", 1)[0], 18)
    return terminal_text(f.src_ip, 18)


def _destination(f: Finding, width: int = 27) -> str:
    """Name (or address) and port; a long name is cut, never the port."""
    port = "" if f.dst_port is None else f":{f.dst_port}"
    return terminal_text(f.dst_domain or f.dst_ip, width - len(port)) + port


#: (title, cell width, right-aligned) of the table's columns: 100 columns with the
#: spaces between them; the why line below each row has the whole width.
COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("id", 8, False), ("decision", 16, False), ("score", 5, True), ("source", 12, False),
    ("destination", 27, False), ("process", 13, False), ("conns", 6, True),
    ("every", 6, True),
)  # fmt: skip


def _cell(value: str, width: int, right: bool) -> str:
    """``value`` in exactly ``width`` terminal cells (cut with an ellipsis if longer)."""
    if cell_len(value) > width:
        value = set_cell_size(value, width - 1) + "…"
    return set_cell_size(value, width) if not right else " " * (width - cell_len(value)) + value


class TableReporter(Reporter):
    """Top ``limit`` findings, two lines each, readable at 100 columns: the finding's
    columns, then the rule that decided and the two most telling evidence codes.
    Every value goes through :func:`~beaconhunt.util.text.terminal_text` and is
    printed as Rich ``Text``, never markup. The ``id`` column is what ``beaconhunt
    show``, ``case`` and ``decide`` take (any unique prefix of 4 or more characters)."""

    def __init__(self, limit: int = 25) -> None:
        self.limit = limit

    def write(self, findings: list[Finding], out: IO[str]) -> None:
        console = Console(file=out, width=WIDTH if not out.isatty() else None, highlight=False,
                          markup=False, emoji=False, soft_wrap=True)  # fmt: skip
        if not findings:
            console.print("No findings at or above the reporting score.")
            return
        counts = Counter(f.decision for f in findings)
        said = ", ".join(f"{counts[d]:,} {d.value}" for d in Decision if counts[d])
        console.print(Text(f"beaconhunt findings: {said}", style="bold"))
        head = " ".join(_cell(t, w, r) for t, w, r in COLUMNS)
        console.print(Text(head, style="bold"))
        console.print(Text("-" * cell_len(head)))
        for f in findings[: self.limit]:
            kind = "" if f.kind == "beacon" else f" {_KIND.get(f.kind, f.kind)}"
            cells = (
                f.finding_id[:8], f.decision.value + kind, f"{f.score:.2f}", _short_host(f),
                _destination(f), _process(f), f"{f.connections:,}", _interval(f.interval_s),
            )  # fmt: skip
            line = Text()
            for (_title, width, right), value in zip(COLUMNS, cells, strict=True):
                style = _STYLE[f.decision] if _title == "decision" else None
                line.append(_cell(value, width, right), style=style)
                line.append(" ")
            line.rstrip()
            console.print(line)
            why = Text(" " * 9 + "why: ", style="dim")
            why.append(_cell(_why(f), WIDTH - 14, False).rstrip())
            console.print(why)
        hidden = len(findings) - self.limit
        if hidden > 0:
            console.print(f"... {hidden} more finding(s); use --format ndjson for all of them.")
        console.print("beaconhunt show ID --db FILE prints a finding in full (reasons by pivot).")
