"""General: /v1/about (fast, signal-cli asked once per app) and /v1/health."""

import os
import threading
import time

from fake_signal_cli import FakeState

import signal_rest


def test_about(client, fake):
    response = client.get("/v1/about")
    assert response.status_code == 200
    assert response.get_json() == {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "normal",
        "version": signal_rest.__version__,
        "signal_cli": "0.13.19",
        "capabilities": {"v2/send": ["quotes", "mentions"]},
    }


def test_about_starts_signal_cli_once_for_all_workers(make_app, tmp_path, monkeypatch):
    # `signal-cli --version` reads no --config: the fake logs it in its default config dir
    default_dir = tmp_path / "xdg" / "signal-cli"
    default_dir.mkdir(parents=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    version_runs = FakeState(default_dir)
    app = make_app()

    def ask():
        assert app.test_client().get("/v1/about").get_json()["signal_cli"] == "0.13.19"

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(3):
        ask()
    assert [run["argv"] for run in version_runs.log()] == [["--version"]]

    # another app (another gunicorn worker) shares the version remembered in the data dir
    assert make_app().test_client().get("/v1/about").get_json()["signal_cli"] == "0.13.19"
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
