"""Findings are data: frozen dataclasses every stage passes along.

``Evidence`` is one machine-readable reason code with a human sentence.
``PairScore`` is what :mod:`beaconhunt.detect` says about one
(source, destination, port) pair; ``Finding`` is what reports print.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Decision",
    "Evidence",
    "Finding",
    "PairKey",
    "ProcessInfo",
    "ProcessShare",
    "ScoreComponents",
    "Verdict",
    "pivot_of",
]

#: Which investigation pivot of the case write-up each code prefix belongs to.
PIVOT_OF_PREFIX: dict[str, str] = {
    "dest": "destination",
    "allowlist": "destination",
    "service": "destination",
    "beacon": "timing",
    "timing": "timing",
    "size": "timing",
    "count": "timing",
    "volume": "timing",
    "process": "process",
    "persistence": "process",
    "client": "process",
    "host": "host",
    "lateral": "lateral",
    "intel": "intel",
    "history": "history",
    "decision": "decision",
    "session": "timing",
    "dns": "timing",
}

#: The pivots in the order the case write-up investigates them.
PIVOTS: tuple[str, ...] = (
    "destination", "timing", "process", "host", "lateral", "intel", "history", "decision", "other",
)  # fmt: skip


def pivot_of(code: str) -> str:
    """The pivot an evidence code belongs to (``dest.rare`` -> ``destination``)."""
    return PIVOT_OF_PREFIX.get(code.split(".", 1)[0], "other")


class Decision(StrEnum):
    """The triage outcome, as in the case write-up."""

    ESCALATE = "escalate"
    MONITOR = "monitor"
    CLOSE = "close"

    @property
    def rank(self) -> int:
        """A triage queue's order: 0 escalate, 1 monitor, 2 close."""
        return _DECISION_ORDER.index(self.value)


_DECISION_ORDER = ("escalate", "monitor", "close")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason behind a score or decision: ``code`` is stable, ``text`` is for people."""

    code: str
    text: str

    @property
    def pivot(self) -> str:
        """The investigation pivot this evidence answers (see :func:`pivot_of`)."""
        return pivot_of(self.code)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text, "pivot": self.pivot}


@dataclass(frozen=True, slots=True)
class PairKey:
    """What connections are grouped by: source host, destination (domain or IP), port."""

    src_ip: str
    dst: str
    dst_port: int | None


@dataclass(frozen=True, slots=True)
class ScoreComponents:
    """The sub-scores of the beacon score, each in [0, 1] (see docs/scoring.md)."""

    dispersion: float
    skew: float
    periodicity: float
    size: float
    coverage: float
    count: float
    score: float


@dataclass(frozen=True, slots=True)
class ProcessShare:
    """One process behind a pair's connections and how many it made."""

    image: str | None
    host: str | None
    process_guid: str | None
    pid: int | None
    user: str | None
    command_line: str | None
    parent_image: str | None
    connections: int
    share: float

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "host": self.host,
            "process_guid": self.process_guid,
            "pid": self.pid,
            "user": self.user,
            "command_line": self.command_line,
            "parent_image": self.parent_image,
            "connections": self.connections,
            "share": round(self.share, 4),
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One ranked (source, destination, port) pair with its score and reasons.

    Field names match the keys of the ``ndjson`` output, which are a public
    contract: add keys, never rename them.
    """

    src_ip: str
    src_host: str | None
    dst_ip: str | None
    dst_domain: str | None
    dst_port: int | None
    proto: str | None
    process_image: str | None
    connections: int
    first_seen: float
    last_seen: float
    interval_s: float | None
    score: float
    decision: Decision
    components: ScoreComponents | None = None
    bytes_out_median: float | None = None
    bytes_in_median: float | None = None
    dst_ips: tuple[str, ...] = ()
    processes: tuple[ProcessShare, ...] = ()
    reasons: tuple[Evidence, ...] = field(default_factory=tuple)
    #: name of the policy rule that made ``decision``
    rule: str = ""
    #: connection start times of the pair (epoch seconds, sorted); not in ndjson
    times: tuple[float, ...] = field(default=(), repr=False, compare=False)
    #: the detector that found it (:mod:`beaconhunt.detect.base`): ``beacon``,
    #: ``dns`` or ``long_session``
    kind: str = "beacon"
    #: the kind's own keys (README, "Output"): None for beacons
    info: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def process(self) -> ProcessShare | None:
        """The process that made most of the connections, when known."""
        return self.processes[0] if self.processes else None

    @property
    def finding_id(self) -> str:
        """A stable short id for this pair (same pair, same id, across runs)."""
        import hashlib

        key = f"{self.src_ip}|{self.dst_domain or self.dst_ip}|{self.dst_port}|{self.proto}"
        if self.kind != "beacon":  # beacon ids stay what they were before other kinds
            key += f"|{self.kind}"
        return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision, the rule that made it and the evidence it rests on.

    ``reasons`` is the rule's own sentence (code ``decision.<rule>``);
    ``matched`` the codes of the finding's evidence the rule matched on.
    """

    decision: Decision
    rule: str
    reasons: tuple[Evidence, ...] = ()
    matched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """What endpoint telemetry says about one process (Sysmon event 1, plus the
    image from event 3 when event 1 is missing). Every field may be unknown."""

    host: str | None = None
    process_guid: str | None = None
    pid: int | None = None
    image: str | None = None
    command_line: str | None = None
    user: str | None = None
    parent_image: str | None = None
    parent_command_line: str | None = None
    current_directory: str | None = None
    #: PE version information of the image (Sysmon event 1; "-" when the file has none)
    original_file_name: str | None = None
    company: str | None = None
    product: str | None = None
    description: str | None = None
    integrity_level: str | None = None
