"""Store queries behind the investigation pivots, run for the reported pairs only.

Each function takes the DuckDB connection of a :class:`DuckDBStore` and the
few keys it needs, registers them as a small Arrow table and joins on
equality, so its cost is one scan of ``conn`` (or ``dns``) however many
findings there are. Attacker-controlled values only ever travel as data
(registered tables or parameters), never in SQL text.

:func:`pair_traffic` and :func:`pair_clients` read the candidate pairs the
store registered (``_pairs``, :meth:`DuckDBStore.candidate_pairs`): what each
connection carried, for the protocol checks, and what the sensor logged about
the clients (TLS fingerprints, certificates, User-Agents, Host headers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = [
    "DestinationStats",
    "active_sources",
    "data_hours",
    "destination_stats",
    "dns_resolution",
    "history_span",
    "host_processes",
    "pair_clients",
    "pair_traffic",
    "sysmon_hosts",
]


@dataclass(frozen=True, slots=True)
class DestinationStats:
    """Sources of one destination key in the analysed period and ever, and its first sighting."""

    sources: tuple[str, ...]
    sources_ever: tuple[str, ...]
    first_seen: float | None


def _register(con: Any, name: str, columns: dict[str, list[Any]]) -> None:
    con.register(name, pa.table(columns))


def history_span(con: Any) -> tuple[float, float] | None:
    """First and last connection time in the whole store (all runs)."""
    row = con.execute("SELECT min(ts), max(ts) FROM conn").fetchall()[0]
    return None if row[0] is None else (float(row[0]), float(row[1]))


def data_hours(con: Any) -> set[int]:
    """Every hour (epoch seconds // 3600) in which the store has a connection: what
    the history actually observed, gaps included."""
    rows = con.execute(
        "SELECT DISTINCT floor(ts / 3600)::BIGINT FROM conn WHERE ts IS NOT NULL"
    ).fetchall()
    return {int(r[0]) for r in rows}


def active_sources(con: Any, start: float, end: float) -> list[str]:
    """Every source address with a connection in ``[start, end]``."""
    rows = con.execute(
        "SELECT DISTINCT src_ip FROM conn WHERE ts BETWEEN ? AND ? AND src_ip IS NOT NULL",
        [start, end],
    ).fetchall()
    return [r[0] for r in rows]


def destination_stats(
    con: Any,
    start: float,
    end: float,
    domain_keys: set[str],
    ip_keys: set[str],
    key_of_domain: Callable[[str], str | None],
) -> dict[str, DestinationStats]:
    """Sources and first sighting per destination key.

    A domain key (a registered domain) covers every ``dst_domain`` that
    ``key_of_domain`` maps to it; an IP key covers every connection to that
    address. Sources are every ``src_ip`` (the caller keeps the internal ones).
    """
    out: dict[str, DestinationStats] = {}
    sql = """
SELECT k.key,
       list(DISTINCT c.src_ip) FILTER (WHERE c.ts BETWEEN ? AND ?),
       list(DISTINCT c.src_ip),
       min(c.ts)
FROM conn c JOIN {table} k ON c.{column} = k.value
GROUP BY k.key
"""
    if domain_keys:
        rows = con.execute("SELECT DISTINCT dst_domain FROM conn WHERE dst_domain IS NOT NULL")
        names = [r[0] for r in rows.fetchall()]
        pairs = [(n, key_of_domain(n)) for n in names]
        pairs = [(n, k) for n, k in pairs if k is not None and k in domain_keys]
        _register(con, "_dkeys", {"value": [n for n, _ in pairs], "key": [k for _, k in pairs]})
        try:
            for row in con.execute(sql.format(table="_dkeys", column="dst_domain"),
                                   [start, end]).fetchall():  # fmt: skip
                out[row[0]] = _stats(row)
        finally:
            con.unregister("_dkeys")
    if ip_keys:
        ips = sorted(ip_keys)
        _register(con, "_ikeys", {"value": ips, "key": ips})
        try:
            for row in con.execute(sql.format(table="_ikeys", column="dst_ip"),
                                   [start, end]).fetchall():  # fmt: skip
                out[row[0]] = _stats(row)
        finally:
            con.unregister("_ikeys")
    return out


def _stats(row: Sequence[Any]) -> DestinationStats:
    window = tuple(x for x in (row[1] or ()) if x is not None)
    ever = tuple(x for x in (row[2] or ()) if x is not None)
    return DestinationStats(window, ever, None if row[3] is None else float(row[3]))


def dns_resolution(
    con: Any, queries: Sequence[tuple[str, str | None, Sequence[str]]], end: float
) -> list[bool | None]:
    """For each (source IP, endpoint host name, destination IPs): did the source
    resolve a name to one of the IPs up to ``end``? None when the logs show no
    DNS lookup by that source at all (Zeek ``dns`` by address, Sysmon event 22
    by host name), since then nothing can be said."""
    if not queries:
        return []
    idx, srcs, hosts, ips = [], [], [], []
    for i, (src, host, dst_ips) in enumerate(queries):
        for ip in dst_ips:
            idx.append(i)
            srcs.append(src)
            hosts.append(host.lower() if host else None)
            ips.append(ip)
    _register(con, "_dq", {"i": idx, "src_ip": srcs, "host": hosts, "ip": ips})
    try:
        resolved = {r[0] for r in con.execute(
            """
SELECT DISTINCT q.i FROM _dq q JOIN dns d ON d.src_ip = q.src_ip AND d.answer = q.ip
WHERE d.ts <= ?
UNION
SELECT DISTINCT q.i FROM _dq q JOIN dns_query d ON lower(d.host) = q.host
WHERE d.ts <= ? AND list_contains(
  list_transform(string_split(coalesce(d.query_results, ''), ';'),
                 lambda x: regexp_replace(trim(x), '^::ffff:', '')), q.ip)
""",
            [end, end],
        ).fetchall()}  # fmt: skip
        seen_src = {r[0] for r in con.execute(
            "SELECT DISTINCT src_ip FROM dns WHERE src_ip IN (SELECT src_ip FROM _dq)"
        ).fetchall()}  # fmt: skip
        seen_host = {r[0] for r in con.execute(
            "SELECT DISTINCT lower(host) FROM dns_query WHERE lower(host) IN"
            " (SELECT host FROM _dq)").fetchall()}  # fmt: skip
    finally:
        con.unregister("_dq")
    out: list[bool | None] = []
    for i, (src, host, _) in enumerate(queries):
        visible = src in seen_src or (host is not None and host.lower() in seen_host)
        out.append(True if i in resolved else (False if visible else None))
    return out


def sysmon_hosts(con: Any, src_ips: Sequence[str]) -> dict[str, str]:
    """Endpoint host name per source address, from Sysmon network events."""
    if not src_ips:
        return {}
    _register(con, "_sips", {"ip": list(src_ips)})
    try:
        rows = con.execute(
            "SELECT src_ip, mode(host) FROM net_conn WHERE src_ip IN (SELECT ip FROM _sips)"
            " AND host IS NOT NULL GROUP BY src_ip"
        ).fetchall()
    finally:
        con.unregister("_sips")
    return {r[0]: r[1] for r in rows}


def host_processes(
    con: Any, hosts: Sequence[str], limit_per_host: int = 20_000
) -> dict[str, list[dict[str, Any]]]:
    """Process creations (Sysmon event 1) per host name (lower case), newest last."""
    if not hosts:
        return {}
    _register(con, "_hosts", {"host": [h.lower() for h in hosts]})
    try:
        cur = con.execute(
            """
SELECT * EXCLUDE (rn) FROM (
  SELECT p.*, row_number() OVER (PARTITION BY lower(p.host) ORDER BY p.ts DESC) AS rn
  FROM proc_create p WHERE lower(p.host) IN (SELECT host FROM _hosts)
) WHERE rn <= ? ORDER BY ts
""",
            [limit_per_host],
        )
        names = [d[0] for d in cur.description]
        out: dict[str, list[dict[str, Any]]] = {}
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            out.setdefault(str(rec["host"]).lower(), []).append(rec)
    finally:
        con.unregister("_hosts")
    return out


# uids of the reported pairs' connections (for the client-fingerprint queries)
_REPORTED_UIDS = """
CREATE OR REPLACE TEMP TABLE _rep_uids AS
SELECT p.pair_id, c.uid FROM conn c
JOIN (SELECT * FROM _pairs SEMI JOIN _ids USING (pair_id)) p ON c.pair_key = p.pair_key
WHERE c.ts BETWEEN ? AND ? AND c.uid IS NOT NULL
"""
_CLIENT_VALUES = """
SELECT pair_id, col, val, count(*) FROM (
  SELECT r.pair_id, unnest(['ja3', 'ja3s', 'ja4', 'ja4s', 'subject', 'issuer']) AS col,
         unnest([s.ja3, s.ja3s, s.ja4, s.ja4s, s.subject, s.issuer]) AS val
  FROM _rep_uids r JOIN ssl s ON s.uid = r.uid
  UNION ALL
  SELECT r.pair_id, 'user_agent', h.user_agent FROM _rep_uids r JOIN http h ON h.uid = r.uid
) WHERE val IS NOT NULL AND val <> '' AND val <> '-'
GROUP BY ALL
"""
_HTTP_HOSTS = """
SELECT r.pair_id, count(*), count(*) FILTER (WHERE h.host IS NULL OR h.host = '')
FROM _rep_uids r JOIN http h ON h.uid = r.uid GROUP BY r.pair_id
"""
_PRINT_PREVALENCE = """
WITH mine AS (
  SELECT DISTINCT unnest([s.ja3, s.ja4]) AS fp FROM _rep_uids r JOIN ssl s ON s.uid = r.uid
)
SELECT fp, count(DISTINCT src_ip) FROM (
  SELECT ja3 AS fp, src_ip FROM ssl WHERE ja3 IN (SELECT fp FROM mine)
  UNION ALL SELECT ja4, src_ip FROM ssl WHERE ja4 IN (SELECT fp FROM mine)
) GROUP BY fp
"""


def pair_traffic(con: Any, pair_ids: Sequence[int], start: float,
             end: float) -> dict[int, dict[str, np.ndarray]]:  # fmt: skip
    """What each connection of the given pairs carried, for the protocol checks
    (:mod:`beaconhunt.enrich.services`): per pair, arrays ``service`` (object),
    ``log`` (object), ``bytes_out``, ``bytes_in``, ``pkts_out`` and ``pkts_in``
    (float, NaN when unknown), in time order."""
    if not len(pair_ids):
        return {}
    con.register("_ids", pa.table({"pair_id": np.asarray(pair_ids, dtype=np.int64)}))
    try:
        tbl = con.sql(
            """
SELECT p.pair_id, c.service, c.log, c.bytes_out::DOUBLE AS bytes_out,
   c.bytes_in::DOUBLE AS bytes_in, c.pkts_out::DOUBLE AS pkts_out,
   c.pkts_in::DOUBLE AS pkts_in
FROM conn c JOIN (SELECT * FROM _pairs SEMI JOIN _ids USING (pair_id)) p
  ON c.pair_key = p.pair_key
WHERE c.ts BETWEEN ? AND ?
ORDER BY p.pair_id, c.ts
""",
            params=[start, end],
        ).to_arrow_table()
    finally:
        con.unregister("_ids")
    return _split_by_pair(tbl)


def pair_clients(
    con: Any, pair_ids: Sequence[int], start: float, end: float
) -> tuple[dict[int, dict[str, Any]], dict[str, int]]:
    """What the sensor logged about the clients of the given pairs, joined on
    the connection ``uid``: per pair, ``values`` (column -> {value: connections}
    for ja3, ja3s, ja4, ja4s, subject, issuer, user_agent), ``http`` (requests)
    and ``no_host`` (requests without a Host header); and, for every client
    fingerprint (JA3 or JA4) seen there, how many source addresses present it
    anywhere in the store."""
    if not len(pair_ids):
        return {}, {}
    con.register("_ids", pa.table({"pair_id": np.asarray(pair_ids, dtype=np.int64)}))
    try:
        con.execute(_REPORTED_UIDS, [start, end])
    finally:
        con.unregister("_ids")
    out: dict[int, dict[str, Any]] = {}
    for pid, column, value, n in con.execute(_CLIENT_VALUES).fetchall():
        entry = out.setdefault(int(pid), {"values": {}, "http": 0, "no_host": 0})
        entry["values"].setdefault(column, {})[value] = int(n)
    for pid, requests, no_host in con.execute(_HTTP_HOSTS).fetchall():
        entry = out.setdefault(int(pid), {"values": {}, "http": 0, "no_host": 0})
        entry["http"], entry["no_host"] = int(requests), int(no_host)
    prevalence = {v: int(n) for v, n in con.execute(_PRINT_PREVALENCE).fetchall()}
    con.execute("DROP TABLE IF EXISTS _rep_uids")
    return out, prevalence


def _split_by_pair(tbl: Any) -> dict[int, dict[str, np.ndarray]]:
    """An Arrow table sorted by ``pair_id`` as one dict of NumPy arrays per pair."""
    pid = np.asarray(tbl.column("pair_id").to_numpy(), dtype=np.int64)
    if not pid.size:
        return {}
    cols: dict[str, np.ndarray] = {}
    for name in tbl.column_names:
        if name == "pair_id":
            continue
        col = tbl.column(name)
        if pa.types.is_floating(col.type):
            cols[name] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        else:
            cols[name] = np.asarray(col.to_pylist(), dtype=object)
    starts = np.flatnonzero(np.diff(pid, prepend=-1))
    bounds = np.append(starts, pid.size)
    return {
        int(pid[a]): {k: v[a:b] for k, v in cols.items()}
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    }
