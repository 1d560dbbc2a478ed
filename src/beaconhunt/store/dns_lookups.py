"""Queries the DNS detector runs: lookups grouped by client and zone, from the
network (``dns_lookup``: Zeek dns.log) or the endpoint (``dns_query``: Sysmon
event 22).

Grouping every lookup of a busy network by its registered domain would need
the Public Suffix List for every name. The SQL instead groups by the last two
labels of the name (``x.y.example.com`` -> ``example.com``), which can only
merge zones, never split one: a (client, last-two-labels) group with fewer
than ``min_unique`` distinct names cannot hold a zone with more. Only the
groups that pass are fetched whole, and the detector maps their names to
registered domains in Python.

All strings (names, answers) come from the logs and are attacker-controlled;
they are passed as parameters or registered tables, never formatted into SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

__all__ = [
    "Lookups",
    "dga_lookups",
    "lookup_clients",
    "resolver_clients",
    "sysmon_host_ips",
    "zone_lookups",
    "zone_processes",
    "zone_sources",
]

#: The last two labels of a lower-cased name without its trailing dot.
_LAST2 = "regexp_extract(rtrim({col}, '.'), '([^.]+\\.[^.]+)$', 1)"

#: Sysmon's QueryStatus for a name that does not exist (DNS_ERROR_RCODE_NAME_ERROR).
SYSMON_NXDOMAIN = "9003"


@dataclass(frozen=True)
class Lookups:
    """Lookups as columns, sorted by (client, ts). ``client`` is the source IP
    (network) or the host's IP or name (endpoint); ``source`` ``network`` or
    ``sysmon``; ``rcode`` Zeek's name (NOERROR, NXDOMAIN...) or NXDOMAIN for
    Sysmon status 9003."""

    ts: NDArray[np.float64]
    client: list[str]
    resolver: list[str | None]
    query: list[str]
    qtype: list[str | None]
    rcode: list[str | None]
    answers: list[str | None]
    source: list[str]

    def __len__(self) -> int:
        return int(self.ts.size)

    @classmethod
    def empty(cls) -> Lookups:
        return cls(np.empty(0), [], [], [], [], [], [], [])

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> Lookups:
        if not rows:
            return cls.empty()
        cols = list(zip(*rows, strict=True))
        return cls(
            np.asarray(cols[0], dtype=np.float64),
            [str(x) for x in cols[1]],
            list(cols[2]),
            [str(x) for x in cols[3]],
            list(cols[4]),
            list(cols[5]),
            list(cols[6]),
            [str(x) for x in cols[7]],
        )

    @classmethod
    def fetch(cls, con: Any, sql: str, params: Sequence[Any]) -> Lookups:
        """Run ``sql`` (the 8 columns above, in order) and read it through Arrow: much
        faster than Python tuples for the millions of lookups a busy network makes."""
        # con.sql, not con.execute: DuckDB's DB-API Arrow path can lose ORDER BY when
        # preserve_insertion_order is off (as in the store)
        tbl = con.sql(sql, params=list(params)).to_arrow_table()
        if tbl.num_rows == 0:
            return cls.empty()
        cols = [tbl.column(i) for i in range(tbl.num_columns)]
        return cls(
            np.asarray(cols[0].to_numpy(zero_copy_only=False), dtype=np.float64),
            [str(x) for x in cols[1].to_pylist()],
            cols[2].to_pylist(),
            [str(x) for x in cols[3].to_pylist()],
            cols[4].to_pylist(),
            cols[5].to_pylist(),
            cols[6].to_pylist(),
            [str(x) for x in cols[7].to_pylist()],
        )

    def concat(self, other: Lookups) -> Lookups:
        return Lookups(
            np.concatenate([self.ts, other.ts]),
            self.client + other.client,
            self.resolver + other.resolver,
            self.query + other.query,
            self.qtype + other.qtype,
            self.rcode + other.rcode,
            self.answers + other.answers,
            self.source + other.source,
        )


def _network_sql(where: str) -> str:
    return f"""
SELECT l.ts, l.src_ip, l.resolver, rtrim(l.query, '.'), l.qtype, l.rcode, l.answers, 'network'
FROM dns_lookup l
WHERE l.ts BETWEEN ? AND ? AND l.query IS NOT NULL AND l.src_ip IS NOT NULL AND {where}
ORDER BY l.src_ip, l.ts
"""


def lookup_clients(con: Any) -> set[str]:
    """Source addresses with at least one network lookup (``dns_lookup``)."""
    return {r[0] for r in con.execute(
        "SELECT DISTINCT src_ip FROM dns_lookup WHERE src_ip IS NOT NULL").fetchall()}  # fmt: skip


def resolver_clients(con: Any, start: float, end: float) -> dict[str, int]:
    """Addresses that other sources sent lookups to (resolvers), with how many
    distinct sources did."""
    rows = con.execute(
        "SELECT resolver, count(DISTINCT src_ip) FROM dns_lookup WHERE ts BETWEEN ? AND ?"
        " AND resolver IS NOT NULL AND resolver <> src_ip GROUP BY resolver",
        [start, end],
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def sysmon_host_ips(con: Any) -> dict[str, str]:
    """Each Sysmon host's most used source address (event 3), to name endpoint lookups."""
    rows = con.execute(
        "SELECT host, mode(src_ip) FROM net_conn WHERE host IS NOT NULL AND src_ip IS NOT NULL"
        " AND coalesce(initiated, true) GROUP BY host"
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def zone_lookups(
    con: Any, start: float, end: float, min_unique: int, skip_hosts: set[str]
) -> Lookups:
    """Every lookup of the (client, last-two-labels) groups with at least ``min_unique``
    distinct names: network lookups, plus Sysmon event 22 lookups of hosts whose
    address has no network lookup at all (``skip_hosts`` are hosts the network
    log already covers)."""
    last2 = _LAST2.format(col="query")
    out = Lookups.fetch(
        con,
        _network_sql(
            f"(l.src_ip, {_LAST2.format(col='l.query')}) IN ("
            f"SELECT (src_ip, {last2}) FROM dns_lookup WHERE ts BETWEEN ? AND ?"
            f" AND query IS NOT NULL GROUP BY src_ip, {last2}"
            " HAVING count(DISTINCT query) >= ?)"
        ),
        [start, end, start, end, min_unique],
    )
    return out.concat(_sysmon_lookups(con, start, end, min_unique, skip_hosts, nx_only=False))


def _sysmon_lookups(
    con: Any, start: float, end: float, threshold: int, skip_hosts: set[str], *, nx_only: bool
) -> Lookups:
    """Sysmon event 22 lookups of hosts not in ``skip_hosts``: grouped by (host,
    last-two-labels) with ``threshold`` distinct names, or (``nx_only``) the
    NXDOMAIN lookups of hosts with ``threshold`` distinct last-two-labels."""
    if not con.execute("SELECT count(*) FROM dns_query").fetchall()[0][0]:
        return Lookups.empty()
    last2 = _LAST2.format(col="lower(query_name)")
    _register(con, "_skip", {"host": sorted(skip_hosts)})
    try:
        if nx_only:
            having = (
                f"SELECT host FROM dns_query WHERE ts BETWEEN ? AND ? AND query_status = ?"
                f" GROUP BY host HAVING count(DISTINCT {last2}) >= ?"
            )
            where = f"q.query_status = ? AND q.host IN ({having})"
            params = [SYSMON_NXDOMAIN, start, end, SYSMON_NXDOMAIN, threshold]
        else:
            having = (
                f"SELECT (host, {last2}) FROM dns_query WHERE ts BETWEEN ? AND ?"
                f" GROUP BY host, {last2} HAVING count(DISTINCT lower(query_name)) >= ?"
            )
            where = f"(q.host, {_LAST2.format(col='lower(q.query_name)')}) IN ({having})"
            params = [start, end, threshold]
        return Lookups.fetch(
            con,
            f"""
SELECT q.ts, q.host, NULL::VARCHAR, rtrim(lower(q.query_name), '.'), NULL::VARCHAR,
       CASE WHEN q.query_status = '{SYSMON_NXDOMAIN}' THEN 'NXDOMAIN'
            WHEN q.query_status = '0' THEN 'NOERROR' ELSE q.query_status END,
       q.query_results, 'sysmon'
FROM dns_query q
WHERE q.ts BETWEEN ? AND ? AND q.query_name IS NOT NULL AND q.host IS NOT NULL
  AND q.host NOT IN (SELECT host FROM _skip) AND {where}
ORDER BY q.host, q.ts
""",
            [start, end, *params],
        )
    finally:
        con.unregister("_skip")


def dga_lookups(
    con: Any, start: float, end: float, min_zones: int, skip_hosts: set[str]
) -> Lookups:
    """The NXDOMAIN lookups of clients whose NXDOMAIN names span at least
    ``min_zones`` distinct last-two-labels (candidates for generated domains)."""
    last2 = _LAST2.format(col="query")
    out = Lookups.fetch(
        con,
        _network_sql(
            "l.rcode = 'NXDOMAIN' AND l.src_ip IN ("
            "SELECT src_ip FROM dns_lookup WHERE ts BETWEEN ? AND ? AND rcode = 'NXDOMAIN'"
            f" AND query IS NOT NULL GROUP BY src_ip HAVING count(DISTINCT {last2}) >= ?)"
        ),
        [start, end, start, end, min_zones],
    )
    return out.concat(_sysmon_lookups(con, start, end, min_zones, skip_hosts, nx_only=True))


def zone_sources(
    con: Any, start: float, end: float, zones: set[str]
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], float | None]]:
    """Per zone: the sources that looked up a name in it within ``[start, end]``,
    those that ever did (the whole store), and the first lookup time. Network
    lookups by address (resolvers forwarding other hosts' lookups excepted),
    endpoint lookups by host name."""
    if not zones:
        return {}
    _register(con, "_zones", {"zone": sorted(zones)})
    try:
        rows = con.execute(
            f"""
WITH z AS (SELECT zone, {_LAST2.format(col="zone")} AS last2 FROM _zones),
hits AS (
  SELECT z.zone, l.src_ip AS src, l.ts FROM dns_lookup l
  JOIN z ON {_LAST2.format(col="l.query")} = z.last2
  WHERE (rtrim(l.query, '.') = z.zone OR suffix(rtrim(l.query, '.'), '.' || z.zone))
    -- a resolver asks on behalf of the hosts that asked it: not a host of its own
    AND l.src_ip NOT IN (SELECT resolver FROM dns_lookup WHERE resolver IS NOT NULL
                         AND resolver <> src_ip)
  UNION ALL
  SELECT z.zone, q.host AS src, q.ts FROM dns_query q
  JOIN z ON {_LAST2.format(col="lower(q.query_name)")} = z.last2
  WHERE rtrim(lower(q.query_name), '.') = z.zone
     OR suffix(rtrim(lower(q.query_name), '.'), '.' || z.zone)
)
SELECT zone, list(DISTINCT src) FILTER (WHERE ts BETWEEN ? AND ?), list(DISTINCT src), min(ts)
FROM hits GROUP BY zone
""",
            [start, end],
        ).fetchall()
    finally:
        con.unregister("_zones")
    return {
        str(r[0]): (
            tuple(x for x in (r[1] or ()) if x is not None),
            tuple(x for x in (r[2] or ()) if x is not None),
            None if r[3] is None else float(r[3]),
        )
        for r in rows
    }


def zone_processes(
    con: Any,
    hosts: Sequence[str],
    zone: str,
    start: float,
    end: float,
    resolvers: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Which processes on ``hosts`` looked up names in ``zone`` (Sysmon event 22),
    most lookups first, with their process-creation facts: rows shaped like
    :meth:`~beaconhunt.store.duckdb.DuckDBStore.attribution` (``n`` lookups by
    the process, ``total`` lookups of the zone on those hosts). Without event 22 for
    the zone, the processes that sent their own DNS packets to ``resolvers``
    (event 3; ``n`` their connections)."""
    if not hosts:
        return []
    _register(con, "_hosts", {"host": list(hosts)})
    try:
        cur = con.execute(
            """
WITH q AS (
  SELECT host, process_guid, any_value(image) AS image, any_value(pid) AS pid, count(*) AS n
  FROM dns_query
  WHERE ts BETWEEN ? AND ? AND host IN (SELECT host FROM _hosts)
    AND (rtrim(lower(query_name), '.') = ? OR suffix(rtrim(lower(query_name), '.'), ?))
  GROUP BY host, process_guid
),
created AS (
  SELECT host, process_guid, any_value(pid) AS pid, any_value(user) AS user,
         any_value(image) AS image, any_value(command_line) AS command_line,
         any_value(parent_image) AS parent_image,
         any_value(parent_command_line) AS parent_command_line,
         any_value(current_directory) AS current_directory,
         any_value(original_file_name) AS original_file_name,
         any_value(company) AS company, any_value(product) AS product,
         any_value(description) AS description, any_value(integrity_level) AS integrity_level
  FROM proc_create WHERE host IN (SELECT host FROM _hosts) GROUP BY host, process_guid
)
SELECT q.host, q.process_guid, coalesce(q.image, pc.image) AS image,
       coalesce(q.pid, pc.pid) AS pid, pc.user, pc.command_line, pc.parent_image,
       pc.parent_command_line, pc.current_directory, pc.original_file_name, pc.company,
       pc.product, pc.description, pc.integrity_level, q.n,
       sum(q.n) OVER () AS total
FROM q LEFT JOIN created pc ON pc.host = q.host AND pc.process_guid = q.process_guid
ORDER BY q.n DESC, image
""",
            [start, end, zone, "." + zone],
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if not rows and resolvers:
            marks = ", ".join("?" for _ in resolvers)
            cur = con.execute(_OWN_SOCKET_SQL.format(marks=marks), [start, end, *resolvers])
            names = [d[0] for d in cur.description]
            rows = [{**dict(zip(names, r, strict=True)), "own_socket": True}
                    for r in cur.fetchall()]  # fmt: skip
        return rows
    finally:
        con.unregister("_hosts")


#: Processes on the hosts that sent DNS packets to the resolvers themselves (Sysmon
#: event 3 to port 53), other than Windows' DNS client and DNS server services, which
#: send every ordinary lookup: a tunnel with its own socket (dnscat2, iodine) logs no
#: event 22 but this.
_OWN_SOCKET_SQL = """
WITH q AS (
  SELECT host, process_guid, any_value(image) AS image, any_value(pid) AS pid, count(*) AS n
  FROM net_conn
  WHERE ts BETWEEN ? AND ? AND host IN (SELECT host FROM _hosts) AND dst_port = 53
    AND coalesce(initiated, true)
    AND lower(image) NOT LIKE '%\\svchost.exe' AND lower(image) NOT LIKE '%\\dns.exe'
    AND dst_ip IN ({marks})
  GROUP BY host, process_guid
),
created AS (
  SELECT host, process_guid, any_value(user) AS user, any_value(command_line) AS command_line,
         any_value(parent_image) AS parent_image,
         any_value(parent_command_line) AS parent_command_line,
         any_value(current_directory) AS current_directory,
         any_value(original_file_name) AS original_file_name,
         any_value(company) AS company, any_value(product) AS product,
         any_value(description) AS description, any_value(integrity_level) AS integrity_level
  FROM proc_create WHERE host IN (SELECT host FROM _hosts) GROUP BY host, process_guid
)
SELECT q.host, q.process_guid, q.image, q.pid, pc.user, pc.command_line, pc.parent_image,
       pc.parent_command_line, pc.current_directory, pc.original_file_name, pc.company,
       pc.product, pc.description, pc.integrity_level, q.n, sum(q.n) OVER () AS total
FROM q LEFT JOIN created pc ON pc.host = q.host AND pc.process_guid = q.process_guid
ORDER BY q.n DESC, q.image
"""


def _register(con: Any, name: str, columns: dict[str, list[Any]]) -> None:
    con.register(name, pa.table(columns, schema=pa.schema([(k, pa.string()) for k in columns])))
