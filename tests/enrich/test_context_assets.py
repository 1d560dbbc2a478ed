"""Asset inventory loader: formats, lookups, and file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from beaconhunt.enrich.context import Criticality, load_assets
from beaconhunt.errors import ConfigError

FIX = Path(__file__).parents[1] / "fixtures" / "context"


def test_loads_bom_crlf_comments_spaces_and_header_case() -> None:
    inv = load_assets(FIX / "assets.csv")
    assert len(inv) == 6
    dc = inv.by_ip("10.10.0.10")
    assert dc is not None
    assert (dc.hostname, dc.role, dc.owner, dc.criticality) == (
        "srv-dc-01",
        "domain_controller",
        "it-ops",
        Criticality.CRITICAL,
    )
    assert dc.line == 4 and dc.file.endswith("assets.csv")
    assert str(dc.criticality) == "critical"


def test_role_synonyms_and_numeric_criticality() -> None:
    inv = load_assets(FIX / "assets.csv")
    roles = {a.hostname: a.role for a in inv.assets}
    assert roles == {
        "srv-dc-01": "domain_controller",
        "srv-file-01": "server",
        "WS-001.corp.example": "laptop",
        "ws-002": "workstation",
        "fw-edge": "network",
        "printer-3": "other",
    }
    ws1 = inv.by_host("ws-001")
    assert ws1 is not None and ws1.criticality is Criticality.HIGH
    ws2 = inv.by_ip("10.20.1.11")
    assert ws2 is not None and ws2.criticality is Criticality.LOW and ws2.owner == ""
    assert Criticality.LOW < Criticality.CRITICAL


def test_host_lookup_case_and_fqdn_vs_short() -> None:
    inv = load_assets(FIX / "assets.csv")
    # inventory has the FQDN, query the short name (any case) or the FQDN
    for q in ("ws-001", "WS-001", "ws-001.corp.example", "ws-001.CORP.example."):
        a = inv.by_host(q)
        assert a is not None and a.ip == "10.20.1.10", q
    # inventory has the short name, query an FQDN
    a = inv.by_host("ws-002.corp.example")
    assert a is not None and a.ip == "10.20.1.11"
    # two different FQDNs with the same first label do not match
    assert inv.by_host("ws-001.other.example") is None
    assert inv.by_host("nope") is None and inv.by_host("") is None and inv.by_host(None) is None
    assert inv.by_ip("10.9.9.9") is None and inv.by_ip("junk") is None
    assert inv.lookup(ip="10.9.9.9", host="SRV-DC-01") is inv.by_ip("10.10.0.10")


def test_synth_style_file(tmp_path: Path) -> None:
    p = tmp_path / "assets.csv"
    p.write_text(
        "hostname,ip,role,owner,criticality\n"
        "srv-db-02,10.10.0.31,database,dba-team,high\n"
        "srv-app-01,10.10.0.40,app_server,dev-platform,medium\n"
        "srv-web-01,10.10.0.50,web_server,dev-platform,medium\n"
        "ws-001,10.20.1.10,workstation,anna.schmidt,medium\n"
    )
    inv = load_assets(p)
    assert [a.role for a in inv.assets] == ["server", "server", "server", "workstation"]


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("host,ip,role,owner,criticality\n", 1, "bad header"),
        ("", 1, "empty file"),
        ("# c\n\nhostname,ip,role,owner\n", 3, "bad header"),
        ("hostname,ip,role,owner,criticality\n\nws-1,10.0.0.1,server,x\n", 3, "expected 5 columns"),
        ("hostname,ip,role,owner,criticality\nws-1,10.0.0.1,server,x,low,extra\n", 2, "found 6"),
        ("hostname,ip,role,owner,criticality\n#x\nws-1,10.0.0.300,server,x,low\n", 3, "IP"),
        ("hostname,ip,role,owner,criticality\nws-1,10.0.0.1,toaster,x,low\n", 2, "unknown role"),
        ("hostname,ip,role,owner,criticality\nws-1,10.0.0.1,server,x,5\n", 2, "criticality"),
        ("hostname,ip,role,owner,criticality\n,10.0.0.1,server,x,low\n", 2, "host name"),
        (
            "hostname,ip,role,owner,criticality\na,10.0.0.1,server,x,low\nb,10.0.0.1,server,x,low\n",
            3,
            "duplicate ip",
        ),
        (
            "hostname,ip,role,owner,criticality\na,10.0.0.1,server,x,low\nA,10.0.0.2,server,x,low\n",
            3,
            "duplicate hostname",
        ),
    ],
)
def test_malformed(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    p = tmp_path / "assets.csv"
    p.write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_assets(p)
    assert str(exc.value).startswith(f"{p}:{line}: ")
    assert fragment in str(exc.value)


def test_crlf_bom_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "assets.csv"
    p.write_bytes(
        b"\xef\xbb\xbfhostname,ip,role,owner,criticality\r\n\r\nws-1,1.2.3,server,x,low\r\n"
    )
    with pytest.raises(ConfigError, match=rf"^{p}:3: '1\.2\.3' is not an IP address$"):
        load_assets(p)


def test_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read asset inventory"):
        load_assets(tmp_path / "missing.csv")
