"""Investigate the reported pairs: gather facts from the store, then evidence per pivot.

:func:`investigate` is the enrich stage of the pipeline. It takes the
reported pairs (scored, with their processes), asks the store the few
questions the pivots need (prevalence, first sighting, DNS use, endpoint
events on each host), reads the context files (:class:`Context`) and returns
every pair's evidence, in pivot order. It decides nothing: the policy does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.config import DecideSettings, EvidenceSettings
from beaconhunt.enrich.allowlist import Allowlist
from beaconhunt.enrich.apps import AppInventory
from beaconhunt.enrich.context import AssetInventory, WhoisDates
from beaconhunt.enrich.domains import registered_domain, shared_suffix
from beaconhunt.enrich.intel import Intel
from beaconhunt.enrich.network import Networks
from beaconhunt.enrich.pivots import (
    DestinationFacts,
    HostFacts,
    LateralPeer,
    beacon_evidence,
    destination_evidence,
    host_evidence,
    intel_evidence,
    lateral_evidence,
    process_context_evidence,
    timing_context_evidence,
)
from beaconhunt.enrich.process import PersistenceEntry, process_evidence
from beaconhunt.model import Evidence, ProcessInfo, ProcessShare
from beaconhunt.store import dns_lookups
from beaconhunt.store import facts as store_facts

__all__ = ["Context", "Draft", "count_active_hosts", "investigate"]

DAY = 86400.0

#: Process codes that count as suspicious execution when seen elsewhere on a host.
_EXECUTION_CODES = frozenset(
    {
        "process.powershell_encoded",
        "process.powershell_hidden",
        "process.download_cradle",
        "process.office_child",
        "process.masquerading",
    }
)


@dataclass
class Context:
    """The analyst's context files; every one optional."""

    allowlist: Allowlist = field(default_factory=Allowlist)
    apps: AppInventory = field(default_factory=AppInventory)
    assets: AssetInventory | None = None
    whois: WhoisDates | None = None
    intel: Intel | None = None


@dataclass
class Draft:
    """One reported pair before its decision: what detect and attribution found."""

    src_ip: str
    src_host: str | None
    dst_domain: str | None
    dst_ips: tuple[str, ...]
    score: float
    interval: float | None
    first_seen: float
    times: NDArray[np.float64]
    bytes_out_median: float | None
    bytes_in_median: float | None
    processes: tuple[ProcessShare, ...]
    #: detect's timing reasons, attribution and suspicious-process evidence
    evidence: tuple[Evidence, ...]
    #: the detector kind (:mod:`beaconhunt.detect.base`): only beacons get score bands
    kind: str = "beacon"

    @property
    def dest_key(self) -> str:
        """What prevalence and history count on: the registered domain, else the IP."""
        reg = registered_domain(self.dst_domain)
        if reg:
            return reg
        return self.dst_ips[0] if self.dst_ips else (self.dst_domain or "?")


def investigate(
    con: Any,
    drafts: Sequence[Draft],
    start: float,
    end: float,
    networks: Networks,
    ctx: Context,
    decide: DecideSettings,
    s: EvidenceSettings,
    persistence: Sequence[PersistenceEntry] = (),
    active_hosts: int | None = None,
) -> list[tuple[Evidence, ...]]:
    """Evidence for every draft, in the case write-up's pivot order. ``active_hosts``
    (internal hosts seen in the window) is counted here unless the caller has it."""
    if not drafts:
        return []
    if active_hosts is None:
        active_hosts = count_active_hosts(con, start, end, networks)
    dests = _destinations(con, drafts, start, end, networks, s.baseline_days, active_hosts)
    dns = store_facts.dns_resolution(con, [(d.src_ip, _host(d), d.dst_ips) for d in drafts], end)
    hosts = _hosts(con, drafts, persistence)
    hours = s.hours()
    peers = [
        LateralPeer(d.src_ip, d.src_host, d.dest_key,
                    d.processes[0].image if d.processes else None, d.interval)
        for d in drafts
    ]  # fmt: skip
    out = []
    for d, dest, resolved, host, me in zip(drafts, dests, dns, hosts, peers, strict=True):
        facts = _with_resolution(dest, resolved if d.kind != "dns" else None)
        asset = ctx.assets.lookup(d.src_ip, d.src_host) if ctx.assets is not None else None
        server = asset is not None and str(asset.role) in ("server", "domain_controller")
        ev: list[Evidence] = []
        hit = ctx.allowlist.match(d.dst_domain, d.dst_ips)
        if hit is not None:
            text = f"destination is approved by allowlist entry {hit.describe()}"
            ev.append(Evidence("allowlist.match", text))
        if d.kind != "dns" or d.dst_domain:  # a generated-domain finding has no one zone
            ev += destination_evidence(facts, d.first_seen, ctx.whois, s)
        if d.kind == "beacon":
            ev += beacon_evidence(d.score, decide)
        ev += [e for e in d.evidence if e.pivot == "timing"]
        ev += timing_context_evidence(
            d.times, d.bytes_out_median, d.bytes_in_median, hours, server, s,
            _UNITS.get(d.kind, "connections"),
        )  # fmt: skip
        ev += [e for e in d.evidence if e.pivot != "timing"]
        ev += process_context_evidence(
            d.processes, d.dst_domain, d.dst_ips, ctx.apps, host.name is not None
        )
        linked = {e.code for e in d.evidence}
        host_found = HostFacts(
            host.name,
            host.suspicious,
            tuple(e for e in host.persistence if e.code not in linked),
        )
        ev += host_evidence(asset, host_found, ctx.assets is not None)
        ev += lateral_evidence(me, peers, s.lateral_interval_tolerance)
        if ctx.intel is not None:
            ev += intel_evidence(ctx.intel.match(d.dst_domain, d.dst_ips))
        out.append(tuple(ev))
    return out


#: What a kind's event times are, in sentences.
_UNITS = {"dns": "lookups", "long_session": "session starts"}


def count_active_hosts(con: Any, start: float, end: float, networks: Networks) -> int:
    """Internal hosts with a connection in ``[start, end]``: the population rarity and
    prevalence are judged against."""
    return len(networks.internal_of(store_facts.active_sources(con, start, end)))


def _with_resolution(f: DestinationFacts, resolved: bool | None) -> DestinationFacts:
    return replace(f, resolved=resolved)


def _host(d: Draft) -> str | None:
    return d.processes[0].host if d.processes else None


def _destinations(
    con: Any,
    drafts: Sequence[Draft],
    start: float,
    end: float,
    networks: Networks,
    baseline_days: float,
    active: int,
) -> list[DestinationFacts]:
    """Prevalence and first sighting of each draft's destination key, and how much of
    the baseline period before that first sighting the store observed."""
    domain_keys = {d.dest_key for d in drafts if registered_domain(d.dst_domain)}
    ip_keys = {d.dest_key for d in drafts if not registered_domain(d.dst_domain)}
    stats = store_facts.destination_stats(con, start, end, domain_keys, ip_keys,
                                          registered_domain)  # fmt: skip
    # a DNS finding's zone is judged by who looks it up, not who connects to it
    zones = {d.dest_key for d in drafts if d.kind == "dns" and d.dst_domain}
    for zone, (now, ever_, first_) in dns_lookups.zone_sources(con, start, end, zones).items():
        stats[zone] = store_facts.DestinationStats(now, ever_, first_)
    span = store_facts.history_span(con) or (start, end)
    hours: set[int] | None = None
    out = []
    for d in drafts:
        st = stats.get(d.dest_key)
        coverage = 0.0
        first = st.first_seen if st else None
        if first is not None and baseline_days > 0 and first - span[0] >= baseline_days * DAY:
            hours = store_facts.data_hours(con) if hours is None else hours
            coverage = _coverage(hours, first - baseline_days * DAY, first)
        window = networks.internal_of(st.sources) if st else [d.src_ip]
        ever = networks.internal_of(st.sources_ever) if st else [d.src_ip]
        out.append(DestinationFacts(
            key=d.dest_key,
            domain=d.dst_domain,
            registered=registered_domain(d.dst_domain),
            shared_suffix=shared_suffix(d.dst_domain),
            hosts=max(1, len(window)),
            active_hosts=max(active, len(window), 1),
            hosts_ever=max(1, len(ever)),
            first_seen=st.first_seen if st else None,
            history_start=span[0],
            history_end=span[1],
            resolved=None,
            baseline_coverage=coverage,
        ))  # fmt: skip
    return out


def _coverage(hours: set[int], lo: float, hi: float) -> float:
    """Share of the whole hours in ``[lo, hi)`` with at least one connection."""
    first, last = int(lo // 3600), int(hi // 3600)
    span = range(first, last)
    return sum(1 for h in span if h in hours) / len(span) if len(span) else 0.0


@dataclass(frozen=True, slots=True)
class _HostEvents:
    name: str | None
    suspicious: tuple[Evidence, ...]
    persistence: tuple[Evidence, ...]


def _hosts(
    con: Any, drafts: Sequence[Draft], persistence: Sequence[PersistenceEntry]
) -> list[_HostEvents]:
    """Suspicious process starts and persistence anywhere on each draft's host."""
    names = store_facts.sysmon_hosts(con, sorted({d.src_ip for d in drafts}))
    for d in drafts:
        if d.processes and d.processes[0].host and d.src_ip not in names:
            names[d.src_ip] = d.processes[0].host
    procs = store_facts.host_processes(con, sorted(set(names.values())))
    cache: dict[tuple[str, str | None], tuple[Evidence, ...]] = {}
    out = []
    for d in drafts:
        name = names.get(d.src_ip)
        if name is None:
            out.append(_HostEvents(None, (), ()))
            continue
        mine = d.processes[0].process_guid if d.processes else None
        key = (name.lower(), (mine or "").lower())
        if key not in cache:
            cache[key] = _execution(procs.get(name.lower(), []), mine)
        pers = tuple(
            Evidence(e.code, f"{e.what}: {e.shown()}")
            for e in persistence
            if e.host and e.host.lower() == name.lower()
        )
        out.append(_HostEvents(name, cache[key], pers))
    return out


def _execution(rows: list[dict[str, Any]], skip_guid: str | None) -> tuple[Evidence, ...]:
    """Suspicious-process evidence of every process start on a host but the beacon's own."""
    found: list[Evidence] = []
    skip = (skip_guid or "").lower()
    for r in rows:
        if skip and str(r.get("process_guid") or "").lower() == skip:
            continue
        pid = r.get("pid")
        proc = ProcessInfo(
            host=r.get("host"), process_guid=r.get("process_guid"),
            pid=None if pid is None else int(pid), image=r.get("image"),
            command_line=r.get("command_line"), user=r.get("user"),
            parent_image=r.get("parent_image"),
            parent_command_line=r.get("parent_command_line"),
            current_directory=r.get("current_directory"),
            original_file_name=r.get("original_file_name"),
        )  # fmt: skip
        found.extend(e for e in process_evidence(proc, network=False)
                     if e.code in _EXECUTION_CODES)  # fmt: skip
    return tuple(found)
