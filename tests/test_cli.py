"""The operator's commands: orgs and keys, demo data, settings, and offline receipt verification."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from harken.cli import app as cli
from tests.conftest import Database
from tests.live import LiveHub, serve


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env | {"COLUMNS": "200"})
    return result.exit_code, result.output


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
