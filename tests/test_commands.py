"""Commands: each operation as a method and params keyed by signal-cli's dests, and as JSON-RPC."""

import contextlib
import json

import fake_signal_cli
import pytest
from operation_cases import CASES, GOLDEN_ONLY_CASES, NEWER_CASES

from signal_rest.signal_cli import GroupId, SignalCli, commands, grammar

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
GROUP = GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")


def test_secrets_are_recorded_for_redaction():
    assert set(commands.verify_command("123456", pin="9999").secrets) == {"123456", "9999"}
    assert commands.register_command(captcha="tok").secrets == ("tok",)


#: the fake's option table (ported from signal-cli's parser): command -> dest -> form
FAKE_DESTS = fake_signal_cli.option_dests()
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


def _flags(method):
    """Every option name of ``method`` in the fake's parser, with the dest it fills."""
    flags = {}
    for item in fake_signal_cli.commands_for(fake_signal_cli.VERSION)[method].args:
        for arg in getattr(item, "args", [item]):
            for flag in arg.flags:
                flags[flag] = arg
    return flags


def _commands_of_every_case():
    """The Command each operation case runs, as the client builds it."""
    built = []

    def capture(command, *args, **kwargs):
        built.append(command)
        raise _Built

    cli = SignalCli("signal-cli", "/nonexistent")
    cli.versions._version = "0.14.6"
    cli.run = capture
    cli.runner.link = capture
    for _name, method, args, kwargs in CASES + NEWER_CASES + GOLDEN_ONLY_CASES:
        with contextlib.suppress(_Built):
            getattr(cli, method)(*args, **kwargs)
    return built


class _Built(Exception):
    """Raised instead of running a command, once it is built."""


@pytest.mark.parametrize("command", _commands_of_every_case(), ids=lambda command: command.method)
def test_every_command_is_a_jsonrpc_request_of_signal_clis_dests(command):
    request = json.loads(json.dumps(command.jsonrpc(ACCOUNT, request_id=7)))
    assert request["jsonrpc"] == "2.0" and request["id"] == 7 and request["method"] == command.method
    params = dict(request["params"])
    assert params.pop("account", ACCOUNT) == ACCOUNT
    if command.method == "version":
        assert params == {}
        return
    if grammar.newest_requirement(command)[0] != grammar.BASELINE:
        # the fake's table here is 0.13.19's: a command or option of a later release is missing from it
        assert set(params) - set(FAKE_DESTS.get(command.method, ())), command
        return
    assert set(params) <= set(FAKE_DESTS[command.method]), f"{command.method} has no dests {set(params)}"


@pytest.mark.parametrize("method", sorted(set(grammar.commands_for(grammar.BASELINE)) - {"version"}))
def test_the_grammar_agrees_with_signal_clis_option_table(method):
    dests, flags = FAKE_DESTS[method], _flags(method)
    for option in grammar.commands_for(grammar.BASELINE)[method].options:
        assert option.dest in dests, option
        if option.form == "stdin":
            # the text is the dest's value; on argv a flag of its own says it comes on stdin
            assert dests[option.dest] == "text" and flags[option.name].action == "store_true", option
            continue
        assert dests[option.dest] in FAKE_FORMS[option.form], option
        if option.name is not None:
            # the option written on argv fills that very dest
            assert _dest_of(flags[option.name]) == option.dest, option


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
