"""Opening the history file: WAL, pragmas, migrations, read-only attach, clear errors."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

import aiosqlite

from swapdeck.history.migrate import Migration, load_migrations, migrate, schema_version
from swapdeck.history.values import HistoryError

BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another process's write lock before failing."""


class Database:
    """One aiosqlite connection plus the lock that keeps its write transactions whole.

    Every write goes through `transaction()`, so the batched writer, captures and the
    retention chunks never interleave statements inside each other's transactions.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path, read_only: bool) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self.lock = asyncio.Lock()
        self.closed = False

    @property
    def label(self) -> str:
        return f"history database {self.path}"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        if self.read_only:
            raise HistoryError(f"{self.label}: opened read-only, cannot write")
        async with self.lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn a SQLite failure into one line naming the file and what was being done."""
        if self.closed:
            raise HistoryError(f"{self.label}: already closed ({doing} refused)")
        try:
            yield
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.label}: {doing} failed: {exc}") from None

    async def close(self) -> None:
        self.closed = True
        await self.conn.close()


async def open_database(path: Path, *, read_only: bool,
                        migrations: tuple[Migration, ...] | None = None) -> Database:
    """Open (creating and migrating unless read-only) the history file at `path`."""
    steps = load_migrations() if migrations is None else migrations
    label = f"history database {path}"
    if read_only and not path.is_file():
        raise HistoryError(f"{label}: no such file (a collector creates it on first run)")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"{label}: cannot create its folder ({exc.strerror})") from None
    target = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per flush.
        conn = await aiosqlite.connect(target, uri=read_only, isolation_level=None)
    except sqlite3.Error as exc:
        raise HistoryError(f"{label}: cannot open ({exc})") from None
    db = Database(conn, path, read_only)
    try:
        await _configure(db, steps)
    except BaseException:
        with suppress(Exception):
            await conn.close()
        raise
    return db


async def _configure(db: Database, steps: tuple[Migration, ...]) -> None:
    conn = db.conn
    with db.errors("opening"):
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        if db.read_only:
            version = await schema_version(conn)
            latest = steps[-1].version if steps else 0
            if version == 0:
                raise HistoryError(f"{db.label}: not a swapdeck history database (no schema)")
            if version != latest:
                raise HistoryError(
                    f"{db.label}: schema version {version}, this swapdeck reads {latest}; "
                    "open it once read-write with the matching swapdeck")
            return
        # Reading the header fails here, with a clear message, on a file that is not SQLite.
        await schema_version(conn)
        mode = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
        if str(mode[0][0]).lower() != "wal":
            raise HistoryError(f"{db.label}: could not switch to WAL (got {mode[0][0]})")
        # In WAL, NORMAL loses at most the last commits on power loss, never consistency.
        await conn.execute("PRAGMA synchronous = NORMAL")
        await migrate(conn, steps, db.label)
