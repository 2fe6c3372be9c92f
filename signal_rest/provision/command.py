"""The command line of provisioning: options, log lines on stderr, the launcher path on stdout."""

import argparse
import logging
import sys
from pathlib import Path

from .install import provision
from .layout import DEFAULT_DEST, ProvisionError
from .releases import DEFAULT_VERSION


class _Formatter(logging.Formatter):
    """``provision: message``, and ``provision: warning: message`` for warnings, which must stand out."""

    def format(self, record):
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"provision: {record.levelname.lower()}: {message}"
        return f"provision: {message}"


def main(argv=None) -> int:
    """Command-line entry point: provision, then print the launcher path as the last stdout line."""
    parser = argparse.ArgumentParser(
        prog="python -m signal_rest.provision",
        description="Provision signal-cli with a Java runtime and print the path of its launcher.",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=DEFAULT_DEST,
        help="directory to provision into (default: %(default)s)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-extract and rewrite even if already provisioned",
    )
    parser.add_argument(
        "--signal-cli-version",
        metavar="VERSION",
        help=f"signal-cli release to install (default: $SIGNAL_CLI_VERSION, else {DEFAULT_VERSION})",
    )
    parser.add_argument(
        "--signal-cli-sha256",
        metavar="HEX",
        help="pin the SHA-256 of the release asset instead of trusting GitHub's release API "
        "(default: $SIGNAL_CLI_SHA256)",
    )
    args = parser.parse_args(argv)
    # stderr only: stdout is reserved for the launcher path.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    try:
        launcher = provision(
            args.dest, force=args.force, version=args.signal_cli_version, sha256=args.signal_cli_sha256
        )
    except ProvisionError as exc:
        print(f"provision: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"provision: error: {exc}; check that {args.dest} is writable",
            file=sys.stderr,
        )
        return 1
    print(launcher)
    return 0
