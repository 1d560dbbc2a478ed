"""How Zeek's fields map onto the normalized tables (see :mod:`beaconhunt.store.schema`).

Zeek TSV and JSON use dotted names (``id.orig_h``); the JSON-streaming writer
(corelight's ``json-streaming-logs`` package) uses underscores (``id_orig_h``).
Both map to the same column.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = [
    "DEFAULT_CONN_FIELDS",
    "FIELD_MAPS",
    "json_key_variants",
    "parse_zeek_time",
]

#: schema column -> Zeek field name, per log.
FIELD_MAPS: dict[str, dict[str, str]] = {
    "conn": {
        "ts": "ts",
        "uid": "uid",
        "src_ip": "id.orig_h",
        "src_port": "id.orig_p",
        "dst_ip": "id.resp_h",
        "dst_port": "id.resp_p",
        "proto": "proto",
        "service": "service",
        "duration": "duration",
        "bytes_out": "orig_bytes",
        "bytes_in": "resp_bytes",
        "conn_state": "conn_state",
        "pkts_out": "orig_pkts",
        "pkts_in": "resp_pkts",
    },
    "dns": {
        "ts": "ts",
        "uid": "uid",
        "src_ip": "id.orig_h",
        "query": "query",
        "answer": "answers",
        "resolver": "id.resp_h",
        "qtype": "qtype_name",
        "rcode": "rcode_name",
    },
    "ssl": {
        "ts": "ts",
        "uid": "uid",
        "src_ip": "id.orig_h",
        "src_port": "id.orig_p",
        "dst_ip": "id.resp_h",
        "dst_port": "id.resp_p",
        "server_name": "server_name",
        "ja3": "ja3",
        "ja3s": "ja3s",
        "ja4": "ja4",
        "ja4s": "ja4s",
        "subject": "subject",
        "issuer": "issuer",
    },
    "http": {
        "ts": "ts",
        "uid": "uid",
        "src_ip": "id.orig_h",
        "src_port": "id.orig_p",
        "dst_ip": "id.resp_h",
        "dst_port": "id.resp_p",
        "trans_depth": "trans_depth",
        "method": "method",
        "host": "host",
        "uri": "uri",
        "user_agent": "user_agent",
        "bytes_out": "request_body_len",
        "bytes_in": "response_body_len",
    },
}

#: Zeek's conn.log columns in the order Zeek writes them, for a file whose
#: header was cut off. Only the first twelve matter here and they have not
#: changed since Bro 2.x.
DEFAULT_CONN_FIELDS: tuple[str, ...] = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents",
)  # fmt: skip


def json_key_variants(field: str) -> tuple[str, ...]:
    """The keys a Zeek field may have in JSON: ``id.orig_h`` and ``id_orig_h``."""
    if "." in field:
        return (field, field.replace(".", "_"))
    return (field,)


def parse_zeek_time(value: object) -> float | None:
    """Epoch seconds from a Zeek ``time`` value: a number, a numeric string, or
    ISO 8601 (Zeek's ``JSON::TS_ISO8601`` mode, e.g. ``2020-05-01T07:03:10.123456Z``).
    Returns ``None`` when the value is not a time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return None
