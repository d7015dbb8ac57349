"""Encrypted feature vectors (edgesdk.security.encryption, edgesdk.exchange.keyring): sealed with
the frame, bound to its clear metadata, kept out of every store's index, and searchable only
by a key holder after decryption (docs/decisions.md, issue 14)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edgesdk.exchange import AuthenticationError, FrameRecord, NotAuthorisedError, open_store
from edgesdk.exchange.keyring import RecordDecryptor, RecordEncryptor, next_epoch, refuse_encrypted, search_decrypted
from edgesdk.security.encryption import StreamDecryptor, StreamEncryptor, generate_decoder_key
from edgesdk.security.recipients import recipient_id

DIMS = 8


def frames(count: int = 40, stream: str = "cam0", seed: int = 0) -> list[FrameRecord]:
    rng = np.random.default_rng(seed)
    return [FrameRecord(stream, i, 1000.0 + i, b"packet %d" % i, kind="key" if i % 10 == 0 else "P",
                        quality=2, features=rng.normal(size=DIMS).astype(np.float32)) for i in range(count)]


def pair():
    key = generate_decoder_key()
    camera = StreamEncryptor("cam0")
    camera.authorise("alice", key.public_key())
    viewer = StreamDecryptor("alice", key)
    viewer.accept_keys("cam0", 0, camera.wrapped_keys())
    return camera, viewer


def test_features_are_sealed_with_the_frame_and_come_back_exactly():
    camera, viewer = pair()
    clear = frames(1)[0]
    sealed = camera.encrypt_record(clear)
    assert sealed.features is None and sealed.encrypted
    assert clear.features.tobytes() not in sealed.sealed_features
    assert sealed.metadata()["sealed_features"] is True
    opened = viewer.decrypt_record(sealed)
    assert opened.data == clear.data and opened.features.tobytes() == clear.features.tobytes()
    assert not opened.encrypted and opened.sealed_features is None
    kept_clear = StreamEncryptor("cam0", seal_features=False).encrypt_record(clear)  # an explicit opt-out
    assert kept_clear.sealed_features is None and kept_clear.features is not None


def test_stripped_swapped_or_altered_features_are_refused():
    camera, viewer = pair()
    first, second = (camera.encrypt_record(r) for r in frames(2))
    flipped = bytearray(first.sealed_features)
    flipped[-1] ^= 1
    for tampered in (replace(first, sealed_features=None),            # stripped: the metadata says sealed
                     replace(first, sealed_features=second.sealed_features),  # another frame's vector
                     replace(first, sealed_features=bytes(flipped))):
        with pytest.raises(AuthenticationError):
            viewer.decrypt_record(tampered, check_replay=False)
    with pytest.raises(AuthenticationError):  # a clear frame slipped into an encrypted stream
        viewer.decrypt_record(frames(1)[0])
    assert viewer.decrypt_record(first).data == b"packet 0"


def test_a_store_indexes_only_clear_vectors_and_key_holders_search_the_sealed_ones(tmp_path):
    key, other = generate_decoder_key(), generate_decoder_key()
    clear = frames()
    with open_store(str(tmp_path / "s.db"), dimensions=DIMS) as store:
        writer = RecordEncryptor("cam0", {recipient_id(key): key.public_key()}, store.put_keys,
                                 first_epoch=next_epoch(store.key_epochs("cam0")), rotate_every=16)
        store.put_many(writer.encrypt(r) for r in clear)
        store.put(frames(1, stream="open")[0])  # one clear stream beside it
        assert store.key_epochs("cam0") == [0, 1, 2]  # 40 frames, a new epoch every 16
        query = clear[7].features + 0.01
        assert [hit[0] for hit in store.search(query, k=5)] == ["open"]  # the sealed vectors are not indexed
        reader = RecordDecryptor(key, store.keys_of, check_replay=False)
        found = search_decrypted(store.get("cam0", 1005.0, 1035.0), reader, query, k=4)
        candidates = clear[5:35]
        expected = sorted(candidates, key=lambda r: float(np.linalg.norm(r.features - query)))[:4]
        assert [index for _, index, _ in found] == [r.frame_index for r in expected]
        assert found[0][1] == 7
        stored = list(store.get("cam0"))
        assert [reader.decrypt(r).data for r in stored] == [r.data for r in clear]
        with pytest.raises(NotAuthorisedError):
            RecordDecryptor(other, store.keys_of).decrypt(stored[0])
        with pytest.raises(NotAuthorisedError):
            refuse_encrypted(stored[0])


def test_an_older_store_is_upgraded_in_place(tmp_path):
    path = str(tmp_path / "old.db")
    with open_store(path, dimensions=DIMS) as store:
        store.put(frames(1)[0])
        for statement in ("ALTER TABLE frames DROP COLUMN encrypted", "ALTER TABLE frames DROP COLUMN sealed_features",
                          "DROP TABLE keys", "UPDATE settings SET value = '1' WHERE key = 'schema'"):
            store._db.execute(statement)
    with open_store(path) as store:
        assert [r.data for r in store.get("cam0")] == [b"packet 0"]
        store.put_keys("cam0", 0, {"x": b"wrapped"})
        assert store.keys_of("cam0", 0) == {"x": b"wrapped"} and store.keys_of("cam0", 1) is None


def test_a_recipient_removed_between_rotations_is_revoked(tmp_path):
    keys = {name: generate_decoder_key() for name in ("alice", "bob")}
    ids = {name: recipient_id(key) for name, key in keys.items()}
    current = {ids[name]: key.public_key() for name, key in keys.items()}
    with open_store(str(tmp_path / "s.db"), dimensions=DIMS) as store:
        writer = RecordEncryptor("cam0", dict(current), store.put_keys, rotate_every=4, refresh=lambda: dict(current))
        clear = frames(12)
        sealed = [writer.encrypt(r) for r in clear[:6]]
        del current[ids["bob"]]  # bob's key file removed while publishing
        sealed += [writer.encrypt(r) for r in clear[6:]]
        bob = RecordDecryptor(keys["bob"], store.keys_of)
        assert [bob.decrypt(r).data for r in sealed[:8]] == [r.data for r in clear[:8]]  # up to the rotation
        with pytest.raises(NotAuthorisedError):
            bob.decrypt(sealed[8])
        alice = RecordDecryptor(keys["alice"], store.keys_of)
        assert [alice.decrypt(r).data for r in sealed] == [r.data for r in clear]
