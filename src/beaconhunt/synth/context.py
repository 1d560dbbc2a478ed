"""Ground truth and analyst context files written next to the logs.

* ``labels.csv``: one line per (source, destination, port) pair seen in
  ``conn.log`` (a DNS shape's line names the zone and counts lookups), with
  what generated it, the decision an analyst should reach
  (implants escalate, the unapproved cron job is monitored, the rest closes),
  the process that made the connections and the timing parameters.
* ``assets.csv``: the CMDB view (hostname, ip, role, owner, criticality).
* ``allowlist.txt``: approved infrastructure names, one per line, ``#`` comments.
* ``whois.csv``: creation date of every registered domain; C2 domains were
  registered days before the capture, the rest years ago.
* ``intel.csv``: a threat-intel feed that names one C2 address, plus unrelated
  indicators as real feeds carry.
"""

from __future__ import annotations

import csv
import ipaddress
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog
from beaconhunt.synth.flows import Traffic
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.shapes.kinds import RAW_DNS_KINDS
from beaconhunt.synth.world import AD_DOMAIN, World, registered_domain
from beaconhunt.synth.zoo import allowlisted_names

__all__ = ["LABEL_FIELDS", "intel_beacon", "write_context", "write_labels"]

LABEL_FIELDS = (
    "src_ip",
    "src_host",
    "dst",
    "dst_ip",
    "dst_port",
    "kind",
    "decision",
    "process",
    "sleep",
    "jitter",
    "loss",
    "connections",
)

_FAMILY_NAMES = {
    "cobalt_strike": "Cobalt Strike",
    "sliver": "Sliver",
    "havoc": "Havoc",
    "mythic": "Mythic",
    "meterpreter": "Meterpreter",
}
_NOISE_INTEL = (
    ("192.0.2.201", "ip", "Emotet epoch 5 distribution server (not seen here)"),
    ("invoice-portal-secure.com", "domain", "Credential phishing kit host"),
)


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A CSV with ``\\n`` line ends (stable bytes on every platform)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _num(x: float | None) -> str:
    """A timing parameter as short text, empty when it does not apply."""
    return "" if x is None else f"{x:g}"


def write_labels(path: Path, tr: Traffic, conn: dict[str, NDArray[Any]]) -> int:
    """Write ``labels.csv`` from the final connections; return its number of lines."""
    hosts = tr.world.hosts
    keys = zip(
        conn["src"].tolist(),
        conn["label"].tolist(),
        conn["resp_h"].tolist(),
        conn["resp_p"].tolist(),
        strict=True,
    )
    pairs = Counter(keys)
    raw = [i for i, lab in enumerate(tr.labels) if lab.kind in RAW_DNS_KINDS]
    if raw:  # a tunnel's connection carries many lookups: count the lookups
        lookups = np.bincount(tr.dns.finish()["row"], minlength=conn["src"].size)
        counted = np.where(np.isin(conn["label"], raw), lookups, 1)
        pairs = Counter()
        for key, k in zip(
            zip(conn["src"].tolist(), conn["label"].tolist(), conn["resp_h"].tolist(),
                conn["resp_p"].tolist(), strict=True),
            counted.tolist(),
            strict=True,
        ):  # fmt: skip
            pairs[key] += k
    rows: list[tuple[Any, ...]] = []
    for (src, lab_id, ip, port), count in pairs.items():
        lab, host = tr.labels[lab_id], hosts[src]
        rows.append(
            (
                host.ip,
                host.name,
                lab.dst or ip,
                ip,
                port,
                lab.kind,
                lab.decision,
                lab.image_on(host),
                _num(lab.sleep),
                _num(lab.jitter),
                _num(lab.loss),
                count,
            )
        )
    rows.sort(key=lambda r: (ipaddress.ip_address(r[0]), r[2], ipaddress.ip_address(r[3]), r[4]))
    _write_csv(path, LABEL_FIELDS, rows)
    return len(rows)


def intel_beacon(beacons: Sequence[HiddenBeacon]) -> HiddenBeacon | None:
    """The implant whose C2 address the intel feed knows: direct-IP, Sliver first."""
    direct = sorted((b for b in beacons if b.dst == b.dst_ip), key=lambda b: b.family != "sliver")
    return direct[0] if direct else (beacons[0] if beacons else None)


def write_context(out_dir: Path, world: World, beacons: Sequence[HiddenBeacon]) -> list[Path]:
    """Write assets, allowlist, whois and intel files; return their paths."""
    paths = [out_dir / n for n in ("assets.csv", "allowlist.txt", "whois.csv", "intel.csv")]
    _write_csv(
        paths[0],
        ("hostname", "ip", "role", "owner", "criticality"),
        [(h.name, h.ip, h.role, h.owner, h.criticality) for h in world.hosts],
    )
    paths[1].write_text(_allowlist(world.scenario.zoo), encoding="utf-8")
    _write_csv(paths[2], ("domain", "created"), _whois(world))
    known = intel_beacon(beacons)
    intel = []
    if known is not None:
        # a fronted implant's address is a CDN edge benign sites share: feeds name the domain
        direct = known.dst == known.dst_ip
        intel.append((
            known.dst_ip if direct else known.dst,
            "ip" if direct else "domain",
            f"{_FAMILY_NAMES[known.family]} C2 server reported by partner CERT",
        ))  # fmt: skip
    _write_csv(paths[3], ("indicator", "type", "description"), intel + list(_NOISE_INTEL))
    return paths


def _allowlist(zoo: bool = False) -> str:
    """Approved infrastructure: the sanctioned agents' names, NTP pool and the AD domain
    (with the zoo, also the few zoo kinds a first-day allowlist would list)."""
    names = sorted(
        {p.name for p in catalog.BENIGN_POLLERS if p.allowlisted} | set(catalog.NTP_SOURCES)
    )
    lines = [
        "# Approved infrastructure (IT security, reviewed 2026-10).",
        "# One domain per line; an entry also covers its subdomains. '#' starts a comment.",
        "",
        "# internal Active Directory domain",
        AD_DOMAIN,
        "",
        "# sanctioned agents: EDR, Windows telemetry and updates, Office 365, Slack, NTP",
        *names,
    ]
    if zoo:
        lines += ["", "# reviewed vendor services (zoo)", *allowlisted_names()]
    return "\n".join(lines) + "\n"


def _whois(world: World) -> list[tuple[str, str]]:
    """(registered domain, creation date), one per domain, sorted."""
    out: dict[str, str] = {}
    for name in sorted(world.names):
        created = world.names[name].created
        if created is not None:
            out.setdefault(registered_domain(name), created)
    return sorted(out.items())
