"""Static catalogue of the synthetic world: services, sites, implants, strings.

The benign pollers follow what labelled captures show (Stratosphere CTU-Normal-40:
an AV agent every ~301 s, Microsoft telemetry every ~900 s within +-10%, Dropbox
every ~960 s with looser timing). Infrastructure and popular sites keep their
real names so the output reads like a real network; their IP addresses are
random (see :mod:`beaconhunt.synth.world`). C2 servers live in the
documentation ranges (RFC 5737) and C2 domains are invented look-alikes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = [
    "BENIGN_POLLERS",
    "BROWSERS",
    "BROWSER_NAMES",
    "CERT_ISSUERS",
    "FAMILY_PROFILES",
    "NTP_PERIOD",
    "NTP_SOURCES",
    "POPULAR_SITES",
    "STREAMING",
    "THIRD_PARTY",
    "C2Endpoint",
    "FamilyProfile",
    "Poller",
    "fingerprint",
    "site_words",
]


@dataclass(frozen=True, slots=True)
class Poller:
    """A benign program that calls home on a timer.

    ``hosts`` selects where it runs: ``all``, ``windows``, ``linux``,
    ``workstations`` or a host name; ``share`` is the fraction of those hosts.
    ``out``/``inn`` are byte ranges of one check-in. ``{user}`` in the process
    path is replaced by the host's user.
    """

    kind: str
    name: str
    port: int
    period: float
    jitter: float
    hosts: str
    out: tuple[int, int]
    inn: tuple[int, int]
    process: str
    share: float = 1.0
    proto: str = "tcp"
    service: str = "ssl"
    decision: str = "close"
    allowlisted: bool = True
    ttl: int = 300
    cron: bool = False


_FALCON = r"C:\Program Files\CrowdStrike\CSFalconService.exe"
_SVCHOST = r"C:\Windows\System32\svchost.exe"

BENIGN_POLLERS: tuple[Poller, ...] = (
    Poller(
        "edr_checkin",
        "ts01-b.cloudsink.net",
        443,
        300.0,
        0.03,
        "windows",
        (900, 2500),
        (600, 4000),
        _FALCON,
        ttl=60,
    ),
    Poller(
        "edr_checkin",
        "ts01-b.cloudsink.net",
        443,
        300.0,
        0.03,
        "linux",
        (900, 2500),
        (600, 4000),
        "/opt/CrowdStrike/falcond",
        ttl=60,
    ),
    Poller(
        "os_telemetry",
        "v10.events.data.microsoft.com",
        443,
        900.0,
        0.08,
        "windows",
        (2000, 14000),
        (300, 900),
        _SVCHOST,
        ttl=600,
    ),
    Poller(
        "update_check",
        "settings-win.data.microsoft.com",
        443,
        3600.0,
        0.1,
        "windows",
        (700, 1500),
        (1500, 9000),
        _SVCHOST,
        ttl=900,
    ),
    Poller(
        "update_check",
        "update.googleapis.com",
        443,
        18000.0,
        0.05,
        "workstations",
        (1200, 2600),
        (800, 3000),
        r"C:\Program Files (x86)\Google\GoogleUpdater\updater.exe",
        ttl=300,
    ),
    Poller(
        "mail_sync",
        "outlook.office365.com",
        443,
        300.0,
        0.1,
        "workstations",
        (1500, 4000),
        (1200, 30000),
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        ttl=60,
    ),
    Poller(
        "chat_presence",
        "edgeapi.slack.com",
        443,
        180.0,
        0.3,
        "workstations",
        (400, 1100),
        (300, 2500),
        r"C:\Users\{user}\AppData\Local\slack\app-4.41.105\slack.exe",
        share=0.6,
        ttl=60,
    ),
    Poller(
        "cloud_sync",
        "client.dropbox.com",
        443,
        960.0,
        0.15,
        "workstations",
        (800, 2500),
        (900, 6000),
        r"C:\Program Files (x86)\Dropbox\Client\Dropbox.exe",
        share=0.3,
        allowlisted=False,
        ttl=300,
    ),
    Poller(
        "scheduled_script",
        "api.assetsync.io",
        443,
        900.0,
        0.0,
        "srv-app-01",
        (600, 900),
        (2000, 2600),
        "/usr/bin/python3",
        decision="monitor",
        allowlisted=False,
        ttl=300,
        cron=True,
    ),
)

#: NTP: chrony polls each of its pool sources every 2^10 s (maxpoll 10).
NTP_SOURCES = ("0.pool.ntp.org", "1.pool.ntp.org", "2.pool.ntp.org", "3.pool.ntp.org")
NTP_PERIOD = 1024.0

#: Video streaming: segment fetches every few seconds during a viewing session.
STREAMING = "ipv4-c041-ams001-ix.1.oca.nflxvideo.net"

POPULAR_SITES: tuple[str, ...] = (
    "www.google.com",
    "www.youtube.com",
    "www.microsoft.com",
    "www.office.com",
    "www.linkedin.com",
    "github.com",
    "stackoverflow.com",
    "en.wikipedia.org",
    "www.amazon.com",
    "www.reddit.com",
    "www.bbc.co.uk",
    "www.nytimes.com",
    "www.cnn.com",
    "login.salesforce.com",
    "acme-corp.atlassian.net",
    "zoom.us",
    "www.dropbox.com",
    "www.apple.com",
    "weather.com",
    "www.yahoo.com",
    "www.bing.com",
    "www.facebook.com",
    "www.instagram.com",
    "www.adobe.com",
    "medium.com",
    "www.theguardian.com",
    "www.reuters.com",
    "www.bloomberg.com",
    "www.espn.com",
    "www.imdb.com",
    "www.booking.com",
    "www.ebay.com",
    "www.paypal.com",
    "www.indeed.com",
    "www.canva.com",
    "www.notion.so",
    "www.figma.com",
    "trello.com",
    "www.npmjs.com",
    "pypi.org",
    "hub.docker.com",
    "learn.microsoft.com",
    "docs.python.org",
    "www.ft.com",
    "www.wsj.com",
)

#: Shared third-party hosts pulled in by pages (analytics, fonts, CDNs, OCSP).
#: The flag says the host is fetched over plain HTTP (port 80).
THIRD_PARTY: tuple[tuple[str, bool], ...] = (
    ("fonts.gstatic.com", False),
    ("www.googletagmanager.com", False),
    ("www.google-analytics.com", False),
    ("fonts.googleapis.com", False),
    ("www.gstatic.com", False),
    ("cdn.jsdelivr.net", False),
    ("cdnjs.cloudflare.com", False),
    ("ajax.googleapis.com", False),
    ("connect.facebook.net", False),
    ("securepubads.g.doubleclick.net", False),
    ("static.doubleclick.net", False),
    ("cdn.cookielaw.org", False),
    ("static.hotjar.com", False),
    ("bat.bing.com", False),
    ("c.clarity.ms", False),
    ("platform.twitter.com", False),
    ("use.typekit.net", False),
    ("i.ytimg.com", False),
    ("js.hs-scripts.com", False),
    ("s3.amazonaws.com", False),
    ("ocsp.digicert.com", True),
    ("ocsp.pki.goog", True),
    ("r11.o.lencr.org", True),
    ("ctldl.windowsupdate.com", True),
)

_WORDS_A = (
    "blue",
    "north",
    "harbor",
    "maple",
    "summit",
    "pixel",
    "urban",
    "silver",
    "green",
    "bright",
    "river",
    "stone",
    "cedar",
    "rapid",
    "clear",
    "golden",
    "open",
    "metro",
    "prime",
    "quiet",
    "wild",
    "coastal",
    "daily",
    "modern",
    "smart",
    "true",
    "lunar",
    "solid",
    "swift",
    "amber",
)
_WORDS_B = (
    "news",
    "tech",
    "kitchen",
    "travel",
    "review",
    "gear",
    "finance",
    "health",
    "garden",
    "craft",
    "labs",
    "media",
    "journal",
    "market",
    "studio",
    "outdoors",
    "recipes",
    "sports",
    "photo",
    "design",
    "books",
    "auto",
    "games",
    "learning",
    "works",
    "post",
    "wire",
    "hub",
    "guide",
    "supply",
)
_TLDS = ("com", "com", "com", "net", "org", "io", "co", "de", "fr", "co.uk")


def site_words(i: int) -> str:
    """The ``i``-th generated long-tail site name, e.g. ``www.harborkitchen.com``.

    Deterministic and collision-free for ``i < 9000`` (30 x 30 x 10 combinations).
    """
    a = _WORDS_A[i % len(_WORDS_A)]
    b = _WORDS_B[(i // len(_WORDS_A) * 7 + i) % len(_WORDS_B)]
    tld = _TLDS[(i // (len(_WORDS_A) * len(_WORDS_B))) % len(_TLDS)]
    sep = "-" if i % 3 == 0 else ""
    return f"www.{a}{sep}{b}.{tld}"


#: (name, user agent, process image) of the browsers workstations run.
BROWSERS: tuple[tuple[str, str, str], ...] = (
    (
        "edge",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0",
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    ),
    (
        "chrome",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/142.0.0.0 Safari/537.36",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    ),
    (
        "firefox",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0",
        r"C:\Program Files\Mozilla Firefox\firefox.exe",
    ),
)

BROWSER_NAMES = frozenset(name for name, _, _ in BROWSERS)

#: Certificate issuers seen on TLS 1.2 sessions (TLS 1.3 hides certificates).
CERT_ISSUERS: tuple[str, ...] = (
    "CN=R11,O=Let's Encrypt,C=US",
    "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US",
    "CN=WR2,O=Google Trust Services,C=US",
    "CN=Amazon RSA 2048 M02,O=Amazon,C=US",
    "CN=Sectigo RSA Domain Validation Secure Server CA,O=Sectigo Limited,L=Salford,"
    "ST=Greater Manchester,C=GB",
)


@dataclass(frozen=True, slots=True)
class C2Endpoint:
    """Where an implant calls: ``mode`` is ``fronted`` (domain on the shared CDN),
    ``domain`` (own domain, own IP) or ``ip`` (no DNS, no SNI)."""

    mode: str
    name: str | None
    ip: str | None
    port: int
    transport: str


@dataclass(frozen=True, slots=True)
class FamilyProfile:
    """Defaults of one implant family; the i-th implant uses ``endpoints[i % n]``.

    ``process`` is the image that makes the check-ins, as Sysmon names it; how it
    was started (parent, command line, persistence) is in
    :mod:`beaconhunt.synth.processes`."""

    family: str
    sleep: float
    jitter: tuple[float, float]
    loss: float
    process: str
    endpoints: tuple[C2Endpoint, ...]
    user_agent: str | None = None


FAMILY_PROFILES: dict[str, FamilyProfile] = {
    "cobalt_strike": FamilyProfile(
        "cobalt_strike",
        60.0,
        (0.3, 0.5),
        0.02,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        (
            C2Endpoint("fronted", "assets.office-cdnsync.com", None, 443, "https"),
            C2Endpoint("domain", "updates.winsvc-telemetry.com", "192.0.2.45", 443, "https"),
            C2Endpoint("ip", None, "192.0.2.87", 443, "https"),
        ),
    ),
    "sliver": FamilyProfile(
        "sliver",
        60.0,
        (0.5, 0.5),
        0.01,
        r"C:\Users\{user}\AppData\Local\Temp\OneDriveStandaloneUpdater.exe",
        (
            C2Endpoint("ip", None, "198.51.100.23", 8888, "mtls"),
            C2Endpoint("domain", "api.cloud-sync-status.com", "198.51.100.61", 443, "https"),
        ),
    ),
    "havoc": FamilyProfile(
        "havoc",
        30.0,
        (0.2, 0.2),
        0.01,
        r"C:\ProgramData\svchost.exe",
        (
            C2Endpoint("domain", "login.secure-sso-portal.com", "192.0.2.150", 443, "https"),
            C2Endpoint("ip", None, "192.0.2.151", 443, "https"),
        ),
    ),
    "mythic": FamilyProfile(
        "mythic",
        45.0,
        (0.25, 0.25),
        0.02,
        r"C:\Windows\System32\rundll32.exe",
        (
            C2Endpoint("domain", "stats.pixel-metrics.net", "198.51.100.140", 80, "http"),
            C2Endpoint("domain", "cdn.static-js-delivery.org", "198.51.100.141", 80, "http"),
        ),
        user_agent="Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko",
    ),
    "meterpreter": FamilyProfile(
        "meterpreter",
        20.0,
        (0.05, 0.05),
        0.0,
        r"C:\Windows\System32\mshta.exe",
        (
            C2Endpoint("ip", None, "203.0.113.77", 8080, "http"),
            C2Endpoint("ip", None, "203.0.113.78", 443, "https"),
        ),
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    ),
}


def fingerprint(label: str) -> str:
    """A stable 32-hex stand-in for a JA3/JA3S hash of the named TLS client or server."""
    return hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()
