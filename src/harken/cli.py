"""The `harken` command: one Typer sub-app per domain, mounted here."""

from __future__ import annotations

import os

import typer
from rich.table import Table

from harken import config, schema
from harken.consent.cli import app as import_app
from harken.console.cli import app as staff_app
from harken.credentials.cli import app as credential_app
from harken.learning.cli import app as learn_app
from harken.ledger.cli import app as ledger_app
from harken.ledger.cli import receipt_app
from harken.observe import metrics
from harken.orgs.cli import app as org_app
from harken.terminal import console, fail, open_store
from harken.webhooks import cli as webhooks_cli

app = typer.Typer(help="Harken: ask your customers, don't guess.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Settings (HARKEN_* environment variables).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(ledger_app, name="ledger")
app.add_typer(receipt_app, name="receipt")
app.add_typer(config_app, name="config")
app.add_typer(import_app, name="import")
app.add_typer(credential_app, name="credential")
app.add_typer(learn_app, name="learn")
app.add_typer(staff_app, name="staff")
app.command("worker")(webhooks_cli.run)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes (each with its own connection pool)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Start the HTTP API (docs at /docs). Refuses an unmigrated or newer-schema database."""
    import uvicorn

    with open_store():  # exits with the one-line reason if the schema is not this Harken's
        pass
    os.environ.setdefault("HARKEN_PUBLIC_URL", f"http://{host}:{port}")
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, and would hand the app
    # whatever address a local client claims. Only the proxies the operator named are believed, by
    # the same rule as harken.edge.address (so the app's own reading of the header agrees).
    proxies = ",".join(str(network) for network in config.Settings().trusted_proxies)
    # Several workers add their metrics up in files in one directory (harken.observe.metrics), new for
    # this run (or the operator's PROMETHEUS_MULTIPROC_DIR, emptied): files left by an earlier run would
    # count again. One worker keeps its metrics in memory, unless the operator named a directory.
    shared = workers > 1 or bool(os.environ.get(metrics.MULTIPROC))
    directory, ours = metrics.multiprocess_dir(os.environ.get(metrics.MULTIPROC)) if shared else (None, False)
    if directory is not None:
        os.environ[metrics.MULTIPROC] = str(directory)  # read by each worker as it starts
    try:
        uvicorn.run(
            "harken.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,  # the hub logs each request itself (harken.observe), without its path
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
    finally:
        if directory is not None and ours:
            metrics.remove_dir(directory)


@app.command()
def demo() -> None:
    """Load the demo orgs, customers, notices and consents (idempotent) and print fresh demo API keys."""
    from harken.demo import load

    with open_store() as store:
        issued = load(store)
    for org, key in issued.items():
        print(f"  {org:<24} API key: {key}")  # plain print: a key must never be wrapped


@app.command("mcp")
def mcp_stdio(
    url: str = typer.Option(..., envvar="HARKEN_URL", help="The hub, e.g. https://harken.example.org."),
    token: str = typer.Option(
        ...,
        envvar="HARKEN_TOKEN",
        help="A token /v1/me accepts (the verified person's `hp_…`).",
        show_default=False,
    ),
) -> None:
    """Serve the person's powers to an AI assistant as MCP tools over stdio: each tool is one /v1/me call
    to the hub with this token, so the assistant may do exactly what the token may."""
    from harken.mcp import stdio

    stdio.run(url, token)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to this Harken's schema (creating it if needed)."""
    with open_store(migrated=False) as store:
        url = store.engine.url.render_as_string(hide_password=True)
        try:
            before, after = schema.upgrade(store.engine)
        except Exception as exc:  # a clear line for the operator, not a traceback
            fail(f"migration failed: {exc}")
    console.print(
        f"{url}: schema {before or 'empty'} → {after}" if before != after else f"{url}: already at {after}"
    )


@config_app.command("show")
def config_show() -> None:
    """Every setting, its current value and what it does."""
    table = Table("variable", "value", "meaning")
    for name, value, description in config.describe():
        table.add_row(name, value, description)
    console.print(table)


def main() -> None:
    app()
