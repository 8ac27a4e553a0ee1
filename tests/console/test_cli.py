"""`harken staff`: the operator adds, lists and removes an org's console accounts."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from harken.cli import app as cli
from tests.conftest import Database


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env | {"COLUMNS": "200"})
    return result.exit_code, result.output


def test_the_operator_adds_lists_and_removes_staff(fresh_database: Database, tmp_path: Path) -> None:
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path)}
    assert run(env, "org", "create", "Blue Door Books")[0] == 0
    code, output = run(
        env, "staff", "add", "--org", "Blue Door Books", "--email", "Ana@BlueDoor.test", "--role", "admin"
    )
    assert code == 0 and "ana@bluedoor.test is now admin of Blue Door Books's console" in output, output
    assert run(env, "staff", "add", "--org", "Blue Door Books", "--email", "vic@bluedoor.test")[0] == 0
    code, output = run(env, "staff", "add", "--org", "Blue Door Books", "--email", "vic@bluedoor.test")
    assert code == 1 and "on Blue Door Books's staff already" in output
    code, output = run(
        env, "staff", "add", "--org", "Blue Door Books", "--email", "x@y.test", "--role", "owner"
    )
    assert code == 1 and "role: admin or viewer" in output
    code, output = run(env, "staff", "add", "--org", "Nobody", "--email", "x@y.test")
    assert code == 1 and "no org named 'Nobody'" in output

    code, listing = run(env, "staff", "list", "--org", "Blue Door Books")
    assert code == 0 and "ana@bluedoor.test" in listing and "viewer" in listing
    code, output = run(env, "staff", "remove", "--org", "Blue Door Books", "--email", "ana@bluedoor.test")
    assert code == 1 and "last admin" in output
    assert run(env, "staff", "remove", "--org", "Blue Door Books", "--email", "vic@bluedoor.test")[0] == 0
    code, listing = run(env, "staff", "list", "--org", "Blue Door Books")
    vic = next(line for line in listing.splitlines() if "vic@bluedoor.test" in line)
    assert len(re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", vic)) == 2  # added and removed, each dated
    code, verified = run(env, "ledger", "verify")
    assert code == 0, verified
