"""A private, throw-away PostgreSQL server: initdb into a temporary directory, listen on a unix socket there and
on 127.0.0.1 at a free port, trust authentication, no durability (it is deleted when it stops).

Used by the test fixtures in conftest.py; a benchmark can use it too:

    sys.path.insert(0, str(REPO / "tests"))
    from pg_server import PostgresServer

    with PostgresServer.start() as server:
        url = server.url(server.create_database())

`python tests/pg_server.py` starts one, prints its URL and keeps it until Ctrl-C.

PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user (through
`runuser`) and owns its directory; otherwise it runs as the current user. The superuser role is always
`postgres`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

INSTALL_HINT = "Run ./test.sh once: it installs the PostgreSQL server (the Debian/Ubuntu package `postgresql`)."
SUPERUSER = "postgres"
SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
# Durability is pointless for a server that is deleted afterwards, and costs time.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}
START_ATTEMPTS = 5


class PostgresUnavailable(RuntimeError):
    """The server programs are missing or the server could not start; the message says what to do."""


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres: $PG_BINDIR, `pg_config --bindir`, the newest
    /usr/lib/postgresql/*/bin (Debian/Ubuntu), or the directory of an initdb on PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in SERVER_PROGRAMS):
            return directory
    looked = ", ".join(str(c) for c in candidates) or "PATH, pg_config, /usr/lib/postgresql/*/bin"
    raise PostgresUnavailable(
        f"PostgreSQL server programs ({', '.join(SERVER_PROGRAMS)}) not found (looked in: {looked}). {INSTALL_HINT}"
    )


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One running server. Make it with `PostgresServer.start()`; `stop()` (or leaving a `with` block, or the
    interpreter exiting) shuts it down and deletes its directory."""

    host = "127.0.0.1"
    user = SUPERUSER

    def __init__(self, bindir: Path, base_dir: Path, run_as: str | None) -> None:
        self.bindir = bindir
        self.base_dir = base_dir
        self.run_as = run_as
        self.port = 0
        self._running = False

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    @classmethod
    def start(cls, bindir: Path | None = None, timeout: float = 60.0) -> PostgresServer:
        bindir = bindir or find_bindir()
        run_as = _server_user()
        base_dir = _make_base_dir(run_as)
        server = cls(bindir, base_dir, run_as)
        atexit.register(server.stop)
        try:
            server._initdb()
            server._start(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL for a database on this server."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """A libpq connection string, for psycopg.connect()."""
        return f"host={self.host} port={self.port} user={self.user} dbname={database} connect_timeout=10"

    def create_database(self, name: str | None = None) -> str:
        """Creates an empty database (named test_<random> unless given) and returns its name."""
        name = name or f"test_{secrets.token_hex(6)}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drops a database, ending any connections still open to it."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def databases(self) -> list[str]:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname")
            return [str(row[0]) for row in rows]

    def stop(self) -> None:
        """Stops the server at once (its data is thrown away) and deletes its directory. Safe to call twice."""
        atexit.unregister(self.stop)
        if self._running:
            self._running = False
            result = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "30", "stop")
            if result.returncode != 0:
                self._kill_postmaster()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")

    def _start(self, timeout: float) -> None:
        last_error = ""
        for _attempt in range(START_ATTEMPTS):
            self.port = free_port(self.host)
            options = [
                "-c",
                f"listen_addresses={self.host}",
                "-c",
                f"port={self.port}",
                "-c",
                f"unix_socket_directories={self.socket_dir}",
            ]
            for key, value in SERVER_SETTINGS.items():
                options += ["-c", f"{key}={value}"]
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(timeout)),
                "-o",
                shlex.join(options),
                "start",
            )
            if result.returncode == 0:
                self._running = True
                return
            log = self._log_tail()
            last_error = f"pg_ctl start failed (exit {result.returncode}):\n{result.stdout}{result.stderr}\n{log}"
            # Another process took the port between free_port() and the server's bind: try another.
            if "could not bind" not in log and "already in use" not in log:
                break
            self._kill_postmaster()
        raise PostgresUnavailable(last_error)

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / program), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(
            command,
            cwd=self.base_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _server_user() -> str | None:
    """The system user the server runs as when we are root (PostgreSQL refuses root); None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, but there is no `{SUPERUSER}` system user to run PostgreSQL as. {INSTALL_HINT}"
        ) from None
    if not shutil.which("runuser"):
        raise PostgresUnavailable("running as root, but `runuser` (util-linux) is missing. " + INSTALL_HINT)
    return SUPERUSER


def _make_base_dir(run_as: str | None) -> Path:
    # As root the server user must be able to reach the directory, so it goes under /tmp rather than a
    # TMPDIR that may be private to root. Unix socket paths are limited to ~107 bytes.
    parent = "/tmp" if run_as is not None or len(tempfile.gettempdir()) > 60 else None
    base_dir = Path(tempfile.mkdtemp(prefix="voice-assistant-pg-", dir=parent))
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(base_dir, entry.pw_uid, entry.pw_gid)
    return base_dir


def main() -> None:
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    with PostgresServer.start() as server:
        name = server.create_database("voice_assistant")
        print(server.url(name), flush=True)
        print(f"data in {server.base_dir}; Ctrl-C stops the server and deletes it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
