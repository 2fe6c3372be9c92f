"""Real push clients, unchanged, against a real gunicorn: a signalbot 2.2.1 bot on the websocket of
GET /v1/receive/{number}, in normal mode with the receiver (``signal-rest receiver``) and in
json-rpc mode (``signal-rest daemon``), and pysignalclirestapi 0.3.25's websocket ``receive`` in json-rpc
mode; messages are queued in the fake signal-cli.
"""

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fake_signal_cli import message_line
from gunicorn_server import Gunicorn, beside
from processes import terminate
from receiving_support import ACCOUNT, SENDER, wait_for

pytestmark = [pytest.mark.server, pytest.mark.fake_signal_cli("0.14.6")]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bot-token-0123456789"
MODES = {
    "normal": ("receiver", {"SIGNAL_REST_RECEIVER": "true", "SIGNAL_REST_RECEIVE_INTERVAL": "0.2"}),
    "json-rpc": ("daemon", {"SIGNAL_REST_MODE": "json-rpc"}),
}


def pongs(fake):
    """How many times each "pong <n>" was sent, by n."""
    texts = [sent.get("message") for sent in fake.sent_messages(ACCOUNT)]
    return Counter(int(text.split()[1]) for text in texts if text and text.startswith("pong "))


def queue_pings(fake, numbers):
    fake.queue_messages(ACCOUNT, [message_line(ACCOUNT, SENDER, f"ping {n}", timestamp=20_000 + n) for n in numbers])


@pytest.mark.parametrize("mode", MODES)
def test_a_signalbot_bot_answers_every_ping_once_across_a_worker_kill(tmp_path, fake_bin, config_dir, fake, mode):
    companion, settings = MODES[mode]
    settings = {
        **settings,
        "SIGNAL_CLI_BIN": fake_bin,
        "SIGNAL_CLI_CONFIG_DIR": config_dir,
        "SIGNAL_REST_API_TOKENS": TOKEN,
        "SIGNAL_REST_API_LEVEL": "0.101",
        "SIGNAL_REST_PUSH_KEEPALIVE": 1,
    }
    with Gunicorn(tmp_path / "gunicorn", workers=1, threads=4, **settings) as server, beside(server, companion):
        bot = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "signalbot_ping.py"), f"127.0.0.1:{server.port}", ACCOUNT, TOKEN],
            env=server.environment,
            cwd=ROOT,
        )
        try:
            queue_pings(fake, range(3))
            wait_for(lambda: set(pongs(fake)) >= set(range(3)), 60, "the bot's first pongs")
            (worker,) = server.worker_pids()
            os.kill(worker, signal.SIGKILL)
            queue_pings(fake, range(3, 6))
            wait_for(lambda: server.worker_pids() - {worker}, 30, "a new worker")
            wait_for(lambda: set(pongs(fake)) >= set(range(6)), 60, "the pongs after the kill")
            queue_pings(fake, range(6, 8))
            wait_for(lambda: set(pongs(fake)) >= set(range(8)), 60, "the pongs on the new worker")
            assert bot.poll() is None
            assert pongs(fake) == Counter(range(8))
        finally:
            terminate(bot)
        assert bot.returncode == 0


def test_pysignalclirestapi_receive_in_json_rpc_mode_reads_the_websocket(tmp_path, fake_bin, config_dir, fake):
    """pysignalclirestapi 0.3.25 sees ``"mode": "json-rpc"`` in /v1/about, so its ``receive`` opens the
    websocket (``receive_ws``) with the polling form's query and collects frames until ``max_messages``."""
    from pysignalclirestapi import SignalCliRestApi

    settings = {"SIGNAL_CLI_BIN": fake_bin, "SIGNAL_CLI_CONFIG_DIR": config_dir, "SIGNAL_REST_MODE": "json-rpc"}
    with Gunicorn(tmp_path / "gunicorn", workers=1, threads=4, **settings) as server:
        with beside(server, "daemon"):
            queue_pings(fake, range(3))
            # the daemon is up once it has handed the messages out
            wait_for(lambda: len(fake.deliveries(ACCOUNT)) >= 3, 60, "the daemon receiving")
            api = SignalCliRestApi(server.url, ACCOUNT)
            assert api.mode() == "json-rpc"
            messages = api.receive(max_messages=3, timeout=30)
    assert [m["envelope"]["dataMessage"]["message"] for m in messages] == ["ping 0", "ping 1", "ping 2"]
    assert all(m["account"] == ACCOUNT and isinstance(m["inbox_id"], int) for m in messages)
