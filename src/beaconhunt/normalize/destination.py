"""Name the destination of each connection, in SQL run by the store.

Priority, most to least direct: the target of an HTTP ``CONNECT`` (explicit
proxies: the connection's IP is the proxy, the host is where it really goes),
the TLS SNI, the HTTP ``Host`` header, then the DNS answer that the same
source resolved most recently before connecting (an ASOF join). A connection
with none of these stays keyed by its IP: a direct-IP connection.

``proxied`` is true when the request was made to a proxy: a ``CONNECT`` or a
request line in absolute form (``GET http://host/path``), which only proxies
receive. Proxied connections count as outbound even though the proxy itself is
internal.
"""

from __future__ import annotations

__all__ = [
    "PAIR_KEY",
    "build_domain_maps_sql",
    "flows_insert_sql",
    "normalized_conn_select",
    "orphan_conn_inserts",
]

#: The pair a connection belongs to, as one integer: grouping 10M rows by one
#: UBIGINT is ~3x faster than by four strings. DuckDB's 64-bit hash: with a
#: million pairs the chance that any two collide is about 3e-8.
PAIR_KEY = (
    "hash(src_ip, coalesce(dst_domain, dst_ip), coalesce(dst_port, -1), coalesce(proto, ''),"
    " coalesce(process_image, ''))"
)

# Per-uid names from the side logs loaded so far (this run's staging tables and
# what a --db store already holds). Built once before conn rows are loaded.
_HTTP_MAP = """
CREATE OR REPLACE TEMP TABLE _http_map AS
SELECT uid,
       -- a Host that is not host[:port] or [v6]:port names nothing (NULL, never '')
       arg_min(NULLIF(lower(regexp_extract(CASE WHEN method = 'CONNECT'
                                                THEN coalesce(uri, host) ELSE host END,
                                           '^\\[?([^\\]]*?)\\]?(:[0-9]+)?$', 1)), ''),
               coalesce(trans_depth, 0)) AS host,
       bool_or(method = 'CONNECT') AS is_connect,
       bool_or(method = 'CONNECT' OR starts_with(lower(coalesce(uri, '')), 'http://')) AS proxied,
       max(CASE WHEN method = 'CONNECT'
                THEN TRY_CAST(regexp_extract(coalesce(uri, ''), ':([0-9]+)$', 1) AS INTEGER) END)
           AS connect_port
FROM (SELECT * FROM http UNION ALL SELECT * FROM _new_http)
WHERE uid IS NOT NULL AND host IS NOT NULL AND host <> ''
GROUP BY uid
"""

_SSL_MAP = """
CREATE OR REPLACE TEMP TABLE _ssl_map AS
SELECT uid, arg_min(lower(server_name), ts) AS sni
FROM (SELECT * FROM ssl UNION ALL SELECT * FROM _new_ssl)
WHERE uid IS NOT NULL AND server_name IS NOT NULL AND server_name <> ''
GROUP BY uid
"""

_DNS_MAP = """
CREATE OR REPLACE TEMP TABLE _dns_map AS
SELECT DISTINCT src_ip, answer, ts, lower(query) AS query
FROM (SELECT * FROM dns UNION ALL SELECT * FROM _new_dns)
WHERE answer IS NOT NULL AND query IS NOT NULL AND query <> ''
"""


def build_domain_maps_sql(have_http: bool, have_ssl: bool, have_dns: bool) -> list[str]:
    """Statements that build the per-uid and per-answer name maps that exist."""
    out: list[str] = []
    if have_http:
        out.append(_HTTP_MAP)
    if have_ssl:
        out.append(_SSL_MAP)
    if have_dns:
        out.append(_DNS_MAP)
    return out


def normalized_conn_select(raw: str, have_http: bool, have_ssl: bool, have_dns: bool) -> str:
    """A SELECT producing ``conn`` rows (schema order) from ``raw``.

    ``raw`` is a relation (table name or table function call) with the columns
    ts, uid, src_ip, src_port, dst_ip, dst_port, proto, service, duration,
    bytes_out, bytes_in, conn_state, pkts_out, pkts_in. Insert it ``BY NAME``.
    """
    joins = []
    if have_http:
        joins.append("LEFT JOIN _http_map h ON r.uid = h.uid")
    if have_ssl:
        joins.append("LEFT JOIN _ssl_map s ON r.uid = s.uid")
    if have_dns:
        joins.append(
            "ASOF LEFT JOIN _dns_map d ON r.src_ip = d.src_ip AND r.dst_ip = d.answer"
            " AND r.ts >= d.ts"
        )
    sni = "s.sni" if have_ssl else "NULL::VARCHAR"
    connect = "CASE WHEN h.is_connect THEN h.host END" if have_http else "NULL::VARCHAR"
    host = "h.host" if have_http else "NULL::VARCHAR"
    dns = "d.query" if have_dns else "NULL::VARCHAR"
    domain = f"coalesce({connect}, {sni}, {host}, {dns})"
    source = (
        f"CASE WHEN {connect} IS NOT NULL THEN 'connect' WHEN {sni} IS NOT NULL THEN 'sni'"
        f" WHEN {host} IS NOT NULL THEN 'http_host' WHEN {dns} IS NOT NULL THEN 'dns' END"
    )
    proxied = "coalesce(h.proxied, false)" if have_http else "false"
    port = "coalesce(h.connect_port, r.dst_port)" if have_http else "r.dst_port"
    return f"""
SELECT *, {PAIR_KEY} AS pair_key FROM (
SELECT r.ts, r.uid, r.src_ip, r.src_port, r.dst_ip, {port} AS dst_port, r.proto,
       r.service, r.duration, r.bytes_out, r.bytes_in, r.conn_state,
       r.pkts_out, r.pkts_in, {domain} AS dst_domain, {source} AS domain_source,
       {proxied} AS proxied,
       NULL::VARCHAR AS src_host, 'conn' AS log, NULL::VARCHAR AS process_image,
       NULL::VARCHAR AS process_guid
FROM {raw} r
{" ".join(joins)}
)
"""


def flows_insert_sql(have_dns: bool) -> str:
    """INSERT of the staged network-reader connections (``_flows``) into ``conn``.

    A reader's own name for the destination (SNI, HTTP Host, proxy URL) wins;
    a connection without one takes the name its source last resolved to the
    address, as Zeek connections do.
    """
    dns = "d.query" if have_dns else "NULL::VARCHAR"
    join = (
        "ASOF LEFT JOIN _dns_map d ON f.src_ip = d.src_ip AND f.dst_ip = d.answer AND f.ts >= d.ts"
        if have_dns
        else ""
    )
    return f"""
INSERT INTO conn BY NAME
SELECT *, {PAIR_KEY} AS pair_key FROM (
SELECT f.ts, f.uid, f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.proto,
       f.service, f.duration, f.bytes_out, f.bytes_in, f.conn_state,
       f.pkts_out, f.pkts_in, coalesce(f.dst_domain, {dns}) AS dst_domain,
       CASE WHEN f.dst_domain IS NOT NULL THEN f.domain_source
            WHEN {dns} IS NOT NULL THEN 'dns' END AS domain_source,
       coalesce(f.proxied, false) AS proxied, f.src_host, f.log,
       NULL::VARCHAR AS process_image, NULL::VARCHAR AS process_guid
FROM _flows f
{join}
)
"""


def orphan_conn_inserts() -> list[str]:
    """INSERTs that turn this run's http/ssl rows with no conn row into connections.

    With no conn.log (or a web proxy log, which has the same shape), each
    HTTP transaction or TLS session is the connection record. A uid seen in
    both http and ssl becomes one connection (the http row, which has sizes).
    """
    http = f"""
INSERT INTO conn BY NAME
SELECT *, {PAIR_KEY} AS pair_key FROM (
SELECT arg_min(h.ts, coalesce(h.trans_depth, 0)) AS ts, h.uid AS uid,
       any_value(h.src_ip) AS src_ip, any_value(h.src_port) AS src_port,
       any_value(h.dst_ip) AS dst_ip,
       coalesce(max(m.connect_port), any_value(h.dst_port)) AS dst_port, 'tcp' AS proto,
       CASE WHEN bool_or(h.method = 'CONNECT') THEN 'http,ssl' ELSE 'http' END AS service,
       NULL AS duration, sum(h.bytes_out) AS bytes_out, sum(h.bytes_in) AS bytes_in,
       NULL AS conn_state, any_value(m.host) AS dst_domain,
       CASE WHEN bool_or(m.is_connect) THEN 'connect' WHEN any_value(m.host) IS NOT NULL
            THEN 'http_host' END AS domain_source,
       coalesce(bool_or(m.proxied), false) AS proxied, NULL AS src_host, 'http' AS log,
       NULL AS process_image, NULL AS process_guid
FROM _new_http h LEFT JOIN _http_map m ON h.uid = m.uid
WHERE h.uid IS NULL OR h.uid NOT IN (SELECT uid FROM conn WHERE uid IS NOT NULL)
GROUP BY h.uid, CASE WHEN h.uid IS NULL THEN h.ts END
)
"""
    ssl = f"""
INSERT INTO conn BY NAME
SELECT *, {PAIR_KEY} AS pair_key FROM (
SELECT s.ts AS ts, s.uid AS uid, s.src_ip AS src_ip, s.src_port AS src_port,
       s.dst_ip AS dst_ip, s.dst_port AS dst_port, 'tcp' AS proto, 'ssl' AS service,
       NULL AS duration, NULL AS bytes_out, NULL AS bytes_in, NULL AS conn_state,
       lower(s.server_name) AS dst_domain,
       CASE WHEN s.server_name IS NOT NULL THEN 'sni' END AS domain_source,
       false AS proxied, NULL AS src_host, 'ssl' AS log, NULL AS process_image,
       NULL AS process_guid
FROM _new_ssl s
WHERE s.uid IS NULL OR s.uid NOT IN (SELECT uid FROM conn WHERE uid IS NOT NULL)
)
"""
    return [http, ssl]
