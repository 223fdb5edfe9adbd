"""The history database on either engine: SQLite (a file under the data dir, the zero-setup default) or
PostgreSQL (`QWEN_EDIT_DATABASE_URL=postgresql://…`, shared by every replica of the app).

There is one schema, one migration list and one set of queries. They are written in SQLite's spelling: `?`
placeholders, and `REAL` for a number of seconds. This module turns them into PostgreSQL's spelling. Writes
keep SQLite's rule on both engines: one write transaction at a time. On PostgreSQL, an advisory lock held until
COMMIT makes every replica's writes take turns, so a read-then-write inside one (eviction, settling an edit)
sees no other writer's half.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

WRITE_LOCK = 0x71776E65  # the advisory lock key every replica's write transaction takes ("qwne")


class Cursor(Protocol):
    """What a query gives back on either engine."""

    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the history uses; rows answer `row["name"]`, `row[0]` and `keys()`."""

    def execute(self, sql: str, parameters: Sequence[object] = ...) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[object]]) -> Cursor: ...


class Database(Protocol):
    """A history database: connections to read with, and write transactions."""

    engine: str

    def reading(self) -> AbstractContextManager[Connection]: ...
    def writing(self) -> AbstractContextManager[Connection]: ...
    def close(self) -> None: ...


def open_database(location: str | os.PathLike[str], *, pool_size: int = 8) -> Database:
    """The database at `location`: a `postgresql://` (or `postgres://`) URL, else a SQLite file's path."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(text, pool_size=pool_size)
    return SqliteDatabase(Path(location))


def describe(location: str | os.PathLike[str]) -> str:
    """Where the history lives, for logs and messages: a URL without its password, or the file's path."""
    text = str(location)
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", text)


class SqliteDatabase:
    """A SQLite file in WAL mode, one connection per thread; writes are `BEGIN IMMEDIATE` transactions."""

    engine = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _make_private(self.path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")  # a saved row survives power loss, not only a crash
            db.execute("PRAGMA foreign_keys = ON")
            self._local.db = db
        return db

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        yield self._connection()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Nothing to release: each thread's connection closes with the thread."""


class PostgresDatabase:
    """A PostgreSQL database through a pool of psycopg connections (autocommit outside write transactions)."""

    engine = "postgresql"

    def __init__(self, url: str, *, pool_size: int) -> None:
        from psycopg_pool import ConnectionPool  # only a PostgreSQL deployment needs the driver

        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "row_factory": _row_factory},
            open=True,
            timeout=30,
        )
        self._pool.wait(timeout=30)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self._pool.connection() as connection:
            yield _PostgresConnection(connection)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        with self._pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield _PostgresConnection(connection)

    def close(self) -> None:
        self._pool.close()


class _PostgresConnection:
    """A psycopg connection that takes the history's SQLite spelling."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> Cursor:
        return self._connection.execute(postgres_sql(sql), _values(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[object]]) -> Cursor:
        cursor = self._connection.cursor()
        rows = [_values(row) for row in parameters]
        if rows:
            cursor.executemany(postgres_sql(sql), rows)
        return cursor


def _values(parameters: Sequence[object]) -> tuple[object, ...]:
    """Parameters as SQLite stores them: a bool is the integer 0 or 1 (the schema's flags are INTEGER)."""
    return tuple(int(value) if isinstance(value, bool) else value for value in parameters)


class Row(tuple):
    """A PostgreSQL row read as `sqlite3.Row` is: by position, by column name, and `keys()`."""

    names: tuple[str, ...]

    def __new__(cls, values: Sequence[object], names: tuple[str, ...]) -> Row:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any) -> Any:
    names = tuple(column.name for column in cursor.description or ())
    return lambda values: Row(values, names)


_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|%|\bREAL\b")


def postgres_sql(sql: str) -> str:
    """`sql` in PostgreSQL's spelling: `?` becomes `%s`, a literal `%` is doubled, and a `REAL` column becomes
    `DOUBLE PRECISION` (PostgreSQL's REAL is 4 bytes: it would round a Unix time to about two minutes). Quoted
    strings are left as they are."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token.replace("%", "%%")
        return {"?": "%s", "%": "%%", "REAL": "DOUBLE PRECISION"}[token]

    return _TOKEN.sub(swap, sql)


def _make_private(path: Path) -> None:
    """Create the database readable and writable by this user only, or make an older one so. SQLite creates
    the -wal and -shm files with the database's own permissions, so they follow; older ones are fixed too."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            name.chmod(0o600)
        except FileNotFoundError:  # no WAL yet, or its last user just closed it
            continue
