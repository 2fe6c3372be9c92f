"""json-rpc mode against the real signal-cli daemon (0.13.19 here): the supervisor starts it, the
service's calls are understood, and it stops on SIGTERM with exit 0 and nothing left behind.

Offline and with an empty config dir, so what can be shown is that each call was understood: the
account list, "not registered" for an account method, a network error for what needs Signal.
"""

import pytest
from helpers import assert_error, running_supervisor

from signal_rest import create_app
from signal_rest.signal_cli import daemon

pytestmark = pytest.mark.contract

UNKNOWN = "+4915100000099"


@pytest.fixture
def real_app(real_signal_cli_bin, tmp_path):
    return create_app(
        {
            "TESTING": True,
            "SIGNAL_REST_MODE": "json-rpc",
            "SIGNAL_CLI_BIN": real_signal_cli_bin,
            "SIGNAL_CLI_CONFIG_DIR": str(tmp_path / "config"),
            "SIGNAL_CLI_CMD_TIMEOUT": 60,
        }
    )


def test_the_service_in_json_rpc_mode_with_the_real_daemon(real_app, tmp_path):
    client = real_app.test_client()
    supervisor = real_app.extensions["signal_rest.supervisor"]
    with running_supervisor(real_app, timeout=90):
        child = supervisor.process.process
        about = client.get("/v1/about").get_json()
        assert (about["mode"], about["signal_cli"]) == ("json-rpc", "0.13.19")
        assert client.get("/v1/accounts").get_json() == []
        send = client.post("/v2/send", json={"number": UNKNOWN, "recipients": ["+4915100000001"], "message": "hi"})
        assert_error(send, 400, f"{UNKNOWN} is not registered")
        assert_error(client.get(f"/v1/groups/{UNKNOWN}"), 400, "not registered")
        # what needs Signal's servers fails for network reasons, understood by the daemon
        assert_error(client.post(f"/v1/register/{UNKNOWN}"), 502)
        assert_error(client.get("/v1/qrcodelink/raw?device_name=test"), 502, "Link request error")
        assert child.poll() is None
    # SIGTERM: the daemon ended by itself, with exit 0, and took its socket with it
    assert child.returncode == 0
    assert not daemon.socket_path(real_app.config["SIGNAL_CLI_CONFIG_DIR"]).exists()
    assert daemon.read_status(real_app.config["SIGNAL_CLI_CONFIG_DIR"])["state"] == "stopped"
