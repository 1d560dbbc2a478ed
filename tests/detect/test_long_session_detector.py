"""The long-session detector on Zeek conn.log in Zeek's TSV layout: interactive C2
held for hours with reconnects, a connection still open at the end, a benign
push channel on every host; plus the interval maths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from beaconhunt.detect.long_session import (
    long_session_score,
    merge_intervals,
    session_stats,
    union_length,
)
from beaconhunt.detect.settings import LongSessionSettings
from beaconhunt.enrich.context import load_whois
from beaconhunt.enrich.investigate import Context
from beaconhunt.errors import ConfigError
from beaconhunt.model import Decision, Finding
from beaconhunt.pipeline import hunt

T0 = 1_762_156_800.0
H = 3600.0
FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
          "duration", "orig_bytes", "resp_bytes", "conn_state"]  # fmt: skip
TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
         "count", "count", "string"]  # fmt: skip


def _write(folder: Path, rows: list[list[str]], ssl: list[list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)

    def tsv(name: str, fields: list[str], types: list[str], body: list[list[str]]) -> None:
        head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
                "#unset_field\t-", f"#path\t{name}", "#fields\t" + "\t".join(fields),
                "#types\t" + "\t".join(types)]  # fmt: skip
        body = sorted(body, key=lambda r: float(r[0]))
        text = "\n".join(head + ["\t".join(r) for r in body]) + "\n"
        (folder / f"{name}.log").write_text(text, encoding="utf-8")

    tsv("conn", FIELDS, TYPES, rows)
    tsv("ssl", ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "server_name"],
        ["time", "string", "addr", "port", "addr", "port", "string"], ssl)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    rows: list[list[str]] = []
    ssl: list[list[str]] = []
    n = 0

    def conn(ts: float, src: str, dst: str, port: int, dur: float, out: int, back: int,
             state: str = "SF", sni: str | None = None) -> None:  # fmt: skip
        nonlocal n
        n += 1
        uid = f"C{n:08d}"
        sport = str(49152 + n)
        rows.append([f"{ts:.6f}", uid, src, sport, dst, str(port), "tcp", "ssl", f"{dur:.3f}",
                     str(out), str(back), state])  # fmt: skip
        if sni:
            ssl.append([f"{ts + 0.05:.6f}", uid, src, sport, dst, str(port), sni])

    hosts = [f"10.1.1.{10 + h}" for h in range(14)]
    for src in hosts:  # browsing: short connections
        for ts in np.sort(rng.uniform(T0, T0 + 22 * H, 60)):
            k = int(rng.integers(0, 40))
            conn(float(ts), src, f"198.51.100.{k + 1}", 443, 2.0, 800, 9000, sni=f"www.site{k}.com")
    for src in hosts:  # a push channel every host holds all day (benign look-alike)
        conn(
            T0 + 60,
            src,
            "17.57.144.10",
            5223,
            21.5 * H,
            90_000,
            120_000,
            sni="12-courier.push.apple.com",
        )
    # interactive C2: three sessions covering ~23 h, the last still open at the end
    conn(
        T0, "10.1.1.10", "203.0.113.66", 443, 7.4 * H, 400_000, 2_000_000, sni="sync-cdn-update.com"
    )
    conn(T0 + 7.5 * H, "10.1.1.10", "203.0.113.66", 443, 8.0 * H, 300_000, 900_000, "RSTO",
         sni="sync-cdn-update.com")  # fmt: skip
    last = T0 + 15.6 * H
    end = T0 + 23.0 * H
    conn(last, "10.1.1.10", "203.0.113.66", 443, end - last, 200_000, 800_000, "S1",
         sni="sync-cdn-update.com")  # fmt: skip
    conn(end, "10.1.1.20", "198.51.100.1", 443, 1.0, 800, 9000)  # the log's last record
    folder = _write(tmp_path_factory.mktemp("long"), rows, ssl)
    (folder / "whois.csv").write_text(
        "domain,created\nsync-cdn-update.com,2025-10-29\napple.com,1987-02-19\n", "utf-8"
    )
    return folder


def _hunt(folder: Path, whois: bool) -> list[Finding]:
    ctx = Context(whois=load_whois(folder / "whois.csv")) if whois else Context()
    return hunt([folder / "conn.log", folder / "ssl.log"], context=ctx).findings


def _c2(findings: list[Finding]) -> Finding:
    return next(f for f in findings if f.kind == "long_session" and f.src_ip == "10.1.1.10"
                and f.dst_domain == "sync-cdn-update.com")  # fmt: skip


def test_interactive_c2_is_a_long_session_with_its_timeline(day: Path) -> None:
    f = _c2(_hunt(day, whois=False))
    codes = {r.code for r in f.reasons}
    assert {"session.long", "session.open_at_end", "session.reconnects", "dest.rare"} <= codes
    assert f.info is not None and len(f.info["sessions"]) == 3
    assert f.info["open_at_end"] is True
    assert 22 * H < f.info["connected_s"] <= 23 * H
    assert f.connections == 3 and f.score > 0.9
    assert f.decision == Decision.MONITOR and f.rule == "long-session-not-understood"


def test_young_domain_escalates_it(day: Path) -> None:
    f = _c2(_hunt(day, whois=True))
    assert f.decision == Decision.ESCALATE and f.rule == "long-session-indicators"


def test_push_channel_on_every_host_is_closed(day: Path) -> None:
    push = [f for f in _hunt(day, whois=True) if f.kind == "long_session"
            and f.dst_domain == "12-courier.push.apple.com"]  # fmt: skip
    assert len(push) == 14
    assert all(f.decision == Decision.CLOSE for f in push)


def test_short_connections_are_not_long_sessions(day: Path) -> None:
    assert not [f for f in _hunt(day, whois=False)
                if f.kind == "long_session" and f.dst_port == 443
                and (f.dst_domain or "").startswith("www.site")]  # fmt: skip


def test_merge_intervals_and_union() -> None:
    s = np.array([0.0, 5.0, 20.0, 2.0])
    e = np.array([3.0, 10.0, 30.0, 4.0])
    ms, me = merge_intervals(s, e)
    assert ms.tolist() == [0.0, 5.0, 20.0] and me.tolist() == [4.0, 10.0, 30.0]
    assert union_length(s, e) == 19.0
    assert union_length(np.empty(0), np.empty(0)) == 0.0


def test_score_is_log_linear_between_the_thresholds() -> None:
    s = LongSessionSettings()
    assert long_session_score(s.min_duration_s - 1, s) == 0.0
    assert long_session_score(s.min_duration_s, s) == 0.5
    mid = math.sqrt(s.min_duration_s * s.full_s)
    assert math.isclose(long_session_score(mid, s), 0.75)
    assert long_session_score(10 * s.full_s, s) == 1.0


def test_stats_clip_to_the_window_and_see_open_connections() -> None:
    s = LongSessionSettings()
    ts = np.array([-3600.0, 7200.0])
    dur = np.array([7200.0, 20000.0])
    st = session_stats(ts, dur, np.array([1.0, 1.0]), np.array([1.0, 1.0]),
                       np.array([False, True]), 0.0, 10000.0, s)  # fmt: skip
    assert st.connected_s == 3600.0 + 2800.0
    assert st.open_at_end and st.longest_s == 20000.0
    assert st.reconnects == 0  # 3600 s between them is not a reconnect (900 s)


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        LongSessionSettings(min_duration_s=100.0, full_s=50.0)
    with pytest.raises(ConfigError):
        LongSessionSettings(min_piece_s=0.0)
