"""The embedded PostGIS cluster owned by the project (under ``.mapsvc/``).

PostgreSQL refuses to run as root, so a root user runs the server binaries as the
``postgres`` system user, which then owns the data directory.
"""

import fcntl
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from mapsvc.db.engine import conninfo
from mapsvc.settings import ClusterSettings, generated_secret


def memory_mb() -> int:
    """The memory the server may use: the machine's, or the container's limit below it."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = Path(limit).read_text().strip()
        except OSError:
            continue
        if value.isdigit():
            memory = min(memory, int(value))
    return memory // 2**20


SOCKET_PATH_MAX = 107  # bytes in a Unix socket's address, less its closing NUL


class ClusterError(RuntimeError):
    """The embedded cluster could not be set up or reached."""


@dataclass
class Cluster:
    settings: ClusterSettings

    @property
    def home(self) -> Path:
        """Where the server's files live: ``.mapsvc/`` itself, unless the server's user cannot
        reach it (a checkout in a private directory, as root), then a directory of its own
        named after the checkout."""
        if not self._as_root() or self._server_can_enter(self.settings.dir.parent):
            return self.settings.dir
        return Path("/var/lib/mapsvc") / self._checkout_digest()

    def _checkout_digest(self) -> str:
        return hashlib.sha1(str(self.settings.dir.resolve()).encode()).hexdigest()[:12]

    @property
    def datadir(self) -> Path:
        return self.home / "pgdata"

    @property
    def rundir(self) -> Path:
        """Where the server's socket is: under its home, unless the socket's path would be
        longer than a socket address holds (107 bytes: the server would not start), then a
        directory of its own named after the checkout in the temporary directory."""
        rundir = self.home / "run"
        if len(os.fsencode(rundir / f".s.PGSQL.{self.settings.port}")) <= SOCKET_PATH_MAX:
            return rundir
        return Path(tempfile.gettempdir()) / f"mapsvc-{self._checkout_digest()}"

    @property
    def logfile(self) -> Path:
        return self.home / "log" / "postgres.log"

    @staticmethod
    def _server_can_enter(path: Path) -> bool:
        return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)],
                              capture_output=True).returncode == 0

    # -- running server binaries -------------------------------------------------------
    def bindir(self) -> Path:
        """The newest installed PostgreSQL's programs (unless set): the server's, and pg_dump and
        pg_restore for backups."""
        if self.settings.bindir:
            return self.settings.bindir
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                       key=lambda p: int(p.parent.parent.name))
        if not found:
            raise ClusterError("PostgreSQL server binaries not found; "
                               "run `make demo` to install them")
        return found[-1].parent

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir() / tool), *args]
        if self._as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise ClusterError(f"{tool} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result

    def _own(self, path: Path) -> None:
        """Hand a directory to the user the server runs as; refuse one that another user made
        (or a link: the temporary directory is everyone's)."""
        path.mkdir(parents=True, exist_ok=True)
        server = pwd.getpwnam("postgres") if self._as_root() else pwd.getpwuid(os.geteuid())
        if path.is_symlink() or path.stat().st_uid not in {os.geteuid(), server.pw_uid}:
            raise ClusterError(f"{path} belongs to another user or is a link")
        if self._as_root():
            os.chown(path, server.pw_uid, server.pw_gid)

    # -- lifecycle -----------------------------------------------------------------------
    def password(self) -> str:
        return generated_secret(self.settings.password_file, nbytes=24)

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised():
            return
        for home in {self.settings.dir, self.home}:
            home.mkdir(parents=True, exist_ok=True)
            home.chmod(0o755)
        for d in (self.datadir, self.rundir, self.logfile.parent):
            self._own(d)
        self.datadir.chmod(0o700)
        pwfile = self.rundir / "initdb.pw"
        pwfile.write_text(self.password())
        if self._as_root():
            shutil.chown(pwfile, "postgres")
        try:
            self._run("initdb", "-D", str(self.datadir), "-U", self.settings.superuser,
                      "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                      "--locale=C.UTF-8")
        finally:
            pwfile.unlink(missing_ok=True)
        conf = self.datadir / "postgresql.auto.conf"
        with conf.open("a") as f:
            f.write(
                f"port = {self.settings.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.rundir}'\n"
                "work_mem = '64MB'\n"
                "maintenance_work_mem = '512MB'\n"
                "max_connections = 200\n"
                "max_wal_size = '4GB'\n"
                "jit = off\n"
            )

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.datadir), check=False).returncode == 0

    @contextmanager
    def _alone(self):
        """One process at a time sets the cluster up, starts or stops it (processes started
        together: the test suite's workers, a command beside a server's start)."""
        self.settings.dir.mkdir(parents=True, exist_ok=True)
        with open(self.settings.dir / "cluster.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def start(self) -> None:
        with self._alone():
            self.init()
            if self.running():
                return
            self._own(self.rundir)  # a temporary directory may have been cleared since
            options = f"-c shared_buffers={self.shared_buffers_mb()}MB"
            if preloaded := self.preloaded_libraries():
                options += f" -c shared_preload_libraries={','.join(preloaded)}"
            self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir),
                      "-l", str(self.logfile), "-o", options)

    def shared_buffers_mb(self) -> int:
        """The server's buffer cache: the setting, or else a quarter of the memory it may use
        (PostgreSQL's own advice for a dedicated server) up to 8 GB, sized at each start."""
        if self.settings.shared_buffers_mb:
            return self.settings.shared_buffers_mb
        return max(128, min(memory_mb() // 4, 8192))

    def preloaded_libraries(self) -> list[str]:
        """PostGIS, loaded once by the server at its start: each backend that did not have it
        loaded it on its first spatial call, about 12 ms for every new connection and for every
        worker of a parallel query."""
        return [p.stem for p in sorted((self.bindir().parent / "lib").glob("postgis-[0-9]*.so"))]

    def stop(self) -> None:
        with self._alone():
            if self.running():
                self._run("pg_ctl", "stop", "-m", "fast", "-D", str(self.datadir))

    def url(self, database: str = "mapsvc") -> URL:
        """Where mapsvc reaches ``database``: the server's Unix socket, not its loopback port
        (kept for other tools). A round trip through the socket spares the TCP stack on both
        sides: locate over HTTP answers 10–35 % more requests a second."""
        return URL.create("postgresql+psycopg", username=self.settings.superuser,
                          password=self.password(), database=database,
                          query={"host": str(self.rundir), "port": str(self.settings.port)})

    def ensure_database(self, name: str, *, fresh: bool = False) -> None:
        """Create database ``name`` if missing (dropped first when ``fresh``)."""
        with psycopg.connect(conninfo(self.url("postgres")), autocommit=True) as conn:
            ident = sql.Identifier(name)
            if fresh:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
