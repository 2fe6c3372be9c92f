"""Logging: the request id (X-Request-ID) on every answer and in every log line, plain and JSON log
lines, and the log level set by one worker reaching the others."""

import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ACCOUNT, OTHER, THIRD, assert_error, openapi_document

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


def run_script(script, tmp_path, fake_bin, config_dir, log_format, *args):
    """Run ``script`` (with ``args``) in a fresh Python logging at DEBUG in ``log_format``, with the
    fake signal-cli and nothing of our environment's settings; returns its stdout parsed as JSON and
    its stderr's lines."""
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("SIGNAL_REST_", "SIGNAL_CLI_"))},
        "SIGNAL_CLI_BIN": str(fake_bin),
        "SIGNAL_CLI_CONFIG_DIR": str(config_dir),
        "LOG_LEVEL": "DEBUG",
        "SIGNAL_REST_LOG_FORMAT": log_format,
        "TMPDIR": str(tmp_path),
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr.split("\n")


def run_driver(tmp_path, fake_bin, config_dir, fake, log_format):
    """Serve a failing listGroups for three accounts at once and a 500 in a fresh process; returns
    the statuses by request id and the process's stderr lines."""
    for account in ACCOUNTS:
        fake.add_account(account)
    fake.add_fault(command="listGroups", exit=2)
    requests = [(f"/v1/groups/{account}", f"req-{account[1:]}") for account in ACCOUNTS]
    requests.append(("/v1/about", "req-about"))
    statuses, lines = run_script(DRIVER, tmp_path, fake_bin, config_dir, log_format, json.dumps(requests))
    assert statuses == {**{f"req-{a[1:]}": 502 for a in ACCOUNTS}, "req-about": 500}
    return [line for line in lines if line.strip()]


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


# --- no log line can begin with client text: every free-text field, both formats, stderr too ------

#: a line that looks like the service's own, after a newline, a carriage return, terminal sequences
#: that wipe the line, a Unicode line separator and NEL
FORGED_RECORD = "1999-01-01 00:00:00,000 INFO signal_rest.auth [-] token accepted"
FORGED_TEXT = f"x\n{FORGED_RECORD}\r{FORGED_RECORD}\x1b[2K\x1b[1G\u2028{FORGED_RECORD}\x85{FORGED_RECORD}"
#: string fields of request bodies that are not free text: numbers, recipients, ids, files, and
#: values with a fixed pattern (refused with a 400 unless they match it)
STRUCTURED_FIELDS = {
    "number", "recipient", "recipients", "quote_author", "target_author", "poll_author", "group_id",
    "groupid", "members", "admins", "add_members", "add_admins", "base64_attachment", "base64_attachments",
    "attachment", "base64_avatar", "base64_thumbnail", "level", "captcha", "pin", "challenge_token",
    "username", "uri", "pack_id", "pack_key", "sticker", "verified_safety_number",
}  # fmt: skip
GROUP_PATH = "/v1/groups/{number}/{groupid}"

LOG_DRIVER = r"""
import json, sys
from signal_rest import create_app

app = create_app({"TESTING": True, "SIGNAL_REST_LINK_TIMEOUT": 1})
client = app.test_client()
statuses = []
for method, path, body in json.load(open(sys.argv[1])):
    response = client.open(path, method=method, data=body, content_type="application/json")
    statuses.append(response.status_code)
cli = app.extensions["signal_rest.signal_cli"]
cli.close()
print(json.dumps(statuses))
"""


def free_text_requests():
    """(method, path, raw body, field) for every free-text field that reaches signal-cli, the forged
    text in it: the injection matrix's text fields, and the group member label."""
    from test_injection import FIELDS, GROUP, Kind

    requests = [
        (*spec.request(FORGED_TEXT), field_id)
        for field_id, spec in FIELDS.items()
        if spec.kind in (Kind.FREE_TEXT, Kind.TEXT_OFF_ARGV)
    ]
    for method in ("PUT", "PATCH"):
        for field in ("member_label", "member_label_emoji", "name", "description"):
            body = json.dumps({field: FORGED_TEXT})
            requests.append((method, f"/v1/groups/{ACCOUNT}/{GROUP}", body, f"groups.{method}-{field}"))
    preview = {"url": "https://example.com/" + FORGED_TEXT, "title": "t"}
    send = {"number": ACCOUNT, "recipients": [OTHER], "message": "https://example.com"}
    requests.append(("POST", "/v2/send", json.dumps({**send, "link_preview": preview}), "send.preview-url"))
    requests.append(("POST", "/v1/send", json.dumps({**send, "message": FORGED_TEXT}), "send-v1-standard.message"))
    reaction = {"recipient": OTHER, "target_author": OTHER, "timestamp": 1732630000123, "reaction": FORGED_TEXT}
    requests.append(("DELETE", f"/v1/reactions/{ACCOUNT}", json.dumps(reaction), "reaction.remove-emoji"))
    return requests


def body_text_fields(schema, schemas, prefix=""):
    """The dotted names of the free-text string fields of a request body schema."""
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    if "properties" in schema:
        for name, item in schema["properties"].items():
            if name not in STRUCTURED_FIELDS:
                yield from body_text_fields(item, schemas, f"{prefix}{name}.")
    elif schema.get("type") == "array":
        yield from body_text_fields(schema.get("items", {}), schemas, prefix)
    elif schema.get("type") == "string" and "enum" not in schema:
        yield prefix.rstrip(".")


def filled_fields(body, prefix=""):
    """The dotted names of the fields of ``body`` holding the forged text."""
    if isinstance(body, dict):
        for name, item in body.items():
            yield from filled_fields(item, f"{prefix}{name}.")
    elif isinstance(body, list):
        for item in body:
            yield from filled_fields(item, prefix)
    elif isinstance(body, str) and (FORGED_RECORD in body or FORGED_TEXT in body):
        yield prefix.rstrip(".")


def test_the_log_test_fills_every_free_text_field_of_the_openapi_document():
    document = openapi_document()
    schemas = document["components"]["schemas"]
    wanted = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            for media in content.values():
                wanted |= {(method.upper(), path, name) for name in body_text_fields(media["schema"], schemas)}
    templates = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in document["paths"]]
    filled = set()
    for method, url, body, _ in free_text_requests():
        path = next(template for pattern, template in templates if pattern.match(url.split("?")[0]))
        filled |= {(method, path, name) for name in filled_fields(json.loads(body) if body else {})}
    assert wanted, "no free-text field found"
    assert sorted(wanted - filled) == []


RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def assert_no_forged_line(lines, log_format):
    """No line can be taken for one the service did not write: each is a whole record (a JSON
    object, or a plain record's head), or an indented traceback line; none holds a raw control
    character; the forged record is never at the start of one."""
    for line in lines:
        if not line:
            continue
        assert not RAW_CONTROL.search(line), repr(line)
        assert not line.startswith(FORGED_RECORD), repr(line)
        if log_format == "json":
            assert isinstance(json.loads(line), dict), repr(line)
        else:
            assert PLAIN_LINE.match(line) or line.startswith("    "), repr(line)


@pytest.mark.fake_signal_cli("0.14.6")
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_no_log_line_can_begin_with_client_text(tmp_path, fake_bin, config_dir, fake, log_format):
    from test_injection import populated

    populated(fake)
    # every run fails unexpectedly (exit 2), so its argv and its stderr, which prints the text too
    # (as signal-cli's errors quote names and values), are logged
    fake.add_fault(exit=2, stderr=f"Failed: {FORGED_TEXT}\nat line two {FORGED_TEXT}")
    requests = free_text_requests()
    request_file = tmp_path / "requests.json"
    request_file.write_text(json.dumps([request[:3] for request in requests]))
    statuses, lines = run_script(LOG_DRIVER, tmp_path, fake_bin, config_dir, log_format, str(request_file))
    assert_no_forged_line(lines, log_format)
    for (*_, field), status in zip(requests, statuses, strict=True):
        # refused by validation, or signal-cli's failure
        assert status in (400, 404, 501, 502), (field, status)
    # the text did reach the log, escaped: each run's stderr, and each argv that carried it
    runs = [run for run in fake.log() if "event" not in run]
    with_text = [run for run in runs if any(FORGED_RECORD in word for word in run["argv"])]
    assert runs and with_text
    assert sum(f"Failed: x\\n{FORGED_RECORD}" in line for line in lines) == len(runs)
    exits = [line for line in lines if " exited 2 " in line]
    for run in with_text:
        mine = [line for line in exits if f" {run['command']} " in line]
        # shown escaped, or hidden where it is a secret (a captcha)
        assert any(FORGED_RECORD in line or "=***" in line for line in mine), run["command"]


@pytest.mark.server
@pytest.mark.fake_signal_cli("0.14.6")
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_gunicorns_lines_cannot_be_forged_either(tmp_path, fake_bin, config_dir, fake, log_format):
    from gunicorn_server import Gunicorn
    from test_injection import GROUP, populated

    populated(fake)
    fake.add_fault(exit=1, stderr=f"Failed: {FORGED_TEXT}")
    with Gunicorn(
        tmp_path / "gunicorn",
        workers=1,
        threads=2,
        SIGNAL_CLI_BIN=fake_bin,
        SIGNAL_CLI_CONFIG_DIR=config_dir,
        SIGNAL_REST_LOG_FORMAT=log_format,
        LOG_LEVEL="DEBUG",
    ) as server:
        body = json.dumps({"name": FORGED_TEXT}).encode()
        status, _, _ = server.request(
            "PUT", f"/v1/groups/{ACCOUNT}/{GROUP}", {"Content-Type": "application/json"}, body
        )
        assert status == 400
        # a request line and a header with terminal sequences, which gunicorn itself refuses or logs
        for raw in (
            b"GET /v1/about?\x1b[2K" + FORGED_RECORD.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /v1/about HTTP/1.1\r\nHost: x\r\nX-Forged: a\x1b[1G\x85" + FORGED_RECORD.encode() + b"\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
                connection.sendall(raw)
                assert connection.recv(65536)
        assert server.stop() == 0
        lines = server.stderr().split("\n")
        access = server.stdout().split("\n")
    assert any(FORGED_RECORD in line for line in lines)
    # gunicorn's own lines are there, in the format chosen (the access lines too)
    if log_format == "json":
        loggers = {json.loads(line)["logger"] for line in access + lines if line}
        assert {"gunicorn.error", "gunicorn.access", "signal_rest.signal_cli.process"} <= loggers
    else:
        assert any(GUNICORN_LINE.match(line) for line in lines)
        assert any(ACCESS_LINE.match(line) for line in access)
    for line in access + lines:
        assert not RAW_CONTROL.search(line), repr(line)
        assert not line.startswith(FORGED_RECORD), repr(line)
        if line and log_format == "json":
            assert isinstance(json.loads(line), dict), repr(line)
        elif line:
            # the service's records, gunicorn's ("[time] [pid] [LEVEL] …"), access lines, tracebacks
            assert (
                PLAIN_LINE.match(line)
                or GUNICORN_LINE.match(line)
                or ACCESS_LINE.match(line)
                or line.startswith("    ")
            ), repr(line)


GUNICORN_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ")
ACCESS_LINE = re.compile(r'^127\.0\.0\.1 "[^"]*" \d{3} [\d-]+ \d+ms request_id=\S+$')
