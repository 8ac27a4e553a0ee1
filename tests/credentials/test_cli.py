"""`harken credential`: a business off the hub verifies a presentation with only the JWKS (and a saved status
list token); the holder makes a wallet key and presents with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from harken.cli import app as cli
from harken.credentials import sdjwt
from harken.jws import b64url, jwk_of
from tests.factories import T0, FixedClock
from tests.stories.conftest import Business, Customer

AUDIENCE, NONCE = "https://bistro.example", "n-0S6_WzA2Mj"
ARRIVAL = "2026-11-02T21:40:00+01:00"


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def sam(business: Callable[[str], Business], verified: Callable[[str], Customer]) -> Customer:
    """Sam as the verified person: only they may have credentials issued."""
    business("Skyway Airlines").customer("sam", email="sam@example.com")
    return verified("sam@example.com")


@pytest.fixture
def jwks(sam: Customer, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(sam.call("GET", "/.well-known/jwks.json")))
    return path


def issue(
    sam: Customer, holder_jwk: dict[str, Any], expires_at: str = "2026-11-09T12:00:00Z"
) -> dict[str, Any]:
    body = {
        "trip": {"flight": "LH903", "arrives_at": ARRIVAL},
        "fields": ["trip.flight", "trip.arrives_at"],
        "expires_at": expires_at,
        "holder_jwk": holder_jwk,
    }
    issued: dict[str, Any] = sam.call("POST", "/v1/me/credentials", body)
    return issued


def presented(credential: str, wallet: Ed25519PrivateKey, tmp_path: Path, audience: str = AUDIENCE) -> Path:
    path = tmp_path / "presentation.txt"
    path.write_text(
        sdjwt.present(
            credential,
            disclose=["trip.arrives_at"],
            holder_key=wallet,
            audience=audience,
            nonce=NONCE,
            iat=int(T0.timestamp()),
        )
    )
    return path


def verify(presentation: Path, jwks: Path, *extra: str | Path) -> tuple[int, str]:
    return run(
        "credential", "verify", presentation, "--jwks", jwks, "--audience", AUDIENCE, "--nonce", NONCE,
        "--now", T0.isoformat(), *extra,
    )  # fmt: skip


def test_a_presentation_verifies_offline_showing_only_what_was_disclosed(
    sam: Customer, wallet: Ed25519PrivateKey, jwks: Path, tmp_path: Path
) -> None:
    issued = issue(sam, jwk_of(wallet.public_key()))
    code, output = verify(presented(issued["credential"], wallet, tmp_path), jwks)
    assert code == 0, output
    assert "Valid credential" in output and "trip.arrives_at" in output and ARRIVAL in output
    assert "LH903" not in output and "Not checked whether it was revoked" in output


def test_an_altered_disclosure_fails_naming_the_problem(
    sam: Customer, wallet: Ed25519PrivateKey, jwks: Path, tmp_path: Path
) -> None:
    issued = issue(sam, jwk_of(wallet.public_key()))
    path = presented(issued["credential"], wallet, tmp_path)
    arrival = sdjwt.disclosures(issued["credential"])["trip.arrives_at"].encoded
    altered = b64url(json.dumps([sdjwt.new_salt(), "arrives_at", "2026-11-02T18:00:00+01:00"]).encode())
    path.write_text(path.read_text().replace(arrival, altered))
    code, output = verify(path, jwks)
    assert code == 1 and "credential-tampered" in output and "Valid" not in output


def test_revocation_is_read_from_the_saved_status_list(
    sam: Customer, wallet: Ed25519PrivateKey, jwks: Path, tmp_path: Path
) -> None:
    issued = issue(sam, jwk_of(wallet.public_key()))
    presentation = presented(issued["credential"], wallet, tmp_path)
    status_path = issued["status"]["uri"].removeprefix("http://127.0.0.1:8000")
    saved = tmp_path / "status.jwt"
    saved.write_text(sam.client.get(status_path).text)
    code, output = verify(presentation, jwks, "--status-list", saved)
    assert code == 0 and "Not checked" not in output, output

    sam.call("DELETE", f"/v1/me/credentials/{issued['id']}")
    saved.write_text(sam.client.get(status_path).text)
    code, output = verify(presentation, jwks, "--status-list", saved)
    assert code == 1 and "credential-revoked" in output


def test_another_audience_an_expired_credential_and_a_foreign_jwks_fail(
    sam: Customer, wallet: Ed25519PrivateKey, jwks: Path, tmp_path: Path
) -> None:
    issued = issue(sam, jwk_of(wallet.public_key()))
    elsewhere = presented(issued["credential"], wallet, tmp_path, audience="https://other.example")
    assert "credential-wrong-audience" in verify(elsewhere, jwks)[1]
    presentation = presented(issued["credential"], wallet, tmp_path)
    code, output = verify(presentation, jwks, "--now", "2026-11-10T00:00:00+00:00")
    assert code == 1 and "credential-expired" in output
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"keys": []}))
    code, output = verify(presentation, foreign)
    assert code == 1 and "credential-unknown-key" in output
    foreign.write_text("not json")
    code, output = verify(presentation, foreign)
    assert code == 1 and "not a JWKS" in output


def test_the_holder_makes_a_wallet_key_and_presents_with_it(
    business: Callable[[str], Business],
    verified: Callable[[str], Customer],
    tmp_path: Path,
    clock: FixedClock,
) -> None:
    clock.now = datetime.now(UTC)  # `present` and `verify` below read the real clock
    business("Skyway Airlines").customer("sam", email="sam@example.com")
    sam = verified("sam@example.com")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(sam.call("GET", "/.well-known/jwks.json")))
    wallet = tmp_path / "wallet.pem"
    code, output = run("credential", "key", wallet)
    assert code == 0, output
    assert wallet.stat().st_mode & 0o077 == 0
    issued = issue(sam, json.loads(output), expires_at=(clock.now + timedelta(days=1)).isoformat())
    credential = tmp_path / "credential.txt"
    credential.write_text(issued["credential"])
    code, output = run(
        "credential", "present", credential, "--key", wallet, "--disclose", "trip.flight",
        "--audience", AUDIENCE, "--nonce", NONCE,
    )  # fmt: skip
    assert code == 0, output
    presentation = tmp_path / "presentation.txt"
    presentation.write_text(output)
    code, output = run(
        "credential", "verify", presentation, "--jwks", jwks, "--audience", AUDIENCE, "--nonce", NONCE
    )
    assert code == 0 and "LH903" in output and ARRIVAL not in output, output
    assert run("credential", "key", wallet)[0] == 1  # never overwrites a key
