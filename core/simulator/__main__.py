"""Run the simulator in the foreground: `python -m core.simulator --port 8123`; Ctrl-C or SIGTERM stops it."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

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
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
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
        valid_keys=args.valid_keys,
    )
    with simulator:
        print(simulator.base_url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
