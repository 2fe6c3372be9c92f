"""Configuration: the log level at run time, and each account's trust mode (passed to signal-cli)."""

import logging

import pytest
from helpers import ACCOUNT, OTHER, assert_error, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

SERVICE_LOGGER = logging.getLogger("signal_rest")


@pytest.fixture(autouse=True)
def restore_log_level():
    """The service's logger is process-wide: leave it as the test found it."""
    level = SERVICE_LOGGER.level
    yield
    SERVICE_LOGGER.setLevel(level)


def test_get_configuration(client, fake):
    response = client.get("/v1/configuration")
    assert response.status_code == 200
    assert response.get_json() == {"logging": {"level": "INFO"}}
    assert fake.log() == []


@pytest.mark.parametrize(
    ("logging_body", "level"),
    [
        ({"level": "debug"}, "DEBUG"),
        ({"level": "INFO"}, "INFO"),
        ({"level": "warn"}, "WARNING"),
        ({"level": "Warning"}, "WARNING"),
        ({"level": " error "}, "ERROR"),
        ({"level": "critical"}, "CRITICAL"),
        ({"Level": "debug"}, "DEBUG"),
    ],
)
def test_set_log_level(client, logging_body, level):
    response = client.post("/v1/configuration", json={"logging": logging_body})
    assert response.status_code == 200
    assert response.get_json() == {"logging": {"level": level}}
    assert SERVICE_LOGGER.getEffectiveLevel() == logging.getLevelName(level)
    assert client.get("/v1/configuration").get_json() == {"logging": {"level": level}}


def test_log_level_reaches_every_worker(client, make_app):
    assert client.post("/v1/configuration", json={"logging": {"level": "debug"}}).status_code == 200
    # another worker starts at the configured level (INFO), then follows the stored one
    other_worker = make_app()
    assert SERVICE_LOGGER.getEffectiveLevel() == logging.INFO
    assert other_worker.test_client().get("/v1/configuration").get_json() == {"logging": {"level": "DEBUG"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"logging": {"level": "verbose"}}, "logging.level"),
        ({"logging": {"level": 10}}, "logging.level"),
        ({"logging": {}}, "logging.level"),
        ({"logging": "debug"}, "logging"),
        ({"level": "debug"}, "logging"),
        ({}, "logging"),
    ],
)
def test_bad_configuration(client, body, field):
    assert_error(client.post("/v1/configuration", json=body), 400, field=field)
    assert client.get("/v1/configuration").get_json() == {"logging": {"level": "INFO"}}


def test_trust_mode_defaults_to_on_first_use(client, fake):
    response = client.get(f"/v1/configuration/{ACCOUNT}/settings")
    assert response.status_code == 200
    assert response.get_json() == {"trust_mode": "on-first-use"}
    assert fake.log() == []


@pytest.mark.parametrize("mode", ["on-first-use", "always", "never"])
@pytest.mark.service_modes("normal")
def test_trust_mode_is_passed_on_every_later_call(client, fake, mode):
    response = client.post(f"/v1/configuration/{ACCOUNT}/settings", json={"trust_mode": mode})
    assert response.status_code == 204
    assert response.data == b""
    assert client.get(f"/v1/configuration/%2B{ACCOUNT[1:]}/settings").get_json() == {"trust_mode": mode}

    assert client.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    assert client.post("/v2/send", json={"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}).status_code == 201
    for run in fake.log():
        argv = run["argv"]
        assert argv[argv.index("-a") : argv.index("-a") + 3] == ["-a", ACCOUNT, f"--trust-new-identities={mode}"]
        assert run["options"]["trust-new-identities"] == mode


def test_trust_mode_is_per_account(client, fake):
    other_account = "+4915111111111"
    fake.add_account(other_account)
    assert client.post(f"/v1/configuration/{ACCOUNT}/settings", json={"trust_mode": "never"}).status_code == 204
    assert client.get(f"/v1/configuration/{other_account}/settings").get_json() == {"trust_mode": "on-first-use"}
    assert client.get(f"/v1/groups/{other_account}").status_code == 200
    assert not any(word.startswith("--trust-new-identities") for word in words(last_run(fake)))


@pytest.mark.service_modes("normal")
def test_trust_always_lets_a_message_to_an_untrusted_identity_through(client, fake):
    fake.add_user(OTHER, untrusted=True)
    body = {"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}
    assert_error(client.post("/v2/send", json=body), 409, OTHER)
    assert client.post(f"/v1/configuration/{ACCOUNT}/settings", json={"trust_mode": "always"}).status_code == 204
    assert client.post("/v2/send", json=body).status_code == 201
    assert words(last_run(fake))[0] == "send"
    assert fake.sent_messages()[-1]["results"][0]["type"] == "SUCCESS"


@pytest.mark.parametrize(
    "body",
    [{"trust_mode": "sometimes"}, {"trust_mode": "ALWAYS"}, {"trust_mode": 1}, {}, {"trust_mode": None}],
)
def test_bad_trust_mode(client, body):
    assert_error(client.post(f"/v1/configuration/{ACCOUNT}/settings", json=body), 400, field="trust_mode")
    assert client.get(f"/v1/configuration/{ACCOUNT}/settings").get_json() == {"trust_mode": "on-first-use"}


@pytest.mark.parametrize("number", ["+49abc", "12", "-h"])
def test_trust_mode_of_a_bad_number(validation_client, number):
    assert_error(validation_client.get(f"/v1/configuration/{number}/settings"), 400, number)
    assert_error(
        validation_client.post(f"/v1/configuration/{number}/settings", json={"trust_mode": "always"}), 400, number
    )
