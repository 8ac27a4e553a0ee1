"""The chain's hashing and verification, as pure functions over plain data."""

from __future__ import annotations

import dataclasses
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken import jws
from harken.ledger import chain

KEY = Ed25519PrivateKey.generate()
KID = jws.public_jwk(KEY.public_key())["kid"]
KEYS = {KID: KEY.public_key()}


def build(n: int, name: str = "org:test") -> list[chain.Entry]:
    entries, seq, head = [], 0, chain.GENESIS
    for i in range(n):
        entry = chain.next_entry(
            chain=name, head_seq=seq, head_hash=head, type="t", at="2026-11-02T08:10:00Z", data={"i": i}
        )
        entries.append(entry)
        seq, head = entry.seq, entry.hash
    return entries


def checkpoint(entry: chain.Entry, every: int = 5) -> chain.Checkpoint:
    return chain.sign_checkpoint(
        chain=entry.chain,
        seq=entry.seq,
        hash=entry.hash,
        at="2026-11-02T08:10:00Z",
        every=every,
        key=KEY,
        kid=KID,
    )


def test_an_untouched_chain_verifies_through_its_checkpoint_and_head() -> None:
    entries = build(10)
    report = chain.verify_chain(
        "org:test", entries, checkpoints=[checkpoint(entries[4])], keys=KEYS, head=(10, entries[-1].hash)
    )
    assert report.ok and report.entries == 10 and report.checkpoints == 1


def test_the_hash_links_the_previous_hash_and_the_body_digest() -> None:
    import hashlib

    first = build(1)[0]
    expected = hashlib.sha256(bytes(32) + hashlib.sha256(first.body).digest()).hexdigest()
    assert first.prev_hash == chain.GENESIS and first.hash == expected
    assert first.body == b'{"at":"2026-11-02T08:10:00Z","chain":"org:test","data":{"i":0},"seq":1,"type":"t"}'


def test_an_altered_body_is_named() -> None:
    entries = build(5)
    entries[2] = entries[2]._replace(body=entries[2].body.replace(b'"i":2', b'"i":7'))
    report = chain.verify_chain("org:test", entries)
    assert report.bad_seq == 3 and "altered" in (report.problem or "")


def test_a_deleted_entry_is_named() -> None:
    entries = build(5)
    del entries[1]
    assert chain.verify_chain("org:test", entries).bad_seq == 2


def test_reordered_entries_are_detected() -> None:
    entries = build(5)
    entries[1], entries[2] = entries[2], entries[1]
    assert chain.verify_chain("org:test", entries).bad_seq == 2


def test_renumbered_entries_are_detected() -> None:
    entries = build(5)
    entries[1], entries[2] = (entries[2]._replace(seq=2), entries[1]._replace(seq=3))
    assert chain.verify_chain("org:test", entries).bad_seq == 2


def test_a_rehashed_rewrite_still_breaks_the_signed_checkpoint() -> None:
    original = build(6)
    cp = checkpoint(original[3])
    forged = original[:2]
    seq, head = forged[-1].seq, forged[-1].hash
    for i in range(4):  # an attacker recomputes every hash after entry 2
        entry = chain.next_entry(
            chain="org:test", head_seq=seq, head_hash=head, type="t", at="x", data={"forged": i}
        )
        forged.append(entry)
        seq, head = entry.seq, entry.hash
    report = chain.verify_chain("org:test", forged, checkpoints=[cp], keys=KEYS)
    assert report.bad_seq == 4 and "checkpoint" in (report.problem or "")


def test_a_truncated_tail_is_detected_by_the_checkpoint() -> None:
    entries = build(8)
    report = chain.verify_chain("org:test", entries[:5], checkpoints=[checkpoint(entries[7])], keys=KEYS)
    assert not report.ok and report.bad_seq == 6


def test_a_truncated_tail_after_the_last_checkpoint_is_detected_by_the_head() -> None:
    entries = build(8)
    report = chain.verify_chain("org:test", entries[:6], head=(8, entries[-1].hash))
    assert report.bad_seq == 7


def test_an_entry_appended_beyond_the_head_is_detected() -> None:
    entries = build(4)
    report = chain.verify_chain("org:test", entries, head=(3, entries[2].hash))
    assert report.bad_seq == 4


def test_a_forged_checkpoint_signature_is_refused() -> None:
    entries = build(3)
    other = Ed25519PrivateKey.generate()
    forged = chain.sign_checkpoint(
        chain="org:test", seq=3, hash=entries[2].hash, at="x", every=5, key=other, kid=KID
    )
    report = chain.verify_chain("org:test", entries, checkpoints=[forged], keys=KEYS)
    assert not report.ok and "signature" in (report.problem or "")


def test_a_checkpoint_edited_to_match_a_forgery_is_refused() -> None:
    entries = build(3)
    cp = dataclasses.replace(checkpoint(entries[2]), hash="ab" * 32)
    report = chain.verify_chain("org:test", entries, checkpoints=[cp], keys=KEYS)
    assert not report.ok and "does not match" in (report.problem or "")


def rehashed(entries: list[chain.Entry], start: int, **change: str) -> list[chain.Entry]:
    """What an attacker with the database writes: entry `start` changed, it and every later entry re-hashed."""
    forged = entries[: start - 1]
    seq, head = (forged[-1].seq, forged[-1].hash) if forged else (0, chain.GENESIS)
    for entry in entries[start - 1 :]:
        stated = json.loads(entry.body)
        if entry.seq == start:
            stated.update(change)
        made = chain.next_entry(
            chain=entry.chain,
            head_seq=seq,
            head_hash=head,
            type=stated["type"],
            at=stated["at"],
            data=stated["data"],
        )
        forged.append(made)
        seq, head = made.seq, made.hash
    return forged


def test_a_changed_type_column_is_named_though_the_body_still_hashes() -> None:
    entries = build(5)
    entries[2] = entries[2]._replace(type="consent.recorded")
    report = chain.verify_chain("org:test", entries)
    assert report.bad_seq == 3 and "type ('consent.recorded')" in (report.problem or "")


def test_a_body_stating_another_chain_or_seq_than_its_columns_is_named() -> None:
    elsewhere = build(3, name="org:other")
    moved = [*build(2), elsewhere[2]._replace(chain="org:test")]
    moved[2] = moved[2]._replace(prev_hash=moved[1].hash, hash=chain.link(moved[1].hash, moved[2].body))
    assert chain.verify_chain("org:test", moved).bad_seq == 3


def test_every_checkpoint_the_hub_must_have_signed_is_required() -> None:
    entries = build(12)
    every_fifth = [checkpoint(entries[4]), checkpoint(entries[9])]
    head = (12, entries[-1].hash)
    assert chain.verify_chain("org:test", entries, checkpoints=every_fifth, keys=KEYS, head=head, every=5).ok

    some = chain.verify_chain("org:test", entries, checkpoints=every_fifth[1:], keys=KEYS, head=head, every=5)
    assert some.bad_seq == 5 and "no signed checkpoint" in (some.problem or "")
    assert chain.verify_chain("org:test", entries, keys=KEYS, head=head, every=5).bad_seq == 5


def test_a_rewrite_re_hashed_with_every_checkpoint_deleted_is_detected() -> None:
    entries = rehashed(build(12), 7, type="forged")
    report = chain.verify_chain("org:test", entries, keys=KEYS, head=(12, entries[-1].hash), every=5)
    assert report.bad_seq == 5 and "no signed checkpoint" in (report.problem or "")


def test_a_changed_checkpoint_interval_is_no_false_alarm() -> None:
    entries = build(40)
    # every 10 up to entry 20; then every 3 from entry 25 on (entry 21 was the first, 24 the first due)
    signed = [checkpoint(entries[s - 1], 10) for s in (10, 20)] + [
        checkpoint(entries[s - 1], 3) for s in range(24, 40, 3)
    ]
    report = chain.verify_chain(
        "org:test", entries, checkpoints=signed, keys=KEYS, head=(40, entries[-1].hash), every=3
    )
    assert report.ok, report.problem
    without = [cp for cp in signed if cp.seq != 30]
    assert chain.verify_chain("org:test", entries, checkpoints=without, keys=KEYS, every=3).bad_seq == 30


def test_extra_checkpoints_count_for_nothing_and_are_allowed() -> None:
    entries = build(12)
    signed = [checkpoint(entries[s - 1]) for s in (3, 5, 7, 10, 11)]
    assert chain.verify_chain("org:test", entries, checkpoints=signed, keys=KEYS, every=5).ok
    signed = [cp for cp in signed if cp.seq != 10]
    assert chain.verify_chain("org:test", entries, checkpoints=signed, keys=KEYS, every=5).bad_seq == 10


def test_a_kept_head_catches_a_rewrite_consistent_in_the_database() -> None:
    original = build(12)
    kept = [checkpoint(original[4]), checkpoint(original[9])]
    forged = rehashed(original, 11, type="forged")  # after the last checkpoint: the database alone can't tell
    head = (12, forged[-1].hash)
    assert chain.verify_chain("org:test", forged, checkpoints=kept, keys=KEYS, head=head, every=5).ok
    kept.append(checkpoint(original[11]))
    report = chain.verify_chain(
        "org:test", forged, checkpoints=kept[:2], keys=KEYS, head=head, every=5, kept=kept
    )
    assert report.bad_seq == 12 and "signed head kept" in (report.problem or "")


def test_a_chain_shorter_than_a_kept_head_fails() -> None:
    entries = build(12)
    report = chain.verify_chain(
        "org:test", entries[:11], keys=KEYS, head=(11, entries[10].hash), kept=[checkpoint(entries[11])]
    )
    assert report.bad_seq == 12 and "kept elsewhere covers entry 12" in (report.problem or "")


def test_a_kept_head_the_hub_did_not_sign_is_refused() -> None:
    entries = build(3)
    other = Ed25519PrivateKey.generate()
    forged = chain.sign_checkpoint(
        chain="org:test", seq=3, hash=entries[2].hash, at="x", every=5, key=other, kid=KID
    )
    report = chain.verify_chain("org:test", entries, keys=KEYS, kept=[forged])
    assert not report.ok and (report.problem or "").startswith("kept head at entry 3")


def test_a_signed_head_carries_what_its_jws_signs() -> None:
    entries = build(5)
    head = chain.signed_head(checkpoint(entries[4]))
    assert head == {
        "chain": "org:test",
        "seq": 5,
        "hash": entries[4].hash,
        "at": "2026-11-02T08:10:00Z",
        "every": 5,
        "jws": head["jws"],
    }
