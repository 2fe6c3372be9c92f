"""Commands: each operation as a method and params keyed by signal-cli's dests, and as JSON-RPC."""

import json

import fake_signal_cli
import pytest
from operation_cases import CASES, GOLDEN_ONLY_CASES, NEWER_CASES, built_commands

from signal_rest.signal_cli import GroupId, commands, grammar

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
GROUP = GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")


def test_secrets_are_recorded_for_redaction():
    assert set(commands.verify_command("123456", pin="9999").secrets) == {"123456", "9999"}
    assert commands.register_command(captcha="tok").secrets == ("tok",)


#: the releases whose tables are compared: the service's baseline and the newest the fake models
RELEASES = (grammar.BASELINE, "0.14.6")
#: the fake's option table (ported from signal-cli's parser), per release: command -> dest -> form
FAKE_DESTS = {version: fake_signal_cli.option_dests(version) for version in RELEASES}
#: the grammar's forms, and the forms of the fake's table they may write (``--name=value`` gives a
#: list option one value)
FAKE_FORMS = {
    "flag": {"flag"},
    "list": {"list"},
    "positional": {"positional"},
    "text": {"text", "list"},
    "bool": {"text"},
    "word": {"text"},
}


def _flags(method, version):
    """Every option name of ``method`` in the fake's parser of ``version``, with the dest it fills."""
    flags = {}
    for item in fake_signal_cli.commands_for(version)[method].args:
        for arg in getattr(item, "args", [item]):
            for flag in arg.flags:
                flags[flag] = arg
    return flags


EVERY_COMMAND = list(built_commands(CASES + NEWER_CASES + GOLDEN_ONLY_CASES).values())


@pytest.mark.parametrize("version", RELEASES)
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda command: command.method)
def test_every_command_is_a_jsonrpc_request_of_signal_clis_dests(command, version):
    request = json.loads(json.dumps(command.jsonrpc(ACCOUNT, request_id=7)))
    assert request["jsonrpc"] == "2.0" and request["id"] == 7 and request["method"] == command.method
    params = dict(request["params"])
    assert params.pop("account", ACCOUNT) == ACCOUNT
    if command.method == "version":
        assert params == {}
        return
    dests = FAKE_DESTS[version].get(command.method, {})
    needed, _feature = grammar.newest_requirement(command)
    if grammar.version_tuple(version) >= grammar.version_tuple(needed):
        assert command.method in FAKE_DESTS[version], f"signal-cli {version} has no {command.method}"
        assert set(params) <= set(dests), f"{command.method} has no dests {set(params) - set(dests)} in {version}"
    else:
        # the service refuses it for this release (501): signal-cli's table agrees that it lacks something
        assert command.method not in FAKE_DESTS[version] or not set(params) <= set(dests), (command, version)


@pytest.mark.parametrize(
    ("version", "method"),
    [(version, method) for version in RELEASES for method in sorted(set(grammar.commands_for(version)) - {"version"})],
)
def test_the_grammar_agrees_with_signal_clis_option_table(version, method):
    """Every command and option the service renders for ``version`` is in signal-cli's table of that
    release, with the same dest and form, and the option written on argv fills that dest."""
    assert method in FAKE_DESTS[version], f"signal-cli {version} has no {method}"
    dests, flags = FAKE_DESTS[version][method], _flags(method, version)
    for option in grammar.commands_for(version)[method].options:
        assert option.dest in dests, option
        if option.form == "stdin":
            # the text is the dest's value; on argv a flag of its own says it comes on stdin
            assert dests[option.dest] == "text" and flags[option.name].action == "store_true", option
            continue
        assert dests[option.dest] in FAKE_FORMS[option.form], option
        if option.name is not None:
            # the option written on argv fills that very dest
            assert option.name in flags, f"{method} has no {option.name} in signal-cli {version}"
            assert _dest_of(flags[option.name]) == option.dest, option


def test_no_release_lacks_what_an_older_one_renders():
    """A command or option the service renders for the baseline is still in the newest release."""
    old, new = grammar.commands_for(grammar.BASELINE), grammar.commands_for(RELEASES[-1])
    for method, syntax in old.items():
        assert {o.dest for o in syntax.options} <= {o.dest for o in new[method].options}, method


def _dest_of(arg):
    head, *rest = arg.key.replace("_", "-").split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def test_the_params_are_keyed_by_dests():
    command = commands.send_command(
        [OTHER, GROUP], "hi", attachments=["/a"], quote={"timestamp": 5, "author": OTHER}, notify_self=True
    )
    assert command.params == {
        "message": "hi",
        "attachment": ["/a"],
        "quoteTimestamp": 5,
        "quoteAuthor": OTHER,
        "notifySelf": True,
        "groupId": [GROUP],
        "recipient": [OTHER],
    }
    assert commands.update_account_command(discoverable_by_number=False).params == {"discoverableByNumber": False}
    assert commands.update_group_command(GROUP, expiration=0).params == {"groupId": GROUP, "expiration": 0}


def test_a_multi_account_command_names_no_account():
    assert commands.list_accounts_command().jsonrpc(ACCOUNT) == {
        "jsonrpc": "2.0",
        "method": "listAccounts",
        "params": {},
    }


def test_jsonrpc_carries_the_parser_defaults_signal_cli_unboxes():
    """Over JSON-RPC no parser fills in ``--pin-duration``'s default (-1): sendPinMessage would unbox
    a null (-32603). The argv stays as it was: the parser applies the default there."""
    pin = commands.pin_message_command(GROUP, OTHER, 1732630000123)
    assert "pinDuration" not in pin.params
    assert pin.jsonrpc(ACCOUNT, request_id=1)["params"] == {
        "account": ACCOUNT,
        "groupId": [GROUP],
        "pinDuration": -1,
        "targetAuthor": OTHER,
        "targetTimestamp": 1732630000123,
    }
    assert commands.pin_message_command(GROUP, OTHER, 5, duration=60).jsonrpc(ACCOUNT)["params"]["pinDuration"] == 60
    assert "pinDuration" not in commands.pin_message_command(GROUP, OTHER, 5, unpin=True).jsonrpc(ACCOUNT)["params"]
