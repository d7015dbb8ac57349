"""A real RTSP server for the media tests: GStreamer's gst-rtsp-server serving an H.264 .mp4.

Runs under the system Python (/usr/bin/python3 with python3-gi; Debian packages
gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good, see
tools/install-system-deps.sh), not the project's virtual environment:

    /usr/bin/python3 tests/rtsp_server.py clip.mp4

It binds 127.0.0.1 on a free port, prints "PORT MOUNT" on one line, and serves
rtsp://127.0.0.1:PORT/MOUNT, each client from the first frame, without re-encoding
(qtdemux ! rtph264pay), so clients decode the file's exact frames. It exits when its
standard input closes, so a test that dies leaves no server behind.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

MOUNT = "clip"


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: rtsp_server.py FILE.mp4", file=sys.stderr)
        return 2
    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address("127.0.0.1")
    server.set_service("0")  # any free port
    factory = GstRtspServer.RTSPMediaFactory.new()
    location = sys.argv[1].replace("\\", "\\\\").replace('"', '\\"')
    factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
    server.get_mount_points().add_factory(f"/{MOUNT}", factory)
    if server.attach(None) == 0:
        print("could not start the RTSP server", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, lambda *_: loop.quit())
    print(server.get_bound_port(), MOUNT, flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
