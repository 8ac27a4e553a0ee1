"""`harken import consents`: legacy rows become consent records with method import and their ledger
entries; bad rows are named and skipped, whole batches only are ever written, and a rerun continues
where the last one stopped."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from harken.cli import app as cli
from harken.clock import rfc3339
from harken.consent import batches, hashers, importer, proof
from harken.consent import service as consent_service
from harken.consent.cli import SOME_BAD
from harken.consent.importer import BadRow, ImportProblem, ImportSummary, import_consents
from harken.consent.models import ConsentRecord, CurrentConsent
from harken.db import COPY_FROM, make_session_factory, readonly, session_scope
from harken.ledger import keys
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerEntry
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects.models import Subject, SubjectRef
from tests.conftest import Database
from tests.factories import T0, FixedClock, auth, make_org

HEADER = "ref,purpose,status,channels,captured_at,expires_at,notice_version"


def legacy(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "legacy.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def run(
    sessions: sessionmaker[Session], org: Org, path: Path, notary: Notary, clock: FixedClock, **options: Any
) -> tuple[ImportSummary, list[BadRow]]:
    bad: list[BadRow] = []
    summary = import_consents(
        sessions, org=org, path=path, notary=notary, clock=clock, on_bad=bad.append, **options
    )
    return summary, bad


def assert_sound(session: Session, notary: Notary) -> None:
    """`harken ledger verify`'s two checks: every chain verifies, every record matches its entry."""
    reports = list(ledger_service.verify(session, keys=notary.keys, every=notary.checkpoint_every))
    assert reports and all(r.ok for r in reports), [r.problem for r in reports]
    assert list(proof.audit(session)) == []


def count(session: Session, model: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_good_rows_become_consent_records_with_method_import_readable_through_the_api(
    client: TestClient,
    session: Session,
    sessions: sessionmaker[Session],
    notary: Notary,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    org, key = make_org(session)
    path = legacy(
        tmp_path,
        "c1,marketing,granted,sms|email,2021-03-04T05:06:07Z,,",
        "c1,analytics,denied,,2019-01-01T00:00:00+02:00,,",
        "c2,marketing,withdrawn,,2022-05-06T07:08:09.123456Z,,",
        "c3,partner-sharing,granted,post; email,2024-01-01T00:00:00Z,2031-01-01T00:00:00Z,",
    )
    summary, bad = run(sessions, org, path, notary, clock)

    assert (summary.rows, summary.imported, summary.bad, bad) == (4, 4, 0, [])
    records = session.execute(select(ConsentRecord).order_by(ConsentRecord.seq)).scalars().all()
    assert [r.method for r in records] == ["import"] * 4
    assert [r.evidence for r in records] == [
        {"import": {"file_sha256": summary.file_sha256, "line": line}} for line in (2, 3, 4, 5)
    ]
    assert records[0].channels == ["email", "sms"] and records[3].channels == ["email", "post"]
    assert subject_service.find(session, org=org, ref="c3") is not None
    assert_sound(session, notary)

    state = client.get("/v1/subjects/c1/consents", headers=auth(key)).json()
    assert {c["purpose"]: (c["status"], c["channels"]) for c in state["consents"]} == {
        "analytics": ("denied", []),
        "marketing": ("granted", ["email", "sms"]),
    }
    marketing = next(c["record"] for c in state["consents"] if c["purpose"] == "marketing")
    assert marketing["method"] == "import"
    assert marketing["captured_at"].startswith("2021-03-04T05:06:07")
    assert client.get(marketing["receipt"], headers=auth(key)).status_code == 200
    expiring = client.get("/v1/subjects/c3/consents", headers=auth(key)).json()["consents"][0]
    assert expiring["record"]["expires_at"].startswith("2031-01-01")


def test_a_batch_of_new_customers_large_enough_for_a_bulk_insert_registers_each_as_a_person_of_its_own(
    session: Session, sessions: sessionmaker[Session], notary: Notary, clock: FixedClock, tmp_path: Path
) -> None:
    """Bulk inserts (COPY on PostgreSQL, executemany on SQLite) name every column: the subjects' link
    to a verified person and the refs' claimed email (migration 0011) too, both empty."""
    org, _ = make_org(session)
    many = COPY_FROM + 1
    path = legacy(tmp_path, *(f"c{n},marketing,granted,email,2021-03-04T05:06:07Z,," for n in range(many)))
    summary, bad = run(sessions, org, path, notary, clock, batch_size=many)
    assert (summary.imported, bad) == (many, [])
    subjects = session.execute(select(Subject.person_id, Subject.email_digest)).all()
    assert len(subjects) == many and set(subjects) == {(None, None)}
    assert set(session.execute(select(SubjectRef.claimed_email_digest)).scalars()) == {None}


def test_bad_rows_are_skipped_whole_and_named_by_line_and_reason(
    session: Session, sessions: sessionmaker[Session], notary: Notary, clock: FixedClock, tmp_path: Path
) -> None:
    org, _ = make_org(session)
    future = rfc3339(T0 + timedelta(days=1))
    path = legacy(
        tmp_path,
        "good-1,marketing,granted,email,2021-01-01T00:00:00Z,,",  # line 2
        "only-bad,newsletter,granted,email,2021-01-01T00:00:00Z,,",  # 3
        "good-1,marketing,maybe,email,2021-01-01T00:00:00Z,,",  # 4
        "good-1,marketing,granted,email|fax,2021-01-01T00:00:00Z,,",  # 5
        "good-1,marketing,granted,email|email,2021-01-01T00:00:00Z,,",  # 6
        "good-1,marketing,granted,email,03/04/2021,,",  # 7
        "good-1,marketing,granted,email,2021-01-01T00:00:00,,",  # 8
        f"good-1,marketing,granted,email,{future},,",  # 9
        "good-1,marketing,granted,email,2021-01-01T00:00:00Z,2020-01-01T00:00:00Z,",  # 10
        "good-1,marketing,granted,email,2021-01-01T00:00:00Z,,3",  # 11
        "good-1,marketing,granted,email,2021-01-01T00:00:00Z,,x",  # 12
        "has space,marketing,granted,email,2021-01-01T00:00:00Z,,",  # 13
        "good-1,marketing,granted",  # 14
        "",  # 15: a blank line is not a row
        '"good-2",marketing,denied,"email|',  # 16: a quoted field over two lines
        'sms",2021-01-01T00:00:00Z,,',  # 17
        "good-2,marketing,granted,email,1999-12-31T23:59:59Z,,",  # 18
        "good-3,analytics,denied,,2022-01-01T00:00:00Z,,",  # 19
    )
    summary, bad = run(sessions, org, path, notary, clock, batch_size=2)

    reasons = {row.line: row.reason for row in bad}
    assert list(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 18]
    for line, fragment in {
        3: "purpose 'newsletter' is not in the catalogue",
        4: "status 'maybe'",
        5: "channels 'fax'",
        6: "each channel at most once",
        7: "captured_at '03/04/2021': not an RFC 3339 time",
        8: "not an RFC 3339 time with an offset",
        9: "captured_at lies in the future",
        10: "expires_at must be later than captured_at",
        11: "the org has no notice version 3 for 'marketing'",
        12: "notice_version 'x'",
        13: "ref 'has space'",
        14: "3 fields where the header names 7",
        18: "captured_at",  # before 2000, like the API
    }.items():
        assert fragment in reasons[line], (line, reasons[line])
    assert bad[0].fields == ["only-bad", "newsletter", "granted", "email", "2021-01-01T00:00:00Z", "", ""]
    assert (summary.rows, summary.imported, summary.bad) == (16, 3, 13)
    assert count(session, ConsentRecord) == count(session, LedgerEntry) == 3
    assert subject_service.find(session, org=org, ref="only-bad") is None
    denied = (
        select(ConsentRecord.channels).where(ConsentRecord.status == "denied").order_by(ConsentRecord.seq)
    )
    assert session.execute(denied).scalars().all() == [
        ["email", "sms"],
        [],
    ]
    assert_sound(session, notary)


def test_a_file_without_the_columns_imports_nothing(
    session: Session, sessions: sessionmaker[Session], notary: Notary, clock: FixedClock, tmp_path: Path
) -> None:
    org, _ = make_org(session)
    for header, problem in [
        ("ref,purpose,status,captured_at", "missing channels"),
        (HEADER + ",email", "unknown email"),
        ("c1,marketing,granted,email,2021-01-01T00:00:00Z", "missing ref, purpose"),
    ]:
        path = legacy(tmp_path, "c1,marketing,granted,email,2021-01-01T00:00:00Z,,", header=header)
        with pytest.raises(ImportProblem, match=problem):
            run(sessions, org, path, notary, clock)
    assert count(session, ConsentRecord) == count(session, Subject) == 0


@pytest.mark.parametrize(("api_days_ago", "import_days_ago", "in_force"), [(1, 30, "api"), (30, 1, "import")])
def test_the_decision_captured_last_is_in_force_whether_imported_or_from_the_api(
    client: TestClient,
    session: Session,
    sessions: sessionmaker[Session],
    notary: Notary,
    clock: FixedClock,
    tmp_path: Path,
    api_days_ago: int,
    import_days_ago: int,
    in_force: str,
) -> None:
    org, key = make_org(session)
    client.put("/v1/subjects/c1", headers=auth(key)).raise_for_status()
    client.put(
        "/v1/subjects/c1/consents/marketing",
        headers=auth(key),
        json={
            "status": "granted",
            "channels": ["email"],
            "captured_at": rfc3339(T0 - timedelta(days=api_days_ago)),
        },
    ).raise_for_status()
    path = legacy(tmp_path, f"c1,marketing,withdrawn,,{rfc3339(T0 - timedelta(days=import_days_ago))},,")
    run(sessions, org, path, notary, clock)

    state = client.get("/v1/subjects/c1/consents", headers=auth(key)).json()["consents"]
    assert [(c["status"], c["record"]["method"]) for c in state] == [
        ("granted", "api") if in_force == "api" else ("withdrawn", "import")
    ]
    assert_sound(session, notary)


@pytest.mark.parametrize("batch_size", [1, 10])
def test_within_a_file_the_later_capture_wins_and_a_tie_goes_to_the_later_row(
    session: Session,
    sessions: sessionmaker[Session],
    notary: Notary,
    clock: FixedClock,
    tmp_path: Path,
    batch_size: int,
) -> None:
    org, _ = make_org(session)
    path = legacy(
        tmp_path,
        "c1,marketing,granted,email,2020-06-01T00:00:00Z,,",
        "c1,marketing,withdrawn,,2019-06-01T00:00:00Z,,",  # later row, earlier capture
        "c2,marketing,granted,email,2020-06-01T00:00:00Z,,",
        "c2,marketing,denied,,2020-06-01T02:00:00+02:00,,",  # the same instant: the later row wins
    )
    run(sessions, org, path, notary, clock, batch_size=batch_size)
    in_force = {
        ref: record.status
        for ref in ("c1", "c2")
        for record in consent_service.current(session, org=org, ref=ref)
    }
    assert in_force == {"c1": "granted", "c2": "denied"}
    assert count(session, CurrentConsent) == 2


def test_a_notice_version_must_exist_and_an_empty_one_names_no_notice(
    session: Session, sessions: sessionmaker[Session], notary: Notary, clock: FixedClock, tmp_path: Path
) -> None:
    org, _ = make_org(session)
    shown, _ = consent_service.put_notice(
        session, org=org, purpose="marketing", text="News?", locale="en", now=T0
    )
    session.commit()
    path = legacy(
        tmp_path,
        "c1,marketing,granted,email,2021-01-01T00:00:00Z,,1",
        "c2,marketing,granted,email,2021-01-01T00:00:00Z,,",
        "c3,marketing,granted,email,2021-01-01T00:00:00Z,,2",
    )
    _, bad = run(sessions, org, path, notary, clock)
    assert [b.line for b in bad] == [4]
    records = session.execute(select(ConsentRecord).order_by(ConsentRecord.seq)).scalars().all()
    assert [(r.notice_version, r.notice_sha256) for r in records] == [(1, shown.sha256), (None, None)]
    assert_sound(session, notary)


def test_a_rerun_of_a_finished_file_imports_nothing_and_reports_the_same_bad_rows(
    session: Session, sessions: sessionmaker[Session], notary: Notary, clock: FixedClock, tmp_path: Path
) -> None:
    org, _ = make_org(session)
    path = legacy(
        tmp_path,
        "c1,marketing,granted,email,2021-01-01T00:00:00Z,,",
        "c2,marketing,maybe,email,2021-01-01T00:00:00Z,,",
        "c3,marketing,granted,email,2021-01-01T00:00:00Z,,",
    )
    first, _ = run(sessions, org, path, notary, clock, batch_size=1)
    again, bad = run(sessions, org, path, notary, clock, batch_size=1)
    assert (first.imported, again.imported, again.earlier, [b.line for b in bad]) == (2, 0, 2, [3])
    assert count(session, ConsentRecord) == 2
    other = legacy(tmp_path, "c1,marketing,withdrawn,,2022-01-01T00:00:00Z,,", name="other.csv")
    assert run(sessions, org, other, notary, clock)[0].imported == 1  # another file is another import


def test_a_second_run_of_the_same_file_meanwhile_is_refused_and_nothing_is_imported_twice(
    session: Session, sessions: sessionmaker[Session], notary: Notary, clock: FixedClock, tmp_path: Path
) -> None:
    org, _ = make_org(session)
    path = legacy(tmp_path, *(f"c{n},marketing,granted,email,2021-01-01T00:00:00Z,," for n in range(8)))
    meanwhile: list[ImportSummary] = []

    def other_run(line: int, lines: int) -> None:
        if line and not meanwhile:  # after this run's first batch
            meanwhile.append(run(sessions, org, path, notary, clock)[0])

    with pytest.raises(ImportProblem, match="another import of this file reached line 9"):
        import_consents(
            sessions, org=org, path=path, notary=notary, clock=clock, batch_size=2, on_progress=other_run
        )
    assert (meanwhile[0].earlier, meanwhile[0].imported) == (2, 6)
    assert count(session, ConsentRecord) == 8
    assert_sound(session, notary)


def test_hasher_processes_make_the_same_ledger(
    session: Session, sessions: sessionmaker[Session], notary: Notary, clock: FixedClock, tmp_path: Path
) -> None:
    org, _ = make_org(session)
    path = legacy(
        tmp_path,
        *(
            f"c{n % 9},{('marketing', 'analytics')[n % 2]},granted,,2021-01-01T00:00:{n:02d}Z,,"
            for n in range(40)
        ),
    )
    summary, _ = run(sessions, org, path, notary, clock, batch_size=7, workers=2)
    assert (summary.imported, summary.batches) == (40, 6)
    assert count(session, LedgerEntry) == 40
    assert_sound(session, notary)


@pytest.fixture
def committed(fresh_database: Database, tmp_path: Path) -> tuple[sessionmaker[Session], Org, Notary]:
    sessions = make_session_factory(fresh_database.engine)
    with session_scope(sessions) as session:
        org, _ = org_service.create(session, name="Skyway Airlines", now=T0)
    return sessions, org, Notary(keys.load_or_create(tmp_path / "data" / "keys"), 5)


def test_a_failure_inside_a_batch_leaves_none_of_it_and_the_next_run_continues_after_the_last_batch(
    committed: tuple[sessionmaker[Session], Org, Notary], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions, org, notary = committed
    path = legacy(tmp_path, *(f"c{n},marketing,granted,email,2021-01-01T00:00:00Z,," for n in range(25)))
    made = hashers.bodies  # what batches calls as `bodies`
    calls: list[int] = []

    def fail_third(*args: Any) -> Any:  # after the batch's customers, records and current states are written
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return made(*args)

    monkeypatch.setattr(batches, "bodies", fail_third)
    with pytest.raises(RuntimeError, match="power cut"):
        run(sessions, org, path, notary, FixedClock(), batch_size=10)
    with sessions() as session:
        assert [count(session, m) for m in (ConsentRecord, LedgerEntry, CurrentConsent, Subject)] == [20] * 4
        assert_sound(session, notary)

    monkeypatch.setattr(batches, "bodies", made)
    summary, _ = run(sessions, org, path, notary, FixedClock(), batch_size=10)
    assert (summary.earlier, summary.imported) == (20, 5)
    with sessions() as session:
        assert [count(session, m) for m in (ConsentRecord, LedgerEntry, CurrentConsent, Subject)] == [25] * 4
        assert_sound(session, notary)


def test_a_stop_while_a_batch_waits_for_the_next_rolls_it_back_and_the_next_run_imports_it(
    committed: tuple[sessionmaker[Session], Org, Notary], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With hashers, a batch stays open (on PostgreSQL: written by COPY, its current-state statement
    still in flight) while the next is read. Stopped then, it is rolled back whole, and the next run
    imports everything."""
    sessions, org, notary = committed
    path = legacy(tmp_path, *(f"c{n},marketing,granted,email,2021-01-01T00:00:00Z,," for n in range(250)))
    checked = importer._check

    def stop_at_line_150(fields: list[str], header: list[str], *, line: int, **rest: Any) -> Any:
        if line == 150:
            raise KeyboardInterrupt
        return checked(fields, header, line=line, **rest)

    monkeypatch.setattr(importer, "_check", stop_at_line_150)
    with pytest.raises(KeyboardInterrupt):
        run(sessions, org, path, notary, FixedClock(), batch_size=100, workers=1)
    with sessions() as session:
        assert [count(session, m) for m in (ConsentRecord, LedgerEntry, CurrentConsent, Subject)] == [0] * 4

    monkeypatch.setattr(importer, "_check", checked)
    summary, _ = run(sessions, org, path, notary, FixedClock(), batch_size=100, workers=1)
    assert (summary.earlier, summary.imported) == (0, 250)
    with sessions() as session:
        assert [count(session, m) for m in (ConsentRecord, LedgerEntry, CurrentConsent, Subject)] == [250] * 4
        assert_sound(session, notary)


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env | {"COLUMNS": "200"})
    return result.exit_code, result.output


def test_the_command_shows_bad_rows_writes_them_to_a_report_and_a_rerun_imports_nothing(
    committed: tuple[sessionmaker[Session], Org, Notary], fresh_database: Database, tmp_path: Path
) -> None:
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path / "data")}
    path = legacy(
        tmp_path,
        "c1,marketing,granted,email,2021-01-01T00:00:00Z,,",
        "c2,marketing,maybe,email,2021-01-01T00:00:00Z,,",
        "c3,analytics,denied,,2021-01-01T00:00:00Z,,",
    )
    code, output = invoke(env, "import", "consents", str(path), "--org", "skyway airlines", "--workers", "0")
    assert code == SOME_BAD, output
    assert "2 consent records imported into Skyway Airlines" in output and "status 'maybe'" in output
    with open(tmp_path / "legacy.csv.errors.csv", newline="") as first_report:
        assert list(csv.reader(first_report)) == [
            ["line", "reason", *HEADER.split(",")],
            [
                "3",
                "status 'maybe': Input should be 'granted', 'denied' or 'withdrawn'",
                *("c2", "marketing", "maybe", "email", "2021-01-01T00:00:00Z", "", ""),
            ],
        ]
    assert invoke(env, "ledger", "verify")[0] == 0
    code, output = invoke(env, "import", "consents", str(path), "--org", "Skyway Airlines", "--workers", "0")
    assert "0 consent records imported" in output and "2 imported by an earlier run" in output

    # The report imports as it is: once corrected, its rows; still bad, reported again in its columns.
    report = tmp_path / "legacy.csv.errors.csv"
    bad_again = report.read_text().replace(",maybe,", ",perhaps,")
    report.write_text(bad_again)
    code, output = invoke(
        env, "import", "consents", str(report), "--org", "Skyway Airlines", "--workers", "0"
    )
    assert code == SOME_BAD and "status 'perhaps'" in output, output
    with open(tmp_path / "legacy.csv.errors.csv.errors.csv", newline="") as again:
        assert list(csv.reader(again)) == [
            ["line", "reason", *HEADER.split(",")],
            [
                "2",
                "status 'perhaps': Input should be 'granted', 'denied' or 'withdrawn'",
                *("c2", "marketing", "perhaps", "email", "2021-01-01T00:00:00Z", "", ""),
            ],
        ]
    report.write_text(bad_again.replace(",perhaps,", ",granted,"))
    code, output = invoke(
        env, "import", "consents", str(report), "--org", "Skyway Airlines", "--workers", "0"
    )
    assert code == 0 and "1 consent records imported" in output, output

    clean = legacy(tmp_path, "c4,marketing,granted,email,2021-01-01T00:00:00Z,,", name="clean.csv")
    code, output = invoke(env, "import", "consents", str(clean), "--org", "Skyway Airlines", "--workers", "0")
    assert code == 0 and not (tmp_path / "clean.csv.errors.csv").exists(), output
    code, output = invoke(env, "import", "consents", str(clean), "--org", "Nobody")
    assert code == 1 and "no org named 'Nobody'" in output
    code, output = invoke(env, "import", "consents", "--help")
    assert code == 0 and "ref,purpose,status,channels,captured_at[,expires_at][,notice_version]" in output


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.slow
def test_kill_9_mid_import_keeps_whole_batches_and_the_same_command_finishes_the_job(
    committed: tuple[sessionmaker[Session], Org, Notary], fresh_database: Database, tmp_path: Path
) -> None:
    _, _, notary = committed
    rows = 20_000
    path = legacy(
        tmp_path,
        *(
            f"cust-{n // 3},{('marketing', 'analytics', 'partner-sharing')[n % 3]},granted,,2021-01-01T00:00:00Z,,"
            for n in range(rows)
        ),
    )
    env = {**os.environ, "HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "harken", "import", "consents", str(path), "--org", "Skyway Airlines"]
    importing = subprocess.Popen(
        [*command, "--batch", "100", "--workers", "1"], env=env, stdout=subprocess.DEVNULL
    )
    with sessionmaker(readonly(fresh_database.engine))() as session:  # reads: no write lock taken
        deadline = time.monotonic() + 60
        while (
            count(session, ConsentRecord) < 500 and importing.poll() is None and time.monotonic() < deadline
        ):
            session.rollback()  # a fresh snapshot each time
            time.sleep(0.02)
        hashers = _children(importing.pid)
        importing.send_signal(signal.SIGKILL)
        importing.wait()
        session.rollback()
        kept = count(session, ConsentRecord)
        assert 500 <= kept < rows and kept % 100 == 0
        assert count(session, LedgerEntry) == count(session, CurrentConsent) == kept
        assert_sound(session, notary)
    assert hashers, "the import ran without its hasher process"
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in hashers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in hashers), "a hasher outlived the import"

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    with sessionmaker(readonly(fresh_database.engine))() as session:
        assert count(session, ConsentRecord) == count(session, LedgerEntry) == rows
        assert_sound(session, notary)
