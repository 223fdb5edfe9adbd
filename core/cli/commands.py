"""The `qwen-edit` subcommands: each turns parsed flags into core calls and prints what happened."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TextIO

from core import errors, names
from core.caller import Caller
from core.cli.output import ProgressBar, fail, note, table
from core.history import EditRow, NotFoundError
from core.settings import Settings
from core.studio import EditResult, Progress, Stage, Studio
from core.workflows import batch, entries, explore, export
from core.workflows.plan import Cell, Plan

EXIT_OK = 0
EXIT_FAILED = 1  # an edit, batch line or plan cell failed
EXIT_USAGE = 2  # the command line or an input file cannot be used; nothing was sent
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line or an input file cannot be used (exit status 2)."""


def cmd_edit(args: argparse.Namespace, studio: Studio) -> int:
    """One edit from flags."""
    caller = operator(args, studio)
    entry = {
        "images": args.images,
        "prompt": args.prompt,
        "negative_prompt": args.negative_prompt,
        "model": args.model,
        "region": args.region,
        "size": args.size,
        "n": args.n,
        "seed": args.seed,
        "prompt_extend": args.prompt_extend,
        "watermark": args.watermark,
        "mask": args.mask,
        "align": args.align,
        "keep_unchanged": args.keep_unchanged,
        "expand": args.expand,
    }
    try:
        request = entries.request_from_entry(entry, studio, Path.cwd(), caller.key)
    except errors.EditError as error:
        return fail(entries.describe(error, args.images, args.lang, args.mask), EXIT_USAGE)
    try:
        result = studio.edit(request, caller, on_progress=edit_progress(sys.stderr, args.lang)).require_images()
    except errors.EditError as error:
        return fail(error.message(args.lang), EXIT_FAILED)
    out = Path(args.out)
    created = studio.history.get(caller.owner, result.edit_id).created
    files, raws, record = batch.save_result(result, out, output_stem(out, created, result), sep="_")
    for path in [*files, *raws, record]:
        print(path)
    for failure in result.failures:
        note(failure.message(args.lang))
    params = request.params
    note(
        f"{len(files)} image(s), seed {params.seed}, {result.usage.width}x{result.usage.height}, {result.seconds:.1f} s"
    )
    return EXIT_FAILED if result.failures else EXIT_OK


def output_stem(out: Path, created: float, result: EditResult) -> str:
    """The stem of an edit's files in `out`: "2026-12-02_1405_make-it-a-watercolour" (date, prompt start), with
    the start of the edit's id added when an earlier edit in `out` has that name (nothing is overwritten)."""
    stem = names.edit_name(created, result.request.params.prompt)
    if (out / f"{stem}.json").exists() or (out / f"{stem}_1.png").exists():
        stem = names.edit_name(created, result.request.params.prompt, result.edit_id[:4])
    return stem


def edit_progress(stream: TextIO, lang: str = "en") -> Callable[[Progress], None]:
    waiting = waiting_notes(stream, lang)
    retried = 0  # the studio retells a retry's countdown each second: one line per retry is enough here

    def show(progress: Progress) -> None:
        nonlocal retried
        if progress.stage is Stage.WAITING:
            waiting(progress)
        elif progress.stage is Stage.CALLING:
            stream.write("calling the model...\n")
        elif progress.stage is Stage.RETRYING and progress.retry and progress.retry.attempt > retried:
            retry = progress.retry
            retried = retry.attempt
            stream.write(f"{retry.reason}: retrying in {retry.delay:.1f} s ({retry.attempt}/{retry.attempts})\n")
        elif progress.stage is Stage.SAVED:
            stream.write(f"saved {progress.done}/{progress.total}\n")
        stream.flush()

    return show


def waiting_notes(stream: TextIO, lang: str, every: float = 10.0) -> Callable[[Progress], None]:
    """Writes a waiting step's message (DashScope's rate limit) when a wait begins, then at most every
    `every` seconds: the studio tells it each second."""
    last = -math.inf

    def show(progress: Progress) -> None:
        nonlocal last
        if progress.waiting is None or time.monotonic() - last < every:
            return
        last = time.monotonic()
        stream.write(progress.waiting.message(lang) + "\n")
        stream.flush()

    return show


def operator(args: argparse.Namespace, studio: Studio) -> Caller:
    """The CLI is run by whoever owns the configured key: its edits go to `--owner` and are not counted
    against the page's per-visitor hourly limit. The simulator never sees the real key."""
    return Caller(args.owner, None if studio.simulated else studio.settings.api_key)


# --- batch --------------------------------------------------------------------------------------


def cmd_batch(args: argparse.Namespace, studio: Studio) -> int:
    """Run a JSONL file of edits; lines done by an earlier run are skipped."""
    try:
        job = batch.Batch(
            Path(args.file),
            Path(args.out),
            studio,
            caller=operator(args, studio),
            lang=args.lang,
            on_progress=waiting_notes(sys.stderr, args.lang),
        )
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {args.file}: {getattr(error, 'strerror', None) or error}") from None
    if not job.lines:
        raise UsageError(f"{args.file} holds no requests: one JSON object per line (see qwen-edit batch --help)")
    outcomes = {number: batch.LineOutcome(number, "skipped", "done in an earlier run") for number in job.done_earlier()}
    if outcomes:
        note(f"skipping {len(outcomes)} line(s) done in an earlier run")
    cut_short = job.cut_short_earlier()
    if cut_short:
        numbers = ", ".join(map(str, cut_short))
        note(
            f"line(s) {numbers} were in flight when an earlier run stopped: sent again (that call may have been billed)"
        )
    todo = [(number, text) for number, text in job.lines if number not in outcomes]
    bar = ProgressBar(len(job.lines), sys.stderr, skipped=len(outcomes))

    def finished(outcome: batch.LineOutcome) -> None:
        outcomes[outcome.number] = outcome
        bar.advance(f"line {outcome.number}: {outcome.status}", failed=outcome.failed)

    interrupted = False
    with ThreadPoolExecutor(max_workers=args.jobs, thread_name_prefix="batch") as pool:
        futures = [pool.submit(job.run_line, number, text) for number, text in todo]
        try:
            for future in as_completed(futures):
                finished(future.result())
        except KeyboardInterrupt:
            interrupted = True
            note("interrupted: lines not started are left for the next run; waiting for those in flight")
            for future in futures:
                future.cancel()
            for future in futures:
                if not future.cancelled() and future.result().number not in outcomes:
                    finished(future.result())
    bar.close()
    for number, _text in todo:
        outcomes.setdefault(number, batch.LineOutcome(number, "not run", "interrupted; run the batch again"))
    _print_batch_summary([outcomes[number] for number, _text in job.lines])
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if any(outcome.failed for outcome in outcomes.values()) else EXIT_OK


def _print_batch_summary(outcomes: list[batch.LineOutcome]) -> None:
    rows = [
        [
            str(o.number),
            o.status,
            str(o.images) if o.images else "-",
            "-" if o.seed is None else str(o.seed),
            "-" if o.seconds is None else f"{o.seconds:.1f}",
            o.detail,
        ]
        for o in outcomes
    ]
    print(table(["line", "status", "images", "seed", "seconds", "detail"], rows))
    counts = Counter(outcome.status for outcome in outcomes)
    print(f"{len(outcomes)} line(s): " + ", ".join(f"{count} {status}" for status, count in counts.items()))


# --- explore ------------------------------------------------------------------------------------


def cmd_explore(args: argparse.Namespace, studio: Studio) -> int:
    """Run an exploration plan and export it."""
    path = Path(args.plan)
    spec = _read_json_object(path)
    try:
        plan = entries.plan_from_spec(spec, studio, path.parent, operator(args, studio).key)
    except entries.LineError as error:
        raise UsageError(f"{path}: {error}") from None
    except errors.EditError as error:
        return fail(entries.describe(error, spec.get("images"), args.lang), EXIT_USAGE)
    rows = args.rows or spec.get("rows") or "prompt"
    columns = args.columns or spec.get("columns") or ("seed" if rows != "seed" else "prompt")
    try:
        plan.grid(rows, columns)
    except ValueError as error:
        raise UsageError(f"contact sheet: {error}") from None
    note(cost_line(plan, studio.settings))
    if args.dry_run:
        cells = [
            [str(c.index + 1), c.params.prompt, str(c.params.seed), c.params.model, _size(c), str(c.params.n)]
            for c in plan.cells
        ]
        print(table(["cell", "prompt", "seed", "model", "size", "n"], cells))
        return EXIT_OK
    bar = ProgressBar(plan.count, sys.stderr)
    waiting = waiting_notes(sys.stderr, args.lang)
    run = explore.run_plan(studio, plan, operator(args, studio), on_progress=lambda _cell, step: waiting(step))
    interrupted = False
    try:
        for outcome in run.outcomes():
            label = f"cell {outcome.cell.index + 1}: {outcome.state.value}"
            bar.advance(label, failed=outcome.state is explore.CellState.FAILED)
    except KeyboardInterrupt:
        interrupted = True
        run.cancel()
        note("interrupted: cells not started are cancelled; waiting for those in flight")
    outcomes = run.wait()
    bar.close()
    out = Path(args.out)
    archive = export.export_run(plan, outcomes, out / export.archive_name("explore"), rows=rows, columns=columns)
    sheet = archive.with_name(archive.stem + "-contact-sheet.png")
    with zipfile.ZipFile(archive) as opened:
        sheet.write_bytes(opened.read("contact-sheet.png"))
    _print_explore_summary(plan, outcomes, args.lang)
    print(archive)
    print(sheet)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if any(o.state is not explore.CellState.DONE for o in outcomes) else EXIT_OK


def cost_line(plan: Plan, settings: Settings) -> str:
    """ "12 edits, 24 images billed" (and roughly what that costs, when a price is configured)."""
    text = f"{plan.count} edit(s), {plan.images_billed} image(s) billed"
    price = settings.price_per_image
    return f"{text} ≈ {plan.cost(price)} {price.currency}" if price else text


def _size(cell: Cell) -> str:
    return str(cell.params.size) if cell.params.size else "auto"


def _print_explore_summary(plan: Plan, outcomes: Sequence[explore.CellOutcome], lang: str) -> None:
    rows = []
    for outcome in outcomes:
        params = outcome.cell.params
        result = outcome.result
        detail = outcome.error.message(lang) if outcome.error else ""
        images = str(len(result.images)) if result else "-"
        prompt = params.prompt if len(params.prompt) <= 40 else params.prompt[:39] + "…"
        cell = str(outcome.cell.index + 1)
        rows.append(
            [cell, outcome.state.value, prompt, str(params.seed), params.model, _size(outcome.cell), images, detail]
        )
    print(table(["cell", "state", "prompt", "seed", "model", "size", "images", "detail"], rows))
    done = sum(o.state is explore.CellState.DONE for o in outcomes)
    print(f"{plan.count} cell(s): {done} done, {len(outcomes) - done} not done")


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path} must hold a JSON object (see qwen-edit explore --help)")
    return value


# --- history ------------------------------------------------------------------------------------


def cmd_history_list(args: argparse.Namespace, studio: Studio) -> int:
    """The owner's edits, newest first."""
    edits = studio.history.list(args.owner, search=args.search, model=args.model, limit=args.limit)
    if args.json:
        print(json.dumps([_edit_json(edit) for edit in edits], ensure_ascii=False, indent=2))
        return EXIT_OK
    rows = [
        [
            edit.id,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(edit.created)),
            edit.status,
            edit.model,
            edit.size,
            f"{sum(o.state == 'saved' for o in edit.outputs)}/{edit.n}",
            str(edit.seed),
            edit.prompt if len(edit.prompt) <= 50 else edit.prompt[:49] + "…",
        ]
        for edit in edits
    ]
    print(table(["edit id", "created", "status", "model", "size", "saved", "seed", "prompt"], rows))
    return EXIT_OK


def _edit_json(edit: EditRow) -> dict[str, Any]:
    return {**edit.parameters(), "saved": sum(output.state == "saved" for output in edit.outputs)}


def cmd_history_export(args: argparse.Namespace, studio: Studio) -> int:
    """A zip of chosen edits (or the latest ones)."""
    try:
        edits = [studio.history.get(args.owner, edit_id) for edit_id in args.edit_ids]
    except NotFoundError as error:
        raise UsageError(f"no edit {error} in the history of owner {args.owner!r}") from None
    if not args.edit_ids:
        edits = studio.history.list(args.owner, search=args.search, limit=args.limit)
    if not edits:
        raise UsageError(f"nothing to export: owner {args.owner!r} has no such edits")
    destination = export.export_zip(edits, studio.store, Path(args.out))
    print(destination)
    note(f"{len(edits)} edit(s) exported")
    return EXIT_OK
