"""Coverage-guided fuzzing of one beaconhunt reader with atheris (run before releases).

    python fuzz/fuzz_readers.py READER [CORPUS_DIR ...] [libFuzzer options]
    python fuzz/fuzz_readers.py suricata fuzz/corpus/suricata -max_total_time=600
    python fuzz/fuzz_readers.py --list

READER is a case name of ``tests/fuzz/cases.py`` (``suricata``, ``zeek-json-conn``,
``nfdump-1.7``, ``sysmon-nxlog``...: ``--list`` prints them) or ``evtx``; its seed
corpus is ``fuzz/corpus/READER/`` (libFuzzer adds what it finds to the first folder).

Each input becomes a file, which is read the way the property tests read it: the
reader itself (``read_direct``) and the whole load path (``load_paths`` into a fresh
in-memory DuckDB store; Zeek TSV and EVTX have only that one). Anything raised is a
crash: readers report bad input as ``InputProblem``s and go on, never raise. (The
case's ``.log``, ``.json``... suffix is kept, since a name is a hint to sniffing.)

Only the load path of one input is slow (~50 ms): ``-fuzz_direct_only=1`` (an option
of this script, not libFuzzer's) skips it for the readers that have a direct path.
Exceptions of the open bugs in :data:`KNOWN_BUGS` are counted and skipped, so that a
run goes on past them; ``-fuzz_known_bugs_crash=1`` makes them crashes again.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402

with atheris.instrument_imports():  # what coverage guides: every reader, the loader, the store
    import beaconhunt.ingest.mapped
    import beaconhunt.ingest.sysmon  # noqa: F401
    from beaconhunt.ingest.loader import load_paths
    from beaconhunt.ingest.readers import network_readers
    from beaconhunt.store.duckdb import DuckDBStore
    from tests.fuzz.cases import CASES, Case, read_direct, read_loaded

    network_readers()  # the reader modules are imported on first use: now, instrumented


#: Open bugs, as (exception type, start of its message): counted and skipped, so a run goes
#: on past them while a fix is written; delete an entry when its bug is fixed (each fixed
#: one is a test in tests/fuzz/test_found_bugs.py). None is open.
KNOWN_BUGS: tuple[tuple[str, str], ...] = ()
_known_seen: dict[tuple[str, str], int] = {}


def _known(run: Callable[[bytes], None]) -> Callable[[bytes], None]:
    def guarded(data: bytes) -> None:
        try:
            run(data)
        except Exception as exc:
            kind = next(
                (k for k in KNOWN_BUGS if type(exc).__name__ == k[0] and str(exc).startswith(k[1])),
                None,
            )
            if kind is None:
                raise
            _known_seen[kind] = _known_seen.get(kind, 0) + 1
            if _known_seen[kind] == 1:
                print(f"known bug (skipped from now on): {kind[0]}: {kind[1]}", file=sys.stderr)

    return guarded


def _one_input(case: Case, tmp: Path, direct_only: bool) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        path = tmp / ("input" + case.fixture.suffix)
        path.write_bytes(data)
        if case.kind != "zeek_tsv":
            read_direct(case, path)
            if direct_only:
                return
        read_loaded(case, path)

    return run


def _evtx_input(tmp: Path) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        path = tmp / "input.evtx"
        path.write_bytes(data)
        store = DuckDBStore()
        try:
            load_paths([path], store)
        finally:
            store.close()

    return run


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help", "--list"):
        print(__doc__)
        print("readers:", ", ".join([*(c.name for c in CASES), "evtx"]))
        return
    name, rest = args[0], args[1:]
    direct_only = "-fuzz_direct_only=1" in rest
    rest = [a for a in rest if not a.startswith("-fuzz_direct_only")]
    tmp = Path(tempfile.mkdtemp(prefix="beaconhunt-fuzz-"))
    if name == "evtx":
        run = _evtx_input(tmp)
    else:
        case = next((c for c in CASES if c.name == name), None)
        if case is None:
            raise SystemExit(f"unknown reader {name!r}: try --list")
        run = _one_input(case, tmp, direct_only)
    if "-fuzz_known_bugs_crash=1" in rest:  # every exception is a crash, known or not
        rest.remove("-fuzz_known_bugs_crash=1")
    else:
        run = _known(run)
    atheris.Setup([sys.argv[0], *rest], run)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
