from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from harken.clock import system_clock
from harken.db import session_scope
from harken.errors import HarkenError, Invalid
from harken.ledger import keys as ledger_keys
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.orgs.models import ApiKey, Org
from harken.terminal import Store, console, fail, open_store

app = typer.Typer(help="Orgs (tenants) and their API keys.", no_args_is_help=True)

T = TypeVar("T")

ORG = typer.Argument(..., help="The org's name.")
KEY = typer.Argument(
    ..., help="The key: its id, its prefix as `harken org keys` prints it, or the key itself."
)


@app.command("create")
def create(name: str = typer.Argument(..., help="The business's name, unique on this hub.")) -> None:
    """Create an org and print its API key, once: only its hash is kept."""
    with open_store() as store:
        try:
            with session_scope(store.sessions) as session:
                org, key = org_service.create(session, name=name, now=system_clock())
        except Invalid as exc:
            fail(exc.detail)
    console.print(f"Created org [bold]{org.name}[/] ({org.id}).")
    console.print("API key (shown once, keep it safe):")
    print(key)


@app.command("list")
def list_orgs() -> None:
    """Every org with its number of live API keys."""
    with open_store() as store, session_scope(store.sessions) as session:
        rows = org_service.all_orgs(session)
    table = Table("name", "id", "created", "live keys")
    for org, keys in rows:
        table.add_row(org.name, str(org.id), org.created_at.strftime("%Y-%m-%d %H:%M"), str(keys))
    console.print(table)


@app.command("key")
def new_key(name: str = ORG) -> None:
    """Issue one more API key for an org (printed once)."""

    def work(session: Session, org: Org, notary: Notary, now: datetime) -> tuple[ApiKey, str]:
        return org_service.issue_key(session, org=org, by="operator", notary=notary, now=now)

    print(_change(name, work)[1])


@app.command("keys")
def list_keys(name: str = ORG) -> None:
    """An org's API keys, live and revoked: id, prefix, created, and when each stops (stopped) working."""
    now = system_clock()
    with open_store() as store, session_scope(store.sessions) as session:
        found = org_service.keys(session, org=_org(session, name))
    table = Table("id", "prefix", "created", "revoked", "status")
    for key in found:
        revoked = _when(key.revoked_at) if key.revoked_at else ""
        table.add_row(str(key.id), key.prefix, _when(key.created_at), revoked, org_service.status(key, now))
    console.print(table)


@app.command("revoke")
def revoke(
    name: str = ORG,
    key: str = KEY,
    allow_last: bool = typer.Option(
        False, "--allow-last", help="Revoke it even if it is the org's last key."
    ),
) -> None:
    """Revoke an API key now: the next call with it is refused."""

    def work(session: Session, org: Org, notary: Notary, now: datetime) -> ApiKey:
        found = org_service.find_key(session, org=org, named=key)
        return org_service.revoke_key(
            session, org=org, key_id=found.id, by="operator", notary=notary, now=now, allow_last=allow_last
        )

    revoked = _change(name, work)
    console.print(f"Revoked {revoked.prefix}… ({revoked.id}).")


@app.command("rotate")
def rotate(
    name: str = ORG,
    key: str = KEY,
    grace: str = typer.Option("0", "--grace", help="How long the old key keeps working: 90s, 30m, 24h, 7d."),
) -> None:
    """Issue a new API key (printed once) and revoke the old one, at once or after a grace period."""
    period = _duration(grace)

    def work(session: Session, org: Org, notary: Notary, now: datetime) -> tuple[ApiKey, str]:
        found = org_service.find_key(session, org=org, named=key)
        return org_service.rotate_key(
            session, org=org, key_id=found.id, by="operator", notary=notary, now=now, grace=period
        )

    new, clear = _change(name, work)
    ends = f"at {_when(new.created_at + period)} UTC" if period else "now"
    console.print(f"New key {new.prefix}… ({new.id}); the old key stops working {ends}.")
    console.print("API key (shown once, keep it safe):")
    print(clear)


def _change(name: str, work: Callable[[Session, Org, Notary, datetime], T]) -> T:
    """Do a key change for the org named `name` in one unit of work; its rule's refusal is one line."""
    with open_store() as store:
        try:
            with session_scope(store.sessions) as session:
                return work(session, _org(session, name), _notary(store), system_clock())
        except HarkenError as exc:
            fail(exc.detail)


def _org(session: Session, name: str) -> Org:
    org = org_service.by_name(session, name)
    if org is None:
        fail(f"no org named {name!r} (see `harken org list`)")
    return org


def _notary(store: Store) -> Notary:
    return Notary(ledger_keys.load_or_create(store.settings.keys_dir), store.settings.checkpoint_every)


_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d{1,7})([smhd]?)", text.strip())
    if match is None:
        fail(f"--grace {text!r}: a number and a unit, such as 90s, 30m, 24h or 7d")
    return timedelta(**{_UNITS[match[2] or "s"]: int(match[1])})


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")
