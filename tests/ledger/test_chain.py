"""The chain's hashing and verification, as pure functions over plain data."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken.ledger import chain, signing

KEY = Ed25519PrivateKey.generate()
KID = signing.public_jwk(KEY.public_key())["kid"]
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


def checkpoint(entry: chain.Entry) -> chain.Checkpoint:
    return chain.sign_checkpoint(
        chain=entry.chain, seq=entry.seq, hash=entry.hash, at="2026-11-02T08:10:00Z", key=KEY, kid=KID
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
    forged = chain.sign_checkpoint(chain="org:test", seq=3, hash=entries[2].hash, at="x", key=other, kid=KID)
    report = chain.verify_chain("org:test", entries, checkpoints=[forged], keys=KEYS)
    assert not report.ok and "signature" in (report.problem or "")


def test_a_checkpoint_edited_to_match_a_forgery_is_refused() -> None:
    entries = build(3)
    cp = dataclasses.replace(checkpoint(entries[2]), hash="ab" * 32)
    report = chain.verify_chain("org:test", entries, checkpoints=[cp], keys=KEYS)
    assert not report.ok and "does not match" in (report.problem or "")
