"""API tokens: off until configured; then Bearer or Basic (token as password) on every endpoint but
/v1/health, read-only tokens, account-limited tokens, tokens from a file, and no token ever shown."""

import base64
import hmac
import logging

import pytest
from helpers import ACCOUNT, OTHER, THIRD, assert_error, b64, last_run, words

from signal_rest import auth

# who may call what does not depend on signal-cli's release: the matrix runs against the newest fake only
pytestmark = pytest.mark.fake_signal_cli("0.14.6")

TOKEN = "s3cret-Token_0123456789"
SECOND = "another.token~ABCDEFGHIJ"
LIMITED = "limited-token-0123456789"
READ_ONLY = "read-only-token-012345678"
SEND = {"number": ACCOUNT, "recipients": [THIRD], "message": "hi"}
# the challenges as werkzeug renders them (a realm that is a plain token needs no quotes, RFC 9110)
CHALLENGES = ["Bearer realm=signal_rest", "Basic realm=signal_rest"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def basic(token, user="anyone"):
    return {"Authorization": "Basic " + b64(f"{user}:{token}".encode())}


@pytest.fixture
def token_app(make_app, fake):
    """An app with a full token, a second one, a token limited to ACCOUNT and a read-only one."""
    fake.add_account(OTHER)
    return make_app(SIGNAL_REST_API_TOKENS=f"{TOKEN} {SECOND}\n{LIMITED}@{ACCOUNT} ro:{READ_ONLY}")


@pytest.fixture
def token_client(token_app):
    return token_app.test_client()


#: (method, path, JSON body, status with a valid token) on endpoints of several kinds
ENDPOINTS = [
    ("GET", "/v1/about", None, 200),
    ("GET", f"/v1/groups/{ACCOUNT}", None, 200),
    ("POST", "/v2/send", SEND, 201),
    ("GET", "/v1/configuration", None, 200),
    ("POST", "/v1/configuration", {"logging": {"level": "info"}}, 200),
    ("GET", "/docs/openapi.json", None, 200),
    ("GET", "/docs/", None, 200),
    ("GET", "/metrics", None, 200),
]
ENDPOINT_IDS = [f"{method} {path}" for method, path, _, _ in ENDPOINTS]


def call(client, method, path, body=None, headers=None):
    return client.open(path, method=method, json=body, headers=headers or {})


# --- no token configured -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "status"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_without_tokens_everything_is_open(client, method, path, body, status):
    response = call(client, method, path, body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert "WWW-Authenticate" not in response.headers


def test_without_tokens_any_authorization_header_is_ignored(client, fake):
    assert client.get(f"/v1/groups/{ACCOUNT}", headers=bearer("not-a-configured-token")).status_code == 200
    assert client.post("/v2/send", json=SEND, headers=basic("whatever")).status_code == 201
    assert fake.sent_messages()[-1]["message"] == "hi"


# --- valid, invalid and missing tokens ------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "status"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("headers", [bearer(TOKEN), basic(SECOND)], ids=["bearer", "basic"])
def test_valid_token(token_client, method, path, body, status, headers):
    response = call(token_client, method, path, body, headers)
    assert response.status_code == status, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers",
    [
        bearer(SECOND),
        {"Authorization": f"bearer   {TOKEN}  "},
        {"Authorization": f"BEARER {TOKEN}"},
        basic(TOKEN, user="pysignalclirestapi"),
        basic(TOKEN, user=""),
        {"Authorization": "basic " + b64(f"user:{TOKEN}".encode())},
    ],
    ids=["bearer-second", "bearer-lowercase-spaces", "bearer-uppercase", "basic-user", "basic-no-user", "basic-lower"],
)
def test_valid_token_forms(token_client, fake, headers):
    response = token_client.get(f"/v1/groups/{ACCOUNT}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert last_run(fake)["command"] == "listGroups"


def test_a_valid_token_reaches_signal_cli(token_client, fake):
    response = token_client.post("/v2/send", json=SEND, headers=basic(TOKEN, user="apprise"))
    assert response.status_code == 201
    run = last_run(fake)
    assert words(run)[0] == "send"
    assert run["account"] == ACCOUNT
    assert fake.sent_messages()[-1]["message"] == "hi"


@pytest.mark.parametrize(("method", "path", "body", "_status"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong-token-0123456789"), basic("wrong-token-0123456789")],
    ids=["missing", "bearer", "basic"],
)
def test_invalid_or_missing_token_is_401(token_client, fake, method, path, body, _status, headers):
    response = call(token_client, method, path, body, headers)
    error = assert_error(response, 401, "API token", "Bearer")
    assert set(error) == {"error", "message", "status", "description"}
    assert response.headers.getlist("WWW-Authenticate") == CHALLENGES
    assert response.mimetype == "application/json"
    assert fake.log() == []
    assert fake.sent_messages() == []


@pytest.mark.parametrize(
    "headers",
    [
        bearer(TOKEN[:-1]),
        bearer(TOKEN + "x"),
        bearer(""),
        {"Authorization": TOKEN},
        {"Authorization": f"Token {TOKEN}"},
        basic("x", user=TOKEN),
        {"Authorization": "Basic " + b64(TOKEN.encode())},
        {"Authorization": "Basic %%%not-base64%%%"},
        {"Authorization": "Basic " + base64.b64encode(b"user:\xff\xfe").decode()},
    ],
    ids=[
        "bearer-prefix",
        "bearer-longer",
        "bearer-empty",
        "no-scheme",
        "other-scheme",
        "basic-token-as-user",
        "basic-no-colon",
        "basic-not-base64",
        "basic-not-utf8",
    ],
)
def test_invalid_token_forms_are_401(token_client, fake, headers):
    for response in (
        token_client.get(f"/v1/groups/{ACCOUNT}", headers=headers),
        token_client.post("/v2/send", json=SEND, headers=headers),
    ):
        assert_error(response, 401, "API token")
        assert response.headers.getlist("WWW-Authenticate") == CHALLENGES
    assert fake.log() == []
    assert fake.sent_messages() == []


def test_401_changes_nothing(token_client):
    response = token_client.post("/v1/configuration", json={"logging": {"level": "debug"}})
    assert_error(response, 401)
    assert token_client.get("/v1/configuration", headers=bearer(TOKEN)).get_json() == {"logging": {"level": "INFO"}}


# --- /v1/health -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, bearer("wrong-token-0123456789"), {"Authorization": "Basic %%%"}])
def test_health_is_open(token_client, fake, headers):
    response = token_client.get("/v1/health", headers=headers)
    assert response.status_code == 204
    assert "WWW-Authenticate" not in response.headers
    assert fake.log() == []


def test_deep_health_is_open_too(token_client, fake, config_dir, fake_version):
    # the whole endpoint is open (auth.OPEN_ENDPOINTS): ?deep=true runs `signal-cli --version`
    # and writes into the config dir without a token
    response = token_client.get("/v1/health?deep=true")
    assert response.status_code == 200
    assert "WWW-Authenticate" not in response.headers
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["signal_cli"]["ok"] is True
    assert body["checks"]["signal_cli"]["version"] == f"signal-cli {fake_version}"
    assert body["checks"]["config_dir"] == {"ok": True, "path": str(config_dir)}


def test_deep_health_failing_without_a_token_is_503_not_401(make_app, tmp_path):
    client = make_app(SIGNAL_CLI_BIN=str(tmp_path / "missing"), SIGNAL_REST_API_TOKENS=TOKEN).test_client()
    response = client.get("/v1/health?deep=true")
    assert response.status_code == 503
    assert response.get_json()["checks"]["signal_cli"]["ok"] is False
    assert client.get("/v1/about").status_code == 401


# --- account-limited tokens -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "command"),
    [
        ("GET", f"/v1/groups/{ACCOUNT}", None, 200, "listGroups"),
        ("GET", f"/v1/groups/%2B{ACCOUNT[1:]}", None, 200, "listGroups"),
        ("GET", f"/v1/identities/{ACCOUNT}", None, 200, "listIdentities"),
        ("POST", "/v2/send", SEND, 201, "send"),
        ("POST", "/v2/send", {**SEND, "number": ACCOUNT[1:]}, 201, "send"),
        ("POST", f"/v1/send/{THIRD}", {"number": ACCOUNT, "message": "hi"}, 201, "send"),
        ("GET", f"/v1/search?number={ACCOUNT[1:]}&numbers={THIRD}", None, 200, "getUserStatus"),
        ("GET", f"/v1/search/{ACCOUNT}?numbers={THIRD}", None, 200, "getUserStatus"),
    ],
)
def test_limited_token_on_its_own_account(token_client, fake, method, path, body, status, command):
    response = call(token_client, method, path, body, bearer(LIMITED))
    assert response.status_code == status, response.get_data(as_text=True)
    run = last_run(fake)
    assert run["command"] == command
    assert run["account"] == ACCOUNT


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/groups/{OTHER}", None),
        ("GET", f"/v1/groups/%2B{OTHER[1:]}", None),
        ("GET", f"/v1/receive/{OTHER}?timeout=0", None),
        ("POST", f"/v1/configuration/{OTHER}/settings", {"trust_mode": "always"}),
        ("POST", "/v2/send", {**SEND, "number": OTHER}),
        ("POST", "/v2/send", {**SEND, "number": OTHER[1:]}),
        ("POST", "/v1/send", {"number": OTHER, "recipients": [THIRD], "message": "hi"}),
        ("POST", f"/v1/send/{THIRD}", {"number": OTHER, "message": "hi"}),
        ("GET", f"/v1/search?number={OTHER}&numbers={THIRD}", None),
        ("GET", f"/v1/search?number={OTHER[1:]}&numbers={THIRD}", None),
        ("GET", f"/v1/search/{OTHER}?numbers={THIRD}", None),
    ],
)
def test_limited_token_on_another_account_is_403(token_client, fake, method, path, body):
    response = call(token_client, method, path, body, basic(LIMITED))
    assert_error(response, 403, OTHER)
    assert fake.log() == []
    assert fake.sent_messages() == []
    # the full token may use that account
    assert call(token_client, method, path, body, bearer(TOKEN)).status_code < 300


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # the account in the query is the token's, the one the view uses (the body's) is not
        ("POST", f"/v2/send?number={ACCOUNT[1:]}", {**SEND, "number": OTHER}),
        ("POST", f"/v1/send?number={ACCOUNT[1:]}", {"number": OTHER, "recipients": [THIRD], "message": "hi"}),
    ],
)
def test_limited_token_cannot_use_another_account_by_naming_its_own_in_the_query(
    token_client, fake, method, path, body
):
    response = call(token_client, method, path, body, bearer(LIMITED))
    assert response.status_code == 403, (response.status_code, fake.sent_messages())
    assert fake.sent_messages(account=OTHER) == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/send", {"recipients": [THIRD], "message": "hi"}),
        (f"/v1/send/{THIRD}", {"message": "hi"}),
        ("/v1/send", {"recipients": [THIRD], "message": "hi"}),
    ],
)
def test_limited_token_and_the_default_account(make_app, fake, path, body):
    fake.add_account(OTHER)
    tokens = f"{LIMITED}@{ACCOUNT}"
    other_default = make_app(SIGNAL_REST_API_TOKENS=tokens, SIGNAL_REST_DEFAULT_ACCOUNT=OTHER).test_client()
    assert_error(other_default.post(path, json=body, headers=bearer(LIMITED)), 403, OTHER)
    assert fake.sent_messages() == []

    own_default = make_app(SIGNAL_REST_API_TOKENS=tokens, SIGNAL_REST_DEFAULT_ACCOUNT=ACCOUNT).test_client()
    assert own_default.post(path, json=body, headers=bearer(LIMITED)).status_code == 201
    assert [sent["account"] for sent in fake.sent_messages()] == [ACCOUNT]

    no_default = make_app(SIGNAL_REST_API_TOKENS=tokens).test_client()
    assert_error(no_default.post(path, json=body, headers=bearer(LIMITED)), 403, "names none")


def test_token_limited_to_several_accounts(make_app, fake):
    fake.add_account(OTHER)
    fake.add_account(THIRD)
    client = make_app(SIGNAL_REST_API_TOKENS=f"{LIMITED}@{ACCOUNT},{OTHER[1:]}").test_client()
    assert client.get(f"/v1/groups/{ACCOUNT}", headers=bearer(LIMITED)).status_code == 200
    assert client.get(f"/v1/groups/{OTHER}", headers=bearer(LIMITED)).status_code == 200
    assert_error(client.get(f"/v1/groups/{THIRD}", headers=bearer(LIMITED)), 403, THIRD)
    assert [run["account"] for run in fake.log()] == [ACCOUNT, OTHER]


@pytest.mark.parametrize(
    "path", ["/v1/accounts", "/v1/attachments", f"/v1/search?numbers={THIRD}", "/v1/qrcodelink/raw"]
)
def test_limited_token_on_an_accountless_endpoint_is_403(token_client, fake, path):
    assert_error(token_client.get(path, headers=bearer(LIMITED)), 403, "limited to some accounts")
    assert fake.log() == []


@pytest.mark.parametrize(
    "path", ["/v1/about", "/v1/configuration", "/docs/openapi.json", "/docs/", "/metrics", "/v1/health"]
)
def test_limited_token_on_accountless_reads(token_client, path):
    assert token_client.get(path, headers=bearer(LIMITED)).status_code in (200, 204)


def test_limited_token_cannot_change_the_log_level(token_client):
    assert_error(
        token_client.post("/v1/configuration", json={"logging": {"level": "debug"}}, headers=bearer(LIMITED)), 403
    )


# --- read-only tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/about",
        "/v1/accounts",
        f"/v1/groups/{ACCOUNT}",
        f"/v1/identities/{ACCOUNT}",
        f"/v1/configuration/{ACCOUNT}/settings",
        f"/v1/search?numbers={THIRD}&number={ACCOUNT}",
        "/metrics",
    ],
)
def test_read_only_token_may_read(token_client, path):
    response = token_client.get(path, headers=bearer(READ_ONLY))
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v2/send", SEND),
        ("POST", f"/v1/send/{THIRD}", {"number": ACCOUNT, "message": "hi"}),
        ("POST", "/v1/configuration", {"logging": {"level": "debug"}}),
        ("POST", f"/v1/configuration/{ACCOUNT}/settings", {"trust_mode": "always"}),
        ("POST", f"/v1/groups/{ACCOUNT}", {"name": "New", "members": [OTHER]}),
        ("PUT", f"/v1/profiles/{ACCOUNT}", {"name": "Renamed"}),
        ("PUT", f"/v1/typing-indicator/{ACCOUNT}", {"recipient": OTHER}),
        ("DELETE", f"/v1/accounts/{ACCOUNT}/pin", None),
        ("DELETE", f"/v1/groups/{ACCOUNT}/{b64(bytes(32))}", None),
        ("GET", f"/v1/receive/{ACCOUNT}?timeout=0", None),
        ("HEAD", f"/v1/receive/{ACCOUNT}?timeout=0", None),
        ("GET", "/v1/qrcodelink?device_name=pc", None),
        ("GET", "/v1/qrcodelink/raw?device_name=pc", None),
    ],
)
def test_read_only_token_is_refused_what_changes_something(token_client, fake, method, path, body):
    fake.queue_messages(ACCOUNT, [{"envelope": {"source": OTHER, "timestamp": 1}, "account": ACCOUNT}])
    response = call(token_client, method, path, body, basic(READ_ONLY))
    assert response.status_code == 403
    if method != "HEAD":
        assert_error(response, 403, "read-only")
    assert fake.log() == []
    assert fake.sent_messages() == []
    assert len(fake.inbox(ACCOUNT)) == 1
    assert token_client.get("/v1/configuration", headers=bearer(TOKEN)).get_json() == {"logging": {"level": "INFO"}}


def test_read_only_token_limited_to_an_account(make_app, fake):
    fake.add_account(OTHER)
    client = make_app(SIGNAL_REST_API_TOKENS=f"ro:{READ_ONLY}@{ACCOUNT}").test_client()
    assert client.get(f"/v1/groups/{ACCOUNT}", headers=bearer(READ_ONLY)).status_code == 200
    assert_error(client.get(f"/v1/groups/{OTHER}", headers=bearer(READ_ONLY)), 403, OTHER)
    assert_error(client.post("/v2/send", json=SEND, headers=bearer(READ_ONLY)), 403, "read-only")
    assert [run["account"] for run in fake.log()] == [ACCOUNT]


# --- tokens from a file ---------------------------------------------------------------------------

TOKENS_FILE = f"""\
# API tokens of signal_rest
{TOKEN}   # the home automation
   # indented comment: {SECOND}
ro:{READ_ONLY}  {LIMITED}@{ACCOUNT}

"""


@pytest.mark.parametrize("from_environment", [False, True])
def test_tokens_from_a_file_with_comments(make_app, fake, tmp_path, monkeypatch, from_environment):
    fake.add_account(OTHER)
    path = tmp_path / "tokens"
    path.write_text(TOKENS_FILE)
    if from_environment:
        monkeypatch.setenv("SIGNAL_REST_API_TOKENS_FILE", str(path))
        client = make_app(SIGNAL_REST_API_TOKENS_FILE=None).test_client()
    else:
        client = make_app(SIGNAL_REST_API_TOKENS_FILE=str(path)).test_client()
    assert client.get(f"/v1/groups/{OTHER}", headers=bearer(TOKEN)).status_code == 200
    # commented out
    assert_error(client.get(f"/v1/groups/{OTHER}", headers=bearer(SECOND)), 401)
    assert_error(client.get(f"/v1/groups/{OTHER}", headers=basic("the")), 401)
    assert client.get(f"/v1/groups/{OTHER}", headers=bearer(READ_ONLY)).status_code == 200
    assert_error(client.post("/v2/send", json=SEND, headers=bearer(READ_ONLY)), 403, "read-only")
    assert_error(client.get(f"/v1/groups/{OTHER}", headers=bearer(LIMITED)), 403, OTHER)
    assert client.get(f"/v1/groups/{ACCOUNT}", headers=bearer(LIMITED)).status_code == 200
    assert_error(client.get("/v1/about"), 401)


def test_tokens_from_the_environment_and_a_file_both_count(make_app, tmp_path, monkeypatch):
    path = tmp_path / "tokens"
    path.write_text(f"{SECOND}\n")
    monkeypatch.setenv("SIGNAL_REST_API_TOKENS", TOKEN)
    monkeypatch.setenv("SIGNAL_REST_API_TOKENS_FILE", str(path))
    client = make_app(SIGNAL_REST_API_TOKENS=None, SIGNAL_REST_API_TOKENS_FILE=None).test_client()
    assert client.get("/v1/about", headers=bearer(TOKEN)).status_code == 200
    assert client.get("/v1/about", headers=bearer(SECOND)).status_code == 200
    assert_error(client.get("/v1/about", headers=bearer(LIMITED)), 401)


# --- malformed settings ---------------------------------------------------------------------------

MALFORMED = [
    "short",
    "ro:short",
    "x" * 513,
    "has-a-bang!-in-it-0123",
    "ümlaut-token-0123456789",
    f"{TOKEN}@",
    f"{TOKEN}@not-a-number",
    f"{TOKEN}@{ACCOUNT},",
    f"{TOKEN}@{ACCOUNT},12",
    f"{TOKEN} ro:",
    f"ro:ro:{TOKEN}",
]


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_tokens_setting(make_app, value):
    with pytest.raises(ValueError, match="^SIGNAL_REST_API_TOKENS:") as raised:
        make_app(SIGNAL_REST_API_TOKENS=value)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_tokens_file(make_app, tmp_path, value):
    path = tmp_path / "tokens"
    path.write_text(f"# tokens\n{SECOND}\n{value}\n")
    with pytest.raises(ValueError, match="^SIGNAL_REST_API_TOKENS_FILE") as raised:
        make_app(SIGNAL_REST_API_TOKENS_FILE=str(path))
    assert TOKEN not in str(raised.value)
    assert SECOND not in str(raised.value)


def test_malformed_tokens_setting_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("SIGNAL_REST_API_TOKENS", "too-short")
    with pytest.raises(ValueError, match="SIGNAL_REST_API_TOKENS"):
        make_app(SIGNAL_REST_API_TOKENS=None)


def test_missing_tokens_file(make_app, tmp_path):
    # a tokens file that cannot be read is a malformed setting too: the error must say which one
    with pytest.raises(ValueError, match="SIGNAL_REST_API_TOKENS_FILE"):
        make_app(SIGNAL_REST_API_TOKENS_FILE=str(tmp_path / "no-such-file"))


# --- tokens are never shown -----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [bearer(TOKEN), basic(TOKEN, user="someone")], ids=["bearer", "basic"])
def test_token_never_appears_in_logs_or_error_bodies(token_client, fake, caplog, headers):
    fake.add_fault(command="listGroups", exit=2)
    fake.add_fault(command="send", exit=3, stderr="Error while checking account: Closed unexpectedly")
    encoded = headers["Authorization"].split(" ", 1)[1]
    bodies = []
    with caplog.at_level(logging.DEBUG, logger="signal_rest"):
        response = token_client.get(f"/v1/groups/{ACCOUNT}", headers=headers)
        assert_error(response, 502)
        bodies.append(response.get_data(as_text=True))
        response = token_client.post("/v2/send", json=SEND, headers=headers)
        assert_error(response, 502)
        bodies.append(response.get_data(as_text=True))
        for wrong in (bearer(TOKEN + "x"), basic(TOKEN[:-1])):
            response = token_client.get(f"/v1/groups/{ACCOUNT}", headers=wrong)
            assert_error(response, 401)
            bodies.append(response.get_data(as_text=True))
        response = token_client.get(f"/v1/groups/{OTHER}", headers=bearer(LIMITED))
        assert_error(response, 403)
        bodies.append(response.get_data(as_text=True))
        response = token_client.post("/v2/send", json=SEND, headers=bearer(READ_ONLY))
        assert_error(response, 403)
        bodies.append(response.get_data(as_text=True))
    # the failing runs were logged (at DEBUG and WARNING), so the check below looked at real output
    assert any(
        record.levelno == logging.DEBUG and "signal-cli exited" in record.getMessage() for record in caplog.records
    )
    assert any(record.levelno == logging.WARNING for record in caplog.records)
    for secret in (TOKEN, TOKEN[:-1], LIMITED, READ_ONLY, encoded):
        assert secret not in caplog.text
        for body in bodies:
            assert secret not in body
    for run in fake.log():
        assert not any(TOKEN in word for word in run["argv"])


# --- constant-time comparison ---------------------------------------------------------------------


@pytest.fixture
def compare_calls(monkeypatch):
    """Count hmac.compare_digest calls against configured token secrets (the real one still runs)."""
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    return calls


TOKENS = [auth.Token(TOKEN), auth.Token(SECOND), auth.Token(LIMITED, frozenset({ACCOUNT})), auth.Token(READ_ONLY)]


@pytest.mark.parametrize(
    ("presented", "expected"),
    [(TOKEN, TOKENS[0]), (LIMITED, TOKENS[2]), (READ_ONLY, TOKENS[3]), ("wrong-token-0123456789", None), (None, None)],
)
def test_find_token_compares_against_every_token(compare_calls, presented, expected):
    assert auth.find_token(TOKENS, presented) is expected
    assert sorted(b for _, b in compare_calls) == sorted(token.secret.encode() for token in TOKENS)
    assert all(a == (presented or "").encode() for a, _ in compare_calls)


@pytest.mark.parametrize("presented", [TOKEN, READ_ONLY, "wrong-token-0123456789", None])
def test_each_request_compares_against_every_token(token_client, compare_calls, presented):
    headers = bearer(presented) if presented else {}
    token_client.get("/v1/about", headers=headers)
    secrets = {TOKEN, SECOND, LIMITED, READ_ONLY}
    ours = [b.decode() for _, b in compare_calls if isinstance(b, bytes) and b.decode() in secrets]
    assert sorted(ours) == sorted(secrets)
