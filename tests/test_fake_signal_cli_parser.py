"""Tests of the fake's command line: argparse4j's usage lines and errors, the option table per
release, and the logging pre-parser quirks (see SIGNAL_CLI.md §1.1 and Appendix C).
"""

import json

import fake_signal_cli as fake
import pytest
from fake_signal_cli_runner import (
    ACCOUNT,
    ANN,
    BOB,
    error_message,
    messages,
    registered_cli,
    run_argv,
    same_message,
)

cli = pytest.fixture(registered_cli)


# ---------------------------------------------------------------------------
# Usage lines and parse errors
# ---------------------------------------------------------------------------

APPENDIX_C = """\
usage: signal-cli [-h] [--version] [-v] [--log-file LOG_FILE] [--scrub-log]
                  [-c CONFIG] [-a ACCOUNT] [--bus-name GLOBAL-BUS-NAME]
                  [-o {plain-text,json}]
                  [--service-environment {live,staging,sandbox}]
                  [--trust-new-identities {always,on-first-use,never}]
                  [--disable-send-log] [--dbus | --dbus-system]
                  {addDevice,addStickerPack,block,daemon,deleteLocalAccountData,finishChangeNumber,getAttachment,\
getAvatar,getSticker,getUserStatus,joinGroup,jsonRpc,link,listAccounts,listContacts,listDevices,listGroups,\
listIdentities,listStickerPacks,quitGroup,receive,register,remoteDelete,removeContact,removeDevice,removePin,send,\
sendContacts,sendMessageRequestResponse,sendPaymentNotification,sendReaction,sendReceipt,sendSyncRequest,sendTyping,\
setPin,startChangeNumber,submitRateLimitChallenge,trust,unblock,unregister,updateAccount,updateConfiguration,\
updateContact,updateGroup,updateProfile,uploadStickerPack,verify,version}
                  ...
usage: signal-cli addDevice [-h] --uri URI
usage: signal-cli addStickerPack [-h] --uri URI [URI ...]
usage: signal-cli block [-h] [-g [GROUP_ID [GROUP_ID ...]]]
                  [recipient [recipient ...]]
usage: signal-cli daemon [-h] [--dbus] [--dbus-system]
                  [--bus-name BUS_NAME] [--socket [SOCKET]] [--tcp [TCP]]
                  [--http [HTTP]] [--no-receive-stdout]
                  [--receive-mode {on-start,on-connection,manual}]
                  [--ignore-attachments] [--ignore-stories]
                  [--send-read-receipts]
usage: signal-cli deleteLocalAccountData [-h] [--ignore-registered]
usage: signal-cli finishChangeNumber [-h] -v VERIFICATION_CODE [-p PIN]
                  number
usage: signal-cli getAttachment [-h] --id ID (--recipient RECIPIENT |
                  -g GROUP_ID)
usage: signal-cli getAvatar [-h] (-c CONTACT | -p PROFILE | -g GROUP_ID)
usage: signal-cli getSticker [-h] --pack-id PACK_ID --sticker-id STICKER_ID
usage: signal-cli getUserStatus [-h] [--username [USERNAME [USERNAME ...]]]
                  [recipient [recipient ...]]
usage: signal-cli joinGroup [-h] --uri URI
usage: signal-cli jsonRpc [-h] [--ignore-attachments] [--ignore-stories]
                  [--send-read-receipts]
                  [--receive-mode {on-start,on-connection,manual}]
usage: signal-cli link [-h] [-n NAME]
usage: signal-cli listAccounts [-h]
usage: signal-cli listContacts [-h] [-a] [--blocked {true,false}]
                  [--name NAME] [--detailed] [--internal]
                  [recipient [recipient ...]]
usage: signal-cli listDevices [-h]
usage: signal-cli listGroups [-h] [-d] [-g [GROUP_ID [GROUP_ID ...]]]
usage: signal-cli listIdentities [-h] [-n NUMBER]
usage: signal-cli listStickerPacks [-h]
usage: signal-cli quitGroup [-h] -g GROUP_ID [--delete]
                  [--admin [ADMIN [ADMIN ...]]]
usage: signal-cli receive [-h] [-t TIMEOUT] [--max-messages MAX_MESSAGES]
                  [--ignore-attachments] [--ignore-stories]
                  [--send-read-receipts]
usage: signal-cli register [-h] [-v] [--captcha CAPTCHA] [--reregister]
usage: signal-cli remoteDelete [-h] -t TARGET_TIMESTAMP
                  [-g [GROUP_ID [GROUP_ID ...]]]
                  [-u [USERNAME [USERNAME ...]]] [--note-to-self]
                  [recipient [recipient ...]]
usage: signal-cli removeContact [-h] [--hide | --forget] recipient
usage: signal-cli removeDevice [-h] -d DEVICE_ID
usage: signal-cli removePin [-h]
usage: signal-cli send [-h] [-g [GROUP_ID [GROUP_ID ...]]]
                  [-u [USERNAME [USERNAME ...]]] [--note-to-self]
                  [--notify-self] [-a [ATTACHMENT [ATTACHMENT ...]]]
                  [--view-once] [-e] [--mention [MENTION [MENTION ...]]]
                  [--text-style [TEXT_STYLE [TEXT_STYLE ...]]]
                  [--quote-timestamp QUOTE_TIMESTAMP]
                  [--quote-author QUOTE_AUTHOR]
                  [--quote-message QUOTE_MESSAGE]
                  [--quote-mention [QUOTE_MENTION [QUOTE_MENTION ...]]]
                  [--quote-attachment [QUOTE_ATTACHMENT [QUOTE_ATTACHMENT ...]]]
                  [--quote-text-style [QUOTE_TEXT_STYLE [QUOTE_TEXT_STYLE ...]]]
                  [--sticker STICKER] [--preview-url PREVIEW_URL]
                  [--preview-title PREVIEW_TITLE]
                  [--preview-description PREVIEW_DESCRIPTION]
                  [--preview-image PREVIEW_IMAGE]
                  [--story-timestamp STORY_TIMESTAMP]
                  [--story-author STORY_AUTHOR]
                  [--edit-timestamp EDIT_TIMESTAMP] [-m MESSAGE |
                  --message-from-stdin] [recipient [recipient ...]]
usage: signal-cli sendContacts [-h]
usage: signal-cli sendMessageRequestResponse [-h]
                  [-g [GROUP_ID [GROUP_ID ...]]]
                  [-u [USERNAME [USERNAME ...]]] --type {accept,delete}
                  [recipient [recipient ...]]
usage: signal-cli sendPaymentNotification [-h] --receipt RECEIPT
                  [--note NOTE] recipient
usage: signal-cli sendReaction [-h] [-g [GROUP_ID [GROUP_ID ...]]]
                  [-u [USERNAME [USERNAME ...]]] [--note-to-self] -e EMOJI
                  -a TARGET_AUTHOR -t TARGET_TIMESTAMP [-r] [--story]
                  [recipient [recipient ...]]
usage: signal-cli sendReceipt [-h]
                  -t TARGET_TIMESTAMP [TARGET_TIMESTAMP ...]
                  [--type {read,viewed}] recipient
usage: signal-cli sendSyncRequest [-h]
usage: signal-cli sendTyping [-h] [-g [GROUP_ID [GROUP_ID ...]]] [-s]
                  [recipient [recipient ...]]
usage: signal-cli setPin [-h] pin
usage: signal-cli startChangeNumber [-h] [-v] [--captcha CAPTCHA] number
usage: signal-cli submitRateLimitChallenge [-h] --challenge CHALLENGE
                  --captcha CAPTCHA
usage: signal-cli trust [-h] [-a | -v VERIFIED_SAFETY_NUMBER] recipient
usage: signal-cli unblock [-h] [-g [GROUP_ID [GROUP_ID ...]]]
                  [recipient [recipient ...]]
usage: signal-cli unregister [-h] [--delete-account]
usage: signal-cli updateAccount [-h] [-n DEVICE_NAME]
                  [--unrestricted-unidentified-sender {true,false}]
                  [--discoverable-by-number {true,false}]
                  [--number-sharing {true,false}] [-u USERNAME |
                  --delete-username]
usage: signal-cli updateConfiguration [-h] [--read-receipts {true,false}]
                  [--unidentified-delivery-indicators {true,false}]
                  [--typing-indicators {true,false}]
                  [--link-previews {true,false}]
usage: signal-cli updateContact [-h] [-n NAME] [--given-name GIVEN_NAME]
                  [--family-name FAMILY_NAME]
                  [--nick-given-name NICK_GIVEN_NAME]
                  [--nick-family-name NICK_FAMILY_NAME] [--note NOTE]
                  [-e EXPIRATION] recipient
usage: signal-cli updateGroup [-h] [-g GROUP_ID] [-n NAME] [-d DESCRIPTION]
                  [-a AVATAR] [-m [MEMBER [MEMBER ...]]]
                  [-r [REMOVE_MEMBER [REMOVE_MEMBER ...]]]
                  [--admin [ADMIN [ADMIN ...]]]
                  [--remove-admin [REMOVE_ADMIN [REMOVE_ADMIN ...]]]
                  [--ban [BAN [BAN ...]]] [--unban [UNBAN [UNBAN ...]]]
                  [--reset-link]
                  [--link {enabled,enabled-with-approval,disabled}]
                  [--set-permission-add-member {every-member,only-admins}]
                  [--set-permission-edit-details {every-member,only-admins}]
                  [--set-permission-send-messages {every-member,only-admins}]
                  [-e EXPIRATION]
usage: signal-cli updateProfile [-h] [--given-name GIVEN_NAME]
                  [--family-name FAMILY_NAME] [--about ABOUT]
                  [--about-emoji ABOUT_EMOJI]
                  [--mobile-coin-address MOBILE_COIN_ADDRESS]
                  [--avatar AVATAR | --remove-avatar]
usage: signal-cli uploadStickerPack [-h] path
usage: signal-cli verify [-h] [-p PIN] verification_code
usage: signal-cli version [-h]
"""


def _appendix_c_blocks():
    blocks = {}
    for block in ("\n" + APPENDIX_C).split("\nusage: ")[1:]:
        name = block.split()[1] if not block.split()[1].startswith("[") else None
        blocks[name] = "usage: " + block.rstrip("\n") + "\n"
    return blocks


@pytest.mark.parametrize("command", [None] + sorted(fake.commands_for("0.13.19")))
def test_usage_lines_match_the_real_parser(command, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert fake.usage_text(command) == _appendix_c_blocks()[command]


@pytest.mark.parametrize(
    "args, message",
    [
        (["send", "-m"], "argument -m/--message: expected one argument"),
        (["send", "-m", "-5 degrees", ANN], "argument -m/--message: expected one argument"),
        (["send", "-m", "--", ANN], "argument -m/--message: expected one argument"),
        (["send", "--message", "-x", ANN], "argument -m/--message: expected one argument"),
        (["send", "--mess", "hi", ANN], "ambiguous option: --mess could match --message, --message-from-stdin"),
        (["send", "--story", ANN], "ambiguous option: --story could match --story-author, --story-timestamp"),
        (["send", "--gr", "x"], "ambiguous option: --gr could match --group, --group-id"),
        (
            ["send", "-m", "hi", "--quote-timestamp", "abc", ANN],
            "argument --quote-timestamp: could not convert 'abc' to integer (64 bits)",
        ),
        (
            ["removeDevice", "-d", "99999999999"],
            "argument -d/--device-id/--deviceId: could not convert '99999999999' to integer (32 bits)",
        ),
        (["receive", "-t", "soon"], "argument -t/--timeout: could not convert 'soon' to  number (double precision)"),
        (
            ["updateGroup", "--link", "enabledWithApproval"],
            "argument --link: invalid choice: 'enabledWithApproval' "
            "(choose from {enabled,enabled-with-approval,disabled})",
        ),
        (
            ["sendReceipt", "--type", "seen", "-t", "1", ANN],
            "argument --type: invalid choice: 'seen' (choose from {read,viewed})",
        ),
        (
            ["sendMessageRequestResponse", "--type", "maybe", ANN],
            "argument --type: could not convert 'maybe' (choose from {accept,delete})",
        ),
        (["send", ANN, "-m", "hi", "-o", "json"], "unrecognized arguments: '-o'"),
        (["send", "-m", "hi", ANN, "--config=/etc"], "unrecognized arguments: '--config=/etc'"),
        (["send", "-m", "hi", ANN, "-5 degrees"], "unrecognized arguments: '-5 degrees'"),
        (["removeContact", ANN, BOB], f"unrecognized arguments: '{BOB}'"),
        (["sendReaction", ANN, "-a", ANN, "-t", "1"], "argument -e/--emoji is required"),
        (["sendReceipt", ANN, "-t"], "argument -t/--target-timestamp: expected 1 argument(s)"),
        (
            ["send", "-m", "hi", "--message-from-stdin", ANN],
            "argument --message-from-stdin: not allowed with argument -m/--message",
        ),
        (["getAttachment", "--id", "x"], "one of the arguments --recipient -g/--group-id is required"),
        (["send", "--note-to-self=yes", "-m", "hi"], "argument --note-to-self: ignore implicit argument 'yes'"),
        (["setPin"], "too few arguments"),
        (
            ["list", "x"],
            "ambiguous command: list could match listAccounts, listContacts, listDevices, listGroups, "
            "listIdentities, listStickerPacks",
        ),
    ],
)
def test_parse_errors_print_usage_and_the_argparse4j_message(cli, args, message):
    proc = cli.run(*args)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("usage: signal-cli")
    assert same_message(error_message(proc.stderr), message)


@pytest.mark.parametrize(
    "global_args, message",
    [
        ([], "too few arguments"),
        (["-o", "xml", "version"], "argument -o/--output: could not convert 'xml' (choose from {plain-text,json})"),
        (["--ver"], "ambiguous option: --ver could match --verbose, --version"),
        (["--", "version"], "unrecognized arguments: 'version'"),
    ],
)
def test_global_parse_errors_print_the_main_usage(cli, global_args, message):
    proc = run_argv([str(cli.bin), "--config", str(cli.config), *global_args])
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("usage: signal-cli [-h] [--version]")
    assert same_message(error_message(proc.stderr), message)


def test_short_errors_end_with_the_error_line_and_long_ones_are_wrapped_like_argparse4j(cli):
    short = cli.run("send", "-m")
    assert short.stderr.endswith("\nsignal-cli: error: argument -m/--message: expected one argument\n")
    long = cli.run("send", "--mess", "x")
    # argparse4j wraps its error line at 75 columns and justifies it
    assert long.stderr.endswith(
        "signal-cli:  error:  ambiguous  option:   --mess   could  match  --message,\n--message-from-stdin\n"
    )


def test_unknown_subcommand_lists_the_choices_and_suggests_one(cli):
    proc = cli.run("sned", "-m", "hi")
    assert proc.returncode == 1
    assert error_message(proc.stderr).startswith("invalid choice: 'sned' (choose from 'addDevice', 'addStickerPack',")
    assert proc.stderr.endswith("\nDid you mean:\n\tsend\n")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["send", "--message==", ANN], {"message": "=", "recipient": [ANN]}),
        (["send", "--message=", ANN], {"message": ""}),
        (["send", "-mhello", ANN], {"message": "hello"}),
        (["send", "-m=x", ANN], {"message": "x"}),
        (["send", "--message=-5 degrees", ANN], {"message": "-5 degrees"}),
        (["send", "--message=--", ANN], {"message": "--"}),
        (["send", "-m", "-5", ANN], {"message": "-5"}),
        (["send", "-m", "-", ANN], {"message": "-"}),
        (["send", "-m", "a", "-m", "b", ANN], {"message": "b"}),
        (["send", "-m", "hi", "--text-s=0:2:BOLD", ANN], {"text-style": ["0:2:BOLD"], "recipient": [ANN]}),
        (["send", "-m", "hi", "--mention", "0:1:" + BOB, ANN], {"mention": ["0:1:" + BOB, ANN], "recipient": None}),
        (["send", "-m", "hi", "-a", "/x", "-a", "/y", "--", ANN], {"attachment": ["/y"], "recipient": [ANN]}),
        (["send", "-m", "hi", "-a", "/x", ANN], {"attachment": ["/x", ANN]}),
        (["send", "-m", "hi", "--attach=/etc/passwd", ANN], {"attachment": ["/etc/passwd"], "recipient": [ANN]}),
        (["send", "-m", "hi", "-a/etc/passwd", ANN], {"attachment": ["/etc/passwd"], "recipient": [ANN]}),
        (["send", "-m", "hi", "-g", "G1", "G2"], {"group-id": ["G1", "G2"]}),
        (["send", "-m", "hi", "-g", "G1", "-g", "G2"], {"group-id": ["G2"]}),
        (["block", "-g", "G", ANN], {"group-id": ["G", ANN]}),
        (
            ["send", "-m", "hi", "--", "-h", "--config=/etc", "-a/etc/passwd", "-5 x"],
            {"recipient": ["-h", "--config=/etc", "-a/etc/passwd", "-5 x"]},
        ),
        (["send", "-m", "hi", ANN, "-e", BOB], {"recipient": [ANN, BOB], "end-session": True}),
        (["sendReaction", "-e", "👍", "-a", ANN, "-t", "+17", ANN], {"target-author": ANN, "target-timestamp": 17}),
        (["listG"], {"command": "listGroups"}),
        (["listContacts", "--blocked", "yes"], {"blocked": False}),  # Boolean.valueOf: anything but "true" is false
        (["listContacts", "--blocked", "TRUE"], {"blocked": True}),
        (["receive", "-t", " 1.5d ", "--max-messages", "0"], {"timeout": 1.5, "max-messages": 0}),
    ],
)
def test_accepted_argv_forms_are_interpreted_like_argparse4j(cli, args, expected):
    cli.run(*args)
    options = cli.last_record()["options"]
    assert {key: options.get(key) for key in expected} == expected


# ---------------------------------------------------------------------------
# The logging pre-parser quirks
# ---------------------------------------------------------------------------


def test_help_anywhere_before_double_dash_prints_help_and_does_nothing(cli):
    proc = cli.run("send", "-m", "hi", ANN, "-h")
    assert proc.returncode == 0
    assert proc.stdout.count("usage: signal-cli") == 2  # the pre-parser's and send's
    assert "usage: signal-cli send [-h]" in proc.stdout
    assert cli.state.sent_messages() == []
    assert cli.last_record()["quirks"] == ["help"]


def test_help_after_double_dash_is_just_a_bad_recipient(cli):
    proc = cli.run("send", "-m", "hi", "--", "--help")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert messages(proc.stderr) == ["Invalid phone number '--help': No valid characters found."]


def test_help_in_a_value_position_still_prints_the_pre_parser_help_but_fails(cli):
    proc = cli.run("send", "-m", "-h", ANN)
    assert proc.returncode == 1
    assert proc.stdout.startswith("usage: signal-cli [-h] [-v] [--log-file LOG_FILE] [--scrub-log]\n")
    assert error_message(proc.stderr) == "argument -m/--message: expected one argument"


@pytest.mark.parametrize("form", ["--log-file={}", "--log={}"])
def test_stray_log_file_is_created_although_the_parse_fails(cli, form):
    log_file = cli.tmp / "sub" / "stray.log"
    proc = cli.run("send", "-m", "hi", ANN, form.format(log_file))
    assert proc.returncode == 1
    assert log_file.exists()
    assert cli.last_record()["quirks"] == ["log_file"]


def test_log_file_after_double_dash_is_not_created(cli):
    log_file = cli.tmp / "never.log"
    cli.run("send", "-m", "hi", "--", f"--log-file={log_file}")
    # after "--" it is a recipient (normalised from whatever digits the path holds), not an option
    assert not log_file.exists()
    assert "log_file" not in cli.last_record()["quirks"]


def test_stray_verbose_flags_turn_on_debug_logging(cli):
    proc = cli.run("listGroups", "-vvv")
    assert proc.returncode == 1  # -v is not a listGroups option
    assert cli.last_record()["quirks"] == ["verbose"]
    ok = cli.run("-vv", "listGroups")
    assert ok.returncode == 0
    assert "[main] DEBUG org.asamk.signal.App - Starting signal-cli 0.13.19\n" in ok.stderr


def test_version_flag_needs_no_config(tmp_path):
    shim = fake.write_executable(tmp_path / "bin")
    proc = run_argv([str(shim), "--config", str(tmp_path / "missing"), "--version"])
    assert (proc.returncode, proc.stdout) == (0, "signal-cli 0.13.19\n")
    assert not (tmp_path / "missing").exists()


# ---------------------------------------------------------------------------
# The option table per release
# ---------------------------------------------------------------------------


def test_option_dests_name_arguments_as_json_rpc_does():
    dests = fake.option_dests("0.13.19")
    assert dests["send"]["groupId"] == "list"
    assert dests["send"]["messageFromStdin"] == "flag"
    assert dests["send"]["message"] == "text"
    assert dests["send"]["endSession"] == "flag"  # -e/--end-session/--endsession: the first long name
    assert dests["send"]["recipient"] == "positional"
    assert dests["sendReaction"]["targetTimestamp"] == "text"
    assert dests["sendReceipt"]["targetTimestamp"] == "list"
    assert dests["verify"] == {"verificationCode": "positional", "pin": "text"}
    assert dests["setPin"] == {"pin": "positional"}
    assert dests["finishChangeNumber"] == {"number": "positional", "verificationCode": "text", "pin": "text"}
    assert dests["removeDevice"] == {"deviceId": "text"}
    assert dests["trust"] == {"recipient": "positional", "trustAllKnownKeys": "flag", "verifiedSafetyNumber": "text"}
    assert dests["updateProfile"]["givenName"] == "text"
    assert dests["listAccounts"] == {}
    assert sorted(dests) == sorted(fake.commands_for("0.13.19"))


def test_option_dests_of_the_0_14_line():
    dests = fake.option_dests("0.14.6")
    assert dests["sendPollCreate"] == {
        "recipient": "positional",
        "groupId": "list",
        "username": "list",
        "noteToSelf": "flag",
        "notifySelf": "flag",
        "question": "text",
        "noMulti": "flag",
        "option": "list",
    }
    assert dests["sendAdminDelete"] == {
        "groupId": "list",
        "notifySelf": "flag",
        "targetAuthor": "text",
        "targetTimestamp": "text",
        "story": "flag",
    }
    assert dests["sendStory"] == {"attachment": "text", "noReplies": "flag", "groupId": "text"}
    assert {"noUrgent", "voiceNote"} <= set(dests["send"])
    assert {"memberLabel", "memberLabelEmoji"} <= set(dests["updateGroup"])
    assert "voiceNote" not in fake.option_dests("0.14.1")["send"]
    assert sorted(dests) == sorted(fake.COMMANDS)


def test_option_dests_cover_every_argument_once():
    for name, command in fake.commands_for("0.13.19").items():
        args = [a for item in command.args for a in getattr(item, "args", [item])]
        assert len(fake.option_dests()[name]) == len(args), name


def test_an_entry_marked_since_a_release_exists_from_that_release_on(monkeypatch):
    argparse4j = fake.argparse4j
    options = fake.options
    commands = dict(options.COMMANDS)
    commands["newCommand"] = options.Command(options.LOCAL, since="0.14.0")
    send = options.COMMANDS["send"]
    commands["send"] = options.Command(
        send.kind, [*send.args, argparse4j.flag("--new-flag", since="0.14.1")], send.outputs
    )
    monkeypatch.setattr(options, "COMMANDS", commands)
    assert "newCommand" not in fake.commands_for("0.13.19")
    assert "newCommand" in fake.commands_for("0.14.0")
    assert "newFlag" not in fake.option_dests("0.14.0")["send"]
    assert fake.option_dests("0.14.1")["send"]["newFlag"] == "flag"
    assert "--new-flag" not in fake.usage_text("send", "0.13.19")
    assert "[--new-flag]" in fake.usage_text("send", "0.14.1")


def test_a_mutex_keeps_only_the_members_of_the_release(monkeypatch):
    argparse4j = fake.argparse4j
    options = fake.options
    group = argparse4j.mutex(argparse4j.opt("--old"), argparse4j.opt("--new", since="0.14.0"))
    commands = dict(options.COMMANDS, send=options.Command(options.LOCAL, [group]))
    monkeypatch.setattr(options, "COMMANDS", commands)
    assert fake.usage_text("send", "0.13.19") == "usage: signal-cli send [-h] [--old OLD]\n"
    assert fake.usage_text("send", "0.14.0") == "usage: signal-cli send [-h] [--old OLD | --new NEW]\n"


def test_releases_before_the_first_modelled_one_are_refused():
    with pytest.raises(ValueError, match="older than the oldest release modelled, 0.13.19"):
        fake.commands_for("0.13.18")


def test_the_shim_reports_the_release_it_is_told(tmp_path):
    shim = fake.write_executable(tmp_path / "bin", version="0.14.4")
    config = tmp_path / "cfg"
    fake.FakeState(config).add_account(ACCOUNT)
    assert run_argv([str(shim), "--version"]).stdout == "signal-cli 0.14.4\n"
    proc = run_argv([str(shim), "--config", str(config), "-o", "json", "version"])
    assert json.loads(proc.stdout) == {"version": "0.14.4"}
