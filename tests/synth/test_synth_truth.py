"""Ground truth (labels.csv), hidden beacons and context files agree with the logs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from synth_helpers import ZeekTsv, read_csv

from beaconhunt.synth import FAMILIES, GenerationSummary, ImplantMix, Scenario, generate


def test_labels_cover_every_connection(
    small_tsv: GenerationSummary, small_logs: dict[str, ZeekTsv]
) -> None:
    labels = read_csv(small_tsv.out_dir / "labels.csv")
    assert sum(int(r["connections"]) for r in labels) == len(small_logs["conn"].rows)
    conn_pairs = Counter(
        (r["id.orig_h"], r["id.resp_h"], r["id.resp_p"]) for r in small_logs["conn"].records()
    )
    label_pairs: Counter[tuple[str, str, str]] = Counter()
    for r in labels:
        label_pairs[(r["src_ip"], r["dst_ip"], r["dst_port"])] += int(r["connections"])
    assert label_pairs == conn_pairs


def test_labels_cover_every_implant(small_tsv: GenerationSummary) -> None:
    labels = read_csv(small_tsv.out_dir / "labels.csv")
    assert {b.family for b in small_tsv.beacons} == set(FAMILIES)
    for b in small_tsv.beacons:
        for src in b.src_ips:
            rows = [r for r in labels if r["src_ip"] == src and r["kind"] == b.family]
            assert rows, f"{b.family} on {src} has no label"
            assert {r["dst"] for r in rows} == {b.dst}
            assert {r["dst_ip"] for r in rows} == {b.dst_ip}
            assert all(r["decision"] == "escalate" for r in rows)
            assert all(r["process"].startswith("C:\\") for r in rows)
        got = sum(int(r["connections"]) for r in labels if r["kind"] == b.family)
        assert got == b.connections


def test_only_implants_escalate(small_tsv: GenerationSummary) -> None:
    labels = read_csv(small_tsv.out_dir / "labels.csv")
    escalate = {r["kind"] for r in labels if r["decision"] == "escalate"}
    assert escalate == set(FAMILIES)
    assert {r["decision"] for r in labels} == {"escalate", "monitor", "close"}
    assert {"browsing", "edr_checkin", "ntp", "internal_dns"} <= {r["kind"] for r in labels}


def test_tradecraft_variety(small_tsv: GenerationSummary, small_logs: dict[str, ZeekTsv]) -> None:
    by_family = {b.family: b for b in small_tsv.beacons}
    queried = set(small_logs["dns"].column("query"))
    answered = {a for v in small_logs["dns"].column("answers") for a in v.split(",")}
    # direct-IP implants: no lookup ever returns their address, and no SNI
    for fam in ("sliver", "meterpreter"):
        assert by_family[fam].dst == by_family[fam].dst_ip
        assert by_family[fam].dst_ip not in answered
    sliver_ssl = [
        r for r in small_logs["ssl"].records() if r["id.resp_h"] == by_family["sliver"].dst_ip
    ]
    assert sliver_ssl and all(r["server_name"] == "-" for r in sliver_ssl)
    # domain implants are looked up first
    for fam in ("cobalt_strike", "havoc", "mythic"):
        assert by_family[fam].dst in queried
    # the fronted C2 shares its CDN address with benign browsing
    labels = read_csv(small_tsv.out_dir / "labels.csv")
    cs_ip = by_family["cobalt_strike"].dst_ip
    assert any(r["kind"] == "browsing" and r["dst_ip"] == cs_ip for r in labels)
    # the campaign: one C2 reached from several hosts
    assert len(by_family["mythic"].hosts) == 2


def test_havoc_sleeps_outside_working_hours(
    small_tsv: GenerationSummary, small_logs: dict[str, ZeekTsv]
) -> None:
    havoc = next(b for b in small_tsv.beacons if b.family == "havoc")
    hours = {
        datetime.fromtimestamp(float(r["ts"]), UTC).hour
        for r in small_logs["conn"].records()
        if r["id.resp_h"] == havoc.dst_ip
    }
    assert hours and min(hours) >= 8


def test_context_files(small_tsv: GenerationSummary, small_scenario: Scenario) -> None:
    out = small_tsv.out_dir
    assets = read_csv(out / "assets.csv")
    assert list(assets[0]) == ["hostname", "ip", "role", "owner", "criticality"]
    assert len(assets) == small_scenario.hosts
    allow = [ln for ln in (out / "allowlist.txt").read_text().splitlines() if ln and ln[0] != "#"]
    assert "ts01-b.cloudsink.net" in allow and not any(" " in a for a in allow)
    whois = {r["domain"]: date.fromisoformat(r["created"]) for r in read_csv(out / "whois.csv")}
    start = datetime.fromtimestamp(small_scenario.start, UTC).date()
    for b in small_tsv.beacons:
        if b.dst != b.dst_ip:
            registered = ".".join(b.dst.split(".")[-2:])
            assert 0 < (start - whois[registered]).days <= 30
    assert (start - whois["microsoft.com"]).days > 365
    intel = read_csv(out / "intel.csv")
    assert list(intel[0]) == ["indicator", "type", "description"]
    c2_ips = {b.dst_ip for b in small_tsv.beacons}
    assert sum(r["indicator"] in c2_ips for r in intel) == 1


def test_summary_counts_and_paths(
    small_tsv: GenerationSummary, small_logs: dict[str, ZeekTsv]
) -> None:
    for name, log in small_logs.items():
        assert small_tsv.counts[name] == len(log.rows)
    assert all(p.exists() for p in small_tsv.paths)
    names = {p.name for p in small_tsv.paths}
    assert names >= {"conn.log", "labels.csv", "assets.csv", "whois.csv", "intel.csv"}


def test_no_implants_means_nothing_to_escalate(tmp_path: Path) -> None:
    s = Scenario(hosts=8, days=0.1, seed=2, implants=ImplantMix.none(), streaming_users=0)
    summary = generate(tmp_path, s)
    assert summary.beacons == ()
    labels = read_csv(tmp_path / "labels.csv")
    assert labels and all(r["decision"] != "escalate" for r in labels)


def test_overrides_reach_every_implant(tmp_path: Path) -> None:
    s = Scenario(
        hosts=12,
        days=0.25,
        seed=5,
        sleep=120.0,
        jitter=0.1,
        loss=0.2,
        campaign_hosts=2,
        streaming_users=0,
        browsing=0.0,
    )
    summary = generate(tmp_path, s)
    for b in summary.beacons:
        assert b.sleep == 120.0 and b.loss == 0.2
        assert b.jitter == (0.05 if b.family == "meterpreter" else 0.1)
    labels = read_csv(tmp_path / "labels.csv")
    cs = next(r for r in labels if r["kind"] == "cobalt_strike")
    assert (cs["sleep"], cs["jitter"], cs["loss"]) == ("120", "0.1", "0.2")
