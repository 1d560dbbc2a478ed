"""Page times of the web UI (``beaconhunt serve``) over a store of many findings.

Usage: python benchmarks/bench_web.py [--findings 100000] [--db FILE] [--method sql|objects]
                                      [--repeat 20] [--browser-runs 5] [--keep FILE]

1. Takes a demo store (``--db``, else ``beaconhunt demo`` is run into a temporary
   folder), copies it and grows its ``findings`` table to ``--findings`` rows: every
   demo finding is replicated with a new source address (10.128.0.0/15), host name
   and score, and the finding id those give (the same hash as
   :attr:`beaconhunt.model.Finding.finding_id`), so the copy is a valid store whose
   finding pages work (a replica's connection plots are empty: the conn table
   has nothing for its new source). ``--method sql`` (default) does it in one
   ``INSERT ... SELECT`` with JSON patching; ``--method objects`` builds
   :class:`~beaconhunt.model.Finding` objects and calls
   :meth:`~beaconhunt.store.history.History.record_findings` in batches of 10,000.
   Prints the seconds the build took.
2. Starts ``beaconhunt serve`` on that store as a subprocess and times, with urllib
   (one connection per request, like a browser's first load; httpx's client added
   ~40 ms per request on loopback here, even to the static stylesheet), the first
   list load (it builds the in-memory index), then ``--repeat`` warm loads each of
   the list (page 1, a deep page, each filter) and of finding pages (median and
   maximum); then records a verdict through the UI and times the list load after
   it (the UI sets its own verdict in the index; a change to the store by anything
   else rebuilds the index, as long as the first load).
3. Loads the list and a finding page ``--browser-runs`` times in headless Chromium
   (fresh context each; time to first byte, DOMContentLoaded, ``load``).

Goal at 100,000 findings: every warm page load under a second.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, Request, build_opener

import duckdb

from beaconhunt.app.store import Workbench
from beaconhunt.model.record import finding_from_record
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.store.history import History
from beaconhunt.web.local import chromium_or_exit, served

TOKEN = "bench-web-token-0123456789abcdef"
GOAL_S = 1.0
BATCH = 10_000

# The replica i (0-based) of demo finding (i mod n): a source address of its own, so
# every (source, destination, port, proto, kind) key -- and so every id -- is new.
_REPLICATE = """
INSERT INTO findings
SELECT fid, first_run, last_run, runs, first_reported, last_reported, decision, rule, sc,
       json_merge_patch(record, json_object('finding_id', fid, 'src_ip', ip, 'src_host', host,
                                            'score', sc)),
       times
FROM (
    SELECT s.*, g.ip, g.host, g.sc,
           sha1(g.ip || '|' || coalesce(nullif(s.record->>'dst_domain', ''),
                                        s.record->>'dst_ip', 'None')
                || '|' || coalesce(s.record->>'dst_port', 'None')
                || '|' || coalesce(s.record->>'proto', 'None')
                || CASE WHEN coalesce(s.record->>'kind', 'beacon') = 'beacon' THEN ''
                        ELSE '|' || (s.record->>'kind') END)[:12] AS fid
    FROM (SELECT i % ? AS k,
                 '10.' || (128 + i // 65536)::VARCHAR || '.' || (i // 256 % 256)::VARCHAR
                 || '.' || (i % 256)::VARCHAR AS ip,
                 'bench-' || i::VARCHAR || '.corp.example' AS host,
                 round(0.5 + (hash(i) % 5000)::DOUBLE / 10000, 4) AS sc
          FROM range(?) r(i)) g
    JOIN (SELECT row_number() OVER (ORDER BY finding_id) - 1 AS k, * FROM findings) s USING (k)
)
"""


def _replica_ip(i: int) -> str:
    return f"10.{128 + i // 65536}.{i // 256 % 256}.{i % 256}"


def grow_sql(db: Path, total: int) -> None:
    con = duckdb.connect(str(db))
    try:
        (n,) = con.execute("SELECT count(*) FROM findings").fetchall()[0]
        if total > n:
            con.execute(_REPLICATE, [n, total - n])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def grow_objects(db: Path, total: int) -> None:
    store = DuckDBStore(db)
    try:
        history = History(store.con)
        base = [finding_from_record(s.record, s.times) for s in history.findings_of(None)]
        run_id = history.runs()[0].run_id
        for lo in range(0, total - len(base), BATCH):
            batch = [
                dataclasses.replace(
                    base[i % len(base)],
                    src_ip=_replica_ip(i),
                    src_host=f"bench-{i}.corp.example",
                    score=round(0.5 + (i * 7919 % 5000) / 10000, 4),
                )
                for i in range(lo, min(lo + BATCH, total - len(base)))
            ]
            history.record_findings(run_id, batch)
        store.con.execute("CHECKPOINT")
    finally:
        store.close()


def build_store(demo_db: Path, out: Path, total: int, method: str) -> None:
    """Copy ``demo_db`` to ``out`` and grow its findings to ``total``; check the result."""
    shutil.copyfile(demo_db, out)
    t0 = time.perf_counter()
    (grow_sql if method == "sql" else grow_objects)(out, total)
    seconds = time.perf_counter() - t0
    con = duckdb.connect(str(out))
    try:
        (n,) = con.execute("SELECT count(*) FROM findings").fetchall()[0]
        # the run reports every finding, as if one hunt had found them all
        con.execute("UPDATE runs SET findings = ? WHERE run_id = (SELECT max(run_id) FROM runs)",
                    [n])  # fmt: skip
    finally:
        con.close()
    with Workbench(out) as wb:
        sample = wb.history.findings_of(None)[-1]
        rebuilt = finding_from_record(sample.record, sample.times).finding_id
        if rebuilt != sample.finding_id:
            sys.exit(f"replica id {sample.finding_id} is not its record's id {rebuilt}")
        wb.finding_view(sample.finding_id)
    print(f"store: {n:,} findings built with --method {method} in {seconds:.1f} s"
          f" ({out.stat().st_size / 1e6:,.0f} MB) -> {out}")  # fmt: skip


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 303 is raised as an HTTPError the caller checks


_OPENER = build_opener(_NoRedirect())
_AUTH = {"Authorization": f"token {TOKEN}"}


def _fetch(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    """(HTTP status, body) of a request with the token; redirects are not followed."""
    try:
        with _OPENER.open(Request(url, data=data, headers=_AUTH), timeout=300) as r:
            return int(r.status), bytes(r.read())
    except HTTPError as exc:
        return exc.code, exc.read()


def _get(base: str, url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    status, body = _fetch(base + url)
    seconds = time.perf_counter() - t0
    if status != 200:
        sys.exit(f"GET {url}: HTTP {status}\n{body[:500]!r}")
    return seconds, len(body)


def _stats(values: Sequence[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms"


def _local(ts: float) -> str:
    """An ``<input type=datetime-local>`` value (UTC)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M")


def _targets(db: Path) -> tuple[dict[str, str], str, str]:
    """The warm URLs to time (label -> path), a demo and a replica finding id."""
    with Workbench(db) as wb:
        run = wb.history.runs()[0]
        rows = wb.store.con.execute(
            "SELECT finding_id, record->>'src_host', coalesce(record->>'dst_domain',"
            " record->>'dst_ip'), record->>'process_image' FROM findings"
            " WHERE decision = 'escalate'"
            " AND NOT starts_with(coalesce(record->>'src_host', ''), 'bench-')"
            " ORDER BY score DESC, finding_id LIMIT 1"
        ).fetchall()
        (replica,) = wb.store.con.execute(
            "SELECT finding_id FROM findings WHERE starts_with(record->>'src_host', 'bench-')"
            " ORDER BY finding_id LIMIT 1"
        ).fetchall()[0]
    fid, host, dst, image = rows[0]
    host = str(host).split(".")[0]
    process = re.split(r"[\\/]", str(image))[-1]
    lo = run.span[0] if run.span else time.time() - 86400
    window = {"since": _local(lo + 6 * 3600), "until": _local(lo + 9 * 3600)}
    urls = {
        "list page 1": "/",
        "list page 1000": "/?page=1000",
        "decision=escalate": "/?decision=escalate",
        f"host={host}": "/?" + urlencode({"host": host}),
        f"destination={dst}": "/?" + urlencode({"destination": dst}),
        f"process={process}": "/?" + urlencode({"process": process}),
        "min_score=0.9": "/?min_score=0.9",
        "since/until (3 h)": "/?" + urlencode(window),
        "escalate+min_score+page 5": "/?decision=escalate&min_score=0.6&page=5",
        "run=latest": "/?run=latest",
        f"finding {fid} (demo)": f"/finding/{fid}",
        f"finding {replica} (replica)": f"/finding/{replica}",
    }
    return urls, str(fid), str(replica)


def bench_http(base: str, db: Path, repeat: int) -> tuple[list[float], str]:
    """Time the server's pages; return every warm time and a demo finding id."""
    urls, fid, _ = _targets(db)
    warm: list[float] = []
    first, size = _get(base, "/")
    print(f"first list load (builds the index): {first:.2f} s ({size / 1e3:.0f} kB)")
    print(f"warm loads, {repeat} each:")
    for label, url in urls.items():
        _get(base, url)
        times, sizes = zip(*(_get(base, url) for _ in range(repeat)), strict=True)
        warm.extend(times)
        print(f"  {label:<46} {_stats(times)}  {sizes[0] / 1e3:6.0f} kB")
    page = _fetch(f"{base}/finding/{fid}")[1].decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    if csrf is None:
        sys.exit("no CSRF token in the finding page")
    form = {"csrf": csrf.group(1), "decision": "escalate", "note": "benchmark verdict",
            "analyst": "bench"}  # fmt: skip
    t0 = time.perf_counter()
    status, body = _fetch(f"{base}/finding/{fid}/verdict", urlencode(form).encode())
    posted = time.perf_counter() - t0
    if status != 303:
        sys.exit(f"verdict: HTTP {status}\n{body[:500]!r}")
    after, _ = _get(base, "/")
    again, _ = _get(base, "/")
    print(f"record a verdict: {posted * 1000:.0f} ms; next list load:"
          f" {after:.2f} s; the one after: {again * 1000:.0f} ms")  # fmt: skip
    return warm, fid


def bench_browser(base: str, fid: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    nav_js = (
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.responseStart, n.domContentLoadedEventEnd, n.loadEventEnd]; }"
    )
    pages = {"list page 1": "/", "list page 1000": "/?page=1000", "finding": f"/finding/{fid}"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_exit(), args=["--no-sandbox"],
                                     chromium_sandbox=False, headless=True)  # fmt: skip
        try:
            print(f"Chromium page loads ({runs} runs, fresh context each):")
            for label, path in pages.items():
                got: list[list[float]] = [[], [], [], []]
                for _ in range(runs):
                    ctx = browser.new_context(
                        viewport={"width": 1280, "height": 900},
                        extra_http_headers={"Authorization": f"token {TOKEN}"},
                    )
                    page = ctx.new_page()
                    t0 = time.perf_counter()
                    page.goto(base + path, wait_until="load")
                    wall = time.perf_counter() - t0
                    nav: list[Any] = page.evaluate(nav_js)
                    for k, v in enumerate((*(x / 1000 for x in nav), wall)):
                        got[k].append(v)
                    ctx.close()
                med = [statistics.median(g) * 1000 for g in got]
                print(f"  {label:<16} first byte {med[0]:6.0f} ms  DOMContentLoaded"
                      f" {med[1]:6.0f} ms  load {med[2]:6.0f} ms  wall {med[3]:6.0f} ms"
                      f" (max {max(got[3]) * 1000:.0f})")  # fmt: skip
        finally:
            browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--db", type=Path, help="a demo store to grow (default: run the demo)")
    ap.add_argument("--method", choices=("sql", "objects"), default="sql")
    ap.add_argument("--repeat", type=int, default=20, help="timed loads of each page")
    ap.add_argument("--browser-runs", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="keep the grown store at this path")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        demo = a.db
        if demo is None:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "beaconhunt", "demo", "--out",
                            str(Path(tmp) / "demo")], check=True, capture_output=True)  # fmt: skip
            demo = Path(tmp) / "demo" / "hunt.duckdb"
            print(f"demo: generated and hunted in {time.perf_counter() - t0:.1f} s")
        db = a.keep or Path(tmp) / "bench.duckdb"
        build_store(demo, db, a.findings, a.method)
        with served(db, TOKEN, Path(tmp) / "serve.log") as base:
            warm, fid = bench_http(base, db, a.repeat)
            if a.browser_runs:
                bench_browser(base, fid, a.browser_runs)
    worst = max(warm)
    verdict = "met" if worst < GOAL_S else "MISSED"
    print(f"goal: warm page loads < {GOAL_S:g} s: {verdict} (slowest {worst * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
