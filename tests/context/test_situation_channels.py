"""Which channels suit which situation, as the engine gets it: the customer's word beats what an org
observed or inferred; a declaration the asking org was not shared only closes channels, never opens
one — measured against the org's own view, or Harken's defaults when it has none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from harken.context.models import CENTRE
from harken.context.service import StoredFact
from harken.decisions.gates import FITTING_CHANNELS
from harken.decisions.readmodel import engine_facts
from harken.decisions.snapshot import DECLARED, INFERRED, OBSERVED, Fact, resolve

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ORG, OTHER = uuid.uuid4(), uuid.uuid4()


def _row(situation: str, channels: list[str], provenance: str, source: str, minutes: int = 0) -> StoredFact:
    return StoredFact(
        f"situation_channels:{situation}",
        provenance,
        source,
        {"channels": channels},
        None,
        NOW - timedelta(minutes=minutes),
    )


def _for(org: uuid.UUID | None, *rows: StoredFact, shared: bool = False) -> dict[str, frozenset[str]]:
    return dict(resolve(engine_facts(rows, org_id=org, shared=shared), (), NOW).situation_channels)


def test_declared_beats_observed_and_inferred_whatever_came_later() -> None:
    rows = (
        _row("commuting", ["email"], DECLARED, str(ORG), minutes=60),
        _row("commuting", ["sms", "push"], OBSERVED, str(ORG)),
        _row("work", ["push"], INFERRED, str(ORG), minutes=5),
        _row("work", ["email", "push"], OBSERVED, str(ORG), minutes=30),
    )
    assert _for(ORG, *rows) == {"commuting": frozenset({"email"}), "work": frozenset({"email", "push"})}
    profile = resolve(engine_facts(rows[:1], org_id=ORG, shared=False), (), NOW)
    assert profile.provenance["situation_channels"] == DECLARED


def test_a_situation_the_customer_left_alone_is_absent_so_the_defaults_apply() -> None:
    assert _for(ORG) == {}
    assert _for(ORG, _row("home", ["email"], DECLARED, str(ORG))) == {"home": frozenset({"email"})}


def test_an_unshared_declaration_closes_channels_and_never_opens_one() -> None:
    # Told to the centre, not shared with ORG: "commuting: push and email" against the default
    # (email, post) leaves email only — push, closed by default, stays closed.
    said = _row("commuting", ["push", "email"], DECLARED, CENTRE)
    assert FITTING_CHANNELS["commuting"] == {"email", "post"}
    assert _for(ORG, said) == {"commuting": frozenset({"email"})}
    # Shared with ORG, it is the customer's own word: push opens.
    assert _for(ORG, said, shared=True) == {"commuting": frozenset({"push", "email"})}
    # Against what ORG observed, it only narrows it.
    observed = _row("commuting", ["sms", "email", "post"], OBSERVED, str(ORG))
    assert _for(ORG, observed, said) == {"commuting": frozenset({"email"})}
    # "none suits" closes every channel, shared or not.
    nothing = _row("work", [], DECLARED, CENTRE)
    assert _for(ORG, nothing) == {"work": frozenset()}


def test_another_org_s_observations_and_what_was_told_only_to_it_never_reach_this_one() -> None:
    rows = (
        _row("out", ["sms"], OBSERVED, str(OTHER)),
        _row("home", ["phone"], DECLARED, str(OTHER)),
    )
    assert _for(ORG, *rows) == {}
    assert _for(ORG, *rows, shared=True) == {"home": frozenset({"phone"})}  # declared, shared: its own word
    assert _for(None, *rows) == {"out": frozenset({"sms"}), "home": frozenset({"phone"})}  # the customer


def test_expired_facts_say_nothing() -> None:
    gone = Fact("situation_channels:work", {"channels": ["email"]}, DECLARED, NOW, NOW - timedelta(seconds=1))
    assert resolve([gone], (), NOW).situation_channels == {}
