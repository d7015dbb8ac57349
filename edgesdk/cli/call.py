"""``edgesdk call nats://HOST:PORT/ROOM --name NAME SOURCE OUT``: a multi-party call
(docs/exchange.md, "Calls"). Each party publishes SOURCE as its own stream and receives
every other party's stream into OUT.

* A party joins with a new stream, ``ROOM-NAME-<8 hex>`` (a fresh one per join, so frame
  ids never collide with an earlier call), and announces it in the room's roster (a
  JetStream key-value entry refreshed every few seconds, gone 15 s after a party stops).
* It receives each announced party's stream from that stream's first frame, so whoever
  joins late still starts at a keyframe, into ``OUT/NAME.elv``, ``OUT/NAME/`` pictures
  (``--decode``) or the store OUT (``.db``, one stream per party).
* When its SOURCE ends it announces how many frames it sent. It leaves once it has sent
  everything, at least ``--wait-for`` other parties have joined, and every party it saw
  has sent everything and it received all of it (a party whose entry expires without
  saying so is received as far as it came); ``--duration`` bounds the whole call. Leaving,
  it marks its entry ``left`` (kept until it expires, for parties still receiving from it);
  a party that has left before another sees it is not waited for.
* Encrypted: ``--encrypt`` the parties' public keys (a folder of ``.pub`` files) and
  ``--key`` this party's private key; each stream is sealed for every key given.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

from edgesdk.cli.latent_io import (
    add_key_option,
    encryptor_for,
    is_store,
    open_latent_sink,
    opener_for,
)
from edgesdk.errors import InvalidArgumentError

REFRESH = 3.0  # seconds between roster refreshes of one's own entry
POLL = 0.3  # seconds between roster reads


class _Peer:
    """Another party: its stream, how many frames it announced, how many arrived."""

    def __init__(self, name: str, stream: str) -> None:
        self.name, self.stream = name, stream
        self.sent: int | None = None
        self.received = 0
        self.gone = False
        self.thread: threading.Thread | None = None

    def complete(self) -> bool:
        """Everything it sent has arrived, or it left the room."""
        return self.gone or (self.sent is not None and self.received >= self.sent)


class _Call:
    """One party's call: a sender thread, a receiver thread per peer, the roster loop."""

    def __init__(self, args: argparse.Namespace, transport, room: str) -> None:
        self.args, self.transport, self.room = args, transport, room
        self.stream = f"{room}-{args.name}-{os.urandom(4).hex()}"
        self.sent: int | None = None
        self.peers: dict[str, _Peer] = {}
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.opened = opener_for(args, transport.keys_of)

    def _guard(self, work, *arguments) -> None:
        try:
            work(*arguments)
        except BaseException as error:  # reported by the main loop, which ends the call
            self.errors.append(error)
            self.stop.set()

    def _send(self) -> None:
        from edgesdk.cli.exchange import _records

        encryptor = encryptor_for(self.args, self.stream, self.transport.publish_keys, lambda stream: [])
        count = 0
        for record in _records(self.args, self.stream):
            if self.stop.is_set():
                break
            self.transport.publish(record if encryptor is None else encryptor.encrypt(record))
            count += 1
        self.sent = count
        self._announce()

    def _receive(self, peer: _Peer) -> None:
        out = self.args.out
        destination = out if is_store(out) else str(Path(out) / peer.name) + ("/" if self.args.decode else ".elv")
        sink = open_latent_sink(self.args, destination, self.transport.keys_of)
        try:
            for record in self.transport.subscribe(peer.stream, from_start=True,
                                                   until=lambda: self.stop.is_set() or peer.complete()):
                sink.add(self.opened(record))
                peer.received += 1
                if peer.complete():
                    break
        finally:
            sink.close()

    def _announce(self, left: bool = False) -> None:
        self.transport.announce(self.room, self.args.name, {"stream": self.stream, "sent": self.sent, "left": left})

    def _update_roster(self) -> None:
        roster = self.transport.roster(self.room)
        for name, entry in roster.items():
            stream = entry.get("stream")
            if name == self.args.name or not isinstance(stream, str):
                continue
            peer = self.peers.get(name)
            if entry.get("left") and (peer is None or peer.stream != stream):
                continue  # left before we saw it (or an earlier call's party): not ours to wait for
            if peer is None or peer.stream != stream:  # new, or joined again with a new stream
                if peer is not None:
                    peer.gone = True
                peer = self.peers[name] = _Peer(name, stream)
                peer.thread = threading.Thread(target=self._guard, args=(self._receive, peer), daemon=True)
                peer.thread.start()
            if isinstance(entry.get("sent"), int):
                peer.sent = entry["sent"]
        for name, peer in self.peers.items():
            if name not in roster:
                peer.gone = True  # expired without saying what it sent: received as far as it came

    def done(self) -> bool:
        """Sent everything, enough parties joined, and every party's stream fully received."""
        return (self.sent is not None and len(self.peers) >= self.args.wait_for
                and all(peer.complete() and not peer.thread.is_alive() for peer in self.peers.values()))

    def run(self) -> None:
        """Joins, sends and receives until done, ``--duration`` or an error; then leaves."""
        deadline = None if self.args.duration is None else time.monotonic() + self.args.duration
        self._announce()
        sender = threading.Thread(target=self._guard, args=(self._send,), daemon=True)
        sender.start()
        refreshed = time.monotonic()
        try:
            while not self.stop.is_set() and not self.done():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if time.monotonic() - refreshed >= REFRESH:
                    self._announce()
                    refreshed = time.monotonic()
                self._update_roster()
                self.stop.wait(POLL)
        finally:
            self.stop.set()
            for thread in [sender, *(peer.thread for peer in self.peers.values())]:
                if thread is not None:
                    thread.join(30)  # a receiver writes what it decoded before it ends
            try:  # what it sent stays announced until the entry expires, for parties still receiving
                self._announce(left=True)
            except Exception:
                pass  # the entry expires anyway
        if self.errors:
            raise self.errors[0]


def _call(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from edgesdk.exchange import open_transport
    from edgesdk.exchange.records import check_stream_name

    room = urlsplit(args.room).path.strip("/")
    if not room:
        raise InvalidArgumentError(f"{args.room}: name the room: nats://HOST:PORT/ROOM")
    check_stream_name(room)
    check_stream_name(args.name)
    if len(room) + len(args.name) > 54:
        raise InvalidArgumentError("room and party names together must be at most 54 characters")
    if args.wait_for < 0 or (args.duration is not None and args.duration <= 0):
        raise InvalidArgumentError("--wait-for must be ≥ 0 and --duration positive")
    if args.encrypt and not args.key:
        raise InvalidArgumentError("an encrypted call needs this party's private key too (--key)")
    if not is_store(args.out):
        Path(args.out).mkdir(parents=True, exist_ok=True)
    args.stream = None  # SOURCE is a file or a live source, not a store
    with open_transport(args.room, publish_timeout=args.publish_timeout) as transport:
        call = _Call(args, transport, room)
        call.run()
    received = ", ".join(f"{p.name} {p.received}" + ("" if p.sent is None or p.received >= p.sent else f" of {p.sent}")
                         for p in sorted(call.peers.values(), key=lambda p: p.name))
    print(f"call {room} as {args.name}: sent {call.sent or 0} frame(s) on {call.stream}; received "
          f"{received or 'nothing (nobody else joined)'}")
    return 0


def add_commands(commands) -> None:
    """Adds ``edgesdk call`` to the CLI's subcommands."""
    from edgesdk.cli.common import add_codec_options
    from edgesdk.cli.exchange import add_sender_options

    call = commands.add_parser("call", help="a multi-party call: publish SOURCE, receive every other party into OUT")
    call.add_argument("room", help="nats://HOST:PORT/ROOM")
    call.add_argument("source", help=".elv or a media source (camera, file, rtsp://), encoded on the fly")
    call.add_argument("out", help="folder (each party's NAME.elv, or NAME/ pictures with --decode) or a store (.db)")
    call.add_argument("--name", required=True, help="this party's name in the room (A-Z a-z 0-9 _ -)")
    call.add_argument("--wait-for", type=int, default=1, metavar="N",
                      help="stay until N other parties have joined (default 1)")
    call.add_argument("--duration", type=float, metavar="S", help="leave after S seconds at most")
    call.add_argument("--decode", action="store_true", help="write the others' pictures (OUT/NAME/), not packets")
    add_sender_options(call)
    add_key_option(call)
    add_codec_options(call)
    call.set_defaults(run=_call)
