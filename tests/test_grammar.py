"""The grammar: commands written as argv (the safe recipe), global options, releases, refused words."""

import pytest

from signal_rest.signal_cli import GroupId, NotSupported, SignalCli, UnsafeArgument, commands, grammar

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
GROUP = GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")


@pytest.mark.parametrize(
    ("command", "args", "stdin"),
    [
        (commands.send_command([OTHER], "hi"), ["send", "--message-from-stdin", "--", OTHER], b"hi"),
        (
            commands.send_command([GROUP], None, attachments=["/t/a.jpg"]),
            ["send", "--attachment", "/t/a.jpg", "-g", GROUP, "--"],
            None,
        ),
        (
            commands.send_command([OTHER, GROUP, "u:bob.42"], "-5 degrees", mentions=[(0, 2, OTHER)], notify_self=True),
            [
                "send",
                "--message-from-stdin",
                "--mention",
                f"0:2:{OTHER}",
                "--notify-self",
                "-g",
                GROUP,
                "--",
                OTHER,
                "u:bob.42",
            ],
            b"-5 degrees",
        ),
        (
            commands.send_command([OTHER], "x", quote={"timestamp": 5, "author": OTHER, "message": "--help"}),
            [
                "send",
                "--message-from-stdin",
                "--quote-timestamp=5",
                f"--quote-author={OTHER}",
                "--quote-message=--help",
                "--",
                OTHER,
            ],
            b"x",
        ),
        (
            commands.send_command(
                [OTHER],
                "see https://a.b",
                preview={"url": "https://a.b", "title": "-t"},
                view_once=True,
                sticker="ab:1",
                edit_timestamp=7,
            ),
            [
                "send",
                "--message-from-stdin",
                "--sticker=ab:1",
                "--edit-timestamp=7",
                "--preview-url=https://a.b",
                "--preview-title=-t",
                "--view-once",
                "--",
                OTHER,
            ],
            b"see https://a.b",
        ),
        (
            commands.reaction_command(GROUP, "👍", OTHER, 9, remove=True),
            [
                "sendReaction",
                "--emoji=👍",
                f"--target-author={OTHER}",
                "--target-timestamp=9",
                "--remove",
                "-g",
                GROUP,
                "--",
            ],
            None,
        ),
        (commands.list_groups_command(), ["listGroups"], None),
        (commands.list_groups_command([GROUP]), ["listGroups", "-g", GROUP], None),
        (
            commands.create_group_command("--x", [OTHER], link="enabled"),
            ["updateGroup", "--name=--x", "--link=enabled", "--member", OTHER],
            None,
        ),
        (commands.update_group_command(GROUP), ["updateGroup", "-g", GROUP], None),
        (commands.quit_group_command(GROUP, delete=True), ["quitGroup", "-g", GROUP, "--delete"], None),
        (commands.join_group_command("https://signal.group/#x"), ["joinGroup", "--uri=https://signal.group/#x"], None),
        (commands.register_command(voice=True, captcha="c"), ["register", "--voice", "--captcha=c"], None),
        (commands.verify_command("123456", pin="1234"), ["verify", "--pin=1234", "--", "123456"], None),
        (
            commands.update_profile_command(given_name="-n", remove_avatar=True),
            ["updateProfile", "--given-name=-n", "--remove-avatar"],
            None,
        ),
        (commands.user_status_command([OTHER]), ["getUserStatus", "--", OTHER], None),
    ],
)
def test_commands_render_as_argv(command, args, stdin):
    assert grammar.render(command) == (args, stdin)


@pytest.mark.parametrize("value", ["-h", "--config=/etc", "-a/etc/passwd", "", "a\nb", "a\0b", "--"])
def test_option_like_words_are_refused(value):
    with pytest.raises(UnsafeArgument):
        grammar.render(commands.send_command([value], "hi"))
    with pytest.raises(UnsafeArgument):
        grammar.render(commands.list_groups_command([value]))


def test_free_text_cannot_carry_nul():
    with pytest.raises(UnsafeArgument):
        grammar.render(commands.create_group_command("a\0b", []))


def test_argv_has_the_global_options_first(tmp_path):
    cli = SignalCli("/bin/signal-cli", tmp_path, trust_mode_for=lambda account: "always")
    assert cli.argv(commands.list_groups_command(), ACCOUNT) == [
        "/bin/signal-cli",
        "--config",
        str(tmp_path),
        "-a",
        ACCOUNT,
        "--trust-new-identities=always",
        "-o",
        "json",
        "listGroups",
    ]
    assert cli.argv(commands.version_command()) == ["/bin/signal-cli", "--version"]
    assert cli.argv(commands.list_accounts_command()) == [
        "/bin/signal-cli",
        "--config",
        str(tmp_path),
        "-o",
        "json",
        "listAccounts",
    ]


def test_each_release_has_its_own_table():
    assert "sendPollCreate" not in grammar.commands_for("0.13.19")
    assert "sendPollCreate" in grammar.commands_for("0.13.22")
    assert "sendPinMessage" not in grammar.commands_for("0.13.24")
    assert "sendPinMessage" in grammar.commands_for("0.14.6")


@pytest.mark.parametrize(
    ("command", "installed", "needed"),
    [
        (commands.poll_create_command(OTHER, "q", ["a", "b"]), "0.13.19", "A poll needs signal-cli 0.13.22"),
        (commands.pin_message_command(GROUP, OTHER, 1), "0.13.24", "A pinned message needs signal-cli 0.14.0"),
    ],
)
def test_a_command_newer_than_the_installed_release_is_refused(command, installed, needed):
    with pytest.raises(NotSupported, match=needed) as refused:
        grammar.check_supported(command, lambda: installed)
    assert installed in refused.value.message


def test_the_version_is_asked_only_for_newer_commands():
    def installed():
        raise AssertionError("asked for the version")

    grammar.check_supported(commands.send_command([OTHER], "hi"), installed)
    grammar.check_supported(commands.poll_create_command(OTHER, "q", ["a", "b"]), lambda: "0.13.22")


def test_a_param_the_command_does_not_have_is_a_programming_error():
    with pytest.raises(ValueError, match="no option"):
        grammar.render(commands.Command("send", {"bogus": 1}))
