from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import sys
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from multiprocessing.context import BaseContext
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from harken import jws
from harken.clock import rfc3339, system_clock
from harken.consent import proof
from harken.db import readonly, session_scope
from harken.ledger import chain, export, keys, witness
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerCheckpoint, LedgerEntry
from harken.ledger.receipts import ReceiptProblem, verify_proof, verify_receipt
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.subjects import tokens, vault
from harken.terminal import console, errors, fail, open_store

app = typer.Typer(help="The tamper-evident ledger.", no_args_is_help=True)
receipt_app = typer.Typer(help="Consent receipts.", no_args_is_help=True)


@app.command("verify")
def verify(
    witness_file: Path | None = typer.Option(
        None,
        "--witness",
        exists=True,
        dir_okay=False,
        help="Signed heads kept outside this database (JSON array or JSON lines, as the ledger.checkpoint"
        " webhook or GET /v1/ledger/heads gave them): the database must still hold each, at its seq.",
    ),
) -> None:
    """Walk every chain and its signed checkpoints (one must exist every HARKEN_CHECKPOINT_EVERY entries),
    then check each consent record against its entry (and, where the hub's secret is, that the record's
    sealed evidence opens to the digest it names). With --witness, also check each chain against heads
    kept elsewhere: only they catch a rewrite of the database done consistently, checkpoints included.

    Names the first bad entry of each chain; exits 1 if anything is wrong.
    """
    bad = 0
    try:
        kept = witness.read(witness_file.read_text()) if witness_file else []
    except (witness.WitnessProblem, UnicodeDecodeError) as exc:
        fail(f"{witness_file} is not a file of signed heads as the hub delivers them: {exc}")
    # The consent audit runs in a process of its own, beside the chain walk: each keeps a core busy. It is
    # started before this process opens the database, so that it inherits no connection.
    # Leaving early (a failure here, Ctrl-C) ends that process too.
    with _processes().Pool(1) as beside:
        audited = beside.apply_async(_audit)
        with (
            open_store() as store,
            session_scope(sessionmaker(readonly(store.engine))) as session,
            _progress() as progress,
        ):
            try:
                ring = keys.load(store.settings.keys_dir)
            except FileNotFoundError as exc:
                fail(str(exc))
            total = session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
            task = progress.add_task("verifying", total=total)
            for report in ledger_service.verify(
                session,
                keys=ring,
                every=store.settings.checkpoint_every,
                kept=kept,
                watch=lambda e: _counted(e, progress, task),
            ):
                if report.ok:
                    matched = f", {report.kept} kept heads matched" if witness_file else ""
                    progress.console.print(
                        f"[green]✓[/] {report.chain}: {report.entries} entries, {report.checkpoints} signed"
                        f" checkpoints{matched}"
                    )
                else:
                    bad += 1
                    progress.console.print(
                        f"[red]✗[/] {report.chain}: first bad entry {report.bad_seq}: {report.problem}"
                    )
            progress.update(task, description="checking consent records against their entries")
            for finding in audited.get():
                bad += 1
                progress.console.print(f"[red]✗[/] {finding.chain}: entry {finding.seq}: {finding.problem}")
    if bad:
        raise typer.Exit(1)
    console.print(
        f"[bold green]The ledger verifies{f', against {len(kept)} kept heads' if witness_file else ''}.[/]"
    )


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign the head of every chain that moved since its last checkpoint."""
    with open_store() as store, session_scope(store.sessions) as session:
        notary = Notary(keys.load_or_create(store.settings.keys_dir), store.settings.checkpoint_every)
        made = ledger_service.checkpoint_all(session, notary=notary, at=system_clock())
    for cp in made:
        console.print(f"signed {cp.chain} at entry {cp.seq}")
    if not made:
        console.print("every chain's head is already checkpointed")


@app.command("export")
def export_chain(
    org_name: str = typer.Option(..., "--org", help="The org: its name or its id."),
    since: str = typer.Option(
        "1",
        "--since",
        help="Where to start: an entry's sequence number (1: the whole chain), or an ISO date or time"
        " (the first entry at or after it; a date is midnight UTC).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="Write to this file rather than to standard output."
    ),
) -> None:
    """Export an org's chain, from --since through its last signed checkpoint, as JSON Lines for an
    auditor: each entry as stored, each signed checkpoint after the entry it signs. `harken ledger
    verify-export FILE --jwks JWKS` checks it with nothing but the hub's public keys. Entries past the
    last checkpoint are left out: nothing signed covers them yet (`harken ledger checkpoint`)."""
    start = _since(since)
    with (
        open_store() as store,
        session_scope(sessionmaker(readonly(store.engine))) as session,
        _progress(errors) as progress,
    ):
        org = _org(session, org_name)
        signed = {cp.seq: cp for cp in ledger_service.checkpoints(session, org.chain)}
        through = max(signed, default=0)
        first = start if isinstance(start, int) else _first_at(session, org.chain, start, through)
        if first is None or first > through:
            fail(
                f"no entry of {org.name}'s chain from {since} is under a signed checkpoint"
                f" (the last is at entry {through}): run `harken ledger checkpoint` first"
            )
        before = session.get(LedgerEntry, (org.chain, first - 1)) if first > 1 else None
        if first > 1 and before is None:
            fail(f"entry {first - 1} of {org.name}'s chain is missing: run `harken ledger verify`")
        after = (first - 1, before.hash if before else chain.GENESIS)
        task = progress.add_task("exporting", total=through - after[0])
        with output.open("w", encoding="utf-8") if output else nullcontext(sys.stdout) as out:
            out.write(
                export.header(
                    chain_id=org.chain, after=after, through=through, exported_at=rfc3339(system_clock())
                )
            )
            stretch = ledger_service.entries(session, org.chain, after=after[0], through=through)
            out.writelines(export.lines(_counted(stretch, progress, task), signed))
        said = f"exported entries {first} to {through} of {org.name}'s chain ({org.chain})"
    errors.print(said)


@app.command("verify-export")
def verify_export(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A file `harken ledger export` wrote."
    ),
    jwks: Path = typer.Option(
        ...,
        exists=True,
        dir_okay=False,
        help="The hub's public keys, as GET /.well-known/jwks.json gave them.",
    ),
) -> None:
    """Verify an exported stretch of a chain offline, with only the hub's public keys; names the first
    bad entry and exits 1 if anything is wrong."""
    try:
        public = jws.keys_from_jwks(json.loads(jwks.read_text()))
        report = export.verify(lambda: _read_lines(file), public)
    except export.ExportProblem as exc:
        fail(f"{file} is not a ledger export: {exc}")
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"not a JWKS as the hub gives it: {exc}")
    if not report.ok:
        fail(f"{report.chain}: first bad entry {report.bad_seq}: {report.problem}")
    console.print(
        f"[bold green]The export verifies[/]: {report.chain}, {report.entries} entries through entry"
        f" {report.head_seq}, {report.checkpoints} signed checkpoints."
    )


def _read_lines(file: Path) -> Iterator[str]:
    with file.open(encoding="utf-8") as text:
        yield from text


def _since(value: str) -> int | datetime:
    if value.isdigit():
        if int(value) < 1:
            raise typer.BadParameter("a sequence number starts at 1", param_hint="--since")
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a sequence number nor an ISO date or time", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# How far apart the clocks of the processes that append to a chain may be, at most.
SKEW = timedelta(minutes=1)


def _first_at(session: Session, chain_id: str, since: datetime, through: int) -> int | None:
    """The seq of the chain's first entry stated at or after `since` (an entry's body opens with its `at`).

    Read from past the last checkpoint signed before `since` (less `SKEW`), not from entry 1: every entry
    a checkpoint covers was stated before the checkpoint was signed."""
    covered = session.scalar(
        select(func.max(LedgerCheckpoint.seq)).where(
            LedgerCheckpoint.chain == chain_id, LedgerCheckpoint.created_at < since - SKEW
        )
    )
    for entry in ledger_service.entries(session, chain_id, after=covered or 0, through=through):
        if datetime.fromisoformat(entry.body[7 : entry.body.index(b'"', 7)].decode()) >= since:
            return entry.seq
    return None


def _org(session: Session, name_or_id: str) -> Org:
    found = org_service.by_name(session, name_or_id)
    if found is None:
        with contextlib.suppress(ValueError):
            found = session.get(Org, uuid.UUID(name_or_id))
    if found is None:
        fail(f"no org named {name_or_id!r} (see `harken org list`)")
    return found


@receipt_app.command("verify")
def verify_receipt_file(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A receipt as GET /v1/receipts/{id} gave it."
    ),
    jwks: Path = typer.Option(
        ...,
        exists=True,
        dir_okay=False,
        help="The hub's public keys, as GET /.well-known/jwks.json gave them.",
    ),
    proof: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Also check the receipt's entry is in the signed ledger (GET /v1/receipts/{id}/proof).",
    ),
) -> None:
    """Verify a receipt offline, with only the hub's public key."""
    try:
        public = jws.keys_from_jwks(json.loads(jwks.read_text()))
        text = file.read_text().strip()
        saved = text if text.count(".") == 2 and not text.startswith("{") else json.loads(text)
        receipt = verify_receipt(saved, public)
        covered = verify_proof(receipt, json.loads(proof.read_text()), public) if proof else None
    except ReceiptProblem as exc:
        fail(f"the receipt does not verify: {exc}")
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"not a receipt, JWKS or proof as the hub gives them: {exc}")
    console.print(
        f"[bold green]Valid receipt[/] {receipt['record_id']}: {receipt['pii_controllers'][0]['party_name']} — "
        f"{receipt['purposes'][0]['purpose']} {receipt['consent_status']} at {receipt['events'][0]['event_time']} "
        f"(ledger {receipt['ledger']['chain']} #{receipt['ledger']['seq']})"
    )
    if covered is not None:
        console.print(f"[bold green]In the ledger[/]: under the hub's signed checkpoint at entry {covered}.")


def _audit() -> list[proof.AuditFinding]:
    """`proof.audit` over the configured database, in a read-only unit of work of its own; where the hub's
    secret is, each record's evidence is also opened and checked against its digest."""
    with open_store() as store, session_scope(sessionmaker(readonly(store.engine))) as session:
        secret = store.settings.data_dir / "secret"
        if secret.exists():
            vault.bind(session, tokens.load_or_create_secret(secret))
        return list(proof.audit(session))


def _processes() -> BaseContext:
    """Fork where there is one (the audit starts at once, with this process's settings and patches);
    a fresh interpreter elsewhere."""
    return multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )


def _progress(on: Console = console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=on,
        transient=True,
    )


def _counted(entries: Iterator[chain.Entry], progress: Progress, task: object) -> Iterator[chain.Entry]:
    while counted := list(itertools.islice(entries, 10_000)):
        yield from counted
        progress.advance(task, len(counted))  # type: ignore[arg-type]
