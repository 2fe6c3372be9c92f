"""The web console at /console, through Flask's test client: no page without a signed-in token
(every console route walked), the session cookie's flags, CSRF on every form, read-only and
account-limited tokens, an open console that says so, and each page's action going through the
wrapper (link, register with a captcha, rate-limit challenge, test message)."""

import re
import time

import pytest
from helpers import ACCOUNT, OTHER, THIRD, last_run, words
from processes import child_pids

from signal_rest.console import access

# who may see what does not depend on signal-cli's release: the newest fake only
pytestmark = pytest.mark.fake_signal_cli("0.14.6")

TOKEN = "console-Token_0123456789"
READ_ONLY = "console-read-only-012345"
LIMITED = "console-limited-01234567"
WRONG = "console-wrong-0123456789"
NEW_NUMBER = "+4915100000777"
LINKED = "+4915100000555"
CAPTCHA = "signalcaptcha://signal-hcaptcha.5fad97ac-7d06-4e44-b18a-b950b20148ff.registration.P1_eyJ0eXAiOiJKV1Qi"


@pytest.fixture
def console_app(make_app, fake):
    """An app with a full token, a read-only one and one limited to ACCOUNT."""
    fake.add_account(OTHER)
    return make_app(SIGNAL_REST_API_TOKENS=f"{TOKEN} ro:{READ_ONLY} {LIMITED}@{ACCOUNT}", SIGNAL_REST_LINK_TIMEOUT=20)


def csrf(page):
    """The CSRF token in a page's first form."""
    found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data)
    assert found, page.data[:500]
    return found.group(1).decode()


def signed_in(app, token):
    """A test client of ``app`` signed in with ``token``."""
    client = app.test_client()
    page = client.get("/console/sign-in")
    response = client.post("/console/sign-in", data={"token": token, "csrf_token": csrf(page)})
    assert response.status_code == 302, response.data[:500]
    return client


def console_routes(app):
    """(endpoint, path, method) of every console route but the sign-in page and the assets."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console") or rule.endpoint in access.OPEN_ENDPOINTS:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "x", rule.rule)
        routes += [(rule.endpoint, path, method) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def assert_refused(response):
    """A refusal: a redirect to the sign-in page, or a 401 page; never a console page's content."""
    if response.status_code == 302:
        assert "/console/sign-in" in response.headers["Location"]
    else:
        assert response.status_code == 401, response.data[:300]
        assert b"Sign in with an API token first." in response.data
    assert b"signal-cli-heading" not in response.data and b"settings" not in response.data


def test_the_walk_covers_every_console_page(console_app):
    endpoints = {endpoint for endpoint, _, _ in console_routes(console_app)}
    assert endpoints == {
        "console.accounts",
        "console.sign_out",
        "console.inbox_page",
        "console.about",
        "console_enrol.link",
        "console_enrol.link_wait",
        "console_enrol.link_status",
        "console_enrol.register",
        "console_enrol.verify",
        "console_enrol.rate_limit_challenge",
    }


def test_every_console_route_is_refused_without_a_token(console_app, fake):
    client = console_app.test_client()
    for _, path, method in console_routes(console_app):
        assert_refused(client.open(path, method=method, data={"number": ACCOUNT}))
    assert fake.log() == []


def test_every_console_route_is_refused_with_a_wrong_token(console_app, fake):
    client = console_app.test_client()
    page = client.get("/console/sign-in")
    refused = client.post("/console/sign-in", data={"token": WRONG, "csrf_token": csrf(page)})
    assert refused.status_code == 401
    assert b"That is not one of this service&#39;s API tokens." in refused.data
    for _, path, method in console_routes(console_app):
        assert_refused(client.open(path, method=method, data={"csrf_token": csrf(page)}))
        # an API token in the Authorization header is the API's way in, not the console's
        assert_refused(client.open(path, method=method, headers={"Authorization": f"Bearer {TOKEN}"}))
    assert fake.log() == []


def test_a_session_of_a_token_no_longer_configured_is_refused(console_app, make_app, fake):
    client = signed_in(console_app, TOKEN)
    cookie = client.get_cookie("signal_rest_console", path="/console")
    other = make_app(SIGNAL_REST_API_TOKENS=WRONG).test_client()
    other.set_cookie("signal_rest_console", cookie.value, path="/console")
    for _, path, method in console_routes(console_app):
        assert_refused(other.open(path, method=method))


def test_signed_in_every_page_shows(console_app):
    client = signed_in(console_app, TOKEN)
    for path, marker in [
        ("/console/", b"signal-cli-version"),
        ("/console", b"signal-cli-version"),
        ("/console/link", b"link-form"),
        ("/console/register", b"signalcaptchas.org/registration/generate.html"),
        ("/console/inbox", b"test-message-form"),
        ("/console/about", b"SIGNAL_REST_MODE"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert marker in response.data, path
        assert b"open-console" not in response.data
        assert b"Sign out" in response.data


def test_the_session_cookie_is_httponly_samesite_strict_and_secure_behind_https(make_app, fake):
    app = make_app(SIGNAL_REST_API_TOKENS=TOKEN, SIGNAL_REST_PROXY_COUNT=1)
    for headers, secure in [({}, False), ({"X-Forwarded-Proto": "https"}, True)]:
        client = app.test_client()
        page = client.get("/console/sign-in", headers=headers)
        response = client.post("/console/sign-in", data={"token": TOKEN, "csrf_token": csrf(page)}, headers=headers)
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("signal_rest_console=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
        assert ("Secure" in cookie) is secure
        assert TOKEN not in cookie


def test_the_api_sets_no_cookie(console_app):
    response = console_app.test_client().get("/v1/about", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_a_form_without_its_csrf_token_is_refused(console_app, fake):
    client = signed_in(console_app, TOKEN)
    for path, data in [
        ("/console/register", {"number": NEW_NUMBER}),
        ("/console/link", {"device_name": "laptop"}),
        ("/console/inbox", {"number": ACCOUNT, "recipient": THIRD, "message": "hi"}),
        ("/console/sign-out", {}),
    ]:
        for token in (None, "forged"):
            response = client.post(path, data=data if token is None else {**data, "csrf_token": token})
            assert response.status_code == 400, path
            assert b"The form has expired or was not sent from the console" in response.data
    assert fake.log() == []
    # the sign-in form too: without it no session is made
    fresh = console_app.test_client()
    assert fresh.post("/console/sign-in", data={"token": TOKEN}).status_code == 400
    assert_refused(fresh.get("/console/"))


def test_a_read_only_token_sees_but_cannot_submit(console_app, fake):
    client = signed_in(console_app, READ_ONLY)
    page = client.get("/console/register")
    assert page.status_code == 200 and b"read-only" in page.data
    token = csrf(page)
    for path, data in [
        ("/console/register", {"number": NEW_NUMBER}),
        ("/console/register/verify", {"number": NEW_NUMBER, "code": "123-456"}),
        ("/console/rate-limit-challenge", {"number": ACCOUNT, "challenge_token": "abc", "captcha": CAPTCHA}),
        ("/console/link", {"device_name": "laptop"}),
        ("/console/inbox", {"number": ACCOUNT, "recipient": THIRD, "message": "hi"}),
    ]:
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
        assert access.READ_ONLY.encode() in response.data
    # (the inbox page lists the accounts before it refuses to send)
    assert {run["command"] for run in fake.log()} <= {"listAccounts"}
    for path in ("/console/", "/console/inbox", "/console/about", "/console/link"):
        assert client.get(path).status_code == 200
    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 302
    assert_refused(client.get("/console/"))


def test_an_account_limited_token_sees_and_acts_on_its_accounts_only(console_app, fake):
    client = signed_in(console_app, LIMITED)
    accounts = client.get("/console/")
    assert ACCOUNT.encode() in accounts.data and OTHER.encode() not in accounts.data
    inbox = client.get("/console/inbox")
    assert ACCOUNT.encode() in inbox.data and OTHER.encode() not in inbox.data
    token = csrf(client.get("/console/register"))
    refused = client.post("/console/register", data={"number": OTHER, "csrf_token": token})
    assert refused.status_code == 403 and f"may not be used for account {OTHER}".encode() in refused.data
    assert client.post("/console/link", data={"device_name": "x", "csrf_token": token}).status_code == 403
    assert "register" not in [run["command"] for run in fake.log()]
    assert "link" not in [run["command"] for run in fake.log()]


def test_without_tokens_the_console_is_open_and_says_so_on_every_page(client):
    for path in ("/console/", "/console/link", "/console/register", "/console/inbox", "/console/about"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"This console is open: no API tokens are configured" in response.data
    assert client.get("/console/sign-in").status_code == 302


def test_the_accounts_page_lists_devices_and_warns_of_an_old_signal_cli(make_app, fake):
    client = make_app().test_client()
    page = client.get("/console/")
    assert ACCOUNT.encode() in page.data and b"Devices of" in page.data
    assert b"signal-cli-warning" not in page.data
    assert b'id="signal-cli-version">0.14.6<' in page.data


@pytest.mark.service_modes("normal", "json-rpc")
def test_the_accounts_page_lists_an_account_not_registered_with_what_to_do(client, fake):
    # signal-cli's listAccounts leaves it out; its data/accounts.json (which the fake keeps too) has it
    fake.add_account(NEW_NUMBER, registered=False)
    page = client.get("/console/")
    assert page.status_code == 200
    section = page.data.split(NEW_NUMBER.encode(), 1)[1].split(b"</section>", 1)[0]
    assert b"account-not-registered" in section and b"Not registered with Signal" in section
    assert b'href="/console/register"' in section and b'href="/console/link"' in section
    # the registered one beside it still shows its devices
    assert ACCOUNT.encode() in page.data and f"Devices of {ACCOUNT}".encode() in page.data


@pytest.mark.fake_signal_cli("0.13.19")
def test_the_accounts_page_warns_of_a_signal_cli_too_old(client):
    page = client.get("/console/")
    assert b"signal-cli-warning" in page.data
    assert b"cannot register or stay registered" in page.data


def wait_for_status(client, url, status, timeout=15):
    """Poll a link's status until it is ``status``; return the answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(url).get_json()
        if answer["status"] == status:
            return answer
        time.sleep(0.1)
    pytest.fail(f"the link is still {answer}")


def start_link(client, device_name="laptop"):
    """Submit the link form; return the waiting page's response and its status URL."""
    token = csrf(client.get("/console/link"))
    started = client.post("/console/link", data={"device_name": device_name, "csrf_token": token})
    assert started.status_code == 302, started.data[:500]
    page = client.get(started.headers["Location"])
    return page, started.headers["Location"] + "/status"


@pytest.mark.service_modes("normal", "json-rpc")
def test_linking_shows_the_qr_code_and_then_the_linked_number(client, fake):
    page, status_url = start_link(client)
    assert page.status_code == 200
    assert b'<img id="qr" class="qr" src="data:image/png;base64,' in page.data
    assert b"sgnl://linkdevice?uuid=" in page.data
    assert client.get(status_url).get_json() == {"status": "waiting", "number": None, "error": None}
    fake.scan_link(LINKED)
    assert wait_for_status(client, status_url, "linked")["number"] == LINKED
    assert fake.account(LINKED)["devices"][-1]["name"] == "laptop"
    deadline = time.monotonic() + 10
    while child_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    linked_page = client.get(status_url.removesuffix("/status"))
    assert b'linked as <strong id="linked-number">' + LINKED.encode() in linked_page.data
    assert b'id="qr"' not in linked_page.data


def test_a_link_not_scanned_in_time_times_out(make_app, fake):
    client = make_app(SIGNAL_REST_LINK_TIMEOUT=1).test_client()
    _, status_url = start_link(client)
    answer = wait_for_status(client, status_url, "timeout")
    assert "not scanned within 1 seconds" in answer["error"]


def test_a_link_signal_cli_refuses_after_the_scan_shows_why(client, fake):
    _, status_url = start_link(client)
    # the phone belongs to an account this signal-cli already has
    fake.scan_link(ACCOUNT)
    answer = wait_for_status(client, status_url, "failed")
    assert f"The user {ACCOUNT} already exists" in answer["error"]
    page = client.get(status_url.removesuffix("/status"))
    assert b"The link failed" in page.data and b"Start again" in page.data


def test_a_link_that_fails_shows_the_apis_sentence(client, fake):
    fake.add_fault(command="link", exit=0, stdout="not a link\n")
    token = csrf(client.get("/console/link"))
    response = client.post("/console/link", data={"device_name": "laptop", "csrf_token": token})
    assert response.status_code == 400
    assert b"signal-cli link printed &#39;not a link&#39; instead of a device link." in response.data


def test_a_bad_device_name_is_refused_by_the_apis_schema(client, fake):
    token = csrf(client.get("/console/link"))
    response = client.post("/console/link", data={"device_name": "a\tb", "csrf_token": token})
    assert response.status_code == 400 and b"device_name: Not a device name." in response.data
    assert fake.log() == []


@pytest.mark.service_modes("normal", "json-rpc")
def test_register_asks_for_the_captcha_then_the_code(client, fake):
    fake.add_account(NEW_NUMBER, registered=False, captcha_required=CAPTCHA, verification_code="123456")
    token = csrf(client.get("/console/register"))
    asked = client.post("/console/register", data={"number": NEW_NUMBER, "csrf_token": token})
    assert asked.status_code == 400
    assert b"Signal requires a captcha. Open https://signalcaptchas.org/registration/generate.html" in asked.data
    assert b'aria-invalid="true"' in asked.data
    sent = client.post("/console/register", data={"number": NEW_NUMBER, "captcha": CAPTCHA, "csrf_token": token})
    assert sent.status_code == 200 and b"verify-form" in sent.data
    assert words(last_run(fake)) == ["register", f"--captcha={CAPTCHA}"]
    wrong = client.post("/console/register/verify", data={"number": NEW_NUMBER, "code": "654-321", "csrf_token": token})
    assert wrong.status_code == 400 and b"Invalid verification code" in wrong.data
    done = client.post("/console/register/verify", data={"number": NEW_NUMBER, "code": "123-456", "csrf_token": token})
    assert done.status_code == 200 and b"is registered" in done.data
    assert fake.account(NEW_NUMBER)["registered"] is True


def test_the_rate_limit_challenge_goes_to_signal_cli(client, fake):
    fake.add_user(THIRD, rate_limited="challenge-0123")
    token = csrf(client.get("/console/register"))
    data = {"number": ACCOUNT, "challenge_token": "challenge-0123", "captcha": CAPTCHA, "csrf_token": token}
    response = client.post("/console/rate-limit-challenge", data=data)
    assert response.status_code == 200 and f"The rate limit of {ACCOUNT} is lifted".encode() in response.data
    assert words(last_run(fake)) == ["submitRateLimitChallenge", "--challenge=challenge-0123", f"--captcha={CAPTCHA}"]
    rejected = client.post("/console/rate-limit-challenge", data=data)
    assert rejected.status_code == 400 and b"Signal rejected the captcha" in rejected.data
    assert b"challenge-form" in rejected.data


def test_a_test_message_goes_through_the_apis_send(client, fake):
    token = csrf(client.get("/console/inbox"))
    data = {"number": ACCOUNT, "recipient": THIRD, "message": "hello from the console", "csrf_token": token}
    response = client.post("/console/inbox", data=data)
    assert response.status_code == 200 and f"Sent to {THIRD}".encode() in response.data
    run = last_run(fake)
    assert run["command"] == "send" and THIRD in run["argv"]


def test_about_masks_the_secrets(make_app, fake):
    client = make_app(
        SIGNAL_REST_API_TOKENS=TOKEN, SIGNAL_REST_WEBHOOK_SECRET="hook-secret-value", SIGNAL_REST_RECEIVER=True
    ).test_client()
    client = signed_in(client.application, TOKEN)
    page = client.get("/console/about")
    assert page.status_code == 200
    assert TOKEN.encode() not in page.data and b"hook-secret-value" not in page.data
    assert "•••••• (set)".encode() in page.data
    assert b"normal (a signal-cli run per request)" in page.data
