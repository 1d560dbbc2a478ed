"""The analyst's pivots as evidence: destination, timing, process, host, lateral, intel.

The case write-up investigates every beacon candidate the same way:

1. **destination** - is it rare or common here, newly observed or long known,
   how old is its registered domain (at the time of the traffic), was it
   resolved by DNS or contacted by bare IP, is it a shared cloud/CDN name;
2. **timing** - how regular (the score), how long it lasts, check-ins outside
   working hours, how little data moves;
3. **process** - which program made the connections, is it suspicious, is it
   an approved application;
4. **host** - role, owner and criticality, suspicious execution or persistence
   anywhere on the host;
5. **lateral** - other hosts beaconing to the same destination, or with the
   same program at the same interval;
6. **threat intelligence**, last.

Each function here is pure: facts in (gathered by the pipeline from the
store and the context files), :class:`~beaconhunt.model.Evidence` out. Codes
are listed in :mod:`beaconhunt.decide.codes`; texts are single lines, and every
string from the logs passes through :func:`terminal_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from beaconhunt.config import DecideSettings, EvidenceSettings
from beaconhunt.detect.reasons import duration
from beaconhunt.enrich.apps import AppInventory
from beaconhunt.enrich.context import Asset, WhoisDates
from beaconhunt.enrich.intel import IntelHit
from beaconhunt.model import Evidence, ProcessShare
from beaconhunt.util.text import terminal_text
from beaconhunt.workhours import WorkHours

__all__ = [
    "DestinationFacts",
    "HostFacts",
    "LateralPeer",
    "beacon_evidence",
    "destination_evidence",
    "host_evidence",
    "intel_evidence",
    "lateral_evidence",
    "process_context_evidence",
    "timing_context_evidence",
]

DAY = 86400.0


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------- destination


@dataclass(frozen=True, slots=True)
class DestinationFacts:
    """What the store says about one destination (registered domain, or IP).

    ``hosts`` is the number of internal hosts that contacted it in the analysed
    period, ``active_hosts`` the number of internal hosts seen there at all;
    ``hosts_ever`` counts over the whole store. ``first_seen`` is its first
    connection in the store and ``history_start``/``history_end`` the store's
    span. ``resolved`` says whether the source resolved a name to one of the
    destination's addresses (None when the source made no DNS lookup the logs
    show, so nothing can be said).
    """

    key: str
    domain: str | None
    registered: str | None
    shared_suffix: str | None
    hosts: int
    active_hosts: int
    hosts_ever: int
    first_seen: float | None
    history_start: float
    history_end: float
    resolved: bool | None
    #: share of the hours in the baseline period before ``first_seen`` in which the
    #: store has any connection (a gap in the history is not evidence of absence)
    baseline_coverage: float = 1.0


def destination_evidence(
    f: DestinationFacts,
    pair_first_seen: float,
    whois: WhoisDates | None,
    s: EvidenceSettings,
) -> list[Evidence]:
    """Prevalence, first seen, domain age, DNS use and shared hosting of a destination."""
    out: list[Evidence] = []
    shown = terminal_text(f.key, 100)
    share = f.hosts / f.active_hosts if f.active_hosts else 0.0
    of = f"{f.hosts} of {f.active_hosts} internal hosts"
    ever = f" ({f.hosts_ever} over the whole history)" if f.hosts_ever > f.hosts else ""
    if f.active_hosts < s.prevalence_min_hosts:
        pass  # too few hosts in the input to call anything rare or common
    elif f.hosts <= max(s.rare_max_hosts, s.rare_max_share * f.active_hosts):
        out.append(Evidence("dest.rare", f"{shown} is rare here: contacted by {of}{ever}"))
    elif f.hosts >= s.common_min_hosts and share >= s.common_min_share:
        out.append(Evidence("dest.common", f"{shown} is common here: contacted by {of}"))
    out.extend(_first_seen(f, shown, s))
    out.extend(_domain_age(f, pair_first_seen, whois, s))
    if f.domain is None:
        out.append(Evidence("dest.direct_ip", f"connections go to the bare IP {shown}; no name"
                            " (SNI, HTTP Host or DNS answer) is known for it"))  # fmt: skip
    if f.resolved is False:
        out.append(Evidence(
            "dest.no_dns",
            "the source never resolved a name to this destination's address, although it"
            " made other DNS lookups: the address is hard-coded or came another way",
        ))  # fmt: skip
    if f.shared_suffix:
        out.append(Evidence(
            "dest.cloud",
            f"hosted under {terminal_text(f.shared_suffix, 80)}, a shared cloud/CDN suffix:"
            " the provider's age and reputation say nothing about this tenant",
        ))  # fmt: skip
    return out


def _first_seen(f: DestinationFacts, shown: str, s: EvidenceSettings) -> list[Evidence]:
    if f.first_seen is None:
        return []
    before = (f.first_seen - f.history_start) / DAY
    span = (f.history_end - f.history_start) / DAY
    if before >= s.baseline_days and s.baseline_days > 0 and f.baseline_coverage >= 0.5:
        return [Evidence(
            "dest.new",
            f"{shown} was first contacted {_date(f.first_seen)}, after {before:.1f} days of"
            f" history without it ({f.baseline_coverage:.0%} of the {s.baseline_days:g} days"
            " before it observed)",
        )]  # fmt: skip
    if span >= s.known_days and before < s.baseline_days:
        return [Evidence(
            "dest.known",
            f"{shown} has been contacted since the history began {_day(f.history_start)}"
            f" ({span:.0f} days)",
        )]  # fmt: skip
    return []


def _domain_age(
    f: DestinationFacts, at: float, whois: WhoisDates | None, s: EvidenceSettings
) -> list[Evidence]:
    if whois is None or f.registered is None:
        return []
    age = whois.age_days(f.registered, at)
    if age is None:
        return []
    name = terminal_text(f.registered, 100)
    rec = whois.record(f.registered)
    created = rec.created.strftime("%Y-%m-%d") if rec is not None else "?"
    if age < s.young_domain_days:
        when = "before it was registered" if age < 0 else f"{age:.0f} days after registration"
        return [Evidence(
            "dest.young_domain",
            f"{name} was registered {created}: the traffic began {when}",
        )]  # fmt: skip
    if age >= s.established_domain_days and not f.shared_suffix:
        return [Evidence(
            "dest.established_domain", f"{name} was registered {created} ({age / 365:.0f} years"
            " before the traffic)",
        )]  # fmt: skip
    return []


# --------------------------------------------------------------------------- timing


def beacon_evidence(score: float, d: DecideSettings) -> list[Evidence]:
    """The beacon-score band the policy reads: regular (and strong) or weak."""
    if score >= d.regular_at:
        out = [Evidence("beacon.regular", f"beacon score {score:.2f} >= {d.regular_at:.2f}")]
        if score >= d.strong_at:
            out.append(Evidence("beacon.strong", f"beacon score {score:.2f} >= {d.strong_at:.2f}"))
        return out
    return [Evidence("beacon.weak", f"beacon score {score:.2f} below {d.regular_at:.2f}")]


def timing_context_evidence(
    times: np.ndarray,
    bytes_out_median: float | None,
    bytes_in_median: float | None,
    hours: WorkHours,
    host_is_server: bool,
    s: EvidenceSettings,
    unit: str = "connections",
) -> list[Evidence]:
    """Low volume, and check-ins outside working hours (not for servers); ``unit``
    names what ``times`` are (connections, lookups, session starts)."""
    out: list[Evidence] = []
    known = [b for b in (bytes_out_median, bytes_in_median) if b is not None and b == b]
    if known:
        total = float(sum(known))
        if total <= s.low_volume_bytes:
            out.append(Evidence("volume.low", f"median {total:,.0f} bytes per connection"
                                f" (at most {s.low_volume_bytes:,})"))  # fmt: skip
    if times.size and not host_is_server:
        off = hours.off_hours(np.asarray(times, dtype=np.float64))
        frac = float(off.mean())
        if frac >= s.off_hours_share:
            out.append(Evidence(
                "timing.off_hours",
                f"{frac:.0%} of the {times.size} {unit} fall outside working hours"
                f" ({hours.text})",
            ))  # fmt: skip
    return out


# --------------------------------------------------------------------------- process


def process_context_evidence(
    processes: Sequence[ProcessShare],
    domain: str | None,
    ips: Sequence[str],
    apps: AppInventory,
    host_has_sysmon: bool,
) -> list[Evidence]:
    """Unknown process, or approved / not approved by the application inventory."""
    if not processes:
        why = (
            "the host's endpoint events do not include these connections"
            if host_has_sysmon
            else "no endpoint telemetry (Sysmon) covers this host"
        )
        return [Evidence("process.unknown", f"the process is unknown: {why}")]
    top = processes[0]
    if not top.image or not len(apps):
        return []
    image = terminal_text(top.image, 120)
    app = apps.match(top.image, domain, ips)
    if app is not None:
        return [Evidence(
            "process.approved",
            f"{image} is approved application '{terminal_text(app.name, 60)}' for this"
            f" destination ({terminal_text(app.source, 80)})",
        )]  # fmt: skip
    return [Evidence(
        "process.unapproved",
        f"{image} talking to this destination is not in the application inventory",
    )]  # fmt: skip


# --------------------------------------------------------------------------- host


@dataclass(frozen=True, slots=True)
class HostFacts:
    """Endpoint events anywhere on the source host (not only the beaconing process)."""

    name: str | None
    suspicious: tuple[Evidence, ...] = ()
    persistence: tuple[Evidence, ...] = ()


def host_evidence(asset: Asset | None, host: HostFacts, inventory_loaded: bool) -> list[Evidence]:
    """Role, owner and criticality from the asset file; execution and persistence seen."""
    out: list[Evidence] = []
    if asset is not None:
        role = str(asset.role)
        owner = f", owner {terminal_text(asset.owner, 60)}" if asset.owner else ""
        text = (
            f"{terminal_text(asset.hostname, 80)} is a {role.replace('_', ' ')}{owner},"
            f" criticality {asset.criticality}"
            f" ({terminal_text(Path(asset.file).name, 60)}:{asset.line})"
        )
        if role in ("workstation", "laptop"):
            out.append(Evidence("host.workstation", text))
        elif role in ("server", "domain_controller"):
            out.append(Evidence("host.server", text))
        if asset.criticality >= 3:
            out.append(Evidence("host.critical", f"criticality {asset.criticality}: {text}"))
    elif inventory_loaded:
        out.append(Evidence("host.unknown", "the source host is not in the asset inventory"))
    out.extend(_summary("host.suspicious_execution", "suspicious process start", host.suspicious))
    out.extend(_summary("host.persistence", "persistence change", host.persistence))
    return out


def _summary(code: str, what: str, found: Sequence[Evidence]) -> list[Evidence]:
    if not found:
        return []
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    plural = "s" if len(found) > 1 else ""
    first = found[0]
    return [Evidence(code, f"{len(found)} {what}{plural} on this host by other processes:"
                     f" {first.code}: {first.text}{more}")]  # fmt: skip


# --------------------------------------------------------------------------- lateral


@dataclass(frozen=True, slots=True)
class LateralPeer:
    """One reported pair, as the lateral pivot compares them."""

    src_ip: str
    src_host: str | None
    dest_key: str
    image: str | None
    interval: float | None


def _norm_image(image: str | None) -> str | None:
    """A path with the user folder blanked, so one dropper's copies compare equal."""
    if not image:
        return None
    p = image.replace("/", "\\").lower()
    parts = p.split("\\")
    for i, part in enumerate(parts[:-1]):
        if part == "users" and i + 1 < len(parts) - 1:
            parts[i + 1] = "*"
    return "\\".join(parts)


def lateral_evidence(
    me: LateralPeer, peers: Sequence[LateralPeer], tolerance: float, listed: int = 5
) -> list[Evidence]:
    """Other hosts beaconing to the same destination, or running the same program
    at the same interval (a campaign)."""
    out: list[Evidence] = []
    same_dst = sorted({(p.src_host or "", p.src_ip) for p in peers
                       if p.dest_key == me.dest_key and p.src_ip != me.src_ip})  # fmt: skip
    if same_dst:
        out.append(Evidence(
            "lateral.same_destination",
            f"{len(same_dst)} other host(s) beacon to {terminal_text(me.dest_key, 80)}:"
            f" {_hosts(same_dst, listed)}",
        ))  # fmt: skip
    img = _norm_image(me.image)
    if img and me.interval:
        iv = me.interval
        same = sorted({(p.src_host or "", p.src_ip) for p in peers
                       if p.src_ip != me.src_ip and _norm_image(p.image) == img
                       and p.interval and abs(p.interval - iv) <= tolerance * iv})  # fmt: skip
        if same:
            out.append(Evidence(
                "lateral.same_process",
                f"{len(same)} other host(s) run {terminal_text(me.image, 80)} beaconing every"
                f" ~{duration(iv)}: {_hosts(same, listed)}",
            ))  # fmt: skip
    return out


def _hosts(items: Sequence[tuple[str, str]], listed: int) -> str:
    shown = [f"{terminal_text(h, 40)} ({ip})" if h else ip for h, ip in items[:listed]]
    more = f" and {len(items) - listed} more" if len(items) > listed else ""
    return ", ".join(shown) + more


# --------------------------------------------------------------------------- intel


def intel_evidence(hits: Sequence[IntelHit]) -> list[Evidence]:
    """One evidence per matching indicator (at most five, then a count)."""
    out = [
        Evidence(
            "intel.match",
            f"{terminal_text(h.observed, 80)} matches threat intel {h.indicator.kind}"
            f" {terminal_text(h.indicator.describe(), 200)}",
        )
        for h in hits[:5]
    ]
    if len(hits) > 5:
        out.append(Evidence("intel.match", f"... and {len(hits) - 5} more intel matches"))
    return out
