"""Fixtures: the fake signal-cli, the app from the real factory, its client, the real signal-cli."""

import compileall
import contextlib
import os
import tempfile
from pathlib import Path

import flask
import pytest
import werkzeug.routing

pytest.register_assert_rewrite("helpers")

from fake_signal_cli import FakeState, forkserver, write_executable  # noqa: E402
from helpers import ACCOUNT, running_supervisor  # noqa: E402
from processes import child_pids  # noqa: E402

from signal_rest import create_app  # noqa: E402


class _RuleBuiltWhenUsed(werkzeug.routing.Rule):
    """A URL rule whose URL builder is compiled the first time a URL is built from it.

    Werkzeug compiles two builder functions per rule when the rule is added; building an app
    then costs more than most tests, and most tests' apps never build a URL. What a rule matches
    and builds is unchanged. (If werkzeug stops having ``_compile_builder``, this only stops
    saving time.)
    """

    def _compile_builder(self, append_unknown=True):
        compiled = None

        def build(rule, **values):
            nonlocal compiled
            if compiled is None:
                compiled = werkzeug.routing.Rule._compile_builder(rule, append_unknown)
            return compiled(rule, **values)

        return build


flask.Flask.url_rule_class = _RuleBuiltWhenUsed


def pytest_configure(config):
    """Compile the test modules once, before any worker starts, and start the fake's fork server
    in each process that runs tests.

    The fake signal-cli runs thousands of times per session. Where PYTHONDONTWRITEBYTECODE is
    set, no run would leave its bytecode behind and every one would compile the fake's source
    again; and each run that starts Python anew spends about 30 ms of CPU on starting and
    importing, which the fork server (fake_signal_cli/forkserver.py) saves.
    FAKE_SIGNAL_CLI_QUICK=0 runs every fake the slow way.
    """
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(Path(__file__).parent, quiet=1)
    # each test process (each xdist worker) runs the fake's fork server, unless told not to
    if os.environ.get("FAKE_SIGNAL_CLI_QUICK", "1") != "0" and (
        hasattr(config, "workerinput") or config.getoption("numprocesses", None) in (None, 0)
    ):
        forkserver.start()


#: the releases the fake signal-cli plays for the API suite: the oldest one the service supports and
#: the newest one it models (SIGNAL_CLI_0.14.md)
FAKE_RELEASES = ("0.13.19", "0.14.6")
#: SIGNAL_REST_MODE: the API suite runs in both (json-rpc against the newest release chosen)
SERVICE_MODES = ("normal", "json-rpc")


def pytest_addoption(parser):
    parser.addoption(
        "--fake-signal-cli",
        action="append",
        choices=FAKE_RELEASES,
        metavar="VERSION",
        help=f"run the tests of the fake signal-cli's app against this release only (repeatable; "
        f"default: each of {', '.join(FAKE_RELEASES)})",
    )
    parser.addoption(
        "--service-mode",
        action="append",
        choices=SERVICE_MODES,
        metavar="MODE",
        help="run the API tests in this SIGNAL_REST_MODE only (repeatable; default: each mode a test allows)",
    )


def fake_releases(config, marker=None):
    """The releases a test using the fake runs against: those chosen with --fake-signal-cli (default:
    all), narrowed by the test's ``fake_signal_cli`` marker (if none is left: the marker's first)."""
    chosen = config.getoption("fake_signal_cli") or FAKE_RELEASES
    if marker is None:
        return list(dict.fromkeys(chosen))
    narrowed = [release for release in chosen if release in marker.args]
    return narrowed or [marker.args[0]]


def service_modes(config, marker=None):
    """The modes an app test runs in: its ``service_modes`` marker's (default: normal only), narrowed
    by --service-mode."""
    allowed = marker.args if marker is not None else ("normal",)
    chosen = config.getoption("service_mode") or SERVICE_MODES
    return [mode for mode in allowed if mode in chosen]


def pytest_collection_modifyitems(config, items):
    """Deselect the tests of modes --service-mode leaves out (``make check`` runs normal mode only)."""
    if not config.getoption("service_mode"):
        return
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("service_modes")
        (kept if marker is None or service_modes(config, marker) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_generate_tests(metafunc):
    """Every test that uses the fake signal-cli (through ``fake_bin``) runs once per release; a test
    of the app (``make_app``) also in json-rpc mode where its module or marker allows, against the
    newest of those releases."""
    if "fake_version" not in metafunc.fixturenames:
        return
    releases = fake_releases(metafunc.config, metafunc.definition.get_closest_marker("fake_signal_cli"))
    if "service_mode" not in metafunc.fixturenames:
        metafunc.parametrize("fake_version", releases, indirect=True, ids=[f"signal-cli-{r}" for r in releases])
        return
    modes = service_modes(metafunc.config, metafunc.definition.get_closest_marker("service_modes"))
    cases = [(release, "normal") for release in releases if "normal" in modes]
    if "json-rpc" in modes:
        cases.append((releases[-1], "json-rpc"))
    ids = [f"signal-cli-{release}" if mode == "normal" else f"json-rpc-{release}" for release, mode in cases]
    metafunc.parametrize(("fake_version", "service_mode"), cases, indirect=True, ids=ids)


@pytest.fixture
def fake_version(request):
    """The release the fake signal-cli reports and speaks in this test."""
    return request.param


@pytest.fixture
def service_mode(request):
    """SIGNAL_REST_MODE of this test's app: normal (a fake signal-cli per request) or json-rpc (the
    fake's daemon, run by the app's own supervisor for the whole test)."""
    return request.param


@pytest.fixture
def fake_bin(tmp_path, fake_version):
    """A fake ``signal-cli`` executable of release ``fake_version`` (see fake_signal_cli)."""
    return write_executable(tmp_path / "bin", version=fake_version)


@pytest.fixture
def config_dir(tmp_path):
    """signal-cli's --config dir for one test."""
    path = tmp_path / "signal-cli-config"
    path.mkdir()
    return path


@pytest.fixture
def fake(config_dir):
    """The fake's state, with one registered account."""
    state = FakeState(config_dir)
    state.add_account(ACCOUNT)
    return state


def app_settings(signal_cli_bin, config_dir, **overrides):
    """The settings of a test app; ``overrides`` win (``None``: leave the setting to the environment)."""
    settings = {
        "TESTING": True,
        "SIGNAL_CLI_BIN": str(signal_cli_bin),
        "SIGNAL_CLI_CONFIG_DIR": str(config_dir),
        "SIGNAL_CLI_CMD_TIMEOUT": 20,
        "SIGNAL_CLI_LOCK_TIMEOUT": 10,
        "SIGNAL_REST_DEFAULT_ACCOUNT": "",
        "PYTHON_SIGNAL_CLI_REST_API_ACCOUNT": "",
        **overrides,
    }
    return {name: value for name, value in settings.items() if value is not None}


@pytest.fixture
def make_app(fake_bin, config_dir, fake, service_mode):
    """Build another app like ``app``; keyword arguments override its settings (``None``: leave the
    setting to the environment). In json-rpc mode the first app's supervisor runs the fake daemon
    until the test ends (every app of the test shares it, as gunicorn's workers do)."""
    with contextlib.ExitStack() as daemons:

        def build(**overrides):
            if service_mode == "json-rpc":
                overrides.setdefault("SIGNAL_REST_MODE", "json-rpc")
            built = create_app(app_settings(fake_bin, config_dir, **overrides))
            if built.config["SIGNAL_REST_MODE"] == "json-rpc" and not daemons._exit_callbacks:
                daemons.enter_context(running_supervisor(built))
                # the test sees only its own calls, as in normal mode (not the supervisor's probe)
                fake.clear_log()
            return built

        yield build
    outgoing = config_dir / "signal-rest" / "outgoing"
    assert not outgoing.is_dir() or list(outgoing.iterdir()) == [], "attachment files left behind"


@pytest.fixture
def app(make_app):
    """The app, built by the real factory, running the fake signal-cli."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def attachment_dir(app, no_leftovers):
    """Where the app writes attachments to send: the temporary folder, or in json-rpc mode the
    config dir's folder that the daemon reads."""
    return Path(app.extensions["signal_rest.signal_cli"].outgoing_dir or no_leftovers)


@pytest.fixture(scope="module")
def validation_client(tmp_path_factory):
    """A client for requests the service must refuse before it starts signal-cli.

    Its SIGNAL_CLI_BIN does not exist, so a request that wrongly got past validation is answered
    503 rather than 400. Built once per module: building an app costs more than such a request.
    """
    directory = tmp_path_factory.mktemp("validation")
    return create_app(app_settings(directory / "no-signal-cli", directory / "config")).test_client()


@pytest.fixture
def real_signal_cli_bin():
    """The real signal-cli that ``make test`` provisioned (SIGNAL_CLI_BIN)."""
    path = os.environ.get("SIGNAL_CLI_BIN")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("The contract tests need the real signal-cli: run them with `make test` (sets SIGNAL_CLI_BIN).")
    return path


@pytest.fixture(autouse=True)
def private_data_home(tmp_path, monkeypatch):
    """signal-cli (and the fake) write to $XDG_DATA_HOME when given no --config (`--version`):
    keep that in the test's own folder, never in the home directory. Returns that folder."""
    path = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(path))
    return path


@pytest.fixture(autouse=True)
def no_leftovers(request, tmp_path, monkeypatch):
    """After every test: no temporary file and no child process (not even a zombie) left behind.

    A module that keeps a process running across its tests on purpose (one real daemon for all of
    them) lists its pids in a module-level set ``KEPT_RUNNING``.
    """
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    yield temp
    assert list(temp.iterdir()) == [], "temporary files left behind"
    leftovers = set(child_pids()) - set(getattr(request.module, "KEPT_RUNNING", ()))
    assert not leftovers, f"child processes left behind: {sorted(leftovers)}"
