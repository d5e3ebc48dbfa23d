"""Real ``redis-server`` processes for the tests: loopback ports, own data directories.

Every server is a child of the test process started with ``--daemonize no``, so the PID we
hold is the server's own; it is stopped by that PID (SIGTERM, then SIGKILL), never by name.
``kill()`` is the crash (SIGKILL, nothing flushed beyond what the fsync policy wrote) and
``start()`` again restarts it on the same port from the same directory (its AOF, if any).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
_CLUSTER_BUS_OFFSET = 10000


def free_port(*, cluster: bool = False) -> int:
    """A loopback port that is free now (and, for cluster nodes, whose bus port is free too)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if not cluster:
            return port
        if port + _CLUSTER_BUS_OFFSET > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + _CLUSTER_BUS_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port found")


def _ping(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` child process on 127.0.0.1:``port`` with data in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        appendonly: bool = False,
        appendfsync: str = "always",
        cluster: bool = False,
        port: int | None = None,
    ) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.cluster = cluster
        self.port = port if port is not None else free_port(cluster=cluster)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _argv(self) -> list[str]:
        assert REDIS_SERVER is not None
        argv = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--daemonize", "no",
            "--save", "",
            "--logfile", str(self.directory / "redis.log"),
            "--maxmemory-policy", "noeviction",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
        ]  # fmt: skip
        if self.cluster:
            argv += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.directory / "nodes.conf"),
                "--cluster-node-timeout", "2000",
            ]  # fmt: skip
        return argv

    def start(self, *, timeout: float = 10.0) -> None:
        """Start (or restart, from the same directory) and wait until PING answers."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            self._argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server on port {self.port} exited:\n{log}")
            if _ping(self.port):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer PING")

    def kill(self) -> None:
        """SIGKILL: the crash. Only what the fsync policy already wrote survives."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it does not exit within five seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def wipe(self, *, keep: tuple[str, ...] = ()) -> None:
        """Stop and delete the data directory's contents: the next start is an empty Redis.

        ``keep=("nodes.conf",)`` keeps a cluster node's identity and slots: it comes back as
        the same master of the same slots, holding nothing.
        """
        self.stop()
        for entry in self.directory.iterdir():
            if entry.name != "redis.log" and entry.name not in keep:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


class RedisClusterServers:
    """Three masters (no replicas) on loopback ports, joined with ``redis-cli --cluster``."""

    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.nodes = [
            RedisServer(directory / f"node{i}", cluster=True, appendonly=appendonly)
            for i in range(3)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        assert REDIS_CLI is not None
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                REDIS_CLI,
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        self.wait_ok()

    def wait_ok(self, timeout: float = 20.0) -> None:
        """Wait until every node reports ``cluster_state:ok`` (after a node restarted)."""
        deadline = time.monotonic() + timeout
        while not all(self._state_ok(node.port) for node in self.nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not reach cluster_state:ok")
            time.sleep(0.05)

    @staticmethod
    def _state_ok(port: int) -> bool:
        assert REDIS_CLI is not None
        out = subprocess.run(
            [REDIS_CLI, "-p", str(port), "cluster", "info"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        return "cluster_state:ok" in out

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@contextlib.contextmanager
def running(server: RedisServer | RedisClusterServers) -> Iterator[None]:
    try:
        server.start()
        yield
    finally:
        server.stop()
