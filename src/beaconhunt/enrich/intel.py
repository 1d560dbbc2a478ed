"""Threat intel: indicators from a feed, and the index a destination is matched through.

A feed is one of (the format is detected from the content):

* CSV with header ``indicator,type,description``; ``type`` is ip, cidr, domain or url
  (and synonyms: ipv4, ip-dst, net, hostname, fqdn, uri...).
* A plain list, one IP, CIDR, domain or URL per line, ``#`` comments (also after an
  entry).
* A STIX 2.1 bundle (see :mod:`beaconhunt.enrich.context_stix`).

A domain indicator matches that domain and its subdomains; a URL indicator matches its
host (the exact name, or the IP when the host is an address); an IP its address; a
CIDR every address inside it.

Cost. Commercial and community feeds run to millions of indicators, and a hunt loads
the feed once and matches every finding against it. So the loader streams the file
(never the whole text and its lines in memory), validates the common cases with C
routines (``socket.inet_pton`` for IPv4 addresses and networks, one regular
expression for a URL's host) before falling back to :mod:`ipaddress` and
:func:`urllib.parse.urlsplit`, and keeps the indicators as columns
(:class:`_Columns`), making an :class:`IntelIndicator` only when one is asked for.
The index (:class:`_Index`) answers a lookup with a few dictionary probes whatever
the feed's size: the finding's name and each parent domain, its address, and its
masked network number once per prefix length the feed uses.
``benchmarks/bench_intel.py`` measures load and match of a 5M-indicator feed.
"""

from __future__ import annotations

import csv
import ipaddress
import re
import socket
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeVar, overload
from urllib.parse import urlsplit

from beaconhunt.enrich.context_stix import parse_stix_bundle
from beaconhunt.enrich.context_text import (
    DOMAIN,
    norm_name,
    parents,
    read_text,
    split_fields,
)
from beaconhunt.errors import ConfigError

__all__ = ["Intel", "IntelHit", "IntelIndicator", "IntelKind", "host_of", "load_intel"]

IntelKind = Literal["ip", "cidr", "domain", "url"]
_KINDS: tuple[IntelKind, ...] = ("ip", "cidr", "domain", "url")
_CODE: dict[str, int] = {k: i for i, k in enumerate(_KINDS)}

_INTEL_TYPES: dict[str, IntelKind] = {
    "ip": "ip",
    "ipv4": "ip",
    "ipv6": "ip",
    "ip-dst": "ip",
    "ipv4-addr": "ip",
    "ipv6-addr": "ip",
    "cidr": "cidr",
    "net": "cidr",
    "network": "cidr",
    "domain": "domain",
    "hostname": "domain",
    "fqdn": "domain",
    "domain-name": "domain",
    "url": "url",
    "uri": "url",
}
_TYPE_CODE: dict[str, int] = {t: _CODE[k] for t, k in _INTEL_TYPES.items()}
#: scheme://host[:port] then the path, query or fragment (or nothing); a host with user
#: information, brackets or an escape goes the long way (urlsplit).
_URL_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@:\[\]\\%\s]+)(?::[0-9]*)?(?:[/?#]|$)")
_CIDR_LIKE = re.compile(r"^[0-9a-fA-F:.]+/\d+$")
_IPV4_LIKE = re.compile(r"^[0-9.]+$")
#: Distinct descriptions shared between indicators (a feed repeats a few); past this
#: many, new ones are kept as they are.
_DESCRIPTION_CACHE = 100_000
_HEAD = 1 << 16


@dataclass(frozen=True, slots=True)
class IntelIndicator:
    """One indicator: normalised ``value``, its kind, description and origin."""

    value: str
    kind: IntelKind
    description: str
    file: str
    line: int

    def describe(self) -> str:
        """``value (file:line) description`` for evidence text."""
        desc = f" {self.description}" if self.description else ""
        return f"{self.value} ({Path(self.file).name}:{self.line}){desc}"


@dataclass(frozen=True, slots=True)
class IntelHit:
    """An indicator that matched: ``observed`` is the domain or IP it matched."""

    indicator: IntelIndicator
    observed: str


# -- normalising one value ---------------------------------------------------------------------

#: What the index files an indicator under: a name or address text, or a network
#: (IP version, prefix length, network number).
_Key = str | tuple[int, int, int]


def _ipv4(text: str) -> str | None:
    """``text`` as a dotted-quad IPv4 address, or None. inet_pton is strict: four
    decimal octets, no leading zeros (as :mod:`ipaddress`)."""
    try:
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return None


def _address(text: str) -> str | None:
    """``text`` (an IPv4 or IPv6 address, optionally with a ``%zone``) canonical, or None."""
    v = text.split("%", 1)[0]
    if ":" not in v:  # IPv4, or nothing: inet_pton is as strict as ipaddress
        return _ipv4(v)
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        return None


def _network(text: str) -> tuple[str, tuple[int, int, int]] | None:
    """``text`` as a network (host bits cleared) and its index key, or None."""
    addr, slash, plen_text = text.partition("/")
    if slash and plen_text.isdigit() and len(plen_text) <= 2:
        try:
            packed = socket.inet_pton(socket.AF_INET, addr)
        except (OSError, ValueError):
            packed = b""
        plen = int(plen_text)
        if packed and plen <= 32:
            mask = ((1 << plen) - 1) << (32 - plen)
            number = int.from_bytes(packed, "big") & mask
            net = socket.inet_ntop(socket.AF_INET, number.to_bytes(4, "big"))
            return f"{net}/{plen}", (4, plen, number)
    try:
        n = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return str(n), (n.version, n.prefixlen, int(n.network_address))


def host_of(kind: str, value: str) -> str:
    """The host an IP or URL indicator matches (an address in canonical form), else ``""``."""
    if kind == "ip":
        return value
    if kind != "url":
        return ""
    m = _URL_HOST.match(value)
    if m:
        host = m.group(1).lower()
    else:
        try:
            host = urlsplit(value).hostname or ""
        except ValueError:
            host = ""
    if not host:
        return ""
    return _address(host) or norm_name(host)


def _normalise(path: Path, n: int, value: str, kind: IntelKind | None) -> tuple[str, int, _Key]:
    """``value`` validated as ``kind`` (guessed when None): (value, kind code, index key)."""
    v = value.strip()
    if kind is None:
        kind, v = _guess(v)
    if kind == "domain":
        d = norm_name(v)
        if not d or not DOMAIN.match(d):
            raise ConfigError(f"{path}:{n}: {value!r} is not a domain name")
        return d, 2, d
    if kind == "ip":
        a = _address(v)
        if a is None:
            raise ConfigError(f"{path}:{n}: {value!r} is not an IP address")
        return a, 0, a
    if kind == "cidr":
        net = _network(v)
        if net is None:
            raise ConfigError(f"{path}:{n}: {value!r} is not a CIDR network")
        return net[0], 1, net[1]
    host = host_of("url", v)
    if not host:
        raise ConfigError(f"{path}:{n}: {value!r} is not a URL with a host")
    return v, 3, host


def _guess(v: str) -> tuple[IntelKind, str]:
    """The kind of a plain-list entry (and the entry, made a URL when it is host/path)."""
    if "://" in v:
        return "url", v
    if "/" in v:
        return ("cidr", v) if _CIDR_LIKE.match(v) else ("url", "http://" + v)
    if _IPV4_LIKE.match(v) or ":" in v:
        return "ip", v
    return "domain", v


def _key_of(ind: IntelIndicator) -> _Key:
    """The index key of an already normalised indicator."""
    if ind.kind == "cidr":
        net = _network(ind.value)
        return net[1] if net else ind.value
    if ind.kind == "url":
        return host_of("url", ind.value)
    return ind.value


# -- storage and index -------------------------------------------------------------------------


class _Columns(Sequence[IntelIndicator]):
    """A feed's indicators as columns (values, kind codes, descriptions, lines).

    Five million :class:`IntelIndicator` objects would take gigabytes; their columns
    take a fraction, and an indicator is made when one is asked for (a hit).
    """

    __slots__ = ("_descriptions", "_file", "_kinds", "_lines", "_shared", "_values")

    def __init__(self, file: str) -> None:
        self._file = file
        self._values: list[str] = []
        self._kinds = bytearray()
        self._descriptions: list[str] = []
        self._lines = array("q")
        self._shared: dict[str, str] = {}

    def append(self, value: str, code: int, description: str, line: int) -> None:
        shared = self._shared
        if len(shared) < _DESCRIPTION_CACHE:
            description = shared.setdefault(description, description)
        else:
            description = shared.get(description, description)
        self._values.append(value)
        self._kinds.append(code)
        self._descriptions.append(description)
        self._lines.append(line)

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, i: int) -> IntelIndicator: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[IntelIndicator]: ...
    def __getitem__(self, i: int | slice) -> IntelIndicator | Sequence[IntelIndicator]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return IntelIndicator(
            self._values[i], _KINDS[self._kinds[i]], self._descriptions[i], self._file,
            self._lines[i],
        )  # fmt: skip

    def __iter__(self) -> Iterator[IntelIndicator]:
        return (self[i] for i in range(len(self)))


_Ids = int | list[int]
_K = TypeVar("_K", str, int, _Key)


def _put(table: dict[_K, _Ids], key: _K, i: int) -> None:
    """File position ``i`` under ``key``: one int, or a list once a key repeats (most keys
    hold one indicator, and an int costs a fraction of a list)."""
    old = table.setdefault(key, i)  # one probe when the key is new (the usual case)
    if old is i:
        return
    if isinstance(old, int):
        table[key] = [old, i]
    else:
        old.append(i)


def _ids(found: _Ids | None) -> Iterable[int]:
    if found is None:
        return ()
    return (found,) if isinstance(found, int) else found


class _Index:
    """Indicator positions by what they match: domains by name (a finding's name and
    each parent are probed), URL hosts by name or address, addresses by canonical text,
    networks by (version, prefix length) and masked network number."""

    __slots__ = ("addresses", "domains", "hosts", "nets")

    def __init__(self) -> None:
        self.domains: dict[_Key, _Ids] = {}
        self.hosts: dict[_Key, _Ids] = {}
        self.addresses: dict[_Key, _Ids] = {}
        self.nets: dict[tuple[int, int], dict[int, _Ids]] = {}

    def add(self, i: int, code: int, key: _Key) -> None:
        if code == 2:
            _put(self.domains, key, i)
        elif code == 0:
            _put(self.addresses, key, i)
        elif code == 1:
            if isinstance(key, tuple):
                version, plen, number = key
                _put(self.nets.setdefault((version, plen), {}), number, i)
        elif key:  # a URL: its host, as a name and as an address
            _put(self.hosts, key, i)
            _put(self.addresses, key, i)

    def by_name(self, name: str) -> list[int]:
        found = {i for p in set(parents(name)) for i in _ids(self.domains.get(p))}
        found.update(_ids(self.hosts.get(name)))
        return sorted(found)

    def by_address(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[int]:
        found = set(_ids(self.addresses.get(str(addr))))
        bits = 32 if addr.version == 4 else 128
        value = int(addr)
        for (version, plen), table in self.nets.items():
            if version == addr.version:
                mask = ((1 << plen) - 1) << (bits - plen) if plen else 0
                found.update(_ids(table.get(value & mask)))
        return sorted(found)


@dataclass(frozen=True, slots=True)
class Intel:
    """Threat-intel indicators, matched against a destination's domain and IPs.

    ``format`` is ``csv``, ``list`` or ``stix``; the two counts are only non-zero
    for STIX bundles (objects that are not indicators, and indicators whose pattern
    beaconhunt cannot use).
    """

    indicators: Sequence[IntelIndicator]
    format: Literal["csv", "list", "stix"] = "csv"
    ignored_objects: int = 0
    unsupported_patterns: int = 0
    _index: _Index | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.indicators)

    def __post_init__(self) -> None:
        if self._index is None:  # made from indicator objects (STIX, tests)
            index = _Index()
            for i, ind in enumerate(self.indicators):
                index.add(i, _CODE[ind.kind], _key_of(ind))
            object.__setattr__(self, "_index", index)

    @property
    def index(self) -> _Index:
        assert self._index is not None  # set in __post_init__
        return self._index

    def _match_ip(self, ip: str) -> list[IntelHit]:
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return []
        return [IntelHit(self.indicators[i], ip) for i in self.index.by_address(addr)]

    def match(self, domain: str | None, ips: Iterable[str] = ()) -> list[IntelHit]:
        """Every indicator matching ``domain`` (or a parent domain) or one of ``ips``.

        Domain indicators cover subdomains; URL indicators match their exact host
        name, or their address when the host is an IP. Near-constant per lookup
        whatever the feed's size (:class:`_Index`); hits in feed order.
        """
        hits: list[IntelHit] = []
        if domain and domain.strip():
            name = norm_name(domain)
            hits += [IntelHit(self.indicators[i], name) for i in self.index.by_name(name)]
        for ip in ips:
            hits.extend(h for h in self._match_ip(ip) if h not in hits)
        return hits


# -- loading ------------------------------------------------------------------------------------


def load_intel(path: Path) -> Intel:
    """Read a threat-intel file: CSV, plain list or STIX 2.1 bundle (see the module docstring).

    The format is detected from the content: JSON starting with ``{`` is STIX, a first
    line ``indicator,type,description`` is CSV, anything else is a plain list. A bad
    value raises :class:`~beaconhunt.errors.ConfigError` with its file and line.
    """
    head = _head(path)
    if head.lstrip().startswith("{"):
        return _load_stix(path)
    first = next((ln.strip() for ln in head.splitlines() if _content(ln)), None)
    try:
        if first is not None and split_fields(first)[0].lower() == "indicator":
            return _load_csv(path)
        return _load_list(path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read threat intel: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read threat intel: {exc}") from exc


def _skipped(row: list[str]) -> bool:
    """A blank line, or a ``#`` comment."""
    return not row or (len(row) == 1 and not row[0].strip()) or row[0].lstrip().startswith("#")


def _content(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith("#")


def _head(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(_HEAD)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read threat intel: {exc}") from exc
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _load_stix(path: Path) -> Intel:
    bundle = parse_stix_bundle(read_text(path, "threat intel"), str(path))
    inds = []
    for s in bundle.indicators:
        try:
            value, code, _key = _normalise(path, s.line, s.value, s.kind)
        except ConfigError:
            continue  # e.g. ipv4-addr:value = 'not-an-ip': skipped like other oddities
        inds.append(IntelIndicator(value, _KINDS[code], s.description, str(path), s.line))
    bad = len(bundle.indicators) - len(inds)
    return Intel(tuple(inds), "stix", bundle.ignored_objects, bundle.unsupported_patterns + bad)


def _load_csv(path: Path) -> Intel:
    cols, index = _Columns(str(path)), _Index()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh, skipinitialspace=True)
        try:
            for row in rows:  # the header: the first line that is not blank or a comment
                if _skipped(row):
                    continue
                fields = [f.strip() for f in row]
                header = [h.lower().replace(" ", "_") for h in fields]
                if sorted(header) != ["description", "indicator", "type"]:
                    raise ConfigError(
                        f"{path}:{rows.line_num}: bad header {','.join(fields)!r}, expected"
                        " columns indicator,type,description"
                    )
                at = (header.index("indicator"), header.index("type"),
                      header.index("description"))  # fmt: skip
                _csv_records(path, rows, at, cols, index)
                break
            else:
                raise ConfigError(
                    f"{path}:1: empty file, expected header indicator,type,description"
                )
        except csv.Error as exc:
            raise ConfigError(f"{path}:{rows.line_num}: not a CSV line: {exc}") from exc
    return Intel(cols, "csv", _index=index)


class _Reader(Protocol):
    """A :func:`csv.reader`: rows, and the line the last one ended on."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def _csv_records(
    path: Path, rows: _Reader, at: tuple[int, int, int], cols: _Columns, index: _Index
) -> None:
    """Every record after the header, into ``cols`` and ``index``.

    At millions of lines this loop is the whole cost of a load, so the common records
    (a domain, a dotted-quad address, a URL whose host is a plain name) are validated
    and filed inline, with C routines; anything else goes through :func:`_normalise`,
    which validates it fully and gives the same result.
    """
    ai, ti, di = at
    values, kinds, descriptions, lines = cols._values, cols._kinds, cols._descriptions, cols._lines
    shared, domains, addresses, hosts = cols._shared, index.domains, index.addresses, index.hosts
    nets = index.nets
    domain_ok, url_host = DOMAIN.match, _URL_HOST.match
    pton, ntop, af = socket.inet_pton, socket.inet_ntop, socket.AF_INET
    for row in rows:
        n = rows.line_num
        if len(row) != 3 or row[0][:1] == "#":  # csv drops the spaces before a field
            if _skipped(row):
                continue
            raise ConfigError(f"{path}:{n}: expected 3 columns, found {len(row)}")
        value, typ, desc = row[ai].strip(), row[ti].strip(), row[di].strip()
        code = _TYPE_CODE.get(typ)
        if code is None:
            kind = _INTEL_TYPES.get(typ.lower())
            if kind is None:
                raise ConfigError(
                    f"{path}:{n}: unknown indicator type {typ!r}, expected ip, cidr, domain or url"
                )
            code = _CODE[kind]
        i = len(values)
        done = False
        if code == 2:  # a domain
            name = value.lower()
            if name[-1:] != "." and domain_ok(name):
                value, done = name, True
                _put(domains, name, i)
        elif code == 0:  # an address
            try:
                value, done = ntop(af, pton(af, value)), True
            except (OSError, ValueError):  # IPv6, a zone, or not an address
                pass
            else:
                _put(addresses, value, i)
        elif code == 1:  # a network
            addr, _, plen_text = value.partition("/")
            try:
                packed = pton(af, addr)
                plen = int(plen_text) if plen_text.isdigit() else 99
            except (OSError, ValueError):
                plen = 99
            if plen <= 32:
                mask = ((1 << plen) - 1) << (32 - plen)
                number = int.from_bytes(packed, "big") & mask
                value, done = f"{ntop(af, number.to_bytes(4, 'big'))}/{plen}", True
                _put(nets.setdefault((4, plen), {}), number, i)
        elif code == 3:  # a URL
            m = url_host(value)
            host = m.group(1).lower() if m else ""
            if host and host[-1] != "." and not host[-1].isdigit():  # a name, not an address
                done = True
                _put(hosts, host, i)
                _put(addresses, host, i)
        if not done:
            value, code, key = _normalise(path, n, value, _KINDS[code])
            index.add(i, code, key)
        values.append(value)
        kinds.append(code)
        descriptions.append(
            shared.setdefault(desc, desc) if len(shared) < _DESCRIPTION_CACHE
            else shared.get(desc, desc)
        )  # fmt: skip
        lines.append(n)


def _load_list(path: Path) -> Intel:
    cols, index = _Columns(str(path)), _Index()
    with path.open(encoding="utf-8-sig") as fh:
        for n, raw in enumerate(fh, start=1):
            entry = raw.split("#", 1)[0].strip()
            if entry:
                value, code, key = _normalise(path, n, entry, None)
                index.add(len(cols), code, key)
                cols.append(value, code, "", n)
    return Intel(cols, "list", _index=index)
