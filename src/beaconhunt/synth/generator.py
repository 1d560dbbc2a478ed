"""Generate a synthetic enterprise capture: Zeek logs, ground truth and context.

:func:`generate` builds the world of :mod:`beaconhunt.synth.world`, adds the
traffic (hidden implants, benign pollers and NTP, streaming, internal traffic,
browsing), derives the DNS lookups all named traffic needs, gives every
connection a Zeek ``uid`` shared with its ssl/http/dns records, and writes:

* ``conn.log``, ``dns.log``, ``ssl.log``, ``http.log`` as Zeek TSV or JSON
  lines, optionally as Zeek's hourly gzip archive (``2026-11-03/conn.00:00:00-01:00:00.log.gz``);
* ``labels.csv`` (ground truth per pair) and the context files ``assets.csv``,
  ``allowlist.txt``, ``whois.csv``, ``intel.csv``;
* optionally ``sysmon.json``: Sysmon events of the infected and a few clean
  workstations that agree with the Zeek logs (:mod:`beaconhunt.synth.sysmon`),
  as ``evtx_dump`` JSON lines or Winlogbeat NDJSON
  (:mod:`beaconhunt.synth.sysmon_writer`).

Everything is drawn from named random streams seeded by ``Scenario.seed``, so
one seed always gives the same bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.errors import ConfigError
from beaconhunt.synth.benign import add_internal, add_ntp, add_pollers, add_streaming
from beaconhunt.synth.browsing import add_browsing
from beaconhunt.synth.context import intel_beacon, write_context, write_labels
from beaconhunt.synth.dns import add_dns
from beaconhunt.synth.flows import Traffic
from beaconhunt.synth.implants import HiddenBeacon, add_implants
from beaconhunt.synth.render import render
from beaconhunt.synth.scenario import Scenario
from beaconhunt.synth.shapes import add_shapes, finish_shapes
from beaconhunt.synth.sysmon import host_logs
from beaconhunt.synth.sysmon_writer import SYSMON_FORMATS, SysmonFormat, write_sysmon
from beaconhunt.synth.table import make_ids
from beaconhunt.synth.world import build_world
from beaconhunt.synth.zeek_writer import LogFormat, LogFrame, write_log
from beaconhunt.synth.zoo import add_zoo

__all__ = ["LOGS", "SYSMON_FILE", "GenerationSummary", "generate"]

#: The Zeek logs written, in this order.
LOGS = ("conn", "dns", "ssl", "http")
#: Name of the Sysmon file written with ``sysmon=True`` (either format).
SYSMON_FILE = "sysmon.json"

Columns = dict[str, NDArray[Any]]


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What :func:`generate` wrote.

    ``counts`` has the rows of each log (``conn``, ``dns``, ``ssl``, ``http``)
    and of ``labels``; ``beacons`` lists the hidden implants (with
    ``Scenario.shapes``, the shapes' implants after the mix's); ``paths`` every
    file written (logs first); ``seconds`` is the wall time it took. With Sysmon
    output, ``sysmon_path`` is its file, ``sysmon_counts`` the records per
    event ID (``{1: ..., 3: ..., 22: ...}``) and ``sysmon_hosts`` the computer
    names it covers.
    """

    scenario: Scenario
    out_dir: Path
    counts: dict[str, int]
    beacons: tuple[HiddenBeacon, ...]
    paths: tuple[Path, ...]
    seconds: float
    sysmon_path: Path | None = None
    sysmon_counts: dict[int, int] = field(default_factory=dict)
    sysmon_hosts: tuple[str, ...] = ()


def generate(
    out_dir: Path,
    scenario: Scenario | None = None,
    *,
    log_format: LogFormat = "tsv",
    rotate: bool = False,
    sysmon: bool = False,
    sysmon_format: SysmonFormat = "evtx_json",
    network_format: str = "zeek",
) -> GenerationSummary:
    """Write one synthetic capture of ``scenario`` (default :class:`Scenario`) to ``out_dir``.

    ``log_format`` is ``"tsv"`` (Zeek's default) or ``"json"``; ``rotate``
    writes hourly gzip archives in per-day folders instead of one file per log.
    ``sysmon`` also writes :data:`SYSMON_FILE`, Sysmon telemetry of the infected
    workstations and ``Scenario.sysmon_hosts`` clean ones, in ``sysmon_format``
    (``"evtx_json"``: ``evtx_dump -o jsonl``; ``"winlogbeat"``: Winlogbeat NDJSON).
    ``network_format`` other than ``"zeek"`` writes the same traffic as another
    product's logs instead of Zeek's (:mod:`beaconhunt.synth.render`).
    Raises :class:`~beaconhunt.errors.ConfigError` for a bad format or an
    output directory that cannot be written.
    """
    started = time.perf_counter()
    s = scenario if scenario is not None else Scenario()
    if log_format not in ("tsv", "json"):
        raise ConfigError(f"log_format must be 'tsv' or 'json' (got {log_format!r})")
    if sysmon_format not in SYSMON_FORMATS:
        raise ConfigError(
            f"sysmon_format must be 'evtx_json' or 'winlogbeat' (got {sysmon_format!r})"
        )
    tr, beacons, shaped = _simulate(s)
    conn, frames = _frames(tr)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        if network_format == "zeek":
            for frame in frames:
                paths += write_log(frame, out_dir, log_format, rotate, (s.start, s.end))
        else:
            by_path = {f.path: f for f in frames}
            paths += render(network_format, by_path, tr.world, out_dir, (s.start, s.end))
        n_labels = write_labels(out_dir / "labels.csv", tr, conn)
        paths.append(out_dir / "labels.csv")
        paths += write_context(out_dir, tr.world, beacons)  # intel names a classic implant
        sysmon_path: Path | None = None
        sysmon_counts: dict[int, int] = {}
        sysmon_hosts: tuple[str, ...] = ()
        if sysmon:
            sysmon_path = out_dir / SYSMON_FILE
            seen = [b for b in shaped if b.family != "dns_perimeter"]
            unseen = [b for b in shaped if b.family == "dns_perimeter"]
            logs = host_logs(tr, conn, tr.dns.finish(), [*beacons, *seen], unseen)
            by_id, hosts = write_sysmon(sysmon_path, logs, sysmon_format)
            sysmon_counts, sysmon_hosts = dict(sorted(by_id.items())), tuple(hosts)
            paths.append(sysmon_path)
    except OSError as exc:
        raise ConfigError(f"cannot write synthetic data to {out_dir}: {exc}") from exc
    counts = {f.path: len(f) for f in frames} | {"labels": n_labels}
    return GenerationSummary(
        s,
        out_dir,
        counts,
        (*beacons, *shaped),
        tuple(paths),
        time.perf_counter() - started,
        sysmon_path,
        sysmon_counts,
        sysmon_hosts,
    )


def _simulate(s: Scenario) -> tuple[Traffic, list[HiddenBeacon], list[HiddenBeacon]]:
    """All traffic of the scenario, in tables; the hidden implants described (the
    implant mix's, then those of ``Scenario.shapes``)."""
    world = build_world(s, np.random.default_rng([s.seed, 0]))
    tr = Traffic(world, s.seed)
    beacons = add_implants(tr)
    if s.benign_pollers:
        add_pollers(tr)
        add_ntp(tr)
    if s.zoo:
        add_zoo(tr)
    if s.streaming_users:
        add_streaming(tr)
    if s.internal:
        add_internal(tr)
    add_browsing(tr)
    shaped = add_shapes(tr) if s.shapes else []
    add_dns(tr)
    if s.shapes:
        finish_shapes(tr)
    known = intel_beacon(beacons)
    return (
        tr,
        [
            replace(b, notes=(*b.notes, "C2 listed in intel.csv")) if b is known else b
            for b in beacons
        ],
        shaped,
    )


def _frames(tr: Traffic) -> tuple[Columns, list[LogFrame]]:
    """The raw connection columns and the four logs, rows in Zeek's output order.

    conn.log rows are written when a connection ends, so they are ordered by
    end time; the other logs by their own timestamp.
    """
    c = tr.conn.finish()
    # Zeek uids are random per connection: another day of the same world must not
    # reuse them (a --db store joins ssl/http/dns to conn by uid)
    first = round(float(c["ts"].min()), 3) if c["ts"].size else 0.0
    uids = np.array(make_ids(tr.rng("uids", first), c["ts"].size, "C"), dtype=object)
    orig_h = np.array([h.ip for h in tr.world.hosts], dtype=object)[c["src"]]
    local = np.array(
        ["T" if ip.startswith("10.") else "F" for ip in c["resp_h"].tolist()], dtype=object
    )
    ids: Columns = {
        "uid": uids,
        "id.orig_h": orig_h,
        "id.orig_p": c["orig_p"],
        "id.resp_h": c["resp_h"],
        "id.resp_p": c["resp_p"],
    }
    conn_cols: Columns = {
        **ids,
        "ts": c["ts"],
        "local_orig": np.full(uids.size, "T", object),
        "local_resp": local,
        "missed_bytes": np.zeros(uids.size, np.int64),
    }
    for key in (
        "proto",
        "service",
        "duration",
        "orig_bytes",
        "resp_bytes",
        "conn_state",
        "history",
        "orig_pkts",
        "orig_ip_bytes",
        "resp_pkts",
        "resp_ip_bytes",
    ):
        conn_cols[key] = c[key]
    frames = [_ordered("conn", conn_cols, c["ts"] + c["duration"])]
    extra: dict[str, Columns] = {"dns": {"proto": c["proto"]}, "ssl": {}, "http": {}}
    for path, table in (("dns", tr.dns), ("ssl", tr.ssl), ("http", tr.http)):
        app = table.finish()
        rows = app.pop("row")
        app.pop("cause", None)
        ts = c["ts"][rows] + app.pop("dt")
        cols = {k: v[rows] for k, v in (ids | extra[path]).items()} | app | {"ts": ts}
        if path == "http":
            cols["tags"] = np.full(rows.size, "", dtype=object)
        frames.append(_ordered(path, cols, ts))
    return c, frames


def _ordered(path: str, cols: Columns, key: NDArray[np.float64]) -> LogFrame:
    """A log frame with rows sorted by ``key`` (stable, so ties keep insertion order)."""
    order = np.argsort(key, kind="stable")
    return LogFrame(path, {k: v[order] for k, v in cols.items()}, cols["ts"][order])
