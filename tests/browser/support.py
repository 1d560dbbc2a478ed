"""Helpers shared by the browser tests of the HTML report and the web UI.

* :func:`demo_data`: one ``beaconhunt demo --hosts 12`` per test session (about 10 s
  on two cores), shared by ``test_report.py`` and ``test_web.py``; a test that writes
  to the store works on :func:`copy_store`'s copy.
* :class:`Server`: ``beaconhunt serve`` as a real subprocess on a free port, its
  address read from what it prints; :meth:`Server.stop` ends it (and only it).
* :data:`DOM_AUDIT`: a page script that lists what a hostile string could have turned
  into in the DOM (elements, handlers, ``javascript:`` URLs, scripts).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import pytest

__all__ = [
    "DOM_AUDIT",
    "DemoData",
    "DomAudit",
    "Server",
    "copy_store",
    "demo_data",
]

#: Seconds a ``beaconhunt serve`` gets to print its address.
START_TIMEOUT = 30.0
_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)")


@dataclass(frozen=True)
class DemoData:
    """What ``beaconhunt demo --out DIR`` wrote."""

    root: Path
    html: Path
    db: Path


_DEMO: dict[Path, DemoData] = {}


def demo_data(tmp_path_factory: pytest.TempPathFactory, hosts: int = 12) -> DemoData:
    """``beaconhunt demo --out DIR --hosts N`` run once per session, as a real process."""
    key = tmp_path_factory.getbasetemp()
    if key not in _DEMO:
        root = tmp_path_factory.mktemp("demo")
        res = subprocess.run(
            [sys.executable, "-m", "beaconhunt", "demo", "--out", str(root),
             "--hosts", str(hosts)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        data = DemoData(root, root / "beaconhunt-demo.html", root / "hunt.duckdb")
        assert data.html.is_file() and data.db.is_file(), res.stderr
        _DEMO[key] = data
    return _DEMO[key]


def copy_store(db: Path, to: Path) -> Path:
    """A copy of the store ``db`` (and its WAL, if any) in the folder ``to``."""
    to.mkdir(parents=True, exist_ok=True)
    target = to / db.name
    shutil.copy2(db, target)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, target.with_name(target.name + ".wal"))
    return target


class Server:
    """``beaconhunt serve --db DB --port 0 --token T`` as a subprocess.

    ``start`` waits until it has printed its address (with the real port); its
    stderr keeps being drained by a thread, so the server can never block on a
    full pipe. Use :meth:`stop` in a finalizer.
    """

    def __init__(self, db: Path, token: str | None = None) -> None:
        self.db = db
        self.token = token or secrets.token_urlsafe(24)
        assert len(self.token) >= 24
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.said: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def base(self) -> str:
        """The server's root URL, without the token."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def login_url(self) -> str:
        """The address ``serve`` printed: the root with ``?token=``."""
        return f"{self.base}/?token={self.token}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> Server:
        env = {**os.environ, "BEACONHUNT_TOKEN": ""}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "beaconhunt", "serve", "--db", str(self.db),
             "--host", "127.0.0.1", "--port", "0", "--token", self.token,
             "--analyst", "browser-test"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", env=env,
        )  # fmt: skip
        found = threading.Event()

        def drain() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.said.append(line)
                m = _URL.search(line)
                if m and not found.is_set():
                    self.port = int(m.group(1))
                    assert m.group(2) == self.token, line
                    found.set()
            found.set()  # the process ended: stop waiting

        self._reader = threading.Thread(target=drain, name="serve-stderr", daemon=True)
        self._reader.start()
        if not found.wait(START_TIMEOUT) or not self.port:
            self.stop()
            pytest.fail(f"beaconhunt serve printed no address: {''.join(self.said)!r}")
        return self

    def stop(self) -> None:
        """End the server (terminate, then kill after 10 s) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=5)


class DomAudit(TypedDict):
    """What :data:`DOM_AUDIT` returns."""

    tags: list[str]
    scripts: list[dict[str, str | bool]]
    handlers: list[str]
    js_urls: list[str]
    text: str
    inner_text: str
    attr_values: list[str]
    http_equiv: list[str]
    verdict_forms: int


#: Everything a hostile string could have become in the DOM, in one pass over it.
DOM_AUDIT = r"""
() => {
  const tags = new Set();
  const handlers = [];
  const jsUrls = [];
  const attrValues = [];
  const urlAttrs = new Set(["href", "src", "action", "formaction", "xlink:href", "data",
                            "poster", "srcdoc", "background"]);
  for (const el of document.querySelectorAll("*")) {
    tags.add(el.localName);
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      attrValues.push(a.value);
      if (name.startsWith("on")) { handlers.push(el.localName + "[" + a.name + "]"); }
      if (urlAttrs.has(name)) {
        // what a browser ignores around and inside a URL scheme: C0/space trimmed, tab/LF/CR
        const v = a.value.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "")
                         .replace(/[\t\n\r]/g, "").toLowerCase();
        if (v.startsWith("javascript:") || v.startsWith("vbscript:") ||
            v.startsWith("data:text/html")) {
          jsUrls.push(el.localName + "[" + a.name + "]=" + a.value.slice(0, 200));
        }
      }
    }
    if (el instanceof HTMLAnchorElement && el.href && el.protocol === "javascript:") {
      jsUrls.push("a.protocol=" + el.href.slice(0, 200));
    }
  }
  const scripts = Array.from(document.querySelectorAll("script")).map((s) => ({
    src: s.getAttribute("src") || "", inline: !s.hasAttribute("src"), text: s.textContent,
  }));
  return {
    tags: Array.from(tags).sort(), scripts, handlers, js_urls: jsUrls,
    text: document.documentElement.textContent, inner_text: document.body.innerText,
    attr_values: attrValues,
    http_equiv: Array.from(document.querySelectorAll("meta[http-equiv]"),
                           (m) => m.httpEquiv.toLowerCase()),
    verdict_forms: document.querySelectorAll("form.verdict").length,
  };
}
"""
