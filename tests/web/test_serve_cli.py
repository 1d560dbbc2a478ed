"""``beaconhunt serve`` as a process: what it prints, what it refuses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from beaconhunt.cli import main

ZEEK = Path(__file__).resolve().parents[1] / "fixtures" / "zeek" / "basic"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "hunt.duckdb"
    res = CliRunner().invoke(main, ["hunt", str(ZEEK), "--db", str(path), "-q",
                                    "--format", "ndjson", "--min-score", "0"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return path


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "BEACONHUNT_TOKEN": ""}
    proc = subprocess.Popen([sys.executable, "-m", "beaconhunt", "serve", *args],
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "?token=" not in seen:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    return proc, seen


def test_serve_prints_a_token_address_on_loopback(db: Path) -> None:
    proc, said = _start(["--db", str(db), "--port", "0"])
    try:
        m = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{32,})", said)
        assert m is not None, said
        assert "warning" not in said
        base = f"http://127.0.0.1:{m.group(1)}/"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(base, timeout=10)
        assert denied.value.code == 403
        req = urllib.request.Request(base, headers={"Authorization": f"token {m.group(2)}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and b'class="finding"' in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_warns_when_it_listens_beyond_loopback(db: Path) -> None:
    proc, said = _start(["--db", str(db), "--port", "0", "--host", "0.0.0.0"])
    try:
        assert "warning: listening on 0.0.0.0: anyone who can reach this address" in said
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_short_token_and_a_non_store(db: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["serve", "--db", str(db), "--token", "short"])
    assert res.exit_code == 2 and "at least 16 characters" in res.stderr
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    res = CliRunner().invoke(main, ["serve", "--db", str(junk), "--port", "0"])
    assert res.exit_code == 3, res.stderr
