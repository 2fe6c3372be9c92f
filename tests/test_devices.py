"""Devices: registering a number (captcha, voice, rate limit) and verifying it (code, PIN)."""

import pytest
from helpers import ACCOUNT, assert_error, last_run, words

NEW = "+4915122222222"
CAPTCHA = "signalcaptcha://signal-hcaptcha.5fad97ac.registration.P1_eyJ0eXAi-_x"


# --- register -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_args", "expected_words"),
    [
        ({}, ["register"]),
        ({"json": {}}, ["register"]),
        ({"json": {"use_voice": None, "captcha": ""}}, ["register"]),
        ({"json": {"use_voice": False}}, ["register"]),
        ({"data": f'{{"captcha": "{CAPTCHA}"}}', "content_type": "text/plain"}, ["register", f"--captcha={CAPTCHA}"]),
        # a captcha that looks like an option stays the value of --captcha
        ({"json": {"captcha": "--reregister"}}, ["register", "--captcha=--reregister"]),
    ],
)
def test_register(client, fake, request_args, expected_words):
    response = client.post(f"/v1/register/{NEW}", **request_args)
    assert response.status_code == 201
    run = last_run(fake)
    assert run["account"] == NEW
    assert words(run) == expected_words
    assert "reregister" not in run["options"]
    assert fake.account(NEW)["session"] is True


def test_register_by_voice_call(client, fake):
    # Signal sends a voice code only after an SMS was asked for
    fake.add_account(NEW, registered=False, session=True)
    response = client.post(f"/v1/register/%2B{NEW[1:]}", json={"use_voice": True})
    assert response.status_code == 201
    assert words(last_run(fake)) == ["register", "--voice"]


def test_voice_before_sms(client, fake):
    assert_error(client.post(f"/v1/register/{NEW}", json={"use_voice": True}), 400, "SMS verification")


def test_captcha_given(client, fake):
    fake.add_account(NEW, registered=False, captcha_required=CAPTCHA)
    assert client.post(f"/v1/register/{NEW}", json={"captcha": CAPTCHA}).status_code == 201
    assert words(last_run(fake)) == ["register", f"--captcha={CAPTCHA}"]


def test_wrong_captcha_is_not_shown_back(client, fake):
    fake.add_account(NEW, registered=False, captcha_required=CAPTCHA)
    wrong = "signalcaptcha://wrong-token"
    body = assert_error(client.post(f"/v1/register/{NEW}", json={"captcha": wrong}), 400, "signalcaptchas.org")
    assert "wrong-token" not in str(body)


def test_register_rate_limited(client, fake):
    fake.add_account(NEW, registered=False, rate_limited=True)
    body = assert_error(client.post(f"/v1/register/{NEW}"), 429, "Rate limit")
    assert body["challenge_tokens"] == []


def test_register_a_registered_number(client):
    # signal-cli: exit 3 "Account is already registered (IOException)"
    assert_error(client.post(f"/v1/register/{ACCOUNT}"), 502, "already registered")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"use_voice": "maybe"}, "use_voice"),
        ({"captcha": 5}, "captcha"),
        ({"captcha": "has spaces in it"}, "captcha"),
        ({"captcha": "x\ny"}, "captcha"),
        ([], "body"),
    ],
)
def test_register_bad_input(validation_client, body, field):
    assert_error(validation_client.post(f"/v1/register/{NEW}", json=body), 400, field=field)


@pytest.mark.parametrize("number", ["+49abc", "-v", "+0123456789"])
def test_register_bad_number(validation_client, number):
    assert_error(validation_client.post(f"/v1/register/{number}"), 400, number)


# --- verify -------------------------------------------------------------------------------------


@pytest.fixture
def session(fake):
    """NEW asked for a code (register ran)."""
    fake.add_account(NEW, registered=False, session=True)


@pytest.mark.parametrize("token", ["123-456", "123456"])
def test_verify(client, fake, session, token):
    response = client.post(f"/v1/register/{NEW}/verify/{token}")
    assert response.status_code == 201
    run = last_run(fake)
    assert run["account"] == NEW
    assert words(run) == ["verify", "--", "123456"]
    assert fake.account(NEW)["registered"] is True


def test_verify_with_pin(client, fake, session):
    fake.add_account(NEW, registered=False, pin_required="1234")
    response = client.post(f"/v1/register/{NEW}/verify/123456", json={"pin": "1234"})
    assert response.status_code == 201
    assert words(last_run(fake)) == ["verify", "--pin=1234", "--", "123456"]


def test_verify_without_the_pin(client, fake, session):
    fake.add_account(NEW, registered=False, pin_required=True)
    assert_error(client.post(f"/v1/register/{NEW}/verify/123456"), 400, "pin")
    assert fake.account(NEW)["registered"] is False


def test_verify_with_a_wrong_pin(client, fake, session):
    fake.add_account(NEW, registered=False, pin_required="1234")
    body = assert_error(client.post(f"/v1/register/{NEW}/verify/123456", json={"pin": "9999"}), 400, "Invalid pin")
    assert "9999" not in str(body)


def test_code_and_pin_never_appear_in_errors(client, fake, session):
    fake.add_fault(command="verify", exit=1, stderr="Rejected code 654321 with pin 2468 for +4915122222222")
    body = assert_error(client.post(f"/v1/register/{NEW}/verify/654-321", json={"pin": "2468"}), 400, "Rejected")
    assert "654321" not in str(body) and "2468" not in str(body)


def test_verify_without_register(client, fake):
    # signal-cli 0.13.19 dies with a NullPointerException (exit 2): the client gets one short sentence
    fake.add_account(NEW, registered=False)
    body = assert_error(client.post(f"/v1/register/{NEW}/verify/123456"), 502)
    assert "\tat " not in body["message"] and "\n" not in body["message"]


@pytest.mark.parametrize("token", ["12345", "1234567", "abcdef", "12-3456", "-123456", "123%20456"])
def test_verify_bad_code(validation_client, token):
    assert_error(validation_client.post(f"/v1/register/{NEW}/verify/{token}"), 400, "six digits")


@pytest.mark.parametrize("pin", ["12", "12 34", "-1234", "--pin", 1234])
def test_verify_bad_pin(validation_client, pin):
    assert_error(validation_client.post(f"/v1/register/{NEW}/verify/123456", json={"pin": pin}), 400, field="pin")
