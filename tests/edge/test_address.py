"""The client address a request is counted by: X-Forwarded-For only from the operator's own proxies."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.types import Scope

from harken.config import Settings
from harken.edge.address import client_address

BEHIND_PROXIES = Settings(trusted_proxies=["10.0.0.0/8", "127.0.0.1", "::1"])
NO_PROXIES = Settings()


def scope(peer: str | None, *forwarded: str) -> Scope:
    return {
        "type": "http",
        "client": (peer, 50000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


def test_without_named_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    claims = {client_address(scope("127.0.0.1", f"198.51.100.{n}"), NO_PROXIES) for n in range(10)}
    assert claims == {"127.0.0.1"}


def test_a_peer_that_is_not_a_named_proxy_is_the_client() -> None:
    assert client_address(scope("203.0.113.7", "198.51.100.1"), BEHIND_PROXIES) == "203.0.113.7"


def test_behind_named_proxies_the_client_is_the_right_most_address_none_of_them_is() -> None:
    # the client claimed 198.51.100.1; the outer proxy saw 203.0.113.7; the inner one is 10.0.0.2
    forwarded = scope("10.0.0.1", "198.51.100.1, 203.0.113.7", "10.0.0.2")
    assert client_address(forwarded, BEHIND_PROXIES) == "203.0.113.7"


def test_a_different_claim_per_request_does_not_change_the_address_behind_proxies() -> None:
    claims = {
        client_address(scope("10.0.0.1", f"198.51.100.{n}, 203.0.113.7"), BEHIND_PROXIES) for n in range(10)
    }
    assert claims == {"203.0.113.7"}


def test_ports_and_brackets_are_not_part_of_the_address() -> None:
    assert client_address(scope("127.0.0.1", "203.0.113.7:4711"), BEHIND_PROXIES) == "203.0.113.7"
    assert client_address(scope("::1", "[2001:db8::7]:443"), BEHIND_PROXIES) == "2001:db8::7"


def test_a_proxy_on_a_dual_stack_socket_is_recognised() -> None:
    assert client_address(scope("::ffff:10.0.0.1", "203.0.113.7"), BEHIND_PROXIES) == "203.0.113.7"


def test_when_every_hop_is_a_named_proxy_the_left_most_is_the_client() -> None:
    assert client_address(scope("10.0.0.1", "10.0.0.9, 10.0.0.2"), BEHIND_PROXIES) == "10.0.0.9"


def test_a_named_proxy_that_forwards_nothing_is_the_client() -> None:
    assert client_address(scope("10.0.0.1"), BEHIND_PROXIES) == "10.0.0.1"


def test_something_that_is_no_address_is_never_trusted() -> None:
    assert client_address(scope("10.0.0.1", "198.51.100.1, bogus"), BEHIND_PROXIES) == "bogus"


def test_a_request_or_its_scope_alike() -> None:
    request = Request(scope("10.0.0.1", "203.0.113.7"))
    assert client_address(request, BEHIND_PROXIES) == client_address(request.scope, BEHIND_PROXIES)
    assert client_address(scope(None), NO_PROXIES) == "unknown"


def test_the_setting_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARKEN_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")
    assert [str(n) for n in Settings().trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
