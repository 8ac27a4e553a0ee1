"""Webhook destinations (SSRF): a hub refuses to send webhooks inside its own network — loopback,
private, link-local (cloud metadata), shared, multicast, reserved — in any spelling of the address, at
subscription and again at delivery against what the name resolves to then, connecting to exactly the
address it checked; redirects are not followed, and the deliveries list maps nothing of the network."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from ipaddress import IPv4Network, ip_address

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from harken.app import create_app
from harken.config import Settings
from harken.webhooks.destinations import REFUSED, Destinations, refusal, url_refusal
from harken.webhooks.models import Endpoint
from tests.factories import FixedClock
from tests.receiver import Receiver, receiving
from tests.stories.conftest import Business
from tests.webhooks.conftest import Worker, subscribe

INSIDE = [  # every spelling an attacker has tried for somewhere inside
    "http://127.0.0.1/",
    "http://127.0.0.1:8000/v1/webhooks",
    "http://2130706433/",  # decimal
    "http://0x7f.1/",  # hex, shortened
    "http://0x7f000001/",
    "http://017700000001/",  # octal
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:7f00:1]/",
    "http://[2002:7f00:1::]/",  # 6to4 around loopback
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around the metadata service
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/",  # AWS's IPv6 metadata service: unique local
    "http://100.100.100.200/",  # Alibaba's metadata service: shared address space
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://198.18.0.1/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://hooks.localhost:8080/",
    "https://user:password@hooks.example.com/",  # credentials, stored and sent in the clear
    "https://token@hooks.example.com/",
]
OUTSIDE = [
    "https://hooks.example.com/harken",  # names are checked at delivery, against what they resolve to
    "https://xn--ls8h.la/hooks",  # punycode that does not decode back under IDNA 2008
    "http://93.184.216.34/hooks",
    "https://[2606:4700:4700::1111]/hooks",
    "http://8.8.8.8:8080/",
]


@pytest.mark.parametrize("url", INSIDE)
def test_a_url_inside_is_refused_as_written(url: str) -> None:
    assert url_refusal(url) is not None


@pytest.mark.parametrize("url", OUTSIDE)
def test_a_public_url_is_accepted(url: str) -> None:
    assert url_refusal(url) is None


def test_the_operator_may_allow_a_network_and_only_that() -> None:
    loopback = (IPv4Network("127.0.0.0/8"),)
    assert url_refusal("http://127.0.0.1:9000/hooks", loopback) is None
    assert url_refusal("http://2130706433/", loopback) is None
    assert url_refusal("http://localhost:9000/", loopback) is None
    assert url_refusal("http://169.254.169.254/", loopback) is not None
    assert url_refusal("http://10.0.0.1/", loopback) is not None
    assert url_refusal("http://user:pw@127.0.0.1/", loopback) is not None


def test_each_refusal_says_why() -> None:
    assert refusal(ip_address("127.0.0.1")) == "loopback"
    assert refusal(ip_address("::ffff:127.0.0.1")) == "loopback"
    assert refusal(ip_address("169.254.169.254")) == "link-local, where cloud metadata services answer"
    assert refusal(ip_address("100.64.0.1")) == "shared address space (carrier-grade NAT)"
    assert refusal(ip_address("fd00::1")) == "unique local"
    assert refusal(ip_address("::7f00:1")) == "not global unicast"  # IPv4-compatible, deprecated
    assert refusal(ip_address("8.8.8.8")) is None
    assert url_refusal("http://0x7f.1/") == "0x7f.1 is not a public address (loopback)"
    assert url_refusal("http://localhost/") == "localhost is this machine"


@pytest.fixture
def strict(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: FixedClock, session: Session
) -> Callable[[str], Business]:
    """Businesses on a hub with the default webhook settings: no network allowed beyond the public ones
    (and the suite's rate limits: the whole session's failed authentications share its counter)."""
    default = settings.model_copy(update={"webhook_allowed_networks": []})
    assert Settings().webhook_allowed_networks == []
    client = TestClient(create_app(default, engine=engine, sessions=sessions, clock=clock))
    return lambda name: Business(client, session, name)


@pytest.mark.parametrize("url", INSIDE)
def test_subscribing_inside_is_a_422_naming_the_url(strict: Callable[[str], Business], url: str) -> None:
    shop = strict("Chapter & Verse")
    problem = shop.call("POST", "/v1/webhooks", {"url": url, "events": ["consent.updated"]}, status=422)
    [error] = problem["errors"]
    assert error["field"] == "url" and error["message"], problem
    assert shop.call("GET", "/v1/webhooks") == []


def test_subscribing_to_a_public_url_or_a_name_is_accepted(strict: Callable[[str], Business]) -> None:
    shop = strict("Chapter & Verse")
    for url in OUTSIDE:
        shop.call("POST", "/v1/webhooks", {"url": url, "events": ["consent.updated"]}, status=201)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port on this machine that would accept a connection, and remembers whether one came."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def _untouched(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return True
    return False


def test_a_delivery_inside_fails_without_connecting(
    business: Callable[[str], Business], deliver: Worker, listener: socket.socket
) -> None:
    # Subscribed while the operator allowed loopback (or before this check, or a name that resolved
    # elsewhere then): the hub now allows nothing but public addresses.
    shop = business("Chapter & Verse")
    subscribe(shop, f"http://127.0.0.1:{listener.getsockname()[1]}/hooks", ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    strict = replace(deliver, destinations=Destinations())
    assert strict.run() == 1
    [delivery] = shop.call("GET", "/v1/webhooks/deliveries")
    assert delivery["status"] == "pending"
    [attempt] = delivery["attempts"]
    assert (attempt["status_code"], attempt["error"], attempt["duration_ms"]) == (None, REFUSED, 0)
    assert _untouched(listener)


def test_the_deliveries_list_is_no_port_scanner(
    business: Callable[[str], Business],
    deliver: Worker,
    listener: socket.socket,
    sessions: sessionmaker[Session],
) -> None:
    """Toward refused destinations an open port, a closed one, an unroutable address and a name that
    does not resolve all read the same: no status, one reason, no time."""
    with socket.create_server(("127.0.0.1", 0)) as closing:
        closed = closing.getsockname()[1]
    open_port = listener.getsockname()[1]
    shop = business("Chapter & Verse")
    targets = [f"http://127.0.0.1:{open_port}/", f"http://127.0.0.1:{closed}/", "http://127.0.0.2:81/"]
    for url in targets:
        subscribe(shop, url, ["consent.updated"])
    with sessions() as raw:  # written before the check existed
        raw.execute(update(Endpoint).where(Endpoint.url == targets[2]).values(url="http://10.255.255.1:22/"))
        raw.commit()
    subscribe(shop, "http://internal-admin.corp.invalid:8080/", ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    strict = replace(deliver, destinations=Destinations())
    assert strict.run() == 4
    seen = {
        (d["status"], a["status_code"], a["error"], a["duration_ms"])
        for d in shop.call("GET", "/v1/webhooks/deliveries")
        for a in d["attempts"]
    }
    assert seen == {("pending", None, REFUSED, 0)}
    assert _untouched(listener)


def test_a_name_is_checked_against_every_address_it_resolves_to(
    business: Callable[[str], Business], deliver: Worker, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    answers = {
        "metadata.attacker.example": ["169.254.169.254"],
        "mixed.attacker.example": ["93.184.216.34", "127.0.0.1"],  # one good record among bad
        "mapped.attacker.example": ["::ffff:127.0.0.1"],
    }
    shop = business("Chapter & Verse")
    for name in answers:
        subscribe(shop, f"http://{name}:{port}/", ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    strict = replace(deliver, destinations=Destinations(resolve=lambda host, _: answers[host]))
    assert strict.run() == 3
    errors = [a["error"] for d in shop.call("GET", "/v1/webhooks/deliveries") for a in d["attempts"]]
    assert errors == [REFUSED] * 3
    assert _untouched(listener)


def test_dns_rebinding_meets_the_address_that_was_checked(
    business: Callable[[str], Business], deliver: Worker, receiver: Receiver
) -> None:
    """The name is resolved once per connection and that address is the one connected to: a resolver
    that answers a permitted address, then an internal one, never gets the second used. The name stays
    in `Host` (and would in SNI)."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    asked: list[str] = []

    def rebinding(host: str, _port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"] if len(asked) == 1 else ["10.0.0.5"]

    shop = business("Chapter & Verse")
    secret = subscribe(shop, f"http://hooks.rebind.example:{port}/hooks", ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    assert replace(deliver, destinations=replace(deliver.destinations, resolve=rebinding)).run() == 1
    assert asked == ["hooks.rebind.example"]
    [(headers, _, _)] = receiver.received
    assert headers["host"] == f"hooks.rebind.example:{port}"
    assert [e["data"]["ref"] for _, e in receiver.events(secret)] == ["priya"]


def test_a_redirect_is_not_followed(
    business: Callable[[str], Business], deliver: Worker, receiver: Receiver, clock: FixedClock
) -> None:
    with receiving(clock) as inside:
        shop = business("Chapter & Verse")
        subscribe(shop, receiver.url, ["consent.updated"])
        receiver.script, receiver.headers = [307], {"location": inside.url}
        shop.customer("priya", grant={"marketing": ["email"]})
        deliver.run()
        assert inside.received == []
    [delivery] = shop.call("GET", "/v1/webhooks/deliveries")
    assert delivery["status"] == "pending"
    assert [a["status_code"] for a in delivery["attempts"]] == [307]


def test_a_failed_attempt_records_the_kind_of_failure_not_the_transports_words(
    business: Callable[[str], Business], deliver: Worker
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closing:
        closed = closing.getsockname()[1]
    shop = business("Chapter & Verse")
    subscribe(shop, f"http://127.0.0.1:{closed}/hooks", ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    deliver.run()
    [delivery] = shop.call("GET", "/v1/webhooks/deliveries")
    assert [a["error"] for a in delivery["attempts"]] == [
        "ConnectError"
    ]  # not "[Errno 111] Connection refused"
