"""The findings list of the web UI: an in-memory index queried with parameters.

The store keeps each finding as a JSON record; parsing 100,000 of them for every
page would take seconds. :class:`FindingIndex` extracts the columns the list
filters on once (a single query on the store), keeps them in an in-memory DuckDB
table, and is rebuilt when the store file changes (its size or modification
time), so a hunt that adds findings, or a verdict, shows on the next page load; a
verdict recorded through the UI itself is set in place.
Every filter value is a query parameter, never SQL text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from beaconhunt.errors import StoreError

__all__ = ["PAGE_SIZE", "Filters", "FindingIndex", "IndexRow", "Page"]

PAGE_SIZE = 50
DECISIONS = ("escalate", "monitor", "close")

# The record's list fields in one JSON parse per row (a path list); a separate
# ``->>`` per field parsed each record ten times: 3.7 s against 1.2 s at 100,000
# demo findings.
_FIELDS = ("kind", "src_ip", "src_host", "dst_domain", "dst_ip", "dst_port", "process_image",
           "connections", "first_seen", "last_seen")  # fmt: skip
_PATHS = "[" + ", ".join(f"'$.{name}'" for name in _FIELDS) + "]"
_EXTRACT = f"""
SELECT finding_id, decision, rule, score, last_run,
       coalesce(j[1], 'beacon') AS kind, j[2] AS src_ip, j[3] AS src_host,
       coalesce(j[4], j[5], '') AS dst, TRY_CAST(j[6] AS INTEGER) AS dst_port,
       j[7] AS process, TRY_CAST(j[8] AS BIGINT) AS connections,
       epoch(TRY_CAST(j[9] AS TIMESTAMPTZ)) AS first_seen,
       epoch(TRY_CAST(j[10] AS TIMESTAMPTZ)) AS last_seen,
       verdict
FROM (SELECT f.finding_id, f.decision, f.rule, f.score, f.last_run,
             json_extract_string(f.record, {_PATHS}) AS j, v.decision AS verdict
      FROM findings f
      LEFT JOIN (SELECT finding_id, arg_max(decision, verdict_id) AS decision
                 FROM verdicts GROUP BY finding_id) v USING (finding_id))
"""
_COLUMNS = ("finding_id", "decision", "rule", "score", "last_run", "kind", "src_ip", "src_host",
            "dst", "dst_port", "process", "connections", "first_seen", "last_seen",
            "verdict")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Filters:
    """What the list is filtered by (empty: not filtered). Text filters match a part
    of the value, any case; ``since``/``until`` (epoch seconds) keep findings active
    in that window."""

    decision: str = ""
    kind: str = ""
    host: str = ""
    destination: str = ""
    process: str = ""
    min_score: float = 0.0
    since: float | None = None
    until: float | None = None
    latest_run: bool = False

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters."""
        conds: list[str] = []
        params: list[Any] = []
        if self.decision:
            conds.append("decision = ?")
            params.append(self.decision)
        if self.kind:
            conds.append("kind = ?")
            params.append(self.kind)
        for value, expr in (
            (self.host, "coalesce(src_host, '') || ' ' || coalesce(src_ip, '')"),
            (self.destination, "dst"),
            (self.process, "coalesce(process, '')"),
        ):
            if value:
                conds.append(f"contains(lower({expr}), ?)")
                params.append(value.lower())  # fmt: skip
        if self.min_score > 0:
            conds.append("score >= ?")
            params.append(self.min_score)
        if self.since is not None:
            conds.append("last_seen >= ?")
            params.append(self.since)
        if self.until is not None:
            conds.append("first_seen <= ?")
            params.append(self.until)
        if self.latest_run:
            conds.append("last_run = (SELECT max(last_run) FROM idx)")
        return (" WHERE " + " AND ".join(conds)) if conds else "", params


@dataclass(frozen=True, slots=True)
class IndexRow:
    finding_id: str
    decision: str
    rule: str
    score: float
    last_run: int
    kind: str
    src_ip: str
    src_host: str | None
    dst: str
    dst_port: int | None
    process: str | None
    connections: int | None
    first_seen: float | None
    last_seen: float | None
    verdict: str | None


@dataclass(frozen=True, slots=True)
class Page:
    rows: tuple[IndexRow, ...]
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    kinds: tuple[str, ...]


class FindingIndex:
    """The list columns of every stored finding (see the module docstring)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._key: tuple[int, int] | None = None
        self._con = duckdb.connect()

    def _stamp(self) -> tuple[int, int]:
        st = os.stat(self.db)
        wal = self.db.with_name(self.db.name + ".wal")
        extra = wal.stat().st_mtime_ns if wal.exists() else 0
        return (st.st_mtime_ns + extra, st.st_size)

    def refresh(self, con: Any) -> None:
        """Rebuild from the open store ``con`` when the file changed since the last build."""
        key = self._stamp()
        if key == self._key:
            return
        try:
            table = con.sql(_EXTRACT).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"{self.db}: cannot read the findings: {exc}") from exc
        self._con.register("_fresh", table)
        self._con.execute("CREATE OR REPLACE TABLE idx AS SELECT * FROM _fresh")
        self._con.unregister("_fresh")
        self._key = key

    def invalidate(self) -> None:
        self._key = None

    def current(self) -> bool:
        """Whether the index matches the store file now (take it before a write)."""
        return self._key is not None and self._key == self._stamp()

    def verdict_recorded(self, finding_id: str, decision: str, was_current: bool) -> None:
        """This process has just recorded ``decision`` on ``finding_id``: set it in place
        (at 100,000 findings a rebuild takes over a second) when the index was
        current before the write, else rebuild on the next page."""
        if not was_current:
            self._key = None
            return
        self._con.execute("UPDATE idx SET verdict = ? WHERE finding_id = ?", [decision, finding_id])
        self._key = self._stamp()

    def page(self, filters: Filters, page: int = 1, size: int = PAGE_SIZE) -> Page:
        """One page of the findings ``filters`` keep, as a triage queue: escalations,
        then monitor, then close, highest score first within each.

        Scores are compared at the four decimals a stored record keeps, then by
        finding id, so the list ranks exactly as the HTML report does.
        """
        where, params = filters.where()
        (total,) = self._con.execute(f"SELECT count(*) FROM idx{where}", params).fetchall()[0]
        total = int(total)
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        rows = self._con.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM idx{where}"
            " ORDER BY list_position(?, decision), round(score, 4) DESC, finding_id"
            " LIMIT ? OFFSET ?",
            [*params, list(DECISIONS), size, (page - 1) * size],
        ).fetchall()
        counts = dict.fromkeys(DECISIONS, 0)
        counts.update(
            {str(d): int(n) for d, n in self._con.execute(
                "SELECT decision, count(*) FROM idx GROUP BY decision").fetchall()}
        )  # fmt: skip
        kinds = tuple(
            str(k)
            for (k,) in self._con.execute("SELECT DISTINCT kind FROM idx ORDER BY kind").fetchall()
        )
        return Page(tuple(IndexRow(*r) for r in rows), total, page, pages, counts, kinds)
