"""The history schema as small named changes, applied once each, in order, recorded in `migrations`. One list
for both engines, in SQLite's spelling (`core.history.database` turns it into PostgreSQL's).

Adding a column is one new function at the bottom, decorated with `@migration`; nothing else moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.history.database import Connection

MIGRATIONS: list[Callable[[Connection], None]] = []


def migration(function: Callable[[Connection], None]) -> Callable[[Connection], None]:
    """Append a schema change; never edit one that has shipped, add a new one at the bottom."""
    MIGRATIONS.append(function)
    return function


def _run(db: Connection, script: str) -> None:
    """Execute `;`-separated DDL statement by statement (executescript would commit the open transaction)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migration
def m001_initial(db: Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE edits (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created REAL NOT NULL,
            model TEXT NOT NULL,
            region TEXT NOT NULL,
            prompt TEXT NOT NULL,
            negative_prompt TEXT NOT NULL,
            size TEXT NOT NULL,
            n INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            seed_was_random INTEGER NOT NULL,
            prompt_extend INTEGER NOT NULL,
            watermark INTEGER NOT NULL,
            simulated INTEGER NOT NULL,
            base_url TEXT NOT NULL,
            status TEXT NOT NULL,
            request_id TEXT,
            usage_width INTEGER,
            usage_height INTEGER,
            usage_count INTEGER,
            error TEXT
        );
        CREATE INDEX edits_by_owner ON edits (owner, created DESC);
        CREATE TABLE inputs (
            edit_id TEXT NOT NULL REFERENCES edits (id) ON DELETE CASCADE,
            slot INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            ext TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            notes TEXT NOT NULL,
            PRIMARY KEY (edit_id, slot)
        );
        CREATE TABLE outputs (
            edit_id TEXT NOT NULL REFERENCES edits (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            url TEXT NOT NULL,
            expires REAL NOT NULL,
            state TEXT NOT NULL,
            sha256 TEXT,
            width INTEGER,
            height INTEGER,
            bytes INTEGER,
            reason TEXT,
            PRIMARY KEY (edit_id, idx)
        );
        CREATE INDEX outputs_pending ON outputs (state) WHERE state = 'pending';
        CREATE INDEX inputs_by_hash ON inputs (sha256);
        CREATE INDEX outputs_by_hash ON outputs (sha256);
        """,
    )


@migration
def m002_star_and_last_used(db: Connection) -> None:
    _run(
        db,
        """
        ALTER TABLE edits ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE edits ADD COLUMN last_used REAL;
        UPDATE edits SET last_used = created;
        """,
    )


@migration
def m003_exact_size(db: Connection) -> None:
    _run(
        db,
        """
        ALTER TABLE edits ADD COLUMN exact_size TEXT;
        ALTER TABLE outputs ADD COLUMN exact_sha256 TEXT;
        """,
    )


@migration
def m004_runner(db: Connection) -> None:
    _run(db, "ALTER TABLE edits ADD COLUMN runner TEXT")


@migration
def m005_thumbnails(db: Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE thumbnails (
            sha256 TEXT NOT NULL,
            side INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            PRIMARY KEY (sha256, side)
        );
        CREATE INDEX outputs_by_exact_hash ON outputs (exact_sha256);
        """,
    )


@migration
def m006_call_seconds(db: Connection) -> None:
    _run(
        db,
        """
        ALTER TABLE edits ADD COLUMN call_seconds REAL;
        CREATE INDEX edits_answered_by_model ON edits (model, created DESC) WHERE call_seconds IS NOT NULL;
        """,
    )


@migration
def m007_drafts(db: Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE drafts (
            owner TEXT PRIMARY KEY,
            settings TEXT NOT NULL DEFAULT '{}',
            shown TEXT NOT NULL DEFAULT '[]',
            running_since REAL,
            updated REAL NOT NULL
        );
        CREATE TABLE draft_images (
            owner TEXT NOT NULL REFERENCES drafts (owner) ON DELETE CASCADE,
            slot INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            ext TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (owner, slot)
        );
        CREATE INDEX draft_images_by_hash ON draft_images (sha256);
        """,
    )


@migration
def m008_region_edits(db: Connection) -> None:
    """Region edits: the edit's plan (mask, canvas expansion or alignment) and its files, each output's
    composite beside the raw model output, and how it was lined up and blended."""
    _run(
        db,
        """
        ALTER TABLE edits ADD COLUMN region_plan TEXT;
        CREATE TABLE edit_files (
            edit_id TEXT NOT NULL REFERENCES edits (id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            ext TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            PRIMARY KEY (edit_id, role)
        );
        CREATE INDEX edit_files_by_hash ON edit_files (sha256);
        ALTER TABLE outputs ADD COLUMN composite_sha256 TEXT;
        ALTER TABLE outputs ADD COLUMN composite_bytes INTEGER;
        ALTER TABLE outputs ADD COLUMN composite TEXT;
        CREATE INDEX outputs_by_composite_hash ON outputs (composite_sha256);
        """,
    )


# An output's file as people see it: a region edit's composite, else its exact-size version, else the raw output.
SHOWN = "COALESCE(o.composite_sha256, o.exact_sha256, o.sha256)"

PARENTS = f"""UPDATE inputs SET (parent_edit, parent_index) = (
    SELECT o.edit_id, o.idx FROM outputs o JOIN edits made ON made.id = o.edit_id
    JOIN edits this ON this.id = inputs.edit_id
    WHERE (o.edit_id, o.idx) IN (
        SELECT edit_id, idx FROM outputs WHERE composite_sha256 = inputs.sha256
        UNION SELECT edit_id, idx FROM outputs WHERE exact_sha256 = inputs.sha256
        UNION SELECT edit_id, idx FROM outputs WHERE sha256 = inputs.sha256)
      AND {SHOWN} = inputs.sha256 AND o.state = 'saved' AND o.edit_id != inputs.edit_id
      AND made.owner = this.owner AND made.created <= this.created
    ORDER BY made.created DESC, o.idx LIMIT 1)"""
"""Give each input the result it was made from: the newest earlier output of the same owner whose shown file it is
(a "Use as Image k", a result reopened or restored after a reload, a region edit's or an expansion's Image 1 as
given), found from the file's digest through the outputs' hash indexes. Followed by a WHERE clause naming the
inputs to link."""


@migration
def m009_versions(db: Connection) -> None:
    """Versions: the result each input was made from (its parent), the edit a re-run repeated, and results the
    visitor discarded (hidden, recoverable until the quota needs the space). Edits made before are linked from
    their files."""
    _run(
        db,
        """
        ALTER TABLE inputs ADD COLUMN parent_edit TEXT;
        ALTER TABLE inputs ADD COLUMN parent_index INTEGER;
        CREATE INDEX inputs_by_parent ON inputs (parent_edit, parent_index);
        ALTER TABLE edits ADD COLUMN rerun_of TEXT;
        ALTER TABLE outputs ADD COLUMN discarded REAL;
        CREATE INDEX outputs_discarded ON outputs (discarded) WHERE discarded IS NOT NULL;
        """,
    )
    db.execute(PARENTS)


@migration
def m010_replicas(db: Connection) -> None:
    """What replicas of the app share besides history: the hourly edit counts, each (account, rate group)'s
    pacing, the owner-token secret, and a lease on each edit a process works on (renewed while it does)."""
    _run(
        db,
        """
        CREATE TABLE hourly_edits (key TEXT NOT NULL, at REAL NOT NULL, token TEXT NOT NULL);
        CREATE INDEX hourly_edits_by_key ON hourly_edits (key, at);
        CREATE INDEX hourly_edits_by_time ON hourly_edits (at);
        CREATE TABLE pacing (
            account TEXT NOT NULL,
            rate_group TEXT NOT NULL,
            last_start REAL NOT NULL,
            blocked_until REAL NOT NULL,
            PRIMARY KEY (account, rate_group)
        );
        CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        ALTER TABLE edits ADD COLUMN lease_until REAL;
        CREATE INDEX edits_by_runner ON edits (runner) WHERE lease_until IS NOT NULL;
        """,
    )


def apply(db: Connection, upto: int | None = None) -> int:
    """Apply the migrations not applied yet (only the first `upto`, for tests) inside the caller's
    transaction; return how many are applied now."""
    wanted = MIGRATIONS[:upto] if upto is not None else MIGRATIONS
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    for step in wanted:
        if step.__name__ not in done:
            step(db)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (step.__name__, time.time()))
    return db.execute("SELECT COUNT(*) FROM migrations").fetchone()[0]
