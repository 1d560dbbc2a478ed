"""Columnar tables the traffic builders append to, and Zeek-style unique ids.

Builders add whole batches (one numpy array per column, or a scalar that is
broadcast), so a day of traffic is assembled with a few hundred array appends
instead of a Python object per connection. Missing columns are "unset"
(``nan`` for floats, ``-1`` for counts, ``None`` for strings), which the Zeek
writer prints as ``-``. Columns no Zeek log has (``src``, ``label``, ``qname``
of connections; ``cause`` of a DNS lookup, the connection row it was made for)
are ground truth the writers ignore.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CONN", "DNS", "HTTP", "SSL", "Table", "make_ids"]

#: Column kinds: ``f`` float64, ``i`` int64, ``o`` Python object (str or None).
CONN: dict[str, str] = {
    "ts": "f",
    "src": "i",
    "orig_p": "i",
    "resp_h": "o",
    "resp_p": "i",
    "proto": "o",
    "service": "o",
    "duration": "f",
    "orig_bytes": "i",
    "resp_bytes": "i",
    "conn_state": "o",
    "history": "o",
    "orig_pkts": "i",
    "orig_ip_bytes": "i",
    "resp_pkts": "i",
    "resp_ip_bytes": "i",
    "label": "i",
    "qname": "o",
}
SSL: dict[str, str] = {
    "row": "i",
    "dt": "f",
    "version": "o",
    "cipher": "o",
    "curve": "o",
    "server_name": "o",
    "resumed": "o",
    "last_alert": "o",
    "next_protocol": "o",
    "established": "o",
    "subject": "o",
    "issuer": "o",
    "validation_status": "o",
    "ja3": "o",
    "ja3s": "o",
}
HTTP: dict[str, str] = {
    "row": "i",
    "dt": "f",
    "trans_depth": "i",
    "method": "o",
    "host": "o",
    "uri": "o",
    "referrer": "o",
    "version": "o",
    "user_agent": "o",
    "request_body_len": "i",
    "response_body_len": "i",
    "status_code": "i",
    "status_msg": "o",
    "resp_fuids": "o",
    "resp_mime_types": "o",
}
DNS: dict[str, str] = {
    "row": "i",
    "dt": "f",
    "trans_id": "i",
    "rtt": "f",
    "query": "o",
    "qclass": "i",
    "qclass_name": "o",
    "qtype": "i",
    "qtype_name": "o",
    "rcode": "i",
    "rcode_name": "o",
    "AA": "o",
    "TC": "o",
    "RD": "o",
    "RA": "o",
    "Z": "i",
    "answers": "o",
    "TTLs": "o",
    "rejected": "o",
    "cause": "i",
}

_DTYPES: dict[str, Any] = {"f": np.float64, "i": np.int64, "o": object}
_UNSET: dict[str, object] = {"f": np.nan, "i": -1, "o": None}
_ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)

Columns = dict[str, NDArray[Any]]


class Table:
    """An append-only columnar table with a fixed set of typed columns."""

    def __init__(self, kinds: Mapping[str, str]) -> None:
        self.kinds = dict(kinds)
        self._parts: dict[str, list[NDArray[Any]]] = {k: [] for k in kinds}
        self.n = 0

    def add(self, n: int, **cols: object) -> NDArray[np.int64]:
        """Append ``n`` rows; each value is an array of length ``n`` or a scalar.

        Returns the row numbers the batch received (its place in the table).
        """
        unknown = set(cols) - set(self.kinds)
        if unknown:
            raise ValueError(f"unknown columns: {sorted(unknown)}")
        for key, kind in self.kinds.items():
            self._parts[key].append(_column(cols.get(key, _UNSET[kind]), n, kind))
        rows = np.arange(self.n, self.n + n, dtype=np.int64)
        self.n += n
        return rows

    def finish(self) -> Columns:
        """All batches concatenated, one array per column."""
        return {k: _concat(parts, self.kinds[k]) for k, parts in self._parts.items()}

    def consolidate(self) -> Columns:
        """Like :meth:`finish`, but later edits of the returned arrays change the
        table (used to patch rows in place, e.g. the address DNS handed out)."""
        cols = self.finish()
        self._parts = {k: [v] for k, v in cols.items()}
        return cols


def _concat(parts: list[NDArray[Any]], kind: str) -> NDArray[Any]:
    """Concatenate batches (an empty table gives an empty typed array)."""
    if not parts:
        return np.empty(0, dtype=_DTYPES[kind])
    return np.concatenate(parts)


def _column(value: object, n: int, kind: str) -> NDArray[Any]:
    """``value`` as a column of ``n`` rows of the given kind."""
    dtype = _DTYPES[kind]
    if isinstance(value, np.ndarray):
        if value.shape != (n,):
            raise ValueError(f"column has shape {value.shape}, expected ({n},)")
        return value.astype(dtype, copy=False)
    if isinstance(value, list):
        arr = np.empty(n, dtype=dtype)
        arr[:] = value
        return arr
    return np.full(n, value, dtype=dtype)


def make_ids(rng: np.random.Generator, n: int, prefix: str = "C") -> list[str]:
    """``n`` Zeek-style ids: ``prefix`` and 17 base62 characters (``CXHB1X22027MRWU6D``)."""
    if n == 0:
        return []
    buf = np.empty((n, 18), dtype=np.uint8)
    buf[:, 0] = ord(prefix)
    buf[:, 1:] = _ALPHABET[rng.integers(0, 62, size=(n, 17))]
    ids: list[str] = buf.view("S18").ravel().astype("U18").tolist()
    return ids
