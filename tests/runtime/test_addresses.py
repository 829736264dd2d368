"""paycore.runtime.addresses: whose `x-forwarded-for` is believed, and which of its entries."""

from __future__ import annotations

from paycore import contracts
from paycore.runtime.addresses import TrustedProxies, forwarded_client
from paycore.runtime.context import CallContext, Caller, CallerKind

BALANCERS = TrustedProxies(["10.0.0.0/8", "::1"])


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert forwarded_client("198.51.100.7", "203.0.113.1", BALANCERS) == "198.51.100.7"
    assert forwarded_client("198.51.100.7", None, TrustedProxies([])) == "198.51.100.7"


def test_the_chain_is_read_from_the_right_past_trusted_proxies() -> None:
    # The client wrote 192.0.2.66 itself; the balancer appended the address it saw.
    chain = "192.0.2.66, 203.0.113.1, 10.1.2.3"
    assert forwarded_client("10.0.0.5", chain, BALANCERS) == "203.0.113.1"
    assert forwarded_client("::1", "203.0.113.9", BALANCERS) == "203.0.113.9"
    assert forwarded_client("10.0.0.5", "10.0.0.9, 10.0.0.8", BALANCERS) == "10.0.0.9"


def test_an_empty_entry_ends_the_walk_at_the_last_one_read() -> None:
    assert forwarded_client("10.0.0.5", "203.0.113.1, ", BALANCERS) == "10.0.0.5"
    assert forwarded_client("10.0.0.5", "203.0.113.1,, 10.0.0.7", BALANCERS) == "10.0.0.7"
    # What is not an address is never a trusted proxy: the walk stops at it.
    assert forwarded_client("10.0.0.5", "203.0.113.1, unknown", BALANCERS) == "unknown"


def _call(kind: CallerKind, address: str, *, stranger: bool = False) -> CallContext:
    method = "/paycore.v1.PaymentService/ConfirmPaymentIntent"
    call = CallContext(method, "req_1", contracts.method_policies()[method])
    call.caller = Caller(kind, "acct_1", "key_1")
    call.client_address, call.forwarded_by_stranger = address, stranger
    return call


def test_only_a_publishable_key_callers_address_is_a_buyers() -> None:
    assert _call(CallerKind.PUBLISHABLE_KEY, "203.0.113.4").buyer_address() == "203.0.113.4"
    assert _call(CallerKind.SECRET_KEY, "203.0.113.4").buyer_address() == ""
    assert _call(CallerKind.RESTRICTED_KEY, "203.0.113.4").buyer_address() == ""
    # A proxy nobody trusts forwarded it: its own address is not the buyer's.
    stranger = _call(CallerKind.PUBLISHABLE_KEY, "10.9.9.9", stranger=True)
    assert stranger.buyer_address() == ""
