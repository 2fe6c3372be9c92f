"""Deployment files: the systemd units and the example environment file are real and consistent."""

import configparser
import shlex
import sys
import textwrap
from pathlib import Path

import pytest

from signal_rest import auth, config
from signal_rest.receiving import webhooks

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "signal_rest" / "deploy"
GUNICORN_SETTINGS = {"SIGNAL_REST_BIND", "SIGNAL_REST_WORKERS", "SIGNAL_REST_THREADS"}


def _env_example():
    values = {}
    for line in (DEPLOY / "signal-rest.env.example").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


@pytest.mark.parametrize(
    "name",
    ["signal-rest.service", "signal-rest-receiver.service", "signal-rest-daemon.service", "signal-rest.env.example"],
)
def test_readme_shows_the_file_as_it_is(name):
    text = (DEPLOY / name).read_text("utf-8")
    assert textwrap.indent(text.rstrip("\n"), "    ") in (ROOT / "README.rst").read_text("utf-8")


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("signal-rest.service", "gunicorn"),
        ("signal-rest-receiver.service", "signal-rest"),
        ("signal-rest-daemon.service", "signal-rest"),
    ],
)
def test_units_run_commands_this_package_installs(name, command):
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str
    unit.read(DEPLOY / name)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert Path(argv[0]).name == command
    assert (Path(sys.executable).parent / command).exists(), f"{command} is not installed by this package"
    assert unit["Service"]["EnvironmentFile"] == "/etc/signal-rest.env"
    if command == "gunicorn":
        assert argv[1:] == ["-c", "python:signal_rest.gunicorn_conf", "wsgi:app"]
    else:
        assert argv[1:] == [name.removeprefix("signal-rest-").removesuffix(".service")]


def test_example_environment_uses_real_settings_only():
    values = _env_example()
    assert set(values) - set(config.SETTINGS) - GUNICORN_SETTINGS == set()
    settings = config.from_environment(values)
    assert settings["SIGNAL_REST_RECEIVER"] is True
    assert [token.read_only for token in auth.load_tokens(settings)] == [False, True]
    assert webhooks.load_webhooks(settings)[0].kinds == frozenset({"data"})


def test_dockerfile_provisions_like_make_run_and_uses_the_package_configuration():
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert "python -m signal_rest.provision" in dockerfile
    assert '"python:signal_rest.gunicorn_conf"' in dockerfile
    assert "pip install --no-cache-dir '.[provision]'" in dockerfile
