"""One session, one connection row: joining what flow exporters and Zeek split.

**Flow exporters split long sessions.** A NetFlow/IPFIX exporter expires a flow
that has been active for its *active timeout* and starts a new record with the
next packet (Cisco's default active timeout is 30 minutes, inactive 15 s; Junos
1800 s / 60 s; IPFIX says why in ``flowEndReason``: 2 = active timeout, RFC 5102).
A reverse shell held for ten hours is exported as twenty consecutive records of
the same 5-tuple, each starting within seconds of the previous one's end: to a
beacon detector, a perfect 30-minute beacon. :data:`JOIN_FLOW_SPLITS` joins them
back before they are stored: records of one 5-tuple (source and destination
address and port, protocol) whose start is at most :data:`JOIN_GAP_S` after the
previous record's end become one connection (earliest start, latest end, bytes
and packets summed, the last record's state), when at least one record of the
5-tuple lasted :data:`SPLIT_MIN_S` or more. Short records (NTP polls from port
123, DNS) are never joined: a split needs a record the exporter cut for being
long. Source ports are ephemeral and the 5-tuple is reused only after the OS
has cycled through its range, so distinct connections are not merged.

**Zeek's long-connections package** (``conn_long.log``) writes the full conn
record of connections still open at growing durations (about 10 min, 40 min,
1 h 40 min...), with the connection's own uid; the final ``conn.log`` record
has the same uid. ``conn_long.log`` (Zeek TSV) is read as connections, and
:data:`DEDUPE_BY_UID` then keeps one row per uid, the longest: the final
``conn.log`` record when the connection ended within the capture, else the
latest ``conn_long`` record.

Both are SQL over the staging and ``conn`` tables, with no attacker-controlled
text formatted in.
"""

from __future__ import annotations

__all__ = ["DEDUPE_BY_UID", "JOIN_FLOW_SPLITS", "JOIN_GAP_S", "SPLIT_MIN_S"]

#: A record that starts at most this many seconds after the previous record of its
#: 5-tuple ended continues it (the active-timeout export happens at the next packet).
JOIN_GAP_S = 60.0
#: Records are joined only for 5-tuples with a record at least this long: the
#: shortest active timeout exporters allow is one minute.
SPLIT_MIN_S = 55.0

_KEY = "src_ip, src_port, dst_ip, dst_port, proto"

#: Statements (run in order) that replace split records in ``_flows`` by their sessions.
JOIN_FLOW_SPLITS: tuple[str, ...] = (
    f"""
CREATE OR REPLACE TEMP TABLE _split AS
WITH keys AS (
  SELECT DISTINCT {_KEY} FROM _flows
  WHERE duration >= {SPLIT_MIN_S} AND src_port IS NOT NULL AND dst_port IS NOT NULL
),
rows AS (
  SELECT f.rowid AS rid, f.*, f.ts + coalesce(f.duration, 0) AS te
  FROM _flows f SEMI JOIN keys USING ({_KEY})
),
marked AS (
  SELECT *, CASE WHEN ts <= max(te) OVER (PARTITION BY {_KEY} ORDER BY ts, rid
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + {JOIN_GAP_S}
            THEN 0 ELSE 1 END AS brk
  FROM rows
)
SELECT *, sum(brk) OVER (PARTITION BY {_KEY} ORDER BY ts, rid
                         ROWS UNBOUNDED PRECEDING) AS sess
FROM marked
""",
    f"""
CREATE OR REPLACE TEMP TABLE _joined AS
SELECT min(ts) AS ts, arg_min(uid, ts) AS uid, {_KEY},
       arg_max(service, ts) FILTER (WHERE service IS NOT NULL) AS service,
       max(te) - min(ts) AS duration, sum(bytes_out) AS bytes_out, sum(bytes_in) AS bytes_in,
       arg_max(conn_state, te) AS conn_state,
       arg_min(dst_domain, ts) FILTER (WHERE dst_domain IS NOT NULL) AS dst_domain,
       arg_min(domain_source, ts) FILTER (WHERE dst_domain IS NOT NULL) AS domain_source,
       bool_or(proxied) AS proxied, arg_min(src_host, ts) AS src_host,
       sum(pkts_out) AS pkts_out, sum(pkts_in) AS pkts_in, arg_min(log, ts) AS log,
       list(rid) AS rids
FROM _split GROUP BY {_KEY}, sess HAVING count(*) > 1
""",
    "DELETE FROM _flows WHERE rowid IN (SELECT unnest(rids) FROM _joined)",
    "INSERT INTO _flows BY NAME SELECT * EXCLUDE (rids) FROM _joined",
    "DROP TABLE IF EXISTS _split",
    "DROP TABLE IF EXISTS _joined",
)

#: Keeps one ``conn`` row per uid (the longest) when a ``conn_long.log`` was loaded
#: beside ``conn.log``: the package repeats the full record of a connection still open.
DEDUPE_BY_UID = """
DELETE FROM conn WHERE rowid IN (
  SELECT rid FROM (
    SELECT rowid AS rid,
           row_number() OVER (PARTITION BY uid ORDER BY duration DESC NULLS LAST, rowid) AS rn
    FROM conn
    WHERE uid IN (SELECT uid FROM conn WHERE uid IS NOT NULL GROUP BY uid HAVING count(*) > 1)
  ) WHERE rn > 1
)
"""
