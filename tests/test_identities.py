"""Identities: the identity keys the account knows, and trusting them."""

import pytest
from fake_signal_cli import uuid_for
from helpers import ACCOUNT, OTHER, THIRD, UUID, api_group_id, assert_error, b64, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

NEW = "+4915122222222"


@pytest.fixture
def identities(fake):
    """OTHER (trusted, unverified) and THIRD (untrusted); returns their fake entries."""
    return [fake.add_identity(ACCOUNT, OTHER), fake.add_identity(ACCOUNT, THIRD, trust_level="UNTRUSTED")]


def trust_level(fake, number):
    return next(i["trustLevel"] for i in fake.account(ACCOUNT)["identities"] if i["number"] == number)


def trust(client, body, recipient=OTHER, number=ACCOUNT):
    return client.put(f"/v1/identities/{number}/trust/{recipient}", json=body)


# --- list -----------------------------------------------------------------------------------------------------


def test_list_identities(client, fake, identities):
    response = client.get(f"/v1/identities/{ACCOUNT}")
    assert response.status_code == 200
    assert response.get_json() == [
        {
            "number": identity["number"],
            "uuid": uuid_for(identity["number"]),
            "status": identity["trustLevel"],
            "fingerprint": identity["fingerprint"],
            "safety_number": identity["safetyNumber"],
            "added": str(identity["addedTimestamp"]),
        }
        for identity in identities
    ]
    assert [entry["status"] for entry in response.get_json()] == ["TRUSTED_UNVERIFIED", "UNTRUSTED"]
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["listIdentities"]


def test_no_identities(client, fake):
    assert client.get(f"/v1/identities/{ACCOUNT}").get_json() == []


@pytest.mark.parametrize("number", ["+49abc", "-a", "--number"])
def test_list_bad_number(validation_client, number):
    assert_error(validation_client.get(f"/v1/identities/{number}"), 400, number)


def test_list_of_an_unregistered_account(client, fake):
    fake.add_account(NEW, registered=False)
    assert_error(client.get(f"/v1/identities/{NEW}"), 400, "not registered")


# --- trust --------------------------------------------------------------------------------------------------------


def test_trust_all_known_keys(client, fake, identities):
    response = trust(client, {"trust_all_known_keys": True}, recipient=THIRD)
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["trust", "--trust-all-known-keys", "--", THIRD]
    assert trust_level(fake, THIRD) == "TRUSTED_UNVERIFIED"


@pytest.mark.parametrize("spaced", [True, False])
def test_trust_a_verified_safety_number(client, fake, identities, spaced):
    safety_number = identities[0]["safetyNumber"]
    given = safety_number if spaced else safety_number.replace(" ", "")
    response = trust(client, {"verified_safety_number": given})
    assert response.status_code == 204
    # the spaces people copy with it are removed
    assert words(last_run(fake)) == [
        "trust",
        f"--verified-safety-number={safety_number.replace(' ', '')}",
        "--",
        OTHER,
    ]
    assert trust_level(fake, OTHER) == "TRUSTED_VERIFIED"


def test_trust_the_scannable_code(client, fake, identities):
    code = identities[0]["scannableSafetyNumber"]
    assert trust(client, {"verified_safety_number": code}).status_code == 204
    assert last_run(fake)["options"]["verified-safety-number"] == code
    assert trust_level(fake, OTHER) == "TRUSTED_VERIFIED"


@pytest.mark.parametrize(
    ("recipient", "passed"),
    [(OTHER[1:], OTHER), (f"%2B{OTHER[1:]}", OTHER), (uuid_for(OTHER).upper(), uuid_for(OTHER))],
)
def test_trust_recipient_forms(client, fake, identities, recipient, passed):
    assert trust(client, {"trust_all_known_keys": True}, recipient=recipient).status_code == 204
    assert words(last_run(fake))[-2:] == ["--", passed]


def test_wrong_safety_number(client, fake, identities):
    wrong = identities[1]["safetyNumber"]
    assert_error(trust(client, {"verified_safety_number": wrong}), 400, "safety number")
    assert trust_level(fake, OTHER) == "TRUSTED_UNVERIFIED"


def test_trust_an_unknown_identity(client, fake, identities):
    assert_error(trust(client, {"trust_all_known_keys": True}, recipient=NEW), 400, "make sure the number is correct")


def test_trusting_lets_a_send_through(client, fake, identities):
    fake.add_user(OTHER, untrusted=True)
    assert client.post("/v2/send", json={"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}).status_code == 409
    assert trust(client, {"trust_all_known_keys": True}).status_code == 204
    assert client.post("/v2/send", json={"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"trust_all_known_keys": False},
        {"trust_all_known_keys": None, "verified_safety_number": ""},
        {"trust_all_known_keys": True, "verified_safety_number": "12345"},
    ],
)
def test_trust_needs_exactly_one_way(validation_client, body):
    assert_error(trust(validation_client, body), 400, "exactly one")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trust_all_known_keys": "yes please"}, "trust_all_known_keys"),
        ({"verified_safety_number": "-v"}, "verified_safety_number"),
        ({"verified_safety_number": "--trust-all-known-keys"}, "verified_safety_number"),
        ({"verified_safety_number": "12345\n67890"}, "verified_safety_number"),
        ({"verified_safety_number": "1" * 401}, "verified_safety_number"),
        ({"verified_safety_number": 12345}, "verified_safety_number"),
        # a regex's "$" also matches before a final newline
        ({"verified_safety_number": "12345\n"}, "verified_safety_number"),
        # nothing left once the spaces are removed
        ({"verified_safety_number": "   "}, "verified_safety_number"),
    ],
)
def test_trust_bad_input(validation_client, body, field):
    assert_error(trust(validation_client, body), 400, field=field)


@pytest.mark.parametrize(
    "recipient", ["-a", "--trust-all-known-keys", "+49abc", "u:alice.42", "alice.42", api_group_id(b64(bytes(32)))]
)
def test_trust_bad_recipient(validation_client, recipient):
    assert_error(trust(validation_client, {"trust_all_known_keys": True}, recipient=recipient), 400)


@pytest.mark.parametrize("number", ["+49abc", "-a"])
def test_trust_bad_number(validation_client, number):
    assert_error(trust(validation_client, {"trust_all_known_keys": True}, number=number), 400, number)


def test_trust_uuid_of_someone_unknown(client, fake):
    assert_error(trust(client, {"trust_all_known_keys": True}, recipient=UUID), 400)
    assert words(last_run(fake)) == ["trust", "--trust-all-known-keys", "--", UUID]
