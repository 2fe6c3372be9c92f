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

from signal_rest import signal_cli as sc

pytestmark = pytest.mark.contract
ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
UUID = "a1b2c3d4-0000-4000-8000-000000000001"
GROUP = sc.GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")
HOSTILE = "-5 degrees --config=/etc -a/etc/passwd --help"


def _attachment(tmp_path, name="photo.jpg"):
    path = tmp_path / "files" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return str(path)


#: (id, method, args, kwargs, expected exception); "{file}" becomes a real file path
CASES = [
    ("user_status", "user_status", (ACCOUNT, [OTHER, "+4915100000002"]), {}, sc.NotRegistered),
    ("send-plain", "send", (ACCOUNT, [OTHER], "hello"), {}, sc.NotRegistered),
    ("send-hostile-text", "send", (ACCOUNT, [OTHER], HOSTILE), {}, sc.NotRegistered),
    (
        "send-everything",
        "send",
        (ACCOUNT, [OTHER, UUID, "u:someone.42", GROUP], "hi @x **b**"),
        {
            "attachments": ["{file}", "{file}"],
            "mentions": [(3, 2, OTHER), (0, 1, UUID)],
            "text_styles": [(6, 1, "BOLD"), (0, 2, "ITALIC")],
            "quote": {"timestamp": 1732630000123, "author": OTHER, "message": HOSTILE, "mentions": [(0, 1, OTHER)]},
            "sticker": "0a1b:3",
            "edit_timestamp": 1732630000999,
            "preview": {"url": "https://example.org/x", "title": HOSTILE, "description": HOSTILE, "image": "{file}"},
            "view_once": True,
            "notify_self": True,
        },
        sc.NotRegistered,
    ),
    ("send-attachment-only", "send", (ACCOUNT, [GROUP]), {"attachments": ["{file}"]}, sc.NotRegistered),
    ("reaction", "send_reaction", (ACCOUNT, OTHER, "👍", OTHER, 1732630000123), {}, sc.NotRegistered),
    ("reaction-remove-group", "send_reaction", (ACCOUNT, GROUP, "-", UUID, 1), {"remove": True}, sc.NotRegistered),
    ("list_groups", "list_groups", (ACCOUNT,), {}, sc.NotRegistered),
    ("list_groups-filtered", "list_groups", (ACCOUNT, [GROUP, GROUP]), {}, sc.NotRegistered),
    (
        "create_group",
        "create_group",
        (ACCOUNT, HOSTILE, [OTHER, UUID]),
        {
            "description": HOSTILE,
            "avatar": "{file}",
            "expiration": 3600,
            "link": "enabled-with-approval",
            "permissions": {"add_members": "only-admins", "edit_group": "every-member", "send_messages": "only-admins"},
            "add_admins": [OTHER],
        },
        sc.NotRegistered,
    ),
    ("create_group-minimal", "create_group", (ACCOUNT, "Team", []), {}, sc.NotRegistered),
    (
        "update_group",
        "update_group",
        (ACCOUNT, GROUP),
        {
            "name": HOSTILE,
            "description": "",
            "avatar": "{file}",
            "expiration": 0,
            "link": "disabled",
            "permissions": {"edit_group": "only-admins"},
            "add_members": [OTHER],
            "remove_members": [UUID],
            "add_admins": [OTHER],
            "remove_admins": [UUID],
        },
        sc.NotRegistered,
    ),
    ("accept_invitation", "update_group", (ACCOUNT, GROUP), {}, sc.NotRegistered),
    ("quit_group", "quit_group", (ACCOUNT, GROUP), {}, sc.NotRegistered),
    ("quit_group-delete", "quit_group", (ACCOUNT, GROUP), {"delete": True}, sc.NotRegistered),
    ("join_group", "join_group", (ACCOUNT, "https://signal.group/#CjQKIAbCdEf0123456789"), {}, sc.NotRegistered),
    (
        "update_profile",
        "update_profile",
        (ACCOUNT,),
        {"given_name": HOSTILE, "family_name": "-x", "about": "--", "avatar": "{file}"},
        sc.NotRegistered,
    ),
    ("update_profile-remove-avatar", "update_profile", (ACCOUNT,), {"remove_avatar": True}, sc.NotRegistered),
    (
        "receive",
        "receive",
        (ACCOUNT, "{spool}"),
        {
            "timeout": 0.5,
            "max_messages": 3,
            "ignore_attachments": True,
            "ignore_stories": True,
            "read_receipts": True,
        },
        sc.NotRegistered,
    ),
    ("receive-default", "receive", (ACCOUNT, "{spool}"), {}, sc.NotRegistered),
    ("typing", "send_typing", (ACCOUNT, OTHER), {}, sc.NotRegistered),
    ("typing-stop-group", "send_typing", (ACCOUNT, GROUP), {"stop": True}, sc.NotRegistered),
    ("remote_delete", "remote_delete", (ACCOUNT, OTHER, 1732630000123), {}, sc.NotRegistered),
    ("remote_delete-group", "remote_delete", (ACCOUNT, GROUP, 1732630000123), {}, sc.NotRegistered),
    ("receipt", "send_receipt", (ACCOUNT, OTHER, 1732630000123), {"receipt_type": "viewed"}, sc.NotRegistered),
    ("block", "block", (ACCOUNT, [OTHER, GROUP]), {}, sc.NotRegistered),
    ("avatar-contact", "avatar", (ACCOUNT,), {"contact": OTHER}, sc.NotRegistered),
    ("avatar-group", "avatar", (ACCOUNT,), {"group_id": GROUP}, sc.NotRegistered),
    ("unregister", "unregister", (ACCOUNT,), {"delete_account": True}, sc.NotRegistered),
    ("list_devices", "list_devices", (ACCOUNT,), {}, sc.NotRegistered),
    ("add_device", "add_device", (ACCOUNT, "sgnl://linkdevice?uuid=abc%3D&pub_key=def"), {}, sc.NotRegistered),
    ("remove_device", "remove_device", (ACCOUNT, 2), {}, sc.NotRegistered),
    (
        "rate_limit_challenge",
        "submit_rate_limit_challenge",
        (ACCOUNT, "challenge-token", "signalcaptcha://x"),
        {},
        sc.NotRegistered,
    ),
    (
        "update_account",
        "update_account",
        (ACCOUNT,),
        {"discoverable_by_number": False, "number_sharing": True},
        sc.NotRegistered,
    ),
    ("update_account-username", "update_account", (ACCOUNT,), {"username": "alice.42"}, sc.NotRegistered),
    ("update_account-delete-username", "update_account", (ACCOUNT,), {"delete_username": True}, sc.NotRegistered),
    ("set_pin", "set_pin", (ACCOUNT, "1234"), {}, sc.NotRegistered),
    ("remove_pin", "remove_pin", (ACCOUNT,), {}, sc.NotRegistered),
    ("list_contacts", "list_contacts", (ACCOUNT,), {"all_recipients": True}, sc.NotRegistered),
    ("list_contacts-filtered", "list_contacts", (ACCOUNT, [OTHER, UUID]), {}, sc.NotRegistered),
    ("update_contact", "update_contact", (ACCOUNT, OTHER), {"name": HOSTILE, "expiration": 60}, sc.NotRegistered),
    ("send_contacts", "send_contacts", (ACCOUNT,), {}, sc.NotRegistered),
    ("list_identities", "list_identities", (ACCOUNT,), {}, sc.NotRegistered),
    ("trust-all", "trust", (ACCOUNT, OTHER), {"all_known_keys": True}, sc.NotRegistered),
    ("trust-safety-number", "trust", (ACCOUNT, UUID), {"safety_number": "1" * 60}, sc.NotRegistered),
    ("list_sticker_packs", "list_sticker_packs", (ACCOUNT,), {}, sc.NotRegistered),
    (
        "add_sticker_pack",
        "add_sticker_pack",
        (ACCOUNT, "https://signal.art/addstickers/#pack_id=abcd&pack_key=ef01"),
        {},
        sc.NotRegistered,
    ),
    # linking asks Signal's servers for a provisioning address first; offline that is exit 3
    ("link", "link", (HOSTILE,), {}, sc.ServerError),
    # registering goes to Signal's servers before anything else; offline that is exit 3
    (
        "register",
        "register",
        (ACCOUNT,),
        {"voice": True, "captcha": "signalcaptcha://signal-hcaptcha.x.y"},
        sc.ServerError,
    ),
    # 0.13.19 crashes (exit 2) on verify without a registration session, after parsing
    ("verify", "verify", (ACCOUNT, "123456"), {"pin": "1234"}, sc.UnexpectedError),
]

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
    "require",
    "interrupt",
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
    covered = {case[1] for case in CASES} | RUN_DIRECTLY | NEWER_THAN_PINNED
    assert public - covered == set(), "add contract cases for these wrapper methods"


@pytest.mark.parametrize(("method", "args", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_real_signal_cli_accepts_the_argv(real_cli, tmp_path, method, args, kwargs, expected):
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


def test_real_signal_cli_deletes_local_data_of_an_unknown_account(real_cli):
    assert real_cli.delete_local_data(ACCOUNT, ignore_registered=True) is None


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
