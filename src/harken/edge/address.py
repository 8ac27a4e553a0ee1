"""The client's address: the peer, or what the operator's own proxies say it was.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only from a proxy the
operator named (HARKEN_TRUSTED_PROXIES), and then only its right-most part: each proxy appends the
address it saw, so the right-most address that is not one of the named proxies is the first one no
trusted proxy can vouch beyond. Anything to its left is the client's own claim.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection
from starlette.types import Scope

from harken.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"  # no peer (a Unix socket, an in-process test client without one)
HOP_MAX = 64  # longer than any address with a port: a hop is a claim, and a claim is cut short


def client_address(connection: Scope | HTTPConnection, settings: Settings) -> str:
    """The address to count and limit a request by: the peer, unless the peer is one of the trusted
    proxies, then the right-most address of `X-Forwarded-For` that is not (the left-most if all are)."""
    scope = connection.scope if isinstance(connection, HTTPConnection) else connection
    peer = scope.get("client")
    address = str(peer[0]) if peer else UNKNOWN
    trusted = tuple(settings.trusted_proxies)
    if not trusted or not _trusted(address, trusted):
        return address
    hops = [
        hop.strip()
        for name, value in scope["headers"]
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        address = _host(hop)
        if not _trusted(address, trusted):
            return address
    return _host(hops[0]) if hops else address


def _host(hop: str) -> str:
    """The address of a hop without its port: `203.0.113.7:4711` and `[2001:db8::1]:443` too."""
    hop = hop[:HOP_MAX]
    if hop.startswith("["):
        return hop[1:].partition("]")[0]
    if hop.count(":") == 1:
        return hop.partition(":")[0]
    return hop


@lru_cache(maxsize=4096)
def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # not an address at all: nothing the operator could have named
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1, as a dual-stack socket reports it
    return any(ip in network for network in networks)
