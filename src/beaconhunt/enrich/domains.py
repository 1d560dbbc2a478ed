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
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

__all__ = ["EXTRA_SHARED", "is_ip", "registered_domain", "shared_suffix"]

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

_ICANN = PublicSuffixList(only_icann=True)
_FULL = PublicSuffixList()


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
    reg = _ICANN.privatesuffix(clean)
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
    public = _FULL.publicsuffix(clean)
    icann = _ICANN.publicsuffix(clean)
    if public and icann and public != icann and public != clean:
        return public
    return None
