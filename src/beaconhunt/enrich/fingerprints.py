"""Client fingerprints: the network's process attribution when there is no Sysmon.

The software behind a TLS or HTTP connection still shows in what the sensor
logs: the client's TLS fingerprint (JA3, JA4), the server's answer (JA3S,
JA4S), the certificate's subject and issuer, the HTTP ``User-Agent`` and
whether a ``Host`` header was sent. Zeek writes the fingerprints with its
``ja3`` / ``ja4`` packages (``ssl.log`` columns ``ja3``, ``ja3s``, ``ja4``,
``ja4s``); the fields, their versions and caveats are in ``docs/fingerprints.md``.

Two things are read from them, each a pure function here:

**Known values** (``fingerprints.toml``, every value copied from a cited public
source): a match with a malicious entry of high or medium confidence is
``client.c2_fingerprint`` (an indicator: Cobalt Strike's default certificate,
documented C2 user agents); a low-confidence one is
``client.reported_fingerprint`` (urgency: a JA3 of a TLS library is shared by
every program using it, so a malware list's JA3 alone condemns nothing).

**Prevalence**: the same client fingerprint on many hosts is an installed
application (``client.common_fingerprint``, an explanation); one host alone
presenting it is ``client.rare_fingerprint`` (urgency). No default rule closes
on prevalence: implants that use the operating system's TLS stack (WinINet /
SChannel) share its fingerprint with every program on the host.

Also ``client.self_signed_cert`` (subject equals issuer; urgency),
``client.no_host_header`` (HTTP requests without a ``Host``: no browser or
library sends HTTP/1.1 without one; urgency) and ``client.ua_mismatch`` (a
User-Agent of a current Chrome, Edge, Firefox or Safari on connections whose
JA4 offers at most TLS 1.2 or no ALPN, which those browsers never do: a C2
profile borrowing a browser's name; urgency, seen where a pair has both, as
through an explicit proxy, whose ``CONNECT`` carries the User-Agent and the
tunnel the TLS).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from beaconhunt.model import Evidence
from beaconhunt.util.text import terminal_text

__all__ = [
    "FINGERPRINT_CODES",
    "ClientPrints",
    "KnownPrint",
    "fingerprint_evidence",
    "known_prints",
    "match_known",
]

#: Every code this module emits, with its meaning.
FINGERPRINT_CODES: dict[str, str] = {
    "client.c2_fingerprint": "a TLS fingerprint, certificate or User-Agent of the connections is"
    " a C2 framework's or malware's default (fingerprints.toml, high or medium confidence)",
    "client.reported_fingerprint": "a fingerprint of the connections is on a public malware list"
    " with low confidence (shared with benign software using the same TLS library)",
    "client.common_fingerprint": "the client's TLS fingerprint is presented by many internal"
    " hosts: an installed application (never closes by itself)",
    "client.rare_fingerprint": "the client's TLS fingerprint is presented by this host alone",
    "client.self_signed_cert": "the server's certificate is self-signed (subject equals issuer)",
    "client.no_host_header": "HTTP requests of the connections carry no Host header",
    "client.ua_mismatch": "the User-Agent claims a current browser, but the TLS client"
    " fingerprint (JA4) offers no TLS 1.3 or no ALPN, which every current browser sends",
}

#: fingerprints.toml kinds -> the column of ssl/http rows they are compared with.
_COLUMN_OF_KIND = {
    "ja3": "ja3", "ja3s": "ja3s", "ja4": "ja4", "ja4s": "ja4s",
    "cert_subject": "subject", "cert_issuer": "issuer", "user_agent": "user_agent",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class KnownPrint:
    """One entry of ``fingerprints.toml``."""

    kind: str
    value: str
    name: str
    malicious: bool
    confidence: str
    match: str = "exact"
    source: str = ""

    def matches(self, observed: str) -> bool:
        """Does ``observed`` (a logged value) match this entry?"""
        a, b = observed.strip().lower(), self.value.strip().lower()
        if self.match == "contains":
            return b in a
        if self.match == "prefix":
            return a.startswith(b)
        if self.match == "suffix":
            return a.endswith(b)
        return a == b


@cache
def known_prints() -> tuple[KnownPrint, ...]:
    """The entries of the packaged ``fingerprints.toml`` this module can compare."""
    text = resources.files("beaconhunt.enrich").joinpath("fingerprints.toml").read_text("utf-8")
    out = []
    for e in tomllib.loads(text)["fingerprint"]:
        if e["kind"] in _COLUMN_OF_KIND:
            out.append(KnownPrint(e["kind"], e["value"], e["name"], bool(e["malicious"]),
                                  e["confidence"], e.get("match", "exact"),
                                  e.get("source", "")))  # fmt: skip
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ClientPrints:
    """What the sensor logged about one pair's clients: each column's values with
    how many connections showed them, and HTTP requests without a Host."""

    values: Mapping[str, Counter[str]] = field(default_factory=dict)
    http_requests: int = 0
    no_host: int = 0

    def top(self, column: str) -> str | None:
        c = self.values.get(column)
        return c.most_common(1)[0][0] if c else None


def match_known(prints: ClientPrints, known: Sequence[KnownPrint]) -> list[tuple[KnownPrint, str]]:
    """Every known entry one of the pair's logged values matches, with that value."""
    exact, other = _index(tuple(known))
    out: list[tuple[KnownPrint, str]] = []
    for column, values in prints.values.items():
        for value in values:
            out += [(k, value) for k in exact.get((column, value.strip().lower()), ())]
    for k in other:
        for value in prints.values.get(_COLUMN_OF_KIND[k.kind], Counter()):
            if value and k.matches(value):
                out.append((k, value))
                break
    first: dict[KnownPrint, str] = {}
    for k, v in out:
        first.setdefault(k, v)  # one value per entry
    return list(first.items())


@cache
def _index(
    known: tuple[KnownPrint, ...],
) -> tuple[dict[tuple[str, str], list[KnownPrint]], list[KnownPrint]]:
    """Exact entries by (column, lower-case value); the prefix/suffix/contains ones apart."""
    exact: dict[tuple[str, str], list[KnownPrint]] = {}
    other: list[KnownPrint] = []
    for k in known:
        if k.match == "exact":
            exact.setdefault((_COLUMN_OF_KIND[k.kind], k.value.strip().lower()), []).append(k)
        else:
            other.append(k)
    return exact, other


def fingerprint_evidence(
    prints: ClientPrints,
    prevalence: Mapping[str, int],
    active_hosts: int,
    min_hosts: int,
    common_min_hosts: int,
    common_min_share: float,
    known: Sequence[KnownPrint] | None = None,
) -> list[Evidence]:
    """Client-fingerprint evidence of one pair (module docstring).

    ``prevalence`` maps a client fingerprint (JA4 or JA3) to the internal hosts
    presenting it anywhere in the store; ``active_hosts`` is how many internal
    hosts the input shows. Prevalence is only judged from ``min_hosts`` hosts on.
    """
    out: list[Evidence] = []
    hits = match_known(prints, known_prints() if known is None else known)
    bad = [(k, v) for k, v in hits if k.malicious and k.confidence in ("high", "medium")]
    weak = [(k, v) for k, v in hits if k.malicious and k.confidence == "low"]
    if bad:
        out.append(Evidence("client.c2_fingerprint", _hit_text(bad)))
    elif weak:
        out.append(Evidence("client.reported_fingerprint", _hit_text(weak)))
    out += _prevalence(prints, prevalence, active_hosts, min_hosts, common_min_hosts,
                       common_min_share)  # fmt: skip
    subject, issuer = prints.top("subject"), prints.top("issuer")
    if subject and issuer and _dn(subject) == _dn(issuer):
        shown = terminal_text(subject, 120)
        out.append(Evidence("client.self_signed_cert",
                            f"the server's certificate is self-signed: {shown}"))  # fmt: skip
    out += _ua_mismatch(prints)
    if prints.http_requests and prints.no_host >= max(1, prints.http_requests // 2):
        out.append(Evidence(
            "client.no_host_header",
            f"{prints.no_host:,} of {prints.http_requests:,} HTTP requests carry no Host header",
        ))  # fmt: skip
    return out


#: Browser product tokens in a User-Agent (Version/N is Safari's); all current
#: versions offer TLS 1.3 and ALPN. Digits are bounded: the text is the client's.
_BROWSER_TOKEN = re.compile(r"\b(Chrome|Firefox|Edg|Version)/(\d{1,4})\b")
_MODERN = {"Chrome": 70, "Edg": 79, "Firefox": 63, "Version": 13}
#: Only this much of a User-Agent is read (real ones are a few hundred characters).
_UA_READ = 512
#: JA4's first part: protocol, TLS version, SNI flag, cipher and extension counts, ALPN.
_JA4_A = re.compile(r"^[tqd](\d\d)[di]\d{4}(..)_")


def _ua_mismatch(prints: ClientPrints) -> list[Evidence]:
    ua, ja4 = prints.top("user_agent"), prints.top("ja4")
    if not ua or not ja4 or not ua.startswith("Mozilla/5.0 ("):
        return []
    tokens = _BROWSER_TOKEN.findall(ua[:_UA_READ])
    j = _JA4_A.match(ja4[:64])
    if not tokens or j is None:
        return []
    browser, major = tokens[-1]  # Edge's UA names Chrome first and Edg last
    if int(major) < _MODERN[browser]:
        return []
    version, alpn = j.group(1), j.group(2)
    if version >= "13" and alpn != "00":
        return []
    why = "no ALPN" if alpn == "00" else f"at most TLS 1.{int(version) - 10}"
    return [Evidence(
        "client.ua_mismatch",
        f"User-Agent {terminal_text(ua, 80)} claims a current browser, but JA4"
        f" {terminal_text(ja4, 40)} offers {why}",
    )]  # fmt: skip


def _hit_text(hits: Sequence[tuple[KnownPrint, str]]) -> str:
    k, value = hits[0]
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    return (f"{k.kind} {terminal_text(value, 80)} is known as {terminal_text(k.name, 100)}"
            f" ({k.confidence} confidence; fingerprints.toml){more}")  # fmt: skip


def _prevalence(
    prints: ClientPrints,
    prevalence: Mapping[str, int],
    active: int,
    min_hosts: int,
    common_hosts: int,
    common_share: float,
) -> list[Evidence]:
    for column in ("ja4", "ja3"):
        fp = prints.top(column)
        if not fp or fp not in prevalence or active < min_hosts:
            continue
        n = prevalence[fp]
        shown = terminal_text(fp, 60)
        if n >= common_hosts and n >= common_share * active:
            text = (f"{column.upper()} {shown} is presented by {n} of {active} internal"
                    " hosts: an installed application or a shared TLS stack")  # fmt: skip
            return [Evidence("client.common_fingerprint", text)]
        if n <= 1:
            return [Evidence("client.rare_fingerprint",
                             f"{column.upper()} {shown} is presented by this host alone"
                             f" (of {active} internal hosts)")]  # fmt: skip
        return []
    return []


def _dn(text: str) -> frozenset[str]:
    """A distinguished name as a set of ``key=value`` parts (Zeek and Suricata order
    them differently)."""
    return frozenset(p.strip().lower() for p in text.split(",") if p.strip())
