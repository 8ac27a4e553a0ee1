from __future__ import annotations

import typer
from rich.table import Table

from harken.clock import system_clock
from harken.console import console, fail, open_store
from harken.db import session_scope
from harken.errors import Invalid
from harken.orgs import service as org_service

app = typer.Typer(help="Orgs (tenants) and their API keys.", no_args_is_help=True)


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
def new_key(name: str = typer.Argument(..., help="The org's name.")) -> None:
    """Issue one more API key for an org (printed once)."""
    with open_store() as store, session_scope(store.sessions) as session:
        org = org_service.by_name(session, name)
        if org is None:
            fail(f"no org named {name!r}")
        key = org_service.issue_key(session, org=org, now=system_clock())
    print(key)
