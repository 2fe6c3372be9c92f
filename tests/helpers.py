"""Helpers shared by the API tests: the numbers they use, group ids in both forms, the one error
body, what reached signal-cli (read from the fake's log), and a newer signal-cli to pretend."""

import base64
from http import HTTPStatus

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
    """A run's argv from its subcommand on, without the global options."""
    argv = run["argv"]
    return argv[argv.index(run["command"]) :]


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
    """Make the app believe signal-cli ``version`` is installed.

    The fake stays 0.13.19, so it answers the newer subcommands with argparse4j's "invalid choice"
    parse error (exit 1, which the error table maps to 400). What matters is the argv the service
    built, which the fake records before it fails.
    """
    monkeypatch.setattr(app.extensions["signal_rest.signal_cli"].versions, "_version", version)


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
