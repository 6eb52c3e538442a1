"""A real PostgreSQL server of its own, in a temporary folder, on a free loopback port: ``initdb`` then
``pg_ctl start``; ``stop`` shuts it down and removes the folder. For tests and benchmarks.

The binaries come from ``PATH`` (``initdb``, ``pg_ctl``) or Debian's ``/usr/lib/postgresql/<version>/bin``.
``initdb`` refuses to run as root: as root, the cluster is created and run as the ``postgres`` (or
``nobody``) user, in a folder that user owns. Connections are ``trust`` on 127.0.0.1 only. Unless
``durable``, the server runs with ``fsync=off``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Self

SERVICE_USERS = ("postgres", "nobody")


def postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0))
    for folder in reversed(versions):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPostgres:
    """``with LocalPostgres() as pg: pg.url("db")`` — a server that lives as long as the block.

    Raises :class:`RuntimeError` when the binaries are missing or the server does not start (with its log).
    """

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        """False (tests): ``fsync=off``, fast and lost on a power cut. True: Postgres's own defaults."""
        self.bin = postgres_binaries()
        self.port = 0
        self.folder: Path | None = None
        self._user: str | None = None

    def start(self) -> None:
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="dacrew-pg-"))
        if os.geteuid() == 0:
            self._user = next((u for u in SERVICE_USERS if _user_exists(u)), None)
            if self._user is None:
                raise RuntimeError("running as root and no postgres or nobody user to run the server as")
            record = pwd.getpwnam(self._user)
            os.chown(self.folder, record.pw_uid, record.pw_gid)
        self.port = _free_port()
        data = self.folder / "data"
        self._run(["initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run(["pg_ctl", "-D", str(data), "-l", str(self.folder / "log"), "-o", options, "-w", "-t", "60", "start"])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        if self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            self._run(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _run(self, argv: list[str], *, check: bool = True) -> None:
        assert self.bin is not None
        assert self.folder is not None
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            log = self.folder / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()} {tail}".strip())

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
