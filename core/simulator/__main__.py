"""Run the simulator in the foreground: `python -m core.simulator --port 8123`; Ctrl-C or SIGTERM stops it."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from core.catalog import RateLimit
from core.simulator.config import MODEL_IDS
from core.simulator.server import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds a generation takes at least")
    parser.add_argument("--bandwidth", type=float, default=None, help="bytes/s per download (default: unthrottled)")
    parser.add_argument("--link-ttl", type=float, default=86400.0, help="seconds a result link lives")
    parser.add_argument(
        "--valid-key", action="append", dest="valid_keys", help="accept only this key (repeatable; default: any)"
    )
    parser.add_argument(
        "--rate-limits", action="store_true", help="refuse calls over the account rate limits (429), per key and model"
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="MODEL=N/S",
        help="the limit of a model, over the catalog's: N requests per S seconds, or off (repeatable; "
        "implies --rate-limits)",
    )
    parser.add_argument(
        "--noise", action="store_true", help="results of incompressible noise, as heavy as photos (2048x2048: 12 MB)"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    limits = dict(_model_limit(parser, text) for text in args.rate_limit)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    simulator = Simulator(
        args.host,
        args.port,
        latency=args.latency,
        bandwidth=args.bandwidth,
        link_ttl=args.link_ttl,
        enforce_rate_limits=args.rate_limits or bool(limits),
        rate_limits=limits,
        noise=args.noise,
        valid_keys=args.valid_keys,
    )
    with simulator:
        print(simulator.base_url, flush=True)
        stop.wait()


def _model_limit(parser: argparse.ArgumentParser, text: str) -> tuple[str, RateLimit | None]:
    """ "qwen-image-edit-max=2/60" -> (model id, limit); a usage error otherwise."""
    model, _, value = (part.strip() for part in text.partition("="))
    if model not in MODEL_IDS:
        parser.error(f"--rate-limit {text!r}: unknown model {model!r}")
    try:
        return model, RateLimit.parse(value)
    except ValueError as error:
        parser.error(f"--rate-limit {text!r}: {error}")


if __name__ == "__main__":
    main()
