"""Memory across runs: what earlier hunts reported and what analysts decided.

Usage (with the ``--db`` store of a hunt)::

    store = DuckDBStore(Path("hunt.duckdb"))
    history = History(store.con)
    run = history.start_run(time.time(), ["logs/"], (span_start, span_end))
    extra = history.evidence_for(finding)      # before deciding: history.* evidence
    ...
    history.record_findings(run, findings)     # after deciding: upsert, run finished
    fid = history.resolve_id("3fa2")           # full id from a unique prefix
    history.record_verdict(fid, Decision.CLOSE, "Dropbox sync client", "alice", time.time())

Three tables live next to the connection tables (created if missing):

==========  ================================================================
table       holds
==========  ================================================================
runs        one row per hunt: start/finish time, observed span, inputs,
            number of findings
findings    one row per finding id, updated every run it is reported in:
            first/last run, run count, first/last reported time, latest
            decision, rule, score, the public record (JSON) and the
            connection times (the latest 20,000)
verdicts    append-only analyst verdicts, with the finding's destination and
            process copied in, so a verdict applies to the same destination
            and process on every host; the latest matching verdict wins
==========  ================================================================

Evidence codes :meth:`History.evidence_for` emits (pivot ``history``):

===========================  ==========================================================
code                         when
===========================  ==========================================================
``history.closed``           the latest verdict on this destination and process is close
``history.escalated``        ... is escalate
``history.monitored``        ... is monitor
``history.process_flagged``  an analyst escalated this process elsewhere (any host,
                             any destination); for images under ``C:\\Windows\\`` the
                             command line must match too
``history.seen``             the finding id was reported by earlier runs
===========================  ==========================================================
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from beaconhunt.errors import ConfigError, StoreError
from beaconhunt.model import Decision, Evidence, Finding
from beaconhunt.model.record import finding_record
from beaconhunt.util.text import terminal_text

__all__ = [
    "HISTORY_CODES",
    "MAX_TIMES",
    "AnalystVerdict",
    "History",
    "StoredFinding",
    "UnknownFinding",
]

MAX_TIMES = 20_000
"""Connection times kept per finding (the latest ones)."""

HISTORY_CODES = (
    "history.closed",
    "history.escalated",
    "history.monitored",
    "history.process_flagged",
    "history.seen",
)
"""Every code :meth:`History.evidence_for` can emit."""

_VERDICT_CODE = {
    Decision.CLOSE: ("history.closed", "closed"),
    Decision.ESCALATE: ("history.escalated", "escalated"),
    Decision.MONITOR: ("history.monitored", "put on monitor"),
}
_SHARED_IMAGE_DIR = "c:\\windows\\"
_ID = re.compile(r"^[0-9a-f]{4,40}$")
_MAX_NOTE = 4000
_MAX_CANDIDATES = 10

_DDL = (
    "CREATE TABLE IF NOT EXISTS runs (run_id BIGINT PRIMARY KEY, started DOUBLE,"
    " finished DOUBLE, span_start DOUBLE, span_end DOUBLE, inputs VARCHAR[], findings BIGINT)",
    "CREATE TABLE IF NOT EXISTS findings (finding_id VARCHAR PRIMARY KEY, first_run BIGINT,"
    " last_run BIGINT, runs BIGINT, first_reported DOUBLE, last_reported DOUBLE,"
    " decision VARCHAR, rule VARCHAR, score DOUBLE, record JSON, times DOUBLE[])",
    "CREATE TABLE IF NOT EXISTS verdicts (verdict_id BIGINT PRIMARY KEY, finding_id VARCHAR,"
    ' "at" DOUBLE, decision VARCHAR, note VARCHAR, analyst VARCHAR, src_ip VARCHAR,'
    " src_host VARCHAR, dst_domain VARCHAR, dst_ip VARCHAR, dst_port INTEGER,"
    " process_image VARCHAR, command_line VARCHAR)",
    # stores from before the run summary (what a run read and skipped) gain the column
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS summary JSON",
)

# A finding reported again in the same run is not counted twice.
_UPSERT = """
INSERT INTO findings
SELECT finding_id, ? AS first_run, ? AS last_run, 1 AS runs, ? AS first_reported,
       ? AS last_reported, decision, rule, score, record, times
FROM _history_batch
ON CONFLICT (finding_id) DO UPDATE SET
    runs = findings.runs + CASE WHEN findings.last_run = excluded.last_run THEN 0 ELSE 1 END,
    last_run = excluded.last_run,
    last_reported = excluded.last_reported,
    decision = excluded.decision,
    rule = excluded.rule,
    score = excluded.score,
    record = excluded.record,
    times = excluded.times
"""
_FINDING_COLUMNS = (
    "finding_id, record, times, runs, first_run, last_run, first_reported, last_reported,"
    " decision, rule, score"
)
_VERDICT_COLUMNS = (
    'verdict_id, finding_id, "at", decision, note, analyst, src_ip, src_host, dst_domain,'
    " dst_ip, dst_port, process_image, command_line"
)


class UnknownFinding(ConfigError):
    """A finding id (or prefix) names no finding in the store, or more than one.

    A :class:`~beaconhunt.errors.ConfigError` (a bad argument): exit code 2.
    """


@dataclass(frozen=True, slots=True)
class AnalystVerdict:
    """One analyst decision on a finding, with the destination and process it covers."""

    verdict_id: int
    finding_id: str
    at: float
    decision: Decision
    note: str
    analyst: str | None
    src_ip: str | None
    src_host: str | None
    dst_domain: str | None
    dst_ip: str | None
    dst_port: int | None
    process_image: str | None
    command_line: str | None

    @property
    def destination(self) -> str:
        """The destination as shown to people: domain, else IP."""
        return self.dst_domain or self.dst_ip or "-"


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """What the store remembers of one finding id (its latest run's view)."""

    finding_id: str
    #: the public record of the finding (:func:`beaconhunt.report.base.finding_record`)
    record: dict[str, Any]
    #: connection start times of the latest run (epoch seconds, sorted, at most MAX_TIMES)
    times: tuple[float, ...]
    runs: int
    first_run: int
    last_run: int
    first_reported: float
    last_reported: float
    decision: Decision
    rule: str
    score: float


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def _fold(value: str | None) -> str | None:
    """Case-folded name for comparison (domains also lose a trailing dot)."""
    return value.strip().rstrip(".").lower() if value else None


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats (NaN, inf) replaced by None, recursively, for JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _command_line(f: Finding) -> str | None:
    return f.process.command_line if f.process else None


def _shared_image(image: str) -> bool:
    """True for images under C:\\Windows\\: one binary, many unrelated uses."""
    return image.replace("/", "\\").lower().startswith(_SHARED_IMAGE_DIR)


def _stored(row: Sequence[Any]) -> StoredFinding:
    fid, record, times, runs, first, last, first_at, last_at, decision, rule, score = row
    return StoredFinding(
        finding_id=fid,
        record=json.loads(record) if isinstance(record, str) else dict(record),
        times=tuple(times or ()),
        runs=int(runs),
        first_run=int(first),
        last_run=int(last),
        first_reported=float(first_at),
        last_reported=float(last_at),
        decision=Decision(decision),
        rule=rule or "",
        score=float(score),
    )


def _run_of(r: Sequence[Any]) -> StoredRun:
    span = None if r[3] is None or r[4] is None else (float(r[3]), float(r[4]))
    return StoredRun(
        run_id=int(r[0]), started=float(r[1]), finished=None if r[2] is None else float(r[2]),
        span=span, inputs=tuple(r[5] or ()), findings=int(r[6] or 0),
        summary=None if r[7] is None else json.loads(r[7]),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One recorded hunt: when, over what, and (newer stores) what it read."""

    run_id: int
    started: float
    finished: float | None
    span: tuple[float, float] | None
    inputs: tuple[str, ...]
    findings: int
    #: a :class:`~beaconhunt.model.run.ReadSummary` record, None for older runs
    summary: dict[str, Any] | None


class History:
    """Runs, findings and analyst verdicts kept in a DuckDB store (see module docs).

    ``con`` is a DuckDB connection, normally ``DuckDBStore(path).con``. The
    tables are created when missing; database errors become
    :class:`~beaconhunt.errors.StoreError`.
    """

    def __init__(self, con: Any, read_only: bool = False) -> None:
        self.con = con
        self._verdict_cache: list[AnalystVerdict] | None = None
        if read_only:  # a store opened read-only: the tables are there or it is no store
            return
        try:
            for ddl in _DDL:
                con.execute(ddl)
        except duckdb.Error as exc:
            raise StoreError(f"cannot create the history tables: {exc}") from exc

    # -- runs and findings ------------------------------------------------------------------

    def start_run(
        self, started: float, inputs: Sequence[str], span: tuple[float, float] | None
    ) -> int:
        """Record the start of a hunt and return its run id (1, 2, ...).

        ``span`` is the (start, end) epoch range of the data hunted, when known.
        """
        lo, hi = span if span is not None else (None, None)
        try:
            run_id = int(self._all("SELECT coalesce(max(run_id), 0) + 1 FROM runs")[0][0])
            self.con.execute(
                "INSERT INTO runs (run_id, started, span_start, span_end, inputs)"
                " VALUES (?, ?, ?, ?, ?)",
                [run_id, started, lo, hi, [str(i) for i in inputs]],
            )
        except duckdb.Error as exc:
            raise StoreError(f"cannot record the run: {exc}") from exc
        return run_id

    def record_findings(self, run_id: int, findings: Sequence[Finding]) -> None:
        """Upsert the findings of run ``run_id`` and mark the run finished.

        Call it after :meth:`evidence_for` and the decision, so the stored
        decision is this run's. When two findings share an id (same pair,
        different process), the first one (the highest ranked) is kept.
        """
        rows = self._all("SELECT started FROM runs WHERE run_id = ?", [run_id])
        if not rows:
            raise StoreError(f"no run {run_id} in the store (call start_run first)")
        started = float(rows[0][0])
        seen: dict[str, Finding] = {}
        for f in findings:
            seen.setdefault(f.finding_id, f)
        batch = pa.table(
            {
                "finding_id": pa.array(list(seen), pa.string()),
                "decision": pa.array([f.decision.value for f in seen.values()], pa.string()),
                "rule": pa.array([f.rule for f in seen.values()], pa.string()),
                "score": pa.array([float(f.score) for f in seen.values()], pa.float64()),
                "record": pa.array(
                    [json.dumps(_finite(finding_record(f))) for f in seen.values()], pa.string()
                ),
                "times": pa.array(
                    [sorted(map(float, f.times))[-MAX_TIMES:] for f in seen.values()],
                    pa.list_(pa.float64()),
                ),
            }
        )
        try:
            self.con.execute("BEGIN TRANSACTION")
            try:
                if seen:
                    self.con.register("_history_batch", batch)
                    try:
                        self.con.execute(_UPSERT, [run_id, run_id, started, started])
                    finally:
                        self.con.unregister("_history_batch")
                self.con.execute(
                    "UPDATE runs SET finished = ?, findings = ? WHERE run_id = ?",
                    [time.time(), len(seen), run_id],
                )
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
        except duckdb.Error as exc:
            raise StoreError(f"cannot record the findings of run {run_id}: {exc}") from exc

    def record_summary(self, run_id: int, summary: dict[str, Any]) -> None:
        """Keep what run ``run_id`` read and skipped (a :class:`~beaconhunt.model.run.ReadSummary`
        record) with the run."""
        try:
            self.con.execute(
                "UPDATE runs SET summary = ? WHERE run_id = ?",
                [json.dumps(_finite(summary)), run_id],
            )
        except duckdb.Error as exc:
            raise StoreError(f"cannot record the summary of run {run_id}: {exc}") from exc

    def runs(self) -> list[StoredRun]:
        """Every recorded run, newest first."""
        has_summary = bool(
            self._all(
                "SELECT 1 FROM information_schema.columns"
                " WHERE table_name = 'runs' AND column_name = 'summary'"
            )
        )  # a read-only store from before the summary column has none
        summary = "summary" if has_summary else "NULL"
        rows = self._all(
            "SELECT run_id, started, finished, span_start, span_end, inputs, findings,"
            f" {summary} FROM runs ORDER BY run_id DESC"
        )
        return [_run_of(r) for r in rows]

    def findings_of(self, run_id: int | None) -> list[StoredFinding]:
        """The findings run ``run_id`` reported (every stored finding for None),
        highest score first (at the four decimals a record keeps, then by id: the
        report's and the web UI's order)."""
        where, params = ("WHERE last_run = ?", [run_id]) if run_id is not None else ("", [])
        rows = self._all(
            f"SELECT {_FINDING_COLUMNS} FROM findings {where}"
            " ORDER BY round(score, 4) DESC, finding_id",
            params,
        )
        return [_stored(row) for row in rows]

    def all_verdicts(self) -> list[AnalystVerdict]:
        """Every verdict recorded, oldest first."""
        return list(self._all_verdicts())

    def resolve_id(self, prefix: str) -> str:
        """The full finding id that starts with ``prefix`` (at least 4 hex characters).

        Raises :class:`UnknownFinding` when no id or several ids match (the
        message lists the candidates).
        """
        p = prefix.strip().lower()
        if not _ID.match(p):
            raise UnknownFinding(
                f"finding id {terminal_text(prefix, 40)!r} is not an id: use at least 4 of the"
                " hex characters of the finding_id column of a hunt"
            )
        rows = self._all(
            "SELECT finding_id, record->>'src_ip', record->>'dst_domain', record->>'dst_ip',"
            " record->>'dst_port' FROM findings WHERE starts_with(finding_id, ?)"
            " ORDER BY finding_id LIMIT ?",
            [p, _MAX_CANDIDATES + 1],
        )
        if len(rows) == 1:
            return str(rows[0][0])
        if not rows:
            raise UnknownFinding(
                f"no finding {p} in this store: ids come from earlier hunts with the same --db"
            )
        shown = "; ".join(
            f"{fid} ({terminal_text(src, 40)} -> {terminal_text(dom or ip, 60)}:{port})"
            for fid, src, dom, ip, port in rows[:_MAX_CANDIDATES]
        )
        more = " and more" if len(rows) > _MAX_CANDIDATES else ""
        raise UnknownFinding(f"finding id {p} is ambiguous, type more of it: {shown}{more}")

    def stored_finding(self, finding_id: str) -> StoredFinding:
        """What the store holds for ``finding_id`` (a full id); UnknownFinding if nothing."""
        found = self.previous(finding_id)
        if found is None:
            raise UnknownFinding(f"no finding {terminal_text(finding_id, 40)} in this store")
        return found

    def previous(self, finding_id: str) -> StoredFinding | None:
        """What earlier runs recorded for ``finding_id``, or None when it is new."""
        rows = self._all(
            f"SELECT {_FINDING_COLUMNS} FROM findings WHERE finding_id = ?", [finding_id]
        )
        if not rows:
            return None
        return _stored(rows[0])

    # -- verdicts ---------------------------------------------------------------------------

    def record_verdict(
        self, finding_id: str, decision: Decision, note: str, analyst: str | None, at: float
    ) -> AnalystVerdict:
        """Append an analyst verdict on ``finding_id`` (a full id, see :meth:`resolve_id`).

        The finding's source, destination and process are copied into the
        verdict, so it covers the same destination and process on every host.
        """
        if not note or not note.strip():
            raise ConfigError("a verdict needs a note saying why")
        rec = self.stored_finding(finding_id).record
        try:
            verdict_id = int(
                self._all("SELECT coalesce(max(verdict_id), 0) + 1 FROM verdicts")[0][0]
            )
        except duckdb.Error as exc:
            raise StoreError(f"cannot read verdicts: {exc}") from exc
        v = AnalystVerdict(
            verdict_id=verdict_id,
            finding_id=finding_id,
            at=float(at),
            decision=Decision(decision),
            note=note.strip()[:_MAX_NOTE],
            analyst=analyst or None,
            src_ip=rec.get("src_ip"),
            src_host=rec.get("src_host"),
            dst_domain=rec.get("dst_domain"),
            dst_ip=rec.get("dst_ip"),
            dst_port=rec.get("dst_port"),
            process_image=rec.get("process_image"),
            command_line=rec.get("process_command_line"),
        )
        try:
            self.con.execute(
                f"INSERT INTO verdicts ({_VERDICT_COLUMNS}) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [v.verdict_id, v.finding_id, v.at, v.decision.value, v.note, v.analyst,
                 v.src_ip, v.src_host, v.dst_domain, v.dst_ip, v.dst_port, v.process_image,
                 v.command_line],
            )  # fmt: skip
        except duckdb.Error as exc:
            raise StoreError(f"cannot record the verdict: {exc}") from exc
        self._verdict_cache = None
        return v

    def verdicts(self, finding_id: str) -> list[AnalystVerdict]:
        """The verdicts recorded on ``finding_id`` itself, oldest first."""
        return [v for v in self._all_verdicts() if v.finding_id == finding_id]

    # -- evidence for a new run -------------------------------------------------------------

    def evidence_for(self, f: Finding) -> tuple[Evidence, ...]:
        """The ``history.*`` evidence for finding ``f`` of the current run.

        Call it before :meth:`record_findings` of the run, so ``history.seen``
        counts earlier runs only.
        """
        matching = [v for v in self._all_verdicts() if _same_dest(v, f) and _same_process(v, f)]
        out: list[Evidence] = []
        deciding = max(matching, key=lambda v: (v.at, v.verdict_id)) if matching else None
        if deciding is not None:
            code, verb = _VERDICT_CODE[deciding.decision]
            out.append(Evidence(code, f"{verb} {_by(deciding)}: {_note(deciding)}"))
        flagged = self._process_flags(f, {v.verdict_id for v in matching})
        if flagged:
            out.append(_flag_evidence(flagged))
        seen = self._seen(f.finding_id)
        if seen is not None:
            out.append(seen)
        return tuple(out)

    def _process_flags(self, f: Finding, excluded: set[int]) -> list[AnalystVerdict]:
        """Escalations of the same process elsewhere, latest per finding, newest first.

        Verdicts that match ``f``'s destination and process are left to
        latest-wins (``excluded``); an escalation later overruled on its own
        finding does not count.
        """
        latest: dict[str, AnalystVerdict] = {}
        for v in self._all_verdicts():  # oldest first: the last one per finding wins
            latest[v.finding_id] = v
        image = _fold(f.process_image)
        if image is None:
            return []
        out = []
        for v in latest.values():
            if v.verdict_id in excluded or v.decision is not Decision.ESCALATE:
                continue
            if _fold(v.process_image) != image:
                continue
            if _shared_image(image) and (
                v.command_line is None or v.command_line.strip() != (_command_line(f) or "").strip()
            ):
                continue
            out.append(v)
        return sorted(out, key=lambda v: (v.at, v.verdict_id), reverse=True)

    def _seen(self, finding_id: str) -> Evidence | None:
        prev = self.previous(finding_id)
        if prev is None:
            return None
        text = (
            f"reported in {prev.runs} earlier run(s) since {_date(prev.first_reported)};"
            f" last decided {prev.decision.value} by rule {terminal_text(prev.rule or '-', 60)}"
        )
        return Evidence("history.seen", text)

    # -- helpers ----------------------------------------------------------------------------

    def _all_verdicts(self) -> list[AnalystVerdict]:
        if self._verdict_cache is None:
            rows = self._all(f'SELECT {_VERDICT_COLUMNS} FROM verdicts ORDER BY "at", verdict_id')
            self._verdict_cache = [_verdict_of(r) for r in rows]
        return self._verdict_cache

    def _all(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return list(self.con.execute(sql, list(params)).fetchall())
        except duckdb.Error as exc:
            raise StoreError(f"cannot read the history tables: {exc}") from exc


def _verdict_of(row: Sequence[Any]) -> AnalystVerdict:
    """An :class:`AnalystVerdict` from a row of ``_VERDICT_COLUMNS``."""
    vid, fid, at, decision, note, analyst, src_ip, src_host, domain, ip, port, image, cmd = row
    return AnalystVerdict(
        verdict_id=int(vid), finding_id=fid, at=float(at), decision=Decision(decision),
        note=note, analyst=analyst, src_ip=src_ip, src_host=src_host, dst_domain=domain,
        dst_ip=ip, dst_port=None if port is None else int(port), process_image=image,
        command_line=cmd,
    )  # fmt: skip


def _same_dest(v: AnalystVerdict, f: Finding) -> bool:
    """Same domain (case-insensitive) when the verdict names one, else same IP."""
    if v.dst_domain:
        return _fold(v.dst_domain) == _fold(f.dst_domain)
    if v.dst_ip:
        return v.dst_ip == f.dst_ip or v.dst_ip in f.dst_ips
    return False


def _same_process(v: AnalystVerdict, f: Finding) -> bool:
    """The verdict covers any process (no image known), or the same image."""
    return v.process_image is None or _fold(v.process_image) == _fold(f.process_image)


def _by(v: AnalystVerdict) -> str:
    who = terminal_text(v.analyst, 40) if v.analyst else "an analyst"
    return f"by {who} on {_date(v.at)} (finding {v.finding_id})"


def _note(v: AnalystVerdict) -> str:
    return terminal_text(v.note, 200)


def _flag_evidence(flags: list[AnalystVerdict]) -> Evidence:
    v = flags[0]
    where = f"{terminal_text(v.src_host or v.src_ip, 40)} -> {terminal_text(v.destination, 60)}"
    others = f" (and {len(flags) - 1} other escalation(s))" if len(flags) > 1 else ""
    text = (
        f"process {terminal_text(v.process_image, 80)} was escalated {_by(v)},"
        f" {where}: {_note(v)}{others}"
    )
    return Evidence("history.process_flagged", text)
