"""The findings list of the web UI: an in-memory index queried with parameters.

The store keeps each finding as a JSON record; parsing 100,000 of them for every
page would take seconds. :class:`FindingIndex` extracts the columns the list
filters on once (a single query on the store), keeps them in an in-memory DuckDB
table, and is rebuilt when the store file changes (its size or modification
time), so a hunt that adds findings, or a verdict, shows on the next page load.
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

_EXTRACT = """
SELECT f.finding_id, f.decision, f.rule, f.score, f.last_run,
       coalesce(f.record->>'kind', 'beacon') AS kind,
       f.record->>'src_ip' AS src_ip, f.record->>'src_host' AS src_host,
       coalesce(f.record->>'dst_domain', f.record->>'dst_ip', '') AS dst,
       TRY_CAST(f.record->>'dst_port' AS INTEGER) AS dst_port,
       f.record->>'process_image' AS process,
       TRY_CAST(f.record->>'connections' AS BIGINT) AS connections,
       epoch(TRY_CAST(f.record->>'first_seen' AS TIMESTAMPTZ)) AS first_seen,
       epoch(TRY_CAST(f.record->>'last_seen' AS TIMESTAMPTZ)) AS last_seen,
       v.decision AS verdict
FROM findings f
LEFT JOIN (SELECT finding_id, arg_max(decision, verdict_id) AS decision
           FROM verdicts GROUP BY finding_id) v USING (finding_id)
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

    def page(self, filters: Filters, page: int = 1, size: int = PAGE_SIZE) -> Page:
        """One page of the findings ``filters`` keep, highest score first."""
        where, params = filters.where()
        (total,) = self._con.execute(f"SELECT count(*) FROM idx{where}", params).fetchall()[0]
        total = int(total)
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        rows = self._con.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM idx{where}"
            " ORDER BY score DESC, finding_id LIMIT ? OFFSET ?",
            [*params, size, (page - 1) * size],
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
