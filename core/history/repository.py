"""Edit history: one row per edit, per input and per output, each owned by one visitor, in SQLite or PostgreSQL
(`core.history.database`).

The rows are written as the edit goes (calling -> downloading -> done/failed), so a crash at any point
leaves enough behind to finish the job at the next start: pending outputs keep their result links.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

from core.history import migrations
from core.history.database import Connection, open_database
from core.history.rows import EditRow, FileRow, InputRow, LineageEdit, LineageResult, NotFoundError, OutputRow
from core.links import link_expiry
from core.parameters import EditParameters
from core.processes import RUNNER, runner_alive

LEASE_SECONDS = 30.0
"""How long an edit stays its runner's without a renewal: after that, any replica may take it over."""

# The edits table's parameter columns, in EditParameters.as_dict's spelling (booleans are stored as 0/1).
_PARAMETER_COLUMNS = (
    "model",
    "region",
    "prompt",
    "negative_prompt",
    "size",
    "n",
    "seed",
    "seed_was_random",
    "prompt_extend",
    "watermark",
)


class History:
    """The history database: a SQLite file under the data dir, or PostgreSQL shared by replicas
    (`core.history.database`). Thread-safe."""

    def __init__(
        self, location: str | os.PathLike[str], *, pool_size: int = 8, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.lease_seconds = lease_seconds
        self.database = open_database(location, pool_size=pool_size)
        self.migrate()

    @property
    def path(self) -> Path:
        """The SQLite file (for tests that look inside it); AttributeError on PostgreSQL."""
        return self.database.path  # type: ignore[attr-defined]

    def _write(self) -> AbstractContextManager[Connection]:
        return self.database.writing()

    def _read(self) -> AbstractContextManager[Connection]:
        return self.database.reading()

    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction on the database, for the modules that keep tables of their own in it
        (`core.drafts`): committed when the block ends, rolled back if it raises."""
        return self._write()

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection to read those tables with, for the block's length."""
        return self._read()

    def close(self) -> None:
        """Release the database's connections (a PostgreSQL pool); SQLite's close with their threads."""
        self.database.close()

    def migrate(self, upto: int | None = None) -> int:
        """Apply the migrations not applied yet (only the first `upto`, for tests); return the version."""
        with self._write() as db:
            return migrations.apply(db, upto)

    # ---- writing, as an edit goes -------------------------------------------------------------

    def start_edit(
        self,
        owner: str,
        params: EditParameters,
        inputs: list[InputRow],
        *,
        simulated: bool,
        base_url: str,
        region: dict[str, Any] | None = None,
        files: Sequence[FileRow] = (),
        rerun_of: str | None = None,
    ) -> str:
        """Record an edit about to be sent to `base_url` (status "calling"); return its id. A region edit keeps
        its plan and its own files (the mask). Each input that is one of the owner's results (its shown file)
        records it as its parent; a re-run records the edit it repeated (`rerun_of`, when the owner's)."""
        edit_id = uuid.uuid4().hex
        now = time.time()
        values = params.as_dict()
        with self._write() as db:
            db.execute(
                """INSERT INTO edits (id, owner, created, model, region, prompt, negative_prompt, size, n, seed,
                   seed_was_random, prompt_extend, watermark, simulated, base_url, status, last_used, exact_size,
                   runner, lease_until, region_plan, rerun_of)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'calling', ?, ?, ?, ?, ?,
                   (SELECT id FROM edits WHERE id = ? AND owner = ?))""",
                (
                    edit_id,
                    owner,
                    now,
                    *(values[field] for field in _PARAMETER_COLUMNS),
                    int(simulated),
                    base_url,
                    now,
                    values["exact_size"],
                    RUNNER,
                    now + self.lease_seconds,
                    json.dumps(region) if region is not None else None,
                    rerun_of,
                    owner,
                ),
            )
            db.executemany(
                "INSERT INTO edit_files VALUES (?, ?, ?, ?, ?)",
                [(edit_id, f.role, f.sha256, f.ext, f.bytes) for f in files],
            )
            db.executemany(
                """INSERT INTO inputs (edit_id, slot, sha256, ext, width, height, bytes, notes)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (edit_id, i.slot, i.sha256, i.ext, i.width, i.height, i.bytes, json.dumps(list(i.notes)))
                    for i in inputs
                ],
            )
            db.execute(migrations.PARENTS + " WHERE edit_id = ?", (edit_id,))
        return edit_id

    def record_answer(
        self,
        edit_id: str,
        request_id: str,
        urls: tuple[str, ...],
        usage: tuple[int, int, int],
        now: float,
        call_seconds: float | None = None,
    ) -> None:
        """DashScope answered (after `call_seconds`): keep every result link (pending) before anything is
        downloaded."""
        with self._write() as db:
            db.execute(
                """UPDATE edits SET status = 'downloading', request_id = ?, usage_width = ?, usage_height = ?,
                   usage_count = ?, call_seconds = ? WHERE id = ?""",
                (request_id, *usage, call_seconds, edit_id),
            )
            db.executemany(
                "INSERT INTO outputs (edit_id, idx, url, expires, state) VALUES (?, ?, ?, ?, 'pending')",
                [(edit_id, index, url, link_expiry(url, now)) for index, url in enumerate(urls, start=1)],
            )

    def mark_saved(self, edit_id: str, index: int, sha256: str, width: int, height: int, size: int) -> None:
        """An output's file is complete and fsync'd in the store."""
        with self._write() as db:
            db.execute(
                """UPDATE outputs SET state = 'saved', sha256 = ?, width = ?, height = ?, bytes = ?, reason = NULL
                   WHERE edit_id = ? AND idx = ?""",
                (sha256, width, height, size, edit_id, index),
            )
            self._settle(db, edit_id)

    def mark_exact(self, edit_id: str, index: int, sha256: str) -> None:
        """The exact-size version of an output is saved too."""
        with self._write() as db:
            db.execute("UPDATE outputs SET exact_sha256 = ? WHERE edit_id = ? AND idx = ?", (sha256, edit_id, index))

    def mark_composite(self, edit_id: str, index: int, sha256: str, size: int, details: dict[str, Any]) -> None:
        """A region edit's composite of an output is saved too, with how it was made."""
        with self._write() as db:
            db.execute(
                """UPDATE outputs SET composite_sha256 = ?, composite_bytes = ?, composite = ?
                   WHERE edit_id = ? AND idx = ?""",
                (sha256, size, json.dumps(details), edit_id, index),
            )

    def mark_output(self, edit_id: str, index: int, *, failed: bool, reason: str) -> None:
        """An output could not be saved: failed for good, or still pending (retried while its link lives)."""
        with self._write() as db:
            db.execute(
                "UPDATE outputs SET state = ?, reason = ? WHERE edit_id = ? AND idx = ? AND state = 'pending'",
                ("failed" if failed else "pending", reason, edit_id, index),
            )
            self._settle(db, edit_id)

    def fail_edit(self, edit_id: str, error: str, request_id: str | None = None) -> None:
        """The call itself failed: nothing was made (or nothing can be recovered)."""
        with self._write() as db:
            db.execute(
                "UPDATE edits SET status = 'failed', error = ?, request_id = COALESCE(?, request_id) WHERE id = ?",
                (error, request_id, edit_id),
            )

    def cancel_edit(self, edit_id: str, reason: str) -> None:
        """The edit was cancelled before DashScope made anything (status "cancelled"): nothing was billed."""
        with self._write() as db:
            db.execute("UPDATE edits SET status = 'cancelled', error = ? WHERE id = ?", (reason, edit_id))

    def mark_waiting(self, edit_id: str, waiting: bool) -> None:
        """The edit waits for its turn under DashScope's rate limit (status "waiting": nothing sent yet), or is
        about to be sent after all ("calling")."""
        status, before = ("waiting", "calling") if waiting else ("calling", "waiting")
        with self._write() as db:
            db.execute("UPDATE edits SET status = ? WHERE id = ? AND status = ?", (status, edit_id, before))

    def interrupted_calls(self, reason: str, waiting_reason: str) -> int:
        """Mark edits whose runner has stopped (`abandoned`): a call under way failed (`reason`), an edit that
        was still waiting for its turn cancelled (`waiting_reason`: it was never sent). Return how many calls
        were cut off mid-way. Edits of runners still at work (another replica, the CLI) are left alone."""
        now = time.time()
        with self._write() as db:
            rows = db.execute(
                "SELECT id, runner, lease_until, status FROM edits WHERE status IN ('calling', 'waiting')"
            ).fetchall()
            dead = [row for row in rows if abandoned(row["runner"], row["lease_until"], now)]
            calls = [(reason, row["id"]) for row in dead if row["status"] == "calling"]
            waits = [(waiting_reason, row["id"]) for row in dead if row["status"] == "waiting"]
            db.executemany("UPDATE edits SET status = 'failed', error = ? WHERE id = ?", calls)
            db.executemany("UPDATE edits SET status = 'cancelled', error = ? WHERE id = ?", waits)
            return len(calls)

    def renew_leases(self) -> None:
        """Extend the lease of every edit this process is working on."""
        with self._write() as db:
            db.execute(
                "UPDATE edits SET lease_until = ? WHERE runner = ? AND lease_until IS NOT NULL",
                (time.time() + self.lease_seconds, RUNNER),
            )

    def release(self, edit_id: str) -> None:
        """This process is done with the edit: what it left pending is anyone's to resume."""
        with self._write() as db:
            db.execute("UPDATE edits SET lease_until = NULL WHERE id = ? AND runner = ?", (edit_id, RUNNER))

    def claim_pending(self, *, orphans_only: bool = False) -> list[Pending]:
        """Take the lease of every edit with outputs still to download that nobody works on, and return those
        outputs (release each edit when done with it). With `orphans_only`, only edits whose runner stopped
        while it held them: not those it finished with and left pending to retry later."""
        now = time.time()
        with self._write() as db:
            rows = db.execute(_PENDING).fetchall()
            free = [
                row
                for row in rows
                if abandoned(row["runner"], row["lease_until"], now)
                and not (orphans_only and row["lease_until"] is None)
            ]
            edits = sorted({row["edit_id"] for row in free})
            db.executemany(
                "UPDATE edits SET runner = ?, lease_until = ? WHERE id = ?",
                [(RUNNER, now + self.lease_seconds, edit_id) for edit_id in edits],
            )
        return [_pending(row) for row in free]

    @staticmethod
    def _settle(db: Connection, edit_id: str) -> None:
        states = [row[0] for row in db.execute("SELECT state FROM outputs WHERE edit_id = ?", (edit_id,))]
        if states and "pending" not in states:
            db.execute("UPDATE edits SET status = 'done' WHERE id = ?", (edit_id,))

    # ---- reading ---------------------------------------------------------------------------------

    def pending_outputs(self) -> list[Pending]:
        """Every output not saved yet, across owners, with what resuming it needs."""
        with self._read() as db:
            rows = db.execute(_PENDING).fetchall()
        return [_pending(row) for row in rows]

    def call_seconds(self, model: str, *, simulated: bool, last: int = 20) -> list[float]:
        """How long DashScope (or the simulator) took to answer the `last` answered calls of `model`, newest
        first, across owners: a model's speed is the service's, not anyone's data."""
        with self._read() as db:
            rows = db.execute(
                """SELECT call_seconds FROM edits WHERE model = ? AND simulated = ? AND call_seconds IS NOT NULL
                   ORDER BY created DESC LIMIT ?""",
                (model, int(simulated), last),
            ).fetchall()
        return [row[0] for row in rows]

    def get(self, owner: str, edit_id: str) -> EditRow:
        """One edit of `owner` with its inputs and outputs; NotFoundError for anyone else's."""
        with self._read() as db:
            row = db.execute("SELECT * FROM edits WHERE id = ? AND owner = ?", (edit_id, owner)).fetchone()
            if row is None:
                raise NotFoundError(edit_id)
            return self._full(db, row)

    def list(
        self,
        owner: str,
        *,
        search: str = "",
        model: str = "",
        limit: int = 50,
        offset: int = 0,
        discarded: bool = True,
    ) -> list[EditRow]:
        """The owner's edits, newest first, optionally filtered by prompt text and model; without `discarded`,
        not those whose results were all discarded (History's default view)."""
        clauses, args = ["owner = ?"], [owner]
        if not discarded:
            clauses.append(
                """NOT (EXISTS (SELECT 1 FROM outputs o WHERE o.edit_id = edits.id AND o.discarded IS NOT NULL)
                   AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.edit_id = edits.id AND o.discarded IS NULL))"""
            )
        if search.strip():
            clauses.append("prompt LIKE ? ESCAPE '\\'")
            args.append("%" + _escape_like(search.strip()) + "%")
        if model:
            clauses.append("model = ?")
            args.append(model)
        with self._read() as db:
            rows = db.execute(
                f"SELECT * FROM edits WHERE {' AND '.join(clauses)} ORDER BY created DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
            return [self._full(db, row) for row in rows]

    def _full(self, db: Connection, row: Any) -> EditRow:
        inputs = tuple(
            InputRow(
                r["slot"],
                r["sha256"],
                r["ext"],
                r["width"],
                r["height"],
                r["bytes"],
                tuple(json.loads(r["notes"])),
                (r["parent_edit"], r["parent_index"]) if r["parent_edit"] else None,
            )
            for r in db.execute("SELECT * FROM inputs WHERE edit_id = ? ORDER BY slot", (row["id"],))
        )
        outputs = tuple(
            _output(r) for r in db.execute("SELECT * FROM outputs WHERE edit_id = ? ORDER BY idx", (row["id"],))
        )
        values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - neither engine's row has items()
        for flag in ("seed_was_random", "prompt_extend", "watermark", "simulated", "starred"):
            values[flag] = bool(values[flag])
        values["last_used"] = values["last_used"] or values["created"]
        plan = values.pop("region_plan")
        values["plan"] = json.loads(plan) if plan else None
        if values["plan"] is not None:
            files = db.execute("SELECT role, sha256, ext FROM edit_files WHERE edit_id = ?", (row["id"],))
            values["plan"]["files"] = {f["role"]: {"sha256": f["sha256"], "ext": f["ext"]} for f in files}
        return EditRow(**values, inputs=inputs, outputs=outputs)

    # ---- owner actions -----------------------------------------------------------------------------

    def star(self, owner: str, edit_id: str, starred: bool = True) -> None:
        """Protect an edit from eviction (or stop protecting it)."""
        self._owned_update(owner, edit_id, "UPDATE edits SET starred = ? WHERE id = ? AND owner = ?", int(starred))

    def touch(self, owner: str, edit_id: str) -> None:
        """The owner used the edit (reopened, re-ran, downloaded): it is evicted last."""
        self._owned_update(owner, edit_id, "UPDATE edits SET last_used = ? WHERE id = ? AND owner = ?", time.time())

    def discard(self, owner: str, edit_id: str, index: int, discarded: bool = True) -> None:
        """Discard a result of `owner` (hidden from versions and History's default view, evicted first), or keep it
        again; NotFoundError for a result that is not theirs."""
        with self._write() as db:
            changed = db.execute(
                """UPDATE outputs SET discarded = ? WHERE edit_id = ? AND idx = ?
                   AND edit_id IN (SELECT id FROM edits WHERE owner = ?)""",
                (time.time() if discarded else None, edit_id, index, owner),
            ).rowcount
            if changed == 0:
                raise NotFoundError(edit_id)

    def lineage(self, owner: str) -> tuple[list[LineageEdit], list[LineageResult]]:
        """What the versions tree is built from, `owner`'s only: each edit, oldest first, and each saved result."""
        with self._read() as db:
            edits = db.execute(
                """SELECT e.id, e.created, e.prompt, e.rerun_of,
                     (SELECT i.parent_edit FROM inputs i WHERE i.edit_id = e.id AND i.parent_edit IS NOT NULL
                      ORDER BY i.slot LIMIT 1) AS parent_edit,
                     (SELECT i.parent_index FROM inputs i WHERE i.edit_id = e.id AND i.parent_edit IS NOT NULL
                      ORDER BY i.slot LIMIT 1) AS parent_index,
                     (SELECT i.sha256 FROM inputs i WHERE i.edit_id = e.id ORDER BY i.slot LIMIT 1) AS first_sha256,
                     (SELECT i.ext FROM inputs i WHERE i.edit_id = e.id ORDER BY i.slot LIMIT 1) AS first_ext
                   FROM edits e WHERE e.owner = ? ORDER BY e.created""",
                (owner,),
            ).fetchall()
            outputs = db.execute(
                f"""SELECT o.edit_id, o.idx, {migrations.SHOWN} AS shown, o.discarded FROM outputs o
                    JOIN edits e ON e.id = o.edit_id WHERE e.owner = ? AND o.state = 'saved'
                    ORDER BY o.edit_id, o.idx""",
                (owner,),
            ).fetchall()
        return (
            [
                LineageEdit(
                    e["id"],
                    e["created"],
                    e["prompt"],
                    e["rerun_of"],
                    (e["parent_edit"], e["parent_index"]) if e["parent_edit"] else None,
                    (e["first_sha256"], e["first_ext"]) if e["first_sha256"] else None,
                )
                for e in edits
            ],
            [LineageResult(o["edit_id"], o["idx"], o["shown"], o["discarded"] is not None) for o in outputs],
        )

    def _owned_update(self, owner: str, edit_id: str, sql: str, value: object) -> None:
        with self._write() as db:
            if db.execute(sql, (value, edit_id, owner)).rowcount == 0:
                raise NotFoundError(edit_id)

    def delete(self, owner: str, edit_id: str) -> list[tuple[str, str]]:
        """Delete an edit of `owner`; return the (sha256, ext) of its files that no row referred to once it was
        gone (the store asks `references` again, under its lock, before removing any)."""
        with self._write() as db:
            files = _files_of(db, edit_id)
            if db.execute("DELETE FROM edits WHERE id = ? AND owner = ?", (edit_id, owner)).rowcount == 0:
                raise NotFoundError(edit_id)
            return [f for f in files if not _referenced(db, f[0])]

    def drop_output(self, owner: str, edit_id: str, index: int) -> list[tuple[str, str]]:
        """Remove a result of `owner` from history (its edit stays); return the (sha256, ext) of its files that no
        row referred to once it was gone, as `delete` does."""
        with self._write() as db:
            files = db.execute(
                """SELECT sha256 FROM outputs WHERE edit_id = ? AND idx = ? AND sha256 IS NOT NULL
                   UNION SELECT exact_sha256 FROM outputs WHERE edit_id = ? AND idx = ? AND exact_sha256 IS NOT NULL
                   UNION SELECT composite_sha256 FROM outputs WHERE edit_id = ? AND idx = ?
                   AND composite_sha256 IS NOT NULL""",
                (edit_id, index) * 3,
            ).fetchall()
            dropped = db.execute(
                """DELETE FROM outputs WHERE edit_id = ? AND idx = ?
                   AND edit_id IN (SELECT id FROM edits WHERE owner = ?)""",
                (edit_id, index, owner),
            ).rowcount
            if dropped == 0:
                raise NotFoundError(edit_id)
            return [(row[0], "png") for row in files if not _referenced(db, row[0])]

    def references(self, sha256: str) -> bool:
        """True while any edit's input or output (or exact-size version), or any Studio draft, is the file with
        this digest, as committed now."""
        with self._read() as db:
            return _referenced(db, sha256)

    def owns_file(self, owner: str, sha256: str) -> bool:
        """True while an edit of `owner` has the file with this digest as an input or an output."""
        queries = (
            "SELECT 1 FROM inputs i JOIN edits e ON e.id = i.edit_id WHERE e.owner = ? AND i.sha256 = ? LIMIT 1",
            """SELECT 1 FROM outputs o JOIN edits e ON e.id = o.edit_id
               WHERE e.owner = ? AND ? IN (o.sha256, o.exact_sha256, o.composite_sha256) LIMIT 1""",
            "SELECT 1 FROM edit_files f JOIN edits e ON e.id = f.edit_id WHERE e.owner = ? AND f.sha256 = ? LIMIT 1",
        )
        with self._read() as db:
            return any(db.execute(query, (owner, sha256)).fetchone() is not None for query in queries)

    def record_thumbnail(self, sha256: str, side: int, size: int) -> None:
        """A thumbnail of `size` bytes exists of that file: from now on it counts in `usage_bytes`."""
        with self._write() as db:
            db.execute(
                """INSERT INTO thumbnails VALUES (?, ?, ?)
                   ON CONFLICT (sha256, side) DO UPDATE SET bytes = excluded.bytes""",
                (sha256, side, size),
            )

    def forget_thumbnails(self, sha256: str) -> None:
        """That file's thumbnails were removed with it."""
        with self._write() as db:
            db.execute("DELETE FROM thumbnails WHERE sha256 = ?", (sha256,))

    def usage_bytes(self, owner: str | None = None) -> int:
        """Bytes referenced by the owner's edits, their files' thumbnails included, and by their Studio draft
        (each reference counts), or by everyone's."""
        where, args = ("WHERE e.owner = ?", (owner,)) if owner is not None else ("", ())
        with self._read() as db:
            return sum(int(db.execute(query.format(where=where), args).fetchone()[0]) for query in _USAGE)

    def discarded_order(self, owner: str | None = None) -> list[tuple[str, str, int]]:
        """(owner, edit id, index) of discarded results of finished, unstarred edits that no later edit was made
        from, discarded longest ago first: what quota eviction takes before whole edits."""
        where, args = ("AND e.owner = ?", (owner,)) if owner is not None else ("", ())
        with self._read() as db:
            rows = db.execute(
                f"""SELECT e.owner, o.edit_id, o.idx FROM outputs o JOIN edits e ON e.id = o.edit_id
                    WHERE o.discarded IS NOT NULL AND e.starred = 0 AND e.status IN ('done', 'failed', 'cancelled')
                    {where}
                    AND NOT EXISTS (SELECT 1 FROM inputs i WHERE i.parent_edit = o.edit_id AND i.parent_index = o.idx)
                    ORDER BY o.discarded""",
                args,
            ).fetchall()
        return [(row["owner"], row["edit_id"], row["idx"]) for row in rows]

    def eviction_order(self, owner: str | None = None) -> list[tuple[str, str]]:
        """(owner, edit id) of unstarred, finished edits, least recently used first."""
        where, args = ("AND owner = ?", (owner,)) if owner is not None else ("", ())
        with self._read() as db:
            rows = db.execute(
                f"""SELECT owner, id FROM edits WHERE starred = 0 AND status IN ('done', 'failed', 'cancelled') {where}
                    ORDER BY COALESCE(last_used, created), created""",
                args,
            ).fetchall()
        return [(row["owner"], row["id"]) for row in rows]


_USAGE = (
    "SELECT COALESCE(SUM(i.bytes), 0) FROM inputs i JOIN edits e ON e.id = i.edit_id {where}",
    "SELECT COALESCE(SUM(o.bytes), 0) FROM outputs o JOIN edits e ON e.id = o.edit_id {where}",
    """SELECT COALESCE(SUM(t.bytes), 0) FROM inputs i JOIN edits e ON e.id = i.edit_id
       JOIN thumbnails t ON t.sha256 = i.sha256 {where}""",
    """SELECT COALESCE(SUM(t.bytes), 0) FROM outputs o JOIN edits e ON e.id = o.edit_id
       JOIN thumbnails t ON t.sha256 IN (o.sha256, o.exact_sha256, o.composite_sha256) {where}""",
    "SELECT COALESCE(SUM(o.composite_bytes), 0) FROM outputs o JOIN edits e ON e.id = o.edit_id {where}",
    "SELECT COALESCE(SUM(f.bytes), 0) FROM edit_files f JOIN edits e ON e.id = f.edit_id {where}",
    "SELECT COALESCE(SUM(e.bytes), 0) FROM draft_images e {where}",  # "e": the owner's column, as above
)
"""What `usage_bytes` adds up: the inputs' and outputs' files, the thumbnails of each, region edits' composites
and masks, then the drafts' images."""


class Pending(NamedTuple):
    """An output still to download: its edit's owner, base URL, exact size asked for, whether it is a region
    edit (whose composite is made when the output lands), and the output."""

    owner: str
    base_url: str
    exact_size: str | None
    regional: bool
    output: OutputRow


def abandoned(runner: str | None, lease_until: float | None, now: float) -> bool:
    """True when nobody works on an edit: its lease was let go (None) or ran out, or its runner is a process of
    this machine that has stopped. A lease of this very process is always held."""
    if lease_until is None:
        return True
    if runner == RUNNER:
        return False
    return lease_until <= now or not runner_alive(runner)


_PENDING = """SELECT e.owner, e.base_url, e.exact_size, e.region_plan IS NOT NULL AS regional, e.runner,
                     e.lease_until, o.*
              FROM outputs o JOIN edits e ON e.id = o.edit_id WHERE o.state = 'pending' ORDER BY o.edit_id, o.idx"""
"""Every output still to download, with what resuming it needs and who holds its edit."""


def _pending(row: Any) -> Pending:
    return Pending(row["owner"], row["base_url"], row["exact_size"], bool(row["regional"]), _output(row))


def _output(row: Any) -> OutputRow:
    return OutputRow(
        row["edit_id"],
        row["idx"],
        row["url"],
        row["expires"],
        row["state"],
        row["sha256"],
        row["width"],
        row["height"],
        row["bytes"],
        row["reason"],
        row["exact_sha256"],
        row["composite_sha256"],
        json.loads(row["composite"]) if row["composite"] else None,
        row["discarded"],
    )


def _files_of(db: Connection, edit_id: str) -> list[tuple[str, str]]:
    inputs = db.execute("SELECT sha256, ext FROM inputs WHERE edit_id = ?", (edit_id,)).fetchall()
    outputs = db.execute(
        """SELECT sha256, 'png' FROM outputs WHERE edit_id = ? AND sha256 IS NOT NULL
           UNION ALL SELECT exact_sha256, 'png' FROM outputs WHERE edit_id = ? AND exact_sha256 IS NOT NULL
           UNION ALL SELECT composite_sha256, 'png' FROM outputs WHERE edit_id = ? AND composite_sha256 IS NOT NULL
           UNION ALL SELECT sha256, ext FROM edit_files WHERE edit_id = ?""",
        (edit_id, edit_id, edit_id, edit_id),
    ).fetchall()
    return [(row[0], row[1]) for row in [*inputs, *outputs]]


def _referenced(db: Connection, sha256: str) -> bool:
    return (
        db.execute("SELECT 1 FROM inputs WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None
        or db.execute(
            "SELECT 1 FROM outputs WHERE ? IN (sha256, exact_sha256, composite_sha256) LIMIT 1", (sha256,)
        ).fetchone()
        is not None
        or db.execute("SELECT 1 FROM edit_files WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None
        or db.execute("SELECT 1 FROM draft_images WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
