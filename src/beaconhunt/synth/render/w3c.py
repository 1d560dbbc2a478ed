"""The synthetic capture as an explicit web proxy sees it, as a Blue Coat ProxySG W3C access log.

The transactions are those of :mod:`beaconhunt.synth.render.squid` (the same
explicit-proxy view: a ``CONNECT host:443`` tunnel per TLS connection to port
443, an absolute-URL request per plain-HTTP request; DNS, NTP, other non-web
traffic and Sliver's mTLS on 8888 are absent), written as ProxySG's access log
in its ``main`` format (SGOS 5/6: ``date time time-taken c-ip cs-username
cs-auth-group x-exception-id sc-filter-result cs-categories cs(Referer)
sc-status s-action cs-method rs(Content-Type) cs-uri-scheme cs-host
cs-uri-port cs-uri-path cs-uri-query cs-uri-extension cs(User-Agent) s-ip
sc-bytes cs-bytes x-virus-id``) with ``s-supplier-ip`` added, as a ProxySG
custom format would, so the upstream server is known:

* a tunnel is ``CONNECT``, scheme ``tcp``, ``s-action`` ``TCP_TUNNELED``, path ``/``;
* a request is its method with scheme ``http``, ``s-action`` ``TCP_NC_MISS``,
  path, ``?query`` and extension apart, the user agent and referrer quoted;
* ``sc-bytes``/``cs-bytes`` are the bytes to and from the client (the
  connection's ``resp_bytes``/``orig_bytes``, shared out between the requests
  of one HTTP connection), ``time-taken`` in milliseconds;
* ``date``/``time`` are when the transaction ended, in UTC, to the second, as
  ProxySG writes them; ``s-ip`` is the proxy (:data:`~beaconhunt.synth.render.squid.PROXY_IP`),
  ``s-supplier-ip`` the server it connected to.

The appliance uploads its log every hour and the uploads are kept appended in
one file, so a header block (``#Software``, ``#Version``, ``#Start-Date``,
``#Date``, ``#Fields``) starts every hour of the log.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from beaconhunt.synth.render.squid import PROXY_IP, WebRequest, web_requests
from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["FIELDS", "FILE_NAME", "SOFTWARE", "render"]

#: The file written (ProxySG names uploads ``SG_main__<serial>.log``).
FILE_NAME = "SG_main.log"
SOFTWARE = "SGOS 6.7.5.3"
#: The ``#Fields:`` of the ``main`` format, plus ``s-supplier-ip``.
FIELDS = (
    "date time time-taken c-ip cs-username cs-auth-group x-exception-id sc-filter-result "
    "cs-categories cs(Referer) sc-status s-action cs-method rs(Content-Type) cs-uri-scheme "
    "cs-host cs-uri-port cs-uri-path cs-uri-query cs-uri-extension cs(User-Agent) s-ip "
    "sc-bytes cs-bytes x-virus-id s-supplier-ip"
)


def _quoted(text: str | None) -> str:
    """A W3C ``<string>``: ``-`` when empty, double quotes (doubled inside) around spaces."""
    if not text:
        return "-"
    if " " in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _uri_parts(uri: str) -> tuple[str, str, str]:
    """Path, ``?query`` (or ``-``) and the path's extension (or ``-``)."""
    path, sep, query = uri.partition("?")
    last = path.rsplit("/", 1)[-1]
    ext = last.rsplit(".", 1)[-1] if "." in last else "-"
    return path or "/", f"?{query}" if sep else "-", ext


@lru_cache(maxsize=4096)
def _stamp(second: int) -> str:
    """W3C ``date time`` of an epoch second, UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))


def _line(r: WebRequest) -> str:
    stamp = _stamp(r.end_ms // 1000)
    if r.tunnel:
        scheme, action, path, query, ext = "tcp", "TCP_TUNNELED", "/", "-", "-"
    else:
        scheme, action = "http", "TCP_NC_MISS"
        path, query, ext = _uri_parts(r.uri)
    return " ".join((
        stamp, str(r.end_ms - r.start_ms), r.client, "-", "-", "-", "OBSERVED", '"unavailable"',
        _quoted(r.referrer), str(r.status), action, r.method, r.mime or "-", scheme, r.host,
        str(r.port), path, query, ext, _quoted(r.agent), PROXY_IP, str(r.bytes_in),
        str(r.bytes_out), "-", r.server,
    ))  # fmt: skip


def _header(hour: int) -> str:
    stamp = _stamp(hour * 3600)
    return (
        f"#Software: {SOFTWARE}\n#Version: 1.0\n#Start-Date: {stamp}\n#Date: {stamp}\n"
        f"#Fields: {FIELDS}\n"
    )


def render(
    frames: Mapping[str, LogFrame], world: World, out_dir: Path, span: tuple[float, float]
) -> list[Path]:
    """Write :data:`FILE_NAME` under ``out_dir``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    hour = -1
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for r in web_requests(frames):
            if r.end_ms // 3_600_000 != hour:
                hour = r.end_ms // 3_600_000
                fh.write(_header(hour))
            fh.write(_line(r) + "\n")
        if hour < 0:  # nothing logged: the header alone, as a fresh log starts
            fh.write(_header(int(span[0] // 3600)))
    return [path]
