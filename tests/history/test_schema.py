"""Schema versioning: a fresh or empty file migrates to the newest version, and only forward."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swapdeck.history import HistoryError, HistoryStore
from swapdeck.history.database import open_database
from swapdeck.history.migrate import Migration, load_migrations, split_statements

from .conftest import T0, activity, record

CORE_TABLES = {"hosts", "requests", "captures", "perf_sys", "perf_gpu", "perf_rollup_5m",
               "model_events"}


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_an_empty_file_is_migrated_to_the_current_schema(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch()
    store = await HistoryStore.open(db_path)
    await store.close()
    assert user_version(db_path) == len(load_migrations()) >= 1
    assert tables(db_path) >= CORE_TABLES
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_reopening_keeps_data_and_version(db_path: Path) -> None:
    store = await HistoryStore.open(db_path)
    store.submit(activity("gpu1", record(1)))
    await store.close()
    version = user_version(db_path)
    store = await HistoryStore.open(db_path)
    assert len(await store.activity_page()) == 1
    await store.close()
    assert user_version(db_path) == version


async def test_a_later_migration_applies_on_top_of_existing_data(db_path: Path) -> None:
    """Bench and pool tables arrive as the next numbered file; v1 data must survive."""
    store = await HistoryStore.open(db_path)
    store.submit(activity("gpu1", record(7, at=T0)))
    await store.close()

    # A table no real migration has: the packaged ones (bench, pool) grow under this test.
    later = Migration(len(load_migrations()) + 1, "later",
                      "-- a comment; with a semicolon\n"
                      "CREATE TABLE later_runs (id INTEGER PRIMARY KEY, suite TEXT NOT NULL);\n"
                      "CREATE INDEX later_runs_by_suite ON later_runs (suite);\n")
    db = await open_database(db_path, read_only=False, migrations=(*load_migrations(), later))
    await db.close()
    assert user_version(db_path) == later.version
    assert "later_runs" in tables(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT remote_id FROM requests").fetchall() == [(7,)]


async def test_a_failing_migration_leaves_the_previous_version_intact(db_path: Path) -> None:
    store = await HistoryStore.open(db_path)
    await store.close()
    before = user_version(db_path)
    broken = Migration(before + 1, "broken",
                       "CREATE TABLE half_done (id INTEGER);\nCREATE TABLE hosts (x);\n")
    with pytest.raises(HistoryError, match=rf"migration 000{before + 1}_broken failed: .*hosts"):
        await open_database(db_path, read_only=False, migrations=(*load_migrations(), broken))
    assert user_version(db_path) == before
    assert "half_done" not in tables(db_path)


async def test_a_newer_schema_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(HistoryError, match="schema version 999 is newer than this swapdeck"):
        await HistoryStore.open(db_path)


async def test_a_file_that_is_not_sqlite_gives_one_clear_line(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is a text file, not a database\n" * 100)
    with pytest.raises(HistoryError) as caught:
        await HistoryStore.open(db_path)
    message = str(caught.value)
    assert message.startswith(f"history database {db_path}: opening failed")
    assert "not a database" in message and "\n" not in message


def test_migration_files_must_be_numbered_without_holes(tmp_path: Path) -> None:
    (tmp_path / "0001_core.sql").write_text("CREATE TABLE a (x);")
    (tmp_path / "0003_pool.sql").write_text("CREATE TABLE b (x);")
    (tmp_path / "README.txt").write_text("not a migration")
    with pytest.raises(HistoryError, match=r"expected versions 1..2 .* found \[1, 3\]"):
        load_migrations(tmp_path)


def test_statements_split_on_sqlite_boundaries() -> None:
    script = ("-- header; still a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n\n"
              "CREATE TABLE b (y);\n-- trailing comment\n")
    assert list(split_statements(script)) == [
        "-- header; still a comment\nCREATE TABLE a (x TEXT DEFAULT ';');",
        "CREATE TABLE b (y);"]
    with pytest.raises(HistoryError, match="unterminated statement"):
        list(split_statements("CREATE TABLE c (z)"))
