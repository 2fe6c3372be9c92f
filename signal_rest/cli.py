"""The ``signal-rest`` command: ``signal-rest receiver`` runs the background receiver."""

import argparse
import sys

from . import create_app, receiver


def main(argv=None):
    """Entry point of the ``signal-rest`` console script."""
    parser = argparse.ArgumentParser(prog="signal-rest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("receiver", help="receive messages for every account into the inbox and deliver webhooks")
    args = parser.parse_args(argv)
    if args.command == "receiver":
        try:
            app = create_app()
        except ValueError as error:
            parser.exit(2, f"signal-rest: {error}\n")
        receiver.main(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
