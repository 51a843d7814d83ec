"""Forward-only schema migrations keyed by `PRAGMA user_version`.

Each migration is a file `migrations/NNNN_<what>.sql` in this package; version N is the
number in its name and versions run 1, 2, 3... without holes. Adding a table later (the
bench and pool tables) means adding the next file, never editing an applied one.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

import aiosqlite

from swapdeck.history.values import HistoryError

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: Traversable | None = None) -> tuple[Migration, ...]:
    """The packaged migrations in version order; a hole or a duplicate number is an error."""
    root = folder if folder is not None else resources.files("swapdeck.history") / "migrations"
    found: list[Migration] = []
    for entry in root.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise HistoryError(f"history migrations: expected versions 1..{len(found)} with no "
                           f"holes or duplicates, found {versions}")
    return tuple(found)


def split_statements(script: str) -> Iterator[str]:
    """Whole SQL statements of a script, using SQLite's own notion of 'complete'."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if _has_code(pending):
                yield pending.strip()
            pending = ""
    if _has_code(pending):
        raise HistoryError(f"history migration: unterminated statement {pending.strip()[:60]!r}")


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


async def schema_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def migrate(conn: aiosqlite.Connection, migrations: Sequence[Migration], label: str) -> int:
    """Bring the database up to the newest migration; returns the version it ends at.

    Every migration runs in its own IMMEDIATE transaction and re-reads the version inside
    it, so two processes opening the same new file at once apply each step exactly once.
    """
    latest = migrations[-1].version if migrations else 0
    current = await schema_version(conn)
    if current > latest:
        raise HistoryError(f"{label}: schema version {current} is newer than this swapdeck "
                           f"understands ({latest}); upgrade swapdeck to open it")
    for migration in migrations:
        if migration.version <= current:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            current = await schema_version(conn)
            if migration.version > current:
                for statement in split_statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {migration.version:d}")
                current = migration.version
            await conn.execute("COMMIT")
        except sqlite3.Error as exc:
            await _rollback(conn)
            raise HistoryError(f"{label}: migration {migration.version:04d}_{migration.name} "
                               f"failed: {exc}") from None
        except BaseException:
            await _rollback(conn)
            raise
    return current


async def _rollback(conn: aiosqlite.Connection) -> None:
    if conn.in_transaction:
        await conn.execute("ROLLBACK")
