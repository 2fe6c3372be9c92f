"""Profiles: name, about text and avatar of the account."""

import base64
import os
from pathlib import Path

import pytest
from helpers import ACCOUNT, assert_error, b64, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(48))


def put_profile(client, **body):
    return client.put(f"/v1/profiles/{ACCOUNT}", json=body)


def profile(fake):
    return fake.account(ACCOUNT)["profile"]


def test_update_profile(client, fake):
    response = put_profile(client, name="-Alice", family_name="--Smith", about="-h about me")
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["updateProfile", "--given-name=-Alice", "--family-name=--Smith", "--about=-h about me"]
    assert profile(fake) == {"givenName": "-Alice", "familyName": "--Smith", "about": "-h about me"}


def test_avatar(client, fake, attachment_dir):
    response = put_profile(client, name="Alice", base64_avatar=f"data:image/jpeg;filename=me.jpg;base64,{b64(JPEG)}")
    assert response.status_code == 204
    run = last_run(fake)
    avatar = run["options"]["avatar"]
    assert words(run) == ["updateProfile", "--given-name=Alice", f"--avatar={avatar}"]
    assert Path(avatar).name == "me.jpg" and Path(avatar).is_relative_to(attachment_dir)
    assert not os.path.exists(avatar)
    assert base64.b64decode(profile(fake)["avatar"]) == JPEG


@pytest.mark.parametrize(
    ("body", "kept"), [({}, True), ({"remove_avatar": False}, True), ({"remove_avatar": True}, False)]
)
def test_avatar_unchanged_unless_removed(client, fake, body, kept):
    fake.update(lambda state: state["accounts"][ACCOUNT]["profile"].update(avatar=b64(JPEG)))
    assert put_profile(client, name="Alice", **body).status_code == 204
    assert words(last_run(fake)) == ["updateProfile", "--given-name=Alice"] + ([] if kept else ["--remove-avatar"])
    assert ("avatar" in profile(fake)) is kept


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "a\0b"}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"name": "A", "family_name": 5}, "family_name"),
        ({"name": "A", "about": "x" * 513}, "about"),
        ({"name": "A", "base64_avatar": "!!"}, "base64_avatar"),
        ({"name": "A", "base64_avatar": "data:image/png;base64,@@"}, "base64_avatar"),
        ({"name": "A", "remove_avatar": "maybe"}, "remove_avatar"),
        ({"name": "A", "remove_avatar": True, "base64_avatar": b64(JPEG)}, "remove_avatar"),
    ],
)
def test_bad_input(validation_client, body, field):
    assert_error(validation_client.put(f"/v1/profiles/{ACCOUNT}", json=body), 400, field=field)


@pytest.mark.parametrize("number", ["+49abc", "--config"])
def test_bad_number(validation_client, number):
    assert_error(validation_client.put(f"/v1/profiles/{number}", json={"name": "A"}), 400, number)


def test_signal_cli_failure_removes_the_avatar_file(client, fake):
    fake.add_fault(command="updateProfile", exit=3, stderr="Update profile error: Closed unexpectedly")
    assert_error(put_profile(client, name="A", base64_avatar=b64(JPEG)), 502, "Closed unexpectedly")
    assert not os.path.exists(last_run(fake)["options"]["avatar"])


def test_unregistered_account(client):
    assert_error(client.put("/v1/profiles/+4915111111111", json={"name": "A"}), 400, "is not registered")
