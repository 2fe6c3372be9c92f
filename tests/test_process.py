"""Processes: missing binary, time limit and process-group kill, stdin, account locks, process slots."""

import os
import threading
import time

import pytest
from processes import exits_within
from scripted import script, scripted_cli

from signal_rest.signal_cli import (
    AccountBusy,
    BadOutput,
    ConfigDirUnusable,
    GroupId,
    ServiceBusy,
    SignalCli,
    SignalCliNotFound,
    SignalCliTimeout,
)

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
GROUP = GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")


@pytest.mark.parametrize("binary", ["missing", "not-executable", "a-directory"])
def test_missing_binary(tmp_path, binary):
    path = tmp_path / binary
    if binary == "not-executable":
        path.write_text("#!/bin/sh\n")
    elif binary == "a-directory":
        path.mkdir()
    cli = SignalCli(path, tmp_path / "config")
    with pytest.raises(SignalCliNotFound) as raised:
        cli.list_groups(ACCOUNT)
    assert "SIGNAL_CLI_BIN" in raised.value.message


def test_timeout_kills_the_process_and_its_children(tmp_path):
    pid_file = tmp_path / "pids"
    cli = scripted_cli(tmp_path, f"sleep 60 &\necho $! $$ > {pid_file}\nwait\n", cmd_timeout=1)
    started = time.monotonic()
    with pytest.raises(SignalCliTimeout):
        cli.list_groups(ACCOUNT)
    assert time.monotonic() - started < 10
    for pid in pid_file.read_text().split():
        assert exits_within(int(pid)), f"process {pid} survived the timeout"


def test_stdin_is_the_message_and_is_closed(tmp_path):
    out = tmp_path / "stdin"
    cli = scripted_cli(tmp_path, f'cat > {out}\necho \'{{"timestamp":1,"results":[]}}\'\n')
    assert cli.send(ACCOUNT, [OTHER], "línea 1\n-5 degrees\n") == {"timestamp": 1, "results": []}
    assert out.read_text("utf-8") == "línea 1\n-5 degrees\n"


def test_stdin_is_closed_without_a_message(tmp_path):
    cli = scripted_cli(tmp_path, "cat > /dev/null\necho '[]'\n", cmd_timeout=5)
    assert cli.list_groups(ACCOUNT) == []


def test_one_account_runs_one_process_at_a_time(tmp_path):
    log = tmp_path / "runs"
    cli = scripted_cli(
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
    cli = scripted_cli(tmp_path, "sleep 0.5\necho '[]'\n")
    started = time.monotonic()
    threads = [threading.Thread(target=cli.list_groups, args=(a,)) for a in (ACCOUNT, OTHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 0.95


@pytest.mark.parametrize(
    ("settings", "second", "error"),
    [({}, ACCOUNT, AccountBusy), ({"max_processes": 1}, OTHER, ServiceBusy)],
    ids=["busy-account", "process-limit"],
)
def test_a_wait_for_the_account_or_a_process_slot_gives_up_after_the_lock_timeout(tmp_path, settings, second, error):
    cli = scripted_cli(tmp_path, "sleep 2\necho '[]'\n", lock_timeout=0.3, **settings)
    holder = threading.Thread(target=cli.list_groups, args=(ACCOUNT,))
    holder.start()
    time.sleep(0.3)
    try:
        with pytest.raises(error) as raised:
            cli.list_groups(second)
        assert raised.value.retry_after > 0
    finally:
        holder.join()


def test_unwritable_config_dir(tmp_path):
    config = tmp_path / "config"
    config.write_text("a file, not a directory")
    cli = SignalCli(script(tmp_path, "echo '[]'\n"), config)
    with pytest.raises(ConfigDirUnusable):
        cli.list_groups(ACCOUNT)


@pytest.mark.parametrize("account", [ACCOUNT, None], ids=["account", "no-account"])
def test_a_permission_error_of_the_run_itself_is_not_called_a_lock_file_problem(tmp_path, account):
    cli = scripted_cli(tmp_path, "echo '[]'\n")
    with pytest.raises(PermissionError, match="the run's own"), cli.runner.held(account, ["signal-cli"]):
        raise PermissionError("the run's own")
    # the lock and the slot were given back
    with cli.runner.held(account, ["signal-cli"]):
        pass


def test_java_opts_reach_the_process(tmp_path):
    cli = scripted_cli(tmp_path, 'echo "[\\"$JAVA_OPTS\\"]"\n', java_opts="-XX:TieredStopAtLevel=1")
    assert cli.list_groups(ACCOUNT) == [
        "-XX:TieredStopAtLevel=1" + (" " + os.environ["JAVA_OPTS"] if os.environ.get("JAVA_OPTS") else "")
    ]


def test_process_limit_queues_runs_of_different_accounts(tmp_path):
    log = tmp_path / "runs"
    cli = scripted_cli(
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


def test_receive_stopped_at_the_time_limit_keeps_what_it_printed(tmp_path):
    # receive ends cleanly (exit 0) on SIGTERM; its lines are the answer, not a timeout
    cli = scripted_cli(
        tmp_path, 'echo \'{"envelope":{"timestamp":1}}\'\ntrap "exit 0" TERM\nsleep 30 &\nwait\n', cmd_timeout=0.5
    )
    started = time.monotonic()
    received = cli.receive(ACCOUNT, tmp_path / "spool.jsonl", timeout=0.1)
    assert received == [{"envelope": {"timestamp": 1}}]
    assert time.monotonic() - started < 5


# --- signal-cli's global configuration file (0.14.4+) ------------------------------------------------------


def test_every_run_reads_the_services_own_signal_cli_config(tmp_path, monkeypatch):
    # a user-level or machine-wide file could turn on D-Bus or json output for every command
    monkeypatch.setenv("SIGNAL_CLI_CONFIG", str(tmp_path / "elsewhere.json"))
    cli = scripted_cli(
        tmp_path, 'printf \'{"path": "%s", "config": %s}\' "$SIGNAL_CLI_CONFIG" "$(cat "$SIGNAL_CLI_CONFIG")"\n'
    )
    printed = cli.list_groups(ACCOUNT)
    assert printed["path"] == str(tmp_path / "config" / "signal-rest" / "signal-cli-config.json")
    config = printed["config"]
    # the defaults argv cannot restore: no D-Bus, plain-text output unless -o says json, live servers
    assert config["dbus"] is False and config["dbusSystem"] is False
    assert config["output"] == "plain-text" and config["serviceEnvironment"] == "live"
    assert config["trustNewIdentities"] == "on-first-use"
    # nothing but the keys signal-cli 0.14.4+ knows: an unknown key stops every command
    assert set(config) <= {
        "verbose", "logFile", "scrubLog", "dataDir", "busName", "dbus", "dbusSystem", "output",
        "serviceEnvironment", "trustNewIdentities", "disableSendLog", "account",
    }  # fmt: skip


def test_a_config_file_that_cannot_be_written_is_said_before_signal_cli_runs(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "signal-rest").write_text("a file where the service's folder belongs")
    ran = tmp_path / "ran"
    cli = SignalCli(script(tmp_path, f"touch {ran}\necho 'signal-cli 0.14.6'\n"), config_dir)
    # --version takes no account lock: the configuration file is the first thing written
    with pytest.raises(ConfigDirUnusable) as raised:
        cli.probe()
    assert "signal-cli-config.json" in raised.value.message and "SIGNAL_CLI_CONFIG_DIR" in raised.value.message
    assert not ran.exists()


# --- link: the URI after whatever comes first --------------------------------------------------------------


def test_link_finds_the_uri_after_a_qr_code(tmp_path):
    # 0.14.0+ draws the code with block characters between escape lines when it sees a console
    cli = scripted_cli(
        tmp_path,
        r"""
        printf '\033[0m\n\342\226\210\342\226\210  \342\226\210\342\226\210\n\342\226\210  \342\226\210\n\033[0m\n'
        echo 'sgnl://linkdevice?uuid=abc&pub_key=def'
        sleep 0.2
        echo 'Associated with: +4915112345678'
        """,
    )
    assert cli.link("kitchen", lifetime=5) == "sgnl://linkdevice?uuid=abc&pub_key=def"
    deadline = time.monotonic() + 5
    while cli.pending_links and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cli.pending_links == 0


def test_link_without_a_uri_names_what_it_printed(tmp_path):
    cli = scripted_cli(tmp_path, "printf '\\033[0m\\n'\necho 'Link request error: Connection closed!'\n")
    with pytest.raises(BadOutput) as raised:
        cli.link("kitchen", lifetime=5)
    assert "Link request error" in raised.value.message


@pytest.mark.parametrize(
    ("settings", "accounts"),
    [({}, [ACCOUNT] * 8), ({"max_processes": 1}, [f"+49151000001{index:02d}" for index in range(8)])],
    ids=["one-account", "process-limit"],
)
def test_waiting_runs_start_in_the_order_they_came(tmp_path, settings, accounts):
    log = tmp_path / "runs"
    answer = '{"timestamp":1,"results":[]}'
    cli = scripted_cli(tmp_path, f"cat >> {log}\nsleep 0.15\necho '{answer}'\n", lock_timeout=30, **settings)
    threads = []
    for index, account in enumerate(accounts):
        threads.append(threading.Thread(target=cli.send, args=(account, [OTHER], f"{index}\n")))
        threads[-1].start()
        time.sleep(0.04)
    for thread in threads:
        thread.join(60)
    assert log.read_text().split() == [str(index) for index in range(len(accounts))]
    assert sorted(os.listdir(cli.lock_dir / "waiting")) == (["accounts"] if not settings else ["accounts", "slots"])
    for folder in (cli.lock_dir / "waiting").iterdir():
        assert [path for path in folder.rglob("*") if path.is_file()] == [], "a ticket was left behind"


@pytest.mark.parametrize("settings", [{}, {"max_processes": 1}], ids=["account", "process-slot"])
def test_a_waiting_line_that_cannot_be_made_is_an_unusable_config_dir(tmp_path, settings):
    cli = scripted_cli(tmp_path, "echo '[]'\n", **settings)
    cli.lock_dir.mkdir(parents=True)
    (cli.lock_dir / "waiting").write_text("a file, not a directory")
    with pytest.raises(ConfigDirUnusable) as raised:
        cli.list_accounts() if settings else cli.list_groups(ACCOUNT)
    assert "SIGNAL_CLI_CONFIG_DIR" in raised.value.message
