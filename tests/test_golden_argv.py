"""The argv of every operation, byte for byte as recorded in ``golden/argv.json``.

The file was written from the argv builders before they became commands rendered by the grammar;
any difference here is a change in what signal-cli is asked to do, and must be deliberate.
"""

import contextlib
import json
from pathlib import Path

import pytest
from operation_cases import CASES, GOLDEN_ONLY_CASES, NEWER_CASES

from signal_rest.signal_cli import SignalCli

GOLDEN = json.loads((Path(__file__).parent / "golden" / "argv.json").read_text("utf-8"))
BINARY = "/opt/signal-cli/bin/signal-cli"
CONFIG_DIR = "/golden/config"


class Captured(Exception):
    """Raised in place of starting signal-cli, once its argv is known."""


def _fill(value):
    if value == "{file}":
        return "/golden/files/photo.jpg"
    if value == "{spool}":
        return "/golden/spool/receive.jsonl"
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(v) for v in value)
    if isinstance(value, dict):
        return {k: _fill(v) for k, v in value.items()}
    return value


def _capturing_cli(trust_mode, seen):
    cli = SignalCli(BINARY, CONFIG_DIR, trust_mode_for=lambda account: trust_mode)
    cli.versions._version = "0.14.6"

    def execute(argv, redacted, label, *, stdin=None, **kwargs):
        seen.update(argv=argv, stdin=stdin)
        raise Captured

    def link(command, argv, redacted, **kwargs):
        seen.update(argv=argv, stdin=None)
        raise Captured

    cli.runner.execute = execute
    cli.runner.link = link
    cli.runner.held = lambda account, redacted: contextlib.nullcontext()
    return cli


ALL_CASES = [(*case, None) for case in CASES + NEWER_CASES + GOLDEN_ONLY_CASES]
ALL_CASES += [(f"{name}@trust-always", method, args, kwargs, "always") for name, method, args, kwargs, _ in ALL_CASES]


def test_every_recorded_case_is_run():
    assert {case[0] for case in ALL_CASES} == set(GOLDEN)


@pytest.mark.parametrize(("name", "method", "args", "kwargs", "trust"), ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_argv_is_as_recorded(name, method, args, kwargs, trust):
    seen = {}
    cli = _capturing_cli(trust, seen)
    with pytest.raises(Captured):
        getattr(cli, method)(*_fill(args), **_fill(kwargs))
    stdin = None if seen["stdin"] is None else seen["stdin"].decode("utf-8")
    assert {"argv": seen["argv"], "stdin": stdin} == GOLDEN[name]
