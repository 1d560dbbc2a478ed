"""The detector seam: every kind of finding comes from a registered :class:`Detector`.

A detector reads the store for the analysed window and returns
:class:`Candidate` s of its ``kind``: the store pair it is about (source,
destination, port) with a score and the kind's own details. The pipeline runs
every registered detector, then gives all candidates the same attribution,
investigation and decision (:func:`beaconhunt.pipeline.hunt`), so a new kind
of C2 (DNS, long sessions) is one new detector, not a second pipeline.

Register a detector with :func:`register_detector`; :func:`detectors` builds
one of each. Three are built in: beacons (:mod:`beaconhunt.detect.beacon`),
C2 over DNS (:mod:`beaconhunt.detect.dns`) and long sessions
(:mod:`beaconhunt.detect.long_session`); the maths and limits of each are in
``docs/detectors.md``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from beaconhunt.detect.filter import FilterSettings
from beaconhunt.detect.score import ScoreSettings
from beaconhunt.detect.settings import DnsSettings, LongSessionSettings
from beaconhunt.model import Evidence, ScoreComponents
from beaconhunt.util.timing import StageClock

if TYPE_CHECKING:
    from beaconhunt.store.duckdb import DuckDBStore


__all__ = [
    "DETECTORS",
    "Candidate",
    "Details",
    "DetectInput",
    "DetectReport",
    "Detector",
    "PairRef",
    "detectors",
    "register_detector",
]


class Details(Protocol):
    """What every kind's details tell the later stages (a beacon's
    :class:`~beaconhunt.detect.score.PairScore` is one)."""

    @property
    def score(self) -> float: ...

    @property
    def components(self) -> ScoreComponents | None: ...

    @property
    def n_connections(self) -> int: ...

    @property
    def first_seen(self) -> float: ...

    @property
    def last_seen(self) -> float: ...

    @property
    def median_interval(self) -> float: ...

    @property
    def bytes_out_median(self) -> float: ...

    @property
    def bytes_in_median(self) -> float: ...

    @property
    def reasons(self) -> tuple[Evidence, ...]: ...


@dataclass(frozen=True, slots=True)
class PairRef:
    """Who and what a candidate that is not a store pair is about (a DNS finding:
    the client, the zone, the resolver it asked)."""

    src_ip: str
    dst_domain: str | None
    dst_ips: tuple[str, ...]
    dst_port: int | None
    proto: str | None
    src_host: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One finding-to-be: a store pair (``pair_id`` of the candidate pairs) or, for
    kinds not made of connections, a :class:`PairRef` (``pair_id`` -1); its
    ``kind``, the kind's details and the event times they describe.

    ``info`` holds the kind-specific keys of the finding record (JSON values);
    ``attribution`` the processes behind it when the detector found them itself
    (rows shaped like :meth:`DuckDBStore.attribution`'s), None to let the
    pipeline match connections to endpoint events.
    """

    kind: str
    pair_id: int
    details: Details
    times: NDArray[np.float64]
    pair: PairRef | None = None
    info: Mapping[str, Any] | None = None
    attribution: list[dict[str, Any]] | None = None

    @property
    def score(self) -> float:
        return float(self.details.score)


@dataclass(frozen=True, slots=True)
class DetectInput:
    """What a detector may read: the store (candidate pairs registered), the window
    and the settings."""

    store: DuckDBStore
    start: float
    end: float
    min_connections: int
    min_score: float
    score: ScoreSettings
    filters: FilterSettings
    long_session: LongSessionSettings = field(default_factory=LongSessionSettings)
    dns: DnsSettings = field(default_factory=DnsSettings)


@dataclass
class DetectReport:
    """What detectors say about the run besides their candidates: outbound pairs
    scored, and pairs dropped by reason code."""

    scored: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    #: seconds per stage; a detector may add its own (``detect.<kind>.<step>``)
    seconds: StageClock = field(default_factory=StageClock)


class Detector(ABC):
    """One kind of finding: how to find its candidates in the store."""

    kind: ClassVar[str]

    @abstractmethod
    def detect(self, data: DetectInput, report: DetectReport) -> list[Candidate]:
        """Every candidate of this kind in the window, best first or in any order."""


DETECTORS: dict[str, type[Detector]] = {}
"""Every registered detector class by kind, in registration order."""


def register_detector(cls: type[Detector]) -> type[Detector]:
    """Register ``cls`` under its ``kind`` (usable as a class decorator)."""
    if cls.kind in DETECTORS and DETECTORS[cls.kind] is not cls:
        raise ValueError(f"a detector of kind {cls.kind!r} is already registered")
    DETECTORS[cls.kind] = cls
    return cls


def detectors() -> list[Detector]:
    """One instance of every registered detector."""
    return [cls() for cls in DETECTORS.values()]
