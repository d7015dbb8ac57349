#!/usr/bin/env python3
"""How fast network sources give up: the wall-clock bounds that used to be asserted inside
tests/media/test_media.py (unit tests keep only the typed errors; timings belong here, where
a loaded machine cannot fail the suite, docs/testing.md).

    python benchmarks/bench_rtsp_timeouts.py [--clip shared/data/video/akiyo_cif.mp4]

Prints each scenario's seconds and its bound; exits 1 if a bound is exceeded.
  closed port      ConnectionFailedError within 2 s   (timeout=2)
  silent server    ConnectionTimeoutError within 3 s  (timeout=1)
  stalled server   ConnectionTimeoutError within 8 s  (timeout=1; needs GStreamer's RTSP server)
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import edgesdk
from edgesdk.media import open_source

REPO = Path(__file__).resolve().parents[1]


def closed_port() -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    try:
        open_source(f"rtsp://127.0.0.1:{port}/none", timeout=2)
    except edgesdk.ConnectionFailedError:
        return time.monotonic() - started
    raise SystemExit("closed port: no ConnectionFailedError")


def silent_server() -> float:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        started = time.monotonic()
        try:
            open_source(f"rtsp://127.0.0.1:{listener.getsockname()[1]}/none", timeout=1)
        except edgesdk.ConnectionTimeoutError:
            return time.monotonic() - started
    raise SystemExit("silent server: no ConnectionTimeoutError")


def stalled_server(clip: Path) -> float | None:
    process = subprocess.Popen(["/usr/bin/python3", str(REPO / "tests" / "rtsp_server.py"), str(clip)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().split()
        if len(line) != 2:
            return None
        stream = open_source(f"rtsp://127.0.0.1:{line[0]}/{line[1]}", timeout=1, transport="tcp")
        try:
            stream.read()
            process.send_signal(signal.SIGSTOP)
            started = time.monotonic()
            try:
                while stream.read() is not None:
                    pass
            except edgesdk.ConnectionTimeoutError:
                return time.monotonic() - started
            raise SystemExit("stalled server: no ConnectionTimeoutError")
        finally:
            process.send_signal(signal.SIGCONT)
            stream.close()
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=Path("/work/shared/data/video/akiyo_cif.mp4"))
    args = parser.parse_args()
    results = [("closed port", closed_port(), 2.0), ("silent server", silent_server(), 3.0)]
    if args.clip.is_file():
        seconds = stalled_server(args.clip)
        if seconds is not None:
            results.append(("stalled server", seconds, 8.0))
    failed = False
    for name, seconds, bound in results:
        failed |= seconds >= bound
        print(f"{name:15} {seconds:6.2f} s  (bound {bound:g} s){'  EXCEEDED' if seconds >= bound else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
