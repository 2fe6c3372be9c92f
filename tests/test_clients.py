"""Real clients, unchanged, against the service served on 127.0.0.1.

* pysignalclirestapi 0.3.25 (the ``test`` extra) and 0.3.24 (Home Assistant's pin; ``make install``
  puts it in ``<venv>/clients/pysignalclirestapi-0.3.24``): every library method that maps to an
  endpoint, each version loaded from its own folder (:func:`load_library`).
* Raw replays, byte for byte, of what Home Assistant, Apprise, an n8n node and an alertmanager
  adapter send (written from what those projects' sources are known to send, not captured).

Each test asserts what the client got, and what reached signal-cli (the fake's log and sends).
"""

import base64
import functools
import http.client
import importlib
import importlib.metadata
import json
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote

import pytest
import requests
from conftest import app_settings
from fake_signal_cli import (
    ATTACHMENTS_DIR,
    LINK_TRIGGER,
    LOG_FILE,
    VERSION,
    FakeState,
    message_line,
    write_executable,
)
from helpers import ACCOUNT, OTHER, THIRD, add_group_with_id, api_group_id, b64, words
from live_server import LiveServer, Recorder
from processes import child_pids

from signal_rest import create_app

PACKAGE = "pysignalclirestapi"
#: 0.3.25 is installed by the ``test`` extra, 0.3.24 by the Makefile into its own folder
VERSIONS = ("0.3.24", "0.3.25")
INSTALLED = "0.3.25"

#: a raw group id with '/' and '+' whose ``group.`` form has neither (Apprise's group targets allow no '/')
TEAM = "Bw4VHCMqMTg/Rk1UW2JpcHd+hYyTmqGor7a9xMvS2eA="
TEAM_ID = api_group_id(TEAM)
INVITE_LINK = "https://signal.group/#CjQKIHNvbWUtZ3JvdXAtbWFzdGVyLWtleS1ieXRlcy0xMjM0NTY3OBIQc2VjcmV0LXBhc3N3b3Jk"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(48))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40))
NEW_DEVICE_ACCOUNT = "+4915100000077"


# --- the live server ---------------------------------------------------------------------------------


@dataclass
class Service:
    """The live server and what the tests look at: its URL, the recorded exchanges, the fake's config dir."""

    url: str
    host: str
    port: int
    recorder: Recorder
    config_dir: Path

    def exchanges(self, method=None, path=None):
        """The recorded exchanges, optionally only those of ``method`` and ``path``."""
        return [e for e in self.recorder.exchanges if method in (None, e.method) and path in (None, e.path)]

    def answer(self, method, path):
        """The one exchange of ``method`` on ``path`` (what the service answered)."""
        (exchange,) = self.exchanges(method, path)
        return exchange


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app from the real factory, running the fake signal-cli, served on 127.0.0.1 for this module."""
    root = tmp_path_factory.mktemp("live")
    config_dir = root / "signal-cli-config"
    config_dir.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        # `signal-cli --version` reads no --config: the fake logs it in its default dir, kept here
        # (the app copies the environment for signal-cli when it is created)
        patch.setenv("XDG_DATA_HOME", str(root / "xdg"))
        app = create_app(app_settings(write_executable(root / "bin"), config_dir, SIGNAL_REST_LINK_TIMEOUT=15))
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    with LiveServer(app) as live:
        # signal-cli's version is asked once per app: ask now, so no test sees that run in its log
        requests.get(live.url + "/v1/about", timeout=20).raise_for_status()
        yield Service(live.url, live.host, live.port, recorder, config_dir)
        app.extensions["signal_rest.signal_cli"].close()


@pytest.fixture(autouse=True)
def fake(server):
    """A clean fake for every test (state, log, attachments), with ACCOUNT registered; no exchanges yet."""
    config_dir = server.config_dir
    for name in (LOG_FILE, LINK_TRIGGER):
        (config_dir / name).unlink(missing_ok=True)
    shutil.rmtree(config_dir / ATTACHMENTS_DIR, ignore_errors=True)
    state = FakeState(config_dir)
    state.save({})
    state.add_account(ACCOUNT)
    state.add_user(OTHER)
    server.recorder.clear()
    return state


# --- the two library versions ------------------------------------------------------------------------


def library_location(version):
    """The folder holding ``pysignalclirestapi`` ``version``."""
    if version == INSTALLED:
        return Path(importlib.metadata.distribution(PACKAGE).locate_file(""))
    return Path(sys.prefix) / "clients" / f"{PACKAGE}-{version}"


@functools.cache
def load_library(version):
    """Import ``pysignalclirestapi`` ``version`` from its own folder and return its ``api`` module.

    The package imports itself by its absolute name, so it is imported under its real name with its
    folder first on sys.path, then taken out of sys.modules again: each version keeps its own module
    objects, and the other version (or a later import) is not disturbed.
    """
    location = library_location(version)
    found = [dist.version for dist in importlib.metadata.distributions(name=PACKAGE, path=[str(location)])]
    if version not in found:
        pytest.fail(f"{PACKAGE} {version} is not installed in {location}: run `make install` (found {found}).")
    mine = [name for name in sys.modules if name.split(".")[0] == PACKAGE]
    saved = {name: sys.modules.pop(name) for name in mine}
    sys.path.insert(0, str(location))
    try:
        module = importlib.import_module(f"{PACKAGE}.api")
    finally:
        sys.path.remove(str(location))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]
        sys.modules.update(saved)
    assert Path(module.__file__).is_relative_to(location)
    return module


@pytest.fixture(params=VERSIONS)
def version(request):
    """Each pysignalclirestapi version in turn."""
    return request.param


@pytest.fixture
def api(version, server, fake):
    """A SignalCliRestApi of ``version`` for ACCOUNT, talking to the live server."""
    return load_library(version).SignalCliRestApi(server.url, ACCOUNT)


@pytest.fixture
def api25(server, fake):
    """A SignalCliRestApi of 0.3.25 (for the methods 0.3.24 does not have)."""
    return load_library("0.3.25").SignalCliRestApi(server.url, ACCOUNT)


def error_class(version):
    """The library's SignalCliRestApiError."""
    return load_library(version).SignalCliRestApiError


#: every public method each version has, each driven by a test below (receive_ws: see test_receive_options)
LIBRARY_METHODS = {
    "0.3.24": {
        "about",
        "api_info",
        "has_capability",
        "mode",
        "create_group",
        "list_groups",
        "receive",
        "update_profile",
        "send_message",
        "list_attachments",
        "get_attachment",
        "delete_attachment",
        "search",
    },
}
LIBRARY_METHODS["0.3.25"] = LIBRARY_METHODS["0.3.24"] | {
    "get_group",
    "update_group",
    "delete_group",
    "join_group",
    "leave_group",
    "block_group",
    "add_group_members",
    "remove_group_members",
    "add_group_admins",
    "remove_group_admins",
    "receive_ws",
    "add_reaction",
    "remove_reaction",
    "get_contacts",
    "update_contact",
    "sync_contacts",
    "send_receipt",
    "list_indentities",
    "verify_indentity",
    "link_with_qr",
    "list_accounts",
    "add_pin",
    "remove_pin",
}


# --- what reached signal-cli -------------------------------------------------------------------------


def only_run(fake):
    """The one signal-cli run of the test (fails if there were none or several)."""
    runs = fake.log()
    assert len(runs) == 1, [run["argv"] for run in runs]
    return runs[0]


def only_words(fake):
    """The argv of the test's one signal-cli run, from its subcommand on."""
    return words(only_run(fake))


def last_send(fake):
    """What signal-cli sent last."""
    sent = fake.sent_messages()
    assert sent, "signal-cli sent nothing"
    return sent[-1]


def attachments_received(run):
    """(file name, bytes) of each attachment signal-cli read in ``run``."""
    return [(item["name"], base64.b64decode(item["data"])) for item in run["attachments"]]


def api_paths(server):
    """(method, path) of every exchange except the libraries' many GET /v1/about."""
    return [(e.method, e.path) for e in server.exchanges() if e.path != "/v1/about"]


def fake_group(fake, raw_id=TEAM):
    """The fake's listGroups entry of ``raw_id``, or None."""
    return next((g for g in fake.account(ACCOUNT)["groups"] if g["id"] == raw_id), None)


def numbers(people):
    """The numbers of listGroups members or admins."""
    return [person["number"] for person in people]


@pytest.fixture
def team(fake):
    """TEAM: ACCOUNT (admin) and OTHER."""
    return add_group_with_id(fake, TEAM, name="Team", members=[OTHER])


# --- the libraries: general --------------------------------------------------------------------------


def test_every_library_method_is_driven(version):
    module = load_library(version)
    methods = {name for name in vars(module.SignalCliRestApi) if not name.startswith("_")}
    assert methods == LIBRARY_METHODS[version]


def test_each_version_is_its_own():
    old, new = load_library("0.3.24"), load_library("0.3.25")
    assert old is not new and old.SignalCliRestApi is not new.SignalCliRestApi
    assert "notify_self" not in old.SignalCliRestApi.send_message.__code__.co_varnames
    assert "notify_self" in new.SignalCliRestApi.send_message.__code__.co_varnames


def test_about_mode_api_info_and_capabilities(api, fake, server):
    about = api.about()
    assert about["versions"] == ["v1", "v2"] and about["build"] == 2 and about["mode"] == "normal"
    assert about["signal_cli"] == VERSION
    assert api.api_info() == (["v1", "v2"], 2)
    assert api.mode() == "normal"
    assert api.has_capability("v2/send", "mentions") is True
    assert api.has_capability("v2/send", "quotes") is True
    assert api.has_capability("v2/send", "stories") is False
    assert api.has_capability("v1/send", "mentions", about=about) is False
    # the libraries ask /v1/about before nearly every call: it must never start signal-cli
    assert fake.log() == []
    assert {e.status for e in server.exchanges()} == {200}


def test_basic_auth_is_accepted_when_none_is_configured(version, server, fake):
    module = load_library(version)
    auth = module.SignalCliRestApiHTTPBasicAuth("home", "s3cret")
    api = module.SignalCliRestApi(server.url, ACCOUNT, auth=auth)
    api.send_message("Door open", [OTHER])
    exchange = server.answer("POST", "/v2/send")
    assert exchange.status == 201
    assert exchange.headers["Authorization"] == "Basic " + b64(b"home:s3cret")
    assert last_send(fake)["message"] == "Door open"


# --- the libraries: sending --------------------------------------------------------------------------


def test_send_message_with_files(api, version, fake, server, team, tmp_path):
    png, pdf = tmp_path / "plot.png", tmp_path / "report.pdf"
    png.write_bytes(PNG)
    pdf.write_bytes(PDF)
    result = api.send_message("Weekly report", [OTHER, TEAM_ID], filenames=[str(png), str(pdf)])
    run = only_run(fake)
    sent = last_send(fake)
    assert run["command"] == "send" and run["stdin"] == "Weekly report"
    assert [data for _, data in attachments_received(run)] == [PNG, PDF]
    assert sorted(sent["recipients"]) == sorted([OTHER, f"group:{TEAM}"])
    # 0.3.24 sends no notify_self (the standard API's default: true); 0.3.25 sends false by default
    assert sent["notify_self"] is (version == "0.3.24")
    body = json.loads(server.answer("POST", "/v2/send").response_body)
    assert body["timestamp"] == str(sent["timestamp"])
    assert body["timestamps"] == {body["timestamp"]: {"recipients": [OTHER, TEAM_ID]}}
    # 0.3.24 returns nothing, 0.3.25 the 201 body
    assert result == (None if version == "0.3.24" else body)


def test_send_message_with_bytes_and_no_text(api, fake):
    # a camera snapshot: Home Assistant passes downloaded images as attachments_as_bytes
    api.send_message("", [OTHER], attachments_as_bytes=[JPEG, PNG])
    run = only_run(fake)
    assert [data for _, data in attachments_received(run)] == [JPEG, PNG]
    assert last_send(fake)["message"] == ""
    assert words(run)[-2:] == ["--", OTHER]


def test_send_message_with_files_and_bytes(api, version, fake, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PDF)
    api.send_message("Both", [OTHER], filenames=[str(pdf)], attachments_as_bytes=[JPEG])
    received = [data for _, data in attachments_received(only_run(fake))]
    if version == "0.3.24":
        assert received == [JPEG, PDF]
    else:
        # broken in 0.3.25: _format_params renames both 'filenames' and 'attachments_as_bytes' to
        # 'base64_attachments', so the bytes overwrite the files, which are silently dropped
        assert received == [JPEG]


def test_send_message_with_mentions_quote_and_styles(api, fake, server):
    mention = {"start": 0, "length": 4, "author": OTHER}
    api.send_message(
        "@Bob **done**, *really* ~not~ ||late|| `v2`",
        [OTHER],
        mentions=[mention],
        quote_timestamp=1732630000123,
        quote_author=OTHER,
        quote_message="@Me are you done?",
        quote_mentions=[{"start": 0, "length": 3, "author": ACCOUNT}],
        text_mode="styled",
    )
    sent = last_send(fake)
    assert sent["message"] == "@Bob done, really not late v2"
    assert sent["mentions"] == [{"start": 0, "length": 4, "recipient": OTHER}]
    assert sent["text_styles"] == [
        {"start": 5, "length": 4, "style": "BOLD"},
        {"start": 11, "length": 6, "style": "ITALIC"},
        {"start": 18, "length": 3, "style": "STRIKETHROUGH"},
        {"start": 22, "length": 4, "style": "SPOILER"},
        {"start": 27, "length": 2, "style": "MONOSPACE"},
    ]
    assert sent["quote"]["timestamp"] == 1732630000123
    assert sent["quote"]["author"] == OTHER
    assert sent["quote"]["message"] == "@Me are you done?"
    assert sent["quote"]["mentions"] == [{"start": 0, "length": 3, "recipient": ACCOUNT}]
    request = json.loads(server.answer("POST", "/v2/send").body)
    assert request["mentions"] == [mention] and request["text_mode"] == "styled"


def test_send_message_normal_text_mode_keeps_markers(api, fake):
    api.send_message("**not bold**", [OTHER])
    sent = last_send(fake)
    assert sent["message"] == "**not bold**" and sent["text_styles"] == []


def test_send_message_notify_self(api25, fake):
    api25.send_message("to all my devices", [OTHER], notify_self=True)
    assert "--notify-self" in only_words(fake)
    assert last_send(fake)["notify_self"] is True


def test_send_message_error_reaches_the_user(api, version, fake, server):
    with pytest.raises(error_class(version)) as raised:
        api.send_message("Hi", ["+49abc"])
    answer = server.answer("POST", "/v2/send")
    assert answer.status == 400
    # the libraries show the service's "error" text
    assert str(raised.value) == json.loads(answer.response_body)["error"]
    assert "+49abc" in str(raised.value)
    assert fake.log() == []


@pytest.mark.parametrize(
    ("flags", "status", "reason", "fragments"),
    [
        ({"registered": False}, 400, "UNREGISTERED_FAILURE", ()),
        ({"untrusted": True}, 409, "IDENTITY_FAILURE", (THIRD, "/v1/identities/")),
        ({"rate_limited": "token-7"}, 429, "RATE_LIMIT_FAILURE", ("rate-limit-challenge",)),
    ],
)
def test_send_failures_reach_the_user(api, version, fake, server, flags, status, reason, fragments):
    fake.add_user(THIRD, **flags)
    with pytest.raises(error_class(version)) as raised:
        api.send_message("Hi", [THIRD])
    answer = server.answer("POST", "/v2/send")
    body = json.loads(answer.response_body)
    assert answer.status == status and str(raised.value) == body["error"]
    assert [(item["number"], item["reason"]) for item in body["errors"]["recipients"]] == [(THIRD, reason)]
    for fragment in fragments:
        assert fragment in str(raised.value)
    assert only_run(fake)["command"] == "send"


# --- the libraries: groups ---------------------------------------------------------------------------


def test_create_group(api, version, fake, server):
    fake.add_user(THIRD)
    result = api.create_group("Book club", [OTHER, THIRD])
    (group,) = fake.account(ACCOUNT)["groups"]
    assert group["name"] == "Book club" and numbers(group["members"]) == [ACCOUNT, OTHER, THIRD]
    body = json.loads(server.answer("POST", f"/v1/groups/{ACCOUNT}").response_body)
    assert body == {"id": api_group_id(group["id"]), "group_id": api_group_id(group["id"]), "internal_id": group["id"]}
    if version == "0.3.24":
        assert result == api_group_id(group["id"])
        assert only_words(fake) == ["updateGroup", "--name=Book club", "--member", OTHER, THIRD]
    else:
        # 0.3.25 always sends expiration_time 0 and group_link "disabled"
        assert result == body
        assert only_words(fake) == [
            "updateGroup",
            "--name=Book club",
            "--expiration=0",
            "--link=disabled",
            "--member",
            OTHER,
            THIRD,
        ]


def test_create_group_with_settings(api25, fake):
    result = api25.create_group(
        "Ops",
        OTHER,
        description="On call",
        expiration_time=3600,
        group_link="enabled-with-approval",
        permissions={"add_members": "only-admins", "edit_group": "only-admins"},
    )
    group = fake_group(fake, result["internal_id"])
    assert group["description"] == "On call" and group["messageExpirationTime"] == 3600
    assert group["permissionAddMember"] == "ONLY_ADMINS" and group["permissionEditDetails"] == "ONLY_ADMINS"
    assert group["groupInviteLink"].startswith("https://signal.group/#")
    argv = only_words(fake)
    for option in (
        "--description=On call",
        "--expiration=3600",
        "--link=enabled-with-approval",
        "--set-permission-add-member=only-admins",
        "--set-permission-edit-details=only-admins",
    ):
        assert option in argv
    assert argv[-2:] == ["--member", OTHER]


def test_list_groups(api, fake, team):
    (entry,) = api.list_groups()
    assert entry["id"] == TEAM_ID and entry["internal_id"] == TEAM and entry["name"] == "Team"
    assert entry["members"] == [ACCOUNT, OTHER] and entry["admins"] == [ACCOUNT]
    assert entry["blocked"] is False and entry["member"] is True
    assert only_words(fake) == ["listGroups"]


def test_get_group(api25, fake, team):
    entry = api25.get_group(TEAM_ID)
    assert entry["id"] == TEAM_ID and entry["members"] == [ACCOUNT, OTHER]
    assert only_words(fake) == ["listGroups", "-g", TEAM]


def test_get_unknown_group(api25, fake, server):
    with pytest.raises(error_class("0.3.25")) as raised:
        api25.get_group(TEAM_ID)
    assert server.answer("GET", f"/v1/groups/{ACCOUNT}/{TEAM_ID}").status == 404
    assert TEAM_ID in str(raised.value)


def test_update_group(api25, fake, team):
    api25.update_group(TEAM_ID, name="Team 2", description="Weekly", expiration_time=60, attachment_as_bytes=PNG)
    argv = only_words(fake)
    assert argv[:3] == ["updateGroup", "-g", TEAM]
    assert {"--name=Team 2", "--description=Weekly", "--expiration=60"} <= set(argv)
    assert any(word.startswith("--avatar=") for word in argv)
    group = fake_group(fake)
    assert (group["name"], group["description"], group["messageExpirationTime"]) == ("Team 2", "Weekly", 60)
    assert base64.b64decode(fake.account(ACCOUNT)["group_avatars"][TEAM]) == PNG


def test_update_group_avatar_from_file(api25, fake, team, tmp_path):
    avatar = tmp_path / "avatar.png"
    avatar.write_bytes(PNG)
    api25.update_group(TEAM_ID, filename=str(avatar))
    argv = only_words(fake)
    assert argv[:3] == ["updateGroup", "-g", TEAM] and len(argv) == 4 and argv[3].startswith("--avatar=")
    assert base64.b64decode(fake.account(ACCOUNT)["group_avatars"][TEAM]) == PNG


def test_update_group_with_file_and_bytes(api25, server, tmp_path):
    # broken in 0.3.25: its "use filename OR attachment_as_bytes" check calls six.raise_from with one
    # argument, so the user gets a TypeError instead of a SignalCliRestApiError
    with pytest.raises(TypeError):
        api25.update_group(TEAM_ID, filename=str(tmp_path / "a.png"), attachment_as_bytes=PNG)
    assert api_paths(server) == []


def test_delete_group(api25, fake, server):
    # signal-cli leaves a group before deleting it, and the last admin may not leave: two admins here
    add_group_with_id(fake, TEAM, name="Team", members=[OTHER], admins=[ACCOUNT, OTHER])
    api25.delete_group(TEAM_ID)
    answer = server.answer("DELETE", f"/v1/groups/{ACCOUNT}/{TEAM_ID}")
    assert (answer.status, answer.response_body) == (200, b"")
    assert only_words(fake) == ["quitGroup", "-g", TEAM, "--delete"]
    assert fake_group(fake) is None


def test_join_group_by_id(api25, fake, server, team):
    # accepting a pending invitation is `updateGroup -g` with nothing to change
    api25.join_group(TEAM_ID)
    assert server.answer("POST", f"/v1/groups/{ACCOUNT}/{TEAM_ID}/join").status == 204
    assert only_words(fake) == ["updateGroup", "-g", TEAM]


def test_join_group_by_invite_link(api25, fake, server):
    # the library puts groupid into the path as it is: a caller must percent-encode an invite link
    api25.join_group(quote(INVITE_LINK, safe=""))
    assert only_words(fake) == ["joinGroup", f"--uri={INVITE_LINK}"]
    (group,) = fake.account(ACCOUNT)["groups"]
    assert group["groupInviteLink"] == INVITE_LINK and ACCOUNT in numbers(group["members"])


def test_join_group_by_raw_invite_link_cannot_work(api25, fake, server):
    # broken in 0.3.25: join_group does not encode groupid, so the '#' of an invite link starts the
    # URL's fragment, which never leaves the client: the service sees a path without the link
    with pytest.raises(error_class("0.3.25")):
        api25.join_group(INVITE_LINK)
    (exchange,) = [e for e in server.exchanges() if e.method == "POST"]
    assert "#" not in exchange.path and exchange.status in (404, 405)
    assert fake.log() == []


def test_leave_group(api25, fake):
    add_group_with_id(fake, TEAM, name="Team", members=[OTHER], admins=[ACCOUNT, OTHER])
    api25.leave_group(TEAM_ID)
    assert only_words(fake) == ["quitGroup", "-g", TEAM]
    assert fake_group(fake)["isMember"] is False


def test_block_group(api25, fake, team):
    api25.block_group(TEAM_ID)
    assert only_words(fake) == ["block", "-g", TEAM, "--"]
    assert fake_group(fake)["isBlocked"] is True


def test_group_members(api25, fake, server, team):
    fake.add_user(THIRD)
    api25.add_group_members(TEAM_ID, THIRD)  # a single member as a string: the library makes it a list
    assert json.loads(server.answer("POST", f"/v1/groups/{ACCOUNT}/{TEAM_ID}/members").body)["members"] == [THIRD]
    assert numbers(fake_group(fake)["members"]) == [ACCOUNT, OTHER, THIRD]
    api25.remove_group_members(TEAM_ID, [OTHER, THIRD])
    assert numbers(fake_group(fake)["members"]) == [ACCOUNT]
    assert [words(run) for run in fake.log()] == [
        ["updateGroup", "-g", TEAM, "--member", THIRD],
        ["updateGroup", "-g", TEAM, "--remove-member", OTHER, THIRD],
    ]


def test_group_admins(api25, fake, team):
    api25.add_group_admins(TEAM_ID, [OTHER])
    assert numbers(fake_group(fake)["admins"]) == [ACCOUNT, OTHER]
    api25.remove_group_admins(TEAM_ID, OTHER)
    assert numbers(fake_group(fake)["admins"]) == [ACCOUNT]
    assert [words(run) for run in fake.log()] == [
        ["updateGroup", "-g", TEAM, "--admin", OTHER],
        ["updateGroup", "-g", TEAM, "--remove-admin", OTHER],
    ]


# --- the libraries: reactions, receipts --------------------------------------------------------------


def test_add_reaction(api25, fake):
    api25.add_reaction("🎉", OTHER, 1732630000123)
    assert only_words(fake) == [
        "sendReaction",
        "--emoji=🎉",
        f"--target-author={OTHER}",
        "--target-timestamp=1732630000123",
        "--",
        OTHER,
    ]


def test_add_reaction_in_a_group(api25, fake, team):
    api25.add_reaction("👍", TEAM_ID, 1732630000123, target_author=OTHER)
    sent = last_send(fake)
    assert sent["recipients"] == [f"group:{TEAM}"] and sent["target_author"] == OTHER
    assert sent["emoji"] == "👍" and sent["remove"] is False


def test_remove_reaction(api25, fake):
    # limited in 0.3.25: remove_reaction sends no "reaction", and signal-cli removes a reaction by
    # its emoji, so the service's default 👍 is all this library can take back
    api25.remove_reaction(OTHER, 1732630000123)
    sent = last_send(fake)
    assert (sent["emoji"], sent["remove"], sent["target_timestamp"]) == ("👍", True, 1732630000123)
    assert "--remove" in only_words(fake)


@pytest.mark.parametrize("receipt_type", ["read", "viewed"])
def test_send_receipt(api25, fake, receipt_type):
    api25.send_receipt(OTHER, 1732630000123, receipt_type=receipt_type)
    sent = last_send(fake)
    assert (sent["type"], sent["target_timestamps"], sent["recipients"]) == (receipt_type, [1732630000123], [OTHER])
    assert only_run(fake)["command"] == "sendReceipt"


# --- the libraries: receive and attachments ----------------------------------------------------------


def test_receive(api, fake):
    # a fresh timestamp: the service stores each envelope once, and both versions share this server
    line = message_line(ACCOUNT, OTHER, "Lunch?")
    fake.queue_messages(ACCOUNT, [line])
    (received,) = api.receive()
    assert received == line
    assert received["envelope"]["source"] == OTHER
    assert received["envelope"]["dataMessage"]["message"] == "Lunch?"
    assert only_words(fake)[0] == "receive"
    assert fake.inbox(ACCOUNT) == [] and api.receive() == []


def test_receive_options(api25, fake, server):
    # receive_ws is only used in json-rpc mode; this service's mode is "normal", so receive() is a GET
    fake.queue_messages(ACCOUNT, [message_line(ACCOUNT, OTHER, f"m{n}") for n in range(3)])
    received = api25.receive(ignore_attachments=True, ignore_stories=True, send_read_receipts=True, max_messages=2)
    assert [item["envelope"]["dataMessage"]["message"] for item in received] == ["m0", "m1"]
    assert len(fake.inbox(ACCOUNT)) == 1  # the third stays with signal-cli
    query = parse_qs(server.answer("GET", f"/v1/receive/{ACCOUNT}").query)
    assert query["send_read_receipts"] == ["true"] and query["max_messages"] == ["2"]
    argv = only_words(fake)
    assert {"--ignore-attachments", "--ignore-stories", "--send-read-receipts", "--max-messages=2"} <= set(argv)


def attachment_message(attachment_id, data):
    """A receive line of a message with one PNG attachment that signal-cli stores as ``attachment_id``."""
    attachment = {"filename": "cat.png", "contentType": "image/png", "data": data}
    line = message_line(ACCOUNT, OTHER, "look", attachments=[attachment])
    ((random_id, blob),) = line.pop("_data").items()
    assert line["envelope"]["dataMessage"]["attachments"][0]["id"] == random_id
    line["envelope"]["dataMessage"]["attachments"][0]["id"] = attachment_id
    line["_data"] = {attachment_id: blob}
    return line


def test_attachments(api, version, fake):
    fake.queue_messages(ACCOUNT, [attachment_message("zUqhf1y_uQI7pcYuGS-V.png", PNG)])
    (received,) = api.receive()
    attachment_id = received["envelope"]["dataMessage"]["attachments"][0]["id"]
    assert attachment_id == "zUqhf1y_uQI7pcYuGS-V.png"
    assert api.list_attachments() == [attachment_id]
    assert api.get_attachment(attachment_id) == PNG
    assert api.delete_attachment(attachment_id) is None
    assert api.list_attachments() == []
    with pytest.raises(error_class(version)) as raised:
        api.get_attachment(attachment_id)
    assert attachment_id in str(raised.value)
    # attachments are files of signal-cli's folder: only receive started it
    assert [run["command"] for run in fake.log()] == ["receive"]


def test_attachment_whose_id_starts_with_a_dash(api, fake, server):
    # signal-cli names a stored attachment after its CDN key, unpadded base64url (as the fake's
    # message_line does): about one id in 64 starts with '-'. The service lists such an id but
    # answers 400 "is not an attachment id" to GET and DELETE (schemas.ATTACHMENT_ID refuses a
    # leading '-'), so the attachment can never be fetched or deleted. No signal-cli runs for these
    # routes, so there is no option to inject.
    attachment_id = "-zUqhf1y_uQI7pcYuGSV.png"
    fake.queue_messages(ACCOUNT, [attachment_message(attachment_id, PNG)])
    (received,) = api.receive()
    assert received["envelope"]["dataMessage"]["attachments"][0]["id"] == attachment_id
    assert api.list_attachments() == [attachment_id]
    assert api.get_attachment(attachment_id) == PNG
    api.delete_attachment(attachment_id)
    assert server.answer("DELETE", f"/v1/attachments/{attachment_id}").status == 204
    assert api.list_attachments() == []


# --- the libraries: profile, search, contacts, identities --------------------------------------------


def test_update_profile_with_avatar_file(api, fake, tmp_path):
    avatar = tmp_path / "me.jpg"
    avatar.write_bytes(JPEG)
    api.update_profile("Anna", filename=str(avatar))
    argv = only_words(fake)
    assert argv[:2] == ["updateProfile", "--given-name=Anna"]
    assert [word.split("=")[0] for word in argv[2:]] == ["--avatar"]
    profile = fake.account(ACCOUNT)["profile"]
    assert profile["givenName"] == "Anna" and base64.b64decode(profile["avatar"]) == JPEG


def test_update_profile_name_only_keeps_the_avatar(api, fake):
    api.update_profile("Anna")
    assert only_words(fake) == ["updateProfile", "--given-name=Anna"]


def test_update_profile_with_avatar_bytes(api25, fake):
    api25.update_profile("Anna", attachment_as_bytes=PNG)
    assert base64.b64decode(fake.account(ACCOUNT)["profile"]["avatar"]) == PNG


def test_search(api, fake, server):
    fake.add_user(THIRD, registered=False)
    assert api.search([OTHER, THIRD]) == [{"number": OTHER, "registered": True}, {"number": THIRD, "registered": False}]
    run = only_run(fake)
    assert run["account"] == ACCOUNT and words(run) == ["getUserStatus", "--", OTHER, THIRD]
    assert parse_qs(server.answer("GET", "/v1/search").query) == {"number": [ACCOUNT], "numbers": [OTHER, THIRD]}


def test_get_contacts(api25, fake):
    fake.add_contact(ACCOUNT, OTHER, name="Bob", givenName="Bob", profile={"givenName": "Robert", "familyName": "B"})
    (contact,) = api25.get_contacts()
    assert contact["number"] == OTHER and contact["name"] == "Bob" and contact["profile_name"] == "Robert B"
    assert only_words(fake)[0] == "listContacts"


def test_update_contact(api25, fake, server):
    # broken in 0.3.25: update_contact returns request.json() of the 204 answer, which has no body,
    # so every successful call raises requests' JSONDecodeError
    with pytest.raises(requests.exceptions.JSONDecodeError):
        api25.update_contact(OTHER, name="Bob", expiration_in_seconds=60)
    answer = server.answer("PUT", f"/v1/contacts/{ACCOUNT}")
    assert (answer.status, answer.response_body) == (204, b"")
    assert only_words(fake) == ["updateContact", "--name=Bob", "--expiration=60", "--", OTHER]
    (contact,) = fake.account(ACCOUNT)["contacts"]
    assert contact["name"] == "Bob" and contact["messageExpirationTime"] == 60


def test_sync_contacts(api25, fake):
    assert api25.sync_contacts() is None
    assert only_words(fake) == ["sendContacts"]


def test_list_identities(api25, fake):
    identity = fake.add_identity(ACCOUNT, OTHER)
    (entry,) = api25.list_indentities()
    assert entry["number"] == OTHER and entry["status"] == "TRUSTED_UNVERIFIED"
    assert entry["safety_number"] == identity["safetyNumber"] and entry["fingerprint"] == identity["fingerprint"]
    assert only_words(fake) == ["listIdentities"]


def test_verify_identity_with_safety_number(api25, fake, server):
    identity = fake.add_identity(ACCOUNT, OTHER)
    # 0.3.25 always sends trust_all_known_keys, here false, beside the safety number
    api25.verify_indentity(OTHER, identity["safetyNumber"])
    assert json.loads(server.answer("PUT", f"/v1/identities/{ACCOUNT}/trust/{OTHER}").body) == {
        "verified_safety_number": identity["safetyNumber"],
        "trust_all_known_keys": False,
    }
    safety_number = identity["safetyNumber"].replace(" ", "")
    assert only_words(fake) == ["trust", f"--verified-safety-number={safety_number}", "--", OTHER]
    assert fake.account(ACCOUNT)["identities"][0]["trustLevel"] == "TRUSTED_VERIFIED"


def test_verify_identity_trust_all_known_keys(api25, fake):
    fake.add_identity(ACCOUNT, OTHER, trust_level="UNTRUSTED")
    api25.verify_indentity(OTHER, None, trust_all_known_keys=True)
    assert only_words(fake) == ["trust", "--trust-all-known-keys", "--", OTHER]
    assert fake.account(ACCOUNT)["identities"][0]["trustLevel"] == "TRUSTED_UNVERIFIED"


# --- the libraries: linking, accounts, PIN -----------------------------------------------------------


def wait_for(condition, what, timeout=10.0):
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_link_with_qr_and_list_accounts(api25, fake, server):
    fake.set_link_timeout(10)
    qr_code = base64.b64decode(api25.link_with_qr("Kitchen tablet"))
    assert qr_code.startswith(b"\x89PNG\r\n\x1a\n")
    answer = server.answer("GET", "/v1/qrcodelink")
    assert parse_qs(answer.query) == {"device_name": ["Kitchen tablet"], "qrcode_version": ["10"]}
    assert answer.response_headers["Content-Type"] == "image/png"
    # the phone scans the code: the waiting `signal-cli link` finishes and is reaped
    fake.scan_link(NEW_DEVICE_ACCOUNT)
    wait_for(lambda: [run["command"] for run in fake.log()] == ["link"], "signal-cli link to finish")
    wait_for(lambda: not child_pids(), "signal-cli link to be reaped")
    (run,) = fake.log()
    assert run["exit"] == 0 and run["argv"][-2:] == ["link", "--name=Kitchen tablet"]
    assert api25.list_accounts() == [NEW_DEVICE_ACCOUNT, ACCOUNT]
    assert words(fake.log()[-1]) == ["listAccounts"]


def test_add_pin(api25, fake, server):
    # add_pin returns request.json() of the 201 answer: the standard API answers with an empty body
    # there (JSONDecodeError in the library); this service answers {}, so it works
    assert api25.add_pin("123456") == {}
    assert server.answer("POST", f"/v1/accounts/{ACCOUNT}/pin").status == 201
    assert only_words(fake) == ["setPin", "--", "123456"]
    assert fake.account(ACCOUNT)["pin"] == "123456"


def test_remove_pin(api25, fake, server):
    fake.add_account(ACCOUNT, pin="123456")
    # broken in 0.3.25: remove_pin returns request.json() of the 204 answer, which has no body
    with pytest.raises(requests.exceptions.JSONDecodeError):
        api25.remove_pin()
    answer = server.answer("DELETE", f"/v1/accounts/{ACCOUNT}/pin")
    assert (answer.status, answer.response_body) == (204, b"")
    assert only_words(fake) == ["removePin"]
    assert fake.account(ACCOUNT)["pin"] is None


# --- raw replays of other clients --------------------------------------------------------------------


def replay(server, method, target, headers, body=b""):
    """Send one request exactly as written (request line, headers in order, body) over a socket.

    Returns ``(status, headers, body)`` of the answer.
    """
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    with socket.create_connection((server.host, server.port), timeout=20) as connection:
        connection.sendall(head.encode("latin-1") + body)
        response = http.client.HTTPResponse(connection, method=method)
        response.begin()
        data = response.read()
        return response.status, dict(response.getheaders()), data


def requests_headers(server, body, *, user_agent="python-requests/2.32.3", extra=()):
    """The headers requests 2.32 sends for ``requests.post(url, json=…)`` (or ``data=…`` and headers)."""
    headers = [
        ("Host", f"{server.host}:{server.port}"),
        ("User-Agent", user_agent),
        ("Accept-Encoding", "gzip, deflate"),
        ("Accept", "*/*"),
        ("Connection", "keep-alive"),
    ]
    headers += list(extra)
    if body:
        headers.append(("Content-Length", str(len(body))))
    return headers


def assert_send_answer(status, headers, body, fake, recipients):
    """The 201 answer of a send, in the standard API's shape, naming signal-cli's timestamp."""
    assert status == 201, body
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    timestamp = str(last_send(fake)["timestamp"])
    assert answer == {"timestamp": timestamp, "timestamps": {timestamp: {"recipients": recipients}}}


#: Home Assistant's signal_messenger notify platform calls pysignalclirestapi 0.3.24's
#: send_message(message, recipients, filenames, attachments_as_bytes, text_mode=…), which asks
#: GET /v1/about and then does requests.post(json=data): json.dumps with ", " and ": " and ASCII
#: escapes, keys in the order the library fills them. This one carries a camera snapshot.
HOME_ASSISTANT_MESSAGE = "Wäschetrockner fertig 🧺"
HOME_ASSISTANT_SEND = (
    b'{"message": "W\\u00e4schetrockner fertig \\ud83e\\uddfa", "number": "+4915112345678", '
    b'"recipients": ["+4915100000001"], "text_mode": "normal", '
    b'"base64_attachments": ["' + b64(JPEG).encode() + b'"]}'
)


def test_home_assistant_replay_is_what_its_library_sends(server, fake):
    api = load_library("0.3.24").SignalCliRestApi(server.url, ACCOUNT)
    api.send_message(HOME_ASSISTANT_MESSAGE, [OTHER], None, [JPEG], text_mode="normal")
    assert [(e.method, e.path) for e in server.exchanges()] == [("GET", "/v1/about"), ("POST", "/v2/send")]
    exchange = server.answer("POST", "/v2/send")
    assert exchange.body == HOME_ASSISTANT_SEND
    sent_headers = {name: exchange.headers[name] for name in ("Content-Type", "Accept", "Connection")}
    assert sent_headers == {"Content-Type": "application/json", "Accept": "*/*", "Connection": "keep-alive"}


def test_home_assistant_notify(server, fake):
    status, headers, body = replay(server, "GET", "/v1/about", requests_headers(server, b""))
    assert status == 200 and "v2" in json.loads(body)["versions"]
    data = HOME_ASSISTANT_SEND
    extra = [("Content-Type", "application/json")]
    assert_send_answer(
        *replay(server, "POST", "/v2/send", requests_headers(server, data, extra=extra), data), fake, [OTHER]
    )
    run = only_run(fake)  # /v1/about started no signal-cli
    assert run["stdin"] == HOME_ASSISTANT_MESSAGE
    assert [data for _, data in attachments_received(run)] == [JPEG]
    assert words(run)[-3:] == ["--notify-self", "--", OTHER]


def test_home_assistant_notify_styled_without_attachments(server, fake, team):
    data = (
        b'{"message": "**Alarm** armed", "number": "+4915112345678", '
        b'"recipients": ["' + TEAM_ID.encode() + b'"], "text_mode": "styled", "base64_attachments": []}'
    )
    extra = [("Content-Type", "application/json")]
    assert_send_answer(
        *replay(server, "POST", "/v2/send", requests_headers(server, data, extra=extra), data), fake, [TEAM_ID]
    )
    sent = last_send(fake)
    assert sent["message"] == "Alarm armed" and sent["text_styles"] == [{"start": 0, "length": 5, "style": "BOLD"}]
    assert only_words(fake)[-3:] == ["-g", TEAM, "--"]


def test_apprise(server, fake, team):
    # Apprise's NotifySignalAPI (plugins/signal_api.py, Apprise 1.x): requests.post(url, auth=(user, pw),
    # data=json.dumps(payload), headers={"User-Agent": "Apprise", "Content-Type": "application/json"});
    # payload {"message": title + "\r\n" + body, "number", "recipients": batch, "base64_attachments"?};
    # it accepts 200 and 201. signals://user:pw@host/… sends basic auth; this service has none set up.
    data = (
        b'{"message": "Backup failed\\r\\nDisk /srv is full", "number": "+4915112345678", '
        b'"recipients": ["+4915100000001", "' + TEAM_ID.encode() + b'"], '
        b'"base64_attachments": ["' + b64(PDF).encode() + b'"]}'
    )
    extra = [("Content-Type", "application/json")]
    headers = requests_headers(server, data, user_agent="Apprise", extra=extra)
    headers.append(("Authorization", "Basic " + b64(b"apprise:hunter2")))
    status, answer_headers, body = replay(server, "POST", "/v2/send", headers, data)
    assert status in (200, 201)
    assert_send_answer(status, answer_headers, body, fake, [OTHER, TEAM_ID])
    run = only_run(fake)
    assert run["stdin"] == "Backup failed\r\nDisk /srv is full"
    assert [data for _, data in attachments_received(run)] == [PDF]
    assert words(run)[-4:] == ["-g", TEAM, "--", OTHER]


def test_n8n_signal_node(server, fake):
    # an n8n Signal node (community node; httpRequestWithAuthentication, axios): JSON.stringify body,
    # the credential's "Authorization: Bearer …" header, a binary property sent as a data URI with
    # its file name; axios accepts any 2xx.
    data = (
        b'{"number":"+4915112345678","recipients":["+4915100000001"],"message":"Workflow \\"Invoices\\" done",'
        b'"base64_attachments":["data:image/png;filename=chart.png;base64,' + b64(PNG).encode() + b'"]}'
    )
    headers = [
        ("Accept", "application/json"),
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer n8n-token-0123456789"),
        ("User-Agent", "n8n"),
        ("Content-Length", str(len(data))),
        ("Accept-Encoding", "gzip, compress, deflate, br"),
        ("Host", f"{server.host}:{server.port}"),
        ("Connection", "close"),
    ]
    assert_send_answer(*replay(server, "POST", "/v2/send", headers, data), fake, [OTHER])
    run = only_run(fake)
    assert run["stdin"] == 'Workflow "Invoices" done'
    assert attachments_received(run) == [("chart.png", PNG)]


def test_n8n_receive_poll(server, fake):
    fake.queue_messages(ACCOUNT, [message_line(ACCOUNT, OTHER, "stop")])
    headers = [
        ("Accept", "application/json"),
        ("Authorization", "Bearer n8n-token-0123456789"),
        ("User-Agent", "n8n"),
        ("Accept-Encoding", "gzip, compress, deflate, br"),
        ("Host", f"{server.host}:{server.port}"),
        ("Connection", "close"),
    ]
    # the node puts the number into the URL as it is: a '+' in a path is a plain '+'
    status, answer_headers, body = replay(server, "GET", f"/v1/receive/{ACCOUNT}", headers)
    assert status == 200 and answer_headers["Content-Type"] == "application/json"
    (received,) = json.loads(body)
    assert received["envelope"]["dataMessage"]["message"] == "stop"
    assert only_words(fake)[0] == "receive"


def test_alertmanager_adapter(server, fake):
    # a Go alertmanager-to-Signal webhook bridge: json.Marshal of a struct without omitempty (nil slices
    # are null, unset strings ""; '<', '>' and '&' escaped as \u003c, \u003e, \u0026), posted with
    # http.NewRequest and no Content-Type; it treats any 2xx as delivered.
    data = (
        b'{"message":"[FIRING:1] HighLoad\\nload \\u003e 5 \\u0026 rising on \\u003cnode-1\\u003e",'
        b'"number":"+4915112345678","recipients":["+4915100000001"],"base64_attachments":null,'
        b'"mentions":null,"text_mode":"","quote_author":"","quote_message":"","sticker":""}'
    )
    headers = [
        ("Host", f"{server.host}:{server.port}"),
        ("User-Agent", "Go-http-client/1.1"),
        ("Content-Length", str(len(data))),
        ("Accept-Encoding", "gzip"),
    ]
    assert_send_answer(*replay(server, "POST", "/v2/send", headers, data), fake, [OTHER])
    run = only_run(fake)
    assert run["stdin"] == "[FIRING:1] HighLoad\nload > 5 & rising on <node-1>"
    assert run["attachments"] == []
    argv = words(run)
    assert argv == ["send", "--message-from-stdin", "--notify-self", "--", OTHER]


def test_alertmanager_adapter_error_is_json(server, fake):
    # with no recipients configured the bridge posts null: the answer must be the one JSON error body
    data = b'{"message":"[RESOLVED] HighLoad","number":"+4915112345678","recipients":null,"base64_attachments":null}'
    headers = [
        ("Host", f"{server.host}:{server.port}"),
        ("User-Agent", "Go-http-client/1.1"),
        ("Content-Length", str(len(data))),
        ("Accept-Encoding", "gzip"),
    ]
    status, answer_headers, body = replay(server, "POST", "/v2/send", headers, data)
    assert status == 400 and answer_headers["Content-Type"] == "application/json"
    error = json.loads(body)
    assert error["status"] == 400 and error["error"] == error["message"] and "recipient" in error["message"].lower()
    assert fake.log() == []
