"""`qwen-edit`: the studio from the command line, for scripts and batch runs.

A thin shell over core: every request goes through EditRequest (the page's checks and messages), every
edit through Studio (the page's history and content store, under the same data dir).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from core import errors
from core.cli.commands import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
from core.cli.output import fail, note
from core.cli.parser import build_parser
from core.settings import Settings, SettingsError
from core.studio import Studio

__all__ = ["build_parser", "main", "run"]


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
        return fail(str(error), EXIT_USAGE)
    except errors.EditError as error:
        return fail(error.message(args.lang), EXIT_USAGE)
    if args.data_dir is None:  # whoever did not choose a place should learn where their work goes
        note(f"history and results are kept in {settings.data_dir} (--data-dir DIR to choose another)")
    studio = Studio(settings)
    try:
        if studio.simulated and args.command != "history":
            note("no DashScope key configured (or --simulate): the local simulator answers, images are simulated")
        return args.handler(args, studio)
    except UsageError as error:
        return fail(str(error), EXIT_USAGE)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    finally:
        studio.close()
