"""The operator's commands: orgs and keys, demo data, settings, and offline receipt verification."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from harken.cli import app as cli
from tests.conftest import Database
from tests.live import LiveHub, serve


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env | {"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.mark.slow  # real server processes
def test_org_create_prints_a_working_key_once_and_list_shows_no_secret(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path)}
    code, output = run(env, "org", "create", "Skyway Airlines")
    assert code == 0, output
    key = output.strip().splitlines()[-1]
    assert key.startswith("hk_")
    code, output = run(env, "org", "create", "skyway airlines")
    assert code == 1 and "exists already" in output
    code, listing = run(env, "org", "list")
    assert "Skyway Airlines" in listing and key not in listing and key[3:20] not in listing
    with serve(fresh_database.url, tmp_path) as hub:
        assert (
            httpx.put(f"{hub.url}/v1/subjects/c1", headers={"Authorization": f"Bearer {key}"}).status_code
            == 201
        )


@pytest.mark.slow  # real server processes
def test_demo_loads_once_and_issues_keys_that_read_the_demo_consents(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path)}
    assert run(env, "demo")[0] == 0
    code, output = run(env, "demo")
    assert code == 0
    keys = [line.split("API key:")[1].strip() for line in output.splitlines() if "API key:" in line]
    assert len(keys) == 3
    code, verified = run(env, "ledger", "verify")
    assert code == 0 and "The ledger verifies." in verified
    with serve(fresh_database.url, tmp_path) as hub:
        state = httpx.get(
            f"{hub.url}/v1/subjects/reader-priya/consents", headers={"Authorization": f"Bearer {keys[2]}"}
        ).json()
        assert [c["purpose"] for c in state["consents"]] == ["personalised-offers"]


def test_config_show_documents_every_setting() -> None:
    code, output = run({}, "config", "show")
    assert code == 0
    for variable in ("HARKEN_DATABASE_URL", "HARKEN_DATA_DIR", "HARKEN_CHECKPOINT_EVERY"):
        assert variable in output


def test_receipt_verify_rejects_what_is_not_a_receipt(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("not json")
    (tmp_path / "k.json").write_text(json.dumps({"keys": []}))
    code, output = run({}, "receipt", "verify", str(tmp_path / "r.json"), "--jwks", str(tmp_path / "k.json"))
    assert code == 1 and "not a receipt" in output


@pytest.mark.slow  # real server processes
def test_a_receipt_from_another_hub_does_not_verify(
    hub_pair: tuple[LiveHub, LiveHub], tmp_path: Path
) -> None:
    ours, theirs = hub_pair
    client = theirs.create_org("Bean There Coffee")
    client.put("/v1/subjects/c1").raise_for_status()
    record = client.put("/v1/subjects/c1/consents/marketing", json={"status": "granted"}).json()
    (tmp_path / "r.json").write_text(client.get(record["receipt"]).text)
    (tmp_path / "k.json").write_text(httpx.get(f"{ours.url}/.well-known/jwks.json").text)
    code, output = run({}, "receipt", "verify", str(tmp_path / "r.json"), "--jwks", str(tmp_path / "k.json"))
    assert code == 1 and "unknown signing key" in " ".join(output.split())


def test_ledger_verify_without_the_hubs_keys_fails_and_creates_none(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path / "elsewhere")}
    code, output = run(env, "ledger", "verify")
    assert code == 1 and "no signing keys" in " ".join(output.split())
    assert not any((tmp_path / "elsewhere").rglob("*.pem"))


@pytest.mark.slow  # real server processes
def test_org_keys_rotate_and_revoke_take_effect_on_a_running_hubs_next_call(
    fresh_database: Database, tmp_path: Path
) -> None:
    """The operator lists an org's keys (prefixes, never keys), rotates one with a grace period (both
    work until it ends), revokes by the key itself or its prefix (refused on the next call), and keeps
    the last live key unless told --allow-last; each change is in the org's chain, which verifies."""
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path)}
    first = run(env, "org", "create", "Skyway Airlines")[1].strip().splitlines()[-1]
    code, output = run(env, "org", "key", "Skyway Airlines")
    assert code == 0
    second = output.strip()
    code, listing = run(env, "org", "keys", "Skyway Airlines")
    assert code == 0 and first[:10] in listing and second[:10] in listing
    assert first[10:] not in listing and second[10:] not in listing
    code, output = run(env, "org", "rotate", "Skyway Airlines", first[:10], "--grace", "1h")
    assert code == 0 and "stops working at" in output, output
    third = output.strip().splitlines()[-1]
    assert "expiring" in run(env, "org", "keys", "Skyway Airlines")[1]
    with serve(fresh_database.url, tmp_path) as hub:

        def works(key: str) -> bool:
            status = httpx.put(f"{hub.url}/v1/subjects/c1", headers={"Authorization": f"Bearer {key}"})
            assert status.status_code in (200, 201, 401), status.text
            return status.status_code != 401

        assert works(first) and works(second) and works(third)
        assert run(env, "org", "revoke", "Skyway Airlines", first)[0] == 0
        assert not works(first)
        assert run(env, "org", "revoke", "Skyway Airlines", second[:10])[0] == 0
        assert not works(second)
        code, output = run(env, "org", "revoke", "Skyway Airlines", third[:10])
        assert code == 1 and "last live API key" in output
        assert works(third)
        assert run(env, "org", "revoke", "Skyway Airlines", third[:10], "--allow-last")[0] == 0
        assert not works(third)
    assert run(env, "org", "list")[1].count(" 0 ") >= 1
    code, verified = run(env, "ledger", "verify")
    assert code == 0 and "6 entries" in verified, verified  # issued, rotated (2), revoked (3)


def test_org_rotate_refuses_a_grace_it_cannot_read_or_longer_than_7_days(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path)}
    key = run(env, "org", "create", "Skyway Airlines")[1].strip().splitlines()[-1]
    for grace, says in (("a day", "such as 90s"), ("8d", "from 0 to 7 days")):
        code, output = run(env, "org", "rotate", "Skyway Airlines", key[:10], "--grace", grace)
        assert code == 1 and says in output, output
    code, output = run(env, "org", "rotate", "Bean There Coffee", key[:10])
    assert code == 1 and "no org named" in output
    assert "live" in run(env, "org", "keys", "Skyway Airlines")[1]
