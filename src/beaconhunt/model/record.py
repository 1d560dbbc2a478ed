"""A finding as a record: the public, stable key set (``ndjson``, ``csv``, the store).

:func:`finding_record` makes it; :func:`finding_from_record` makes the finding
back (the store keeps records, and every view of a stored finding starts here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beaconhunt.model import Decision, Evidence, Finding, ProcessShare, ScoreComponents
from beaconhunt.util.timefmt import iso_utc, parse_iso_utc

__all__ = ["finding_from_record", "finding_record"]


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


def _process_of(d: dict[str, Any]) -> ProcessShare:
    return ProcessShare(
        image=d.get("image"),
        host=d.get("host"),
        process_guid=d.get("process_guid"),
        pid=d.get("pid"),
        user=d.get("user"),
        command_line=d.get("command_line"),
        parent_image=d.get("parent_image"),
        connections=int(d.get("connections") or 0),
        share=float(d.get("share") or 0.0),
    )


def finding_from_record(record: dict[str, Any], times: Sequence[float]) -> Finding:
    """The :class:`Finding` a public record (``finding_record``) was made from.

    The inverse of :func:`beaconhunt.report.base.finding_record` up to its
    rounding (times to the second, scores to 4 decimals); ``times`` are the
    connection start times kept by the store.
    """
    comps = record.get("components")
    score = float(record.get("score") or 0.0)
    return Finding(
        src_ip=record["src_ip"],
        src_host=record.get("src_host"),
        dst_ip=record.get("dst_ip"),
        dst_domain=record.get("dst_domain"),
        dst_port=record.get("dst_port"),
        proto=record.get("proto"),
        process_image=record.get("process_image"),
        connections=int(record.get("connections") or 0),
        first_seen=parse_iso_utc(record["first_seen"]),
        last_seen=parse_iso_utc(record["last_seen"]),
        interval_s=record.get("interval_s"),
        score=score,
        decision=Decision(record["decision"]),
        components=None if comps is None else ScoreComponents(**comps, score=score),
        bytes_out_median=record.get("bytes_out_median"),
        bytes_in_median=record.get("bytes_in_median"),
        dst_ips=tuple(record.get("dst_ips") or ()),
        processes=tuple(_process_of(p) for p in record.get("processes") or ()),
        reasons=tuple(Evidence(r["code"], r["text"]) for r in record.get("reasons") or ()),
        rule=record.get("rule") or "",
        times=tuple(sorted(float(t) for t in times)),
        kind=record.get("kind") or "beacon",  # records before the detector seam: beacons
        info=record.get("details"),
    )
