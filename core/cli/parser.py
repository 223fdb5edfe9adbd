"""The `qwen-edit` command line: one subcommand per job, each with complete --help."""

from __future__ import annotations

import argparse

from core import catalog, errors
from core.caller import LOCAL_OWNER
from core.cli import commands
from core.workflows.plan import AXES

_EXIT_CODES = """exit status: 0 all done; 1 an edit, line or cell failed (the others still ran);
2 bad command line or input file (nothing was sent); 130 interrupted"""
_BATCH_FORMAT = """Each non-blank line of FILE is one JSON object:
  {"images": ["a.png", "b.jpg"], "prompt": "put the hat of Image 2 on Image 1",
   "negative_prompt": "blurry", "model": "qwen-image-edit-plus", "region": "singapore",
   "size": "auto" or "1024*1536", "n": 2, "seed": 42 (or -1 for random),
   "prompt_extend": true, "watermark": false,
   "mask": "mask.png", "align": true, "keep_unchanged": true,
   "expand": {"left": 0, "top": 0, "right": 256, "bottom": 0}}
Only "prompt" is required. "images": paths relative to FILE's folder, or links, as many as the
model takes (`qwen-edit edit --help` lists each model's range); none or [] where the range starts
at 0 (the model can start from the prompt alone). Links are fetched only from DashScope's result
storage (or the configured endpoint); anything else is refused: download it and give its path.
"mask" (a path relative to FILE's folder), "align", "keep_unchanged" and "expand" are the region
edits of `qwen-edit edit --help` (--mask, --align, --keep-unchanged, --expand).

Each line writes line-NNNN-K.png and line-NNNN.json to DIR (a region edit's composites, with each
raw model output beside it as line-NNNN-K-raw.png). Lines already done are recorded in
DIR/.qwen-edit-batch.jsonl and skipped when the batch runs again (a changed line runs again),
so rerunning an interrupted batch finishes only the missing lines."""
_PLAN_FORMAT = """PLAN is a JSON object; every cell is one edit of the same images (every model of the plan must
take that many; none for text-to-image models only):
  {"images": ["photo.png"],
   "prompts": ["make it {night|winter|autumn}", "add a red hat"]   (or one text, a variant per line),
   "seeds": [1, 2, 3]   and/or   "random_seeds": 3,
   "models": ["qwen-image-edit-plus"], "sizes": ["auto", "1024*1024"],
   "n": 1, "negative_prompt": "", "region": "singapore", "prompt_extend": true, "watermark": false,
   "rows": "prompt", "columns": "seed"}
Each {a|b|c} group multiplies its line's variants. Cells = prompts x seeds x models x sizes, at most
QWEN_EDIT_EXPLORE_MAX_CELLS (48); QWEN_EDIT_EXPLORE_CONCURRENCY (4) run at once. Writes
explore-<time>.zip (PNGs, cells.csv, cells.json, contact-sheet.png) and the contact sheet to DIR."""


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job, each with complete --help."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where results, inputs and history are kept (default: QWEN_EDIT_DATA_DIR, else the user data dir; "
        "said at start when not given)",
    )
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
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    edit = subcommands.add_parser(
        "edit",
        parents=[common],
        help="one edit from flags",
        description="Run one edit; write its PNGs and a JSON record (parameters, seed used, request id) to DIR,\n"
        "named for the date and the prompt's start: 2026-12-02_1405_make-it-a-watercolour_1.png, _2.png, ...\n"
        "and 2026-12-02_1405_make-it-a-watercolour.json (the start of the edit's id added if DIR has that name).",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    edit.add_argument(
        "images",
        nargs="*",
        metavar="IMAGE",
        help="input images (paths or result links), as many as the model takes (see --model); none where "
        "its range starts at 0 (it can start from the prompt alone)",
    )
    edit.add_argument("-p", "--prompt", required=True, help="what to change; @1 / @Image2 name the inputs")
    edit.add_argument("--negative-prompt", default="", help="what to avoid")
    edit.add_argument(
        "-m",
        "--model",
        default=catalog.DEFAULT_MODEL,
        help=f"default: %(default)s; one of (with the input images each takes) "
        f"{', '.join(f'{m.id} ({m.min_images}-{m.max_images})' for m in catalog.MODELS)}",
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
    edit.add_argument(
        "--mask",
        metavar="FILE",
        help="edit only a region of Image 1: an image of its shape, white (or opaque) where it may change; only "
        "the mask's box is sent, at the model's full resolution, and each result is pasted back. The PNGs written "
        "are these composites, identical to Image 1 outside the mask and its feather band; each raw model output "
        "is written beside its composite as ..._K_raw.png",
    )
    edit.add_argument(
        "--align",
        action="store_true",
        help="without --mask: undo the model's shift and zoom against Image 1 in each result (the raw outputs "
        "are written beside the aligned ones as ..._K_raw.png)",
    )
    edit.add_argument(
        "--keep-unchanged",
        action="store_true",
        help="with --align: keep Image 1's own pixels where the result hardly changed them",
    )
    edit.add_argument(
        "--expand",
        type=_sides,
        metavar="L,T,R,B",
        help="expand the canvas: pixels to add to Image 1's left, top, right and bottom (e.g. 0,0,256,0); the model "
        "extends the scene and Image 1 is pasted back exactly into its place (not with --mask)",
    )
    edit.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the PNGs and the JSON record")
    edit.set_defaults(handler=commands.cmd_edit)

    batch = subcommands.add_parser(
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
    batch.set_defaults(handler=commands.cmd_batch)

    plan = subcommands.add_parser(
        "explore",
        parents=[common],
        help="run a grid of prompt variants x seeds x models x sizes",
        description="Run an exploration plan on the same inputs and export the whole run.\n\n" + _PLAN_FORMAT,
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("plan", metavar="PLAN", help="the plan, a JSON file")
    plan.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the export zip and contact sheet")
    plan.add_argument("--rows", choices=AXES, help="contact sheet rows (default: the plan's, else prompt)")
    plan.add_argument("--columns", choices=AXES, help="contact sheet columns (default: the plan's, else seed)")
    plan.add_argument("--dry-run", action="store_true", help="show the cells and what they bill, run nothing")
    plan.set_defaults(handler=commands.cmd_explore)

    subcommands.add_parser(
        "simulate",
        help="run the DashScope simulator in the foreground (see: qwen-edit simulate --help)",
        description="Run the DashScope simulator in the foreground; its options are python -m core.simulator's.",
    )

    history = subcommands.add_parser(
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
    listing.set_defaults(handler=commands.cmd_history_list)
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
    exporting.set_defaults(handler=commands.cmd_history_export)
    return parser


def _number(text: str) -> int | str:
    """Whole numbers as int; anything else as given, for EditRequest to refuse with its own message."""
    try:
        return int(text)
    except ValueError:
        return text


def _sides(text: str) -> dict[str, int | str]:
    """ "L,T,R,B" as the sides of a canvas expansion; the request checks their values (negative, too large)."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(
            f"give four numbers of pixels, left,top,right,bottom (e.g. 0,0,256,0), not {text!r}"
        )
    return dict(zip(("left", "top", "right", "bottom"), map(_number, parts), strict=True))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
