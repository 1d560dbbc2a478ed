"""Unit tests of the generator's parts: scenario checks, tables, ids, writer details."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synth_helpers import parse_tsv

import beaconhunt.synth as synth
from beaconhunt.errors import ConfigError
from beaconhunt.synth import ImplantMix, Scenario
from beaconhunt.synth.table import CONN, Table, make_ids
from beaconhunt.synth.world import build_world, registered_domain
from beaconhunt.synth.zeek_writer import LogFrame, write_log


def test_public_api_is_guarded() -> None:
    assert sorted(synth.__all__) == sorted(
        [
            "DEFAULT_START",
            "FAMILIES",
            "LOGS",
            "MAX_SKEW",
            "PRE_SYSMON",
            "SCHEMAS",
            "SYSMON_FILE",
            "SYSMON_FORMATS",
            "GenerationSummary",
            "HiddenBeacon",
            "ImplantMix",
            "LogFormat",
            "Scenario",
            "SysmonFormat",
            "generate",
        ]
    )
    for name in synth.__all__:
        assert hasattr(synth, name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hosts": 3}, "hosts must be at least"),
        ({"days": 0}, "days must be"),
        ({"days": 40}, "days must be"),
        ({"jitter": 1.0}, "jitter"),
        ({"loss": -0.1}, "loss"),
        ({"sleep": 0.5}, "sleep"),
        ({"browsing": -1}, "browsing"),
        ({"campaign_hosts": 0}, "campaign_hosts"),
        ({"work_start_h": 19}, "working hours"),
        ({"hosts": 9, "campaign_hosts": 3}, "infected hosts"),
        ({"implants": ImplantMix(cobalt_strike=-1)}, "implant counts"),
    ],
)
def test_scenario_rejects_bad_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Scenario(**kwargs)  # type: ignore[arg-type]


def test_scenario_defaults() -> None:
    s = Scenario()
    assert s.hosts == 40 and s.days == 1.0 and s.end - s.start == 86400.0
    assert s.implants.total == 5 and s.infected_hosts == 7
    assert ImplantMix.none().total == 0


def test_make_ids_are_zeek_like_and_deterministic() -> None:
    a = make_ids(np.random.default_rng(1), 1000)
    b = make_ids(np.random.default_rng(1), 1000)
    assert a == b and len(set(a)) == 1000
    assert all(len(x) == 18 and x.startswith("C") and x.isalnum() for x in a)
    assert make_ids(np.random.default_rng(1), 3, "F")[0].startswith("F")
    assert make_ids(np.random.default_rng(1), 0) == []


def test_table_broadcasts_and_fills_unset() -> None:
    t = Table(CONN)
    rows = t.add(3, ts=np.array([1.0, 2.0, 3.0]), src=0, resp_h="192.0.2.1", proto="tcp")
    assert rows.tolist() == [0, 1, 2]
    cols = t.finish()
    assert cols["src"].tolist() == [0, 0, 0] and cols["resp_h"].tolist() == ["192.0.2.1"] * 3
    assert np.isnan(cols["duration"]).all() and cols["orig_bytes"].tolist() == [-1] * 3
    assert cols["service"].tolist() == [None] * 3
    with pytest.raises(ValueError, match="unknown columns"):
        t.add(1, nonsense=1)
    with pytest.raises(ValueError, match="shape"):
        t.add(2, ts=np.zeros(3))


def _frame(path: str, n: int, **cols: np.ndarray) -> LogFrame:
    ts = cols.pop("ts", np.arange(n, dtype=np.float64) + 1_793_664_000.0)
    return LogFrame(path, {"ts": ts, **cols}, ts)


def test_empty_log_has_header_and_close(tmp_path: Path) -> None:
    write_log(_frame("http", 0), tmp_path, "tsv", False, (0.0, 3600.0))
    log = parse_tsv((tmp_path / "http.log").read_text())
    assert log.rows == [] and log.footer == ["#close\t1970-01-01-01-00-00"]


def test_unset_and_empty_values(tmp_path: Path) -> None:
    tags = np.array(["", None], dtype=object)
    answers = np.array(["a.example,192.0.2.1", None], dtype=object)
    write_log(_frame("http", 2, tags=tags), tmp_path, "tsv", False, (0.0, 1.0))
    rec = parse_tsv((tmp_path / "http.log").read_text()).records()
    assert rec[0]["tags"] == "(empty)" and rec[1]["tags"] == "-" and rec[0]["uid"] == "-"
    write_log(_frame("dns", 2, answers=answers, tags=tags), tmp_path, "json", False, (0.0, 1.0))
    js = [json.loads(x) for x in (tmp_path / "dns.log").read_text().splitlines()]
    assert js[0]["answers"] == ["a.example", "192.0.2.1"] and "answers" not in js[1]
    assert "uid" not in js[0] and js[0]["_path"] == "dns"


def test_last_hour_archive_wraps_to_midnight(tmp_path: Path) -> None:
    ts = np.array([1_793_664_000.0 + 23 * 3600 + 5])
    paths = write_log(_frame("conn", 1, ts=ts), tmp_path, "tsv", True, (0.0, 1.0))
    assert [p.name for p in paths] == ["conn.23:00:00-00:00:00.log.gz"]
    assert paths[0].parent.name == "2026-11-03"


def test_world_addresses_are_plausible_and_stable() -> None:
    s = Scenario(hosts=10, campaign_hosts=1)
    w1 = build_world(s, np.random.default_rng([1, 0]))
    w2 = build_world(s, np.random.default_rng([1, 0]))
    assert w1.names.keys() == w2.names.keys()
    assert [h.ip for h in w1.hosts] == [h.ip for h in w2.hosts]
    external = {ip for n in w1.names.values() for ip in n.ips if not ip.startswith("10.")}
    for ip in external:
        first = int(ip.split(".")[0])
        assert first not in (0, 10, 127) and first < 224
        assert not ip.startswith(("192.168.", "192.0.2.", "198.51.100.", "203.0.113.", "8.8.8."))
    assert w1.hosts[0].name == "srv-dc-01" and w1.hosts[5].name == "ws-001"


def test_registered_domain() -> None:
    assert registered_domain("a.b.example.com") == "example.com"
    assert registered_domain("www.bbc.co.uk") == "bbc.co.uk"
