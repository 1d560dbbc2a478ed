"""Compare findings with ground truth (``labels.csv`` of the synthetic generator).

A label names one (source, destination, port) pair, what generated it
(``kind``: an implant family, ``edr_checkin``, ``ntp``, ``browsing``...) and
the decision an analyst should reach. :func:`match` pairs every label with the
finding of the same pair (or none: not reported), and :func:`outcomes_by_kind`
counts what was decided for each kind, which is what the tests and the demo
check: implants escalated, benign periodic traffic not.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from beaconhunt.errors import ConfigError
from beaconhunt.model import Finding

__all__ = ["IMPLANT_KINDS", "Label", "Outcome", "load_labels", "match", "outcomes_by_kind"]

#: Label kinds that are implants (everything else is benign).
IMPLANT_KINDS = frozenset({"cobalt_strike", "sliver", "havoc", "mythic", "meterpreter"})


@dataclass(frozen=True, slots=True)
class Label:
    """One ground-truth pair."""

    src_ip: str
    dst: str
    dst_port: int
    kind: str
    decision: str
    process: str

    @property
    def implant(self) -> bool:
        return self.kind in IMPLANT_KINDS


@dataclass(frozen=True, slots=True)
class Outcome:
    """A label and the finding for its pair (None: not reported)."""

    label: Label
    finding: Finding | None

    @property
    def decided(self) -> str:
        return "not reported" if self.finding is None else self.finding.decision.value


def load_labels(path: Path) -> list[Label]:
    """Read ``labels.csv``; one label per (source, destination, port) pair."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read labels: {exc}") from exc
    seen: dict[tuple[str, str, int], Label] = {}
    for n, r in enumerate(rows, start=2):
        try:
            lab = Label(r["src_ip"], r["dst"].lower(), int(r["dst_port"]), r["kind"],
                        r["decision"], r.get("process") or "")  # fmt: skip
        except (KeyError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{path}:{n}: not a label row ({exc})") from exc
        seen.setdefault((lab.src_ip, lab.dst, lab.dst_port), lab)
    return list(seen.values())


def match(findings: Iterable[Finding], labels: Sequence[Label]) -> list[Outcome]:
    """Each label with the finding of its pair, if any."""
    by_key: dict[tuple[str, str, int], Finding] = {}
    for f in findings:
        dst = (f.dst_domain or f.dst_ip or "").lower()
        by_key.setdefault((f.src_ip, dst, f.dst_port or -1), f)
    return [Outcome(lab, by_key.get((lab.src_ip, lab.dst, lab.dst_port))) for lab in labels]


def outcomes_by_kind(outcomes: Iterable[Outcome]) -> dict[str, Counter[str]]:
    """``{kind: Counter(decided)}`` where decided is escalate/monitor/close/not reported."""
    out: dict[str, Counter[str]] = {}
    for o in outcomes:
        out.setdefault(o.label.kind, Counter())[o.decided] += 1
    return out
