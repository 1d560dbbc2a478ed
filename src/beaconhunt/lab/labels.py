"""Ground truth: ``labels.csv`` and matching findings to it.

``labels.csv`` (written by :mod:`beaconhunt.synth`, columns
:data:`beaconhunt.synth.context.LABEL_FIELDS`) has one line per (source,
destination name, destination address, port) seen in ``conn.log``. The unit
the lab measures is the *pair* (source IP, destination, port), where the
destination is the name a hunt reports (``dst_domain``) or the address when
there is no name, exactly as a finding is keyed. Lines of the same pair (a name
with several addresses) are merged: their connections add up, and if any line
is an implant the pair is an implant.

Required columns: ``src_ip``, ``dst``, ``dst_port``, ``kind``, ``decision``.
Optional: ``src_host``, ``dst_ip``, ``process``, ``sleep``, ``jitter``,
``loss``, ``connections`` (empty means unknown). A missing required column or
a value that is not a number raises :class:`~beaconhunt.errors.ConfigError`
with ``file:line``.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from beaconhunt.errors import ConfigError
from beaconhunt.model import Finding

__all__ = [
    "IMPLANT_KINDS",
    "REQUIRED_COLUMNS",
    "Label",
    "LabelIndex",
    "Outcome",
    "finding_key",
    "load_labels",
    "match",
    "outcomes_by_kind",
]

#: Label kinds that are implants (everything else is benign): the five beacon
#: families, and the shapes of ``beaconhunt generate --shapes`` (C2 over DNS, a
#: DNS beacon seen only from the resolver, long interactive sessions, a session
#: NetFlow exports in pieces). A DNS kind's pair is (client, registered domain,
#: 53), the resolver's address as client for ``dns_perimeter``.
IMPLANT_KINDS = frozenset(
    {
        "cobalt_strike",
        "sliver",
        "havoc",
        "mythic",
        "meterpreter",
        "dns_beacon",
        "dnscat2",
        "iodine",
        "dns_perimeter",
        "interactive_c2",
        "netflow_split",
    }
)
#: Columns labels.csv must have.
REQUIRED_COLUMNS = ("src_ip", "dst", "dst_port", "kind", "decision")

Key = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Label:
    """One ground-truth pair: what generated it and what an analyst should decide.

    ``process`` is the image on this source host ("" when unknown); ``sleep``
    (seconds), ``jitter`` and ``loss`` (fractions) describe an implant's timing
    and are None for benign traffic or when the file does not say.
    """

    src_ip: str
    dst: str
    dst_port: int
    kind: str
    decision: str
    process: str = ""
    src_host: str = ""
    dst_ip: str = ""
    sleep: float | None = None
    jitter: float | None = None
    loss: float | None = None
    connections: int = 0
    addresses: frozenset[str] = frozenset()

    @property
    def implant(self) -> bool:
        return self.kind in IMPLANT_KINDS

    @property
    def key(self) -> Key:
        """(source IP, destination, port): how a finding names the same pair."""
        return (self.src_ip, self.dst, self.dst_port)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A label and the finding for its pair (None: not reported)."""

    label: Label
    finding: Finding | None

    @property
    def decided(self) -> str:
        return "not reported" if self.finding is None else self.finding.decision.value


def load_labels(path: Path) -> list[Label]:
    """Read ``labels.csv``; one label per (source, destination, port) pair, in file order."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise ConfigError(f"{path}:1: labels.csv lacks column(s) {', '.join(missing)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read labels: {exc}") from exc
    merged: dict[Key, Label] = {}
    for n, row in enumerate(rows, start=2):
        lab = _label(row, f"{path}:{n}")
        old = merged.get(lab.key)
        merged[lab.key] = lab if old is None else _merge(old, lab)
    return list(merged.values())


def _label(row: Mapping[str, str | None], where: str) -> Label:
    """One CSV row as a Label; ConfigError names the line and the bad value."""

    def text(name: str) -> str:
        return (row.get(name) or "").strip()

    for name in REQUIRED_COLUMNS:
        if not text(name):
            raise ConfigError(f"{where}: empty {name}")
    return Label(
        src_ip=text("src_ip"),
        dst=text("dst").lower(),
        dst_port=_int(text("dst_port"), "dst_port", where),
        kind=text("kind"),
        decision=text("decision"),
        process=text("process"),
        src_host=text("src_host"),
        dst_ip=text("dst_ip"),
        sleep=_float(text("sleep"), "sleep", where),
        jitter=_float(text("jitter"), "jitter", where),
        loss=_float(text("loss"), "loss", where),
        connections=_int(text("connections") or "0", "connections", where),
        addresses=frozenset({text("dst_ip")} - {""}),
    )


def _int(value: str, name: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{where}: {name} must be a whole number (got {value!r})") from None


def _float(value: str, name: str, where: str) -> float | None:
    if not value:
        return None
    try:
        x = float(value)
    except ValueError:
        raise ConfigError(f"{where}: {name} must be a number (got {value!r})") from None
    if not math.isfinite(x) or x < 0:
        raise ConfigError(f"{where}: {name} must be a finite number >= 0 (got {value!r})")
    return x


def _merge(a: Label, b: Label) -> Label:
    """Two lines of one pair: connections add up; an implant line wins over a benign one."""
    first = b if b.implant and not a.implant else a
    return replace(
        first, connections=a.connections + b.connections, addresses=a.addresses | b.addresses
    )


def finding_key(f: Finding) -> Key:
    """The pair a finding reports: (source IP, name or address lowercased, port or -1)."""
    dst = (f.dst_domain or f.dst_ip or "").lower()
    return (f.src_ip, dst, f.dst_port if f.dst_port is not None else -1)


class LabelIndex:
    """Finds the label of a finding: by its key, else (a finding without a name) by address."""

    def __init__(self, labels: Iterable[Label]) -> None:
        self.by_key: dict[Key, Label] = {}
        self.by_address: dict[Key, Label] = {}
        for lab in labels:
            self.by_key[lab.key] = lab
            for ip in lab.addresses:
                key = (lab.src_ip, ip.lower(), lab.dst_port)
                old = self.by_address.get(key)
                if old is None or (lab.implant and not old.implant):
                    self.by_address[key] = lab

    def label_of(self, f: Finding) -> Label | None:
        """The label of ``f``'s pair, or None (traffic the labels do not describe)."""
        lab = self.by_key.get(finding_key(f))
        if lab is None and not f.dst_domain and f.dst_ip:
            port = f.dst_port if f.dst_port is not None else -1
            lab = self.by_address.get((f.src_ip, f.dst_ip.lower(), port))
        return lab


def match(findings: Iterable[Finding], labels: Sequence[Label]) -> list[Outcome]:
    """Each label with the finding of its pair, if any (the first one given when several)."""
    index = LabelIndex(labels)
    by_label: dict[Key, Finding] = {}
    for f in findings:
        lab = index.label_of(f)
        if lab is not None:
            by_label.setdefault(lab.key, f)
    return [Outcome(lab, by_label.get(lab.key)) for lab in labels]


def outcomes_by_kind(outcomes: Iterable[Outcome]) -> dict[str, Counter[str]]:
    """``{kind: Counter(decided)}`` where decided is escalate/monitor/close/not reported."""
    out: dict[str, Counter[str]] = {}
    for o in outcomes:
        out.setdefault(o.label.kind, Counter())[o.decided] += 1
    return out
