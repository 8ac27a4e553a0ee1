"""`harken learn`: train an org's model on demand, list its versions, make one live, set what an opt-out
costs. (`harken learn evaluate` estimates a version's value offline; promotion reads what it found.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from harken.clock import system_clock
from harken.db import session_scope
from harken.errors import HarkenError
from harken.learning import forgetting, offline, rewards, service, serving, settings
from harken.learning.models import LearningModel
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.terminal import console, fail, open_store

app = typer.Typer(
    help="Learning: each org's model, trained from its decisions and feedback.", no_args_is_help=True
)

ORG = typer.Option(..., "--org", help="The org's name.")


@contextmanager
def _unit() -> Iterator[Session]:
    """One transaction on the configured store; a refusal ends the command with its reason."""
    with open_store() as store:
        try:
            with session_scope(store.sessions) as session:
                yield session
        except HarkenError as exc:
            fail(exc.detail)


def _org(session: Session, name: str) -> Org:
    org = org_service.by_name(session, name)
    if org is None:
        fail(f"no org named {name!r}")
    return org


@app.command("train")
def train(
    org_name: str = ORG,
    settled_hours: float = typer.Option(
        rewards.SETTLED.total_seconds() / 3600,
        "--settled-hours",
        min=0,
        help="Learn only from decisions at least this old: time for their feedback to arrive.",
    ),
    from_scratch: bool = typer.Option(
        False, "--from-scratch", help="A fresh model from the whole log, instead of the latest one continued."
    ),
) -> None:
    """Train a new version of the org's model from the decisions it has not learned from (not live until
    promoted). After an erasure, a rebuild from the whole remaining log instead, which forgets the older
    versions (and takes the live one's place, if one of them was live)."""
    settled = timedelta(hours=settled_hours)
    with open_store() as store, session_scope(store.sessions) as session:
        org = _org(session, org_name)
        now = system_clock()
        rebuild = forgetting.rebuild_due(session, org) is not None
        since = rewards.BEGINNING if from_scratch else None
        total = service.pending(session, org, now=now, settled=settled, since=since)
        if total == 0 and not rebuild:
            console.print(f"{org.name}: nothing new to learn from.", highlight=False)
            return
        columns = (TextColumn("rebuilding" if rebuild else "training"), BarColumn(), MofNCompleteColumn())
        counts = rewards.Progress()

        def tell(count: int) -> None:
            if count % 256 == 0 or count == total:
                bar.update(task, completed=count)

        started = time.perf_counter()
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task("train", total=total)
            model = service.train(
                session,
                org,
                clock=lambda: now,
                since=since,
                settled=settled,
                on_example=tell,
                progress=counts,
            )
        seconds = time.perf_counter() - started
        live = model is not None and model.live
    if counts.rebuilt:
        _forgotten(org_name, counts.forgotten)
    if model is None:
        console.print(f"{org_name}: nothing new to learn from.", highlight=False)
        return
    learned = counts.examples
    skipped = f"; {counts.skipped:,} unreadable logged choice(s) skipped" if counts.skipped else ""
    console.print(
        f"{org_name}: version {model.version} learned from {learned:,} decisions{skipped} "
        f"({model.examples:,} in all) in {seconds:.1f} s, {learned / max(seconds, 1e-9):,.0f} events/s; "
        + (
            "live in place of the forgotten live version."
            if live
            else f"not live until `harken learn promote --org {org_name!r} --version {model.version}`."
        ),
        highlight=False,
    )


def _forgotten(org_name: str, versions: list[int]) -> None:
    named = ", ".join(map(str, versions)) if versions else "none"
    console.print(
        f"{org_name}: rebuilt from the whole log after an erasure; versions forgotten: {named}.",
        highlight=False,
    )


@app.command("models")
def models(org_name: str = ORG) -> None:
    """The org's model versions, newest first: which is live, what each learned from, its evaluation, and
    which were forgotten after an erasure (history only: their model is gone)."""
    with open_store() as store, session_scope(store.sessions) as session:
        org = _org(session, org_name)
        rows = service.models(session, org)
        current = service.current_policy(session, org)
        table = Table("version", "state", "created", "trained through", "examples", "size", "evaluation")
        for row in rows:
            table.add_row(
                str(row.version),
                "live" if row.live else _when_forgotten(row),
                row.created_at.strftime("%Y-%m-%d %H:%M"),
                row.trained_through.strftime("%Y-%m-%d %H:%M:%S"),
                f"{row.examples:,}",
                f"{len(row.model):,} B" if row.model is not None else "-",
                json.dumps(row.metrics, sort_keys=True) if row.metrics else "not evaluated",
            )
        due = forgetting.rebuild_due(session, org) is not None
    console.print(table)
    console.print(f"In force: {current}.", highlight=False)
    if due:
        console.print(
            "An erasure removed decisions these versions learned from: the next training rebuilds.",
            highlight=False,
        )


def _when_forgotten(row: LearningModel) -> str:
    at = row.forgotten_at
    return f"forgotten {at:%Y-%m-%d %H:%M}" if at is not None else ""


@app.command("evaluate")
def evaluate(
    org_name: str = ORG,
    version: int | None = typer.Option(
        None, "--version", min=1, help="The version to judge (default: the latest)."
    ),
) -> None:
    """Estimate, from the org's own log, what a version would have earned against the policy in force
    (IPS, SNIPS, doubly robust, 95% intervals); promotion without --force reads the verdict."""
    with _unit() as session:
        model = offline.evaluate_version(
            session, _org(session, org_name), clock=system_clock, version=version
        )
        found, name = dict(model.metrics or {}), model.scorer_name
    table = Table("estimator", f"{name} (candidate)", f"{found['against']} (in force)")
    for estimator in ("ips", "snips", "dr"):
        cells = []
        for side in ("candidate", "current"):
            e = found[side][estimator]
            cells.append(f"{e['value']:.4f}  [{e['low']:.4f}, {e['high']:.4f}]")
        table.add_row(estimator.upper(), *cells)
    console.print(table)
    verdict = "beats" if found["beats_current"] else "does not beat"
    console.print(
        f"Over {found['rounds']:,} settled decisions, {name} {verdict} {found['against']}"
        " (DR lower bound against its estimate).",
        highlight=False,
    )


@app.command("promote")
def promote(
    org_name: str = ORG,
    version: int = typer.Option(..., "--version", min=1, help="The version to make live."),
    force: bool = typer.Option(
        False, "--force", help="Even without an evaluation showing it beats the policy in force."
    ),
) -> None:
    """Make a version the org's live model: its decisions are scored by it from then on."""
    with _unit() as session:
        model = service.promote(session, _org(session, org_name), version=version, force=force)
        name = model.scorer_name
    console.print(f"{org_name}: {name} is live.", highlight=False)


@app.command("explore")
def explore(
    org_name: str = ORG,
    cap: float | None = typer.Option(
        None, "--cap", help="The largest share of decisions that may explore, 0 to 0.5 (default 0: never)."
    ),
) -> None:
    """Show, or set, how far the org's decisions may try what the rules or the model would not choose —
    within each customer's own "surprise me" (0: never for them), never past a gate, never sensitive."""
    with _unit() as session:
        org = _org(session, org_name)
        if cap is not None:
            settings.set_explore_cap(session, org, cap, now=system_clock())
        value = serving.policy(session, org)[1]
    console.print(f"{org_name}: at most {value:.0%} of decisions explore.", highlight=False)


@app.command("penalty")
def penalty(
    org_name: str = ORG,
    reward: float | None = typer.Option(
        None, "--opted-out-reward", help="What an opt-out counts as, from -100 to 0 (default -1)."
    ),
) -> None:
    """Show, or set, what a customer opting out after a decision costs the org's model."""
    with _unit() as session:
        org = _org(session, org_name)
        if reward is not None:
            settings.set_opted_out_reward(session, org, reward, now=system_clock())
        value = settings.opted_out_reward(session, org)
    console.print(f"{org_name}: an opt-out counts as {value:g}.", highlight=False)
