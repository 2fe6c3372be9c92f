"""Logging: the request id (X-Request-ID) on every answer and in every log line, plain and JSON log
lines, and the log level set by one worker reaching the others."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ACCOUNT, OTHER, THIRD, assert_error

SERVICE_LOGGER = logging.getLogger("signal_rest")
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
TOKEN = "s3cret-Token_0123456789"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def restore_log_level():
    """The service's logger is process-wide: leave it as the test found it."""
    level = SERVICE_LOGGER.level
    yield
    SERVICE_LOGGER.setLevel(level)


def broken_about(app):
    """Make /v1/about fail with an unexpected exception (a 500)."""

    def version():
        raise RuntimeError("boom")

    app.extensions["signal_rest.signal_cli"].version = version


# --- X-Request-ID on every answer -----------------------------------------------------------------


def answers(app, fake):
    """One answer of each kind: 200, 201, 204, 400, 404, 405, 502 and 500."""
    client = app.test_client()
    fake.add_fault(command="listIdentities", exit=2)
    yield 200, client.get(f"/v1/groups/{ACCOUNT}")
    yield 201, client.post("/v2/send", json={"number": ACCOUNT, "recipients": [OTHER], "message": "hi"})
    yield 204, client.get("/v1/health")
    yield 400, client.post("/v2/send", json={"number": "12", "recipients": [OTHER], "message": "hi"})
    yield 404, client.get("/no/such/route")
    yield 405, client.delete("/v1/about")
    yield 502, client.get(f"/v1/identities/{ACCOUNT}")
    yield 200, client.get("/metrics")
    broken_about(app)
    yield 500, client.get("/v1/about")


def test_every_answer_has_a_new_request_id(app, fake):
    seen = set()
    for status, response in answers(app, fake):
        assert response.status_code == status, response.get_data(as_text=True)
        request_id = response.headers.get("X-Request-ID")
        assert request_id and GENERATED_ID.match(request_id), (status, request_id)
        seen.add(request_id)
    assert len(seen) == 9


def test_500_is_in_the_error_shape_with_a_request_id(app):
    broken_about(app)
    response = app.test_client().get("/v1/about", headers={"X-Request-ID": "trace-500"})
    assert_error(response, 500, "service log")
    assert response.headers["X-Request-ID"] == "trace-500"


def test_401_and_403_carry_the_request_id(make_app):
    client = make_app(SIGNAL_REST_API_TOKENS=f"ro:{TOKEN}").test_client()
    response = client.get("/v1/about")
    assert_error(response, 401)
    assert GENERATED_ID.match(response.headers["X-Request-ID"])
    response = client.get("/v1/about", headers={"X-Request-ID": "from-the-proxy-1"})
    assert_error(response, 401)
    assert response.headers["X-Request-ID"] == "from-the-proxy-1"
    response = client.post(
        "/v1/configuration",
        json={"logging": {"level": "debug"}},
        headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "ro-403"},
    )
    assert_error(response, 403, "read-only")
    assert response.headers["X-Request-ID"] == "ro-403"


@pytest.mark.parametrize(
    "request_id",
    ["abc", "0f8fad5b-d9cb-469f-a165-70867728950e", "req:1.2_3-x", "A" * 128, "7"],
)
def test_a_sensible_client_request_id_is_kept(app, fake, request_id):
    client = app.test_client()
    for response in (
        client.get(f"/v1/groups/{ACCOUNT}", headers={"X-Request-ID": request_id}),
        client.get("/no/such/route", headers={"X-Request-ID": request_id}),
    ):
        assert response.headers["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["", "A" * 129, "has space", "semi;colon", "<script>", "ünïcode", "a/b", 'quote"d', "tab\tbed", "%0d%0a"],
)
def test_an_unsafe_client_request_id_is_replaced(app, fake, request_id):
    response = app.test_client().get(f"/v1/groups/{ACCOUNT}", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert GENERATED_ID.match(response.headers["X-Request-ID"])


def test_request_ids_do_not_leak_into_the_next_request(app):
    client = app.test_client()
    assert client.get("/v1/health", headers={"X-Request-ID": "first-one"}).headers["X-Request-ID"] == "first-one"
    second = client.get("/v1/health").headers["X-Request-ID"]
    assert second != "first-one" and GENERATED_ID.match(second)


# --- log lines, plain and JSON (a process of their own: the logging set-up is process-wide) ----

DRIVER = r"""
import json, logging, sys, threading
from signal_rest import create_app

app = create_app({"TESTING": True})
logging.getLogger("signal_rest").info("outside any request")

def boom():
    raise RuntimeError("boom in version")

app.extensions["signal_rest.signal_cli"].version = boom
statuses = {}

def ask(path, request_id):
    statuses[request_id] = app.test_client().get(path, headers={"X-Request-ID": request_id}).status_code

threads = [threading.Thread(target=ask, args=pair) for pair in json.loads(sys.argv[1])]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(statuses))
"""
ACCOUNTS = [ACCOUNT, OTHER, THIRD]


def run_driver(tmp_path, fake_bin, config_dir, fake, log_format):
    """Serve a failing listGroups for three accounts at once and a 500 in a fresh process; returns
    the statuses by request id and the process's stderr lines."""
    for account in ACCOUNTS:
        fake.add_account(account)
    fake.add_fault(command="listGroups", exit=2)
    requests = [(f"/v1/groups/{account}", f"req-{account[1:]}") for account in ACCOUNTS]
    requests.append(("/v1/about", "req-about"))
    environment = {
        **os.environ,
        "SIGNAL_CLI_BIN": str(fake_bin),
        "SIGNAL_CLI_CONFIG_DIR": str(config_dir),
        "LOG_LEVEL": "DEBUG",
        "SIGNAL_REST_LOG_FORMAT": log_format,
        "SIGNAL_REST_DEFAULT_ACCOUNT": "",
        "SIGNAL_REST_API_TOKENS": "",
        "SIGNAL_REST_API_TOKENS_FILE": "",
        "TMPDIR": str(tmp_path),
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(requests)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    statuses = json.loads(done.stdout)
    assert statuses == {**{f"req-{a[1:]}": 502 for a in ACCOUNTS}, "req-about": 500}
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_json_log_lines(tmp_path, fake_bin, config_dir, fake):
    lines = run_driver(tmp_path, fake_bin, config_dir, fake, "json")
    entries = []
    for line in lines:
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        assert (
            {"time", "level", "logger", "message", "request_id"}
            <= set(entry)
            <= {
                "time",
                "level",
                "logger",
                "message",
                "request_id",
                "exception",
            }
        )
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", entry["time"]), entry["time"]
        assert entry["logger"].startswith("signal_rest")
        entries.append(entry)

    outside = [e for e in entries if e["message"] == "outside any request"]
    assert outside == [{**outside[0], "level": "INFO", "request_id": "-"}]
    for account in ACCOUNTS:
        mine = [e for e in entries if f"-a {account} " in e["message"]]
        # at least the DEBUG line of the run and the WARNING with signal-cli's stderr
        assert {e["level"] for e in mine} >= {"DEBUG", "WARNING"}, mine
        assert {e["request_id"] for e in mine} == {f"req-{account[1:]}"}
        # signal-cli's multi-line stderr stayed inside one JSON line
        assert any("\n" in e["message"] for e in mine)
    crashed = [e for e in entries if "exception" in e]
    assert len(crashed) == 1
    assert crashed[0]["request_id"] == "req-about"
    assert crashed[0]["level"] == "ERROR"
    assert "RuntimeError: boom in version" in crashed[0]["exception"]


PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+) \[(?P<id>[^\]]+)\] ")


def test_plain_log_lines_carry_the_request_id(tmp_path, fake_bin, config_dir, fake):
    lines = run_driver(tmp_path, fake_bin, config_dir, fake, "plain")
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])
    headed = [(PLAIN_LINE.match(line), line) for line in lines if PLAIN_LINE.match(line)]
    assert len(headed) >= 8
    outside = [match for match, line in headed if line.endswith("outside any request")]
    assert [match["id"] for match in outside] == ["-"]
    for account in ACCOUNTS:
        mine = [match for match, line in headed if f"-a {account} " in line]
        assert {match["level"] for match in mine} >= {"DEBUG", "WARNING"}
        assert {match["id"] for match in mine} == {f"req-{account[1:]}"}
    crashed = [match for match, line in headed if line.endswith("unhandled error")]
    assert [(match["level"], match["id"]) for match in crashed] == [("ERROR", "req-about")]
    assert "RuntimeError: boom in version" in "\n".join(lines)
    # signal-cli's multi-line stderr stayed in its record; only traceback lines continue one, indented
    assert all(PLAIN_LINE.match(line) or line.startswith("    ") for line in lines), lines


@pytest.mark.parametrize(("setting", "value"), [("SIGNAL_REST_LOG_FORMAT", "xml"), ("LOG_LEVEL", "verbose")])
def test_a_malformed_log_setting_is_refused_naming_it(make_app, setting, value):
    with pytest.raises(ValueError, match=setting):
        make_app(**{setting: value})


# --- the log level across workers -------------------------------------------------------------------


def runs_logged(caplog):
    """How many signal-cli runs were logged at DEBUG."""
    return sum(
        1 for r in caplog.records if r.levelno == logging.DEBUG and r.getMessage().startswith("signal-cli exited")
    )


def test_log_level_set_by_one_worker_is_used_by_another(make_app, fake, caplog):
    first = make_app().test_client()
    assert first.post("/v1/configuration", json={"logging": {"level": "debug"}}).status_code == 200
    # the second worker starts at the configured level...
    second_app = make_app()
    second = second_app.test_client()
    assert SERVICE_LOGGER.getEffectiveLevel() == logging.INFO
    with caplog.at_level(logging.DEBUG):
        assert second.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    # ...and follows the stored level from its next request on
    assert SERVICE_LOGGER.getEffectiveLevel() == logging.DEBUG
    assert runs_logged(caplog) == 1

    assert second.post("/v1/configuration", json={"logging": {"level": "error"}}).status_code == 200
    fake.add_fault(command="listGroups", exit=2)
    SERVICE_LOGGER.setLevel(logging.DEBUG)  # as if the first worker had not heard of it yet
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        assert first.get("/v1/configuration").get_json() == {"logging": {"level": "ERROR"}}
        assert_error(first.get(f"/v1/groups/{ACCOUNT}"), 502)
    assert SERVICE_LOGGER.getEffectiveLevel() == logging.ERROR
    # the failing run was not logged at DEBUG nor WARNING in the first worker
    assert [r for r in caplog.records if r.name.startswith("signal_rest")] == []


def test_log_level_is_not_shared_between_data_dirs(make_app, tmp_path):
    first = make_app().test_client()
    assert first.post("/v1/configuration", json={"logging": {"level": "debug"}}).status_code == 200
    elsewhere = make_app(SIGNAL_REST_DATA_DIR=str(tmp_path / "other-data")).test_client()
    assert elsewhere.get("/v1/configuration").get_json() == {"logging": {"level": "INFO"}}
    assert SERVICE_LOGGER.getEffectiveLevel() == logging.INFO


# --- plain lines cannot be forged -------------------------------------------------------------------

FORGED = "x\n2026-12-04 12:00:00,000 INFO signal_rest.auth [-] token accepted\r\x1b[2K\x1b[1G\u2028\x85 end"


def test_plain_format_escapes_control_characters_and_indents_tracebacks():
    from signal_rest.logs import PlainFormatter

    record = logging.LogRecord("signal_rest.x", logging.WARNING, __file__, 1, "name %s", (FORGED,), None)
    record.request_id = "-"
    try:
        raise RuntimeError(FORGED)
    except RuntimeError:
        record.exc_info = sys.exc_info()
    lines = PlainFormatter().format(record).split("\n")
    assert PLAIN_LINE.match(lines[0]), lines[0]
    assert "x\\n2026-12-04" in lines[0] and "\\r\\x1b[2K\\x1b[1G\\u2028\\x85 end" in lines[0]
    assert len(lines) > 2 and all(line.startswith("    ") for line in lines[1:]), lines
    assert not any(re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", line) for line in lines)
