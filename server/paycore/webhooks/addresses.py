"""Which URLs an endpoint may have and which addresses a delivery may connect to.

A merchant must not make the platform call its internal network (SSRF): a URL whose host is,
or resolves to, a loopback, private, link-local, shared, multicast or reserved address is
refused unless the configuration allows private addresses (`paycore dev` does). The check runs
when the endpoint is saved and again whenever a delivery resolves the host (sender.py's
resolver), on the very addresses it then connects to, which defeats DNS rebinding."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from paycore.errors import invalid, missing

URL_LENGTH_MAX = 2048
RESOLVE_TIMEOUT_SECONDS = 2.0
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AddressPolicy:
    allow_http: bool
    allow_private: bool


class ForbiddenAddress(OSError):
    """A host resolved to an address deliveries may not connect to."""


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""RFC 6052's well-known NAT64 prefix: the network's translator connects to the IPv4 address
in the last 32 bits."""
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
"""RFC 8215's local-use NAT64 prefix: never a global destination."""
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
"""Deprecated IPv4-compatible addresses (::a.b.c.d)."""


def is_forbidden(address: IpAddress) -> bool:
    """Anything but a global unicast address. An IPv6 address that carries an IPv4 one
    (IPv4-mapped, NAT64, 6to4, Teredo, IPv4-compatible) reaches that address through a
    translator or relay, so it is judged as the IPv4 address inside too."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return True
        if any(is_forbidden(inner) for inner in _carried_ipv4(address)):
            return True
    return not address.is_global or address.is_multicast


def _carried_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    carried = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in carried if inner is not None]


def ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def checked_url(param: str, url: str, policy: AddressPolicy) -> SplitResult:
    """The URL's parts, or INVALID_ARGUMENT naming `param` (no resolution here)."""
    if not url:
        raise missing(param)
    if len(url) > URL_LENGTH_MAX:
        raise invalid(param, f"must be at most {URL_LENGTH_MAX} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise invalid(param, f"is not a valid URL ({error})") from None
    allowed_schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in allowed_schemes:
        raise invalid(param, f"must be an {' or '.join(allowed_schemes)} URL")
    _check_host(param, parts)
    if parts.fragment:
        raise invalid(param, "must not have a fragment")
    if port == 0:
        raise invalid(param, "must not use port 0")
    if any(character.isspace() or ord(character) < 0x20 for character in url):
        raise invalid(param, "must not contain whitespace or control characters")
    return parts


def _check_host(param: str, parts: SplitResult) -> None:
    """A host named, without credentials, that a resolver takes (an IP literal or a name
    whose labels the IDNA codec encodes: none empty, none over 63 characters)."""
    host = parts.hostname
    if not host:
        raise invalid(param, "must name a host")
    if parts.username is not None or parts.password is not None:
        raise invalid(param, "must not carry credentials")
    if ip_literal(host) is None:
        try:
            host.encode("idna")  # what the resolver does with it
        except UnicodeError:
            raise invalid(param, "does not name a valid host (a label empty or too long)") from None


async def check_destination(param: str, url: str, policy: AddressPolicy) -> None:
    """INVALID_ARGUMENT naming `param` unless deliveries may go to `url`: its syntax, and
    (unless private addresses are allowed) every address its host resolves to."""
    parts = checked_url(param, url, policy)
    if policy.allow_private:
        return
    host = parts.hostname or ""
    try:
        addresses = await resolve(host, parts.port or 443)
    except ForbiddenAddress:
        raise invalid(param, "resolves to a private, loopback or link-local address") from None
    except OSError:
        raise invalid(param, f"the host {host} does not resolve") from None
    if not addresses:
        raise invalid(param, f"the host {host} does not resolve")


async def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address of `host`, or ForbiddenAddress when any is one deliveries may not reach
    (one bad address among good ones is refused too: a connection may pick any of them)."""
    literal = ip_literal(host)
    if literal is not None:
        found = [literal]
    else:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            ),
            RESOLVE_TIMEOUT_SECONDS,
        )
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if any(is_forbidden(address) for address in found):
        raise ForbiddenAddress(f"{host} resolves to a forbidden address")
    return found
