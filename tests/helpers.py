"""Helpers shared by the API tests: the numbers they use, group ids in both forms, the one error
body, what reached signal-cli (read from the fake's log), and a newer signal-cli to pretend."""

import base64
import contextlib
import threading
import time
from http import HTTPStatus

from signal_rest.signal_cli import Command, daemon, grammar
from signal_rest.signal_cli.commands import JSONRPC_DEFAULTS

#: the account the ``fake`` fixture registers
ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
THIRD = "+4915100000002"
UUID = "a1b2c3d4-0000-4000-8000-00000000000a"


def b64(data):
    """Standard base64 of ``data`` as text."""
    return base64.b64encode(data).decode()


def api_group_id(raw):
    """The standard API's ``group.`` form of signal-cli's group id."""
    return "group." + b64(raw.encode())


def has_problem(errors, field):
    """Whether the validation ``errors`` name ``field`` (or an item or key inside it)."""
    return any(key == field or key.startswith((field + "[", field + ".")) for key in errors)


def assert_error(response, status, *fragments, field=None):
    """Assert the one error body with ``status``, each fragment in its message and, given ``field``,
    a validation problem named after it. Returns the body."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["status"] == status
    assert body["description"] == HTTPStatus(status).phrase
    assert body["error"] == body["message"] and body["message"]
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    if field is not None:
        assert has_problem(body.get("errors", {}), field), body
    return body


def last_run(fake):
    """The fake's record of the last signal-cli run."""
    runs = fake.log()
    assert runs, "signal-cli was not run"
    return runs[-1]


def words(run):
    """A run's argv from its subcommand on, without the global options. For a JSON-RPC call of
    the fake daemon: the argv the same command has in normal mode (its params, rendered by the
    service's grammar), so one assertion checks what either transport sent."""
    if "jsonrpc" in run:
        return grammar.render(_rpc_command(run))[0]
    argv = run["argv"]
    if run["command"] is None:
        # a subcommand the release does not have (its parser failed): what follows ``-o json``
        return argv[argv.index("-o") + 2 :]
    return argv[argv.index(run["command"]) :]


def stdin_of(run):
    """What a run read from stdin (the message); for a JSON-RPC call, its ``message`` param."""
    if "jsonrpc" in run:
        stdin = grammar.render(_rpc_command(run))[1]
        return None if stdin is None else stdin.decode("utf-8")
    return run["stdin"]


def _rpc_command(run):
    method = run["jsonrpc"]["method"]
    params = {k: v for k, v in (run["jsonrpc"]["params"] or {}).items() if k != "account"}
    for dest, default in JSONRPC_DEFAULTS.get(method, {}).items():
        if params.get(dest) == default:
            del params[dest]
    return Command(method, params)


def add_group_with_id(fake, raw_id, account=ACCOUNT, **kwargs):
    """``fake.add_group`` with a chosen signal-cli id (the fake picks a random one). Returns the id."""
    random_id = fake.add_group(account, **kwargs)

    def rename(state):
        for group in state["accounts"][account]["groups"]:
            if group["id"] == random_id:
                group["id"] = raw_id

    fake.update(rename)
    return raw_id


def newer_signal_cli(app, monkeypatch, version="0.14.1"):
    """Make the app believe signal-cli ``version`` is installed, whatever the fake reports.

    With the 0.13.19 fake, the newer subcommands then fail as that release fails them: argparse4j's
    "invalid choice" parse error (exit 1, which the error table maps to 400); with the 0.14.6 fake
    they really run (see :func:`assert_newer_command`). Either way the fake records the argv the
    service built.
    """
    monkeypatch.setattr(app.extensions["signal_rest.signal_cli"].versions, "_version", version)


def release_at_least(version, since):
    """Whether signal-cli ``version`` is release ``since`` or later."""
    return grammar.version_tuple(version) >= grammar.version_tuple(since)


def assert_newer_command(response, fake_version, subcommand, since, status):
    """The answer to a request that ran ``subcommand`` (of release ``since``) on the fake of
    ``fake_version``: ``status`` where that release has it, else the parse error of an unknown
    subcommand (400 with signal-cli's message). Returns the response's JSON."""
    if release_at_least(fake_version, since):
        assert response.status_code == status, response.get_json(silent=True)
        return response.get_json(silent=True)
    body = assert_error(response, 400)
    # argparse4j justifies its message with runs of spaces
    assert f"invalid choice: '{subcommand}'" in " ".join(body["message"].split())
    return body


#: the tags of API.md §1, in their order
API_TAGS = [
    "General",
    "Configuration",
    "Search",
    "Messages",
    "Receive",
    "Groups",
    "Reactions",
    "Receipts",
    "Devices",
    "Accounts",
    "Profiles",
    "Contacts",
    "Identities",
    "Attachments",
    "Stickers",
]


@contextlib.contextmanager
def running_supervisor(app, timeout=20.0):
    """Run ``app``'s json-rpc supervisor (and so its signal-cli daemon) in a thread until the block
    ends; the block starts once the daemon answers."""
    supervisor = app.extensions["signal_rest.supervisor"]
    thread = threading.Thread(target=supervisor.run, name="supervisor")
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while (daemon.read_status(supervisor.config_dir) or {}).get("state") != "running":
            assert thread.is_alive() and time.monotonic() < deadline, daemon.read_status(supervisor.config_dir)
            time.sleep(0.01)
        yield supervisor
    finally:
        supervisor.stop()
        thread.join()


def openapi_document():
    """The app's own OpenAPI document, as it serves it (building the app starts no process and
    writes no file)."""
    from signal_rest import create_app

    app = create_app(
        {"TESTING": True, "SIGNAL_CLI_BIN": "/nonexistent/signal-cli", "SIGNAL_CLI_CONFIG_DIR": "/nonexistent"}
    )
    response = app.test_client().get("/docs/openapi.json")
    assert response.status_code == 200
    return response.get_json()
