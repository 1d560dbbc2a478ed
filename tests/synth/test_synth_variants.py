"""Determinism, output variants (rotated gzip, JSON lines), speed and default size."""

from __future__ import annotations

import gzip
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from synth_helpers import read_log

from beaconhunt.synth import SCHEMAS, GenerationSummary, Scenario, generate


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    s = Scenario(hosts=12, days=0.1, seed=11, campaign_hosts=2, streaming_users=1)
    generate(tmp_path / "a", s)
    generate(tmp_path / "b", s)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) == 9
    assert a == b


def test_same_seed_same_bytes_rotated(tmp_path: Path) -> None:
    s = Scenario(hosts=10, days=0.1, seed=4, campaign_hosts=1, streaming_users=0)
    generate(tmp_path / "a", s, rotate=True)
    generate(tmp_path / "b", s, rotate=True)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_other_seed_other_traffic(tmp_path: Path) -> None:
    s = Scenario(hosts=10, days=0.1, seed=1, campaign_hosts=1, streaming_users=0)
    generate(tmp_path / "a", s)
    generate(
        tmp_path / "b", Scenario(hosts=10, days=0.1, seed=2, campaign_hosts=1, streaming_users=0)
    )
    assert (tmp_path / "a" / "conn.log").read_bytes() != (tmp_path / "b" / "conn.log").read_bytes()


_ARCHIVE = re.compile(r"^(conn|dns|ssl|http)\.(\d\d):00:00-(\d\d):00:00\.log\.gz$")


def test_rotated_archives_are_zeek_named_and_hourly(
    small_rotated: GenerationSummary, small_tsv: GenerationSummary
) -> None:
    logs = [p for p in small_rotated.paths if p.name.endswith(".log.gz")]
    assert {p.parent.name for p in logs} == {"2026-11-03"}
    total: dict[str, int] = {}
    for p in logs:
        m = _ARCHIVE.match(p.name)
        assert m, p.name
        name, h0, h1 = m.group(1), int(m.group(2)), int(m.group(3))
        assert h1 == (h0 + 1) % 24
        log = read_log(p)  # gzip + column counts checked here
        assert log.header[5] == f"#open\t2026-11-03-{h0:02d}-00-00"
        assert [f for f, _ in SCHEMAS[name]] == log.fields
        hours = {datetime.fromtimestamp(float(t), UTC).hour for t in log.column("ts")}
        assert hours == {h0}
        total[name] = total.get(name, 0) + len(log.rows)
    assert total == {k: v for k, v in small_tsv.counts.items() if k != "labels"}
    assert (small_rotated.out_dir / "labels.csv").exists()


def test_rotated_gzip_is_valid(small_rotated: GenerationSummary) -> None:
    for p in small_rotated.paths:
        if p.suffix == ".gz":
            gzip.decompress(p.read_bytes())


def test_json_lines_parse_with_zeek_keys(
    small_json: GenerationSummary, small_tsv: GenerationSummary
) -> None:
    for name in ("conn", "dns", "ssl", "http"):
        lines = (small_json.out_dir / f"{name}.log").read_text().splitlines()
        assert len(lines) == small_tsv.counts[name]
        recs = [json.loads(ln) for ln in lines]
        allowed = {f for f, _ in SCHEMAS[name]} | {"_path"}
        for rec in recs:
            assert rec["_path"] == name
            assert {"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"} <= rec.keys()
            assert set(rec) <= allowed
            assert isinstance(rec["ts"], float) and isinstance(rec["id.resp_p"], int)
        if name == "dns":
            assert all(isinstance(r["answers"], list) for r in recs)
            assert all(isinstance(t, float) for r in recs for t in r["TTLs"])
        if name == "conn":
            assert all(isinstance(r["local_orig"], bool) for r in recs)


def test_json_matches_tsv_values(
    small_json: GenerationSummary, small_tsv: GenerationSummary
) -> None:
    tsv = read_log(small_tsv.out_dir / "conn.log").records()
    js = [json.loads(ln) for ln in (small_json.out_dir / "conn.log").read_text().splitlines()]
    for t, j in zip(tsv[:500], js[:500], strict=False):
        assert t["uid"] == j["uid"] and t["id.resp_h"] == j["id.resp_h"]
        assert int(t["orig_bytes"]) == j["orig_bytes"]


def test_small_scenario_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    summary = generate(tmp_path, Scenario.small(seed=9))
    assert time.perf_counter() - started < 3.0
    assert summary.counts["conn"] > 5000


def test_bad_format_is_a_config_error(tmp_path: Path) -> None:
    from beaconhunt.errors import ConfigError

    with pytest.raises(ConfigError, match="log_format"):
        generate(tmp_path, Scenario.small(), log_format="csv")  # type: ignore[arg-type]


def test_unwritable_output_is_a_config_error(tmp_path: Path) -> None:
    from beaconhunt.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write"):
        generate(blocker / "out", Scenario(hosts=10, days=0.02, campaign_hosts=1))


def test_default_demo_size_and_speed(tmp_path: Path) -> None:
    """The default demo: ~40 hosts, one day, 100k-300k connections in a few seconds."""
    summary = generate(tmp_path, Scenario())
    assert 100_000 <= summary.counts["conn"] <= 300_000
    assert summary.seconds < 15.0
    assert len(summary.beacons) == 5
    assert sum(len(b.hosts) for b in summary.beacons) == 7
