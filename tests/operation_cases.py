"""Every operation of the signal-cli wrapper with arguments that reach each of its options.

Shared by the contract tests (each case run through the real signal-cli) and the golden argv test
(each case's argv compared byte for byte with the recorded one). ``"{file}"`` stands for a real
file path and ``"{spool}"`` for a receive spool file; each test fills them in.
"""

import contextlib

from signal_rest.signal_cli import GroupId, SignalCli

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
UUID = "a1b2c3d4-0000-4000-8000-000000000001"
GROUP = GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")
HOSTILE = "-5 degrees --config=/etc -a/etc/passwd --help"

#: (id, method, args, kwargs), run by the contract tests against the real signal-cli
CASES = [
    ("user_status", "user_status", (ACCOUNT, [OTHER, "+4915100000002"]), {}),
    ("send-plain", "send", (ACCOUNT, [OTHER], "hello"), {}),
    ("send-hostile-text", "send", (ACCOUNT, [OTHER], HOSTILE), {}),
    (
        "send-everything",
        "send",
        (ACCOUNT, [OTHER, UUID, "u:someone.42", GROUP], "hi @x **b**"),
        {
            "attachments": ["{file}", "{file}"],
            "mentions": [(3, 2, OTHER), (0, 1, UUID)],
            "text_styles": [(6, 1, "BOLD"), (0, 2, "ITALIC")],
            "quote": {"timestamp": 1732630000123, "author": OTHER, "message": HOSTILE, "mentions": [(0, 1, OTHER)]},
            "sticker": "0a1b:3",
            "edit_timestamp": 1732630000999,
            "preview": {"url": "https://example.org/x", "title": HOSTILE, "description": HOSTILE, "image": "{file}"},
            "view_once": True,
            "notify_self": True,
        },
    ),
    ("send-attachment-only", "send", (ACCOUNT, [GROUP]), {"attachments": ["{file}"]}),
    ("reaction", "send_reaction", (ACCOUNT, OTHER, "👍", OTHER, 1732630000123), {}),
    ("reaction-remove-group", "send_reaction", (ACCOUNT, GROUP, "-", UUID, 1), {"remove": True}),
    ("list_groups", "list_groups", (ACCOUNT,), {}),
    ("list_groups-filtered", "list_groups", (ACCOUNT, [GROUP, GROUP]), {}),
    (
        "create_group",
        "create_group",
        (ACCOUNT, HOSTILE, [OTHER, UUID]),
        {
            "description": HOSTILE,
            "avatar": "{file}",
            "expiration": 3600,
            "link": "enabled-with-approval",
            "permissions": {"add_members": "only-admins", "edit_group": "every-member", "send_messages": "only-admins"},
            "add_admins": [OTHER],
        },
    ),
    ("create_group-minimal", "create_group", (ACCOUNT, "Team", []), {}),
    (
        "update_group",
        "update_group",
        (ACCOUNT, GROUP),
        {
            "name": HOSTILE,
            "description": "",
            "avatar": "{file}",
            "expiration": 0,
            "link": "disabled",
            "permissions": {"edit_group": "only-admins"},
            "add_members": [OTHER],
            "remove_members": [UUID],
            "add_admins": [OTHER],
            "remove_admins": [UUID],
        },
    ),
    ("accept_invitation", "update_group", (ACCOUNT, GROUP), {}),
    ("quit_group", "quit_group", (ACCOUNT, GROUP), {}),
    ("quit_group-delete", "quit_group", (ACCOUNT, GROUP), {"delete": True}),
    ("join_group", "join_group", (ACCOUNT, "https://signal.group/#CjQKIAbCdEf0123456789"), {}),
    (
        "update_profile",
        "update_profile",
        (ACCOUNT,),
        {"given_name": HOSTILE, "family_name": "-x", "about": "--", "avatar": "{file}"},
    ),
    ("update_profile-remove-avatar", "update_profile", (ACCOUNT,), {"remove_avatar": True}),
    (
        "receive",
        "receive",
        (ACCOUNT, "{spool}"),
        {
            "timeout": 0.5,
            "max_messages": 3,
            "ignore_attachments": True,
            "ignore_stories": True,
            "read_receipts": True,
        },
    ),
    ("receive-default", "receive", (ACCOUNT, "{spool}"), {}),
    ("typing", "send_typing", (ACCOUNT, OTHER), {}),
    ("typing-stop-group", "send_typing", (ACCOUNT, GROUP), {"stop": True}),
    ("remote_delete", "remote_delete", (ACCOUNT, OTHER, 1732630000123), {}),
    ("remote_delete-group", "remote_delete", (ACCOUNT, GROUP, 1732630000123), {}),
    ("receipt", "send_receipt", (ACCOUNT, OTHER, 1732630000123), {"receipt_type": "viewed"}),
    ("block", "block", (ACCOUNT, [OTHER, GROUP]), {}),
    ("avatar-contact", "avatar", (ACCOUNT,), {"contact": OTHER}),
    ("avatar-group", "avatar", (ACCOUNT,), {"group_id": GROUP}),
    ("unregister", "unregister", (ACCOUNT,), {"delete_account": True}),
    ("list_devices", "list_devices", (ACCOUNT,), {}),
    ("add_device", "add_device", (ACCOUNT, "sgnl://linkdevice?uuid=abc%3D&pub_key=def"), {}),
    ("remove_device", "remove_device", (ACCOUNT, 2), {}),
    ("rate_limit_challenge", "submit_rate_limit_challenge", (ACCOUNT, "challenge-token", "signalcaptcha://x"), {}),
    ("update_account", "update_account", (ACCOUNT,), {"discoverable_by_number": False, "number_sharing": True}),
    ("update_account-username", "update_account", (ACCOUNT,), {"username": "alice.42"}),
    ("update_account-delete-username", "update_account", (ACCOUNT,), {"delete_username": True}),
    ("set_pin", "set_pin", (ACCOUNT, "1234"), {}),
    ("remove_pin", "remove_pin", (ACCOUNT,), {}),
    ("list_contacts", "list_contacts", (ACCOUNT,), {"all_recipients": True}),
    ("list_contacts-filtered", "list_contacts", (ACCOUNT, [OTHER, UUID]), {}),
    ("update_contact", "update_contact", (ACCOUNT, OTHER), {"name": HOSTILE, "expiration": 60}),
    ("send_contacts", "send_contacts", (ACCOUNT,), {}),
    ("list_identities", "list_identities", (ACCOUNT,), {}),
    ("trust-all", "trust", (ACCOUNT, OTHER), {"all_known_keys": True}),
    ("trust-safety-number", "trust", (ACCOUNT, UUID), {"safety_number": "1" * 60}),
    ("list_sticker_packs", "list_sticker_packs", (ACCOUNT,), {}),
    (
        "add_sticker_pack",
        "add_sticker_pack",
        (ACCOUNT, "https://signal.art/addstickers/#pack_id=abcd&pack_key=ef01"),
        {},
    ),
    ("link", "link", (HOSTILE,), {}),
    ("register", "register", (ACCOUNT,), {"voice": True, "captcha": "signalcaptcha://signal-hcaptcha.x.y"}),
    ("verify", "verify", (ACCOUNT, "123456"), {"pin": "1234"}),
    ("list_accounts", "list_accounts", (), {}),
    ("delete_local_data", "delete_local_data", (ACCOUNT,), {"ignore_registered": True}),
    ("delete_local_data-plain", "delete_local_data", (ACCOUNT,), {}),
    ("version", "probe", (), {}),
]

#: (id, method, args, kwargs) of operations that need a newer signal-cli than 0.13.19
NEWER_CASES = [
    ("poll", "create_poll", (ACCOUNT, OTHER, "q", ["a", "b"]), {}),
    ("poll-single-group", "create_poll", (ACCOUNT, GROUP, HOSTILE, ["a", "b", "c"]), {"allow_multiple": False}),
    ("poll-vote", "vote_poll", (ACCOUNT, OTHER, OTHER, 1732630000123, [0, 2], 3), {}),
    ("poll-vote-group", "vote_poll", (ACCOUNT, GROUP, UUID, 1, [1], 1), {}),
    ("poll-terminate", "terminate_poll", (ACCOUNT, OTHER, 1732630000123), {}),
    ("poll-terminate-group", "terminate_poll", (ACCOUNT, GROUP, 5), {}),
    ("pin", "pin_message", (ACCOUNT, GROUP, OTHER, 1732630000123), {}),
    ("pin-duration", "pin_message", (ACCOUNT, GROUP, UUID, 1), {"duration": 3600}),
    ("unpin", "pin_message", (ACCOUNT, GROUP, OTHER, 1), {"unpin": True, "duration": 5}),
    (
        "send-no-urgent-voice-note",
        "send",
        (ACCOUNT, [OTHER]),
        {"attachments": ["{file}"], "no_urgent": True, "voice_note": True},
    ),
    (
        "update_group-member-label",
        "update_group",
        (ACCOUNT, GROUP),
        {"member_label": "-Ops lead", "member_label_emoji": "🛠"},
    ),
    ("admin-delete", "admin_delete", (ACCOUNT, GROUP, OTHER, 1732630000123), {}),
    ("story", "send_story", (ACCOUNT, "{file}"), {}),
    ("story-group-no-replies", "send_story", (ACCOUNT, "{file}"), {"group_id": GROUP, "allow_replies": False}),
]

#: more argument combinations, for the golden argv test only
GOLDEN_ONLY_CASES = [
    ("send-group-attachment", "send", (ACCOUNT, [GROUP]), {"attachments": ["/t/a.jpg"]}),
    (
        "send-dash-text-mention",
        "send",
        (ACCOUNT, [OTHER, GROUP, "u:bob.42"], "-5 degrees"),
        {"mentions": [(0, 2, OTHER)], "notify_self": True},
    ),
    (
        "send-quote-help",
        "send",
        (ACCOUNT, [OTHER], "x"),
        {"quote": {"timestamp": 5, "author": OTHER, "message": "--help"}},
    ),
    ("send-quote-no-message", "send", (ACCOUNT, [OTHER], "x"), {"quote": {"timestamp": 5, "author": UUID}}),
    (
        "send-preview-sticker-edit",
        "send",
        (ACCOUNT, [OTHER], "see https://a.b"),
        {"preview": {"url": "https://a.b", "title": "-t"}, "view_once": True, "sticker": "ab:1", "edit_timestamp": 7},
    ),
    ("send-preview-no-title", "send", (ACCOUNT, [OTHER], "u"), {"preview": {"url": "https://a.b", "title": None}}),
    ("send-empty-text", "send", (ACCOUNT, [OTHER], ""), {}),
    ("create_group-link", "create_group", (ACCOUNT, "--x", [OTHER]), {"link": "enabled"}),
    ("update_group-name-only", "update_group", (ACCOUNT, GROUP), {"name": "New"}),
    (
        "update_group-permissions-add",
        "update_group",
        (ACCOUNT, GROUP),
        {"permissions": {"add_members": "every-member"}},
    ),
    ("register-plain", "register", (ACCOUNT,), {}),
    ("verify-no-pin", "verify", (ACCOUNT, "123456"), {}),
    ("update_profile-name", "update_profile", (ACCOUNT,), {"given_name": "-n", "remove_avatar": True}),
    ("update_account-false", "update_account", (ACCOUNT,), {"discoverable_by_number": True, "number_sharing": False}),
    ("update_contact-name", "update_contact", (ACCOUNT, UUID), {"name": "-x"}),
    ("update_contact-expiration", "update_contact", (ACCOUNT, OTHER), {"expiration": 0}),
    ("list_contacts-plain", "list_contacts", (ACCOUNT,), {}),
    ("receipt-read", "send_receipt", (ACCOUNT, UUID, 9), {}),
    ("reaction-emoji-dash", "send_reaction", (ACCOUNT, OTHER, "-", OTHER, 9), {"remove": False}),
    ("block-group", "block", (ACCOUNT, [GROUP]), {}),
    ("unregister-plain", "unregister", (ACCOUNT,), {}),
    ("receive-window", "receive", (ACCOUNT, "{spool}"), {"timeout": 2, "max_messages": 100}),
    ("link-name", "link", ("My phone",), {}),
]


class _Built(Exception):
    """Raised in place of running a command, once it is built."""


def built_commands(cases, fill=lambda value: value):
    """Case id -> the :class:`Command` the client builds for it, built and not run. ``fill`` turns
    a case's arguments into real ones (``"{file}"`` into a file, say)."""
    built = []

    def capture(command, *args, **kwargs):
        built.append(command)
        raise _Built

    cli = SignalCli("signal-cli", "/nonexistent")
    # the newest release: no command is refused by version before it is built
    cli.versions._version = "0.14.6"
    cli.run = capture
    cli.runner.link = capture
    commands = {}
    for name, method, args, kwargs in cases:
        with contextlib.suppress(_Built):
            getattr(cli, method)(*fill(args), **fill(kwargs))
        commands[name] = built.pop()
        assert built == [], f"{name} built more than one command"
    return commands
