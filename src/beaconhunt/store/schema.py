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
log               VARCHAR    which log the row came from: conn, http, ssl,
                             sysmon (endpoint-only hosts)
process_image     VARCHAR    the process that made the connection, when
                             the row comes from Sysmon event 3 (else NULL)
process_guid      VARCHAR    its Sysmon ProcessGuid
pair_key          UBIGINT    64-bit hash of (src_ip, dst_domain or dst_ip,
                             dst_port, proto, process_image): the pair the
                             row belongs to,
                             so grouping and joining use one integer
pkts_out          BIGINT     packets sent by the originator (Zeek orig_pkts)
pkts_in           BIGINT     packets sent by the responder (resp_pkts)
================  =========  ===============================================

New columns are only ever added at the end of a table: a store written by an
earlier version gets them (as NULL for its old rows) with ``ALTER TABLE ...
ADD COLUMN`` when it is opened (:data:`MIGRATIONS`), and inserts name their
columns (``INSERT ... BY NAME``) or list them in schema order.

IP addresses stay VARCHAR: DuckDB's INET type loads an extension at run time,
which fails on machines without internet access.
"""

from __future__ import annotations

__all__ = [
    "CLOSED_STATES",
    "CONN_COLUMNS",
    "DDL",
    "DNS_COLUMNS",
    "DNS_LOOKUP_COLUMNS",
    "HTTP_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SSL_COLUMNS",
    "SYSMON_EVENT_TABLES",
    "SYSMON_TABLES",
    "TABLES",
]

SCHEMA_VERSION = 1

#: ``conn_state`` values that mean the connection was closed (Zeek: normal close,
#: resets, rejects, half-closes, no reply; Suricata flow state ``closed``). Anything
#: else may still be open: Zeek writes connections open at shutdown with S1, S2, S3
#: or OTH, Suricata's flow is ``established``, flow exporters give no state.
CLOSED_STATES = frozenset(
    {"SF", "REJ", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "S0", "closed"}
)

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
    "process_image": "VARCHAR",
    "process_guid": "VARCHAR",
    "pair_key": "UBIGINT",
    "pkts_out": "BIGINT",
    "pkts_in": "BIGINT",
}

#: Side tables: the context that names destinations.
DNS_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "uid": "VARCHAR",
    "src_ip": "VARCHAR",
    "query": "VARCHAR",
    "answer": "VARCHAR",
}
#: Every DNS lookup as the sensor logged it, answered or not (``dns`` keeps only the
#: address answers, for naming connections): what the DNS detector reads.
DNS_LOOKUP_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "uid": "VARCHAR",
    "src_ip": "VARCHAR",
    "resolver": "VARCHAR",
    "query": "VARCHAR",
    "qtype": "VARCHAR",
    "rcode": "VARCHAR",
    "answers": "VARCHAR",
}
SSL_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "uid": "VARCHAR",
    "src_ip": "VARCHAR",
    "src_port": "INTEGER",
    "dst_ip": "VARCHAR",
    "dst_port": "INTEGER",
    "server_name": "VARCHAR",
    # client and server fingerprints (Zeek's ja3 / ja4 packages, Suricata's tls.ja3/ja4)
    # and the server certificate's subject and issuer, where the sensor logs them
    "ja3": "VARCHAR",
    "ja3s": "VARCHAR",
    "ja4": "VARCHAR",
    "ja4s": "VARCHAR",
    "subject": "VARCHAR",
    "issuer": "VARCHAR",
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

# -- endpoint telemetry (Sysmon, Microsoft-Windows-Sysmon/Operational) ---------------------
# Times are epoch seconds UTC (Sysmon's UtcTime). ``host`` is the event's
# Computer name as written (often an FQDN). Joins between tables use
# (host, process_guid), never the PID alone: PIDs are reused.

#: Event 1, process creation.
PROC_CREATE_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "host": "VARCHAR",
    "process_guid": "VARCHAR",
    "pid": "BIGINT",
    "image": "VARCHAR",
    "command_line": "VARCHAR",
    "user": "VARCHAR",
    "current_directory": "VARCHAR",
    "integrity_level": "VARCHAR",
    "hashes": "VARCHAR",
    "parent_guid": "VARCHAR",
    "parent_pid": "BIGINT",
    "parent_image": "VARCHAR",
    "parent_command_line": "VARCHAR",
    # PE version information Sysmon reads from the image (schema 4.x and later)
    "original_file_name": "VARCHAR",
    "company": "VARCHAR",
    "product": "VARCHAR",
    "description": "VARCHAR",
    "file_version": "VARCHAR",
}
#: Event 3, network connection.
NET_CONN_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "host": "VARCHAR",
    "process_guid": "VARCHAR",
    "pid": "BIGINT",
    "image": "VARCHAR",
    "user": "VARCHAR",
    "proto": "VARCHAR",
    "initiated": "BOOLEAN",
    "src_ip": "VARCHAR",
    "src_port": "INTEGER",
    "src_hostname": "VARCHAR",
    "dst_ip": "VARCHAR",
    "dst_port": "INTEGER",
    "dst_hostname": "VARCHAR",
}
#: Event 5, process terminated.
PROC_END_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "host": "VARCHAR",
    "process_guid": "VARCHAR",
    "pid": "BIGINT",
    "image": "VARCHAR",
}
#: Event 11, file created (startup-folder persistence).
FILE_CREATE_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "host": "VARCHAR",
    "process_guid": "VARCHAR",
    "pid": "BIGINT",
    "image": "VARCHAR",
    "target_filename": "VARCHAR",
}
#: Event 13, registry value set (Run-key and service persistence).
REG_SET_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "host": "VARCHAR",
    "process_guid": "VARCHAR",
    "pid": "BIGINT",
    "image": "VARCHAR",
    "event_type": "VARCHAR",
    "target_object": "VARCHAR",
    "details": "VARCHAR",
}
#: Event 22, DNS query by a process.
DNS_QUERY_COLUMNS: dict[str, str] = {
    "ts": "DOUBLE",
    "host": "VARCHAR",
    "process_guid": "VARCHAR",
    "pid": "BIGINT",
    "image": "VARCHAR",
    "query_name": "VARCHAR",
    "query_status": "VARCHAR",
    "query_results": "VARCHAR",
}

#: Sysmon event ID -> table it fills.
SYSMON_EVENT_TABLES: dict[int, str] = {
    1: "proc_create",
    3: "net_conn",
    5: "proc_end",
    11: "file_create",
    13: "reg_set",
    22: "dns_query",
}

SYSMON_TABLES: dict[str, dict[str, str]] = {
    "proc_create": PROC_CREATE_COLUMNS,
    "net_conn": NET_CONN_COLUMNS,
    "proc_end": PROC_END_COLUMNS,
    "file_create": FILE_CREATE_COLUMNS,
    "reg_set": REG_SET_COLUMNS,
    "dns_query": DNS_QUERY_COLUMNS,
}

TABLES: dict[str, dict[str, str]] = {
    "conn": CONN_COLUMNS,
    "dns": DNS_COLUMNS,
    "dns_lookup": DNS_LOOKUP_COLUMNS,
    "ssl": SSL_COLUMNS,
    "http": HTTP_COLUMNS,
    **SYSMON_TABLES,
}


def _create(name: str, columns: dict[str, str]) -> str:
    cols = ", ".join(f"{c} {t}" for c, t in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} ({cols})"


#: Columns added after the first release, per table: a store made before them gets
#: them on open (``ALTER TABLE ... ADD COLUMN IF NOT EXISTS``), NULL for old rows.
_ADDED: dict[str, tuple[str, ...]] = {
    "conn": ("pkts_out", "pkts_in"),
    "ssl": ("ja3", "ja3s", "ja4", "ja4s", "subject", "issuer"),
    "proc_create": ("original_file_name", "company", "product", "description", "file_version"),
}
MIGRATIONS: tuple[str, ...] = tuple(
    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {col} {TABLES[table][col]}"
    for table, cols in _ADDED.items()
    for col in cols
)

DDL: tuple[str, ...] = (
    *(_create(name, cols) for name, cols in TABLES.items()),
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # One row per input file loaded into this store, so a second run over the
    # same file does not count its connections twice.
    "CREATE TABLE IF NOT EXISTS inputs (path VARCHAR, size BIGINT, mtime DOUBLE,"
    " log VARCHAR, rows BIGINT, loaded_at TIMESTAMP)",
)
