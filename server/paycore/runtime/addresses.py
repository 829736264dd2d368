"""The client's network address behind proxies: a peer's `x-forwarded-for` is believed only when
the peer is a proxy the operator trusts (PAYCORE_TRUSTED_PROXIES for the gRPC server, whose
proxy is the REST edge; PAYCORE_EDGE_TRUSTED_PROXIES for the edge, whose proxy is a load
balancer). Anyone can send the header, so the chain is read from the right, where each trusted
proxy appended the address it saw, and the first address no trusted proxy owns is the client:
what a client wrote to the left of it is never taken."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

ADDRESS_LENGTH_MAX = 64


class TrustedProxies:
    """Addresses and networks (`10.0.0.0/8`, `::1`) whose `x-forwarded-for` names the client.
    Asked on every call: single addresses are a set lookup of the text as written (no parse);
    only networks parse the address (several microseconds: ipaddress is slow)."""

    def __init__(self, entries: Iterable[str]) -> None:
        networks = [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]
        self._addresses = frozenset(
            str(network.network_address) for network in networks if network.num_addresses == 1
        )
        # (version, first address, mask) as integers: `ip in network` costs ten times more.
        self._networks: tuple[tuple[int, int, int], ...] = tuple(
            (network.version, int(network.network_address), int(network.netmask))
            for network in networks
            if network.num_addresses > 1
        )

    def __contains__(self, address: str) -> bool:
        if address in self._addresses:
            return True
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        number = int(ip)
        return any(
            ip.version == version and number & mask == first
            for version, first, mask in self._networks
        )


def forwarded_client(peer: str, forwarded: str | None, trusted: TrustedProxies) -> str:
    """The client's address: `peer` itself unless it is a trusted proxy; then, walking
    `forwarded` (x-forwarded-for) from the right, the first entry that is not a trusted proxy
    (the leftmost when every one is). An empty entry ends the walk at the last one read."""
    client = peer
    if not forwarded or peer not in trusted:
        return client[:ADDRESS_LENGTH_MAX]
    for entry in reversed(forwarded.split(",")):
        hop = entry.strip()
        if not hop:
            break
        client = hop
        if hop not in trusted:  # what is not an address is never a trusted proxy
            break
    return client[:ADDRESS_LENGTH_MAX]
