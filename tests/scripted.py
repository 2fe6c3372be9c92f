"""Tiny scripted stand-ins for signal-cli: a shell script as the executable, for the wrapper's tests."""

import textwrap

from signal_rest.signal_cli import SignalCli


def script(tmp_path, body, name="signal-cli"):
    """An executable ``name`` in ``tmp_path`` that runs the shell ``body``."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def scripted_cli(tmp_path, body, **kwargs):
    """A :class:`SignalCli` whose signal-cli is the shell ``body``."""
    return SignalCli(script(tmp_path, body), tmp_path / "config", **kwargs)
