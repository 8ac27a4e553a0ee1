"""`harken staff`: the operator's side of console accounts — who may sign in to an org's console."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from harken.clock import system_clock
from harken.console import service as staff_service
from harken.db import session_scope
from harken.errors import HarkenError
from harken.ledger import keys as ledger_keys
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.terminal import console, fail, open_store

app = typer.Typer(help="Staff accounts for an org's console (/console).", no_args_is_help=True)

T = TypeVar("T")
ORG = typer.Option(..., "--org", help="The org's name (see `harken org list`).")
EMAIL = typer.Option(..., "--email", help="The staff member's email address: their sign-in links go there.")


@app.command("add")
def add(
    org: str = ORG,
    email: str = EMAIL,
    role: str = typer.Option("viewer", "--role", help="admin (may change things) or viewer (reads only)."),
) -> None:
    """Give someone an account on an org's console; they sign in at /console with a mailed link."""

    def work(session: Session, found: Org, notary: Notary, now: datetime) -> str:
        staff = staff_service.add(
            session, org=found, email=email, role=role, by="operator", notary=notary, now=now
        )
        return f"{staff.email} is now {staff.role} of {found.name}'s console ({staff.id})."

    console.print(_change(org, work), highlight=False)


@app.command("list")
def list_staff(org: str = ORG) -> None:
    """An org's staff accounts, removed ones included."""
    with open_store() as store, session_scope(store.sessions) as session:
        found = staff_service.listed(session, org=_org(session, org), include_disabled=True)
    table = Table("email", "role", "id", "added", "removed")
    for staff in found:
        removed = staff.disabled_at.strftime("%Y-%m-%d %H:%M") if staff.disabled_at else ""
        table.add_row(
            staff.email, staff.role, str(staff.id), staff.created_at.strftime("%Y-%m-%d %H:%M"), removed
        )
    console.print(table)


@app.command("remove")
def remove(org: str = ORG, email: str = EMAIL) -> None:
    """Take someone's console account away: their sessions end at once."""

    def work(session: Session, found: Org, notary: Notary, now: datetime) -> str:
        staff = staff_service.by_email(session, org=found, email=email)
        staff_service.remove(session, org=found, staff=staff, by="operator", notary=notary, now=now)
        return f"{staff.email} can no longer sign in to {found.name}'s console."

    console.print(_change(org, work), highlight=False)


def _change(name: str, work: Callable[[Session, Org, Notary, datetime], T]) -> T:
    """One unit of work for the org named `name`; a refusal is one line."""
    with open_store() as store:
        notary = Notary(ledger_keys.load_or_create(store.settings.keys_dir), store.settings.checkpoint_every)
        try:
            with session_scope(store.sessions) as session:
                return work(session, _org(session, name), notary, system_clock())
        except HarkenError as exc:
            fail(exc.detail)


def _org(session: Session, name: str) -> Org:
    org = org_service.by_name(session, name)
    if org is None:
        fail(f"no org named {name!r} (see `harken org list`)")
    return org
