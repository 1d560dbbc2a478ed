"""The bundled list of services that encode data in DNS names."""

from __future__ import annotations

from beaconhunt.enrich.dns_services import DnsService, bundled_services, known_service


def test_every_entry_is_documented() -> None:
    services = bundled_services()
    assert len(services) >= 15
    for s in services:
        assert s.source.startswith("https://"), s.suffix
        assert s.category in {"av_reputation", "dnsbl", "ip_lookup", "cdn", "cloud_internal"}
        assert s.what and s.suffix == s.suffix.lower()


def test_match_is_on_a_dot_boundary() -> None:
    svc = DnsService("sophosxl.net", "av_reputation", "x", "https://example.org")
    assert svc.covers("0a1b.sxl.sophosxl.net.") and svc.covers("sophosxl.net")
    assert not svc.covers("evilsophosxl.net")


def test_nearly_all_names_must_be_covered() -> None:
    names = [f"{i:040x}.avqs.mcafee.com" for i in range(95)]
    assert known_service(names) is not None
    assert known_service(names).suffix == "avqs.mcafee.com"  # type: ignore[union-attr]
    mixed = names[:50] + [f"{i:040x}.tunnel.mcafee.com" for i in range(50)]
    assert known_service(mixed) is None
    assert known_service([]) is None


def test_registered_domains_in_bulk_agree_with_one_by_one() -> None:
    from beaconhunt.detect.dns import split_zone, split_zones
    from beaconhunt.enrich.domains import registered_domain, registered_domains

    names = ["a.b.evil.co.uk", "x.city.kawasaki.jp", "y.z.kawasaki.jp", "e1.dscb.akamaiedge.net",
             "foo.com", "com", "x.k12.ma.us", "a.pvt.k12.ma.us", "1.2.3.4", "host.corp.local",
             "a.b.c.s3.amazonaws.com", "q.x.ck", "www.ck", "a.b.github.io", "wpad",
             "t.static-img-cache.org.", "4.3.2.1.in-addr.arpa"]  # fmt: skip
    assert registered_domains(names) == [registered_domain(n) for n in names]
    zones, subs = split_zones(names)
    assert list(zip(zones, subs, strict=True)) == [split_zone(n) for n in names]
