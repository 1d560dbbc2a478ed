"""Cost of pathological input: each case hunted in a fresh process, time and peak RSS.

Usage: python benchmarks/bench_hostile.py [--big]

Cases (issue 13, "Cost out of proportion to input"): a conn.log line of 100,000
tabs and one of 3,000,000; a Zeek header followed by a 200 MB unterminated line;
a Zeek JSON line of 200 MB and one nested 500,000 deep. Each is the 53-record
fixture conn.log plus the hostile line. ``--big`` adds the 3M-tab and 200 MB
cases (they need about 1 GB of disk in a temporary folder).

Goal: each case costs about what the fixture alone costs (well under a second
and a few hundred MB here), and every hostile line is reported with file:line.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "zeek" / "basic" / "conn.log"
_GOOD_JSON = (
    '{"ts":1762156800.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5000,'
    '"id.resp_h":"203.0.113.7","id.resp_p":443,"proto":"tcp"}\n'
)
_RSS = "import resource, sys; print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def _cases(big: bool) -> dict[str, tuple[str, str]]:
    """name -> (file name, text after the fixture's records or the JSON lines)."""
    out = {
        "fixture alone": ("conn.log", ""),
        "100,000 tabs": ("conn.log", "\t" * 100_000 + "\n"),
        "JSON nested 500,000 deep": ("conn.json", _GOOD_JSON + "[" * 500_000 + "\n"),
        "JSON line of 20 MB": ("conn.json", _GOOD_JSON + '{"x":"' + "a" * 20_000_000 + '"}\n'),
    }
    if big:
        out["3,000,000 tabs"] = ("conn.log", "\t" * 3_000_000 + "\n")
        out["200 MB unterminated line"] = ("conn.log", "x" * 200_000_000)
        out["JSON line of 200 MB"] = ("conn.json", _GOOD_JSON + '{"x":"' + "a" * 200_000_000)
    return out


def _run(folder: Path) -> tuple[float, int, str]:
    code = (
        "import sys, resource\n"
        "from beaconhunt.cli import main\n"
        "try:\n"
        f"    main(['hunt', {str(folder)!r}, '--format', 'ndjson', '--output', '/dev/null'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write('RSS=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    rss = int(res.stderr.rsplit("RSS=", 1)[1].split()[0]) if "RSS=" in res.stderr else -1
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    return seconds, rss // 1024, "; ".join(w[:90] for w in warnings) or "(no warning)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="add the 3M-tab and 200 MB cases")
    args = ap.parse_args()
    body = FIXTURE.read_text().rsplit("#close", 1)[0]
    for name, (fname, extra) in _cases(args.big).items():
        with tempfile.TemporaryDirectory(prefix="bh-hostile-") as tmp:
            folder = Path(tmp)
            text = body + extra if fname == "conn.log" else extra
            (folder / fname).write_text(text)
            seconds, rss, said = _run(folder)
        print(f"{name:28s} {seconds:6.2f} s  peak RSS {rss:5,} MB  {said}")


if __name__ == "__main__":
    main()
