"""Contract tests: every argv the wrapper builds, run through the real signal-cli.

The account is not registered and the config dir is new, so signal-cli parses the whole command
line and then stops: "User … is not registered." (exit 1). A parse error there
(``signal-cli: error: …``) would mean the wrapper builds an argv the real program does not accept.
The JVM resolves no host names (an empty ``jdk.net.hosts.file``), so the commands that go to the
network before checking the account fail at once with exit 3 and no traffic leaves the machine.

These tests need the real signal-cli: ``make test`` provisions it and sets ``SIGNAL_CLI_BIN``.
"""

import inspect

import pytest
from operation_cases import ACCOUNT, CASES, GROUP, OTHER

from signal_rest import signal_cli as sc

pytestmark = pytest.mark.contract

#: what the real signal-cli answers each case with, when it is not "User … is not registered." (exit 1)
EXPECTED = {
    # linking asks Signal's servers for a provisioning address first; offline that is exit 3
    "link": sc.ServerError,
    # registering goes to Signal's servers before anything else; offline that is exit 3
    "register": sc.ServerError,
    # 0.13.19 crashes (exit 2) on verify without a registration session, after parsing
    "verify": sc.UnexpectedError,
}
#: cases that succeed for an unknown account in a new config dir (checked one by one below)
SUCCEEDING = {"list_accounts", "delete_local_data", "delete_local_data-plain", "version"}
FAILING_CASES = [case for case in CASES if case[0] not in SUCCEEDING]


def _attachment(tmp_path, name="photo.jpg"):
    path = tmp_path / "files" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return str(path)


#: methods run below with their own assertions, and plumbing that every case goes through
RUN_DIRECTLY = {
    "probe",
    "check_config_dir",
    "version",
    "list_accounts",
    "delete_local_data",
    "run",
    "argv",
    "stop",
    "close",
    "interrupt",
}
#: methods that start no signal-cli of their own: lookups built on another method, stored files
NO_RUN_OF_THEIR_OWN = {
    "get_group",
    "get_contact",
    "set_username",
    "list_attachments",
    "attachment_path",
    "delete_attachment",
}
#: features of newer signal-cli versions: 0.13.19 lacks these subcommands, so the service answers 501
#: before building any argv (their argv follows signal-cli's source of those versions)
NEWER_THAN_PINNED = {"create_poll", "vote_poll", "terminate_poll", "pin_message"}


def _fill_files(value, tmp_path):
    if value == "{file}":
        return _attachment(tmp_path)
    if value == "{spool}":
        return str(tmp_path / "receive.jsonl")
    if isinstance(value, list):
        return [_fill_files(v, tmp_path) for v in value]
    if isinstance(value, tuple):
        return tuple(_fill_files(v, tmp_path) for v in value)
    if isinstance(value, dict):
        return {k: _fill_files(v, tmp_path) for k, v in value.items()}
    return value


@pytest.fixture
def real_cli(real_signal_cli_bin, tmp_path):
    hosts = tmp_path / "no-hosts"
    hosts.write_text("")
    return sc.SignalCli(
        real_signal_cli_bin,
        tmp_path / "config",
        cmd_timeout=120,
        lock_timeout=10,
        java_opts=f"-Djdk.net.hosts.file={hosts}",
    )


def test_every_wrapper_method_has_a_contract_case():
    public = {name for name, member in inspect.getmembers(sc.SignalCli, inspect.isfunction) if not name.startswith("_")}
    covered = {case[1] for case in CASES} | RUN_DIRECTLY | NEWER_THAN_PINNED | NO_RUN_OF_THEIR_OWN
    assert public - covered == set(), "add contract cases for these wrapper methods"


@pytest.mark.parametrize(("name", "method", "args", "kwargs"), FAILING_CASES, ids=[c[0] for c in FAILING_CASES])
def test_real_signal_cli_accepts_the_argv(real_cli, tmp_path, name, method, args, kwargs):
    expected = EXPECTED.get(name, sc.NotRegistered)
    with pytest.raises(sc.SignalCliError) as failure:
        getattr(real_cli, method)(*_fill_files(args, tmp_path), **_fill_files(kwargs, tmp_path))
    error = failure.value
    assert "signal-cli: error:" not in error.stderr, f"parse error for {error.argv}:\n{error.stderr}"
    assert "usage: signal-cli" not in error.stderr + error.stdout
    assert type(error) is expected, f"{type(error).__name__}: {error.message}\n{error.stderr}"
    if expected is sc.NotRegistered:
        assert error.returncode == 1
        assert f"User {ACCOUNT} is not registered." in error.message


def test_real_signal_cli_version(real_cli):
    assert real_cli.version() == "0.13.19"


def test_real_signal_cli_lists_no_accounts(real_cli):
    assert real_cli.list_accounts() == []


@pytest.mark.parametrize("ignore_registered", [True, False])
def test_real_signal_cli_deletes_local_data_of_an_unknown_account(real_cli, ignore_registered):
    assert real_cli.delete_local_data(ACCOUNT, ignore_registered=ignore_registered) is None


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("create_poll", (ACCOUNT, OTHER, "q", ["a", "b"])),
        ("vote_poll", (ACCOUNT, OTHER, OTHER, 1, [0], 1)),
        ("terminate_poll", (ACCOUNT, OTHER, 1)),
        ("pin_message", (ACCOUNT, GROUP, OTHER, 1)),
    ],
)
def test_features_of_newer_versions_are_refused_by_version(real_cli, method, args):
    with pytest.raises(sc.NotSupported, match="0.13.19"):
        getattr(real_cli, method)(*args)


def test_real_signal_cli_probe_and_config_dir(real_cli):
    assert real_cli.probe() == "signal-cli 0.13.19"
    real_cli.check_config_dir()
    assert real_cli.config_dir.is_dir()
