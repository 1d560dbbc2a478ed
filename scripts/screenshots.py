#!/usr/bin/env python3
"""Screenshots of the HTML report and the web UI for the docs (docs/img/*.png).

Usage (from the repository, with the dev extra installed and Debian's chromium)::

    .venv/bin/python scripts/screenshots.py                  # run the demo first
    .venv/bin/python scripts/screenshots.py --db hunt.duckdb # an existing store
    .venv/bin/python scripts/screenshots.py --out /tmp/img   # somewhere else
    .venv/bin/python scripts/screenshots.py --list-query decision=escalate

Without ``--db`` it runs ``beaconhunt demo`` (40 hosts, seed 7) into a temporary
folder. It writes the store's report (``beaconhunt report``), starts
``beaconhunt serve`` on the store, and takes four 1280x900 screenshots (the
viewport, not the whole page) in headless Chromium ($BEACONHUNT_CHROMIUM, else
chromium on $PATH):

==========================  ===================================================
report-overview.png         the top of the report: decision cards, kinds, the
                            findings timeline
report-case.png             the highest-ranked escalated case, opened, at its
                            timing plots
ui-list.png                 the web UI's findings list (``--list-query``: its
                            filters, e.g. ``decision=escalate``; default none)
ui-finding.png              the web UI's page of that escalated finding
==========================  ===================================================

Each PNG should stay under 400 KB; a larger one is reduced to a 256-colour
palette (Pillow) and the script says so.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from beaconhunt.app.store import Workbench
from beaconhunt.cli_report import write_report
from beaconhunt.web.local import chromium_or_exit, served

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "screenshots-token-0123456789abcdef"
MAX_BYTES = 400_000


def top_escalated(db: Path) -> str:
    """The id of the highest-ranked escalated finding of the latest run."""
    with Workbench(db) as wb:
        report = wb.run_report()
    for f in report.findings:
        if f.decision.value == "escalate":
            return f.finding_id
    sys.exit(f"{db}: no escalated finding to show")


def shrink(path: Path) -> None:
    """Keep ``path`` under MAX_BYTES: quantize it to a palette when it is larger."""
    size = path.stat().st_size
    if size <= MAX_BYTES:
        return
    try:
        from PIL import Image
    except ImportError:
        print(f"warning: {path} is {size / 1e3:.0f} kB; install Pillow to shrink it")
        return
    with Image.open(path) as im:
        im.convert("RGB").quantize(256).save(path, optimize=True)
    print(f"  {path.name}: {size / 1e3:.0f} kB reduced to a palette")


def shoot(db: Path, out: Path, tmp: Path, list_query: str = "") -> None:
    from playwright.sync_api import sync_playwright

    html = tmp / "report.html"
    write_report(db, html)
    fid = top_escalated(db)
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with sync_playwright() as pw, served(db, TOKEN, tmp / "serve.log") as base:
        browser = pw.chromium.launch(executable_path=chromium_or_exit(), args=["--no-sandbox"],
                                     chromium_sandbox=False, headless=True)  # fmt: skip
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.goto(html.resolve().as_uri(), wait_until="load")
            shots.append(out / "report-overview.png")
            page.screenshot(path=shots[-1], full_page=False)

            case = page.locator(f"details.case[data-id='{fid}']")
            case.evaluate("d => { d.open = true; }")
            plots = case.locator("section.plots")
            plots.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top"
                           " + window.scrollY - 90)")  # fmt: skip
            shots.append(out / "report-case.png")
            page.screenshot(path=shots[-1], full_page=False)
            ctx.close()

            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.goto(f"{base}/?token={TOKEN}", wait_until="load")  # sets the cookie
            if list_query:
                page.goto(f"{base}/?{list_query}", wait_until="load")
            shots.append(out / "ui-list.png")
            page.screenshot(path=shots[-1], full_page=False)
            page.goto(f"{base}/finding/{fid}", wait_until="load")
            shots.append(out / "ui-finding.png")
            page.screenshot(path=shots[-1], full_page=False)
            ctx.close()
        finally:
            browser.close()
    for path in shots:
        shrink(path)
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="an existing store (default: run the demo)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where to write")
    ap.add_argument("--list-query", default="", help="filters of the UI list shot (a=b&c=d)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bh-screenshots-") as tmp:
        db = a.db
        if db is None:
            print("running beaconhunt demo ...", flush=True)
            demo = Path(tmp) / "demo"
            subprocess.run([sys.executable, "-m", "beaconhunt", "demo", "--out", str(demo)],
                           check=True, capture_output=True)  # fmt: skip
            db = demo / "hunt.duckdb"
        shoot(db, a.out, Path(tmp), a.list_query)


if __name__ == "__main__":
    main()
