"""Contract tests: every argv the wrapper builds, run through the real signal-cli.

The account is not registered and the config dir is new, so signal-cli parses the whole command
line and then stops: "User … is not registered." (exit 1). A parse error there
(``signal-cli: error: …``) would mean the wrapper builds an argv the real program does not accept.
The JVM resolves no host names (an empty ``jdk.net.hosts.file``), so the commands that go to the
network before checking the account fail at once with exit 3 and no traffic leaves the machine.

These tests need the real signal-cli: ``make test`` provisions it and sets ``SIGNAL_CLI_BIN``.
They run against whichever release that is (``make test SIGNAL_CLI_VERSION=0.14.6``): each case
whose command or option the release has (the grammar's ``check_supported``) runs through it; the
others must be refused by version, naming the release that has them, before any argv is built.
"""

import inspect
import json
import re
from pathlib import Path

import pytest
from operation_cases import ACCOUNT, CASES, NEWER_CASES

from signal_rest import signal_cli as sc
from signal_rest.signal_cli.grammar import version_tuple

pytestmark = pytest.mark.contract

#: what the real signal-cli answers each case with, when it is not "User … is not registered." (exit 1)
EXPECTED = {
    # linking asks Signal's servers for a provisioning address first; offline that is exit 3
    "link": sc.ServerError,
    # registering goes to Signal's servers before anything else; offline that is exit 3
    "register": sc.ServerError,
}
#: cases whose answer changed with a release: (from release, what it answers from then on)
EXPECTED_FROM = {
    # up to 0.13.20 verify without a registration session crashes (exit 2) after parsing; from
    # 0.13.21 it is exit 3 "Verify error: No registration verification session active"
    "verify": [("0.13.19", sc.UnexpectedError), ("0.13.21", sc.NoVerificationSession)],
}
#: cases that succeed for an unknown account in a new config dir (checked one by one below)
SUCCEEDING = {"list_accounts", "delete_local_data", "delete_local_data-plain", "version"}
FAILING_CASES = [case for case in CASES + NEWER_CASES if case[0] not in SUCCEEDING]
#: "… needs signal-cli 0.13.22 or newer; this service runs 0.13.19."
REFUSED_BY_VERSION = re.compile(r"needs signal-cli (?P<needed>[\d.]+) or newer; this service runs (?P<runs>[\d.]+)\.")


def _attachment(tmp_path, name="photo.jpg"):
    path = tmp_path / "files" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return str(path)


#: methods run below with their own assertions, and plumbing that every case goes through
RUN_DIRECTLY = {
    "probe",
    "check_config_dir",
    "support",
    "health_checks",
    "version",
    "list_accounts",
    "local_accounts",
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


def expected_answer(name, version):
    """The error the real signal-cli ``version`` answers case ``name`` with."""
    expected = EXPECTED.get(name, sc.NotRegistered)
    for since, answer in EXPECTED_FROM.get(name, ()):
        if version_tuple(version) >= version_tuple(since):
            expected = answer
    return expected


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
    covered = {case[1] for case in CASES + NEWER_CASES} | RUN_DIRECTLY | NO_RUN_OF_THEIR_OWN
    assert public - covered == set(), "add contract cases for these wrapper methods"


@pytest.mark.parametrize(("name", "method", "args", "kwargs"), FAILING_CASES, ids=[c[0] for c in FAILING_CASES])
def test_real_signal_cli_accepts_the_argv(real_cli, tmp_path, name, method, args, kwargs):
    version = real_cli.version()
    with pytest.raises(sc.SignalCliError) as failure:
        getattr(real_cli, method)(*_fill_files(args, tmp_path), **_fill_files(kwargs, tmp_path))
    error = failure.value
    if isinstance(error, sc.NotSupported):
        # only a command or option this release lacks is refused, and the refusal names both releases
        refused = REFUSED_BY_VERSION.search(error.message)
        assert refused, error.message
        assert refused["runs"] == version
        assert version_tuple(version) < version_tuple(refused["needed"]), error.message
        assert error.argv is None or error.argv == [], "refused before any argv is built"
        return
    expected = expected_answer(name, version)
    assert "signal-cli: error:" not in error.stderr, f"parse error for {error.argv}:\n{error.stderr}"
    assert "usage: signal-cli" not in error.stderr + error.stdout
    assert type(error) is expected, f"{type(error).__name__}: {error.message}\n{error.stderr}"
    if expected is sc.NotRegistered:
        assert error.returncode == 1
        assert f"User {ACCOUNT} is not registered." in error.message


def test_real_signal_cli_version_is_the_provisioned_one(real_cli):
    version = real_cli.version()
    assert version_tuple(version) >= (0, 13, 19)
    # a provisioned launcher (DEST/bin/signal-cli) has the stamp of what was installed beside it
    stamp = Path(real_cli.binary).parent.parent / ".provisioned.json"
    if stamp.is_file():
        assert version == json.loads(stamp.read_text())["signal_cli_version"]


def test_real_signal_cli_lists_no_accounts(real_cli):
    assert real_cli.list_accounts() == [] and real_cli.local_accounts() == []


def test_an_account_whose_registration_did_not_finish_is_in_signal_clis_files_only(real_cli):
    # offline the registration fails at Signal's servers, after signal-cli has created the account
    with pytest.raises(sc.ServerError):
        real_cli.register(ACCOUNT)
    assert real_cli.local_accounts() == [ACCOUNT]
    assert real_cli.list_accounts() == []


@pytest.mark.parametrize("ignore_registered", [True, False])
def test_real_signal_cli_deletes_local_data_of_an_unknown_account(real_cli, ignore_registered):
    assert real_cli.delete_local_data(ACCOUNT, ignore_registered=ignore_registered) is None


def test_real_signal_cli_probe_and_config_dir(real_cli):
    assert real_cli.probe() == f"signal-cli {real_cli.version()}"
    real_cli.check_config_dir()
    assert real_cli.config_dir.is_dir()


def test_real_signal_cli_says_whether_it_can_work_with_signals_servers(real_cli):
    version = real_cli.version()
    current = version_tuple(version) >= (0, 14, 5)
    found = real_cli.support()
    assert (found.version, found.supported, found.error) == (version, current, None)
    assert (found.warning is None) is current
    checks = real_cli.health_checks()
    assert checks["signal_cli"]["ok"] is True
    assert (checks["signal_cli"]["supported"], checks["signal_cli"]["warning"]) == (found.supported, found.warning)
    assert checks["config_dir"]["ok"] is True
