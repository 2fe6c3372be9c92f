"""General: /v1/about (fast, signal-cli asked once per app) and /v1/health."""

import os
import threading
import time

from fake_signal_cli import FakeState

import signal_rest


def test_about(client, fake, fake_version):
    response = client.get("/v1/about")
    assert response.status_code == 200
    assert response.get_json() == {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "normal",
        "version": signal_rest.__version__,
        "signal_cli": fake_version,
        "capabilities": {"v2/send": ["quotes", "mentions"]},
    }


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


def test_about_without_signal_cli(make_app, tmp_path):
    client = make_app(SIGNAL_CLI_BIN=str(tmp_path / "missing" / "signal-cli")).test_client()
    response = client.get("/v1/about")
    assert response.status_code == 200
    assert response.get_json()["signal_cli"] is None
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
    assert body["checks"]["signal_cli"] == {"ok": True, "version": f"signal-cli {fake_version}"}
    assert body["checks"]["config_dir"] == {"ok": True, "path": str(config_dir)}


def test_deep_health_names_a_missing_signal_cli(make_app, tmp_path):
    response = make_app(SIGNAL_CLI_BIN=str(tmp_path / "no-signal-cli")).test_client().get("/v1/health?deep=true")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["signal_cli"]["ok"] is False and "SIGNAL_CLI_BIN" in checks["signal_cli"]["error"]
    assert checks["config_dir"]["ok"] is True


def test_deep_health_names_an_unusable_config_dir(make_app, tmp_path):
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    response = make_app(SIGNAL_CLI_CONFIG_DIR=str(not_a_dir)).test_client().get("/v1/health?deep=true")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["config_dir"] == {"ok": False, "error": f"{not_a_dir} is not writable: File exists."}
    # the plain check stays cheap and up
    assert make_app(SIGNAL_CLI_CONFIG_DIR=str(not_a_dir)).test_client().get("/v1/health").status_code == 204
