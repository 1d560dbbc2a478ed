"""The normalized tables every reader fills and every detector reads.

``conn`` is the one connection table (documented in docs/formats.md):

================  =========  ===============================================
column            type       meaning
================  =========  ===============================================
ts                DOUBLE     start time, epoch seconds UTC (or seconds from
                             capture start for relative logs)
uid               VARCHAR    Zeek connection uid (joins conn/ssl/http/dns)
src_ip            VARCHAR    originator address
src_port          INTEGER    originator port
dst_ip            VARCHAR    responder address (the proxy, when proxied)
dst_port          INTEGER    responder port (the requested port for CONNECT)
proto             VARCHAR    tcp / udp / icmp
service           VARCHAR    Zeek's protocol guess (ssl, http, dns...)
duration          DOUBLE     seconds
bytes_out         BIGINT     payload bytes sent by the originator
bytes_in          BIGINT     payload bytes sent by the responder
conn_state        VARCHAR    Zeek conn_state (SF, S0, REJ...)
dst_domain        VARCHAR    destination name: SNI, HTTP Host, CONNECT target
                             or the DNS answer the source resolved before
domain_source     VARCHAR    where dst_domain came from: sni, http_host,
                             connect, dns (NULL when unknown)
proxied           BOOLEAN    the connection went through an explicit proxy
src_host          VARCHAR    source host name when a log says it
log               VARCHAR    which log the row came from: conn, http, ssl
pair_key          UBIGINT    64-bit hash of (src_ip, dst_domain or dst_ip,
                             dst_port, proto): the pair the row belongs to,
                             so grouping and joining use one integer
================  =========  ===============================================

IP addresses stay VARCHAR: DuckDB's INET type loads an extension at run time,
which fails on machines without internet access.
"""

from __future__ import annotations

__all__ = [
    "CONN_COLUMNS",
    "DDL",
    "DNS_COLUMNS",
    "HTTP_COLUMNS",
    "SCHEMA_VERSION",
    "SSL_COLUMNS",
    "TABLES",
]

SCHEMA_VERSION = 1

#: column name -> DuckDB type, in table order.
CONN_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "uid": "VARCHAR",
    "src_ip": "VARCHAR",
    "src_port": "INTEGER",
    "dst_ip": "VARCHAR",
    "dst_port": "INTEGER",
    "proto": "VARCHAR",
    "service": "VARCHAR",
    "duration": "DOUBLE",
    "bytes_out": "BIGINT",
    "bytes_in": "BIGINT",
    "conn_state": "VARCHAR",
    "dst_domain": "VARCHAR",
    "domain_source": "VARCHAR",
    "proxied": "BOOLEAN",
    "src_host": "VARCHAR",
    "log": "VARCHAR",
    "pair_key": "UBIGINT",
}

#: Side tables: the context that names destinations.
DNS_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "uid": "VARCHAR",
    "src_ip": "VARCHAR",
    "query": "VARCHAR",
    "answer": "VARCHAR",
}
SSL_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "uid": "VARCHAR",
    "src_ip": "VARCHAR",
    "src_port": "INTEGER",
    "dst_ip": "VARCHAR",
    "dst_port": "INTEGER",
    "server_name": "VARCHAR",
}
HTTP_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "uid": "VARCHAR",
    "src_ip": "VARCHAR",
    "src_port": "INTEGER",
    "dst_ip": "VARCHAR",
    "dst_port": "INTEGER",
    "trans_depth": "INTEGER",
    "method": "VARCHAR",
    "host": "VARCHAR",
    "uri": "VARCHAR",
    "user_agent": "VARCHAR",
    "bytes_out": "BIGINT",
    "bytes_in": "BIGINT",
}

TABLES: dict[str, dict[str, str]] = {
    "conn": CONN_COLUMNS,
    "dns": DNS_COLUMNS,
    "ssl": SSL_COLUMNS,
    "http": HTTP_COLUMNS,
}


def _create(name: str, columns: dict[str, str]) -> str:
    cols = ", ".join(f"{c} {t}" for c, t in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} ({cols})"


DDL: tuple[str, ...] = (
    *(_create(name, cols) for name, cols in TABLES.items()),
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # One row per input file loaded into this store, so a second run over the
    # same file does not count its connections twice.
    "CREATE TABLE IF NOT EXISTS inputs (path VARCHAR, size BIGINT, mtime DOUBLE,"
    " log VARCHAR, rows BIGINT, loaded_at TIMESTAMP)",
)
