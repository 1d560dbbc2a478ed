"""Check-in sessions: the pure folding function, and the hunt scoring the better view."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from beaconhunt.cli import main
from beaconhunt.detect.sessions import sessions
from beaconhunt.synth import timing

T0 = 1793692800.0  # 2026-11-03 08:00:00 UTC


def _fold(ts: list[float], bo: list[float], offsets: list[int], gap: float = 5.0):  # type: ignore[no-untyped-def]
    return sessions(np.array(ts, float), np.array(bo, float), np.array(bo, float) * 10,
                    np.array(offsets, np.int64), gap)  # fmt: skip


def test_bursts_fold_into_the_session_they_continue() -> None:
    # pair 0: check-ins at 0, 60, 120, 180 with a burst at 60-64 (gaps 2, 2) and a
    # duplicate at 180; pair 1 is empty; pair 2: 10 s apart, nothing to fold
    s = _fold([0, 60, 62, 64, 120, 180, 180, 0, 10, 20], [1, 2, 30, 40, 5, 6, 7, 1, 1, 1],
              [0, 7, 7, 10])  # fmt: skip
    assert s.ts.tolist() == [0, 60, 120, 180, 0, 10, 20]
    assert s.bytes_out.tolist() == [1, 72, 5, 13, 1, 1, 1]  # 2 + 30 + 40; 6 + 7
    assert s.bytes_in.tolist() == [10, 720, 50, 130, 10, 10, 10]
    assert s.offsets.tolist() == [0, 4, 4, 7] and s.counts.tolist() == [4, 0, 3]


def test_a_gap_equal_to_the_limit_folds_and_one_above_does_not() -> None:
    assert _fold([0, 5, 10.5], [1, 1, 1], [0, 3]).ts.tolist() == [0, 10.5]


def test_an_unknown_size_makes_the_session_unknown() -> None:
    s = _fold([0, 1, 60], [100, np.nan, 100], [0, 3])
    assert np.isnan(s.bytes_out[0]) and s.bytes_out[1] == 100


def test_gap_zero_folds_only_connections_at_the_same_instant() -> None:
    assert _fold([0, 0, 0.5, 1], [1, 1, 1, 1], [0, 4], gap=0.0).ts.tolist() == [0, 0.5, 1]


def test_select_keeps_the_chosen_pairs() -> None:
    s = _fold([0, 1, 60, 0, 30, 60], [1, 1, 1, 2, 2, 2], [0, 3, 6])
    sub = s.select(np.array([1]))
    assert sub.ts.tolist() == [0, 30, 60] and sub.offsets.tolist() == [0, 3]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(0, 1e5), max_size=30), min_size=1, max_size=6),
       st.floats(0, 100))  # fmt: skip
def test_folding_keeps_bytes_order_and_first_times(pairs: list[list[float]], gap: float) -> None:
    series = [sorted(p) for p in pairs]
    ts = [t for p in series for t in p]
    offsets = np.cumsum([0, *map(len, series)]).tolist()
    s = _fold(ts, [1.0] * len(ts), offsets, gap)
    folds = [sum(b - a > gap for a, b in itertools.pairwise(p)) for p in series]
    assert s.counts.tolist() == [min(len(p), 1) + k for p, k in zip(series, folds, strict=True)]
    assert s.bytes_out.sum() == len(ts)  # every connection's bytes in exactly one session
    for i, p in enumerate(series):
        got = s.ts[s.offsets[i] : s.offsets[i + 1]]
        assert (np.diff(got) > gap).all()
        if p:
            assert got[0] == p[0]


_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#open\t2026-11-03-08-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p"
    "\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp"
    "\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring"
    "\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"
)


def _conn_log(path: Path, pairs: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """A Zeek conn.log (TSV, Zeek's own header) with one series per (source, times, bytes)."""
    rows = []
    for src, ts, out in pairs:
        for i, (t, b) in enumerate(zip(ts.tolist(), out.tolist(), strict=True)):
            conn = f"{40000 + i % 20000}\t203.0.113.77\t8080\ttcp\thttp\t0.4\t{int(b)}"
            rest = f"{int(b) * 3}\tSF\tT\tF\t0\tShADadFf\t6\t900\t5\t2000\t-"
            rows.append((t, f"{src}\t{conn}\t{rest}"))
    rows.sort()
    lines = [f"{t:.6f}\tC{i:08d}\t{rest}\n" for i, (t, rest) in enumerate(rows)]
    path.write_text(_HEADER + "".join(lines) + "#close\t2026-11-03-20-00-00\n")


def _hunt(path: Path) -> list[dict[str, object]]:
    res = CliRunner().invoke(main, ["hunt", str(path), "--format", "ndjson", "-q",
                                    "--min-score", "0"], catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def test_a_tasked_meterpreter_is_found_on_its_sessions(tmp_path: Path) -> None:
    """60 s polling with bursts of 1 s polls carrying 20-60 kB: the burst connections
    outnumber the check-ins, so the plain view measures the bursts; the session view
    finds the 60 s rhythm and says so. A steady 2 s beacon is not folded at all."""
    rng = np.random.default_rng(5)
    mp = timing.meterpreter(rng, T0, T0 + 6 * 3600, sleep=60.0, tasked_fraction=0.15)
    gaps = np.diff(mp, prepend=-np.inf)
    mp_out = np.where(gaps <= 5.0, rng.uniform(20_000, 60_000, mp.size), 300.0)
    assert (gaps <= 5.0).sum() > mp.size / 2  # the bursts hold most connections
    fast = T0 + np.cumsum(rng.uniform(1.9, 2.1, 3000))
    _conn_log(tmp_path / "conn.log", [("10.1.1.5", mp, mp_out),
                                      ("10.1.1.6", fast, np.full(fast.size, 250.0))])  # fmt: skip
    found = {f["src_ip"]: f for f in _hunt(tmp_path / "conn.log")}
    f = found["10.1.1.5"]
    codes = [r["code"] for r in f["reasons"]]  # type: ignore[index, union-attr]
    assert "timing.bursts" in codes and "timing.regular" in codes
    assert f["connections"] == mp.size
    assert f["interval_s"] == pytest.approx(60.0, rel=0.05)
    assert f["score"] >= 0.9  # type: ignore[operator]
    g = found["10.1.1.6"]
    assert "timing.bursts" not in [r["code"] for r in g["reasons"]]  # type: ignore[index, union-attr]
    assert g["interval_s"] == pytest.approx(2.0, rel=0.05) and g["score"] >= 0.9  # type: ignore[operator]


def test_the_session_view_can_be_turned_off(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    mp = timing.meterpreter(rng, T0, T0 + 6 * 3600, sleep=60.0, tasked_fraction=0.15)
    gaps = np.diff(mp, prepend=-np.inf)
    out = np.where(gaps <= 5.0, rng.uniform(20_000, 60_000, mp.size), 300.0)
    _conn_log(tmp_path / "conn.log", [("10.1.1.5", mp, out)])
    on = _hunt(tmp_path / "conn.log")
    (tmp_path / "off.toml").write_text("[score]\nburst_gap_s = 0\n")
    args = ["hunt", str(tmp_path / "conn.log"), "--format", "ndjson", "-q", "--min-score", "0"]
    res = CliRunner().invoke(main, [*args, "--config", str(tmp_path / "off.toml")])
    assert res.exit_code == 0, res.stderr
    off = [json.loads(line) for line in res.stdout.splitlines()]
    # without sessions the 1 s bursts set the median interval: a jittery 1 s "beacon"
    # (0.74 here), not the 60 s check-in the implant keeps between tasks
    assert len(on) == len(off) == 1
    assert on[0]["score"] >= 0.9 and off[0]["score"] < on[0]["score"] - 0.1
    assert off[0]["interval_s"] < 5.0 and on[0]["interval_s"] == pytest.approx(60, rel=0.05)
    assert "timing.bursts" not in [r["code"] for r in off[0]["reasons"]]
