"""Threat intel: CSV, plain list and STIX 2.1 bundles; matching; errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from beaconhunt.enrich.context_stix import parse_pattern
from beaconhunt.enrich.intel import Intel, load_intel
from beaconhunt.errors import ConfigError

FIX = Path(__file__).parents[1] / "fixtures" / "context"


def _values(intel: Intel) -> list[tuple[str, str]]:
    return [(i.kind, i.value) for i in intel.indicators]


def test_csv() -> None:
    intel = load_intel(FIX / "intel.csv")
    assert intel.format == "csv"
    assert _values(intel) == [
        ("ip", "198.51.100.7"),
        ("ip", "192.0.2.201"),
        ("domain", "invoice-portal-secure.com"),
        ("cidr", "203.0.113.0/24"),
        ("url", "http://dl.badfiles.example/payload.bin"),
    ]
    assert intel.indicators[3].description == "Bulletproof hoster, whole range"
    assert intel.indicators[0].line == 2


def test_plain_list() -> None:
    intel = load_intel(FIX / "intel.txt")
    assert intel.format == "list"
    assert _values(intel) == [
        ("ip", "198.51.100.7"),
        ("cidr", "203.0.113.0/24"),
        ("domain", "evil.example"),
        ("url", "https://198.51.100.99/gate.php"),
        ("ip", "2001:db8::66"),
    ]
    assert [i.line for i in intel.indicators] == [2, 4, 5, 6, 7]


def test_stix_bundle_or_patterns_and_ignored_objects() -> None:
    intel = load_intel(FIX / "intel_stix.json")
    assert intel.format == "stix"
    assert _values(intel) == [
        ("ip", "198.51.100.7"),
        ("domain", "evil.example"),
        ("url", "http://drop.other.example/x.ps1"),
        ("cidr", "203.0.113.0/24"),
    ]
    first = intel.indicators[0]
    assert first.description == "Cobalt Strike team server: Seen in campaign X"
    assert first.line == 15
    assert intel.indicators[1].description == "Havoc C2 infrastructure"
    assert intel.ignored_objects == 3  # identity, malware, relationship
    assert intel.unsupported_patterns == 3  # file hash, AND, snort


def test_parse_pattern() -> None:
    assert parse_pattern("[ipv6-addr:value = '2001:db8::1']") == [("ip", "2001:db8::1")]
    assert parse_pattern("([url:value = 'http://a/it\\'s'])") == [("url", "http://a/it's")]
    assert parse_pattern("[ipv4-addr:value != '1.2.3.4']") is None
    assert parse_pattern("[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS") is None
    assert parse_pattern("[domain-name:value MATCHES 'x']") is None


def test_stix_not_bundle_or_bad_json(tmp_path: Path) -> None:
    p = tmp_path / "intel.json"
    p.write_text('{"type": "indicator"}')
    with pytest.raises(ConfigError, match=rf"^{p}:1: not a STIX bundle"):
        load_intel(p)
    p.write_text('{"type": "bundle",\n "objects": [\n  {"type": }\n]}')
    with pytest.raises(ConfigError, match=rf"^{p}:3: invalid JSON"):
        load_intel(p)


def test_stix_bad_value_is_unsupported_not_fatal(tmp_path: Path) -> None:
    p = tmp_path / "intel.json"
    p.write_text(
        '{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1",'
        ' "pattern": "[ipv4-addr:value = \'not-an-ip\']", "pattern_type": "stix"},'
        ' {"type": "indicator", "revoked": true, "pattern": "[domain-name:value = \'a.b\']"}]}'
    )
    intel = load_intel(p)
    assert len(intel) == 0 and intel.unsupported_patterns == 2


def test_match_domain_subdomain_url_host_ip_cidr() -> None:
    intel = load_intel(FIX / "intel_stix.json")
    hits = intel.match("beacon.EVIL.example.", ())
    assert [(h.indicator.value, h.observed) for h in hits] == [
        ("evil.example", "beacon.evil.example")
    ]
    assert intel.match("notevil.example", ()) == []
    # URL indicator: its exact host, not subdomains or parents
    assert [h.indicator.kind for h in intel.match("drop.other.example", ())] == ["url"]
    assert intel.match("other.example", ()) == []
    assert intel.match("x.drop.other.example", ()) == []
    hits = intel.match(None, ["10.0.0.1", "203.0.113.77", "198.51.100.7"])
    assert [(h.indicator.value, h.observed) for h in hits] == [
        ("203.0.113.0/24", "203.0.113.77"),
        ("198.51.100.7", "198.51.100.7"),
    ]
    assert intel.match("", ["junk", "2001:db8::1"]) == []


def test_match_url_with_ip_host_and_ipv6() -> None:
    intel = load_intel(FIX / "intel.txt")
    assert [h.indicator.kind for h in intel.match(None, ["198.51.100.99"])] == ["url"]
    assert [h.indicator.value for h in intel.match(None, ["2001:DB8:0::66"])] == ["2001:db8::66"]
    hit = intel.match("www.evil.example", ["198.51.100.7"])
    assert [h.indicator.value for h in hit] == ["evil.example", "198.51.100.7"]
    assert "intel.txt:5" in hit[0].indicator.describe()


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("indicator,type\n1.2.3.4,ip\n", 1, "bad header"),
        ("indicator,type,description\n1.2.3.4,ip\n", 2, "expected 3 columns"),
        ("indicator,type,description\n\n1.2.3.400,ip,x\n", 3, "not an IP"),
        ("indicator,type,description\n1.2.3.4,hash,x\n", 2, "unknown indicator type"),
        ("indicator,type,description\n1.2.3.0/33,cidr,x\n", 2, "not a CIDR"),
        ("indicator,type,description\nbad domain,domain,x\n", 2, "not a domain"),
        ("indicator,type,description\nhttp:///nohost,url,x\n", 2, "URL with a host"),
        ("# list\n1.2.3.4\n\nbad domain!\n", 4, "not a domain"),
        ("1.2.3.4\n300.1.1.1\n", 2, "not an IP"),
    ],
)
def test_malformed(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    p = tmp_path / "intel.csv"
    p.write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_intel(p)
    assert str(exc.value).startswith(f"{p}:{line}: ")
    assert fragment in str(exc.value)


def test_synth_style_csv(tmp_path: Path) -> None:
    p = tmp_path / "intel.csv"
    p.write_bytes(
        b"indicator,type,description\r\n"
        b"10.99.0.5,ip,Sliver C2 server reported by partner CERT\r\n"
        b"192.0.2.201,ip,Emotet epoch 5 distribution server (not seen here)\r\n"
        b"invoice-portal-secure.com,domain,Credential phishing kit host\r\n"
    )
    intel = load_intel(p)
    assert [
        h.indicator.line for h in intel.match("a.invoice-portal-secure.com", ["10.99.0.5"])
    ] == [
        4,
        2,
    ]


def test_indexed_matching_equals_a_scan_of_the_feed() -> None:
    # the index (dictionary probes per name, address and prefix length) must find
    # exactly what checking every indicator would
    import ipaddress as ipa
    import random

    from beaconhunt.enrich.intel import Intel, IntelIndicator, host_of

    rng = random.Random(4)
    inds = []
    for i in range(400):
        k = rng.choice(["domain", "ip", "cidr", "url"])
        if k == "domain":
            v = rng.choice(["evil.example", "a.evil.example", "b.c.example", "x.test"])
        elif k == "ip":
            v = f"203.0.113.{rng.randrange(8)}"
        elif k == "cidr":
            v = str(ipa.ip_network(f"203.0.{rng.randrange(114)}.0/{rng.choice([16, 24, 28, 32])}",
                                   strict=False))  # fmt: skip
        else:
            v = rng.choice(["http://a.evil.example/x", "http://203.0.113.3/g", "https://x.test/"])
        inds.append(IntelIndicator(v, k, "", "feed.csv", i + 2))  # type: ignore[arg-type]
    intel = Intel(tuple(inds))

    def scan(domain: str, ip: str) -> list[int]:
        parents = {".".join(domain.split(".")[i:]) for i in range(len(domain.split(".")))}
        addr = ipa.ip_address(ip)
        out = []
        for i, ind in enumerate(inds):
            if (
                (ind.kind == "domain" and ind.value in parents)
                or (ind.kind == "url" and host_of(ind.kind, ind.value) in (domain, ip))
                or (ind.kind == "ip" and ind.value == ip)
                or (ind.kind == "cidr" and addr in ipa.ip_network(ind.value))
            ):
                out.append(i)
        return out

    probes = [("www.a.evil.example", "203.0.113.3"), ("x.test", "203.0.7.9"),
              ("other.example", "198.51.100.1"), ("b.c.example", "203.0.113.7")]  # fmt: skip
    for domain, ip in probes:
        got = sorted({inds.index(h.indicator) for h in intel.match(domain, [ip])})
        assert got == sorted(set(scan(domain, ip))), (domain, ip)


#: Values of every shape the CSV loader takes a fast path for, and the ones it must not:
#: case, trailing dots, zones, IPv6, hosts that are addresses, ports, user information.
_MIXED = [
    ("Evil.Example", "domain"), ("evil.example.", "domain"), ("x_y-1.test", "domain"),
    ("198.51.100.7", "ip"), ("2001:DB8::7", "ipv6"), ("fe80::1%eth0", "ip"),
    ("203.0.113.77/24", "cidr"), ("2001:db8::/32", "net"), ("10.0.0.0/8", "CIDR"),
    ("http://A.Evil.Example/x", "url"), ("https://203.0.113.9:8443/g", "uri"),
    ("http://user@b.example/p", "url"), ("http://[2001:db8::9]/z", "url"),
    ("hxxp://c.example.", "url"), ("http://d.example:80", "URL"), ("1.2.3.4", "IP-DST"),
]  # fmt: skip


def test_csv_fast_path_gives_what_full_validation_gives(tmp_path: Path) -> None:
    # the loader validates common records inline (intel._csv_records); each record
    # must come out as _normalise (the full validation) makes it, on the same line
    from beaconhunt.enrich.intel import _INTEL_TYPES, _KINDS, IntelIndicator, _normalise

    p = tmp_path / "feed.csv"
    body = ["# a feed", "Indicator, Type, Description", ""]
    for n, (value, kind) in enumerate(_MIXED * 3):
        body.append(f'{value},{kind},"seen, {n % 4}"' if n % 2 else f"{value}, {kind},")
        if n % 7 == 0:
            body.append("# a comment line")
    p.write_text("\r\n".join(body) + "\r\n")
    intel = load_intel(p)
    expected = []
    for line_no, line in enumerate(body, start=1):
        if line_no <= 3 or line.startswith("#"):
            continue
        value, kind = line.split(",")[:2]
        value, code, _ = _normalise(p, line_no, value, _INTEL_TYPES[kind.strip().lower()])
        desc = line.split(",", 2)[2].strip().strip('"')
        expected.append(IntelIndicator(value, _KINDS[code], desc, str(p), line_no))
    assert list(intel.indicators) == expected
    assert intel.indicators[-1] == expected[-1] and intel.indicators[1:3] == expected[1:3]
    # and the index built while loading answers as one built from the indicators
    rebuilt = Intel(tuple(expected))
    probes = [("www.evil.example", "198.51.100.7"), ("a.evil.example", "203.0.113.9"),
              ("b.example", "2001:db8::7"), ("c.example", "203.0.113.1"),
              ("d.example", "10.1.2.3"), ("x_y-1.test", "2001:db8::9"),
              ("none.example", "fe80::1"), ("other", "1.2.3.4")]  # fmt: skip
    for domain, ip in probes:
        assert intel.match(domain, [ip]) == rebuilt.match(domain, [ip]), (domain, ip)
        assert intel.match(domain, [ip]), (domain, ip)  # each probe hits something
