"""Where received latents go and how encrypted ones are opened, shared by ``subscribe``,
``call`` and ``store`` (docs/exchange.md): an ``.elv`` file, a store, or a media sink
(decoded pictures), each opened at the first frame, so a refused stream leaves no file.

With ``--key`` every frame is decrypted (and a frame that is not encrypted, altered, replayed
or of an epoch the key was not given is refused); without it an encrypted frame stops the
command with exit status 4, except into a store, which keeps the ciphertext and the
epoch's wrapped keys for a key holder (a relay).
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def is_store(target: str) -> bool:
    """Whether a SOURCE or DEST names a latent store (``sqlite://`` or a .db/.sqlite file)."""
    return target.startswith("sqlite://") or Path(target).suffix.lower() in STORE_SUFFIXES


def add_key_option(parser: argparse.ArgumentParser) -> None:
    """Adds ``--key``: the X25519 private key of an authorised decoder."""
    parser.add_argument("--key", type=Path, help="private key of an authorised decoder (edgesdk keygen --x25519); "
                                                 "needed for encrypted streams")


def add_encrypt_options(parser: argparse.ArgumentParser) -> None:
    """Adds ``--encrypt PUB`` (repeatable; .pub files or folders of them) and ``--rotate-every``."""
    parser.add_argument("--encrypt", action="append", type=Path, metavar="PUB",
                        help="encrypt for this decoder's public key (edgesdk keygen --x25519 writes KEY.pub); "
                             "repeat it, or give a folder of .pub files")
    parser.add_argument("--rotate-every", type=int, metavar="N",
                        help="start a new key epoch every N frames, for the --encrypt keys as they are then "
                             "(remove a .pub file to revoke that decoder)")


def encryptor_for(args: argparse.Namespace, stream: str, key_sink, key_epochs):
    """A RecordEncryptor when ``--encrypt`` was given (its first epoch after those
    ``key_epochs(stream)`` names; the key files read again at each rotation), else None."""
    if not args.encrypt:
        return None
    from edgesdk.exchange.keyring import RecordEncryptor, next_epoch
    from edgesdk.security.recipients import load_recipients

    return RecordEncryptor(stream, load_recipients(args.encrypt), key_sink,
                           first_epoch=next_epoch(key_epochs(stream)), rotate_every=args.rotate_every,
                           refresh=lambda: load_recipients(args.encrypt))  # a .pub removed: revoked


def opener_for(args: argparse.Namespace, key_source, *, check_replay: bool = True, keep_sealed: bool = False):
    """record -> record: decrypts with ``--key`` (keys of new epochs from ``key_source``);
    without one, refuses encrypted records unless ``keep_sealed`` (a store relays them)."""
    from edgesdk.exchange.keyring import RecordDecryptor, refuse_encrypted

    if getattr(args, "key", None):
        from edgesdk.security.recipients import load_recipient_private_key

        return RecordDecryptor(load_recipient_private_key(args.key), key_source, check_replay=check_replay).decrypt
    return (lambda record: record) if keep_sealed else refuse_encrypted


class ElvSink:
    """Writes each frame's bytes (packets) to an ``.elv`` file, created at the first frame."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.frames = 0
        self._handle = None

    def add(self, record) -> None:
        """Appends one frame's bytes."""
        if self._handle is None:
            self._handle = open(self.path, "wb")
        self._handle.write(record.data)
        self.frames += 1

    def close(self) -> None:
        """Closes the file (none was made if no frame came)."""
        if self._handle is not None:
            self._handle.close()

    def describe(self) -> str:
        """What was written, for the command's summary."""
        return f" into {self.path}"


class StoreSink:
    """Puts frames into a store (opened at the first frame); an encrypted frame's epoch keys
    are copied from ``key_source`` so the store holds what a key holder needs."""

    def __init__(self, target: str, key_source=None) -> None:
        self.target = target
        self.frames = 0
        self._store = None
        self._source = key_source
        self._epochs: set[tuple[str, int]] = set()

    def add(self, record) -> None:
        """Stores one frame (and, first, the keys of a new epoch of an encrypted stream)."""
        from edgesdk.exchange import open_store
        from edgesdk.security.encryption import decode_header

        if self._store is None:
            self._store = open_store(self.target)
        if record.encrypted and self._source is not None:
            epoch = decode_header(record.data)[0]
            if (record.stream, epoch) not in self._epochs:
                wrapped = self._source(record.stream, epoch)
                if wrapped:
                    self._store.put_keys(record.stream, epoch, wrapped)
                self._epochs.add((record.stream, epoch))
        self._store.put(record)
        self.frames += 1

    def close(self) -> None:
        """Closes the store."""
        if self._store is not None:
            self._store.close()

    def describe(self) -> str:
        """What was written, for the command's summary."""
        return f" into the store {self.target}"


class PictureSink:
    """Decodes received packets and writes pictures to a media sink (opened at the first)."""

    def __init__(self, args: argparse.Namespace, destination: str) -> None:
        from edgesdk.cli.common import open_codec

        self.args = args
        self.destination = destination
        self.codec = open_codec(args)
        self.decoder = None
        self.sink = None
        self.frames = 0
        self.pictures = 0

    def add(self, record) -> None:
        """Decodes one packet (a viewer joining mid-group starts at the next keyframe)."""
        from edgesdk.codecs.video import VideoDecoder

        self.frames += 1
        if self.decoder is None:
            if record.quality < 0:
                return  # nothing to decode before the first frame
            self.decoder = VideoDecoder(self.codec.codec(record.quality), on_damage="skip")
        self.decoder.push(record.data)
        self._drain()

    def _drain(self) -> None:
        from edgesdk.media import open_sink

        for decoded in self.decoder.pull():
            if self.sink is None:
                height, width = decoded.image.shape[:2]
                rate = decoded.syntax.frame_rate
                self.sink = open_sink(self.destination, width, height, Fraction(*rate) if rate else 25)
            self.sink.write(decoded.image)
            self.pictures += 1

    def close(self) -> None:
        """Flushes the decoder and closes the sink and the codec."""
        if self.decoder is not None:
            self.decoder.flush()
            self._drain()
        if self.sink is not None:
            self.sink.close()
        self.codec.close()

    def describe(self) -> str:
        """What was written, for the command's summary."""
        return f"; wrote {self.pictures} picture(s) to {self.destination}"


def open_latent_sink(args: argparse.Namespace, destination: str, key_source=None):
    """The sink for DEST: ``.elv`` file, store, or media sink (decoded pictures)."""
    if destination.lower().endswith(".elv"):
        return ElvSink(destination)
    if is_store(destination):
        return StoreSink(destination, key_source)
    return PictureSink(args, destination)
