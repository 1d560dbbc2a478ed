"""The `beaconhunt hunt` contract: options, output formats, exit codes and messages."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from beaconhunt.cli import main
from tests.conftest import ZEEK

NDJSON_KEYS = {
    "src_ip", "src_host", "dst_ip", "dst_domain", "dst_port", "process_image", "connections",
    "first_seen", "last_seen", "interval_s", "score", "decision", "reasons",
}  # fmt: skip


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def ndjson(*args: str) -> list[dict[str, object]]:
    code, out, err = run("hunt", *args, "--format", "ndjson", "--min-score", "0")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_ndjson_has_the_stable_keys_and_iso_times() -> None:
    rows = ndjson(str(ZEEK / "basic"))
    assert rows
    for r in rows:
        assert set(r) >= NDJSON_KEYS
        assert r["decision"] in ("escalate", "monitor", "close")
        assert str(r["first_seen"]).endswith("Z") and "T" in str(r["first_seen"])
        for reason in r["reasons"]:  # type: ignore[attr-defined]
            assert set(reason) == {"code", "text", "pivot"}
    beacon = next(r for r in rows if r["dst_domain"] == "c2.badsite.example")
    assert beacon["src_ip"] == "10.1.1.5"
    assert beacon["dst_ip"] == "198.51.100.23"
    assert beacon["connections"] == 30
    assert beacon["process_image"] is None  # unknown values are null, not ""
    assert beacon["first_seen"] == "2026-11-01T08:00:00Z"
    assert beacon["interval_s"] == pytest.approx(60.0, abs=0.5)


def test_internal_to_internal_traffic_is_skipped() -> None:
    rows = ndjson(str(ZEEK / "basic"))
    assert not [r for r in rows if r["dst_ip"] == "10.1.1.1"]


def test_custom_internal_networks() -> None:
    # with only 10.1.1.0/24 internal, 192.168.7.7 is no longer an internal source
    rows = ndjson(str(ZEEK / "relative"), "--internal", "10.1.1.0/24")
    assert rows == []
    rows = ndjson(str(ZEEK / "relative"), "--internal", "192.168.0.0/16")
    assert [r["dst_ip"] for r in rows] == ["198.51.100.99"]


def test_relative_timestamps_note() -> None:
    code, _, err = run("hunt", str(ZEEK / "relative"), "--format", "ndjson")
    assert code == 0
    assert "relative" in err


def test_csv_output_and_formula_cells_are_neutralized(tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    code, _, _ = run("hunt", str(ZEEK / "basic"), "--format", "csv", "-o", str(out),
                     "--min-score", "0")  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {"src_ip", "dst_domain", "score", "decision", "reason_codes"} <= set(rows[0])
    assert any(r["dst_domain"] == "c2.badsite.example" for r in rows)


def test_table_is_the_default_and_escapes_control_characters(tmp_path: Path) -> None:
    # a hostile SNI with an ANSI escape must not reach the terminal raw
    src = (ZEEK / "basic" / "ssl.log").read_text().replace("C2.BadSite.example",
                                                           "evil\x1b[31m.example")  # fmt: skip
    for name in ("conn.log", "dns.log"):
        (tmp_path / name).write_text((ZEEK / "basic" / name).read_text())
    (tmp_path / "ssl.log").write_text(src)
    code, out, _ = run("hunt", str(tmp_path), "--min-score", "0")
    assert code == 0
    assert "\x1b[31m" not in out
    assert "evil\\x1b[31m.example" in out
    assert "beaconhunt findings" in out


def test_allowlist_closes_with_the_entry_as_reason(tmp_path: Path) -> None:
    allow = tmp_path / "allow.txt"
    allow.write_text("# approved\nbadsite.example   # vendor\n198.51.100.0/24\n")
    rows = ndjson(str(ZEEK / "basic"), "--allowlist", str(allow))
    beacon = next(r for r in rows if r["dst_domain"] == "c2.badsite.example")
    assert beacon["decision"] == "close"
    assert beacon["rule"] == "approved-infrastructure"
    reasons = {r["code"]: r["text"] for r in beacon["reasons"]}  # type: ignore[union-attr]
    assert reasons["decision.rule"].startswith("close by rule approved-infrastructure")
    assert "badsite.example (allow.txt:2)" in reasons["allowlist.match"]


def test_bad_allowlist_line_exits_2_with_file_and_line(tmp_path: Path) -> None:
    allow = tmp_path / "allow.txt"
    allow.write_text("good.example\nnot a domain!\n")
    code, _, err = run("hunt", str(ZEEK / "basic"), "--allowlist", str(allow))
    assert code == 2
    assert f"{allow}:2" in err
    assert "Traceback" not in err


def test_bad_window_exits_2() -> None:
    code, _, err = run("hunt", str(ZEEK / "basic"), "--window", "soon")
    assert code == 2 and "duration" in err


def test_window_keeps_only_the_end_of_the_input() -> None:
    full = {r["dst_domain"] or r["dst_ip"]: r for r in ndjson(str(ZEEK / "basic"))}
    last = {r["dst_domain"] or r["dst_ip"]: r for r in ndjson(str(ZEEK / "basic"), "--window",
                                                              "40m")}  # fmt: skip
    assert full["c2.badsite.example"]["connections"] == 30
    # input ends at T0+3330 s (last 5-minute beacon), so the window starts at T0+930:
    # the 60 s beacon's check-ins 16..29 (T0+960 ...) remain
    assert last["c2.badsite.example"]["connections"] == 14


def test_nothing_usable_exits_1_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text("hello\n")
    code, out, err = run("hunt", str(tmp_path / "conn.log"))
    assert code == 1
    assert out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("beaconhunt: no connection records")
    assert "Traceback" not in err


def test_problems_are_reported_once_with_file_and_line(tmp_path: Path) -> None:
    lines = (ZEEK / "basic" / "conn.log").read_text().splitlines()
    lines[12] = lines[12][:30]
    (tmp_path / "conn.log").write_text("\n".join(lines) + "\n")
    code, _, err = run("hunt", str(tmp_path), "--format", "ndjson")
    assert code == 0
    assert err.count(f"{tmp_path / 'conn.log'}:13") == 1
    assert "1 malformed line(s) skipped" in err


def test_db_keeps_the_store_and_does_not_double_count(tmp_path: Path) -> None:
    db = tmp_path / "hunt.duckdb"
    first = ndjson(str(ZEEK / "basic"), "--db", str(db))
    again = ndjson(str(ZEEK / "basic"), "--db", str(db))
    assert db.exists()
    assert [r["connections"] for r in first] == [r["connections"] for r in again]
    # a later run adds new data to what the store holds
    more = ndjson(str(ZEEK / "proxy"), "--db", str(db))
    doms = {r["dst_domain"] for r in more}
    assert {"c2.badsite.example", "c2.proxied.example"} <= doms


def test_config_default_lists_every_section() -> None:
    code, out, _ = run("config", "--default")
    assert code == 0
    for section in ("[hunt]", "[filter]", "[score]", "[decide]"):
        assert section in out
    assert "min_connections = 6" in out


def test_config_file_overrides_and_rejects_unknown(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[hunt]\nmin_score = 0.99\n")
    code, out, _ = run("hunt", str(ZEEK / "basic"), "--config", str(cfg), "--format", "ndjson")
    assert code == 0 and out == ""
    cfg.write_text("[hunt]\nmin_scor = 0.5\n")
    code, _, err = run("hunt", str(ZEEK / "basic"), "--config", str(cfg))
    assert code == 2 and "min_scor" in err
