"""Registered domains and shared suffixes, the application inventory, working hours."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from beaconhunt.config import EvidenceSettings
from beaconhunt.enrich.apps import load_apps, normalize_image
from beaconhunt.enrich.domains import is_ip, registered_domain, shared_suffix
from beaconhunt.errors import ConfigError
from beaconhunt.workhours import WorkHours


@pytest.mark.parametrize(
    ("name", "reg"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("WWW.Example.COM.", "example.com"),
        ("d111.cloudfront.net", "cloudfront.net"),
        ("x.blob.core.windows.net", "windows.net"),
        ("srv.corp.acme.internal", "acme.internal"),
        ("localhost", "localhost"),
        ("198.51.100.7", None),
        ("2001:db8::1", None),
        ("", None),
        (None, None),
    ],
)
def test_registered_domain_uses_the_icann_suffixes(name: str | None, reg: str | None) -> None:
    assert registered_domain(name) == reg


@pytest.mark.parametrize(
    ("name", "shared"),
    [
        ("d111.cloudfront.net", "cloudfront.net"),
        ("evil.workers.dev", "workers.dev"),
        ("x.blob.core.windows.net", "blob.core.windows.net"),
        ("e1234.a.akamaiedge.net", "akamaiedge.net"),
        ("cdn.example.com", None),
        ("cloudfront.net", None),
        ("203.0.113.5", None),
    ],
)
def test_shared_suffix_names_cloud_and_cdn_tenancy(name: str, shared: str | None) -> None:
    assert shared_suffix(name) == shared


def test_is_ip() -> None:
    assert is_ip("10.0.0.1") and is_ip("fe80::1%eth0") and not is_ip("example.com")


def test_app_inventory_matches_image_glob_and_destination() -> None:
    apps = load_apps(
        [
            {"name": "Falcon", "image": r"C:\Program Files\CrowdStrike\*",
             "destinations": ["cloudsink.net", "203.0.113.0/24"]},
            {"name": "Anything from Zoom", "image": "*/zoom.exe"},
        ],
        "cfg.toml",
    )  # fmt: skip
    falcon = r"c:/program files/crowdstrike/CSFalconService.exe"
    hit = apps.match(falcon, "ts01-b.cloudsink.net", ())
    assert hit is not None and hit.name == "Falcon"
    assert apps.match(falcon, None, ("203.0.113.9",)) is not None
    assert apps.match(falcon, "evil.example", ("198.51.100.1",)) is None
    assert (
        apps.match(r"C:\Users\x\AppData\Roaming\Zoom\bin\Zoom.exe", "any.example", ()) is not None
    )
    assert apps.match(None, "cloudsink.net", ()) is None
    assert normalize_image('"C:/A/B.exe"') == r"c:\a\b.exe"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"name": "x"}, "array of tables"),
        ([{"name": "x", "image": "a", "colour": 1}], "unknown key(s) colour"),
        ([{"image": "a"}], "'name' must be"),
        ([{"name": "x"}], "'image' must be"),
        ([{"name": "x", "image": "a", "destinations": "cloudsink.net"}], "list of strings"),
        ([{"name": "x", "image": "a", "destinations": ["not a domain!"]}], "is not a domain"),
        (["just a string"], "must be a table"),
    ],
)
def test_app_inventory_errors_name_the_entry(entries: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"cfg\.toml") as exc:
        load_apps(entries, "cfg.toml")
    assert message in str(exc.value)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_work_hours_in_a_time_zone_with_daylight_saving() -> None:
    h = WorkHours.parse("08:00-18:00", "mon-fri", "Europe/Berlin")
    times = np.array(
        [
            _ts("2026-11-03T07:30:00+00:00"),  # Tue 08:30 CET: inside
            _ts("2026-11-03T06:59:00+00:00"),  # Tue 07:59 CET: outside
            _ts("2026-11-03T17:00:00+00:00"),  # Tue 18:00 CET: outside (end exclusive)
            _ts("2026-11-07T10:00:00+00:00"),  # Saturday: outside
            _ts("2026-07-07T06:30:00+00:00"),  # Tue 08:30 CEST: inside
        ]
    )
    assert h.off_hours(times).tolist() == [False, True, True, True, False]


def test_night_shift_hours_wrap_midnight() -> None:
    h = WorkHours.parse("22:00-06:00", "mon-fri", "UTC")
    times = np.array(
        [_ts(f"2026-11-{d}+00:00") for d in ("03T23:00:00", "04T05:00:00", "07T05:00:00",
                                              "08T23:00:00", "04T12:00:00")]
    )  # fmt: skip
    # Tue 23h in; Wed 05h in (Tue's shift); Sat 05h in (Fri's shift); Sun 23h out; noon out
    assert h.off_hours(times).tolist() == [False, False, False, True, True]


def test_half_hour_zone_crossing_midnight() -> None:
    h = WorkHours.parse("00:00-01:00", "wed", "Asia/Kolkata")  # UTC+05:30
    # Tue 18:45 UTC = Wed 00:15 IST: inside
    t = np.array([_ts("2026-11-03T18:45:00+00:00")])
    assert h.off_hours(t).tolist() == [False]


@pytest.mark.parametrize(
    ("hours", "days", "tz", "message"),
    [
        ("8-18", "mon-fri", "UTC", "HH:MM-HH:MM"),
        ("08:00-08:00", "mon-fri", "UTC", "same"),
        ("25:00-08:00", "mon-fri", "UTC", "not a time of day"),
        ("08:00-18:00", "monday-funday", "UTC", "day names"),
        ("08:00-18:00", "mon-fri", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_work_hours_errors(hours: str, days: str, tz: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EvidenceSettings(work_hours=hours, work_days=days, timezone=tz)


def test_weekday_lists_and_wrapping_ranges() -> None:
    assert WorkHours.parse("08:00-18:00", "mon,wed", "UTC").days == {0, 2}
    assert WorkHours.parse("08:00-18:00", "sat-mon", "UTC").days == {5, 6, 0}
    assert datetime(2026, 11, 3, tzinfo=UTC).weekday() == 1
