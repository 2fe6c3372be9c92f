"""Receipts: read and viewed receipts for a message, sent to its author."""

import pytest
from helpers import ACCOUNT, OTHER, UUID, api_group_id, assert_error, b64, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

TIMESTAMP = 1732630000123


def send_receipt(client, number=ACCOUNT, **fields):
    """POST /v1/receipts/{number} for OTHER's message, with ``fields`` changed (None: left out)."""
    body = {"recipient": OTHER, "timestamp": TIMESTAMP, **fields}
    return client.post(f"/v1/receipts/{number}", json={k: v for k, v in body.items() if v is not None})


@pytest.mark.parametrize(
    ("fields", "receipt_type"),
    [
        ({}, "read"),
        ({"receipt_type": "read"}, "read"),
        ({"receipt_type": "viewed"}, "viewed"),
        ({"receipt_type": ""}, "read"),
    ],
)
def test_send_receipt(client, fake, fields, receipt_type):
    response = send_receipt(client, **fields)
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["sendReceipt", f"--target-timestamp={TIMESTAMP}", f"--type={receipt_type}", "--", OTHER]
    sent = fake.sent_messages(command="sendReceipt")[-1]
    assert (sent["type"], sent["target_timestamps"], sent["recipients"]) == (receipt_type, [TIMESTAMP], [OTHER])


@pytest.mark.parametrize(
    ("recipient", "passed"),
    [(UUID.upper(), UUID), (OTHER[1:], OTHER), (f" {OTHER} ", OTHER), ("+49 151 000 000 01", OTHER)],
)
def test_recipient_forms(client, fake, recipient, passed):
    assert send_receipt(client, recipient=recipient).status_code == 204
    assert words(last_run(fake))[-2:] == ["--", passed]


def test_timestamp_as_a_string(client, fake):
    assert send_receipt(client, timestamp=str(TIMESTAMP)).status_code == 204
    assert last_run(fake)["options"]["target-timestamp"] == [TIMESTAMP]


def test_body_without_content_type(client, fake):
    response = client.post(
        f"/v1/receipts/{ACCOUNT}", data=f'{{"recipient": "{OTHER}", "timestamp": {TIMESTAMP}}}', content_type=None
    )
    assert response.status_code == 204
    assert words(last_run(fake))[-2:] == ["--", OTHER]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"recipient": None}, "recipient"),
        ({"recipient": ""}, "recipient"),
        ({"recipient": "-t"}, "recipient"),
        ({"recipient": "--type=viewed"}, "recipient"),
        ({"recipient": "+49abc"}, "recipient"),
        ({"recipient": 4915100000001}, "recipient"),
        ({"recipient": "u:alice.42"}, "recipient"),
        ({"recipient": api_group_id(b64(bytes(32)))}, "recipient"),
        ({"recipient": b64(bytes(32))}, "recipient"),
        ({"receipt_type": "delivered"}, "receipt_type"),
        ({"receipt_type": "READ"}, "receipt_type"),
        ({"receipt_type": "-viewed"}, "receipt_type"),
        ({"receipt_type": True}, "receipt_type"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "-1"}, "timestamp"),
        ({"timestamp": -1}, "timestamp"),
        ({"timestamp": 0}, "timestamp"),
        ({"timestamp": 1.5}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"timestamp": [TIMESTAMP]}, "timestamp"),
        ({"timestamp": 2**63}, "timestamp"),
    ],
)
def test_bad_input(validation_client, fields, field):
    assert_error(send_receipt(validation_client, **fields), 400, field=field)


@pytest.mark.parametrize("body", ["[]", "not json", '"text"'])
def test_body_is_not_an_object(validation_client, body):
    assert_error(validation_client.post(f"/v1/receipts/{ACCOUNT}", data=body, content_type="application/json"), 400)


@pytest.mark.parametrize("number", ["+49abc", "-a", "--help", "4915"])
def test_bad_number(validation_client, number):
    assert_error(send_receipt(validation_client, number=number), 400, number)


@pytest.mark.parametrize(
    ("flags", "status", "reason"),
    [
        ({"registered": False}, 400, "UNREGISTERED_FAILURE"),
        ({"untrusted": True}, 409, "IDENTITY_FAILURE"),
        ({"rate_limited": True}, 429, "RATE_LIMIT_FAILURE"),
    ],
)
def test_recipient_failures(client, fake, flags, status, reason):
    fake.add_user(OTHER, **flags)
    body = assert_error(send_receipt(client), status)
    assert [(f["number"], f["reason"]) for f in body["errors"]["recipients"]] == [(OTHER, reason)]


def test_untrusted_says_how_to_trust(client, fake):
    fake.add_user(OTHER, untrusted=True)
    assert_error(send_receipt(client), 409, OTHER, "/v1/identities/")


def test_rate_limit_carries_the_token(client, fake):
    fake.add_user(OTHER, rate_limited="token-123")
    body = assert_error(send_receipt(client), 429)
    assert body["challenge_tokens"] == ["token-123"]
    assert body["account"] == ACCOUNT


def test_unregistered_account(client, fake):
    fake.add_account("+4915122222222", registered=False)
    assert_error(send_receipt(client, number="+4915122222222"), 400, "not registered")


def test_network_failure_is_502(client, fake):
    fake.add_fault(command="sendReceipt", exit=3, stderr="Failed to send receipt: Connection closed (IOException)")
    assert_error(send_receipt(client), 502, "Connection closed")


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_are_405(validation_client, method):
    assert_error(getattr(validation_client, method)(f"/v1/receipts/{ACCOUNT}"), 405)
