"""Contacts: the account's contacts, one contact, its avatar, changing it and syncing the list."""

import pytest
from fake_signal_cli import uuid_for
from helpers import ACCOUNT, OTHER, THIRD, UUID, api_group_id, assert_error, b64, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

NEW = "+4915122222222"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(24)

#: a contact with every field signal-cli fills in
FULL = {
    "name": "Bob Builder",
    "givenName": "Bob",
    "familyName": "Builder",
    "username": "bob.42",
    "color": "ultramarine",
    "isBlocked": True,
    "messageExpirationTime": 3600,
    "note": "met at -h conference",
    "nickName": "Bobby B",
    "nickGivenName": "Bobby",
    "nickFamilyName": "B",
    "profile": {
        "givenName": "Robert",
        "familyName": "Baumeister",
        "about": "builds",
        "aboutEmoji": "🔨",
        "hasAvatar": True,
        "lastUpdateTimestamp": 1700000000123,
    },
}

FULL_ENTRY = {
    "number": OTHER,
    "uuid": uuid_for(OTHER),
    "name": "Bob Builder",
    "profile_name": "Robert Baumeister",
    "username": "bob.42",
    "color": "ultramarine",
    "blocked": True,
    "message_expiration": "3600",
    "note": "met at -h conference",
    "given_name": "Bob",
    "nickname": {"name": "Bobby B", "given_name": "Bobby", "family_name": "B"},
    "profile": {
        "given_name": "Robert",
        "lastname": "Baumeister",
        "about": "builds",
        "has_avatar": True,
        "last_updated_timestamp": "1700000000123",
    },
}

#: a contact signal-cli knows next to nothing about
BARE_ENTRY = {
    "number": THIRD,
    "uuid": uuid_for(THIRD),
    "name": "",
    "profile_name": "",
    "username": "",
    "color": "",
    "blocked": False,
    "message_expiration": "0",
    "note": "",
    "given_name": "",
    "nickname": {"name": None, "given_name": None, "family_name": None},
    "profile": {
        "given_name": None,
        "lastname": None,
        "about": None,
        "has_avatar": False,
        "last_updated_timestamp": "0",
    },
}


@pytest.fixture
def contacts(fake):
    """OTHER with every field, THIRD bare, and a hidden NEW."""
    fake.add_contact(ACCOUNT, OTHER, **FULL)
    fake.add_contact(ACCOUNT, THIRD)
    fake.add_contact(ACCOUNT, NEW, isHidden=True)


def set_contact_avatar(fake, key, data):
    fake.update(lambda state: state["accounts"][ACCOUNT]["contact_avatars"].__setitem__(key, b64(data)))


# --- list ------------------------------------------------------------------------------------------------------


def test_list_contacts(client, fake, contacts):
    response = client.get(f"/v1/contacts/{ACCOUNT}")
    assert response.status_code == 200
    assert response.get_json() == [FULL_ENTRY, BARE_ENTRY]
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["listContacts", "--detailed"]


@pytest.mark.parametrize("value", ["true", "True", "1"])
def test_list_all_recipients(client, fake, contacts, value):
    response = client.get(f"/v1/contacts/{ACCOUNT}?all_recipients={value}")
    assert response.status_code == 200
    assert [entry["number"] for entry in response.get_json()] == [OTHER, THIRD, NEW]
    assert words(last_run(fake)) == ["listContacts", "--detailed", "--all-recipients"]


def test_list_all_recipients_false(client, fake, contacts):
    assert len(client.get(f"/v1/contacts/{ACCOUNT}?all_recipients=false").get_json()) == 2
    assert words(last_run(fake)) == ["listContacts", "--detailed"]


def test_no_contacts(client, fake):
    assert client.get(f"/v1/contacts/{ACCOUNT}").get_json() == []


def test_contact_without_a_number(client, fake):
    fake.add_contact(ACCOUNT, THIRD)
    fake.update(lambda state: state["accounts"][ACCOUNT]["contacts"][0].update(number=None, uuid=UUID))
    assert client.get(f"/v1/contacts/{ACCOUNT}").get_json() == [{**BARE_ENTRY, "number": None, "uuid": UUID}]


@pytest.mark.parametrize("query", ["all_recipients=perhaps", "all_recipients=--all-recipients"])
def test_list_bad_query(validation_client, query):
    assert_error(validation_client.get(f"/v1/contacts/{ACCOUNT}?{query}"), 400, field="all_recipients")


def test_list_of_an_unregistered_account(client, fake):
    fake.add_account(NEW, registered=False)
    assert_error(client.get(f"/v1/contacts/{NEW}"), 400, "not registered")


# --- one contact --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path_id", "passed"),
    [
        (uuid_for(OTHER).upper(), uuid_for(OTHER)),
        (f"%2B{OTHER[1:]}", OTHER),
    ],
)
def test_get_contact(client, fake, contacts, path_id, passed):
    response = client.get(f"/v1/contacts/{ACCOUNT}/{path_id}")
    assert response.status_code == 200
    assert response.get_json() == FULL_ENTRY
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["listContacts", "--detailed", "--all-recipients", "--", passed]


def test_get_hidden_contact(client, fake, contacts):
    # a hidden contact is still a contact the account knows
    assert client.get(f"/v1/contacts/{ACCOUNT}/{NEW}").get_json()["number"] == NEW


@pytest.mark.parametrize("path_id", ["+4915199999999", "c0ffee00-0000-4000-8000-000000000000"])
def test_get_unknown_contact_is_404(client, fake, contacts, path_id):
    assert_error(client.get(f"/v1/contacts/{ACCOUNT}/{path_id}"), 404, path_id)


@pytest.mark.parametrize(
    "path_id", ["-a", "--all-recipients", "+49abc", "u:alice.42", api_group_id(b64(bytes(32))), "abc"]
)
def test_get_contact_bad_id(validation_client, path_id):
    assert_error(validation_client.get(f"/v1/contacts/{ACCOUNT}/{path_id}"), 400)


# --- avatar --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "content_type"), [(PNG, "image/png"), (b"???", "application/octet-stream")])
def test_contact_avatar(client, fake, data, content_type):
    set_contact_avatar(fake, OTHER, data)
    response = client.get(f"/v1/contacts/{ACCOUNT}/{OTHER}/avatar")
    assert response.status_code == 200
    assert response.content_type == content_type
    assert response.data == data
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["getAvatar", f"--contact={OTHER}"]


def test_contact_avatar_by_uuid(client, fake):
    set_contact_avatar(fake, UUID, PNG)
    response = client.get(f"/v1/contacts/{ACCOUNT}/{UUID.upper()}/avatar")
    assert response.status_code == 200
    assert response.data == PNG
    assert words(last_run(fake)) == ["getAvatar", f"--contact={UUID}"]


def test_no_contact_avatar_is_404(client, fake, contacts):
    assert_error(client.get(f"/v1/contacts/{ACCOUNT}/{OTHER}/avatar"), 404)


@pytest.mark.parametrize("path_id", ["-c", "+49abc", "u:alice.42"])
def test_contact_avatar_bad_id(validation_client, path_id):
    assert_error(validation_client.get(f"/v1/contacts/{ACCOUNT}/{path_id}/avatar"), 400)


# --- update -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected_words"),
    [
        ({"recipient": OTHER}, ["updateContact", "--", OTHER]),
        ({"recipient": OTHER, "expiration_in_seconds": 0}, ["updateContact", "--expiration=0", "--", OTHER]),
        (
            {"recipient": OTHER[1:], "name": "-n Bob", "expiration_in_seconds": 604800},
            ["updateContact", "--name=-n Bob", "--expiration=604800", "--", OTHER],
        ),
        ({"recipient": UUID.upper(), "name": "Ünïcode 🙂"}, ["updateContact", "--name=Ünïcode 🙂", "--", UUID]),
    ],
)
def test_update_contact(client, fake, body, expected_words):
    response = client.put(f"/v1/contacts/{ACCOUNT}", json=body)
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == expected_words


def test_update_contact_changes_it(client, fake, contacts):
    body = {"recipient": OTHER, "name": "Robert", "expiration_in_seconds": 60}
    assert client.put(f"/v1/contacts/{ACCOUNT}", json=body).status_code == 204
    entry = client.get(f"/v1/contacts/{ACCOUNT}/{OTHER}").get_json()
    assert (entry["given_name"], entry["message_expiration"]) == ("Robert", "60")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "recipient"),
        ({"recipient": None, "name": "x"}, "recipient"),
        ({"recipient": "-n"}, "recipient"),
        ({"recipient": "+49abc"}, "recipient"),
        ({"recipient": "u:alice.42"}, "recipient"),
        ({"recipient": api_group_id(b64(bytes(32)))}, "recipient"),
        ({"recipient": OTHER, "name": "a\0b"}, "name"),
        ({"recipient": OTHER, "name": "x" * 257}, "name"),
        ({"recipient": OTHER, "name": 5}, "name"),
        ({"recipient": OTHER, "expiration_in_seconds": -1}, "expiration_in_seconds"),
        ({"recipient": OTHER, "expiration_in_seconds": "an hour"}, "expiration_in_seconds"),
        ({"recipient": OTHER, "expiration_in_seconds": 2**31}, "expiration_in_seconds"),
        # not silently cut to 1 second
        ({"recipient": OTHER, "expiration_in_seconds": 1.5}, "expiration_in_seconds"),
    ],
)
def test_update_contact_bad_input(validation_client, body, field):
    assert_error(validation_client.put(f"/v1/contacts/{ACCOUNT}", json=body), 400, field=field)


def test_update_contact_on_a_linked_device(client, fake):
    fake.add_account(ACCOUNT, device_id=2)
    assert_error(client.put(f"/v1/contacts/{ACCOUNT}", json={"recipient": OTHER, "name": "x"}), 400, "linked devices")


# --- sync ---------------------------------------------------------------------------------------------------------


def test_sync(client, fake):
    response = client.post(f"/v1/contacts/{ACCOUNT}/sync")
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["sendContacts"]
    assert len(fake.sent_messages(command="sendContacts")) == 1


def test_sync_network_failure(client, fake):
    fake.add_fault(command="sendContacts", exit=3, stderr="Failed to sync contacts: Connection closed (IOException)")
    assert_error(client.post(f"/v1/contacts/{ACCOUNT}/sync"), 502)


# --- every route -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("put", ""), ("get", f"/{OTHER}"), ("get", f"/{OTHER}/avatar"), ("post", "/sync")],
)
@pytest.mark.parametrize("number", ["+49abc", "-a"])
def test_bad_number(validation_client, method, suffix, number):
    assert_error(
        getattr(validation_client, method)(f"/v1/contacts/{number}{suffix}", json={"recipient": OTHER}), 400, number
    )
