"""Idempotency keys: a repeat of a sending request with the same Idempotency-Key answers the first
answer again and sends nothing, across threads, workers and restarts; what is remembered and what is
let go; the key's scope; the OpenAPI document."""

import concurrent.futures
import json
import sqlite3
import threading

import pytest
from gunicorn_server import Gunicorn
from helpers import ACCOUNT, OTHER, add_group_with_id, api_group_id, assert_error, b64, openapi_document

from signal_rest import errors, idempotency

pytestmark = pytest.mark.service_modes("normal", "json-rpc")

KEY = "6f1c2a4e-0d1b-4c5e-9a3f-2b7d8e9f0a1b"
SECOND_ACCOUNT = "+4915111111111"


def send(client, key=KEY, **body):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(
        "/v2/send", json={"number": ACCOUNT, "recipients": [OTHER], "message": "hi", **body}, headers=headers
    )


def texts_sent(fake):
    return [message.get("message") for message in fake.sent_messages()]


def test_a_repeat_answers_the_first_answer_and_sends_nothing(client, fake):
    first = send(client)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    again = send(client)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content_type == "application/json"
    assert texts_sent(fake) == ["hi"]


def test_without_a_key_every_request_sends(client, fake):
    assert send(client, key=None).status_code == 201
    assert send(client, key=None).status_code == 201
    assert texts_sent(fake) == ["hi", "hi"]


def test_another_key_sends_again(client, fake):
    assert send(client).status_code == 201
    assert send(client, key="another-key").status_code == 201
    assert texts_sent(fake) == ["hi", "hi"]


def test_the_same_key_with_another_body_is_422(client, fake):
    assert send(client).status_code == 201
    assert_error(send(client, message="something else"), 422, "Idempotency-Key", "different request")
    assert texts_sent(fake) == ["hi"]


def test_the_same_key_on_another_route_is_422(client, fake):
    assert send(client).status_code == 201
    response = client.post(
        f"/v1/receipts/{ACCOUNT}",
        json={"recipient": OTHER, "timestamp": 1732630000123},
        headers={"Idempotency-Key": KEY},
    )
    assert_error(response, 422, "different request")


def test_the_bodys_key_order_and_spacing_do_not_matter(client, fake):
    body = b'{"message": "hi", "recipients": ["%s"], "number": "%s"}' % (OTHER.encode(), ACCOUNT.encode())
    spaced = b'{ "number" : "%s" , "recipients" : [ "%s" ] , "message" : "hi" }' % (ACCOUNT.encode(), OTHER.encode())
    headers = {"Idempotency-Key": KEY, "Content-Type": "application/json"}
    first = client.post("/v2/send", data=body, headers=headers)
    again = client.post("/v2/send", data=spaced, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert texts_sent(fake) == ["hi"]


def test_twenty_concurrent_identical_requests_send_one_message(app, fake):
    fake.set_delay(0.5)
    start = threading.Barrier(20)

    def one(_):
        client = app.test_client()
        start.wait()
        response = send(client)
        return response.status_code, response.get_json(), response.headers.get("Retry-After")

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(20)))
    assert texts_sent(fake) == ["hi"]
    statuses = sorted(status for status, _, _ in answers)
    assert set(statuses) <= {201, 409}, answers
    assert 201 in statuses
    # every 409 says the first is still running and when to come back
    for status, body, retry_after in answers:
        if status == 409:
            assert "still being carried out" in body["error"]
            assert retry_after == "2"
    # afterwards each of them gets the one answer
    timestamps = {body["timestamp"] for status, body, _ in answers if status == 201}
    assert len(timestamps) == 1
    assert send(app.test_client()).get_json()["timestamp"] in timestamps
    assert texts_sent(fake) == ["hi"]


def test_a_repeat_while_the_first_runs_is_409_with_retry_after(app, fake):
    fake.add_fault(command="send", sleep=2, times=1)
    first = {}
    thread = threading.Thread(target=lambda: first.update(response=send(app.test_client())))
    thread.start()
    try:
        # wait until the first request holds its claim
        store = app.extensions["signal_rest.idempotency"]
        for _ in range(200):
            with store._transaction() as db:
                if db.execute("SELECT count(*) FROM answers").fetchone()[0]:
                    break
            threading.Event().wait(0.01)
        response = send(app.test_client())
        assert_error(response, 409, "still being carried out", "repeat it in a moment")
        assert response.headers["Retry-After"] == "2"
    finally:
        thread.join()
    assert first["response"].status_code == 201
    assert send(app.test_client()).get_json() == first["response"].get_json()
    assert texts_sent(fake) == ["hi"]


def test_a_retry_after_a_restart_answers_the_stored_result(make_app, fake):
    first = send(make_app().test_client())
    assert first.status_code == 201
    restarted = make_app().test_client()
    again = send(restarted)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert texts_sent(fake) == ["hi"]


def test_a_refusal_that_would_be_repeated_is_remembered(client, fake):
    raw_id = b64(bytes(32))
    unknown = api_group_id(raw_id)
    assert_error(send(client, recipients=[unknown]), 400, "Group not found")
    # the group appears, but the key's answer stays what it was: a new request needs a new key
    add_group_with_id(fake, raw_id)
    again = send(client, recipients=[unknown])
    assert again.status_code == 400
    assert again.headers["Idempotent-Replayed"] == "true"
    assert fake.sent_messages() == []


@pytest.mark.parametrize(("exit_code", "status"), [(3, 502), (5, 429)])
def test_an_answer_that_says_try_again_lets_the_key_go(client, fake, exit_code, status):
    fake.add_fault(command="send", exit=exit_code, stderr="failed", times=1)
    assert send(client).status_code == status
    retried = send(client)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert texts_sent(fake) == ["hi"]


def test_a_key_expires_after_the_retention(make_app, fake):
    client = make_app(SIGNAL_REST_IDEMPOTENCY_RETENTION=0).test_client()
    assert send(client).status_code == 201
    assert send(client).status_code == 201
    assert texts_sent(fake) == ["hi", "hi"]


def test_a_claim_of_a_killed_worker_is_given_up(tmp_path):
    store = idempotency.Store(tmp_path / "keys.sqlite3", retention=60, abandon_after=0.05)
    store.claim("scope", "key", "digest")
    with pytest.raises(errors.IdempotencyKeyInUse):
        store.claim("scope", "key", "digest")
    threading.Event().wait(0.1)
    # nothing was remembered: the next request with the key is carried out
    store.claim("scope", "key", "digest")
    store.finish("scope", "key", 201, "application/json", b"{}")
    with pytest.raises(idempotency.Replay):
        store.claim("scope", "key", "digest")


def test_keys_that_cannot_be_checked_are_503_and_nothing_is_sent(make_app, fake, config_dir):
    client = make_app().test_client()
    # the keys' database cannot be opened: its path is a directory
    (config_dir / "signal-rest" / "idempotency.sqlite3").mkdir(parents=True)
    response = send(client)
    assert_error(response, 503, "cannot be checked", "SIGNAL_REST_DATA_DIR", "without the header")
    assert response.headers["Retry-After"] == "5"
    assert fake.sent_messages() == []
    # without the header the service sends as ever
    assert send(client, key=None).status_code == 201


def test_an_answer_that_cannot_be_kept_still_reaches_the_client(app, fake, monkeypatch):
    store = app.extensions["signal_rest.idempotency"]

    def broken_finish(*args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "finish", broken_finish)
    first = send(app.test_client())
    assert first.status_code == 201 and first.get_json()["timestamp"]
    # the key stays claimed: a repeat is not carried out (it would send again) but told to wait
    assert_error(send(app.test_client()), 409, "still being carried out")
    assert texts_sent(fake) == ["hi"]


def test_keys_belong_to_their_account(client, fake):
    fake.add_account(SECOND_ACCOUNT)
    assert send(client).status_code == 201
    other = send(client, number=SECOND_ACCOUNT)
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other.headers
    assert [m["account"] for m in fake.sent_messages()] == [ACCOUNT, SECOND_ACCOUNT]


def test_keys_belong_to_their_token(make_app, fake):
    first, second = "token-one-0123456789", "token-two-0123456789"
    client = make_app(SIGNAL_REST_API_TOKENS=f"{first} {second}").test_client()
    for token in (first, second):
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        response = send(client)
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response.headers
    assert send(client).headers["Idempotent-Replayed"] == "true"
    assert texts_sent(fake) == ["hi", "hi"]


@pytest.mark.parametrize("key", ["", " padded", "padded ", "tab\there", "ümlaut", "x" * 256])
def test_a_malformed_key_is_400(client, fake, key):
    assert_error(send(client, key=key), 400, "Idempotency-Key", "printable ASCII")
    assert fake.sent_messages() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", f"/v1/send/{OTHER}", {"number": ACCOUNT, "message": "hi"}),
        ("post", "/v1/send", {"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}),
        (
            "post",
            f"/v1/reactions/{ACCOUNT}",
            {"recipient": OTHER, "reaction": "👍", "target_author": OTHER, "timestamp": 1732630000123},
        ),
        ("post", f"/v1/receipts/{ACCOUNT}", {"recipient": OTHER, "timestamp": 1732630000123}),
        ("delete", f"/v1/remote-delete/{ACCOUNT}", {"recipient": OTHER, "timestamp": 1732630000123}),
    ],
)
def test_every_sending_route_honours_the_key(client, fake, method, path, body):
    headers = {"Idempotency-Key": KEY}
    first = getattr(client, method)(path, json=body, headers=headers)
    assert first.status_code in (201, 204), first.get_json()
    runs = len(fake.log())
    again = getattr(client, method)(path, json=body, headers=headers)
    assert again.status_code == first.status_code
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(fake.log()) == runs


def test_the_openapi_document_names_the_header_on_every_sending_route():
    document = openapi_document()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters" and any(p.get("name") == idempotency.HEADER for p in operation.get("parameters", []))
    }
    assert documented == {
        ("POST", "/v2/send"),
        ("POST", "/v1/send"),
        ("POST", "/v1/send/{recipient}"),
        ("DELETE", "/v1/remote-delete/{number}"),
        ("POST", "/v1/stories/{number}"),
        ("POST", "/v1/polls/{number}"),
        ("POST", "/v1/polls/{number}/vote"),
        ("DELETE", "/v1/polls/{number}"),
        ("POST", "/v1/reactions/{number}"),
        ("DELETE", "/v1/reactions/{number}"),
        ("POST", "/v1/receipts/{number}"),
        ("POST", "/v1/groups/{number}/{groupid}/pin-message"),
        ("DELETE", "/v1/groups/{number}/{groupid}/pin-message"),
    }
    # their success answers name the replay header and keep their own description and content
    for method, path in documented:
        operation = document["paths"][path][method.lower()]
        successes = [answer for code, answer in operation["responses"].items() if code.startswith("2")]
        assert successes and all(idempotency.REPLAYED_HEADER in answer["headers"] for answer in successes)
        assert all(answer["description"] for answer in successes)
    assert "content" in document["paths"]["/v2/send"]["post"]["responses"]["201"]
    # the header does not replace the operation's other parameters
    receive = document["paths"]["/v1/receive/{number}"]["get"]
    assert any(p["name"] == "timeout" for p in receive["parameters"])


def test_b64_attachments_are_part_of_the_body(client, fake):
    assert send(client, base64_attachments=[b64(b"one")]).status_code == 201
    assert_error(send(client, base64_attachments=[b64(b"two")]), 422)


@pytest.mark.server
def test_across_gunicorn_workers_and_a_restart_one_message_goes_out(tmp_path, fake_bin, config_dir, fake):
    """20 identical requests at once over 2 workers × 4 threads send one message; after gunicorn is
    stopped and started again, a retry answers the stored result."""
    fake.set_delay(0.5)
    settings = {"SIGNAL_CLI_BIN": fake_bin, "SIGNAL_CLI_CONFIG_DIR": config_dir, "SIGNAL_CLI_CMD_TIMEOUT": 20}
    body = json.dumps({"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}).encode()
    headers = {"Idempotency-Key": KEY, "Content-Type": "application/json"}
    with Gunicorn(tmp_path / "first", workers=2, threads=4, **settings) as server:
        start = threading.Barrier(20)

        def one(_):
            start.wait()
            status, _, answer = server.request("POST", "/v2/send", headers, body)
            return status, json.loads(answer)

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(one, range(20)))
        assert server.stop() == 0
    assert {status for status, _ in answers} <= {201, 409}, answers
    assert texts_sent(fake) == ["hi"]
    first = {json.dumps(answer) for status, answer in answers if status == 201}
    assert len(first) == 1
    with Gunicorn(tmp_path / "second", workers=1, threads=2, **settings) as server:
        status, response_headers, answer = server.request("POST", "/v2/send", headers, body)
    assert status == 201
    assert response_headers["Idempotent-Replayed"] == "true"
    assert {json.dumps(json.loads(answer))} == first
    assert texts_sent(fake) == ["hi"]
