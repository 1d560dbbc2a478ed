"""Domain names as an analyst reads them: registered domain and shared hosting.

The *registered domain* (``example.co.uk`` for ``a.b.example.co.uk``) is what a
registrar sells and WHOIS describes, so domain age and prevalence are counted
on it: a C2 server that rotates subdomains is still one destination.

It comes from the Public Suffix List's ICANN section, bundled with the
``publicsuffixlist`` package (no download at run time). The list's *private*
section names suffixes under which anyone can get a name from a provider
(``cloudfront.net``, ``azurewebsites.net``, ``workers.dev``, ``herokuapp.com``):
for those the provider's domain is years old and reputable whatever the
tenant does, so :func:`shared_suffix` reports them and the destination pivot
does not call such a name "established". A few CDN edge domains that are not in
the list (their customers get no name of their own under them, but the
provider's reputation is still not the tenant's) are added in
:data:`EXTRA_SHARED`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

__all__ = ["EXTRA_SHARED", "is_ip", "registered_domain", "registered_domains", "shared_suffix"]

#: CDN and cloud edge domains missing from the PSL private section.
EXTRA_SHARED: frozenset[str] = frozenset(
    {
        "akamaiedge.net",
        "akamaihd.net",
        "akamaized.net",
        "edgekey.net",
        "edgesuite.net",
        "azureedge.net",
        "azurefd.net",
        "trafficmanager.net",
        "cloudapp.net",
        "amazonaws.com",
        "googleusercontent.com",
        "fastly.net",
        "fastlylb.net",
        "cdn77.org",
        "b-cdn.net",
        "llnwd.net",
    }
)


@lru_cache(maxsize=2)
def _psl(only_icann: bool) -> PublicSuffixList:
    """The parsed list, built on first use: parsing it takes ~0.2 s, which every
    command paid at import time, ``--help`` included."""
    return PublicSuffixList(only_icann=only_icann)


@lru_cache(maxsize=1)
def _deep_rule_tails() -> frozenset[str]:
    """The last two labels of every ICANN public-suffix rule of three labels or more
    (``*.kawasaki.jp`` -> ``kawasaki.jp``): only under these can a name's registered
    domain be longer than its last two labels when those are not a suffix themselves."""
    from publicsuffixlist import PSLFILE

    tails: set[str] = set()
    with open(PSLFILE, encoding="utf-8") as fh:
        for line in fh:
            if "===END ICANN DOMAINS===" in line:
                break
            rule = line.strip().lstrip("!").removeprefix("*.")
            if not rule or rule.startswith("//"):
                continue
            labels = rule.lower().split(".")
            if len(labels) >= 3 or (line.strip().startswith("*.") and len(labels) >= 2):
                tails.add(".".join(labels[-2:]))
    return frozenset(tails)


@lru_cache(maxsize=1 << 16)
def _simple_tail(last2: str) -> bool:
    """True when every name ending in ``last2`` has ``last2`` as its registered domain."""
    if last2 in _deep_rule_tails():
        return False
    tld = last2.rsplit(".", 1)[-1]
    return _psl(True).publicsuffix(last2) == tld


def registered_domains(names: Sequence[str]) -> list[str | None]:
    """:func:`registered_domain` of many lower-cased names at once: names whose last two
    labels are a registered domain under a plain top-level suffix (nearly all) are
    answered from those two labels, the rest one by one."""
    out: list[str | None] = []
    for name in names:
        clean = name.rstrip(".")
        head, dot, tld = clean.rpartition(".")
        if not dot or tld.isdigit() or ":" in clean:
            out.append(registered_domain(clean))
            continue
        sld = head.rpartition(".")[2]
        last2 = f"{sld}.{tld}"
        out.append(last2 if sld and _simple_tail(last2) else registered_domain(clean))
    return out


def is_ip(value: str) -> bool:
    """True when ``value`` is an IPv4 or IPv6 address (not a name)."""
    try:
        ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _clean(name: str) -> str:
    return name.strip().rstrip(".").lower()


@lru_cache(maxsize=1 << 16)
def registered_domain(name: str | None) -> str | None:
    """The ICANN registrable domain of ``name``; the name itself when it has no
    public suffix (``corp.local``, a bare label); None for an IP or nothing."""
    if not name:
        return None
    clean = _clean(name)
    if not clean or is_ip(clean):
        return None
    reg = _psl(True).privatesuffix(clean)
    return reg if reg else clean


@lru_cache(maxsize=1 << 16)
def shared_suffix(name: str | None) -> str | None:
    """The cloud/CDN suffix ``name`` is hosted under, when it is one.

    A suffix from the PSL private section (``d1234.cloudfront.net`` ->
    ``cloudfront.net``) or one of :data:`EXTRA_SHARED`; None otherwise.
    """
    if not name:
        return None
    clean = _clean(name)
    if not clean or is_ip(clean):
        return None
    labels = clean.split(".")
    for i in range(1, len(labels) - 1):
        parent = ".".join(labels[i:])
        if parent in EXTRA_SHARED:
            return parent
    public = _psl(False).publicsuffix(clean)
    icann = _psl(True).publicsuffix(clean)
    if public and icann and public != icann and public != clean:
        return public
    return None
