"""Tests of running the fake signal-cli: it must answer like signal-cli 0.13.19 (see SIGNAL_CLI.md).

Every test runs the fake as a real executable through the shim written by ``write_executable``:
the order of checks, sending, groups, receive, link, locking, faults, accounts and the log. Its
command line is tested in test_fake_signal_cli_parser.py, its value syntax in
test_fake_signal_cli_values.py.
"""

import base64
import json
import signal
import subprocess
import time

import fake_signal_cli as fake
import pytest
from fake_signal_cli_runner import (
    ACCOUNT,
    ANN,
    BOB,
    CAROL,
    OTHER_ACCOUNT,
    UNKNOWN_GROUP,
    Cli,
    finish,
    messages,
    registered_cli,
    run_argv,
)

cli = pytest.fixture(registered_cli)


# ---------------------------------------------------------------------------
# Order of checks
# ---------------------------------------------------------------------------


def _two_accounts(state):
    state.add_account(OTHER_ACCOUNT)


def _unregistered(state):
    state.add_account(ACCOUNT, registered=False)


def _no_accounts(state):
    state.update(lambda s: s.pop("accounts"))


@pytest.mark.parametrize(
    "setup, identity, args, message",
    [
        (None, (ACCOUNT, "json"), ["link"], "Command doesn't support output type json"),
        (None, (ACCOUNT, "plain-text"), ["link"], "You cannot specify a account (phone number) when linking"),
        (None, (ACCOUNT, "plain-text"), ["jsonRpc"], "Command doesn't support output type plain-text"),
        (
            None,
            ("4915112345678", "json"),
            ["send", "-m", "hi", ANN],
            "Invalid account (phone number), make sure you include the country code.",
        ),
        (
            None,
            ("+49", "json"),
            ["listAccounts"],
            "Invalid account (phone number), make sure you include the country code.",
        ),
        (None, (ACCOUNT, "json"), ["listAccounts"], "Command only works in multi-account mode"),
        (
            _no_accounts,
            (None, "json"),
            ["listGroups"],
            "No local users found, you first need to register or link an account",
        ),
        (
            _two_accounts,
            (None, "json"),
            ["listGroups"],
            "Multiple users found, you need to specify an account (phone number) with -a",
        ),
        (None, ("+4915100000099", "json"), ["send", "-m", "hi", ANN], "User +4915100000099 is not registered."),
        (
            _unregistered,
            (ACCOUNT, "json"),
            ["send", "-m", "", "-g", "not base64!"],
            "User +4915112345678 is not registered.",
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["send", "-m", "hi", "-g", "abc-"],
            'Invalid group id: Failed to decode groupId (must be base64) "abc-": Illegal base64 character 2d',
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["send", "-m", "hi", "-g", "QUJD"],
            'Invalid group id: Failed to decode groupId (must be base64) "QUJD": Invalid group id of size 3',
        ),
        (None, (ACCOUNT, "json"), ["send", "-m", "hi", "-g", UNKNOWN_GROUP], "Group not found: " + UNKNOWN_GROUP),
        (None, (ACCOUNT, "json"), ["send", "-m", "hi"], "No recipients given"),
        (
            None,
            (ACCOUNT, "json"),
            ["send", ANN],
            "Sending empty message is not allowed, either a message, attachment or sticker must be given.",
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["send", "-m", "hi", "x@example.org"],
            "Invalid phone number 'x@example.org': Possible attempt to use email address.",
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["send", "-m", "hi", "--mention", "0:1", "--", ANN],
            "Invalid mention syntax (0:1) expected 'start:length:recipientNumber'",
        ),
        (None, (ACCOUNT, "json"), ["send", "-m", "hi", "--text-style", "0:1:bold", "--", ANN], "Invalid style: bold"),
        (
            None,
            (ACCOUNT, "json"),
            ["send", "-m", "hi", "--sticker", "abc:1", ANN],
            "Invalid sticker syntax (abc:1) expected 'stickerPackId:stickerId'",
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["send", "-m", "hi", "--quote-timestamp", "5", ANN],
            "Quote author parameter is missing",
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["quitGroup", "-g", UNKNOWN_GROUP],
            "Failed to send to group: Group not found: " + UNKNOWN_GROUP,
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["joinGroup", "--uri", "https://example.org/#x"],
            "Link is not a signal group invitation link",
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["getAttachment", "--id", "nope", "--recipient", ANN],
            "Could not find attachment with ID: nope",
        ),
        (
            None,
            (ACCOUNT, "json"),
            ["deleteLocalAccountData"],
            "Not deleting account, it is still registered. Use --ignore-registered to delete it anyway.",
        ),
    ],
)
def test_checks_happen_in_signal_clis_order_and_user_errors_are_exit_1(cli, setup, identity, args, message):
    if setup:
        setup(cli.state)
    account, output = identity
    proc = cli.run(*args, account=account, output=output)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert messages(proc.stderr) == [message]


def test_unusable_config_dir_is_exit_3(tmp_path):
    shim = fake.write_executable(tmp_path / "bin")
    config_file = tmp_path / "cfg"
    config_file.write_text("a file, not a directory")
    proc = run_argv([str(shim), "--config", str(config_file), "-o", "json", "listAccounts"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "", "Failed to read local accounts list\n")


def test_only_account_is_used_without_dash_a(cli):
    proc = cli.run("listGroups", account=None)
    assert (proc.returncode, proc.stdout) == (0, "[]\n")
    assert cli.last_record()["account"] == ACCOUNT


def test_successful_account_commands_log_to_stderr(cli):
    proc = cli.run("listGroups")
    assert proc.returncode == 0
    assert proc.stderr == (
        "INFO  AccountHelper - The Signal protocol expects that incoming messages are regularly received.\n"
    )


# ---------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "users, code, message, types",
    [
        ({ANN: {}}, 0, None, {"SUCCESS"}),
        ({ANN: {}, BOB: {"registered": False}}, 0, None, {"SUCCESS", "UNREGISTERED_FAILURE"}),
        ({BOB: {"registered": False}}, 1, "Failed to send message", {"UNREGISTERED_FAILURE"}),
        ({ANN: {"untrusted": True}}, 4, "Failed to send message due to untrusted identities", {"IDENTITY_FAILURE"}),
        (
            {ANN: {"rate_limited": True}, BOB: {"rate_limited": True}},
            5,
            "Failed to send message due to rate limiting",
            {"RATE_LIMIT_FAILURE"},
        ),
        (
            {ANN: {"untrusted": True}, BOB: {"rate_limited": True}},
            1,
            "Failed to send message",
            {"IDENTITY_FAILURE", "RATE_LIMIT_FAILURE"},
        ),
        ({ANN: {"network_failure": True}}, 1, "Failed to send message", {"NETWORK_FAILURE"}),
    ],
)
def test_send_results_and_exit_codes(cli, users, code, message, types):
    for number, flags in users.items():
        cli.state.add_user(number, **flags)
    proc = cli.run("send", "-m", "hi", "--", *users)
    assert proc.returncode == code
    body = json.loads(proc.stdout)  # the JSON is printed even when the exit code says failure
    assert set(body) == {"timestamp", "results"}
    assert {r["type"] for r in body["results"]} == types
    assert {r["recipientAddress"]["number"] for r in body["results"]} == set(users)
    assert messages(proc.stderr) == ([message] if message else [])


def test_send_result_key_order_is_random_like_java_map_of():
    orders = {tuple(fake.handlers.sending.shuffled_object([("timestamp", 1), ("results", [])])) for _ in range(200)}
    assert orders == {("timestamp", "results"), ("results", "timestamp")}


def test_send_result_details(cli):
    cli.state.add_user(ANN, uuid="a1b2c3d4-0000-4000-8000-000000000001")
    cli.state.add_user(BOB, registered=False)
    cli.state.add_user(CAROL, rate_limited=True)
    results = json.loads(cli.run("send", "-m", "hi", "--", ANN, BOB, CAROL, ACCOUNT).stdout)["results"]
    by_number = {r["recipientAddress"]["number"]: r for r in results}
    assert by_number[ANN] == {
        "recipientAddress": {"uuid": "a1b2c3d4-0000-4000-8000-000000000001", "number": ANN, "username": None},
        "type": "SUCCESS",
    }
    assert by_number[BOB] == {
        "recipientAddress": {"uuid": None, "number": BOB, "username": None},
        "type": "UNREGISTERED_FAILURE",
    }
    assert by_number[CAROL]["token"] == "challenge-token-4915100000003"
    assert by_number[CAROL]["retryAfterSeconds"] == 86400
    assert by_number[ACCOUNT]["type"] == "SUCCESS"  # a sync message to ourselves


def test_rate_limit_challenge_lifts_the_limit(cli):
    cli.state.add_user(ANN, rate_limited="tok-1")
    assert cli.run("send", "-m", "hi", ANN).returncode == 5
    rejected = cli.run("submitRateLimitChallenge", "--challenge", "other", "--captcha", "c")
    assert messages(rejected.stderr) == [
        "Captcha rejected, it may be outdated, already used or solved from a different IP address."
    ]
    accepted = cli.run("submitRateLimitChallenge", "--challenge=tok-1", "--captcha=c")
    assert (accepted.returncode, accepted.stdout) == (0, "")
    assert cli.run("send", "-m", "hi", ANN).returncode == 0


def test_trust_new_identities_always_sends_to_untrusted_users(cli):
    cli.state.add_user(ANN, untrusted=True)
    proc = run_argv(
        [
            str(cli.bin),
            "--config",
            str(cli.config),
            "-a",
            ACCOUNT,
            "-o",
            "json",
            "--trust-new-identities",
            "always",
            "send",
            "-m",
            "hi",
            ANN,
        ]
    )
    assert proc.returncode == 0


def test_timestamps_are_unique_and_increasing(cli):
    stamps = [json.loads(cli.run("send", "-m", str(i), ANN).stdout)["timestamp"] for i in range(4)]
    assert stamps == sorted(set(stamps)) and len(stamps) == 4


def test_loose_number_normalisation_is_copied(cli):
    proc = cli.run("send", "-m", "hi", "--", "-5 degrees", "0151 00000001")
    numbers = {r["recipientAddress"]["number"] for r in json.loads(proc.stdout)["results"]}
    assert numbers == {"+4915112345675", "+4915100000001"}


def test_send_records_the_message(cli):
    proc = cli.run(
        "send",
        "-m",
        "hi @A",
        "--mention",
        "3:2:" + ANN,
        "--text-style",
        "0:2:BOLD",
        "--quote-timestamp=5",
        "--quote-author",
        BOB,
        "--",
        ANN,
    )
    assert proc.returncode == 0
    [sent] = cli.state.sent_messages(account=ACCOUNT, command="send")
    assert sent["message"] == "hi @A"
    assert sent["mentions"] == [{"start": 3, "length": 2, "recipient": ANN}]
    assert sent["text_styles"] == [{"start": 0, "length": 2, "style": "BOLD"}]
    assert sent["quote"]["author"] == BOB
    assert sent["timestamp"] == json.loads(proc.stdout)["timestamp"]


@pytest.mark.parametrize("text", ["hi\n", "ü and 😀\n\n", "  spaced  "])
def test_message_from_stdin_is_read_fully_and_not_trimmed(cli, text):
    proc = cli.run("send", "--message-from-stdin", ANN, input=text)
    assert proc.returncode == 0
    assert cli.state.sent_messages()[0]["message"] == text
    assert cli.last_record()["stdin"] == text


def test_message_from_stdin_waits_for_eof(cli):
    proc = cli.popen("send", "--message-from-stdin", ANN, stdin=subprocess.PIPE)
    proc.stdin.write("still typing")
    proc.stdin.flush()
    time.sleep(0.3)
    assert proc.poll() is None  # hangs like the real one until stdin is closed
    code, out, err = finish(proc)  # communicate() closes stdin
    assert code == 0
    assert json.loads(out)["results"][0]["type"] == "SUCCESS"


def test_attachments_are_copied_into_the_record(cli):
    photo = cli.tmp / "photo one.jpg"
    photo.write_bytes(b"\xff\xd8jpeg")
    proc = cli.run(
        "send",
        "-m",
        "look",
        "-a",
        str(photo),
        "data:text/plain;filename=my%20file.txt;base64,aGVsbG8=",
        "data:text/plain;charset=utf-8;filename=lost.txt;base64,aGk=",
        "--",
        ANN,
    )
    assert proc.returncode == 0
    record = cli.last_record()["attachments"]
    assert [(a["name"], base64.b64decode(a["data"])) for a in record] == [
        ("photo one.jpg", b"\xff\xd8jpeg"),
        ("my file.txt", b"hello"),
        (None, b"hi"),
    ]
    assert cli.state.sent_messages()[0]["attachments"][0]["content_type"] == "image/jpeg"


@pytest.mark.parametrize("attachment", ["/no/such/file.png", "data:image/png;base64,!!!"])
def test_missing_attachment_is_exit_2(cli, attachment):
    proc = cli.run("send", "-m", "hi", "-a", attachment, "--", ANN)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert messages(proc.stderr) == [
        f"Failed to send message: {attachment}: {attachment} (No such file or directory) (AttachmentInvalidException)"
    ]
    assert cli.state.sent_messages() == []


def test_send_family_commands(cli):
    group = cli.state.add_group(ACCOUNT, members=[ANN, BOB])
    reaction = cli.run("sendReaction", "-e", "👍", "-a", ANN, "-t", "1700000000000", "-g", group)
    assert {r["groupId"] for r in json.loads(reaction.stdout)["results"]} == {group}
    receipt = cli.run("sendReceipt", ANN, "-t", "1", "2", "--type", "viewed")
    assert json.loads(receipt.stdout)["results"][0]["type"] == "SUCCESS"
    typing = cli.run("sendTyping", "-g", UNKNOWN_GROUP)
    assert messages(typing.stderr) == ["Failed to send to group: Group not found: " + UNKNOWN_GROUP]
    delete = cli.run("remoteDelete", "-t", "1700000000000", ANN)
    assert delete.returncode == 0
    assert [s["command"] for s in cli.state.sent_messages()] == ["sendReaction", "sendReceipt", "remoteDelete"]
    assert cli.state.sent_messages(command="sendReceipt")[0]["target_timestamps"] == [1, 2]


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------


def test_group_lifecycle(cli):
    created = cli.run("updateGroup", "-n", "Team", "-m", ANN, BOB)
    body = json.loads(created.stdout)
    assert list(body) == ["groupId", "results", "timestamp"]
    group_id = body["groupId"]
    assert len(base64.b64decode(group_id)) == 32
    assert {r["recipientAddress"]["number"] for r in body["results"]} == {ANN, BOB}

    [group] = json.loads(cli.run("listGroups").stdout)
    assert list(group) == [
        "id",
        "name",
        "description",
        "isMember",
        "isBlocked",
        "messageExpirationTime",
        "members",
        "pendingMembers",
        "requestingMembers",
        "admins",
        "banned",
        "permissionAddMember",
        "permissionEditDetails",
        "permissionSendMessage",
        "groupInviteLink",
    ]
    assert {m["number"] for m in group["members"]} == {ACCOUNT, ANN, BOB}
    assert [a["number"] for a in group["admins"]] == [ACCOUNT]

    assert cli.run("updateGroup", "-g", group_id).stdout == "{}\n"
    updated = json.loads(
        cli.run(
            "updateGroup",
            "-g",
            group_id,
            "-n",
            "New",
            "--link",
            "enabled",
            "--set-permission-add-member",
            "only-admins",
            "-e",
            "3600",
        ).stdout
    )
    assert set(updated) == {"results", "timestamp"}
    [group] = json.loads(cli.run("listGroups", "-g", group_id).stdout)
    assert (group["name"], group["permissionAddMember"], group["messageExpirationTime"]) == ("New", "ONLY_ADMINS", 3600)
    assert group["groupInviteLink"].startswith("https://signal.group/#")
    assert cli.run("listGroups", "-g", UNKNOWN_GROUP).stdout == "[]\n"

    last_admin = cli.run("quitGroup", "-g", group_id)
    assert messages(last_admin.stderr) == [
        f"You need to specify a new admin with --admin: User is last admin in group: New ({group_id})"
    ]
    quit_ = cli.run("quitGroup", "-g", group_id, "--admin", ANN)
    assert set(json.loads(quit_.stdout)) == {"timestamp", "results"}
    [group] = json.loads(cli.run("listGroups").stdout)
    assert group["isMember"] is False
    again = cli.run("quitGroup", "-g", group_id)
    assert (again.returncode, again.stdout) == (0, "")
    assert "INFO  QuitGroupCommand - User is not a group member" in again.stderr
    assert cli.run("quitGroup", "-g", group_id, "--delete").returncode == 0
    assert cli.run("listGroups").stdout == "[]\n"


def test_group_send_reaches_every_other_member(cli):
    cli.state.add_user(BOB, untrusted=True)
    group = cli.state.add_group(ACCOUNT, name="Team", members=[ANN, BOB])
    proc = cli.run("send", "-m", "hi", "-g", group)
    assert proc.returncode == 0  # one success is enough
    results = json.loads(proc.stdout)["results"]
    assert sorted((r["recipientAddress"]["number"], r["type"], r["groupId"]) for r in results) == [
        (ANN, "SUCCESS", group),
        (BOB, "IDENTITY_FAILURE", group),
    ]


def test_announcement_group_refuses_non_admins(cli):
    group = cli.state.add_group(ACCOUNT, name="News", members=[ANN], admins=[ANN], permissionSendMessage="ONLY_ADMINS")
    proc = cli.run("send", "-m", "hi", "-g", group)
    assert messages(proc.stderr) == [f"User is not allowed to send message to group: News ({group})"]


def test_join_group_by_link_and_block(cli):
    cli.state.add_account(OTHER_ACCOUNT)
    group = cli.state.add_group(OTHER_ACCOUNT, members=[ANN], groupInviteLink="https://signal.group/#CjQKIAbc")
    joined = json.loads(cli.run("joinGroup", "--uri", "https://signal.group/#CjQKIAbc").stdout)
    assert joined["groupId"] == group and "onlyRequested" not in joined
    assert cli.run("block", ANN, "-g", group).returncode == 0
    # the id is decoded and re-encoded: non-canonical trailing bits come back changed
    unknown = cli.run("block", "-g", "C" * 43 + "=")
    assert unknown.returncode == 0
    assert "WARN  BlockCommand - Unknown group id: Group not found: " + "C" * 42 + "A=" in unknown.stderr
    [listed] = json.loads(cli.run("listGroups").stdout)
    assert listed["isBlocked"] is True


# ---------------------------------------------------------------------------
# Receive
# ---------------------------------------------------------------------------


def test_receive_consumes_the_inbox_one_line_per_envelope(cli):
    lines = [fake.message_line(ACCOUNT, ANN, f"m{i}") for i in range(3)]
    cli.state.queue_messages(ACCOUNT, lines)
    first = cli.run("receive", "--max-messages", "2")
    assert first.returncode == 0
    assert [json.loads(line) for line in first.stdout.splitlines()] == lines[:2]
    assert cli.state.inbox(ACCOUNT) == lines[2:]
    rest = cli.run("receive", "-t", "0.2")
    assert [json.loads(line)["envelope"]["dataMessage"]["message"] for line in rest.stdout.splitlines()] == ["m2"]
    assert cli.run("receive", "-t", "0.2").stdout == ""


def test_receive_writes_attachments_and_strips_their_data(cli):
    line = fake.message_line(
        ACCOUNT, ANN, "pic", attachments=[{"filename": "a.png", "contentType": "image/png", "data": b"\x89PNG"}]
    )
    cli.state.queue_messages(ACCOUNT, [line])
    out = json.loads(cli.run("receive", "-t", "0").stdout)
    assert "_data" not in out
    attachment_id = out["envelope"]["dataMessage"]["attachments"][0]["id"]
    assert (cli.config / "attachments" / attachment_id).read_bytes() == b"\x89PNG"
    got = cli.run("getAttachment", "--id", attachment_id, "-g", "x")
    assert json.loads(got.stdout) == {"data": base64.b64encode(b"\x89PNG").decode()}


def test_receive_ignore_attachments_downloads_nothing(cli):
    cli.state.queue_messages(ACCOUNT, [fake.message_line(ACCOUNT, ANN, "pic", attachments=[{"data": b"x"}])])
    assert cli.run("receive", "-t", "0", "--ignore-attachments").returncode == 0
    assert not (cli.config / "attachments").exists()


@pytest.mark.parametrize("stop_signal, code", [(signal.SIGTERM, 0), (signal.SIGINT, 0), (signal.SIGKILL, -9)])
def test_receive_killed_mid_run_loses_and_duplicates_nothing(cli, stop_signal, code):
    cli.state.queue_messages(ACCOUNT, [fake.message_line(ACCOUNT, ANN, "early")])
    proc = cli.popen("receive", "-t", "10")
    first = json.loads(proc.stdout.readline())
    cli.state.queue_messages(ACCOUNT, [fake.message_line(ACCOUNT, ANN, "late")])
    second = json.loads(proc.stdout.readline())  # it keeps waiting for new envelopes
    cli.state.queue_messages(ACCOUNT, [fake.message_line(ACCOUNT, ANN, f"after {i}") for i in range(200)])
    proc.send_signal(stop_signal)
    returncode, rest, _ = finish(proc)
    assert returncode == code
    printed = [first, second] + [json.loads(line) for line in rest.splitlines()]
    remaining = cli.state.inbox(ACCOUNT)
    if stop_signal == signal.SIGKILL and remaining and printed[-1] == remaining[0]:
        # killed between writing a line and committing its removal: at-least-once, never lost
        remaining = remaining[1:]
    texts = [p["envelope"]["dataMessage"]["message"] for p in printed + remaining]
    assert texts == ["early", "late"] + [f"after {i}" for i in range(200)]


# ---------------------------------------------------------------------------
# Link
# ---------------------------------------------------------------------------


def test_link_prints_the_uri_then_waits_for_the_scan(cli):
    proc = cli.popen("link", "-n", "laptop", account=None, output=None)
    uri = proc.stdout.readline()
    assert uri.startswith("sgnl://linkdevice?uuid=") and "&pub_key=" in uri and "=" not in uri.split("pub_key=")[1]
    time.sleep(0.2)
    assert proc.poll() is None
    cli.state.scan_link(OTHER_ACCOUNT)
    code, out, err = finish(proc)
    assert (code, out) == (0, f"Associated with: {OTHER_ACCOUNT}\n")
    account = cli.state.account(OTHER_ACCOUNT)
    assert account["registered"] and account["devices"][1]["name"] == "laptop"


def test_link_times_out(cli):
    cli.state.set_link_timeout(0.3)
    proc = cli.run("link", account=None, output=None)
    assert proc.returncode == 1
    assert proc.stdout.startswith("sgnl://linkdevice?")
    assert proc.stderr == "Link request timed out, please try again.\n"


def test_sigterm_to_a_waiting_command_is_exit_143(cli):
    proc = cli.popen("link", account=None, output=None)
    proc.stdout.readline()
    proc.terminate()
    assert finish(proc)[0] == 143
    assert cli.last_record()["exit"] == 143


# ---------------------------------------------------------------------------
# Locking
# ---------------------------------------------------------------------------


def _intervals(records):
    return sorted((r["start"], r["end"]) for r in records)


def test_one_account_is_never_used_by_two_processes_at_once(cli):
    cli.state.set_delay(0.4)
    procs = [cli.popen("listGroups") for _ in range(3)]
    results = [finish(p) for p in procs]
    assert [r[0] for r in results] == [0, 0, 0]
    (a_start, a_end), (b_start, b_end), (c_start, c_end) = _intervals(cli.state.log())
    assert a_end <= b_start and b_end <= c_start
    assert sum("Config file is in use by another instance, waiting…" in r[2] for r in results) >= 1
    assert any(r["waited_for_lock"] for r in cli.state.log())


def test_two_accounts_run_in_parallel(cli):
    cli.state.add_account(OTHER_ACCOUNT)
    cli.state.set_delay(0.5)
    procs = [cli.popen("listGroups"), cli.popen("listGroups", account=OTHER_ACCOUNT)]
    assert [finish(p)[0] for p in procs] == [0, 0]
    (a_start, a_end), (b_start, b_end) = _intervals(cli.state.log())
    assert b_start < a_end  # they overlapped


def test_multi_account_commands_wait_for_every_account(cli):
    cli.state.add_account(OTHER_ACCOUNT)
    cli.state.add_account("+4915177777777", registered=False)
    busy = cli.popen("receive", "-t", "0.6", account=OTHER_ACCOUNT)
    time.sleep(0.3)
    proc = cli.run("listAccounts", account=None)
    assert finish(busy)[0] == 0
    assert (proc.returncode, proc.stdout) == (0, f'[{{"number":"{ACCOUNT}"}},{{"number":"{OTHER_ACCOUNT}"}}]\n')
    assert "waiting…" in proc.stderr
    assert (
        "WARN  MultiAccountManager - Ignoring +4915177777777: User is not registered. (NotRegisteredException)"
        in proc.stderr
    )
    listing, receiving = sorted(cli.state.log(), key=lambda r: r["command"])
    assert listing["start"] >= receiving["end"]


# ---------------------------------------------------------------------------
# Faults and delay
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault, code, stdout, stderr_start",
    [
        (
            {"exit": 3, "stderr": "Error while checking account +4915112345678: Closed unexpectedly"},
            3,
            "",
            "Error while checking account +4915112345678: Closed unexpectedly",
        ),
        ({"exit": 2}, 2, "", "java.lang.NullPointerException: "),
        ({"exit": 1, "stdout": "partial", "stderr": "boom"}, 1, "partial", "boom"),
        ({"garbage": True}, 0, 'Exception in thread "main" <html><body>garbage, not JSON\n', ""),
        ({"truncate": True}, 0, '[{"number":"+49', ""),
    ],
)
def test_faults(cli, fault, code, stdout, stderr_start):
    cli.state.add_fault(command="listAccounts", **fault)
    proc = cli.run("listAccounts", account=None)
    assert (proc.returncode, proc.stdout) == (code, stdout)
    assert "\n".join(messages(proc.stderr)).startswith(stderr_start)
    if code == 2 and "stderr" not in fault:
        assert "\n\tat org.asamk.signal.Main.main(Main.java:61)" in proc.stderr


def test_fault_times_and_account_filter(cli):
    cli.state.add_account(OTHER_ACCOUNT)
    cli.state.add_fault(command="*", account=OTHER_ACCOUNT, exit=3, stderr="net down", times=1)
    assert cli.run("listGroups").returncode == 0
    assert cli.run("listGroups", account=OTHER_ACCOUNT).returncode == 3
    assert cli.run("listGroups", account=OTHER_ACCOUNT).returncode == 0
    assert cli.state.load()["faults"] == []


def test_kill_self_leaves_only_a_start_event(cli):
    cli.state.add_fault(command="send", kill_self=True)
    proc = cli.run("send", "-m", "hi", ANN)
    assert proc.returncode == -signal.SIGKILL
    events = cli.state.log(events=True)
    assert [e.get("event") for e in events] == ["start"]
    assert events[0]["argv"][-3:] == ["-m", "hi", ANN]


def test_fault_sleep_and_delay_happen_after_the_lock(cli):
    cli.state.set_delay(0.2)
    cli.state.add_fault(command="version", sleep=0.3)
    started = time.monotonic()
    proc = cli.run("version")
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"version": "0.13.19"}
    assert time.monotonic() - started >= 0.5
    record = cli.last_record()
    assert record["end"] - record["start"] >= 0.5


# ---------------------------------------------------------------------------
# Registration and account commands
# ---------------------------------------------------------------------------


def test_registration_flow(tmp_path):
    cli = Cli(tmp_path)
    number = "+4915122222222"
    cli.state.add_account(number, registered=False, captcha_required="good-captcha", pin_required="1234")
    cli.state.update(lambda s: s["accounts"][number].pop("registered"))
    no_session = cli.run("verify", "123-456", account=number)
    assert no_session.returncode == 2 and no_session.stderr.startswith("java.lang.NullPointerException: ")
    captcha = cli.run("register", account=number)
    assert (captcha.returncode, captcha.stderr.splitlines()[0]) == (
        1,
        "Captcha required for verification, use --captcha CAPTCHA",
    )
    assert len(captcha.stderr.splitlines()) == 3
    assert messages(cli.run("register", "--captcha", "bad", account=number).stderr) == ["Invalid captcha given."]
    assert cli.run("register", "--captcha=good-captcha", account=number).returncode == 0
    locked = cli.run("verify", "123-456", account=number)
    assert locked.stderr.startswith("Verification failed! This number is locked with a pin.")
    assert messages(cli.run("verify", "--pin=0000", "123456", account=number).stderr) == [
        "Verification failed! Invalid pin, tries remaining: 9"
    ]
    verified = cli.run("verify", "--pin=1234", "--", "123-456", account=number)
    assert (verified.returncode, verified.stdout, verified.stderr) == (0, "", "")
    assert cli.run("send", "-m", "hi", ANN, account=number).returncode == 0
    again = cli.run("register", account=number)
    assert messages(again.stderr) == ["Failed to register: Account is already registered (IOException)"]


def test_register_rate_limit_is_exit_5(cli):
    cli.state.add_account(OTHER_ACCOUNT, registered=False, rate_limited=True)
    proc = cli.run("register", account=OTHER_ACCOUNT)
    assert (proc.returncode, proc.stderr) == (5, "Rate limit reached\n")


def test_register_creates_the_account_even_when_it_fails(cli):
    cli.state.update(lambda s: s.update(faults=[]))
    proc = cli.run("register", "--voice", account=OTHER_ACCOUNT)
    assert proc.returncode == 1
    assert cli.state.account(OTHER_ACCOUNT)["registered"] is False
    assert cli.run("deleteLocalAccountData", account=OTHER_ACCOUNT).returncode == 0
    assert OTHER_ACCOUNT not in cli.state.load()["accounts"]


@pytest.mark.parametrize(
    "args, stdout",
    [
        (["updateProfile", "--name", "Ann"], ""),
        (["updateContact", ANN, "--name=-x"], ""),
        (["setPin", "--", "1234"], ""),
        (["removePin"], ""),
        (["updateConfiguration", "--read-receipts", "yes"], ""),
        (["block", ANN], ""),
        (["unblock", ANN], ""),
        (["sendContacts"], ""),
        (["sendSyncRequest"], ""),
        (["addStickerPack", "--uri", "https://signal.art/addstickers/#pack_id=abcd&pack_key=ef01"], ""),
        (["addDevice", "--uri", "sgnl://linkdevice?uuid=abc&pub_key=def"], ""),
        (["updateAccount", "-n", "phone"], ""),
        (["unregister"], ""),
        (["version"], '{"version":"0.13.19"}\n'),
        (["listStickerPacks"], "[]\n"),
    ],
)
def test_commands_print_exactly_what_signal_cli_prints(cli, args, stdout):
    proc = cli.run(*args)
    assert (proc.returncode, proc.stdout) == (0, stdout)


def test_account_state_changes(cli):
    cli.run("updateContact", ANN, "--given-name", "Ann", "--family-name", "Lee", "-e", "60")
    cli.run("updateConfiguration", "--read-receipts", "yes", "--typing-indicators", "TRUE")
    [contact] = json.loads(cli.run("listContacts").stdout)
    assert (contact["number"], contact["name"], contact["messageExpirationTime"]) == (ANN, "Ann Lee", 60)
    assert cli.state.account(ACCOUNT)["configuration"] == {"read-receipts": False, "typing-indicators": True}
    username = json.loads(cli.run("updateAccount", "-u", "annie").stdout)
    assert list(username) == ["username", "usernameLink"] and username["username"].startswith("annie.")
    assert messages(cli.run("updateAccount", "-u", "a").stderr) == ["Invalid username: Nickname is too short"]
    status = json.loads(cli.run("getUserStatus", ANN, "nonsense", "--username", "bob.01").stdout)
    assert status[0] == {"recipient": ANN, "number": ANN, "uuid": fake.uuid_for(ANN), "isRegistered": True}
    assert status[1] == {"recipient": "nonsense", "uuid": None, "isRegistered": False}
    assert status[2]["username"] == "bob.01"


def test_trust_verifies_a_safety_number(cli):
    identity = cli.state.add_identity(ACCOUNT, ANN)
    cli.state.add_user(ANN, untrusted=True)
    assert messages(cli.run("trust", ANN).stderr) == [
        "You need to specify the fingerprint/safety number you have verified with -v SAFETY_NUMBER"
    ]
    bad_format = cli.run("trust", "-v", "12 3!", ANN)
    assert messages(bad_format.stderr) == [
        "Safety number has invalid format, either specify the old hex fingerprint or the new safety number"
    ]
    assert cli.last_record()["quirks"] == ["verbose"]  # the pre-parser reads trust's -v as --verbose
    wrong = cli.run("trust", "-v", "1" * 60, ANN)
    assert messages(wrong.stderr) == [
        "Failed to set the trust for this number, make sure the number and the fingerprint/safety number are correct."
    ]
    assert cli.run("trust", "--verified-safety-number=" + identity["safetyNumber"], ANN).returncode == 0
    [listed] = json.loads(cli.run("listIdentities", "-n", ANN).stdout)
    assert listed["trustLevel"] == "TRUSTED_VERIFIED"
    assert cli.run("send", "-m", "hi", ANN).returncode == 0  # trusting cleared the identity failure


def test_avatars_and_stickers(cli):
    avatar = cli.tmp / "avatar.png"
    avatar.write_bytes(b"\x89PNG avatar")
    group_id = json.loads(cli.run("updateGroup", "-n", "Pics", "-a", str(avatar)).stdout)["groupId"]
    assert json.loads(cli.run("getAvatar", "-g", group_id).stdout) == {
        "data": base64.b64encode(b"\x89PNG avatar").decode()
    }
    assert messages(cli.run("getAvatar", "-c", ANN).stderr) == ["Could not find avatar"]
    missing = cli.run("updateGroup", "-g", group_id, "-a", str(cli.tmp / "gone.png"))
    assert missing.returncode == 1
    assert messages(missing.stderr)[0].startswith('Failed to add avatar attachment for group": ')
    cli.state.update(lambda s: s["accounts"][ACCOUNT].update(sticker_data={"abcd:3": "c3RpY2tlcg=="}))
    assert json.loads(cli.run("getSticker", "--pack-id", "abcd", "--sticker-id", "3").stdout) == {
        "data": "c3RpY2tlcg=="
    }
    assert messages(cli.run("getSticker", "--pack-id", "abcd", "--sticker-id", "4").stderr) == [
        "Could not find sticker with ID: 4 in pack abcd"
    ]
    unknown_pack = cli.run("send", "--sticker", "abcd:3", ANN)
    assert messages(unknown_pack.stderr) == ["Failed to send sticker: Sticker pack not found"]


def test_linked_devices_cannot_do_primary_only_things(cli):
    cli.state.add_account(ACCOUNT, device_id=2)
    assert messages(cli.run("setPin", "1234").stderr) == ["This command doesn't work on linked devices."]


def test_plain_text_output_of_version_and_send(cli):
    assert cli.run("version", output="plain-text").stdout == "signal-cli 0.13.19\n"
    cli.state.add_user(BOB, registered=False)
    out = cli.run("send", "-m", "hi", BOB, ANN, output=None).stdout.splitlines()
    assert out[:2] == ["Failed to send (some) messages:", f'Unregistered user "{BOB}"']
    assert out[2].isdigit()


# ---------------------------------------------------------------------------
# The log
# ---------------------------------------------------------------------------


def test_every_invocation_is_logged_with_its_argv(cli):
    cli.run("send", "-m", "hi", ANN)
    cli.run("send", "--bogus")
    start, end, bad_start, bad_end = cli.state.log(events=True)
    assert start["event"] == bad_start["event"] == "start"
    assert end["argv"] == ["--config", str(cli.config), "-a", ACCOUNT, "-o", "json", "send", "-m", "hi", ANN]
    assert (end["command"], end["account"], end["exit"], end["pid"]) == ("send", ACCOUNT, 0, start["pid"])
    assert end["stdout_bytes"] > 0 and end["start"] <= end["end"]
    assert bad_end["exit"] == 1 and bad_end["command"] is None
    assert "unrecognized arguments: '--bogus'" in bad_end["stderr"]
