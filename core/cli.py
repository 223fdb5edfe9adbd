"""`qwen-edit`: the studio from the command line, for scripts and batch runs.

A thin shell over core: every request goes through EditRequest (the page's checks and messages), every
edit through Studio (the page's history and content store, under the same data dir).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TextIO

from core import batch, catalog, errors, explore
from core.export import export_zip
from core.history import EditRow, NotFoundError
from core.settings import Settings, SettingsError
from core.studio import LOCAL_OWNER, Progress, Stage, Studio

EXIT_OK = 0
EXIT_FAILED = 1  # an edit, batch line or plan cell failed
EXIT_USAGE = 2  # the command line or an input file cannot be used; nothing was sent
EXIT_INTERRUPTED = 130

PLAN_KEYS = (
    "images",
    "prompts",
    "seeds",
    "random_seeds",
    "models",
    "sizes",
    "negative_prompt",
    "n",
    "region",
    "prompt_extend",
    "watermark",
    "rows",
    "columns",
)
_EXIT_CODES = """exit status: 0 all done; 1 an edit, line or cell failed (the others still ran);
2 bad command line or input file (nothing was sent); 130 interrupted"""
_BATCH_FORMAT = """Each non-blank line of FILE is one JSON object:
  {"images": ["a.png", "b.jpg"], "prompt": "put the hat of Image 2 on Image 1",
   "negative_prompt": "blurry", "model": "qwen-image-edit-plus", "region": "singapore",
   "size": "auto" or "1024*1536", "n": 2, "seed": 42 (or -1 for random),
   "prompt_extend": true, "watermark": false}
Only "images" (1 to 3 paths, relative to FILE's folder, or links) and "prompt" are required.
Links are fetched only from DashScope's result storage (or the configured endpoint); anything
else is refused: download it and give its path.

Each line writes line-NNNN-K.png and line-NNNN.json to DIR. Lines already done are recorded in
DIR/.qwen-edit-batch.jsonl and skipped when the batch runs again (a changed line runs again),
so rerunning an interrupted batch finishes only the missing lines."""
_PLAN_FORMAT = """PLAN is a JSON object; every cell is one edit of the same images:
  {"images": ["photo.png"],
   "prompts": ["make it {night|winter|autumn}", "add a red hat"]   (or one text, a variant per line),
   "seeds": [1, 2, 3]   and/or   "random_seeds": 3,
   "models": ["qwen-image-edit-plus"], "sizes": ["auto", "1024*1024"],
   "n": 1, "negative_prompt": "", "region": "singapore", "prompt_extend": true, "watermark": false,
   "rows": "prompt", "columns": "seed"}
Each {a|b|c} group multiplies its line's variants. Cells = prompts x seeds x models x sizes, at most
QWEN_EDIT_EXPLORE_MAX_CELLS (48); QWEN_EDIT_EXPLORE_CONCURRENCY (4) run at once. Writes
explore-<time>.zip (PNGs, cells.csv, cells.json, contact-sheet.png) and the contact sheet to DIR."""


class UsageError(Exception):
    """The command line or an input file cannot be used (exit status 2)."""


# --- entry point ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """The `qwen-edit` console script."""
    raise SystemExit(run(list(sys.argv[1:] if argv is None else argv)))


def run(argv: list[str]) -> int:
    """Run one command; return its exit status."""
    if argv[:1] == ["simulate"]:  # the simulator parses its own options (and prints its own --help)
        from core.simulator.__main__ import main as simulate

        simulate(argv[1:])
        return EXIT_OK
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="qwen-edit: %(message)s")
    try:
        settings = Settings.from_env(data_dir=args.data_dir, simulate=True if args.simulate else None)
    except SettingsError as error:
        return _fail(str(error), EXIT_USAGE)
    except errors.EditError as error:
        return _fail(error.message(args.lang), EXIT_USAGE)
    studio = Studio(settings)
    try:
        if studio.simulated and args.command != "history":
            _note("no DashScope key configured (or --simulate): the local simulator answers, images are simulated")
        return args.handler(args, studio)
    except UsageError as error:
        return _fail(str(error), EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    finally:
        studio.close()


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job, each with complete --help."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where results, inputs and history are kept (QWEN_EDIT_DATA_DIR)")
    common.add_argument("--simulate", action="store_true", help="answer with the local simulator even with a key")
    common.add_argument(
        "--owner", default=LOCAL_OWNER, help="the owner id edits are recorded under in history (default: %(default)s)"
    )
    common.add_argument("--lang", choices=errors.LANGUAGES, default="en", help="language of error messages")
    common.add_argument("-v", "--verbose", action="store_true", help="log every step (retries are always shown)")

    parser = argparse.ArgumentParser(
        prog="qwen-edit",
        description="Edit images with Alibaba's Qwen image-edit models from the command line. With no "
        "DASHSCOPE_API_KEY set, a local simulator answers. Results and history are shared with the web page "
        "(same data dir).",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    edit = commands.add_parser(
        "edit",
        parents=[common],
        help="one edit from flags",
        description="Run one edit; write its PNGs and a JSON record (parameters, seed used, request id) to DIR.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    edit.add_argument("images", nargs="+", metavar="IMAGE", help="1 to 3 input images (paths or result links)")
    edit.add_argument("-p", "--prompt", required=True, help="what to change; @1 / @Image2 name the inputs")
    edit.add_argument("--negative-prompt", default="", help="what to avoid")
    edit.add_argument(
        "-m",
        "--model",
        default=catalog.DEFAULT_MODEL,
        help=f"default: %(default)s; one of {', '.join(m.id for m in catalog.MODELS)}",
    )
    edit.add_argument("--region", help="singapore or beijing (default: QWEN_EDIT_REGION, else singapore)")
    edit.add_argument("--size", default="auto", help='"auto" (follow the last image) or W*H, e.g. 1024*1536')
    edit.add_argument("-n", type=_number, default=1, help="number of images (1 to the model's maximum)")
    edit.add_argument(
        "--seed", type=_number, default=-1, help="0 to 2147483647, or -1 for random (the seed used is recorded)"
    )
    edit.add_argument(
        "--prompt-extend",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let the model rewrite the prompt (default: the model's own default)",
    )
    edit.add_argument("--watermark", action="store_true", help="ask for the service's watermark")
    edit.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the PNGs and the JSON record")
    edit.set_defaults(handler=cmd_edit)

    batch = commands.add_parser(
        "batch",
        parents=[common],
        help="run a JSONL file of edits (resumable)",
        description="Run one edit per line of a JSONL file, resumably.\n\n" + _BATCH_FORMAT,
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("file", metavar="FILE", help="JSONL file, one request per line")
    batch.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for results and the resume state")
    batch.add_argument("-j", "--jobs", type=_positive, default=1, help="lines run at once (default: %(default)s)")
    batch.set_defaults(handler=cmd_batch)

    plan = commands.add_parser(
        "explore",
        parents=[common],
        help="run a grid of prompt variants x seeds x models x sizes",
        description="Run an exploration plan on the same inputs and export the whole run.\n\n" + _PLAN_FORMAT,
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("plan", metavar="PLAN", help="the plan, a JSON file")
    plan.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the export zip and contact sheet")
    plan.add_argument("--rows", choices=explore.AXES, help="contact sheet rows (default: the plan's, else prompt)")
    plan.add_argument("--columns", choices=explore.AXES, help="contact sheet columns (default: the plan's, else seed)")
    plan.add_argument("--dry-run", action="store_true", help="show the cells and what they bill, run nothing")
    plan.set_defaults(handler=cmd_explore)

    commands.add_parser(
        "simulate",
        help="run the DashScope simulator in the foreground (see: qwen-edit simulate --help)",
        description="Run the DashScope simulator in the foreground; its options are python -m core.simulator's.",
    )

    history = commands.add_parser(
        "history",
        help="list or export past edits",
        description="Past edits of one owner, as the page's history keeps them.",
    )
    history_commands = history.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = history_commands.add_parser(
        "list", parents=[common], help="newest edits first", description="List edits, newest first."
    )
    listing.add_argument("--search", default="", help="only edits whose prompt contains this text")
    listing.add_argument("--model", default="", help="only edits of this model")
    listing.add_argument("--limit", type=_positive, default=20, help="at most this many (default: %(default)s)")
    listing.add_argument("--json", action="store_true", help="every parameter as JSON instead of a table")
    listing.set_defaults(handler=cmd_history_list)
    exporting = history_commands.add_parser(
        "export",
        parents=[common],
        help="a zip of edits (PNGs, inputs, parameters)",
        description="Write a zip with each edit's results, inputs and an edits.json of every parameter.",
    )
    exporting.add_argument("edit_ids", nargs="*", metavar="EDIT_ID", help="edits to export (default: the latest)")
    exporting.add_argument("--search", default="", help="without EDIT_IDs: only edits whose prompt contains this")
    exporting.add_argument("--limit", type=_positive, default=50, help="without EDIT_IDs: at most this many")
    exporting.add_argument("-o", "--out", required=True, metavar="FILE.zip", help="the zip to write")
    exporting.set_defaults(handler=cmd_history_export)
    return parser


def _number(text: str) -> int | str:
    """Whole numbers as int; anything else as given, for EditRequest to refuse with its own message."""
    try:
        return int(text)
    except ValueError:
        return text


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


# --- edit ---------------------------------------------------------------------------------------


def cmd_edit(args: argparse.Namespace, studio: Studio) -> int:
    """One edit from flags."""
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
    }
    try:
        request = batch.request_from_entry(entry, studio, Path.cwd(), _operator_key(studio))
    except errors.EditError as error:
        return _fail(batch.describe(error, args.images, args.lang), EXIT_USAGE)
    try:
        result = studio.edit(
            request, owner=args.owner, user_key=_operator_key(studio), on_progress=_edit_progress(sys.stderr)
        )
    except errors.EditError as error:
        return _fail(error.message(args.lang), EXIT_FAILED)
    files, record = batch.save_result(result, Path(args.out), result.edit_id[:12])
    for path in [*files, record]:
        print(path)
    for failure in result.failures:
        _note(failure.message(args.lang))
    params = request.params
    _note(
        f"{len(files)} image(s), seed {params.seed}, {result.usage.width}x{result.usage.height}, {result.seconds:.1f} s"
    )
    return EXIT_FAILED if result.failures else EXIT_OK


def _edit_progress(stream: TextIO) -> Callable[[Progress], None]:
    def show(progress: Progress) -> None:
        if progress.stage is Stage.CALLING:
            stream.write("calling the model...\n")
        elif progress.stage is Stage.RETRYING and progress.retry:
            retry = progress.retry
            stream.write(f"{retry.reason}: retrying in {retry.delay:.1f} s ({retry.attempt}/{retry.attempts})\n")
        elif progress.stage is Stage.SAVED:
            stream.write(f"saved {progress.done}/{progress.total}\n")
        stream.flush()

    return show


def _operator_key(studio: Studio) -> str | None:
    """The CLI is run by whoever owns the configured key: its edits are not counted against the page's
    per-visitor hourly limit. The simulator never sees the real key."""
    return None if studio.simulated else studio.settings.api_key


# --- batch --------------------------------------------------------------------------------------


def cmd_batch(args: argparse.Namespace, studio: Studio) -> int:
    """Run a JSONL file of edits; lines done by an earlier run are skipped."""
    try:
        job = batch.Batch(
            Path(args.file), Path(args.out), studio, owner=args.owner, user_key=_operator_key(studio), lang=args.lang
        )
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {args.file}: {getattr(error, 'strerror', None) or error}") from None
    if not job.lines:
        raise UsageError(f"{args.file} holds no requests: one JSON object per line (see qwen-edit batch --help)")
    outcomes = {number: batch.LineOutcome(number, "skipped", "done in an earlier run") for number in job.done_earlier()}
    if outcomes:
        _note(f"skipping {len(outcomes)} line(s) done in an earlier run")
    cut_short = job.cut_short_earlier()
    if cut_short:
        numbers = ", ".join(map(str, cut_short))
        _note(
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
            _note("interrupted: lines not started are left for the next run; waiting for those in flight")
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
        plan = plan_from_spec(spec, studio, path.parent)
    except batch.LineError as error:
        raise UsageError(f"{path}: {error}") from None
    except errors.EditError as error:
        return _fail(batch.describe(error, spec.get("images"), args.lang), EXIT_USAGE)
    rows = args.rows or spec.get("rows") or "prompt"
    columns = args.columns or spec.get("columns") or ("seed" if rows != "seed" else "prompt")
    try:
        plan.grid(rows, columns)
    except ValueError as error:
        raise UsageError(f"contact sheet: {error}") from None
    _note(cost_line(plan, studio.settings))
    if args.dry_run:
        cells = [
            [str(c.index + 1), c.params.prompt, str(c.params.seed), c.params.model, _size(c), str(c.params.n)]
            for c in plan.cells
        ]
        print(table(["cell", "prompt", "seed", "model", "size", "n"], cells))
        return EXIT_OK
    bar = ProgressBar(plan.count, sys.stderr)
    run = explore.run_plan(studio, plan, owner=args.owner, user_key=_operator_key(studio))
    interrupted = False
    try:
        for outcome in run.outcomes():
            label = f"cell {outcome.cell.index + 1}: {outcome.state.value}"
            bar.advance(label, failed=outcome.state is explore.CellState.FAILED)
    except KeyboardInterrupt:
        interrupted = True
        run.cancel()
        _note("interrupted: cells not started are cancelled; waiting for those in flight")
    outcomes = run.wait()
    bar.close()
    out = Path(args.out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    archive = explore.export_run(plan, outcomes, out / f"explore-{stamp}.zip", rows=rows, columns=columns)
    sheet = out / f"explore-{stamp}-contact-sheet.png"
    with zipfile.ZipFile(archive) as opened:
        sheet.write_bytes(opened.read("contact-sheet.png"))
    _print_explore_summary(plan, outcomes, args.lang)
    print(archive)
    print(sheet)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if any(o.state is not explore.CellState.DONE for o in outcomes) else EXIT_OK


def plan_from_spec(spec: Mapping[str, Any], studio: Studio, base_dir: Path) -> explore.Plan:
    """A Plan from a plan file's object (see PLAN_KEYS); image paths are relative to `base_dir`."""
    unknown = sorted(set(spec) - set(PLAN_KEYS))
    if unknown:
        raise batch.LineError(f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(PLAN_KEYS)}")
    region = spec.get("region") or studio.settings.region
    prompts = spec.get("prompts")
    if not isinstance(prompts, (str, list)):
        raise batch.LineError('"prompts" must be text (a variant per line) or a list of texts')
    for key in ("negative_prompt", "region", "rows", "columns"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise batch.LineError(f'"{key}" must be text')
    for key in ("rows", "columns"):
        if spec.get(key) is not None and spec[key] not in explore.AXES:
            raise batch.LineError(f'"{key}" must be one of {", ".join(explore.AXES)}')
    for key in batch.FLAG_KEYS:
        if spec.get(key) is not None and not isinstance(spec[key], bool):
            raise batch.LineError(f'"{key}" must be true or false')
    return explore.Plan.create(
        batch.image_sources(spec.get("images"), studio, region, base_dir, _operator_key(studio)),
        prompts,
        max_cells=studio.settings.explore_max_cells,
        seeds=spec.get("seeds", ()),
        random_seeds=spec.get("random_seeds", 0),
        models=spec.get("models", ()),
        sizes=spec.get("sizes", ()),
        negative_prompt=spec.get("negative_prompt") or "",
        n=spec.get("n", 1),
        region=region,
        prompt_extend=spec.get("prompt_extend"),
        watermark=spec.get("watermark") or False,
    )


def cost_line(plan: explore.Plan, settings: Settings) -> str:
    """ "12 edits, 24 images billed" (and roughly what that costs, when a price is configured)."""
    text = f"{plan.count} edit(s), {plan.images_billed} image(s) billed"
    price = settings.price_per_image
    return f"{text} ≈ {plan.cost(price)} {price.currency}" if price else text


def _size(cell: explore.Cell) -> str:
    return str(cell.params.size) if cell.params.size else "auto"


def _print_explore_summary(plan: explore.Plan, outcomes: Sequence[explore.CellOutcome], lang: str) -> None:
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
    destination = export_zip(edits, studio.store, Path(args.out))
    print(destination)
    _note(f"{len(edits)} edit(s) exported")
    return EXIT_OK


# --- output -------------------------------------------------------------------------------------


class ProgressBar:
    """A bar redrawn in place on a terminal; one line per step elsewhere (pipes, logs, CI)."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO, *, skipped: int = 0) -> None:
        self.total = total
        self.done = skipped
        self.failed = 0
        self._stream = stream
        self._live = stream.isatty()

    def advance(self, label: str, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if not self._live:
            self._stream.write(f"[{self.done}/{self.total}] {label}\n")
        else:
            filled = round(self.WIDTH * self.done / self.total)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self._stream.write(f"\r[{bar}] {self.done}/{self.total}, {self.failed} failed  {label[:40]:<40}")
        self._stream.flush()

    def close(self) -> None:
        if self._live:
            self._stream.write("\n")
            self._stream.flush()


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns aligned with two spaces; the last column is never padded."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def _note(text: str) -> None:
    print(f"qwen-edit: {text}", file=sys.stderr, flush=True)


def _fail(text: str, status: int) -> int:
    _note(text)
    return status


if __name__ == "__main__":
    main()
