"""What each evidence code means for the decision: indicator, urgency, explanation or context.

The case write-up escalates a regular beacon when something **condemns** it
(a suspicious process, correlated execution or persistence, a days-old domain,
known C2 infrastructure); regular traffic that is only "not fully understood"
is monitored; known, approved and baseline behaviour is closed. Every evidence
code therefore belongs to exactly one class:

``indicator``
    evidence that the traffic is malicious: a suspicious process or path,
    persistence, suspicious execution elsewhere on the host, a young domain,
    threat intel, a port/service mismatch, an analyst's earlier escalation.
    **Only these may escalate** (the default policy never escalates without
    one, and a test proves it for every combination of the other codes).
``urgency``
    what makes a finding more pressing or more worth a look, but is no
    evidence of malice: regular timing, low volume, a rare, new, direct-IP or
    unresolved destination, a server or critical host, off-hours check-ins, an
    unknown or unapproved process, the same beacon on other hosts.
``explanation``
    what explains the traffic away: irregular timing, variable size, an
    allowlisted destination or approved application, a long-established or
    common destination, a conformant network protocol (NTP, DNS...), a known
    per-user install, an analyst's earlier close.
``context``
    descriptive facts that point neither way (which process made the
    connections; that the log has no byte counts).

:func:`class_of` answers for any code, plugin codes included (they register
their class with :func:`register_class`); a code without a class is a
programming error caught by the test suite.
"""

from __future__ import annotations

import fnmatch
from enum import StrEnum

__all__ = ["CLASS_OF", "CodeClass", "class_of", "codes_of_class", "register_class"]


class CodeClass(StrEnum):
    """The role an evidence code plays in a decision."""

    INDICATOR = "indicator"
    URGENCY = "urgency"
    EXPLANATION = "explanation"
    CONTEXT = "context"


_I, _U, _E, _C = CodeClass.INDICATOR, CodeClass.URGENCY, CodeClass.EXPLANATION, CodeClass.CONTEXT

#: Code (or glob over codes) -> class. Exact codes win over globs.
CLASS_OF: dict[str, CodeClass] = {
    # --- indicators: the traffic is probably malicious
    "process.powershell_encoded": _I,
    "process.powershell_hidden": _I,
    "process.download_cradle": _I,
    "process.office_child": _I,
    "process.lolbin_network": _I,
    "process.masquerading": _I,
    "process.suspicious_path": _I,
    "process.renamed": _I,
    "persistence.*": _I,
    "host.suspicious_execution": _I,
    "host.persistence": _I,
    "dest.young_domain": _I,
    "intel.match": _I,
    "service.mismatch": _I,
    "client.c2_fingerprint": _I,
    "history.escalated": _I,
    "history.process_flagged": _I,
    "dns.null_records": _I,
    # --- urgency: worth a closer look, but not evidence of malice
    "beacon.regular": _U,
    "beacon.strong": _U,
    "timing.regular": _U,
    "timing.jitter_tolerant": _U,
    "timing.missed_checkins": _U,
    "timing.bursts": _U,
    "timing.long_lived": _U,
    "size.consistent": _U,
    "volume.low": _U,
    "timing.off_hours": _U,
    "dest.rare": _U,
    "dest.new": _U,
    "dest.direct_ip": _U,
    "dest.no_dns": _U,
    "dest.cloud": _U,
    "process.unknown": _U,
    "process.unapproved": _U,
    "process.user_writable_path": _U,
    "host.workstation": _U,
    "host.server": _U,
    "host.critical": _U,
    "host.unknown": _U,
    "lateral.same_destination": _U,
    "lateral.same_process": _U,
    "history.seen": _U,
    "history.monitored": _U,
    "client.reported_fingerprint": _U,
    "client.rare_fingerprint": _U,
    "client.self_signed_cert": _U,
    "client.no_host_header": _U,
    "client.ua_mismatch": _U,
    "session.long": _U,
    "session.open_at_end": _U,
    "session.reconnects": _U,
    "dns.unique_names": _U,
    "dns.encoded_labels": _U,
    "dns.rare_qtype": _U,
    "dns.high_volume": _U,
    "dns.periodic": _U,
    "dns.dga": _U,
    # --- explanations: known, approved or ordinary behaviour
    "beacon.weak": _E,
    "timing.irregular": _E,
    "timing.skewed": _E,
    "timing.none": _E,
    "timing.short_lived": _E,
    "size.variable": _E,
    "count.few": _E,
    "dest.common": _E,
    "dest.known": _E,
    "dest.established_domain": _E,
    "allowlist.match": _E,
    "process.approved": _E,
    "process.known_install": _E,
    "history.closed": _E,
    "client.common_fingerprint": _E,
    "service.*": _E,  # every conformant protocol; service.mismatch is listed above
    "dns.known_service": _E,
    "dns.nxdomain": _E,
    # --- context: descriptive
    "process.attributed": _C,
    "process.multiple": _C,
    "size.unknown": _C,
    "dns.via_resolver": _C,
}


def register_class(code: str, cls: CodeClass) -> None:
    """Give a plugin's code its class (see :func:`beaconhunt.decide.register_code`)."""
    known = CLASS_OF.get(code)
    if known is not None and known != cls:
        raise ValueError(f"evidence code {code!r} is already of class {known}")
    CLASS_OF[code] = CodeClass(cls)


def class_of(code: str) -> CodeClass | None:
    """The class of ``code``: its own entry, else the first glob that matches it."""
    exact = CLASS_OF.get(code)
    if exact is not None:
        return exact
    for pattern, cls in CLASS_OF.items():
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(code, pattern):
            return cls
    return None


def codes_of_class(codes: list[str], cls: CodeClass) -> list[str]:
    """The codes of ``codes`` that are of class ``cls``, in order."""
    return [c for c in codes if class_of(c) == cls]
