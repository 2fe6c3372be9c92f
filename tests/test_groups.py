"""Groups: list, show, create, change (PUT/PATCH), delete, join and quit, with ids in every form."""

import base64
import os
from urllib.parse import quote

import pytest
from fake_signal_cli import uuid_for
from helpers import ACCOUNT, OTHER, THIRD, UUID, add_group_with_id, api_group_id, assert_error, b64, last_run, words

FOURTH = "+4915100000003"
#: raw ids with '/' and '+' in them: inside, and at the very start
SLASHED_GROUP = b64(b"\x01\xbf\xfe" + bytes(29))
LEADING_SLASH_GROUP = b64(b"\xff" * 32)
UNKNOWN_GROUP = b64(bytes(32))
INVITE_LINK = "https://signal.group/#" + base64.urlsafe_b64encode(bytes(range(200, 248))).decode().rstrip("=")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


@pytest.fixture
def group(fake):
    """A group of ACCOUNT with every field set (its signal-cli id)."""
    fake.add_user(THIRD)
    return add_group_with_id(
        fake,
        SLASHED_GROUP,
        name="Team",
        members=[OTHER, THIRD],
        admins=[ACCOUNT, OTHER],
        description=None,
        groupInviteLink=INVITE_LINK,
        permissionAddMember="ONLY_ADMINS",
        permissionSendMessage="ONLY_ADMINS",
        messageExpirationTime=3600,
        pendingMembers=[{"number": None, "uuid": UUID}],
        requestingMembers=[{"number": FOURTH, "uuid": uuid_for(FOURTH)}],
    )


def expected_entry(**changes):
    """The entry of the ``group`` fixture, as both APIs describe it."""
    entry = {
        "id": api_group_id(SLASHED_GROUP),
        "internal_id": SLASHED_GROUP,
        "name": "Team",
        "description": "",
        "members": [ACCOUNT, OTHER, THIRD],
        "blocked": False,
        "member": True,
        "pending_invites": [UUID],
        "pending_requests": [FOURTH],
        "invite_link": INVITE_LINK,
        "admins": [ACCOUNT, OTHER],
        "permissions": {"add_members": "only-admins", "edit_group": "every-member", "send_messages": "only-admins"},
        "message_expiration_timer": 3600,
    }
    entry.update(changes)
    return entry


def assert_entry(entry, expected):
    """``entry`` has every field of ``expected`` with the same value (and type)."""
    assert {key: entry.get(key) for key in expected} == expected
    assert all(type(entry[key]) is type(value) for key, value in expected.items())


def fake_group(fake, group_id):
    """The fake's listGroups entry of ``group_id``, or None."""
    return next((g for g in fake.account(ACCOUNT)["groups"] if g["id"] == group_id), None)


# --- list and show ----------------------------------------------------------------------------------


def test_list_groups(client, fake, group):
    response = client.get(f"/v1/groups/{ACCOUNT}")
    assert response.status_code == 200
    (entry,) = response.get_json()
    assert_entry(entry, expected_entry())
    assert words(last_run(fake)) == ["listGroups"]


def test_list_groups_expanded(client, group):
    (entry,) = client.get(f"/v1/groups/{ACCOUNT}?expand=true").get_json()
    assert entry["members"] == [
        {"number": ACCOUNT, "uuid": uuid_for(ACCOUNT)},
        {"number": OTHER, "uuid": uuid_for(OTHER)},
        {"number": THIRD, "uuid": uuid_for(THIRD)},
    ]
    assert entry["pending_invites"] == [{"number": None, "uuid": UUID}]
    assert entry["admins"] == [
        {"number": ACCOUNT, "uuid": uuid_for(ACCOUNT)},
        {"number": OTHER, "uuid": uuid_for(OTHER)},
    ]


def test_nulls_become_empty_strings(client, fake):
    group_id = fake.add_group(ACCOUNT, name=None)
    (entry,) = client.get(f"/v1/groups/{ACCOUNT}").get_json()
    assert_entry(
        entry,
        {
            "id": api_group_id(group_id),
            "name": "",
            "description": "",
            "invite_link": "",
            "permissions": dict.fromkeys(("add_members", "edit_group", "send_messages"), "every-member"),
            "message_expiration_timer": 0,
            "pending_invites": [],
            "pending_requests": [],
        },
    )


def test_no_groups(client):
    response = client.get(f"/v1/groups/{ACCOUNT}/")
    assert response.status_code == 200
    assert response.get_json() == []


@pytest.mark.parametrize(
    "path_id",
    [
        api_group_id(SLASHED_GROUP),
        quote(api_group_id(SLASHED_GROUP), safe=""),
        api_group_id(SLASHED_GROUP)[len("group.") :],
        SLASHED_GROUP,
        quote(SLASHED_GROUP, safe=""),
    ],
)
def test_show_group(client, fake, group, path_id):
    response = client.get(f"/v1/groups/%2B{ACCOUNT[1:]}/{path_id}")
    assert response.status_code == 200, response.get_json()
    assert_entry(response.get_json(), expected_entry())
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["listGroups", "-g", SLASHED_GROUP]


def test_show_group_expanded(client, group):
    entry = client.get(f"/v1/groups/{ACCOUNT}/{api_group_id(SLASHED_GROUP)}?expand=true").get_json()
    assert entry["pending_requests"] == [{"number": FOURTH, "uuid": uuid_for(FOURTH)}]


@pytest.mark.parametrize("path_id", [LEADING_SLASH_GROUP, quote(LEADING_SLASH_GROUP, safe="")])
def test_raw_id_that_starts_with_a_slash(client, fake, path_id):
    # 1 in 64 raw ids starts with '/': the path then holds '//', which routing must neither merge nor refuse
    add_group_with_id(fake, LEADING_SLASH_GROUP)
    response = client.get(f"/v1/groups/{ACCOUNT}/{path_id}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["internal_id"] == LEADING_SLASH_GROUP
    assert client.post(f"/v1/groups/{ACCOUNT}/{path_id}/quit").status_code == 204
    assert words(last_run(fake)) == ["quitGroup", "-g", LEADING_SLASH_GROUP]


@pytest.mark.parametrize(
    ("method", "suffix", "command", "shown_id"),
    [
        ("get", "", "listGroups", api_group_id(UNKNOWN_GROUP)),
        ("put", "", "updateGroup", UNKNOWN_GROUP),
        ("patch", "", "updateGroup", UNKNOWN_GROUP),
        ("delete", "", "quitGroup", UNKNOWN_GROUP),
        ("post", "/quit", "quitGroup", UNKNOWN_GROUP),
        ("post", "/join", "updateGroup", UNKNOWN_GROUP),
    ],
)
def test_unknown_group_is_404(client, fake, group, method, suffix, command, shown_id):
    response = getattr(client, method)(
        f"/v1/groups/{ACCOUNT}/{api_group_id(UNKNOWN_GROUP)}{suffix}", json={"name": "N"}
    )
    assert_error(response, 404, shown_id)
    assert words(last_run(fake))[:3] == [command, "-g", UNKNOWN_GROUP]


# --- create -----------------------------------------------------------------------------------------


def test_create_group(client, fake, no_leftovers):
    fake.add_user(THIRD)
    response = client.post(
        f"/v1/groups/{ACCOUNT}",
        json={
            "name": "--Team",
            "members": [OTHER, UUID.upper()],
            "description": "-d --description",
            "permissions": {"add_members": "only-admins", "edit_group": "every-member", "send_messages": "only-admins"},
            "group_link": "enabled-with-approval",
            "admins": [OTHER],
            "base64_avatar": f"data:image/png;filename=avatar.png;base64,{b64(PNG)}",
            "expiration_time": 60,
        },
    )
    assert response.status_code == 201
    run = last_run(fake)
    (created,) = fake.account(ACCOUNT)["groups"]
    assert response.get_json() == {
        "id": api_group_id(created["id"]),
        "group_id": api_group_id(created["id"]),
        "internal_id": created["id"],
    }
    avatar = run["options"]["avatar"]
    assert words(run) == [
        "updateGroup",
        "--name=--Team",
        "--description=-d --description",
        f"--avatar={avatar}",
        "--expiration=60",
        "--link=enabled-with-approval",
        "--set-permission-add-member=only-admins",
        "--set-permission-edit-details=every-member",
        "--set-permission-send-messages=only-admins",
        "--member",
        OTHER,
        UUID,
        "--admin",
        OTHER,
    ]
    assert os.path.basename(avatar) == "avatar.png" and not os.path.exists(avatar)
    assert base64.b64decode(fake.account(ACCOUNT)["group_avatars"][created["id"]]) == PNG
    assert (created["name"], created["description"], created["messageExpirationTime"]) == (
        "--Team",
        "-d --description",
        60,
    )


@pytest.mark.parametrize(
    ("timers", "expiration"),
    [
        ({"message_expiration_timer": 30}, "30"),
        ({"message_expiration_timer": 30, "expiration_time": 60}, "60"),
        ({"expiration_time": 0}, "0"),
    ],
)
def test_create_group_expiration_timer(client, fake, timers, expiration):
    assert client.post(f"/v1/groups/{ACCOUNT}", json={"name": "T", "members": [OTHER], **timers}).status_code == 201
    assert words(last_run(fake)) == ["updateGroup", "--name=T", f"--expiration={expiration}", "--member", OTHER]


def test_create_group_with_a_name_only(client, fake):
    assert client.post(f"/v1/groups/{ACCOUNT}", json={"name": "Solo", "members": []}).status_code == 201
    assert words(last_run(fake)) == ["updateGroup", "--name=Solo"]


GROUP_FIELD_PROBLEMS = [
    ({"name": 5}, "name"),
    ({"name": "a\0b"}, "name"),
    ({"members": OTHER}, "members"),
    ({"members": ["-m"]}, "members[0]"),
    ({"members": [OTHER, "+49abc"]}, "members[1]"),
    ({"members": ["u:alice.42"]}, "members[0]"),
    ({"members": [api_group_id(SLASHED_GROUP)]}, "members[0]"),
    ({"admins": ["--admin"]}, "admins[0]"),
    ({"description": 5}, "description"),
    ({"permissions": "only-admins"}, "permissions"),
    ({"permissions": {"add_members": "everyone"}}, "permissions.add_members"),
    ({"permissions": {"send_messages": "-x"}}, "permissions.send_messages"),
    ({"group_link": "on"}, "group_link"),
    ({"group_link": "--link"}, "group_link"),
    ({"base64_avatar": "!!"}, "base64_avatar"),
    ({"expiration_time": -1}, "expiration_time"),
    ({"expiration_time": "soon"}, "expiration_time"),
    ({"message_expiration_timer": -1}, "message_expiration_timer"),
]


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"name": None}, "name"), ({"name": ""}, "name"), ({"group_link": "unchanged"}, "group_link")]
    + GROUP_FIELD_PROBLEMS,
)
def test_create_group_bad_input(validation_client, fields, field):
    body = {"name": "Team", "members": [OTHER], **fields}
    assert_error(validation_client.post(f"/v1/groups/{ACCOUNT}", json=body), 400, field=field)


def test_create_group_with_an_unregistered_member(client, fake):
    fake.add_user(THIRD, registered=False)
    response = client.post(f"/v1/groups/{ACCOUNT}", json={"name": "T", "members": [THIRD]})
    assert_error(response, 400, THIRD)


# --- change -----------------------------------------------------------------------------------------


def test_put_changes_the_group(client, fake, group, no_leftovers):
    response = client.put(
        f"/v1/groups/{ACCOUNT}/{api_group_id(SLASHED_GROUP)}",
        json={
            "name": "-New",
            "description": "--about",
            "base64_avatar": b64(PNG),
            "expiration_time": 10,
            "group_link": "disabled",
            "permissions": {"edit_group": "only-admins"},
            "add_members": [FOURTH],
            "add_admins": [THIRD],
        },
    )
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    avatar = run["options"]["avatar"]
    assert words(run) == [
        "updateGroup",
        "-g",
        SLASHED_GROUP,
        "--name=-New",
        "--description=--about",
        f"--avatar={avatar}",
        "--expiration=10",
        "--link=disabled",
        "--set-permission-edit-details=only-admins",
        "--member",
        FOURTH,
        "--admin",
        THIRD,
    ]
    assert not os.path.exists(avatar)
    changed = fake_group(fake, SLASHED_GROUP)
    assert (changed["name"], changed["groupInviteLink"], changed["permissionEditDetails"]) == (
        "-New",
        None,
        "ONLY_ADMINS",
    )
    assert base64.b64decode(fake.account(ACCOUNT)["group_avatars"][SLASHED_GROUP]) == PNG


def test_put_leaves_an_unchanged_link_alone(client, fake, group):
    response = client.put(f"/v1/groups/{ACCOUNT}/{SLASHED_GROUP}", json={"name": "N", "group_link": "unchanged"})
    assert response.status_code == 204
    assert words(last_run(fake)) == ["updateGroup", "-g", SLASHED_GROUP, "--name=N"]
    assert fake_group(fake, SLASHED_GROUP)["groupInviteLink"] == INVITE_LINK


def test_patch_answers_with_the_changed_group(client, fake, group):
    response = client.patch(
        f"/v1/groups/{ACCOUNT}/{api_group_id(SLASHED_GROUP)}", json={"name": "Renamed", "description": "About"}
    )
    assert response.status_code == 200
    assert_entry(response.get_json(), expected_entry(name="Renamed", description="About"))
    update, listing = fake.log()
    assert words(update) == ["updateGroup", "-g", SLASHED_GROUP, "--name=Renamed", "--description=About"]
    assert words(listing) == ["listGroups", "-g", SLASHED_GROUP]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"add_members": ["-m"]}, "add_members[0]"),
        ({"add_members": [OTHER, "bad"]}, "add_members[1]"),
        ({"add_admins": ["u:alice.42"]}, "add_admins[0]"),
        ({"add_admins": ["-a"]}, "add_admins[0]"),
        ({"group_link": "sometimes"}, "group_link"),
    ]
    + GROUP_FIELD_PROBLEMS,
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_change_group_bad_input(validation_client, method, fields, field):
    response = getattr(validation_client, method)(f"/v1/groups/{ACCOUNT}/{SLASHED_GROUP}", json=fields)
    assert_error(response, 400, field=field)


# --- delete, quit, join -------------------------------------------------------------------------------


def test_delete_group(client, fake):
    group_id = fake.add_group(ACCOUNT, members=[OTHER], admins=[ACCOUNT, OTHER])
    response = client.delete(f"/v1/groups/{ACCOUNT}/{api_group_id(group_id)}")
    assert response.status_code == 200
    assert response.data == b""
    assert words(last_run(fake)) == ["quitGroup", "-g", group_id, "--delete"]
    assert fake_group(fake, group_id) is None


def test_quit_group(client, fake):
    group_id = fake.add_group(ACCOUNT, members=[OTHER], admins=[ACCOUNT, OTHER])
    response = client.post(f"/v1/groups/{ACCOUNT}/{group_id}/quit")
    assert response.status_code == 204
    assert words(last_run(fake)) == ["quitGroup", "-g", group_id]
    assert fake_group(fake, group_id)["isMember"] is False


def test_quit_as_the_last_admin(client, fake):
    group_id = fake.add_group(ACCOUNT, members=[OTHER])
    assert_error(client.post(f"/v1/groups/{ACCOUNT}/{group_id}/quit"), 400, "--admin")
    assert fake_group(fake, group_id)["isMember"] is True


@pytest.mark.parametrize(
    "path_link",
    [
        quote(INVITE_LINK, safe=""),
        # only '#' encoded: the '//' must survive routing unmerged
        INVITE_LINK.replace("#", "%23"),
    ],
)
def test_join_through_an_invite_link(client, fake, path_link):
    other_account = "+4915111111111"
    fake.add_account(other_account)
    group_id = fake.add_group(other_account, members=[OTHER], groupInviteLink=INVITE_LINK)
    response = client.post(f"/v1/groups/{ACCOUNT}/{path_link}/join")
    assert response.status_code == 204, response.get_json()
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["joinGroup", f"--uri={INVITE_LINK}"]
    assert fake_group(fake, group_id)["isMember"] is True


def test_join_by_group_id(client, fake, group):
    response = client.post(f"/v1/groups/{ACCOUNT}/{api_group_id(SLASHED_GROUP)}/join")
    assert response.status_code == 204
    assert words(last_run(fake)) == ["updateGroup", "-g", SLASHED_GROUP]


@pytest.mark.parametrize(
    "path_link",
    [
        quote("https://signal.group/#!!!", safe=""),
        quote("https://signal.group/#", safe=""),
        quote("https://evil.example/#" + INVITE_LINK[22:], safe=""),
        quote("--uri=https://signal.group/#" + INVITE_LINK[22:], safe=""),
    ],
)
def test_join_bad_link(validation_client, path_link):
    assert_error(validation_client.post(f"/v1/groups/{ACCOUNT}/{path_link}/join"), 400)


# --- bad paths and signal-cli errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("put", ""), ("patch", ""), ("delete", ""), ("post", "/quit"), ("post", "/join")],
)
@pytest.mark.parametrize("bad_id", ["group.abc", "-g", "abc", b64(b"x" * 20), quote("--group-id=x", safe="")])
def test_bad_group_id(validation_client, method, suffix, bad_id):
    response = getattr(validation_client, method)(f"/v1/groups/{ACCOUNT}/{bad_id}{suffix}", json={"name": "N"})
    assert_error(response, 400)


@pytest.mark.parametrize("number", ["+49abc", "-a", "12"])
def test_bad_number(validation_client, number):
    assert_error(validation_client.get(f"/v1/groups/{number}"), 400, number)
    assert_error(validation_client.post(f"/v1/groups/{number}", json={"name": "N"}), 400, number)
    assert_error(validation_client.get(f"/v1/groups/{number}/{api_group_id(SLASHED_GROUP)}"), 400, number)


@pytest.mark.parametrize("expand", ["maybe", "2"])
def test_bad_expand(validation_client, expand):
    assert_error(validation_client.get(f"/v1/groups/{ACCOUNT}?expand={expand}"), 400, field="expand")


def test_unregistered_account(client):
    assert_error(client.get("/v1/groups/+4915111111111"), 400, "is not registered")


def test_signal_cli_failure_while_creating(client, fake):
    fake.add_fault(command="updateGroup", exit=3, stderr="Failed to create group: Closed unexpectedly")
    body = {"name": "T", "base64_avatar": b64(PNG)}
    assert_error(client.post(f"/v1/groups/{ACCOUNT}", json=body), 502)
    assert not os.path.exists(last_run(fake)["options"]["avatar"])
