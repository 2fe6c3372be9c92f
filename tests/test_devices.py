"""Devices: registering a number (captcha, voice, rate limit) and verifying it (code, PIN),
unregistering, deleting local data, linking this service as a new device (QR code), and the
account's linked devices."""

import re
import struct
import time

import pytest
from helpers import ACCOUNT, assert_error, last_run, release_at_least, words
from processes import child_pids

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

NEW = "+4915122222222"
CAPTCHA = "signalcaptcha://signal-hcaptcha.5fad97ac.registration.P1_eyJ0eXAi-_x"
LINKED = "+4915133333333"
DEVICE_URI = "sgnl://linkdevice?uuid=YWJjZGVmZ2hpamtsbW5vcA%3D%3D&pub_key=BQEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83v"
DEVICE_LINK = re.compile(r"^sgnl://linkdevice\?uuid=[A-Za-z0-9%]+&pub_key=[A-Za-z0-9%]+$")


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


def test_verify_without_register(client, fake, fake_version):
    fake.add_account(NEW, registered=False)
    response = client.post(f"/v1/register/{NEW}/verify/123456")
    if release_at_least(fake_version, "0.13.21"):
        # exit 3 "No registration verification session active": the caller's mistake, said as such
        assert_error(response, 400, "no registration to verify", "POST /v1/register/")
        return
    # signal-cli 0.13.19 dies with a NullPointerException (exit 2): the client gets one short sentence
    body = assert_error(response, 502)
    assert "\tat " not in body["message"] and "\n" not in body["message"]


@pytest.mark.parametrize("token", ["12345", "1234567", "abcdef", "12-3456", "-123456", "123%20456"])
def test_verify_bad_code(validation_client, token):
    assert_error(validation_client.post(f"/v1/register/{NEW}/verify/{token}"), 400, "six digits")


@pytest.mark.parametrize("pin", ["12", "12 34", "-1234", "--pin", 1234])
def test_verify_bad_pin(validation_client, pin):
    assert_error(validation_client.post(f"/v1/register/{NEW}/verify/123456", json={"pin": pin}), 400, field="pin")


# --- unregister -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_args",
    [
        {},
        {"json": {}},
        {"json": {"delete_account": False, "delete_local_data": None}},
        {"data": "", "content_type": None},
    ],
)
def test_unregister(client, fake, request_args):
    response = client.post(f"/v1/unregister/{ACCOUNT}", **request_args)
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["unregister"]
    assert len(fake.log()) == 1
    assert fake.account(ACCOUNT)["registered"] is False


def test_unregister_and_delete_the_account(client, fake):
    assert client.post(f"/v1/unregister/{ACCOUNT}", json={"delete_account": True}).status_code == 204
    assert [words(run) for run in fake.log()] == [["unregister", "--delete-account"]]
    assert ACCOUNT not in fake.load()["accounts"]


@pytest.mark.parametrize(
    ("body", "first"),
    [
        ({"delete_local_data": True}, ["unregister"]),
        ({"delete_local_data": True, "delete_account": True}, ["unregister", "--delete-account"]),
    ],
)
def test_unregister_and_delete_local_data(client, fake, body, first):
    assert client.post(f"/v1/unregister/{ACCOUNT}", json=body).status_code == 204
    runs = fake.log()
    assert [words(run) for run in runs] == [first, ["deleteLocalAccountData", "--ignore-registered"]]
    assert {run["account"] for run in runs} == {ACCOUNT}
    assert ACCOUNT not in fake.load()["accounts"]


@pytest.mark.service_modes("normal")
def test_unregister_an_unregistered_account(client, fake):
    fake.add_account(NEW, registered=False)
    assert_error(client.post(f"/v1/unregister/{NEW}", json={"delete_local_data": True}), 400, "not registered")
    # the local data is not deleted after a failed unregister
    assert [words(run) for run in fake.log()] == [["unregister"]]
    assert NEW in fake.load()["accounts"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delete_account": "yes please"}, "delete_account"),
        ({"delete_local_data": [True]}, "delete_local_data"),
        ([], "body"),
    ],
)
def test_unregister_bad_input(validation_client, body, field):
    assert_error(validation_client.post(f"/v1/unregister/{ACCOUNT}", json=body), 400, field=field)


@pytest.mark.parametrize("number", ["+49abc", "-a", "--delete-account"])
def test_unregister_bad_number(validation_client, number):
    assert_error(validation_client.post(f"/v1/unregister/{number}"), 400, number)


# --- local data ----------------------------------------------------------------------------------------------


def test_delete_local_data_of_an_unregistered_account(client, fake):
    fake.add_account(NEW, registered=False)
    response = client.delete(f"/v1/devices/{NEW}/local-data")
    assert response.status_code == 204
    run = last_run(fake)
    assert run["account"] == NEW
    assert words(run) == ["deleteLocalAccountData"]
    assert NEW not in fake.load()["accounts"]


def test_delete_local_data_of_a_registered_account_is_refused(client, fake):
    assert_error(client.delete(f"/v1/devices/{ACCOUNT}/local-data"), 400, "still registered")
    assert fake.account(ACCOUNT)["registered"] is True


def test_delete_local_data_ignoring_registration(client, fake):
    response = client.delete(f"/v1/devices/{ACCOUNT}/local-data", json={"ignore_registered": True})
    assert response.status_code == 204
    assert words(last_run(fake)) == ["deleteLocalAccountData", "--ignore-registered"]
    assert ACCOUNT not in fake.load()["accounts"]


@pytest.mark.parametrize("body", [{"ignore_registered": "sure"}, {"ignore_registered": 2}, ["ignore_registered"]])
def test_delete_local_data_bad_input(validation_client, body):
    assert_error(validation_client.delete(f"/v1/devices/{ACCOUNT}/local-data", json=body), 400)


# --- linking: the QR code ------------------------------------------------------------------------------------


def wait_for_the_link_to_end(fake, timeout=15):
    """Wait until the background ``signal-cli link`` has ended and been reaped; return its record."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [run for run in fake.log() if run["command"] == "link"]
        if runs and not child_pids():
            return runs[-1]
        time.sleep(0.05)
    pytest.fail(f"signal-cli link still running (children: {child_pids()})")


def png_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.service_modes("normal")
def test_qrcodelink_is_a_png_and_the_link_ends_when_scanned(client, fake):
    response = client.get("/v1/qrcodelink?device_name=my-server")
    assert response.status_code == 200
    assert response.content_type == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    # signal-cli waits for the scan in the background
    starts = [event for event in fake.log(events=True) if "link" in event["argv"]]
    assert len(starts) == 1
    assert starts[0]["argv"][starts[0]["argv"].index("link") :] == ["link", "--name=my-server"]
    assert child_pids(), "signal-cli link is not waiting in the background"

    fake.scan_link(LINKED)
    run = wait_for_the_link_to_end(fake)
    assert run["exit"] == 0
    assert "-a" not in run["argv"] and "-o" not in run["argv"]
    assert fake.account(LINKED)["registered"] is True
    assert fake.account(LINKED)["devices"][-1]["name"] == "my-server"


@pytest.mark.service_modes("normal")
def test_qrcodelink_raw_and_the_link_is_stopped_after_its_lifetime(make_app, fake):
    client = make_app(SIGNAL_REST_LINK_TIMEOUT=0.5).test_client()
    started = time.monotonic()
    response = client.get("/v1/qrcodelink/raw?device_name=Büro%20PC")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["device_link_uri"]
    assert DEVICE_LINK.match(body["device_link_uri"]), body
    # nobody scans: the service stops signal-cli (SIGTERM, exit 143) and reaps it
    run = wait_for_the_link_to_end(fake)
    assert time.monotonic() - started < 10
    assert run["exit"] == 143
    assert words(run) == ["link", "--name=Büro PC"]
    assert LINKED not in fake.load()["accounts"]


@pytest.mark.service_modes("normal")
def test_qrcodelink_default_device_name(make_app, fake):
    client = make_app(SIGNAL_REST_LINK_TIMEOUT=0.3).test_client()
    assert client.get("/v1/qrcodelink/raw").status_code == 200
    run = wait_for_the_link_to_end(fake)
    assert words(run) == ["link", "--name=signal-rest"]


@pytest.mark.service_modes("normal")
def test_device_name_that_looks_like_an_option(make_app, fake):
    client = make_app(SIGNAL_REST_LINK_TIMEOUT=0.3).test_client()
    assert client.get("/v1/qrcodelink/raw?device_name=-a").status_code == 200
    run = wait_for_the_link_to_end(fake)
    assert words(run) == ["link", "--name=-a"]
    assert run["options"]["name"] == "-a"


@pytest.mark.parametrize(("version", "modules"), [(None, 57), (20, 97)])
@pytest.mark.service_modes("normal")
def test_qrcode_version_sets_the_size(make_app, fake, version, modules):
    client = make_app(SIGNAL_REST_LINK_TIMEOUT=0.3).test_client()
    query = "device_name=x" + (f"&qrcode_version={version}" if version else "")
    response = client.get(f"/v1/qrcodelink?{query}")
    assert response.status_code == 200
    # modules plus a border of 4 on each side, 6 pixels each
    assert png_size(response.data) == ((modules + 8) * 6, (modules + 8) * 6)
    wait_for_the_link_to_end(fake)


@pytest.mark.service_modes("normal")
def test_qrcode_version_too_small_for_the_link_grows(make_app, fake):
    client = make_app(SIGNAL_REST_LINK_TIMEOUT=0.3).test_client()
    response = client.get("/v1/qrcodelink?qrcode_version=1")
    assert response.status_code == 200
    width, height = png_size(response.data)
    assert width == height > (21 + 8) * 6
    wait_for_the_link_to_end(fake)


@pytest.mark.parametrize("path", ["/v1/qrcodelink", "/v1/qrcodelink/raw"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("device_name=" + "x" * 51, "device_name"),
        ("device_name=a%0Ab", "device_name"),
        ("device_name=a%00b", "device_name"),
        ("device_name=tab%09here", "device_name"),
        # a regex's "$" also matches before a final newline
        ("device_name=abc%0A", "device_name"),
        ("qrcode_version=0", "qrcode_version"),
        ("qrcode_version=41", "qrcode_version"),
        ("qrcode_version=big", "qrcode_version"),
        ("qrcode_version=-1", "qrcode_version"),
    ],
)
def test_qrcodelink_bad_query(validation_client, path, query, field):
    # the validation client has no signal-cli: a value that got through would be a 503
    assert_error(validation_client.get(f"{path}?{query}"), 400, field=field)
    assert child_pids() == []


@pytest.mark.service_modes("normal")
def test_link_that_prints_no_uri_is_502(client, fake):
    fake.add_fault(command="link", exit=0, stdout="not a link\n")
    assert_error(client.get("/v1/qrcodelink/raw"), 502)
    assert child_pids() == []


# --- linked devices --------------------------------------------------------------------------------------------


def test_list_devices(client, fake):
    account = fake.account(ACCOUNT)
    fake.update(
        lambda state: state["accounts"][ACCOUNT]["devices"].append(
            {"id": 3, "name": "Laptop", "createdTimestamp": 1700000000000, "lastSeenTimestamp": 1700000500000}
        )
    )
    response = client.get(f"/v1/devices/{ACCOUNT}")
    assert response.status_code == 200
    assert response.get_json() == [
        {
            "id": 1,
            "name": None,
            "last_seen_timestamp": str(account["created"]),
            "creation_timestamp": str(account["created"]),
        },
        {"id": 3, "name": "Laptop", "last_seen_timestamp": "1700000500000", "creation_timestamp": "1700000000000"},
    ]
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["listDevices"]


def test_list_devices_of_an_unregistered_account(client, fake):
    fake.add_account(NEW, registered=False)
    assert_error(client.get(f"/v1/devices/{NEW}"), 400, "not registered")


def test_add_device(client, fake):
    response = client.post(f"/v1/devices/{ACCOUNT}", json={"uri": DEVICE_URI})
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["addDevice", f"--uri={DEVICE_URI}"]
    assert [device["id"] for device in fake.account(ACCOUNT)["devices"]] == [1, 2]


def test_add_device_with_a_link_signal_cli_refuses(client, fake):
    assert_error(client.post(f"/v1/devices/{ACCOUNT}", json={"uri": "sgnl://linkdevice?uuid=abc"}), 400, "device link")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"uri": None},
        {"uri": ""},
        {"uri": "https://signal.org/"},
        {"uri": "-sgnl://linkdevice?uuid=a&pub_key=b"},
        {"uri": "--uri=sgnl://linkdevice?uuid=a&pub_key=b"},
        {"uri": "sgnl://linkdevice?uuid=a b&pub_key=c"},
        {"uri": "sgnl://linkdevice?uuid=a&pub_key=b\n"},
        {"uri": "sgnl://linkdevice?uuid=a\n&pub_key=b"},
        {"uri": "sgnl://linkdevice?uuid=a\0&pub_key=b"},
        {"uri": "sgnl://linkdevice"},
        {"uri": ["sgnl://linkdevice?uuid=a&pub_key=b"]},
        {"uri": "sgnl://linkdevice?" + "a" * 2049},
    ],
)
def test_add_device_bad_uri(validation_client, body):
    assert_error(validation_client.post(f"/v1/devices/{ACCOUNT}", json=body), 400, field="uri")


def test_remove_device(client, fake):
    fake.update(
        lambda state: state["accounts"][ACCOUNT]["devices"].append(
            {"id": 2, "name": "Laptop", "createdTimestamp": 1, "lastSeenTimestamp": 2}
        )
    )
    response = client.delete(f"/v1/devices/{ACCOUNT}/2")
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["removeDevice", "--device-id=2"]
    assert [device["id"] for device in fake.account(ACCOUNT)["devices"]] == [1]


def test_remove_unknown_device(client, fake):
    # signal-cli: "[404] Not found" from the server (exit 3); the route names the device -> 404
    assert_error(client.delete(f"/v1/devices/{ACCOUNT}/7"), 404, "Not found")
    assert words(last_run(fake)) == ["removeDevice", "--device-id=7"]


@pytest.mark.parametrize(
    "device_id", ["abc", "0", "-1", "-2", "1.5", "2147483648", "99999999999999999999", "%2D1", "%C2%B2", "%E2%85%A0"]
)
def test_remove_device_bad_id(validation_client, device_id):
    assert_error(validation_client.delete(f"/v1/devices/{ACCOUNT}/{device_id}"), 400, "device id")


@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_number(validation_client, method):
    assert_error(getattr(validation_client, method)("/v1/devices/-a", json={"uri": DEVICE_URI}), 400, "-a")
