"""`harken ledger export` writes an org's chain for an auditor, and `harken ledger verify-export`
checks it with nothing but the hub's public keys: an untouched export verifies, from the first entry or
from any later one; a changed, dropped or reordered line, or a stretch cut short of its signed end,
fails and names the first bad entry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from harken.cli import app as cli
from harken.config import Settings
from harken.consent import service as consent_service
from harken.consent.schemas import ConsentPut, Status
from harken.db import make_session_factory, session_scope
from harken.ledger import keys
from harken.ledger import service as ledger_service
from harken.ledger.chain import Entry
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.subjects import service as subject_service
from harken.subjects import tokens, vault
from tests.conftest import Database
from tests.factories import T0, FixedClock

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def harken(fresh_database: Database, tmp_path: Path) -> Run:
    """12 consent changes on Skyway's chain, a minute apart from T0 + 1 min (checkpoints every 5
    entries); and Rival Rail's chain beside it. Returns the CLI, run against that database."""
    settings = Settings(database_url=fresh_database.url, data_dir=tmp_path / "data", checkpoint_every=5)
    notary = Notary(keys.load_or_create(settings.keys_dir), settings.checkpoint_every)
    clock = FixedClock()
    with session_scope(make_session_factory(fresh_database.engine)) as session:
        vault.bind(session, tokens.load_or_create_secret(settings.data_dir / "secret"))
        for name, changes in (("Skyway Airlines", 12), ("Rival Rail", 6)):
            org, _ = org_service.create(session, name=name, now=T0)
            for n in range(changes):
                ref = f"cust-{n % 3}"
                subject_service.register(session, org=org, ref=ref, now=clock())
                consent_service.record(
                    session,
                    org=org,
                    ref=ref,
                    purpose="marketing",
                    change=ConsentPut(status=Status.granted if n % 2 else Status.withdrawn, channels=[]),
                    notary=notary,
                    now=clock.advance(minutes=1),
                )
    (tmp_path / "jwks.json").write_text(json.dumps(keys.load(settings.keys_dir).jwks()))
    env = {
        "HARKEN_DATABASE_URL": settings.database_url,
        "HARKEN_DATA_DIR": str(settings.data_dir),
        "HARKEN_CHECKPOINT_EVERY": "5",
    }

    def run(*arguments: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["ledger", *arguments], env=env)
        return result.exit_code, result.output + result.stderr + (
            repr(result.exception) if result.exception else ""
        )

    return run


def export(harken: Run, tmp_path: Path, *options: str) -> list[str]:
    out = tmp_path / "export.jsonl"
    code, said = harken("export", "--org", "Skyway Airlines", "-o", str(out), *options)
    assert code == 0, said
    return out.read_text().splitlines(keepends=True)


def verify(harken: Run, tmp_path: Path, lines: list[str]) -> tuple[int, str]:
    (tmp_path / "audit.jsonl").write_text("".join(lines))
    code, said = harken("verify-export", str(tmp_path / "audit.jsonl"), "--jwks", str(tmp_path / "jwks.json"))
    return code, " ".join(said.split())


def kinds(lines: list[str]) -> list[tuple[str, int]]:
    return [(kind, item[kind]["seq"]) for item in map(json.loads, lines[1:]) for kind in item]


def test_a_whole_chain_exports_through_its_last_checkpoint_and_verifies(harken: Run, tmp_path: Path) -> None:
    lines = export(harken, tmp_path)
    head = json.loads(lines[0])
    assert head["chain"].startswith("org:") and head["after"] == {"seq": 0, "hash": "0" * 64}
    assert head["through"] == 10  # 11 and 12 are not under a signature yet
    assert kinds(lines) == [
        *[("entry", n) for n in range(1, 6)],
        ("checkpoint", 5),
        *[("entry", n) for n in range(6, 11)],
        ("checkpoint", 10),
    ]
    assert verify(harken, tmp_path, lines) == (
        0,
        f"The export verifies: {head['chain']}, 10 entries through entry 10, 2 signed checkpoints.",
    )
    # Once checkpointed, the rest is exported too.
    assert harken("checkpoint")[0] == 0
    lines = export(harken, tmp_path)
    assert json.loads(lines[0])["through"] == 12 and kinds(lines)[-1] == ("checkpoint", 12)
    assert verify(harken, tmp_path, lines)[0] == 0


@pytest.mark.parametrize(
    ("since", "first"),
    [("4", 4), ("2026-11-02T08:17:00+00:00", 7), ("2026-11-02T08:17:30", 8), ("2026-11-02", 1)],
)
def test_since_a_sequence_number_or_a_time(harken: Run, tmp_path: Path, since: str, first: int) -> None:
    lines = export(harken, tmp_path, "--since", since)
    assert kinds(lines)[0] == ("entry", first)
    assert json.loads(lines[0])["after"]["seq"] == first - 1
    assert verify(harken, tmp_path, lines)[0] == 0


def test_a_time_is_found_past_the_last_checkpoint_signed_before_it(
    harken: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries 1 to 5 were signed at 08:15, before 08:17 less a minute's skew: the search starts at 6."""
    starts: list[int] = []
    every = ledger_service.entries

    def entries(session: Session, chain_id: str, **stretch: Any) -> Iterator[Entry]:
        starts.append(stretch.get("after", 0))
        return every(session, chain_id, **stretch)

    monkeypatch.setattr(ledger_service, "entries", entries)
    lines = export(harken, tmp_path, "--since", "2026-11-02T08:17:00+00:00")
    assert kinds(lines)[0] == ("entry", 7)
    assert starts[0] == 5
    assert verify(harken, tmp_path, lines)[0] == 0


def _body(line: str, change: Callable[[str], str]) -> str:
    item = json.loads(line)
    item["entry"]["body"] = change(item["entry"]["body"])
    return json.dumps(item) + "\n"


def _anchor(line: str, hash: str) -> str:
    head = json.loads(line)
    head["after"]["hash"] = hash
    return json.dumps(head) + "\n"


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (
            lambda ls: [*ls[:4], _body(ls[4], lambda b: b.replace('"granted"', '"denied"')), *ls[5:]],
            "entry 4 was altered",
        ),
        (lambda ls: [*ls[:3], *ls[4:]], "entry 3 is missing"),
        (lambda ls: [*ls[:3], ls[4], ls[3], *ls[5:]], "entry 3 is missing (next stored entry is 4)"),
        (lambda ls: ls[:-2], "no signed checkpoint at entry 10"),  # cut short of its signed end
        (lambda ls: [_anchor(ls[0], "1" * 64), *ls[1:]], "entry 4 does not link to entry 3"),
        (lambda ls: [*ls[:-1], ls[-1].replace('"jws":"ey', '"jws":"ez')], "checkpoint at entry 10"),
    ],
    ids=["changed", "dropped", "reordered", "cut-short", "re-anchored", "forged-signature"],
)
def test_a_tampered_export_fails_naming_the_first_bad_entry(
    harken: Run, tmp_path: Path, tamper: Callable[[list[str]], list[str]], named: str
) -> None:
    lines = export(harken, tmp_path, "--since", "4" if "does not link" in named else "1")
    code, said = verify(harken, tmp_path, tamper(lines))
    assert code == 1 and named in said, said


def test_what_is_not_an_export_or_not_yet_signed_is_refused(harken: Run, tmp_path: Path) -> None:
    code, said = verify(harken, tmp_path, ['{"entries": []}\n'])
    assert code == 1 and "is not a ledger export" in said
    code, said = harken("export", "--org", "Skyway Airlines", "--since", "11")
    assert code == 1 and "run `harken ledger checkpoint` first" in " ".join(said.split())
    code, said = harken("export", "--org", "Nobody", "--since", "1")
    assert code == 1 and "no org named 'Nobody'" in said
    code, said = harken("export", "--org", "Skyway Airlines", "--since", "last tuesday")
    assert code == 2 and "neither a sequence number nor" in " ".join(said.replace("│", " ").split())
