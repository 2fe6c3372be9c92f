"""The wrapper: argv builders (pure), output parsing, exit codes, timeouts, locks, missing binary."""

import os
import textwrap
import threading
import time

import pytest

from signal_rest import signal_cli as sc

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
GROUP = sc.GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")


# --- builders ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "args", "stdin"),
    [
        (sc.send_command([OTHER], "hi"), ["send", "--message-from-stdin", "--", OTHER], b"hi"),
        (
            sc.send_command([GROUP], None, attachments=["/t/a.jpg"]),
            ["send", "--attachment", "/t/a.jpg", "-g", GROUP, "--"],
            None,
        ),
        (
            sc.send_command([OTHER, GROUP, "u:bob.42"], "-5 degrees", mentions=[(0, 2, OTHER)], notify_self=True),
            [
                "send",
                "--message-from-stdin",
                "--mention",
                f"0:2:{OTHER}",
                "--notify-self",
                "-g",
                GROUP,
                "--",
                OTHER,
                "u:bob.42",
            ],
            b"-5 degrees",
        ),
        (
            sc.send_command([OTHER], "x", quote={"timestamp": 5, "author": OTHER, "message": "--help"}),
            [
                "send",
                "--message-from-stdin",
                "--quote-timestamp=5",
                f"--quote-author={OTHER}",
                "--quote-message=--help",
                "--",
                OTHER,
            ],
            b"x",
        ),
        (
            sc.send_command(
                [OTHER],
                "see https://a.b",
                preview={"url": "https://a.b", "title": "-t"},
                view_once=True,
                sticker="ab:1",
                edit_timestamp=7,
            ),
            [
                "send",
                "--message-from-stdin",
                "--sticker=ab:1",
                "--edit-timestamp=7",
                "--preview-url=https://a.b",
                "--preview-title=-t",
                "--view-once",
                "--",
                OTHER,
            ],
            b"see https://a.b",
        ),
        (
            sc.reaction_command(GROUP, "👍", OTHER, 9, remove=True),
            [
                "sendReaction",
                "--emoji=👍",
                f"--target-author={OTHER}",
                "--target-timestamp=9",
                "--remove",
                "-g",
                GROUP,
                "--",
            ],
            None,
        ),
        (sc.list_groups_command(), ["listGroups"], None),
        (sc.list_groups_command([GROUP]), ["listGroups", "-g", GROUP], None),
        (
            sc.create_group_command("--x", [OTHER], link="enabled"),
            ["updateGroup", "--name=--x", "--link=enabled", "--member", OTHER],
            None,
        ),
        (sc.update_group_command(GROUP), ["updateGroup", "-g", GROUP], None),
        (sc.quit_group_command(GROUP, delete=True), ["quitGroup", "-g", GROUP, "--delete"], None),
        (sc.join_group_command("https://signal.group/#x"), ["joinGroup", "--uri=https://signal.group/#x"], None),
        (sc.register_command(voice=True, captcha="c"), ["register", "--voice", "--captcha=c"], None),
        (sc.verify_command("123456", pin="1234"), ["verify", "--pin=1234", "--", "123456"], None),
        (
            sc.update_profile_command(given_name="-n", remove_avatar=True),
            ["updateProfile", "--given-name=-n", "--remove-avatar"],
            None,
        ),
        (sc.user_status_command([OTHER]), ["getUserStatus", "--", OTHER], None),
    ],
)
def test_builders(command, args, stdin):
    assert command.args == args
    assert command.stdin == stdin


@pytest.mark.parametrize("value", ["-h", "--config=/etc", "-a/etc/passwd", "", "a\nb", "a\0b", "--"])
def test_option_like_words_are_refused(value):
    with pytest.raises(sc.UnsafeArgument):
        sc.send_command([value], "hi")
    with pytest.raises(sc.UnsafeArgument):
        sc.list_groups_command([value])


def test_free_text_cannot_carry_nul():
    with pytest.raises(sc.UnsafeArgument):
        sc.create_group_command("a\0b", [])


def test_secrets_are_recorded_for_redaction():
    assert set(sc.verify_command("123456", pin="9999").secrets) == {"123456", "9999"}
    assert sc.register_command(captcha="tok").secrets == ("tok",)


def test_argv_has_the_global_options_first(tmp_path):
    cli = sc.SignalCli("/bin/signal-cli", tmp_path, trust_mode_for=lambda account: "always")
    assert cli.argv(sc.list_groups_command(), ACCOUNT) == [
        "/bin/signal-cli",
        "--config",
        str(tmp_path),
        "-a",
        ACCOUNT,
        "--trust-new-identities=always",
        "-o",
        "json",
        "listGroups",
    ]
    assert cli.argv(sc.version_command()) == ["/bin/signal-cli", "--version"]
    assert cli.argv(sc.list_accounts_command()) == [
        "/bin/signal-cli",
        "--config",
        str(tmp_path),
        "-o",
        "json",
        "listAccounts",
    ]


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "stripped"),
    [
        (
            "INFO  AccountHelper - The Signal protocol expects…\nUser +49 is not registered.",
            "User +49 is not registered.",
        ),
        ("WARN  MultiAccountManager - Ignoring\n", ""),
        ("Failed\nsecond line", "Failed\nsecond line"),
    ],
)
def test_strip_log_lines(stderr, stripped):
    assert sc.strip_log_lines(stderr) == stripped


# --- running, with tiny scripted executables ----------------------------------------------------


def _script(tmp_path, body, name="signal-cli"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def _cli(tmp_path, body, **kwargs):
    return sc.SignalCli(_script(tmp_path, body), tmp_path / "config", **kwargs)


@pytest.mark.parametrize(
    ("exit_code", "stdout", "stderr", "error", "message"),
    [
        (
            1,
            "",
            "INFO  X - y\nUser +4915112345678 is not registered.",
            sc.NotRegistered,
            "User +4915112345678 is not registered.",
        ),
        (1, "", "Group not found: abc", sc.NotFound, "Group not found: abc"),
        (1, "", "Captcha required for verification, use --captcha CAPTCHA", sc.CaptchaRequired, "Captcha required"),
        (1, "", "Invalid group id", sc.UserError, "Invalid group id"),
        (2, "", "java.lang.NullPointerException: boom\n\tat a.b(C.java:1)", sc.UnexpectedError, "exit 2"),
        (3, "", "Error while checking account: Closed", sc.ServerError, "Error while checking account"),
        (
            4,
            '{"timestamp":1,"results":[{"recipientAddress":{"number":"+1"},"type":"IDENTITY_FAILURE"}]}',
            "Failed to send message due to untrusted identities",
            sc.Untrusted,
            "untrusted",
        ),
        (
            5,
            '{"timestamp":1,"results":[{"recipientAddress":{"number":"+1"},"type":"RATE_LIMIT_FAILURE","token":"t1","retryAfterSeconds":60}]}',
            "Failed to send message due to rate limiting",
            sc.RateLimited,
            "rate limiting",
        ),
        (143, "", "", sc.UnexpectedError, "exit 143"),
    ],
)
def test_exit_codes_become_typed_errors(tmp_path, exit_code, stdout, stderr, error, message):
    cli = _cli(tmp_path, f"printf '%s' '{stdout}'\nprintf '%s' '{stderr}' >&2\nexit {exit_code}\n")
    with pytest.raises(error) as raised:
        cli.list_groups(ACCOUNT, [GROUP])
    assert type(raised.value) is error
    assert message in raised.value.message
    assert raised.value.returncode == exit_code
    if error is sc.RateLimited:
        assert raised.value.challenge_tokens == ["t1"]
        assert raised.value.retry_after == 60
    if error is sc.Untrusted:
        assert raised.value.recipients == [{"number": "+1"}]


def test_a_group_missing_among_recipients_is_a_user_error(tmp_path):
    cli = _cli(tmp_path, "echo 'Failed to send to group: Group not found: abc' >&2\nexit 1\n")
    with pytest.raises(sc.UserError) as raised:
        cli.send(ACCOUNT, [GROUP], "hi")
    assert type(raised.value) is sc.UserError
    with pytest.raises(sc.NotFound):
        cli.send(ACCOUNT, [GROUP], "hi", target="recipient")


@pytest.mark.parametrize("stdout", ["not json", '{"truncated": ', "usage: signal-cli [-h]"])
def test_garbage_on_success_is_bad_output(tmp_path, stdout):
    cli = _cli(tmp_path, f"echo '{stdout}'\n")
    with pytest.raises(sc.BadOutput):
        cli.list_groups(ACCOUNT)


def test_empty_output_is_success(tmp_path):
    assert _cli(tmp_path, "echo 'INFO  X - y' >&2\n").update_group(ACCOUNT, GROUP, name="x") is None


def test_secrets_never_appear_in_errors(tmp_path):
    cli = _cli(tmp_path, 'echo "Verification failed for $*" >&2\nexit 1\n')
    with pytest.raises(sc.UserError) as raised:
        cli.verify(ACCOUNT, "987654", pin="4321")
    message = raised.value.message
    assert "987654" not in message and "4321" not in message
    assert message.endswith("--pin=*** -- ***") and ACCOUNT in message
    assert not any("4321" in word or "987654" in word for word in raised.value.argv)


@pytest.mark.parametrize("binary", ["missing", "not-executable", "a-directory"])
def test_missing_binary(tmp_path, binary):
    path = tmp_path / binary
    if binary == "not-executable":
        path.write_text("#!/bin/sh\n")
    elif binary == "a-directory":
        path.mkdir()
    cli = sc.SignalCli(path, tmp_path / "config")
    with pytest.raises(sc.SignalCliNotFound) as raised:
        cli.list_groups(ACCOUNT)
    assert "SIGNAL_CLI_BIN" in raised.value.message


def test_timeout_kills_the_process_and_its_children(tmp_path):
    pid_file = tmp_path / "pids"
    cli = _cli(tmp_path, f"sleep 60 &\necho $! $$ > {pid_file}\nwait\n", cmd_timeout=1)
    started = time.monotonic()
    with pytest.raises(sc.SignalCliTimeout):
        cli.list_groups(ACCOUNT)
    assert time.monotonic() - started < 10
    for pid in pid_file.read_text().split():
        assert not _alive(int(pid)), f"process {pid} survived the timeout"


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stdin_is_the_message_and_is_closed(tmp_path):
    out = tmp_path / "stdin"
    cli = _cli(tmp_path, f'cat > {out}\necho \'{{"timestamp":1,"results":[]}}\'\n')
    assert cli.send(ACCOUNT, [OTHER], "línea 1\n-5 degrees\n") == {"timestamp": 1, "results": []}
    assert out.read_text("utf-8") == "línea 1\n-5 degrees\n"


def test_stdin_is_closed_without_a_message(tmp_path):
    cli = _cli(tmp_path, "cat > /dev/null\necho '[]'\n", cmd_timeout=5)
    assert cli.list_groups(ACCOUNT) == []


def test_one_account_runs_one_process_at_a_time(tmp_path):
    log = tmp_path / "runs"
    cli = _cli(
        tmp_path, f'echo "start $(date +%s.%N)" >> {log}\nsleep 0.3\necho "end $(date +%s.%N)" >> {log}\necho "[]"\n'
    )
    threads = [threading.Thread(target=cli.list_groups, args=(ACCOUNT,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = log.read_text().split("\n")[:-1]
    assert [e.split()[0] for e in events] == ["start", "end"] * 3


def test_two_accounts_run_in_parallel(tmp_path):
    cli = _cli(tmp_path, "sleep 0.5\necho '[]'\n")
    started = time.monotonic()
    threads = [threading.Thread(target=cli.list_groups, args=(a,)) for a in (ACCOUNT, OTHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 0.95


def test_busy_account_gives_up_after_the_lock_timeout(tmp_path):
    cli = _cli(tmp_path, "sleep 2\necho '[]'\n", lock_timeout=0.3)
    holder = threading.Thread(target=cli.list_groups, args=(ACCOUNT,))
    holder.start()
    time.sleep(0.3)
    try:
        with pytest.raises(sc.AccountBusy) as raised:
            cli.list_groups(ACCOUNT)
        assert raised.value.retry_after > 0
    finally:
        holder.join()


def test_unwritable_config_dir(tmp_path):
    config = tmp_path / "config"
    config.write_text("a file, not a directory")
    cli = sc.SignalCli(_script(tmp_path, "echo '[]'\n"), config)
    with pytest.raises(sc.ConfigDirUnusable):
        cli.list_groups(ACCOUNT)


def test_version_is_asked_once(tmp_path):
    count = tmp_path / "count"
    cli = _cli(tmp_path, f"echo x >> {count}\necho 'signal-cli 0.13.19'\n")
    assert [cli.version() for _ in range(3)] == ["0.13.19"] * 3
    assert count.read_text().count("x") == 1


def test_java_opts_reach_the_process(tmp_path):
    cli = _cli(tmp_path, 'echo "[\\"$JAVA_OPTS\\"]"\n', java_opts="-XX:TieredStopAtLevel=1")
    assert cli.list_groups(ACCOUNT) == [
        "-XX:TieredStopAtLevel=1" + (" " + os.environ["JAVA_OPTS"] if os.environ.get("JAVA_OPTS") else "")
    ]


def test_process_limit_queues_runs_of_different_accounts(tmp_path):
    log = tmp_path / "runs"
    cli = _cli(
        tmp_path,
        f'echo "start $(date +%s.%N)" >> {log}\nsleep 0.3\necho "end $(date +%s.%N)" >> {log}\necho "[]"\n',
        max_processes=1,
    )
    threads = [threading.Thread(target=cli.list_groups, args=(account,)) for account in (ACCOUNT, OTHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [event.split()[0] for event in log.read_text().splitlines()] == ["start", "end"] * 2


def test_process_limit_gives_up_after_the_lock_timeout(tmp_path):
    cli = _cli(tmp_path, "sleep 2\necho '[]'\n", max_processes=1, lock_timeout=0.3)
    holder = threading.Thread(target=cli.list_groups, args=(ACCOUNT,))
    holder.start()
    time.sleep(0.3)
    try:
        with pytest.raises(sc.ServiceBusy) as raised:
            cli.list_groups(OTHER)
        assert raised.value.retry_after > 0
    finally:
        holder.join()


def test_receive_stopped_at_the_time_limit_keeps_what_it_printed(tmp_path):
    # receive ends cleanly (exit 0) on SIGTERM; its lines are the answer, not a timeout
    cli = _cli(
        tmp_path, 'echo \'{"envelope":{"timestamp":1}}\'\ntrap "exit 0" TERM\nsleep 30 &\nwait\n', cmd_timeout=0.5
    )
    started = time.monotonic()
    received = cli.receive(ACCOUNT, tmp_path / "spool.jsonl", timeout=0.1)
    assert received == [{"envelope": {"timestamp": 1}}]
    assert time.monotonic() - started < 5
