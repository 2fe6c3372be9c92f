"""Tests of the fake signal-cli as the releases after 0.13.19: it follows the version it reports.

Each test runs the fake as a real executable of the named release (SIGNAL_CLI_0.14.md): the
command line of each release (§2-§3, with the ambiguous prefixes of §3.4), the new commands and
their checks (§3.1), output shapes (§4), exit codes (§5) and the 0.14.4 config file (§2.1).
"""

import base64
import json

import fake_signal_cli as fake
import pytest
from fake_signal_cli_runner import ACCOUNT, ANN, BOB, Cli, error_message, messages, registered_cli, run_argv

NEWEST = "0.14.6"


@pytest.fixture
def make_cli(tmp_path):
    """``make_cli(version)``: the fake of that release with one registered account."""
    runners = []

    def make(version):
        runner = registered_cli(tmp_path / f"{version}-{len(runners)}", version)
        runners.append(runner)
        return next(runner)

    yield make
    for runner in runners:
        next(runner, None)


def _unwrapped(text):
    """An argparse4j message without the spaces its line wrapping puts in (even inside names)."""
    return "".join(text.split())


def _group(cli, members=(ANN, BOB), **fields):
    return cli.state.add_group(ACCOUNT, members=[ACCOUNT, *members], **fields)


# -- the command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "since", "before"),
    [
        ("sendPollCreate", "0.13.22", "0.13.21"),
        ("updateDevice", "0.13.23", "0.13.22"),
        ("sendAdminDelete", "0.14.0", "0.13.24"),
        ("sendPinMessage", "0.14.0", "0.13.24"),
        ("listCalls", "0.14.2", "0.14.1"),
        ("sendStory", "0.14.6", "0.14.5"),
    ],
)
def test_a_command_exists_from_its_release_on(make_cli, command, since, before):
    old = make_cli(before).run(command)
    assert old.returncode == 1 and f"invalid choice: '{command}'" in error_message(old.stderr)
    new = make_cli(since).run(command)
    assert "invalid choice" not in new.stderr and f"usage: signal-cli {command}" in fake.usage_text(command, since)


@pytest.mark.parametrize(
    ("args", "old_dest", "candidates", "since"),
    [
        # (-t: the old release then really receives, and need not wait long for nothing)
        (
            ["receive", "--ignore-a", "-t", "0.1"],
            "ignore-attachments",
            "--ignore-attachments, --ignore-avatars",
            "0.14.0",
        ),
        (["receive", "--ignore-st", "-t", "0.1"], "ignore-stories", "--ignore-stickers, --ignore-stories", "0.14.0"),
        (["jsonRpc", "--ignore-s"], None, "--ignore-stickers, --ignore-stories", "0.14.0"),
        (["send", "--v", "-m", "x", ANN], "view-once", "--view-once, --voice-note", "0.14.2"),
        (["sendReaction", "--no"], None, "--note-to-self, --notify-self", "0.13.22"),
    ],
)
def test_new_options_make_old_prefixes_ambiguous(make_cli, args, old_dest, candidates, since):
    cli = make_cli(since)
    proc = cli.run(*args)
    assert proc.returncode == 1
    assert _unwrapped(error_message(proc.stderr)) == _unwrapped(f"ambiguous option: {args[1]} could match {candidates}")
    if old_dest:
        old = make_cli(fake.VERSION)
        old.run(*args)
        assert old.last_record()["options"][old_dest] is True


def test_member_label_prefix_is_ambiguous_but_the_exact_names_work(make_cli):
    cli = make_cli("0.14.1")
    group = _group(cli)
    proc = cli.run("updateGroup", "-g", group, "--member-l", "x")
    assert _unwrapped(error_message(proc.stderr)) == _unwrapped(
        "ambiguous option: --member-l could match --member-label, --member-label-emoji"
    )
    assert cli.run("updateGroup", "-g", group, "--member-label", "Ops", "--member", ANN).returncode == 0
    old = make_cli("0.14.0").run("updateGroup", "-g", group, "--member-label=Ops")
    assert old.returncode == 1 and "unrecognized arguments: '--member-label=Ops'" in error_message(old.stderr)


def test_poll_create_option_flag_swallows_what_follows(make_cli):
    cli = make_cli(NEWEST)
    cli.state.add_user(ANN)
    # -o after the subcommand is --option: "json" and the recipient become poll options
    assert cli.run("sendPollCreate", "-q", "Q", "-o", "json", ANN, output=None).returncode == 1
    proc = cli.run("sendPollCreate", "-q", "Q", "-o", "A", "B", "--", ANN)
    assert proc.returncode == 0, proc.stderr
    assert cli.state.sent_messages(command="sendPollCreate")[-1]["options"] == ["A", "B"]
    last_wins = cli.run("sendPollCreate", "-q", "Q", "-o", "A", "-o", "B", "--", ANN)
    assert messages(last_wins.stderr) == ["Poll needs at least two options"]


def test_data_dir_names_and_service_environments_follow_the_release(tmp_path):
    config = tmp_path / "cfg"
    fake.FakeState(config).add_account(ACCOUNT)
    for version, code in (("0.14.3", 1), ("0.14.4", 0)):
        shim = fake.write_executable(tmp_path / version, version=version)
        proc = run_argv([str(shim), "-d", str(config), "-o", "json", "listAccounts"])
        assert proc.returncode == code, proc.stderr
    shim = fake.write_executable(tmp_path / "new", version=NEWEST)
    listed = run_argv([str(shim), "--data-dir", str(config), "-o", "json", "listAccounts"])
    assert json.loads(listed.stdout) == [{"number": ACCOUNT}]
    sandbox = run_argv([str(shim), "--service-environment", "sandbox", "--config", str(config), "listAccounts"])
    assert sandbox.returncode == 1 and "could not convert 'sandbox'" in error_message(sandbox.stderr)
    old = fake.write_executable(tmp_path / "old", version="0.13.24")
    assert (
        run_argv([str(old), "--service-environment", "sandbox", "--config", str(config), "listAccounts"]).returncode
        == 0
    )


# -- the new commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "options", "message"),
    [
        ("0.13.22", ["A"], "Poll needs at least tow options"),
        ("0.14.0", ["A"], "Poll needs at least two options"),
        ("0.14.1", [str(i) for i in range(11)], "Poll cannot have more than 10 options"),
        ("0.14.2", ["A", ""], "Poll options must not be empty"),
        ("0.14.2", ["A", "x" * 101], f'Poll option "{"x" * 101}" exceeds the maximum length of 100 characters'),
        # String.length() counts UTF-16 units: 51 emoji are 102
        ("0.14.2", ["A", "😀" * 51], f'Poll option "{"😀" * 51}" exceeds the maximum length of 100 characters'),
    ],
)
def test_poll_options_are_checked_as_the_release_does(make_cli, version, options, message):
    cli = make_cli(version)
    proc = cli.run("sendPollCreate", "-q", "Q", "-o", *options, "--", ANN)
    assert (proc.returncode, messages(proc.stderr)) == (1, [message])


@pytest.mark.parametrize(
    ("version", "options"),
    [("0.14.0", [str(i) for i in range(11)]), ("0.14.1", ["A", "x" * 100]), ("0.14.1", ["A", ""])],
)
def test_older_releases_lack_the_later_poll_checks(make_cli, version, options):
    assert make_cli(version).run("sendPollCreate", "-q", "Q", "-o", *options, "--", ANN).returncode == 0


def test_poll_commands_print_a_send_result_and_record_the_poll(make_cli):
    cli = make_cli(NEWEST)
    cli.state.add_user(ANN)
    group = _group(cli)
    created = cli.run("sendPollCreate", "--question=Lunch?", "--no-multi", "-o", "Pizza", "Sushi", "-g", group)
    result = json.loads(created.stdout)
    assert set(result) == {"timestamp", "results"} and len(result["results"]) == 2
    voted = cli.run("sendPollVote", f"--poll-author={ANN}", "--poll-timestamp=5", "-o", "0", "1", "--vote-count=2", ANN)
    closed = cli.run("sendPollTerminate", "--poll-timestamp=5", "--note-to-self")
    assert voted.returncode == closed.returncode == 0
    create, vote, close = (
        cli.state.sent_messages(command=c)[-1] for c in ("sendPollCreate", "sendPollVote", "sendPollTerminate")
    )
    assert (create["question"], create["allow_multiple"], create["options"]) == ("Lunch?", False, ["Pizza", "Sushi"])
    assert (vote["poll_author"], vote["option_indexes"], vote["vote_count"]) == (ANN, [0, 1], 2)
    assert close["recipients"] == ["note-to-self"]
    assert messages(cli.run("sendPollCreate", "-q", "Q", "-o", "A", "B").stderr) == ["No recipients given"]


def test_pin_and_unpin_record_the_target(make_cli):
    cli = make_cli("0.14.0")
    group = _group(cli)
    assert cli.run("sendPinMessage", "-a", ANN, "-t", "7", "-g", group).returncode == 0
    assert cli.run("sendUnpinMessage", "--target-author", ANN, "--target-timestamp=7", "--", ANN).returncode == 0
    pin = cli.state.sent_messages(command="sendPinMessage")[-1]
    assert (pin["target_author"], pin["target_timestamp"], pin["pin_duration"]) == (ANN, 7, -1)
    assert cli.state.sent_messages(command="sendUnpinMessage")[-1]["recipients"] == [ANN]


def test_admin_delete_needs_a_group(make_cli):
    cli = make_cli("0.14.0")
    missing = cli.run("sendAdminDelete", "-a", ANN, "-t", "7")
    assert (missing.returncode, messages(missing.stderr)) == (1, ["Admin delete requires group IDs"])
    unknown = cli.run("sendAdminDelete", "-g", base64.b64encode(bytes(32)).decode(), "-a", ANN, "-t", "7")
    assert unknown.returncode == 1 and messages(unknown.stderr)[0].startswith("Group not found")
    group = _group(cli)
    done = cli.run("sendAdminDelete", "-g", group, "-a", ANN, "-t", "7", "--story")
    assert len(json.loads(done.stdout)["results"]) == 2
    record = cli.state.sent_messages(command="sendAdminDelete")[-1]
    assert (record["recipients"], record["target_timestamp"], record["story"]) == ([f"group:{group}"], 7, True)


def test_story_needs_an_image_or_a_video(make_cli, tmp_path):
    cli = make_cli(NEWEST)
    text = tmp_path / "note.txt"
    text.write_text("hi")
    wrong = cli.run("sendStory", "-a", str(text))
    assert (wrong.returncode, messages(wrong.stderr)) == (
        2,
        [
            f"Failed to send story: {text}: Stories only support image and video attachments "
            "(AttachmentInvalidException)"
        ],
    )
    uri = cli.run("sendStory", "-a", "data:image/png;base64,AAAA")
    assert uri.returncode == 2 and "No such file or directory" in uri.stderr


def test_story_goes_to_my_story_or_to_a_group(make_cli, tmp_path):
    cli = make_cli(NEWEST)
    picture = tmp_path / "p.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    nobody = cli.run("sendStory", "-a", str(picture))
    assert (nobody.returncode, messages(nobody.stderr)) == (
        2,
        ["Failed to send story: No eligible contacts found for story delivery (IOException)"],
    )
    cli.state.add_contact(ACCOUNT, ANN)
    cli.state.add_contact(ACCOUNT, BOB, isBlocked=True)
    mine = json.loads(cli.run("sendStory", "-a", str(picture), "--no-replies").stdout)
    assert [r["recipientAddress"]["number"] for r in mine["results"]] == [ANN]
    group = _group(cli)
    assert len(json.loads(cli.run("sendStory", "-a", str(picture), "-g", group).stdout)["results"]) == 2
    first, second = cli.state.sent_messages(command="sendStory")
    assert (first["my_story"], first["allow_replies"], second["group_id"]) == (True, False, group)
    assert first["attachment"]["content_type"] == "image/png"


def test_update_device_renames_a_linked_device(make_cli):
    cli = make_cli("0.13.23")
    cli.run("addDevice", "--uri", "sgnl://linkdevice?uuid=u&pub_key=k")
    assert cli.run("updateDevice", "-d", "2", "-n", "Laptop").stdout == ""
    assert [d["name"] for d in json.loads(cli.run("listDevices").stdout)] == [None, "Laptop"]
    assert cli.run("updateDevice", "-d", "9", "-n", "x").returncode == 3
    cli.state.add_account(ACCOUNT, device_id=2)
    linked = cli.run("updateDevice", "-d", "2", "-n", "x")
    assert messages(linked.stderr) == ["This command doesn't work on linked devices."]


def test_send_records_urgency_and_voice_notes_of_the_release(make_cli, tmp_path):
    cli = make_cli("0.14.2")
    audio = tmp_path / "a.m4a"
    audio.write_bytes(b"x")
    assert cli.run("send", "-a", str(audio), "--no-urgent", "--voice-note", "--", ANN).returncode == 0
    record = cli.state.sent_messages(command="send")[-1]
    assert (record["no_urgent"], record["voice_note"]) == (True, True)
    old = make_cli(fake.VERSION)
    old.run("send", "-m", "hi", ANN)
    assert "no_urgent" not in old.state.sent_messages(command="send")[-1]


def test_reaction_notify_self_from_0_13_22(make_cli):
    cli = make_cli("0.13.22")
    assert cli.run("sendReaction", "-e", "👍", "-a", ANN, "-t", "1", "--notify-self", ANN).returncode == 0
    assert cli.state.sent_messages(command="sendReaction")[-1]["notify_self"] is True


# -- output shapes -----------------------------------------------------------------------------------


def test_list_groups_members_become_objects_in_0_14_1(make_cli):
    old = make_cli("0.14.0")
    group = _group(old, admins=[ACCOUNT])
    assert json.loads(old.run("listGroups").stdout)[0]["members"][1] == {"number": ANN, "uuid": fake.uuid_for(ANN)}
    cli = make_cli("0.14.1")
    group = _group(cli, admins=[ACCOUNT])
    assert cli.run("updateGroup", "-g", group, "--member-label", "Ops", "--member-label-emoji", "🛠").returncode == 0
    assert cli.run("updateGroup", "-g", group, "--member-label", "Dev").returncode == 0
    entry = json.loads(cli.run("listGroups").stdout)[0]
    me = cli.state.account(ACCOUNT)["uuid"]
    assert entry["members"] == [
        {"number": ACCOUNT, "uuid": me, "isAdmin": True, "labelEmoji": "🛠", "label": "Dev"},
        {"number": ANN, "uuid": fake.uuid_for(ANN), "isAdmin": False},
        {"number": BOB, "uuid": fake.uuid_for(BOB), "isAdmin": False},
    ]
    assert entry["admins"] == [{"number": ACCOUNT, "uuid": me}]


def test_list_contacts_gains_is_archived_in_0_14_1(make_cli):
    for version, keys in (("0.14.0", ["color", "isBlocked"]), ("0.14.1", ["color", "isArchived", "isBlocked"])):
        cli = make_cli(version)
        cli.state.add_contact(ACCOUNT, ANN)
        contact = json.loads(cli.run("listContacts").stdout)[0]
        keys_shown = list(contact)
        start = keys_shown.index("color")
        assert keys_shown[start : start + len(keys)] == keys
    assert contact["isArchived"] is False


def _queued(cli, **extra):
    cli.state.queue_messages(ACCOUNT, [fake.message_line(ACCOUNT, ANN, "hi", timestamp=1, **extra)])
    return json.loads(cli.run("receive", "-t", "0").stdout)["envelope"]["dataMessage"]


def test_received_data_messages_follow_the_release(make_cli):
    assert "isExpirationUpdate" not in _queued(make_cli("0.13.20"))
    assert list(_queued(make_cli("0.13.21"))) == [
        "timestamp",
        "message",
        "expiresInSeconds",
        "isExpirationUpdate",
        "viewOnce",
    ]
    poll = {"question": "Lunch?", "allowMultiple": True, "options": ["Pizza", "Sushi"]}
    assert "pollCreate" not in _queued(make_cli("0.13.21"), pollCreate=poll)
    assert _queued(make_cli("0.13.22"), pollCreate=poll)["pollCreate"] == poll
    pin = {"targetAuthor": ANN, "targetSentTimestamp": 5, "pinDurationSeconds": -1}
    assert "pinMessage" not in _queued(make_cli("0.13.24"), pinMessage=pin)
    assert _queued(make_cli(NEWEST), pinMessage=pin)["pinMessage"] == pin


def test_end_session_prints_nothing_from_0_14_4(make_cli):
    old = make_cli("0.14.3").run("send", "-e", ANN)
    assert set(json.loads(old.stdout)) == {"timestamp", "results"}
    cli = make_cli("0.14.4")
    new = cli.run("send", "-e", ANN)
    assert (new.returncode, new.stdout) == (0, "")
    assert cli.state.sent_messages(command="send")[-1]["end_session"] is True


def test_plain_rate_limits_carry_retry_after_from_0_14_3(make_cli):
    for version, expected in (("0.14.2", None), ("0.14.3", 120)):
        cli = make_cli(version)
        cli.state.add_user(ANN, rate_limited_plain=120)
        proc = cli.run("send", "-m", "hi", ANN)
        (result,) = json.loads(proc.stdout)["results"]
        assert (proc.returncode, result["type"], "token" in result) == (5, "RATE_LIMIT_FAILURE", False)
        assert result.get("retryAfterSeconds") == expected


# -- exit codes ----------------------------------------------------------------------------------------


def test_rejected_captcha_is_exit_6_from_0_14_3(make_cli):
    text = "Captcha rejected, it may be outdated, already used or solved from a different IP address."
    for version, code in (("0.14.2", 1), ("0.14.3", 6)):
        proc = make_cli(version).run("submitRateLimitChallenge", "--challenge=x", "--captcha=y")
        assert (proc.returncode, messages(proc.stderr)) == (code, [text])


def test_verify_without_a_session_is_exit_3_from_0_13_21(tmp_path):
    for version, code in (("0.13.20", 2), ("0.13.21", 3)):
        cli = Cli(tmp_path / version, version)
        proc = cli.run("verify", "123-456")
        assert proc.returncode == code
    assert messages(proc.stderr) == ["Verify error: No registration verification session active"]


def test_attachments_from_the_data_dir_are_refused_from_0_14_4(make_cli):
    for version, code in (("0.14.3", 0), ("0.14.4", 2)):
        cli = make_cli(version)
        inside = cli.config / "data" / "secret"
        inside.parent.mkdir(parents=True, exist_ok=True)
        inside.write_text("x")
        proc = cli.run("send", "-a", str(inside), "--", ANN)
        assert proc.returncode == code
    assert messages(proc.stderr) == [
        f"Failed to send message: {inside}: Attaching files from the signal-cli data directory is not allowed "
        "(AttachmentInvalidException)"
    ]
    allowed = cli.config / "attachments" / "ok"
    allowed.parent.mkdir()
    allowed.write_text("x")
    assert cli.run("send", "-a", str(allowed), "--", ANN).returncode == 0


def test_daemon_needs_a_channel_from_0_14_0(make_cli):
    proc = make_cli("0.14.0").run("daemon", account=None)
    assert (proc.returncode, messages(proc.stderr)) == (
        1,
        ["At least one channel parameter is required, e.g. --socket or --dbus."],
    )
    # before 0.14.0 the daemon falls back to --dbus, which the fake does not model
    # (daemon --socket itself: test_fake_signal_cli_daemon.py)
    assert "not implemented" in make_cli("0.13.24").run("daemon", account=None).stderr


# -- the config file (0.14.4+) ---------------------------------------------------------------------


def _with_config(cli, monkeypatch, text):
    path = cli.tmp / "config.json"
    path.write_text(text)
    monkeypatch.setenv("SIGNAL_CLI_CONFIG", str(path))
    return path


def test_config_file_gives_defaults_that_argv_overrides(make_cli, monkeypatch):
    cli = make_cli("0.14.4")
    _with_config(cli, monkeypatch, json.dumps({"output": "JSON", "trustNewIdentities": "always", "account": "x"}))
    cli.state.add_user(ANN, untrusted=True)
    # json by default, and the untrusted identity is trusted
    assert json.loads(cli.run("send", "-m", "hi", ANN, output=None).stdout)["results"][0]["type"] == "SUCCESS"
    assert cli.run("listGroups", output="plain-text").stdout == ""
    # link does not support json: argv must say plain-text
    assert messages(cli.run("link", account=None, output=None).stderr) == ["Command doesn't support output type json"]


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ('{"dbus": false, "colour": 1}', 'Failed to parse configuration file(s): Unrecognized field "colour"'),
        ('{"verbose": "yes"}', "Failed to parse configuration file(s): Cannot deserialize"),
        ('{"serviceEnvironment": "sandbox"}', "Failed to parse configuration file(s): Cannot deserialize"),
        ("{not json", "Failed to load config from "),
    ],
)
def test_a_bad_config_file_stops_every_command(make_cli, monkeypatch, text, start):
    cli = make_cli(NEWEST)
    _with_config(cli, monkeypatch, text)
    proc = run_argv([str(cli.bin), "--version"])
    assert proc.returncode == 1 and proc.stdout == ""
    assert messages(proc.stderr)[0].startswith(start), proc.stderr
    # before 0.14.4 there is no config file
    older = make_cli("0.14.3")
    assert run_argv([str(older.bin), "--version"]).stdout == "signal-cli 0.14.3\n"


def test_dbus_in_the_config_file_cannot_be_undone_on_argv(make_cli, monkeypatch):
    cli = make_cli(NEWEST)
    _with_config(cli, monkeypatch, '{"dbus": true}')
    proc = cli.run("listGroups")
    assert proc.returncode == 2 and "Dbus client failed" in proc.stderr
    _with_config(cli, monkeypatch, '{"dbus": false, "dbusSystem": false}')
    assert cli.run("listGroups").returncode == 0
