"""The error model and the conventions every endpoint shares (API.md §1): one JSON error shape,
lenient bodies, path parameters, the docs, and every way signal-cli can fail."""

import errno
import json
import os
import re
import threading
import time
from urllib.parse import quote

import pytest
from helpers import (
    ACCOUNT,
    API_TAGS,
    OTHER,
    add_group_with_id,
    api_group_id,
    assert_error,
    b64,
    last_run,
    release_at_least,
    words,
)

import signal_rest
from signal_rest import idempotency
from signal_rest.attachments import storage_error
from signal_rest.errors import status_for

SEND = {"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}
GROUPS = f"/v1/groups/{ACCOUNT}"
#: a raw group id with '+', '/' and '=' in it
GROUP_ID = b64(b"\xfb\xef\xff" + bytes(29))


def wait_for(condition, timeout=10.0):
    """Poll ``condition`` until it holds (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def started_processes(fake):
    """The start events of the fake's runs."""
    return [event for event in fake.log(events=True) if event.get("event") == "start"]


# --- routes and methods ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/v1", "/v3/send", "/v1/groups", "/docs/swagger-ui/missing.js"])
def test_unknown_route_is_404_json(validation_client, path):
    assert_error(validation_client.get(path), 404, "/docs")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/v1/about", "GET"),
        ("get", "/v2/send", "POST"),
        ("put", "/v1/health", "GET"),
        ("patch", f"/v1/profiles/{ACCOUNT}", "PUT"),
        ("get", f"/v1/register/{ACCOUNT}", "POST"),
    ],
)
def test_wrong_method_is_405_json(validation_client, method, path, allowed):
    response = getattr(validation_client, method)(path)
    assert_error(response, 405, "/docs")
    assert allowed in response.headers["Allow"]


# --- request bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["{bad", '{"number": "+49…",}', "{'a': 1}", '{"a": 1}x'])
def test_invalid_json_is_400(validation_client, data):
    assert_error(validation_client.post("/v2/send", data=data, content_type="application/json"), 400, "not valid JSON")


@pytest.mark.parametrize("body", [[SEND], "send", 5, True])
@pytest.mark.parametrize("path", ["/v2/send", "/v1/configuration", f"/v1/register/{ACCOUNT}"])
def test_body_that_is_not_an_object_is_400(validation_client, path, body):
    assert_error(validation_client.post(path, json=body), 400, "JSON object", field="body")


@pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain; charset=utf-8", "application/octet-stream"])
def test_body_is_json_whatever_the_content_type(client, fake, content_type):
    response = client.post("/v2/send", data=json.dumps(SEND), content_type=content_type)
    assert response.status_code == 201
    assert words(last_run(fake)) == ["send", "--message-from-stdin", "--notify-self", "--", OTHER]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "expected_words"),
    [
        (
            "post",
            "/v2/send",
            {
                **SEND,
                "recipient": None,
                "base64_attachments": [],
                "mentions": None,
                "text_mode": "",
                "quote_timestamp": None,
                "quote_author": "",
                "quote_message": None,
                "quote_mentions": [],
                "sticker": "",
                "edit_timestamp": None,
                "link_preview": None,
                "view_once": None,
                "notify_self": None,
                "an_unknown_key": {"is": "ignored"},
            },
            201,
            ["send", "--message-from-stdin", "--notify-self", "--", OTHER],
        ),
        (
            "post",
            GROUPS,
            {
                "name": "T",
                "members": [],
                "description": "",
                "permissions": None,
                "group_link": "",
                "admins": [],
                "base64_avatar": "",
                "expiration_time": None,
                "message_expiration_timer": None,
            },
            201,
            ["updateGroup", "--name=T"],
        ),
        (
            "put",
            f"/v1/profiles/{ACCOUNT}",
            {"name": "A", "family_name": "", "about": None, "base64_avatar": "", "remove_avatar": None},
            204,
            ["updateProfile", "--given-name=A"],
        ),
    ],
)
def test_null_empty_string_and_empty_list_mean_absent(client, fake, method, path, body, status, expected_words):
    response = getattr(client, method)(path, json=body)
    assert response.status_code == status, response.get_json()
    assert words(last_run(fake)) == expected_words


@pytest.mark.parametrize(
    ("path", "body", "status", "word"),
    [
        (
            "/v2/send",
            {**SEND, "quote_timestamp": "1700000000000", "quote_author": OTHER},
            201,
            "--quote-timestamp=1700000000000",
        ),
        ("/v2/send", {**SEND, "edit_timestamp": "1700000000001"}, 201, "--edit-timestamp=1700000000001"),
        (
            f"/v1/reactions/{ACCOUNT}",
            {"reaction": "👍", "recipient": OTHER, "target_author": OTHER, "timestamp": "1700000000002"},
            204,
            "--target-timestamp=1700000000002",
        ),
    ],
)
def test_numeric_string_timestamps(client, fake, path, body, status, word):
    assert client.post(path, json=body).status_code == status
    assert word in words(last_run(fake))


def test_oversized_body_is_413_json(make_app, fake):
    client = make_app(SIGNAL_REST_MAX_BODY_BYTES=2048).test_client()
    small = {**SEND, "message": "x" * 1500}
    assert client.post("/v2/send", json=small).status_code == 201
    runs = len(fake.log())
    large = {**SEND, "base64_attachments": [b64(bytes(3000))]}
    assert_error(client.post("/v2/send", json=large), 413, "too large")
    assert len(fake.log()) == runs


# --- path parameters ------------------------------------------------------------------------------


@pytest.fixture
def group(fake):
    """A group of ACCOUNT whose id has '+', '/' and '=' in it."""
    return add_group_with_id(fake, GROUP_ID, members=[OTHER], admins=[ACCOUNT, OTHER])


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/groups/%2B{ACCOUNT[1:]}/{api_group_id(GROUP_ID)}",
        f"/v1/groups/{ACCOUNT[1:]}/{api_group_id(GROUP_ID)}",
        f"/v1/groups/{ACCOUNT}/{api_group_id(GROUP_ID).replace('=', '%3D')}",
        f"/v1/groups/{ACCOUNT}/{quote(api_group_id(GROUP_ID), safe='')}",
        f"/v1/groups/{ACCOUNT}/{quote(GROUP_ID, safe='')}",
        f"/v1/groups/{ACCOUNT}/{GROUP_ID}",
    ],
)
def test_percent_encoded_path_parameters(client, fake, group, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["internal_id"] == GROUP_ID
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["listGroups", "-g", GROUP_ID]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/v1/about/", None, 200),
        ("get", "/v1/health/", None, 204),
        ("get", "/v1/configuration/", None, 200),
        ("post", "/v2/send/", SEND, 201),
        ("post", f"/v1/send/{OTHER}/", {"number": ACCOUNT, "message": "hi"}, 201),
        ("get", f"/v1/search/?numbers={OTHER}&number={ACCOUNT}", None, 200),
        ("get", f"{GROUPS}/", None, 200),
        ("get", f"{GROUPS}/{api_group_id(GROUP_ID)}/", None, 200),
        ("get", f"{GROUPS}/{GROUP_ID}/", None, 200),
        ("post", f"{GROUPS}/{api_group_id(GROUP_ID)}/quit/", None, 204),
        ("put", f"/v1/profiles/{ACCOUNT}/", {"name": "A"}, 204),
        (
            "post",
            f"/v1/reactions/{ACCOUNT}/",
            {"reaction": "👍", "recipient": OTHER, "target_author": OTHER, "timestamp": 1},
            204,
        ),
    ],
)
def test_trailing_slash_is_tolerated(client, group, method, path, body, status):
    response = getattr(client, method)(path, json=body)
    assert response.status_code == status, response.get_json()


# --- the documentation ----------------------------------------------------------------------------


def test_openapi_document(client, fake):
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["version"] == signal_rest.__version__
    tags = [tag["name"] for tag in spec["tags"]]
    assert tags == [tag for tag in API_TAGS if tag in tags]
    assert {"General", "Configuration", "Search", "Messages", "Groups", "Reactions", "Devices", "Profiles"} <= set(tags)
    assert {"/v1/about", "/v1/health", "/v2/send", "/v1/send/{recipient}", "/v1/groups/{number}/{groupid}"} <= set(
        spec["paths"]
    )
    operations = [op for path in spec["paths"].values() for op in path.values() if isinstance(op, dict)]
    assert operations and all(op.get("summary") for op in operations)
    # validation failures are answered with 400, so they must not be documented as 422 (a 422 is
    # only the answer to an Idempotency-Key reused for another request)
    reused_key = idempotency.RESPONSES["422"]
    assert all(op["responses"].get("422", reused_key) == reused_key for op in operations)
    assert fake.log() == []


@pytest.mark.parametrize("path", ["/docs", "/docs/", "/swagger", "/swagger/"])
def test_swagger_ui_works_without_internet(client, path):
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "SwaggerUIBundle" in page and "/docs/openapi.json" in page
    assert not re.search(r"https?://|//[a-z]|cdn|unpkg|jsdelivr", page, re.I)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        assert len(asset_response.get_data()) > 1000
        asset_response.close()


# --- signal-cli failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "fragment"),
    [
        (
            {"exit": 1, "stderr": "INFO  AccountHelper - log noise\nWARN  Manager - more noise\nThat is not allowed"},
            400,
            "That is not allowed",
        ),
        ({"exit": 2}, 502, "unexpectedly"),
        ({"exit": 3, "stderr": f"Error while checking account {ACCOUNT}: Closed unexpectedly"}, 502, "Closed"),
        ({"exit": 4, "stderr": "Failed to send message due to untrusted identities"}, 409, "/v1/identities/"),
        ({"exit": 5, "stderr": "Rate limit reached"}, 429, "Rate limit reached"),
        ({"exit": 143, "stderr": ""}, 502, "143"),
        ({"exit": 7, "stderr": "strange"}, 502, "7"),
        ({"kill_self": True}, 502, "unexpectedly"),
        ({"garbage": True}, 502, "not the expected JSON"),
        ({"truncate": True}, 502, "not the expected JSON"),
    ],
)
def test_signal_cli_failures(client, fake, fault, status, fragment):
    fake.add_group(ACCOUNT, name="A team with a long name, so that truncated output is never valid JSON")
    fake.add_fault(command="listGroups", **fault)
    body = assert_error(client.get(GROUPS), status, fragment)
    # the client gets one short sentence: no log lines, no stack trace
    assert "noise" not in body["message"]
    assert "\tat " not in body["message"] and "Exception in thread" not in body["message"]
    assert len(body["message"]) < 500


@pytest.mark.parametrize("kind", ["missing", "directory", "not executable"])
def test_signal_cli_that_cannot_run_is_503(make_app, tmp_path, kind):
    path = tmp_path / "no-signal-cli"
    if kind == "directory":
        path.mkdir()
    elif kind == "not executable":
        path.write_text("#!/bin/sh\n")
        path.chmod(0o644)
    client = make_app(SIGNAL_CLI_BIN=str(path)).test_client()
    assert_error(client.get(GROUPS), 503, "SIGNAL_CLI_BIN")
    assert_error(client.post("/v2/send", json=SEND), 503, "SIGNAL_CLI_BIN")


def test_unusable_config_dir_is_503(make_app, tmp_path):
    not_a_directory = tmp_path / "config-file"
    not_a_directory.write_text("")
    client = make_app(SIGNAL_CLI_CONFIG_DIR=str(not_a_directory)).test_client()
    assert_error(client.get(GROUPS), 503, "SIGNAL_CLI_CONFIG_DIR")


def test_timeout_is_504_and_the_process_is_gone(make_app, fake):
    fake.add_fault(command="listGroups", sleep=60)
    client = make_app(SIGNAL_CLI_CMD_TIMEOUT=1).test_client()
    started = time.monotonic()
    assert_error(client.get(GROUPS), 504, "1 seconds")
    assert time.monotonic() - started < 10
    (process,) = started_processes(fake)
    with pytest.raises(ProcessLookupError):
        os.kill(process["pid"], 0)


def test_busy_account_is_503_with_retry_after(make_app, fake):
    fake.add_fault(command="listGroups", sleep=1, times=1)
    app = make_app(SIGNAL_CLI_LOCK_TIMEOUT=0.2)
    first = {}
    holder = threading.Thread(target=lambda: first.update(response=app.test_client().get(GROUPS)))
    holder.start()
    wait_for(lambda: started_processes(fake))
    response = app.test_client().post("/v2/send", json=SEND)
    holder.join()
    assert_error(response, 503, "busy")
    assert int(response.headers["Retry-After"]) > 0
    assert first["response"].status_code == 200
    # the refused request never started signal-cli
    assert [run["command"] for run in fake.log()] == ["listGroups"]


def test_rate_limit_is_429_with_tokens_and_retry_after(client, fake):
    fake.add_user(OTHER, rate_limited="challenge-abc")
    response = client.post("/v2/send", json=SEND)
    body = assert_error(response, 429, "/v1/accounts/", "rate-limit-challenge")
    assert body["challenge_tokens"] == ["challenge-abc"]
    assert response.headers["Retry-After"] == "86400"
    assert body["account"] == ACCOUNT


def test_a_plain_rate_limit_is_429_with_retry_after_where_signal_cli_reports_it(client, fake, fake_version):
    # a rate limit that no captcha lifts: 0.14.3+ reports its wait too
    fake.add_user(OTHER, rate_limited_plain=3600)
    response = client.post("/v2/send", json=SEND)
    body = assert_error(response, 429)
    assert body["challenge_tokens"] == []
    assert "rate-limit-challenge" not in body["message"]
    if release_at_least(fake_version, "0.14.3"):
        assert response.headers["Retry-After"] == "3600"
    else:
        assert "Retry-After" not in response.headers


def test_untrusted_is_409_naming_the_identities_endpoint(client, fake):
    fake.add_user(OTHER, untrusted=True)
    body = assert_error(client.post("/v2/send", json=SEND), 409, OTHER, "/v1/identities/", "/trust/")
    assert body["errors"]["recipients"][0]["reason"] == "IDENTITY_FAILURE"


def test_captcha_is_400_saying_how_to_get_one(client, fake):
    number = "+4915122222222"
    fake.add_account(number, registered=False, captcha_required=True)
    body = assert_error(client.post(f"/v1/register/{number}"), 400, "signalcaptchas.org", "signalcaptcha://", "captcha")
    assert "--captcha" not in body["message"]


@pytest.mark.parametrize(("code", "status"), [(errno.ENOSPC, 507), (errno.EDQUOT, 507), (errno.EACCES, 503)])
def test_storage_failures_have_rows_in_the_status_table(code, status):
    assert status_for(storage_error(OSError(code, os.strerror(code)))) == status
