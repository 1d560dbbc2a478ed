"""The synthetic capture as an explicit web proxy sees it, written as Squid's native ``access.log``.

Every workstation and server is taken to send its web traffic through one
explicit proxy (Squid with its default ``http_access`` rules), so the proxy
logs one line per web transaction, when it ends:

* each **TLS connection to port 443** (a Zeek conn with an ssl record) is one
  ``CONNECT host:443`` tunnel, ``TCP_TUNNEL/200``: the SNI as the host (the
  server's address when the client sent none), the connection's duration as
  ``elapsed`` and its ``resp_bytes`` as the bytes delivered to the client;
* each **plain-HTTP request** (a Zeek http record, any port) is one request
  for the absolute URL, ``GET http://host[:port]/uri``, ``TCP_MISS/<status>``:
  the connection's bytes are shared out between its requests (each gets its
  response body plus an equal share of what the bodies leave), and its time
  runs to the next request on the connection or, for the last, to the
  connection's end;
* ``HIER_DIRECT/<server address>`` names the server the proxy connected to.

Not there, because an explicit proxy does not see it: DNS (the proxy resolves
names itself), NTP, SMB, Kerberos, LDAP, database and every other non-web
connection, and TLS to other ports: Squid's default ``http_access deny CONNECT
!SSL_ports`` allows tunnels to 443 only, and the synthetic Sliver implant's
mTLS on port 8888 does not use a proxy at all (Sliver's mtls transport ignores
proxy settings), so that implant is absent. HTTP to other ports goes through
(Squid's ``Safe_ports`` include 80 and 1025-65535: Meterpreter's ``:8080`` is
logged). Client source ports, request sizes and user agents are not in the
native format. Times are epoch seconds with milliseconds, ``time`` = start +
``elapsed`` as Squid writes it; lines are in the order Squid writes them, by
end time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["FILE_NAME", "PROXY_IP", "TUNNEL_PORTS", "WebRequest", "render", "web_requests"]

#: The file written, as Squid names it.
FILE_NAME = "access.log"
#: The proxy's own address (never a destination; W3C logs carry it as ``s-ip``).
PROXY_IP = "10.10.0.8"
#: TLS connections to these ports are tunnelled through the proxy (Squid's ``SSL_ports``).
TUNNEL_PORTS = frozenset({443})


class WebRequest(NamedTuple):
    """One transaction as the proxy logs it (milliseconds since the epoch)."""

    start_ms: int
    end_ms: int
    client: str
    method: str
    host: str  # the name asked for, or the server's address
    port: int
    uri: str  # path and query ("/" for a tunnel)
    tunnel: bool
    bytes_in: int  # to the client
    bytes_out: int  # from the client
    status: int
    mime: str | None
    agent: str | None
    referrer: str | None
    server: str

    @property
    def authority(self) -> str:
        """``host:port`` (an IPv6 address in brackets); plain HTTP leaves out port 80."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if not self.tunnel and self.port == 80 else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """What Squid logs as the URL: ``host:443`` for a tunnel, else the absolute URL."""
        return self.authority if self.tunnel else f"http://{self.authority}{self.uri}"


def web_requests(frames: Mapping[str, LogFrame]) -> list[WebRequest]:
    """Every web transaction of the capture through the proxy, in log (end time) order."""
    conn = frames["conn"]
    c = conn.columns
    row = {uid: i for i, uid in enumerate(c["uid"].tolist())}
    cols = _ConnColumns(conn)
    out = _tunnels(frames.get("ssl"), row, cols) + _http(frames.get("http"), row, cols)
    out.sort(key=lambda r: (r.end_ms, r.start_ms))
    return out


class _ConnColumns:
    """The conn.log columns a request needs, as Python lists."""

    def __init__(self, conn: LogFrame) -> None:
        c = conn.columns
        self.ts = conn.ts.tolist()
        self.duration = np.nan_to_num(c["duration"].astype(float), nan=0.0).tolist()
        self.client = c["id.orig_h"].tolist()
        self.server = c["id.resp_h"].tolist()
        self.port = c["id.resp_p"].tolist()
        self.proto = c["proto"].tolist()
        self.orig = np.maximum(c["orig_bytes"], 0).tolist()
        self.resp = np.maximum(c["resp_bytes"], 0).tolist()


def _ms(t: float) -> int:
    return round(t * 1000.0)


def _tunnels(ssl: LogFrame | None, row: dict[str, int], c: _ConnColumns) -> list[WebRequest]:
    """One CONNECT per TLS connection to a tunnel port."""
    if ssl is None:
        return []
    out, seen = [], set()
    for uid, sni in zip(ssl.columns["uid"].tolist(), ssl.columns["server_name"].tolist(),
                        strict=True):  # fmt: skip
        i = row.get(uid)
        if i is None or i in seen or c.proto[i] != "tcp" or c.port[i] not in TUNNEL_PORTS:
            continue
        seen.add(i)
        start = _ms(c.ts[i])
        out.append(WebRequest(
            start, start + _ms(c.duration[i]), c.client[i], "CONNECT", sni or c.server[i],
            c.port[i], "/", True, c.resp[i], c.orig[i], 200, None, None, None, c.server[i],
        ))  # fmt: skip
    return out


def _http(http: LogFrame | None, row: dict[str, int], c: _ConnColumns) -> list[WebRequest]:
    """One absolute-URL request per http.log record, the connection's bytes shared out."""
    if http is None:
        return []
    h = http.columns
    n = len(http)
    empty = [None] * n
    fields = list(zip(
        h["uid"].tolist(), http.ts.tolist(), h["method"].tolist(), h["host"].tolist(),
        h["uri"].tolist(), h["status_code"].tolist(), h["response_body_len"].tolist(),
        h["request_body_len"].tolist(),
        h["resp_mime_types"].tolist() if "resp_mime_types" in h else empty,
        h["user_agent"].tolist() if "user_agent" in h else empty,
        h["referrer"].tolist() if "referrer" in h else empty, strict=True,
    ))  # fmt: skip
    by_conn: dict[int, list[int]] = {}
    for k, uid in enumerate(h["uid"].tolist()):
        if uid in row:
            by_conn.setdefault(row[uid], []).append(k)
    out = []
    for i, ks in by_conn.items():
        ks.sort(key=lambda k: fields[k][1])
        body_in = [max(fields[k][6], 0) for k in ks]
        body_out = [max(fields[k][7], 0) for k in ks]
        share_in = _shares(c.resp[i] - sum(body_in), len(ks))
        share_out = _shares(c.orig[i] - sum(body_out), len(ks))
        starts = [_ms(c.ts[i])] + [_ms(fields[k][1]) for k in ks[1:]]
        ends = [*starts[1:], _ms(c.ts[i] + c.duration[i])]
        for j, k in enumerate(ks):
            _, _, method, host, uri, status, _, _, mime, agent, referrer = fields[k]
            out.append(WebRequest(
                starts[j], max(ends[j], starts[j]), c.client[i], method or "GET",
                _host(host, c.server[i]), c.port[i], uri or "/", False,
                max(body_in[j] + share_in[j], 0), max(body_out[j] + share_out[j], 0),
                status if status >= 0 else 0, mime.split(",")[0] if mime else None, agent,
                referrer, c.server[i],
            ))  # fmt: skip
    return out


def _shares(total: int, n: int) -> list[int]:
    """``total`` split into ``n`` integer parts that add up to it (the first takes the rest)."""
    part, rest = divmod(total, n)
    return [part + rest] + [part] * (n - 1)


def _host(host: str | None, server: str) -> str:
    """The name in a Host header without its port, or the server's address."""
    if not host:
        return server
    if host.startswith("["):
        return host[1 : host.find("]")]
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and ":" not in name else host


def _line(r: WebRequest) -> str:
    end, elapsed = r.end_ms, r.end_ms - r.start_ms
    code = "TCP_TUNNEL" if r.tunnel else "TCP_MISS"
    return (
        f"{end // 1000}.{end % 1000:03d} {elapsed:6d} {r.client} {code}/{r.status:03d}"
        f" {r.bytes_in} {r.method} {r.url} - HIER_DIRECT/{r.server} {r.mime or '-'}"
    )


def render(
    frames: Mapping[str, LogFrame], world: World, out_dir: Path, span: tuple[float, float]
) -> list[Path]:
    """Write :data:`FILE_NAME` under ``out_dir``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(_line(r) + "\n" for r in web_requests(frames))
    return [path]
