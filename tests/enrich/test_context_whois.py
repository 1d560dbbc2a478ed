"""WHOIS creation dates: formats, parent lookup, age at traffic time, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from beaconhunt.enrich.context import load_whois
from beaconhunt.errors import ConfigError

FIX = Path(__file__).parents[1] / "fixtures" / "context"
DAY = 86400.0


def test_formats() -> None:
    w = load_whois(FIX / "whois.csv")
    assert len(w) == 4
    assert w.created("example.com") == datetime(1997, 3, 2, tzinfo=UTC)
    assert w.created("evil-c2.example") == datetime(2026, 10, 30, tzinfo=UTC)
    assert w.created("updates-cdn.net") == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert w.created("slow.example") == datetime(2020, 1, 1, 0, tzinfo=UTC)
    rec = w.record("evil-c2.example")
    assert rec is not None and rec.line == 4


def test_subdomain_and_case_use_registered_domain() -> None:
    w = load_whois(FIX / "whois.csv")
    assert w.created("CDN.Evil-C2.example.") == datetime(2026, 10, 30, tzinfo=UTC)
    assert w.created("unknown.org") is None and w.created(None) is None


def test_age_at_time_of_traffic_not_today() -> None:
    w = load_whois(FIX / "whois.csv")
    t = datetime(2026, 11, 6, 12, tzinfo=UTC).timestamp()
    assert w.age_days("beacon.evil-c2.example", t) == pytest.approx(7.5)
    assert w.age_days("updates-cdn.net", t) == pytest.approx(5.0)
    # traffic before registration: negative, not clamped
    assert w.age_days("evil-c2.example", t - 10 * DAY) == pytest.approx(-2.5)
    assert w.age_days("unknown.org", t) is None


def test_same_date_twice_ok(tmp_path: Path) -> None:
    p = tmp_path / "whois.csv"
    p.write_text("domain,created\na.example,2020-01-01\nA.example,2020-01-01T00:00:00\n")
    assert len(load_whois(p)) == 1


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("name,created\n", 1, "bad header"),
        ("domain,created\na.example\n", 2, "expected 2 columns"),
        ("domain,created\n\na.example,2020-13-01\n", 3, "not a date"),
        ("domain,created\na.example,yesterday\n", 2, "not a date"),
        ("domain,created\nnot a domain,2020-01-01\n", 2, "not a domain"),
        ("domain,created\na.example,2020-01-01\na.example,2021-01-01\n", 3, "another date"),
    ],
)
def test_malformed(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    p = tmp_path / "whois.csv"
    p.write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_whois(p)
    assert str(exc.value).startswith(f"{p}:{line}: ")
    assert fragment in str(exc.value)
