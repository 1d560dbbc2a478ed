"""Helpers of the lab tests: findings and labels built by hand."""

from __future__ import annotations

from beaconhunt.lab import Label
from beaconhunt.model import Decision, Finding

ESC, MON, CLO = Decision.ESCALATE, Decision.MONITOR, Decision.CLOSE


def finding(
    src: str,
    dst: str,
    port: int = 443,
    decision: Decision = ESC,
    score: float = 0.9,
    image: str | None = None,
    *,
    by_ip: bool = False,
) -> Finding:
    """A finding of the pair (src, dst, port); ``by_ip`` names it by address only."""
    return Finding(
        src_ip=src,
        src_host=None,
        dst_ip=dst if by_ip else "192.0.2.1",
        dst_domain=None if by_ip else dst,
        dst_port=port,
        proto="tcp",
        process_image=image,
        connections=30,
        first_seen=0.0,
        last_seen=1800.0,
        interval_s=60.0,
        score=score,
        decision=decision,
    )


def label(
    src: str,
    dst: str,
    kind: str = "cobalt_strike",
    port: int = 443,
    process: str = "",
    **timing: float,
) -> Label:
    """A label of the pair (src, dst, port); implant kinds escalate, others close."""
    decision = "escalate" if kind in ("cobalt_strike", "sliver", "havoc", "mythic",
                                      "meterpreter") else "close"  # fmt: skip
    return Label(src, dst, port, kind, decision, process, **timing)
