"""Where webhooks may go: public addresses only, unless the operator allows a network (a receiver on
this machine, say: HARKEN_WEBHOOK_ALLOWED_NETWORKS).

A subscription's URL is checked as written, in whatever spelling of an address it uses (decimal, octal,
hex, IPv4 inside IPv6). A delivery resolves the host once, checks every address it resolved to and
connects to exactly one of them — the name still goes in `Host` and TLS's SNI, and is what the
certificate is checked against — so a name that answers differently a moment later (DNS rebinding)
cannot reach inside either. Redirects are never followed, and proxies from the environment are ignored.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], list[str]]

REFUSED = "refused: the host does not resolve to public addresses only; nothing was sent"

# IANA's special-purpose address registries: what is not a webhook destination, and why. First match wins.
NOT_PUBLIC: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(network), why)
    for network, why in (
        ("0.0.0.0/8", "this host"),  # 0.0.0.0 reaches the hub's own listeners
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local, where cloud metadata services answer"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # and 255.255.255.255, broadcast
        ("::/128", "this host"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments"),  # Teredo among them
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), which is where it leads."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why webhooks may not go to `address` (the kind of address it is), or None when they may."""
    if any(address.version == network.version and address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded(address)) is not None:
        return refusal(inner, allowed)
    for network, why in NOT_PUBLIC:
        if address.version == network.version and address in network:
            return why
    if isinstance(address, ipaddress.IPv6Address):
        return None if address in GLOBAL_UNICAST else "not global unicast"
    return None if address.is_global else "not globally routable"


def _literal(host: str) -> Address | None:
    """The address `host` spells, in any form the system's resolver reads as one; None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # inet_aton's forms (2130706433, 0x7f.1, 017700000001), without asking any DNS server
        found = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return None
    return ipaddress.ip_address(found[0][4][0])


def url_refusal(url: str, allowed: Sequence[Network] = ()) -> str | None:
    """Why a subscription may not name `url`, as written, or None. Names are not resolved here (that
    would tell the caller which internal names exist): a delivery checks what they resolve to."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "is not a URL webhooks can be sent to"
    if parsed.userinfo:
        return "must not carry a user name or password (they would be stored and sent in the clear)"
    written = parsed.raw_host.decode("ascii")  # as sent: punycode, not decoded (which may fail)
    host = written.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always this machine
        why = refusal(ipaddress.IPv4Address("127.0.0.1"), allowed)
        return f"{written} is this machine" if why else None
    address = _literal(host)
    if address is not None and (why := refusal(address, allowed)) is not None:
        return f"{written} is not a public address ({why})"
    return None


class Refused(Exception):
    """The destination resolves to an address webhooks may not go to; no connection was made."""


def system_resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class Destinations:
    """Which destinations deliveries may reach: public addresses and the operator's `allowed` networks."""

    allowed: tuple[Network, ...] = ()
    resolve: Resolve = system_resolve

    def addresses(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to, resolved once; Refused unless each may receive webhooks
        (one bad address among good ones is how a rebinding attacker would try). The same refusal
        whatever the reason, so the deliveries list tells nothing of the hub's network or DNS."""
        try:
            found = [ipaddress.ip_address(a) for a in self.resolve(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise Refused(REFUSED) from None
        if not found or any(refusal(a, self.allowed) is not None for a in found):
            raise Refused(REFUSED)
        return [str(a) for a in dict.fromkeys(found)]


class _Pinned(httpcore.NetworkBackend):
    """Connects to the checked addresses of a host, never to what the host may resolve to later."""

    def __init__(self, destinations: Destinations) -> None:
        self._destinations = destinations
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        *others, last = self._destinations.addresses(host, port)
        for address in others:
            try:
                return self._tcp.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return self._tcp.connect_tcp(last, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise Refused(REFUSED)

    def sleep(self, seconds: float) -> None:
        self._tcp.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    def __init__(self, destinations: Destinations) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend, httpcore does: the pool connects only through _Pinned.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_Pinned(destinations),
        )


def client(destinations: Destinations) -> httpx.Client:
    """The HTTP client deliveries go through: it reaches only `destinations`, follows no redirect and
    reads no proxy, certificate or netrc settings from the environment."""
    return httpx.Client(transport=_Transport(destinations), follow_redirects=False, trust_env=False)
