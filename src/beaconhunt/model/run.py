"""What a hunt read and skipped, as data the store keeps with the run.

:class:`ReadSummary` is the part of a run report that only the run itself knows
(files, records per log, lines skipped, notes); the store keeps it as a JSON
record in ``runs.summary``, so ``beaconhunt report --db`` can say what was read
long after the hunt. Values such as file names and problem messages come from
the input and are kept raw: every renderer escapes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["MAX_LISTED", "ReadSummary"]

MAX_LISTED = 20
"""Problems and skipped file names a summary keeps by name (the rest are counted)."""


@dataclass(frozen=True, slots=True)
class ReadSummary:
    """What one hunt read, skipped and noted (see the module docstring)."""

    files: int = 0
    #: records read, by log (``conn``, ``dns``, ``sysmon`` ...)
    rows: Mapping[str, int] = field(default_factory=dict)
    skipped_lines: int = 0
    #: the first :data:`MAX_LISTED` input problems, as sentences naming file and line
    problems: tuple[str, ...] = ()
    problem_count: int = 0
    #: the first :data:`MAX_LISTED` files that were not logs
    not_logs: tuple[str, ...] = ()
    not_log_count: int = 0
    #: files of Zeek logs beaconhunt does not use
    unused_logs: int = 0
    already_loaded: int = 0
    #: valid records not used, by reason (``sysmon unused event`` ...)
    skipped_records: Mapping[str, int] = field(default_factory=dict)
    connections: int = 0
    outbound_pairs: int = 0
    #: pairs the bulk/variability prefilter dropped, by reason code
    dropped: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (:meth:`from_record` reads it back)."""
        out = asdict(self)
        for key in ("rows", "skipped_records", "dropped"):
            out[key] = dict(out[key])
        for key in ("problems", "not_logs", "notes"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ReadSummary:
        """The summary a :meth:`to_record` dict holds; keys it does not know are ignored
        and missing ones take their defaults (summaries from older versions)."""

        def counts(key: str) -> dict[str, int]:
            value = record.get(key) or {}
            return {str(k): int(v) for k, v in dict(value).items()}

        def texts(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in record.get(key) or ())

        def number(key: str) -> int:
            return int(record.get(key) or 0)

        return cls(
            files=number("files"), rows=counts("rows"), skipped_lines=number("skipped_lines"),
            problems=texts("problems"), problem_count=number("problem_count"),
            not_logs=texts("not_logs"), not_log_count=number("not_log_count"),
            unused_logs=number("unused_logs"), already_loaded=number("already_loaded"),
            skipped_records=counts("skipped_records"), connections=number("connections"),
            outbound_pairs=number("outbound_pairs"), dropped=counts("dropped"),
            notes=texts("notes"), seconds=float(record.get("seconds") or 0.0),
        )  # fmt: skip
