"""Reporters turn findings into output; they only read findings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import IO, Any

from beaconhunt.model import Finding

__all__ = ["Reporter", "finding_record", "iso_utc"]


def iso_utc(ts: float) -> str:
    """ISO 8601 UTC with a ``Z``, to the second (``2026-11-01T08:00:05Z``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def finding_record(f: Finding) -> dict[str, Any]:
    """The public, stable key set of a finding (``ndjson``/``csv``); unknown = None.

    Keys may be added over time, never renamed or removed.
    """
    comps = f.components
    top = f.process
    return {
        "finding_id": f.finding_id,
        "kind": f.kind,
        "src_ip": f.src_ip,
        "src_host": f.src_host,
        "dst_ip": f.dst_ip,
        "dst_domain": f.dst_domain,
        "dst_port": f.dst_port,
        "proto": f.proto,
        "process_image": f.process_image,
        "process_guid": top.process_guid if top else None,
        "process_pid": top.pid if top else None,
        "process_user": top.user if top else None,
        "process_command_line": top.command_line if top else None,
        "parent_image": top.parent_image if top else None,
        "processes": [p.as_dict() for p in f.processes],
        "connections": f.connections,
        "first_seen": iso_utc(f.first_seen),
        "last_seen": iso_utc(f.last_seen),
        "interval_s": None if f.interval_s is None else round(f.interval_s, 3),
        "score": round(f.score, 4),
        "decision": f.decision.value,
        "rule": f.rule,
        "reasons": [r.as_dict() for r in f.reasons],
        "dst_ips": list(f.dst_ips),
        "bytes_out_median": f.bytes_out_median,
        "bytes_in_median": f.bytes_in_median,
        "details": None if f.info is None else dict(f.info),
        "components": None
        if comps is None
        else {
            "dispersion": round(comps.dispersion, 4),
            "skew": round(comps.skew, 4),
            "periodicity": round(comps.periodicity, 4),
            "size": round(comps.size, 4),
            "coverage": round(comps.coverage, 4),
            "count": round(comps.count, 4),
        },
    }


class Reporter(ABC):
    """Writes findings to a text stream."""

    @abstractmethod
    def write(self, findings: list[Finding], out: IO[str]) -> None:
        """Write every finding in ``findings`` (already sorted) to ``out``."""
