"""The ``signal-rest`` command.

``signal-rest receiver`` runs the background receiver; ``signal-rest tune SIGNAL_CLI CACHE`` builds
a class cache for a signal-cli installed some other way (a distribution package, a container) and
prints the ``SIGNAL_CLI_JAVA_OPTS`` that make it start faster.
"""

import argparse
import logging
import sys

from . import create_app, provision
from .receiving import receiver, supervisor


def main(argv=None):
    """Entry point of the ``signal-rest`` console script."""
    parser = argparse.ArgumentParser(prog="signal-rest", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("receiver", help="receive messages for every account into the inbox and deliver webhooks")
    commands.add_parser(
        "daemon", help="json-rpc mode: run signal-cli's daemon, store what it receives in the inbox, deliver webhooks"
    )
    tune = commands.add_parser(
        "tune", help="build a class cache for a signal-cli (Java 25 or newer) and print SIGNAL_CLI_JAVA_OPTS"
    )
    tune.add_argument("signal_cli", help="the signal-cli launcher to tune")
    tune.add_argument("cache", help="where to write the class cache (a .aot file)")
    args = parser.parse_args(argv)
    if args.command in ("receiver", "daemon"):
        try:
            app = create_app()
        except ValueError as error:
            parser.exit(2, f"signal-rest: {error}\n")
        json_rpc = app.config["SIGNAL_REST_MODE"] == "json-rpc"
        if json_rpc != (args.command == "daemon"):
            parser.exit(
                2,
                "signal-rest: in json-rpc mode `signal-rest daemon` receives (it runs signal-cli's daemon); "
                "in normal mode `signal-rest receiver` does. Check SIGNAL_REST_MODE.\n",
            )
        (supervisor if json_rpc else receiver).main(app)
        return 0
    logging.basicConfig(level=logging.INFO, format="signal-rest tune: %(message)s", stream=sys.stderr)
    if provision.train_aot_cache(args.signal_cli, args.cache):
        opts = provision.tuned_opts(args.cache)
    else:
        print(
            "signal-rest tune: no class cache (it needs Java 25); the other start-up options still help",
            file=sys.stderr,
        )
        opts = provision.STARTUP_OPTS
    print(f"SIGNAL_CLI_JAVA_OPTS={' '.join(opts)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
