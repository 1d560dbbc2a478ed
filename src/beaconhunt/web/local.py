"""Driving the UI locally: the system Chromium and ``beaconhunt serve`` as a process.

Shared by the browser tests (``tests/browser``), the page benchmarks
(``benchmarks/bench_report.py``, ``benchmarks/bench_web.py``) and
``scripts/screenshots.py``. Only the standard library: importing this needs
neither the ``web`` extra nor Playwright.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

__all__ = ["BROWSER_NAMES", "chromium_or_exit", "find_chromium", "served"]

#: Command names tried, in order, when $BEACONHUNT_CHROMIUM is not set.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
_ADDRESS = re.compile(r"(http://127\.0\.0\.1:\d+)/\?token=")


def find_chromium() -> str | None:
    """The browser executable: $BEACONHUNT_CHROMIUM (a path or a command name),
    else the first of :data:`BROWSER_NAMES` on $PATH; None when there is none."""
    explicit = os.environ.get("BEACONHUNT_CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_or_exit() -> str:
    """:func:`find_chromium`, or exit saying how to get one (for scripts)."""
    found = find_chromium()
    if found is None:
        sys.exit("no Chromium found: apt-get install chromium, or set BEACONHUNT_CHROMIUM")
    return found


@contextmanager
def served(db: Path, token: str, log: Path, timeout: float = 60.0) -> Iterator[str]:
    """``beaconhunt serve --db db --port 0 --token token`` in a subprocess, its
    stderr in ``log``; yields the base URL once the server answers HTTP, and
    stops it on exit. Exits the program (``SystemExit``) with the log when the
    server does not start within ``timeout`` seconds."""
    env = {k: v for k, v in os.environ.items() if k != "BEACONHUNT_TOKEN"}
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "beaconhunt", "serve", "--db", str(db), "--port", "0",
             "--token", token], stderr=err, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout

        def wait(what: str) -> None:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"beaconhunt serve {what}:\n{log.read_text()}")
            time.sleep(0.05)

        while not (m := _ADDRESS.search(log.read_text())):
            wait("did not start")
        base = m.group(1)
        while True:  # the address is printed just before uvicorn listens
            try:
                urlopen(base + "/static/report.css", timeout=5).close()
            except HTTPError:  # 403 without the token: it listens
                break
            except (URLError, ConnectionError):
                wait("does not answer")
            else:
                break
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
