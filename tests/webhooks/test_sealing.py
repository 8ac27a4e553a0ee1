"""Endpoint signing secrets at rest: sealed under the hub's key and bound to their endpoint, so the
database alone signs nothing; secrets stored in plaintext before migration 0013 still sign, and are
sealed by the worker when it starts or first meets them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from harken.webhooks import sealing, signing
from harken.webhooks.models import Endpoint
from tests.receiver import Receiver
from tests.stories.conftest import Business
from tests.webhooks.conftest import Worker, subscribe


def _stored(session: Session) -> dict[uuid.UUID, str]:
    session.expire_all()
    return {id: secret for id, secret in session.execute(select(Endpoint.id, Endpoint.secret))}


def test_a_new_secret_is_stored_sealed_and_still_signs(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker, session: Session
) -> None:
    shop = business("Chapter & Verse")
    secret = subscribe(shop, receiver.url, ["consent.updated"])
    [(endpoint_id, stored)] = _stored(session).items()
    assert stored.startswith(sealing.SEALED) and secret not in stored
    assert secret.removeprefix(signing.SECRET_PREFIX) not in stored
    assert sealing.unseal(session, endpoint_id, stored) == secret
    shop.customer("priya", grant={"marketing": ["email"]})
    deliver.run()
    assert [e["data"]["ref"] for _, e in receiver.events(secret)] == ["priya"]


def test_a_sealed_secret_opens_only_for_its_endpoint_and_with_the_hubs_key(
    business: Callable[[str], Business], receiver: Receiver, session: Session
) -> None:
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, ["consent.updated"])
    subscribe(shop, receiver.url, ["share.updated"])
    (first, sealed), (second, _) = _stored(session).items()
    with pytest.raises(InvalidTag):  # copied onto another endpoint
        sealing.unseal(session, second, sealed)
    session.info.pop("harken.secret")
    with pytest.raises(RuntimeError):
        sealing.unseal(session, first, sealed)


def test_a_plaintext_secret_from_before_0013_signs_and_is_sealed_on_first_use(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker, session: Session
) -> None:
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, ["consent.updated"])
    old = signing.new_secret()
    session.execute(update(Endpoint).values(secret=old))  # as migration 0013 leaves an older row
    session.commit()
    shop.customer("priya", grant={"marketing": ["email"]})
    deliver.run()
    assert [e["data"]["ref"] for _, e in receiver.events(old)] == ["priya"]
    [(endpoint_id, stored)] = _stored(session).items()
    assert stored.startswith(sealing.SEALED) and sealing.unseal(session, endpoint_id, stored) == old


def test_the_worker_seals_every_plaintext_secret_when_it_starts(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker, session: Session
) -> None:
    shop = business("Chapter & Verse")
    for events in (["consent.updated"], ["share.updated"], ["subject.erased"]):
        subscribe(shop, receiver.url, events)
    before = _stored(session)
    sealed_id, *plain_ids = before
    olds = {id: signing.new_secret() for id in plain_ids}
    for id, old in olds.items():
        session.execute(update(Endpoint).where(Endpoint.id == id).values(secret=old))
    session.commit()
    assert deliver.unit(sealing.seal_plaintext) == 2  # what `harken worker` does first
    stored = _stored(session)
    assert all(s.startswith(sealing.SEALED) for s in stored.values())
    assert stored[sealed_id] == before[sealed_id]  # what was sealed is left as it was
    assert {id: sealing.unseal(session, id, stored[id]) for id in plain_ids} == olds
    assert deliver.unit(sealing.seal_plaintext) == 0
