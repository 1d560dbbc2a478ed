"""Every DNS lookup is kept (query type, response code, resolver), not only address answers."""

from __future__ import annotations

import json
from pathlib import Path

from beaconhunt.ingest.loader import load_paths
from beaconhunt.store.duckdb import DuckDBStore

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query",
          "qtype_name", "rcode_name", "answers", "TTLs", "rejected"]  # fmt: skip
TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "string", "string",
         "vector[string]", "vector[interval]", "bool"]  # fmt: skip
ROWS = [
    # an A lookup with two addresses, a TXT lookup (a DNS beacon's reply), an NXDOMAIN
    ["1762156800.0", "Ca", "10.1.1.5", "53001", "10.10.0.10", "53", "udp", "cdn.example.com",
     "A", "NOERROR", "203.0.113.5,203.0.113.6", "60.0,60.0", "F"],
    ["1762156860.0", "Cb", "10.1.1.5", "53002", "10.10.0.10", "53", "udp",
     "a1b2c3.t.evil.example", "TXT", "NOERROR", "bWFsd2FyZQ==", "0.0", "F"],
    ["1762156920.0", "Cc", "10.1.1.5", "53003", "10.10.0.10", "53", "udp", "qx7z.example.net",
     "A", "NXDOMAIN", "-", "-", "F"],
]  # fmt: skip


def _tsv(path: Path, fields: list[str], types: list[str], rows: list[list[str]]) -> Path:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
            "#unset_field\t-", "#path\tdns", "#fields\t" + "\t".join(fields),
            "#types\t" + "\t".join(types)]  # fmt: skip
    path.write_text("\n".join(head + ["\t".join(r) for r in rows]) + "\n", encoding="utf-8")
    return path


def _lookups(store: DuckDBStore) -> list[tuple[object, ...]]:
    return store.con.execute(
        "SELECT src_ip, resolver, query, qtype, rcode, answers FROM dns_lookup ORDER BY ts"
    ).fetchall()


EXPECTED = [
    ("10.1.1.5", "10.10.0.10", "cdn.example.com", "A", "NOERROR", "203.0.113.5,203.0.113.6"),
    ("10.1.1.5", "10.10.0.10", "a1b2c3.t.evil.example", "TXT", "NOERROR", "bWFsd2FyZQ=="),
    ("10.1.1.5", "10.10.0.10", "qx7z.example.net", "A", "NXDOMAIN", None),
]


def test_tsv_lookups_are_all_kept(tmp_path: Path) -> None:
    store = DuckDBStore()
    load_paths([_tsv(tmp_path / "dns.log", FIELDS, TYPES, ROWS)], store)
    assert _lookups(store) == EXPECTED
    # the address answers that name connections, as before: two rows for the A lookup
    assert store.count("dns") == 2


def test_json_lookups_are_all_kept(tmp_path: Path) -> None:
    lines = []
    for r in ROWS:
        rec = dict(zip(FIELDS, r, strict=True))
        obj = {"_path": "dns", "ts": float(rec["ts"]), "uid": rec["uid"],
               "id.orig_h": rec["id.orig_h"], "id.orig_p": int(rec["id.orig_p"]),
               "id.resp_h": rec["id.resp_h"], "id.resp_p": 53, "proto": "udp",
               "query": rec["query"], "qtype_name": rec["qtype_name"],
               "rcode_name": rec["rcode_name"]}  # fmt: skip
        if rec["answers"] != "-":
            obj["answers"] = rec["answers"].split(",")
        lines.append(json.dumps(obj))
    (tmp_path / "dns.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = DuckDBStore()
    load_paths([tmp_path / "dns.json"], store)
    assert _lookups(store) == EXPECTED
    assert store.count("dns") == 2


def test_a_dns_log_without_type_columns_still_loads(tmp_path: Path) -> None:
    keep = [i for i, f in enumerate(FIELDS) if f not in ("qtype_name", "rcode_name")]
    path = _tsv(tmp_path / "dns.log", [FIELDS[i] for i in keep], [TYPES[i] for i in keep],
                [[r[i] for i in keep] for r in ROWS])  # fmt: skip
    store = DuckDBStore()
    report = load_paths([path], store)
    assert report.problems == []
    assert [(q, t, c) for _, _, q, t, c, _ in _lookups(store)] == [
        ("cdn.example.com", None, None), ("a1b2c3.t.evil.example", None, None),
        ("qx7z.example.net", None, None),
    ]  # fmt: skip


def test_lookups_persist_in_a_db_store(tmp_path: Path) -> None:
    db = tmp_path / "hunt.duckdb"
    store = DuckDBStore(db)
    load_paths([_tsv(tmp_path / "dns.log", FIELDS, TYPES, ROWS)], store)
    store.close()
    again = DuckDBStore(db)
    try:
        assert _lookups(again) == EXPECTED
    finally:
        again.close()
