"""Endpoint telemetry in the network picture: Sysmon event 3 as connections,
and the join that names the process behind a network connection.

Two uses of the same records:

* **Endpoint-only hosts.** Where no network sensor saw a host (no Zeek conn
  row has it as a source), its Sysmon event 3 records (outbound, ``Initiated``
  true) become the connection rows, named by the DNS answer (event 22) the
  same host received for that address most recently before connecting, and
  grouped per process image as well as per destination.
* **Attribution.** A network connection seen by Zeek is matched to the event
  3 that describes it: same source IP, destination IP and port (the proxy's
  address for proxied requests, whose port Sysmon sees as the proxy port),
  same source port where both know it, and start times within a tolerance
  that survives a few seconds of clock skew between sensor and endpoint. When
  several events qualify, the closest in time wins. A row of a proxy's own log
  (Squid, W3C) is also matched to the client's event to the proxy
  (:data:`ATTRIBUTION_SQL` says how the proxy is found). Event 1 (joined on
  ``(host, ProcessGuid)``, never the PID alone: PIDs are reused) adds the
  command line, user and parent.
"""

from __future__ import annotations

from beaconhunt.normalize.destination import PAIR_KEY

__all__ = ["ATTRIBUTION_SQL", "ENDPOINT_CONN_INSERT", "PROXY_LOGS", "SYSMON_DNS_MAP"]

#: One row per (host, answer IP) of Sysmon DNS queries (event 22). Sysmon's
#: QueryResults reads like ``type:  5 cdn.example.net;::ffff:203.0.113.7;``.
SYSMON_DNS_MAP = """
CREATE OR REPLACE TEMP TABLE _sysmon_dns AS
SELECT DISTINCT host, ts, lower(query_name) AS query,
       regexp_replace(trim(a), '^::ffff:', '') AS answer
FROM (SELECT host, ts, query_name, unnest(string_split(coalesce(query_results, ''), ';')) AS a
      FROM dns_query WHERE query_name IS NOT NULL AND query_name <> '')
WHERE regexp_matches(regexp_replace(trim(a), '^::ffff:', ''),
                     '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)$')
"""

ENDPOINT_CONN_INSERT = f"""
INSERT INTO conn BY NAME
SELECT *, {PAIR_KEY} AS pair_key FROM (
  SELECT n.ts, NULL AS uid, n.src_ip, n.src_port, n.dst_ip, n.dst_port, lower(n.proto) AS proto,
         NULL AS service, NULL AS duration, NULL AS bytes_out, NULL AS bytes_in,
         NULL AS conn_state, q.query AS dst_domain,
         CASE WHEN q.query IS NOT NULL THEN 'dns' END AS domain_source, false AS proxied,
         n.host AS src_host, 'sysmon' AS log, n.image AS process_image,
         n.process_guid AS process_guid
  FROM net_conn n
  ASOF LEFT JOIN _sysmon_dns q ON n.host = q.host AND n.dst_ip = q.answer AND n.ts >= q.ts
  WHERE coalesce(n.initiated, true) AND n.src_ip IS NOT NULL AND n.dst_ip IS NOT NULL
    AND n.src_ip NOT IN (SELECT DISTINCT src_ip FROM conn WHERE log <> 'sysmon'
                         AND src_ip IS NOT NULL)
    AND NOT EXISTS (
      SELECT 1 FROM conn c WHERE c.log = 'sysmon' AND c.process_guid = n.process_guid
        AND c.ts = n.ts AND c.dst_ip = n.dst_ip AND c.dst_port = n.dst_port
        AND c.src_port IS NOT DISTINCT FROM n.src_port)
)
"""

#: Logs written by a web proxy: their rows name the requested host and the upstream server,
#: while the client's Sysmon event 3 shows the connection to the proxy itself.
PROXY_LOGS = ("squid", "w3c")

#: Per reported pair (``_rep``: pair_id, pair_key) and process, how many of the
#: pair's connections were matched. Parameters: start, end, then the tolerance six times.
#:
#: Rows of a proxy's own log (:data:`PROXY_LOGS`) are matched two ways: directly,
#: like the others (a transparent proxy, or Sysmon seeing the upstream address), and
#: through the proxy: an event 3 of the same client within the tolerance to the
#: proxy's address and port. Proxy logs rarely say where the proxy listens, so the
#: endpoint is inferred: the TCP (address, port) that the client's events reach around
#: at least half of the proxy-log rows that have any TCP event around them (not the
#: DNS lookups that often precede a request: those are UDP).
ATTRIBUTION_SQL = (
    """
WITH rows AS (
  SELECT row_number() OVER () AS rid, p.pair_id, c.ts, c.src_ip, c.src_port, c.dst_ip,
         c.dst_port, c.proxied, c.log, c.process_guid, c.process_image, c.src_host,
         c.log IN ("""
    + ", ".join(f"'{name}'" for name in PROXY_LOGS)
    + """) AS via_proxy_log
  FROM conn c JOIN _rep p ON c.pair_key = p.pair_key
  WHERE c.ts BETWEEN ? AND ?
),
around_proxy_rows AS (
  SELECT r.rid, n.dst_ip, n.dst_port
  FROM rows r JOIN net_conn n
    ON n.src_ip = r.src_ip AND n.ts BETWEEN r.ts - ? AND r.ts + ?
  WHERE r.via_proxy_log AND coalesce(n.initiated, true) AND lower(n.proto) = 'tcp'
),
proxy_endpoints AS (
  SELECT dst_ip, dst_port FROM around_proxy_rows GROUP BY dst_ip, dst_port
  HAVING count(DISTINCT rid) * 2 >= (SELECT count(DISTINCT rid) FROM around_proxy_rows)
),
candidates AS (
  SELECT r.rid, r.pair_id, n.host, n.process_guid, n.image, n.pid, n.user,
         abs(n.ts - r.ts) AS dt
  FROM rows r JOIN net_conn n
    ON n.src_ip = r.src_ip AND n.dst_ip = r.dst_ip
   AND (r.proxied OR n.dst_port = r.dst_port)
   AND (r.src_port IS NULL OR n.src_port IS NULL OR n.src_port = r.src_port)
   AND n.ts BETWEEN r.ts - ? AND r.ts + ?
  WHERE r.log <> 'sysmon'
  UNION ALL
  SELECT r.rid, r.pair_id, n.host, n.process_guid, n.image, n.pid, n.user,
         abs(n.ts - r.ts) AS dt
  FROM rows r JOIN net_conn n
    ON n.src_ip = r.src_ip AND n.ts BETWEEN r.ts - ? AND r.ts + ?
  JOIN proxy_endpoints e ON n.dst_ip = e.dst_ip AND n.dst_port = e.dst_port
  WHERE r.via_proxy_log AND coalesce(n.initiated, true)
),
network AS (
  SELECT rid, pair_id,
         arg_min(host, dt) AS host, arg_min(process_guid, dt) AS process_guid,
         arg_min(image, dt) AS image, arg_min(pid, dt) AS pid, arg_min(user, dt) AS user
  FROM candidates
  GROUP BY rid, pair_id
),
endpoint AS (
  SELECT r.rid, r.pair_id, r.src_host AS host, r.process_guid, r.process_image AS image,
         NULL::BIGINT AS pid, NULL::VARCHAR AS user
  FROM rows r WHERE r.log = 'sysmon'
),
matched AS (SELECT * FROM network UNION ALL SELECT * FROM endpoint),
per_process AS (
  SELECT pair_id, host, process_guid, any_value(image) AS image, any_value(pid) AS pid,
         any_value(user) AS user, count(*) AS n
  FROM matched GROUP BY pair_id, host, process_guid
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
  FROM proc_create GROUP BY host, process_guid
),
totals AS (SELECT pair_id, count(*) AS total FROM rows GROUP BY pair_id)
SELECT g.pair_id, g.host, g.process_guid, coalesce(g.image, pc.image) AS image,
       coalesce(g.pid, pc.pid) AS pid, coalesce(g.user, pc.user) AS user,
       pc.command_line, pc.parent_image, pc.parent_command_line, pc.current_directory,
       pc.original_file_name, pc.company, pc.product, pc.description, pc.integrity_level,
       g.n, t.total
FROM per_process g
JOIN totals t USING (pair_id)
LEFT JOIN created pc ON pc.host = g.host AND pc.process_guid = g.process_guid
ORDER BY g.pair_id, g.n DESC, image
"""
)
