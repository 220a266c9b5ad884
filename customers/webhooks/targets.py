"""Where outbound webhooks may go: public http(s) addresses only, so that a webhook subscription cannot make Baton
send requests into its own network (SSRF: the database, Redis, a cloud's metadata service at 169.254.169.254...).

Checked twice:
- when a subscription is created or changed (`check_url`: a 400 with a message on `url`): the scheme, a literal
  address, names under `.localhost`, and the addresses the name resolves to now (a name that does not resolve yet
  is let through: the delivery checks it);
- at each delivery attempt (`pin`), after resolving the name again: every address must be public, and the request
  goes to one of exactly those addresses (the Host header and TLS's server name stay the URL's host, so the
  certificate is still checked against the name). A name that resolved to a public address when it was saved and
  to a private one now (DNS rebinding) is refused then, and the delivery fails without a retry.

Refused: loopback, private (RFC 1918, unique local fc00::/7, site-local fec0::/10), link-local, shared
(100.64/10), multicast, reserved, unspecified and documentation ranges, NAT64's local-use prefix (64:ff9b:1::/48),
Teredo, and IPv6 forms that carry one of those IPv4 addresses (mapped ::ffff:a.b.c.d, 6to4, NAT64 64:ff9b::/96):
those are judged by the IPv4 address they carry, so a public one passes. A URL may name an IPv6 address in brackets
(`https://[2606:4700:4700::1111]/hook`): judged as an IPv4 address is. `BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS=true`
lets them all through (a receiver on the same network, tests).
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

SCHEMES = ("http", "https")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not public, though Python's ipaddress (3.11) calls them global: NAT64 for local use (RFC 8215), site-local
# (deprecated by RFC 3879, a private scope where still routed) and documentation (RFC 9637).
NOT_GLOBAL_V6 = tuple(ipaddress.ip_network(network) for network in ("64:ff9b:1::/48", "fec0::/10", "3fff::/20"))
REFUSED = ("Webhooks go to public addresses only: this one is inside a private network (loopback, private, "
           "link-local, multicast or reserved).")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedTarget(Exception):
    """A delivery refused before it was sent: the URL's host is (or resolves to) a non-public address."""


def allow_private() -> bool:
    return bool(settings.BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS)


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a connection to `address` reaches: an IPv4-mapped address (the socket connects over IPv4)
    or a NAT64 one (the gateway does)."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """A unicast address on the public internet (`is_global` leaves multicast in). An IPv6 address that stands for
    an IPv4 one (mapped, NAT64) is judged by that IPv4 address (both forms sit in ::/8, which Python calls reserved);
    a 6to4 one needs the IPv4 address it carries public too."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in NOT_GLOBAL_V6):
            return False
        carried = _carried_ipv4(address)
        if carried is not None:
            return is_public(carried)
        if address.sixtofour and not is_public(address.sixtofour):
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_loopback
                                      or address.is_link_local or address.is_unspecified)


def _host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host, port


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) names no other address
    except ValueError:
        return None


def _is_local_name(host: str) -> bool:
    """A name under `localhost.` (RFC 6761: always the loopback, even where the resolver does not say so;
    `localhost` itself resolves, and its addresses are refused)."""
    return host.endswith(".localhost")


def resolve(host: str, port: int) -> list[Address]:
    """Every address the name resolves to (socket.gaierror when it resolves to none)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    found = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def check_url(url: str) -> list[str]:
    """What is wrong with a subscription's URL as a destination (empty: nothing). The format itself (http or https,
    a host) is URLValidator's: this says whether the destination is allowed."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        return ["Enter an http or https URL."]
    if allow_private():
        return []
    host, port = _host_and_port(url)
    if _is_local_name(host):
        return [REFUSED]
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError, OSError):
        return []  # not resolvable now: each delivery resolves and checks it again
    if any(not is_public(address) for address in addresses):
        return [REFUSED]
    return []


@dataclass(frozen=True)
class Pinned:
    """Where one delivery attempt connects: `addresses` (checked), with the URL's own host for Host and TLS."""

    url: str
    host: str
    port: int
    addresses: tuple[Address, ...]

    def url_for(self, address: Address) -> httpx.URL:
        """The URL with the address in place of the name (user info, port, path and query kept)."""
        return httpx.URL(self.url).copy_with(host=str(address))

    @property
    def host_header(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{parts.port}" if parts.port else host


def pin(url: str) -> Pinned | None:
    """The addresses one delivery attempt may connect to (None: connect as the URL says, private targets being
    allowed). Raises BlockedTarget for a non-http(s) URL or a host that is (or resolves to) a non-public address,
    and socket.gaierror when the name resolves to nothing (a retry may do better)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise BlockedTarget(f"Refused: {parts.scheme or 'no'} scheme; webhooks go to http or https URLs only.")
    if allow_private():
        return None
    host, port = _host_and_port(url)
    if _is_local_name(host):
        raise BlockedTarget(f"Refused: {host} names the loopback. {REFUSED}")
    addresses = resolve(host, port)
    refused = [address for address in addresses if not is_public(address)]
    if refused:
        raise BlockedTarget(f"Refused: {host} resolves to {', '.join(map(str, refused))}. {REFUSED}")
    return Pinned(url=url, host=host, port=port, addresses=tuple(addresses))
