"""Groups: list, show, create, change (PUT/PATCH), delete, join and quit, with ids in every form;
block, members, admins, avatar and pinned messages."""

import base64
import os
from urllib.parse import quote

import pytest
from fake_signal_cli import uuid_for
from helpers import (
    ACCOUNT,
    OTHER,
    THIRD,
    UUID,
    add_group_with_id,
    api_group_id,
    assert_error,
    assert_newer_command,
    b64,
    last_run,
    newer_signal_cli,
    release_at_least,
    words,
)

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

FOURTH = "+4915100000003"
#: raw ids with '/' and '+' in them: inside, and at the very start
SLASHED_GROUP = b64(b"\x01\xbf\xfe" + bytes(29))
LEADING_SLASH_GROUP = b64(b"\xff" * 32)
UNKNOWN_GROUP = b64(bytes(32))
INVITE_LINK = "https://signal.group/#" + base64.urlsafe_b64encode(bytes(range(200, 248))).decode().rstrip("=")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(24)
GIF = b"GIF89a" + bytes(24)
TIMESTAMP = 1732630000123
#: SLASHED_GROUP in the standard API's form
API_GROUP = api_group_id(SLASHED_GROUP)
#: every form of SLASHED_GROUP a path may carry
PATH_FORMS = [SLASHED_GROUP, quote(API_GROUP, safe="")]


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
        "id": API_GROUP,
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
        API_GROUP,
        quote(API_GROUP, safe=""),
        API_GROUP[len("group.") :],
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
    entry = client.get(f"/v1/groups/{ACCOUNT}/{API_GROUP}?expand=true").get_json()
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
    ({"members": [API_GROUP]}, "members[0]"),
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
        f"/v1/groups/{ACCOUNT}/{API_GROUP}",
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
    response = client.patch(f"/v1/groups/{ACCOUNT}/{API_GROUP}", json={"name": "Renamed", "description": "About"})
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
        ({"member_label": "x" * 101}, "member_label"),
        ({"member_label": "a\0b"}, "member_label"),
        ({"member_label_emoji": 7}, "member_label_emoji"),
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
    response = client.post(f"/v1/groups/{ACCOUNT}/{API_GROUP}/join")
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
    assert_error(validation_client.get(f"/v1/groups/{number}/{API_GROUP}"), 400, number)


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


@pytest.fixture
def small_group(fake):
    """A group of ACCOUNT (admin) and OTHER, with the id SLASHED_GROUP."""
    return add_group_with_id(fake, SLASHED_GROUP, members=[OTHER])


def numbers(people):
    """The phone numbers of a fake group's ``members`` or ``admins``."""
    return [person["number"] for person in people]


def set_group_avatar(fake, data, group_id=SLASHED_GROUP):
    """Store ``data`` as the avatar of the fake's group ``group_id``."""
    fake.update(lambda state: state["accounts"][ACCOUNT]["group_avatars"].__setitem__(group_id, b64(data)))


# --- block --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", PATH_FORMS)
def test_block(client, fake, small_group, form):
    response = client.post(f"/v1/groups/{ACCOUNT}/{form}/block")
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["block", "-g", SLASHED_GROUP, "--"]
    assert fake_group(fake, SLASHED_GROUP)["isBlocked"] is True
    assert fake.account(ACCOUNT)["blocked"]["groups"] == [SLASHED_GROUP]


@pytest.mark.parametrize("path_id", ["-g", "group.abc", OTHER, "u:alice.42"])
def test_block_bad_group_id(validation_client, path_id):
    assert_error(validation_client.post(f"/v1/groups/{ACCOUNT}/{path_id}/block"), 400)


# --- members and admins -----------------------------------------------------------------------------------

CHANGES = [
    ("post", "members", "--member"),
    ("delete", "members", "--remove-member"),
    ("post", "admins", "--admin"),
    ("delete", "admins", "--remove-admin"),
]


def change(client, method, key, people, group_id=API_GROUP, number=ACCOUNT):
    return getattr(client, method)(f"/v1/groups/{number}/{group_id}/{key}", json={key: people})


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_argv(client, fake, small_group, method, key, option):
    response = change(client, method, key, [THIRD, UUID.upper(), OTHER[1:]])
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["updateGroup", "-g", SLASHED_GROUP, option, THIRD, UUID, OTHER]


@pytest.mark.parametrize("form", PATH_FORMS)
def test_add_and_remove_members(client, fake, small_group, form):
    assert change(client, "post", "members", [THIRD], group_id=form).status_code == 204
    assert numbers(fake_group(fake, SLASHED_GROUP)["members"]) == [ACCOUNT, OTHER, THIRD]
    assert change(client, "delete", "members", [OTHER], group_id=form).status_code == 204
    assert numbers(fake_group(fake, SLASHED_GROUP)["members"]) == [ACCOUNT, THIRD]


def test_add_and_remove_admins(client, fake, small_group):
    assert change(client, "post", "admins", [OTHER]).status_code == 204
    assert numbers(fake_group(fake, SLASHED_GROUP)["admins"]) == [ACCOUNT, OTHER]
    assert words(last_run(fake)) == ["updateGroup", "-g", SLASHED_GROUP, "--admin", OTHER]
    assert change(client, "delete", "admins", [OTHER]).status_code == 204
    assert numbers(fake_group(fake, SLASHED_GROUP)["admins"]) == [ACCOUNT]


def test_members_by_uuid(client, fake, small_group):
    fake.add_user(THIRD)
    assert change(client, "post", "members", [uuid_for(THIRD)]).status_code == 204
    assert fake_group(fake, SLASHED_GROUP)["members"][-1] == {"number": THIRD, "uuid": uuid_for(THIRD)}


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_in_an_unknown_group_is_404(client, fake, method, key, option):
    assert_error(change(client, method, key, [OTHER], group_id=api_group_id(UNKNOWN_GROUP)), 404)
    assert words(last_run(fake)) == ["updateGroup", "-g", UNKNOWN_GROUP, option, OTHER]


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_in_a_group_the_account_left(client, fake, method, key, option):
    add_group_with_id(fake, SLASHED_GROUP, members=[OTHER], isMember=False)
    assert_error(change(client, method, key, [THIRD]), 400, "not a member")


def test_adding_an_unregistered_user(client, fake, small_group):
    fake.add_user(THIRD, registered=False)
    assert_error(change(client, "post", "members", [THIRD]), 400, THIRD)
    assert numbers(fake_group(fake, SLASHED_GROUP)["members"]) == [ACCOUNT, OTHER]


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
@pytest.mark.parametrize(
    "people",
    [
        None,
        [],
        OTHER,
        ["-m"],
        ["--remove-member"],
        [OTHER, "+49abc"],
        ["u:alice.42"],
        [API_GROUP],
        [5],
        [[OTHER]],
        [OTHER] * 1001,
    ],
)
def test_change_bad_people(validation_client, method, key, option, people):
    assert_error(change(validation_client, method, key, people), 400, field=key)


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_uses_its_own_key(validation_client, method, key, option):
    # "members" for the admins route (and the other way round) is no list of admins
    other_key = "admins" if key == "members" else "members"
    response = getattr(validation_client, method)(
        f"/v1/groups/{ACCOUNT}/{SLASHED_GROUP}/{key}", json={other_key: [OTHER]}
    )
    assert_error(response, 400, field=key)


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
@pytest.mark.parametrize(("number", "group_id"), [("-a", API_GROUP), (ACCOUNT, "-g"), (ACCOUNT, "group.x")])
def test_change_bad_path(validation_client, method, key, option, number, group_id):
    assert_error(change(validation_client, method, key, [OTHER], group_id=group_id, number=number), 400)


# --- avatar -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(JPEG, "image/jpeg"), (GIF, "image/gif"), (b"no known magic", "application/octet-stream")],
)
def test_avatar(client, fake, small_group, data, content_type):
    set_group_avatar(fake, data)
    response = client.get(f"/v1/groups/{ACCOUNT}/{API_GROUP}/avatar")
    assert response.status_code == 200
    assert response.content_type == content_type
    assert response.data == data
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["getAvatar", f"--group-id={SLASHED_GROUP}"]


@pytest.mark.parametrize("form", PATH_FORMS)
def test_avatar_path_forms(client, fake, small_group, form):
    set_group_avatar(fake, PNG)
    response = client.get(f"/v1/groups/{ACCOUNT}/{form}/avatar")
    assert response.status_code == 200
    assert response.content_type == "image/png"
    assert response.data == PNG


def test_no_avatar_is_404(client, fake, small_group):
    assert_error(client.get(f"/v1/groups/{ACCOUNT}/{API_GROUP}/avatar"), 404)
    assert words(last_run(fake)) == ["getAvatar", f"--group-id={SLASHED_GROUP}"]


def test_avatar_of_an_unknown_group_is_404(client, fake):
    assert_error(client.get(f"/v1/groups/{ACCOUNT}/{api_group_id(UNKNOWN_GROUP)}/avatar"), 404)


@pytest.mark.service_modes("normal")
def test_avatar_that_is_not_base64_is_502(client, fake, small_group):
    fake.add_fault(command="getAvatar", stdout='{"data": "not base64!"}\n')
    body = assert_error(client.get(f"/v1/groups/{ACCOUNT}/{SLASHED_GROUP}/avatar"), 502)
    assert "not base64!" not in body["message"]


@pytest.mark.parametrize(("number", "group_id"), [("-a", SLASHED_GROUP), (ACCOUNT, "-g"), (ACCOUNT, "--group-id=x")])
def test_avatar_bad_path(validation_client, number, group_id):
    assert_error(validation_client.get(f"/v1/groups/{number}/{group_id}/avatar"), 400)


def test_avatar_of_an_unregistered_account(client, fake):
    fake.add_account("+4915122222222", registered=False)
    assert_error(client.get(f"/v1/groups/+4915122222222/{SLASHED_GROUP}/avatar"), 400, "not registered")


# --- pinned messages (signal-cli >= 0.14.0) -------------------------------------------------------------------

PIN = {"target_author": OTHER, "timestamp": TIMESTAMP}


def pin(client, method="post", group_id=API_GROUP, number=ACCOUNT, **body):
    return getattr(client, method)(f"/v1/groups/{number}/{group_id}/pin-message", json={**PIN, **body})


@pytest.mark.parametrize("method", ["post", "delete"])
def test_pin_needs_signal_cli_0_14_0(client, fake, fake_version, small_group, method):
    response = pin(client, method)
    if release_at_least(fake_version, "0.14.0"):
        assert response.status_code == 201, response.get_json()
        command = "sendPinMessage" if method == "post" else "sendUnpinMessage"
        record = fake.sent_messages(command=command)[-1]
        assert (record["target_author"], record["target_timestamp"]) == (OTHER, TIMESTAMP)
        assert response.get_json() == {"timestamp": str(record["timestamp"])}
        return
    assert_error(response, 501, "0.14.0", fake_version)
    assert fake.log() == []


@pytest.mark.parametrize("version", ["0.13.22", "0.13.99"])
def test_pin_needs_more_than_the_poll_version(app, client, fake, small_group, monkeypatch, version):
    newer_signal_cli(app, monkeypatch, version)
    assert_error(pin(client), 501, "0.14.0", version)
    assert fake.log() == []


@pytest.mark.parametrize(
    ("method", "body", "expected_words"),
    [
        (
            "post",
            {},
            [
                "sendPinMessage",
                f"--target-author={OTHER}",
                f"--target-timestamp={TIMESTAMP}",
                "-g",
                SLASHED_GROUP,
                "--",
            ],
        ),
        (
            "post",
            {"duration": 3600, "timestamp": str(TIMESTAMP)},
            [
                "sendPinMessage",
                f"--target-author={OTHER}",
                f"--target-timestamp={TIMESTAMP}",
                "--pin-duration=3600",
                "-g",
                SLASHED_GROUP,
                "--",
            ],
        ),
        (
            "delete",
            {"duration": 3600},
            [
                "sendUnpinMessage",
                f"--target-author={OTHER}",
                f"--target-timestamp={TIMESTAMP}",
                "-g",
                SLASHED_GROUP,
                "--",
            ],
        ),
        (
            "post",
            {"target_author": UUID.upper()},
            ["sendPinMessage", f"--target-author={UUID}", f"--target-timestamp={TIMESTAMP}", "-g", SLASHED_GROUP, "--"],
        ),
    ],
)
def test_pin_argv_with_a_newer_signal_cli(
    app, client, fake, fake_version, small_group, monkeypatch, method, body, expected_words
):
    newer_signal_cli(app, monkeypatch)
    response = pin(client, method, group_id=SLASHED_GROUP, **body)
    # the 0.13.19 fake does not know the subcommand: a parse error, exit 1 -> 400
    assert_newer_command(response, fake_version, expected_words[0], "0.14.0", 201)
    if release_at_least(fake_version, "0.14.0") and method == "post":
        assert fake.sent_messages(command="sendPinMessage")[-1]["pin_duration"] == body.get("duration", -1)
    run = last_run(fake)
    # (the 0.13.19 fake cannot parse the subcommand, so it records no account of its own)
    assert ACCOUNT in (run["account"], *run["argv"])
    assert words(run) == expected_words


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target_author": None}, "target_author"),
        ({"target_author": "-a"}, "target_author"),
        ({"target_author": "+49abc"}, "target_author"),
        ({"target_author": API_GROUP}, "target_author"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "-1"}, "timestamp"),
        ({"timestamp": 0}, "timestamp"),
        ({"timestamp": "noon"}, "timestamp"),
        ({"duration": 0}, "duration"),
        ({"duration": -60}, "duration"),
        ({"duration": "forever"}, "duration"),
        ({"duration": 2**31}, "duration"),
    ],
)
def test_pin_bad_input(validation_client, method, fields, field):
    body = {key: value for key, value in {**PIN, **fields}.items() if value is not None}
    response = validation_client.open(f"/v1/groups/{ACCOUNT}/{API_GROUP}/pin-message", method=method.upper(), json=body)
    assert_error(response, 400, field=field)


# --- member labels (signal-cli >= 0.14.1) ----------------------------------------------------------------------


def test_member_label(app, client, fake, fake_version, small_group):
    body = {"member_label": "-Ops lead", "member_label_emoji": "🛠"}
    response = client.put(f"/v1/groups/{ACCOUNT}/{API_GROUP}", json=body)
    if not release_at_least(fake_version, "0.14.1"):
        assert_error(response, 501, "The --member-label option of updateGroup needs signal-cli 0.14.1", fake_version)
        assert fake.log() == []
        return
    assert response.status_code == 204, response.get_json()
    # free text in the --name=value form: a label starting with '-' is data
    assert words(last_run(fake)) == [
        "updateGroup",
        "-g",
        SLASHED_GROUP,
        "--member-label=-Ops lead",
        "--member-label-emoji=🛠",
    ]
    # signal-cli now lists the members as objects with isAdmin and the label; the entries keep the
    # standard API's shape (numbers, or number and UUID with expand=true)
    (printed,) = app.extensions["signal_rest.signal_cli"].list_groups(ACCOUNT)
    mine = next(member for member in printed["members"] if member["number"] == ACCOUNT)
    assert (mine["label"], mine["labelEmoji"], mine["isAdmin"]) == ("-Ops lead", "🛠", True)
    (entry,) = client.get(f"/v1/groups/{ACCOUNT}?expand=true").get_json()
    assert {"number": ACCOUNT, "uuid": uuid_for(ACCOUNT)} in entry["members"]
    assert all(set(member) == {"number", "uuid"} for member in entry["members"] + entry["admins"])
    (entry,) = client.get(f"/v1/groups/{ACCOUNT}").get_json()
    assert ACCOUNT in entry["members"] and ACCOUNT in entry["admins"]
