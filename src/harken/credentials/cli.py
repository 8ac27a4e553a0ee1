"""`harken credential`: a verifier off the hub checks a presentation with only the hub's JWKS (and, for
revocation, a saved status list token); a holder makes a wallet key and presents a credential."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from rich.table import Table

from harken.credentials import sdjwt, statuslist
from harken.credentials.problems import PROBLEMS
from harken.credentials.sdjwt import CredentialProblem
from harken.jws import JWSProblem, PublicKey, jwk_of, keys_from_jwks
from harken.terminal import console, fail

app = typer.Typer(help="Portable credentials (SD-JWT VCs): verify offline, or present as the holder.")


@app.command("verify")
def verify(
    presentation: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="The presentation: <JWT>~<disclosures>~<KB-JWT>."
    ),
    jwks: Path = typer.Option(
        ..., exists=True, dir_okay=False, help="The hub's public keys, as /.well-known/jwks.json gave them."
    ),
    audience: str = typer.Option(..., help="Who you are: the audience the holder bound the presentation to."),
    nonce: str = typer.Option(..., help="The nonce you gave the holder for this presentation."),
    status_list: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="The credential's status list token, as its status.status_list.uri gave it.",
    ),
    now: datetime | None = typer.Option(None, help="Verify as of this time (default: now)."),
) -> None:
    """Verify a presentation offline, with only the hub's public keys; print what it discloses.

    Exits 1 with the problem and its reason if it does not verify. Without --status-list, whether the
    credential was revoked is not checked.
    """
    moment = int((now.astimezone(UTC) if now else datetime.now(UTC)).timestamp())
    try:
        keys: dict[str | None, PublicKey] = dict(keys_from_jwks(json.loads(jwks.read_text())).items())
    except (ValueError, KeyError, TypeError, RecursionError, JWSProblem) as exc:
        fail(f"not a JWKS as the hub gives it: {exc}")
    try:
        verified = sdjwt.verify(
            presentation.read_text().strip(), keys=keys, now=moment, audience=audience, nonce=nonce
        )
        if status_list:
            statuslist.check(
                verified.claims, status_token=status_list.read_text().strip(), keys=keys, now=moment
            )
    except CredentialProblem as problem:
        fail(f"{PROBLEMS[problem.code][0]}: {problem}")
    _print(verified)
    if not status_list:
        console.print("[yellow]Not checked whether it was revoked:[/] give --status-list.")


@app.command("key")
def key(
    file: Path = typer.Argument(..., dir_okay=False, help="Where to write the new private key (PEM)."),
) -> None:
    """Make a wallet key (Ed25519) and print its public JWK: the holder_jwk to ask a credential for."""
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{file} exists already")
    private = Ed25519PrivateKey.generate()
    with os.fdopen(fd, "wb") as out:
        out.write(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    console.print_json(data=jwk_of(private.public_key()))


@app.command("present")
def present(
    credential: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="The credential as POST /v1/me/credentials gave it."
    ),
    key: Path = typer.Option(
        ...,
        exists=True,
        dir_okay=False,
        help="The wallet's private key (PEM), as `harken credential key` made it.",
    ),
    disclose: list[str] = typer.Option(
        ..., help="A claim to show, by path (trip.arrives_at); repeat for more."
    ),
    audience: str = typer.Option(..., help="The verifier's audience."),
    nonce: str = typer.Option(..., help="The verifier's nonce."),
) -> None:
    """Print a presentation of the credential showing only the --disclose claims.

    Bound with the wallet's key to the verifier's audience and nonce.
    """
    private = load_pem_private_key(key.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        fail(f"{key} is not an Ed25519 private key")
    try:
        shown = sdjwt.present(
            credential.read_text().strip(),
            disclose=disclose,
            holder_key=private,
            audience=audience,
            nonce=nonce,
            iat=int(datetime.now(UTC).timestamp()),
        )
    except CredentialProblem as problem:
        fail(str(problem))
    print(shown)  # plain: a token to pipe or save, never wrapped


def _print(verified: sdjwt.Verified) -> None:
    claims = verified.claims
    expires = datetime.fromtimestamp(claims["exp"], UTC).isoformat() if "exp" in claims else "never"
    console.print(
        f"[bold green]Valid credential[/] {claims.get('vct')} from {claims.get('iss')}, expires {expires}"
    )
    table = Table("disclosed claim", "value")
    shown = {name: value for name, value in claims.items() if name not in sdjwt.ALWAYS_VISIBLE}
    for path, value in _leaves(shown, ""):
        table.add_row(path, json.dumps(value, ensure_ascii=False))
    console.print(table)


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    """Each member of nested objects by its dotted path; arrays and scalars as they are."""
    if not isinstance(value, dict) or not value:
        return [(path, value)]
    return [
        leaf for name, member in value.items() for leaf in _leaves(member, f"{path}.{name}" if path else name)
    ]
