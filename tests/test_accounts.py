"""Accounts: the registered accounts, their settings, username, PIN and rate-limit challenges."""

import pytest
from helpers import ACCOUNT, OTHER, assert_error, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

NEW = "+4915122222222"
SECOND = "+4915111111111"
CAPTCHA = "signalcaptcha://signal-hcaptcha.5fad97ac.challenge.P1_eyJ0eXAi-_x"


def linked_device(fake):
    """Make ACCOUNT a linked device (device 2), where PIN commands are refused."""
    fake.add_account(ACCOUNT, device_id=2)


# --- GET /v1/accounts ------------------------------------------------------------------------------------


@pytest.mark.service_modes("normal")
def test_list_accounts(client, fake):
    fake.add_account(SECOND)
    fake.add_account(NEW, registered=False)
    response = client.get("/v1/accounts")
    assert response.status_code == 200
    # only registered accounts
    assert response.get_json() == [SECOND, ACCOUNT]
    run = last_run(fake)
    assert run["command"] == "listAccounts"
    # every account of the config dir: no -a
    assert "-a" not in run["argv"]
    assert run["argv"][run["argv"].index("-o") :] == ["-o", "json", "listAccounts"]


def test_list_accounts_when_there_are_none(client, fake):
    fake.save({})
    assert client.get("/v1/accounts").get_json() == []


def test_list_accounts_with_a_trailing_slash(client, fake):
    assert client.get("/v1/accounts/").get_json() == [ACCOUNT]


@pytest.mark.service_modes("normal")
def test_list_accounts_signal_cli_missing(make_app, tmp_path):
    client = make_app(SIGNAL_CLI_BIN=str(tmp_path / "no-such-signal-cli")).test_client()
    assert_error(client.get("/v1/accounts"), 503, "SIGNAL_CLI_BIN")


@pytest.mark.service_modes("normal")
def test_list_accounts_garbage_output(client, fake):
    fake.add_fault(command="listAccounts", garbage=True)
    body = assert_error(client.get("/v1/accounts"), 502)
    assert "<html>" not in body["message"]


# --- rate-limit challenge ---------------------------------------------------------------------------------


def challenge(client, number=ACCOUNT, **body):
    return client.post(
        f"/v1/accounts/{number}/rate-limit-challenge", json={"challenge_token": "token-1", "captcha": CAPTCHA, **body}
    )


def test_rate_limit_challenge(client, fake):
    fake.add_user(OTHER, rate_limited="token-1")
    response = challenge(client)
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["submitRateLimitChallenge", "--challenge=token-1", f"--captcha={CAPTCHA}"]
    assert fake.load()["users"][OTHER]["rate_limited"] is False


def test_rate_limit_challenge_values_that_look_like_options(client, fake):
    fake.add_user(OTHER, rate_limited="-t")
    assert challenge(client, challenge_token="-t", captcha="--captcha").status_code == 204
    assert last_run(fake)["options"]["challenge"] == "-t"
    assert last_run(fake)["options"]["captcha"] == "--captcha"


def test_rejected_challenge_never_shows_the_token_or_captcha(client, fake):
    fake.add_fault(
        command="submitRateLimitChallenge", exit=1, stderr=f"Captcha {CAPTCHA} for token-1 rejected, it may be outdated"
    )
    body = assert_error(challenge(client), 400, "rejected")
    assert CAPTCHA not in str(body) and "token-1" not in str(body)


def test_unknown_challenge_is_400(client, fake):
    # signal-cli's "Captcha rejected" (exit 6 from 0.14.3, exit 1 before): what to do about it
    assert_error(challenge(client), 400, "Signal rejected the captcha", "Solve a new one", "rate-limit-challenge")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"challenge_token": None}, "challenge_token"),
        ({"challenge_token": "has space"}, "challenge_token"),
        ({"challenge_token": "token\n"}, "challenge_token"),
        ({"challenge_token": "a\0"}, "challenge_token"),
        ({"challenge_token": 5}, "challenge_token"),
        ({"challenge_token": "x" * 8193}, "challenge_token"),
        ({"captcha": None}, "captcha"),
        ({"captcha": "a\0b"}, "captcha"),
        ({"captcha": ["signalcaptcha://x"]}, "captcha"),
        ({"captcha": "x" * (16 * 1024 + 1)}, "captcha"),
    ],
)
def test_rate_limit_challenge_bad_input(validation_client, fields, field):
    body = {key: value for key, value in {"challenge_token": "token-1", "captcha": CAPTCHA, **fields}.items()}
    response = validation_client.post(
        f"/v1/accounts/{ACCOUNT}/rate-limit-challenge", json={k: v for k, v in body.items() if v is not None}
    )
    assert_error(response, 400, field=field)


# --- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected_words", "attributes"),
    [
        (
            {"discoverable_by_number": False, "share_number": True},
            ["updateAccount", "--discoverable-by-number=false", "--number-sharing=true"],
            {"discoverable-by-number": False, "number-sharing": True},
        ),
        (
            {"discoverable_by_number": "true"},
            ["updateAccount", "--discoverable-by-number=true"],
            {"discoverable-by-number": True},
        ),
        ({"share_number": False}, ["updateAccount", "--number-sharing=false"], {"number-sharing": False}),
    ],
)
def test_settings(client, fake, body, expected_words, attributes):
    response = client.put(f"/v1/accounts/{ACCOUNT}/settings", json=body)
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == expected_words
    assert fake.account(ACCOUNT)["account_attributes"] == attributes


@pytest.mark.parametrize("request_args", [{"json": {}}, {"json": {"share_number": None}}, {"data": "{}"}])
def test_no_settings_change_nothing(client, fake, request_args):
    assert client.put(f"/v1/accounts/{ACCOUNT}/settings", **request_args).status_code == 204
    assert fake.log() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"discoverable_by_number": "perhaps"}, "discoverable_by_number"),
        ({"discoverable_by_number": [True]}, "discoverable_by_number"),
        ({"share_number": "--number-sharing=true"}, "share_number"),
        ({"share_number": 7}, "share_number"),
        ([], "body"),
    ],
)
def test_settings_bad_input(validation_client, body, field):
    assert_error(validation_client.put(f"/v1/accounts/{ACCOUNT}/settings", json=body), 400, field=field)


def test_settings_of_an_unregistered_account(client, fake):
    fake.add_account(NEW, registered=False)
    assert_error(client.put(f"/v1/accounts/{NEW}/settings", json={"share_number": True}), 400, "not registered")


# --- username ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice", "alice.42", "_bob_99.123456789"])
def test_set_username(client, fake, username):
    response = client.post(f"/v1/accounts/{ACCOUNT}/username", json={"username": username})
    assert response.status_code == 201
    account = fake.account(ACCOUNT)
    assert response.get_json() == {"username": account["username"], "username_link": account["username_link"]}
    assert account["username"].startswith(username.split(".")[0] + ".")
    assert account["username_link"].startswith("https://signal.me/#eu/")
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["updateAccount", f"--username={username}"]


@pytest.mark.service_modes("normal")
def test_set_username_signal_cli_says_nothing(client, fake):
    fake.add_fault(command="updateAccount", exit=0, stdout="")
    assert_error(client.post(f"/v1/accounts/{ACCOUNT}/username", json={"username": "alice"}), 502)


def test_username_refused_by_signal(client, fake):
    fake.add_fault(command="updateAccount", exit=1, stderr="Invalid username: Username is not available")
    assert_error(client.post(f"/v1/accounts/{ACCOUNT}/username", json={"username": "alice"}), 400, "not available")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": None},
        {"username": "ab"},
        {"username": "1alice"},
        {"username": "-alice"},
        {"username": "--delete-username"},
        {"username": "alice.1"},
        {"username": "alice.x"},
        {"username": "al ice"},
        {"username": "a" * 33},
        {"username": "alice\n"},
        {"username": 42},
    ],
)
def test_set_username_bad_input(validation_client, body):
    assert_error(validation_client.post(f"/v1/accounts/{ACCOUNT}/username", json=body), 400, field="username")


def test_delete_username(client, fake):
    fake.add_account(ACCOUNT, username="alice.42", username_link="https://signal.me/#eu/x")
    response = client.delete(f"/v1/accounts/{ACCOUNT}/username")
    assert response.status_code == 204
    assert response.data == b""
    assert words(last_run(fake)) == ["updateAccount", "--delete-username"]
    assert fake.account(ACCOUNT)["username"] is None


@pytest.mark.parametrize("method", ["post", "delete"])
def test_username_bad_number(validation_client, method):
    assert_error(getattr(validation_client, method)("/v1/accounts/-a/username", json={"username": "alice"}), 400, "-a")


# --- PIN ------------------------------------------------------------------------------------------------------------


def test_set_pin(client, fake):
    response = client.post(f"/v1/accounts/{ACCOUNT}/pin", json={"pin": "123456"})
    assert response.status_code == 201
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["setPin", "--", "123456"]
    assert fake.account(ACCOUNT)["pin"] == "123456"


def test_set_pin_on_a_linked_device(client, fake):
    linked_device(fake)
    body = assert_error(client.post(f"/v1/accounts/{ACCOUNT}/pin", json={"pin": "9876"}), 400, "linked devices")
    assert "9876" not in str(body)


def test_pin_never_appears_in_errors(client, fake):
    fake.add_fault(command="setPin", exit=3, stderr="Failed to set pin 2468: Connection closed (IOException)")
    body = assert_error(client.post(f"/v1/accounts/{ACCOUNT}/pin", json={"pin": "2468"}), 502)
    assert "2468" not in str(body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"pin": None},
        {"pin": "123"},
        {"pin": "-1234"},
        {"pin": "12 34"},
        {"pin": "1234\n"},
        {"pin": 1234},
        {"pin": "1" * 65},
    ],
)
def test_set_pin_bad_input(validation_client, body):
    assert_error(validation_client.post(f"/v1/accounts/{ACCOUNT}/pin", json=body), 400, field="pin")


def test_a_refused_pin_is_never_shown(client, fake):
    # "$" in the PIN pattern lets a final newline through; the wrapper then refuses the value,
    # and that refusal must not quote the secret
    body = assert_error(client.post(f"/v1/accounts/{ACCOUNT}/pin", json={"pin": "8642\n"}), 400)
    assert "8642" not in str(body)


def test_remove_pin(client, fake):
    fake.add_account(ACCOUNT, pin="1234")
    response = client.delete(f"/v1/accounts/{ACCOUNT}/pin")
    assert response.status_code == 204
    assert response.data == b""
    assert words(last_run(fake)) == ["removePin"]
    assert fake.account(ACCOUNT)["pin"] is None


def test_remove_pin_on_a_linked_device(client, fake):
    linked_device(fake)
    assert_error(client.delete(f"/v1/accounts/{ACCOUNT}/pin"), 400, "linked devices")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "rate-limit-challenge"),
        ("put", "settings"),
        ("post", "username"),
        ("delete", "username"),
        ("post", "pin"),
        ("delete", "pin"),
    ],
)
@pytest.mark.parametrize("number", ["+49abc", "-a", "--config"])
def test_bad_number(validation_client, method, path, number):
    body = {"challenge_token": "t", "captcha": CAPTCHA, "share_number": True, "username": "alice", "pin": "1234"}
    assert_error(getattr(validation_client, method)(f"/v1/accounts/{number}/{path}", json=body), 400, number)


@pytest.mark.parametrize(("method", "path"), [("delete", "username"), ("delete", "pin"), ("put", "settings")])
def test_unregistered_account(client, fake, method, path):
    fake.add_account(NEW, registered=False)
    assert_error(
        getattr(client, method)(f"/v1/accounts/{NEW}/{path}", json={"share_number": True}), 400, "not registered"
    )
