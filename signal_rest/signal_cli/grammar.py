"""signal-cli's command-line grammar, per release, and the one safe way to write a command as argv.

For each command the table lists its dests in argv order, each with the option that carries it,
its form and the release that introduced it (SIGNAL_CLI.md, SIGNAL_CLI_0.14.md):

``stdin``
    free text sent on stdin, with the option that says so (``--message-from-stdin``);
``text``
    one value in the long ``--name=value`` form, the only argv form safe for any text (§1.1);
``bool``
    ``--name=true`` or ``--name=false`` (signal-cli reads any other word as false);
``word``
    ``-g VALUE``: one value as a word of its own, which must be a plain word;
``list``
    ``--name A B``: every value a plain word (a list option swallows the words after it);
``flag``
    ``--name`` when true;
``positional``
    after ``--``, every value a plain word, so none of them can act as an option. ``--`` is
    written even when there is no value unless the entry says ``dashdash=False``.

A plain word is not empty, does not start with ``-`` and holds no newline or NUL (§1.2). Schemas
refuse such values long before; this is the last line of defence. :func:`commands_for` gives
the table of one release: a command or option newer than the installed signal-cli is refused
with :class:`~.errors.NotSupported` naming the release that has it.
"""

import re
from dataclasses import dataclass

from .errors import NotSupported, UnsafeArgument

#: the oldest release the service supports; every entry without ``since`` has been there since then
BASELINE = "0.13.19"


@dataclass(frozen=True)
class Option:
    """One dest of a command: how it is written on argv, and since which release."""

    dest: str
    form: str
    #: the option as written (``--attachment``, ``-g``); None for a positional
    name: str = None
    since: str = BASELINE
    #: for ``text``: the value must also be a plain word (it names a recipient)
    plain: bool = False
    #: for ``positional``: write ``--`` even without a value
    dashdash: bool = True


@dataclass(frozen=True)
class Syntax:
    """A command's options in argv order, since which release it exists, and the feature's name."""

    options: tuple
    since: str = BASELINE
    feature: str = None

    def option(self, dest):
        """The entry of ``dest`` (KeyError if the command has none)."""
        for option in self.options:
            if option.dest == dest:
                return option
        raise KeyError(dest)


def _stdin(dest, name):
    return Option(dest, "stdin", name)


def _text(dest, name, **kw):
    return Option(dest, "text", name, **kw)


def _bool(dest, name, **kw):
    return Option(dest, "bool", name, **kw)


def _word(dest, name, **kw):
    return Option(dest, "word", name, **kw)


def _list(dest, name, **kw):
    return Option(dest, "list", name, **kw)


def _flag(dest, name, **kw):
    return Option(dest, "flag", name, **kw)


def _positional(dest, **kw):
    return Option(dest, "positional", **kw)


def _syntax(*options, since=BASELINE, feature=None):
    return Syntax(tuple(options), since, feature)


_GROUPS = _list("groupId", "-g")
_RECIPIENTS = _positional("recipient")
_GROUP_SETTINGS = (
    _text("name", "--name"),
    _text("description", "--description"),
    _text("avatar", "--avatar"),
    _text("expiration", "--expiration"),
    _text("link", "--link"),
    _text("setPermissionAddMember", "--set-permission-add-member"),
    _text("setPermissionEditDetails", "--set-permission-edit-details"),
    _text("setPermissionSendMessages", "--set-permission-send-messages"),
    _list("member", "--member"),
    _list("removeMember", "--remove-member"),
    _list("admin", "--admin"),
    _list("removeAdmin", "--remove-admin"),
)
_PIN = (
    _text("targetAuthor", "--target-author"),
    _text("targetTimestamp", "--target-timestamp"),
)

#: every command the service writes, its dests in argv order
COMMANDS = {
    "version": _syntax(),
    "listAccounts": _syntax(),
    "getUserStatus": _syntax(_RECIPIENTS),
    "send": _syntax(
        _stdin("message", "--message-from-stdin"),
        _list("attachment", "--attachment"),
        _list("mention", "--mention"),
        _list("textStyle", "--text-style"),
        _text("quoteTimestamp", "--quote-timestamp"),
        _text("quoteAuthor", "--quote-author"),
        _text("quoteMessage", "--quote-message"),
        _list("quoteMention", "--quote-mention"),
        _text("sticker", "--sticker"),
        _text("editTimestamp", "--edit-timestamp"),
        _text("previewUrl", "--preview-url"),
        _text("previewTitle", "--preview-title"),
        _text("previewDescription", "--preview-description"),
        _text("previewImage", "--preview-image"),
        _flag("viewOnce", "--view-once"),
        _flag("notifySelf", "--notify-self"),
        _flag("noUrgent", "--no-urgent", since="0.14.0"),
        _flag("voiceNote", "--voice-note", since="0.14.2"),
        _GROUPS,
        _RECIPIENTS,
    ),
    "sendReaction": _syntax(
        _text("emoji", "--emoji"),
        _text("targetAuthor", "--target-author"),
        _text("targetTimestamp", "--target-timestamp"),
        _flag("remove", "--remove"),
        _GROUPS,
        _RECIPIENTS,
    ),
    "listGroups": _syntax(_GROUPS),
    "updateGroup": _syntax(
        _word("groupId", "-g"),
        *_GROUP_SETTINGS,
        # exact names only: --member-l is ambiguous in 0.14.1+ (SIGNAL_CLI_0.14.md §3.4)
        _text("memberLabel", "--member-label", since="0.14.1"),
        _text("memberLabelEmoji", "--member-label-emoji", since="0.14.1"),
    ),
    "quitGroup": _syntax(_word("groupId", "-g"), _flag("delete", "--delete")),
    "joinGroup": _syntax(_text("uri", "--uri")),
    "register": _syntax(_flag("voice", "--voice"), _text("captcha", "--captcha")),
    "verify": _syntax(_text("pin", "--pin"), _positional("verificationCode")),
    "updateProfile": _syntax(
        _text("givenName", "--given-name"),
        _text("familyName", "--family-name"),
        _text("about", "--about"),
        _text("avatar", "--avatar"),
        _flag("removeAvatar", "--remove-avatar"),
    ),
    "sendTyping": _syntax(_flag("stop", "--stop"), _GROUPS, _RECIPIENTS),
    "remoteDelete": _syntax(_text("targetTimestamp", "--target-timestamp"), _GROUPS, _RECIPIENTS),
    "sendReceipt": _syntax(_text("targetTimestamp", "--target-timestamp"), _text("type", "--type"), _RECIPIENTS),
    "receive": _syntax(
        _text("timeout", "--timeout"),
        _text("maxMessages", "--max-messages"),
        _flag("ignoreAttachments", "--ignore-attachments"),
        _flag("ignoreStories", "--ignore-stories"),
        _flag("sendReadReceipts", "--send-read-receipts"),
    ),
    "block": _syntax(_GROUPS, _RECIPIENTS),
    "getAvatar": _syntax(_text("groupId", "--group-id"), _text("contact", "--contact", plain=True)),
    "unregister": _syntax(_flag("deleteAccount", "--delete-account")),
    "deleteLocalAccountData": _syntax(_flag("ignoreRegistered", "--ignore-registered")),
    "link": _syntax(_text("name", "--name")),
    "listDevices": _syntax(),
    "addDevice": _syntax(_text("uri", "--uri")),
    "removeDevice": _syntax(_text("deviceId", "--device-id")),
    "submitRateLimitChallenge": _syntax(_text("challenge", "--challenge"), _text("captcha", "--captcha")),
    "updateAccount": _syntax(
        _bool("discoverableByNumber", "--discoverable-by-number"),
        _bool("numberSharing", "--number-sharing"),
        _text("username", "--username"),
        _flag("deleteUsername", "--delete-username"),
    ),
    "setPin": _syntax(_positional("pin")),
    "removePin": _syntax(),
    "listContacts": _syntax(
        _flag("detailed", "--detailed"),
        _flag("allRecipients", "--all-recipients"),
        _positional("recipient", dashdash=False),
    ),
    "updateContact": _syntax(_text("name", "--name"), _text("expiration", "--expiration"), _RECIPIENTS),
    "sendContacts": _syntax(),
    "listIdentities": _syntax(),
    "trust": _syntax(
        _text("verifiedSafetyNumber", "--verified-safety-number"),
        _flag("trustAllKnownKeys", "--trust-all-known-keys"),
        _RECIPIENTS,
    ),
    "listStickerPacks": _syntax(),
    "addStickerPack": _syntax(_text("uri", "--uri")),
    # sendPollCreate's -o is --option, not the global output flag: recipients always after --
    "sendPollCreate": _syntax(
        _text("question", "--question"),
        _list("option", "--option"),
        _flag("noMulti", "--no-multi"),
        _GROUPS,
        _RECIPIENTS,
        since="0.13.22",
        feature="A poll",
    ),
    "sendPollVote": _syntax(
        _text("pollAuthor", "--poll-author"),
        _text("pollTimestamp", "--poll-timestamp"),
        _list("option", "--option"),
        _text("voteCount", "--vote-count"),
        _GROUPS,
        _RECIPIENTS,
        since="0.13.22",
        feature="A poll",
    ),
    "sendPollTerminate": _syntax(
        _text("pollTimestamp", "--poll-timestamp"), _GROUPS, _RECIPIENTS, since="0.13.22", feature="A poll"
    ),
    "sendPinMessage": _syntax(
        *_PIN, _text("pinDuration", "--pin-duration"), _GROUPS, _RECIPIENTS, since="0.14.0", feature="A pinned message"
    ),
    "sendUnpinMessage": _syntax(*_PIN, _GROUPS, _RECIPIENTS, since="0.14.0", feature="A pinned message"),
    # no positional recipients: the group is the audience
    "sendAdminDelete": _syntax(*_PIN, _GROUPS, since="0.14.0", feature="Deleting a message as a group admin"),
    # one attachment, one group (no --group alias); without a group the story goes to "My Story"
    "sendStory": _syntax(
        _text("attachment", "--attachment"),
        _flag("noReplies", "--no-replies"),
        _text("groupId", "--group-id", plain=True),
        since="0.14.6",
        feature="A story",
    ),
}


def version_tuple(version):
    """``"0.13.19"`` as ``(0, 13, 19)``, for comparing releases (``None``: ``(0,)``)."""
    return tuple(int(part) for part in re.findall(r"\d+", version or "0")[:3])


def _at_least(version, since):
    return version_tuple(version) >= version_tuple(since)


def commands_for(version):
    """The table of release ``version``: the commands it has, each with the options it has."""
    return {
        method: Syntax(tuple(o for o in syntax.options if _at_least(version, o.since)), syntax.since, syntax.feature)
        for method, syntax in COMMANDS.items()
        if _at_least(version, syntax.since)
    }


def newest_requirement(command):
    """The newest release that ``command`` needs for itself and the options it gives, and the feature."""
    syntax = COMMANDS[command.method]
    needed, feature = syntax.since, syntax.feature
    for dest in command.params:
        option = syntax.option(dest)
        if version_tuple(option.since) > version_tuple(needed):
            needed, feature = option.since, f"The {option.name} option of {command.method}"
    return needed, feature


def check_supported(command, installed):
    """Raise :class:`NotSupported` unless the ``installed`` release has ``command`` and its options.

    ``installed`` is a function returning the version: it is asked only for a command or option
    newer than the baseline, so the common commands never wait for it.
    """
    needed, feature = newest_requirement(command)
    if needed == BASELINE:
        return
    version = installed()
    if not _at_least(version, needed):
        raise NotSupported(
            f"{feature or command.method} needs signal-cli {needed} or newer; this service runs {version}."
        )


def plain(value):
    """``value`` as text if it is safe as a separate argv word, else :class:`UnsafeArgument`.

    A word that starts with ``-`` would be read as an option; a NUL cannot be passed at all.
    """
    value = str(value)
    if not value or value.startswith("-") or "\0" in value or "\n" in value:
        # the value itself stays out of the message: it may be a PIN or a verification code
        raise UnsafeArgument(
            "Refused a value that is empty, starts with '-' or holds a newline or NUL: signal-cli would misread it."
        )
    return value


def long_form(name, value):
    """``--name=value``: the one argv form that is safe for any text."""
    value = str(value)
    if "\0" in value:
        raise UnsafeArgument(f"Refused to pass a NUL character in {name}.")
    return f"{name}={value}"


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def render(command):
    """The words of ``command`` after the global options, and its stdin (bytes or None)."""
    if command.method == "version":
        return ["--version"], None
    syntax = COMMANDS[command.method]
    unknown = set(command.params) - {option.dest for option in syntax.options}
    if unknown:
        raise ValueError(f"{command.method} has no option for {sorted(unknown)}")
    words, stdin, dashdash = [command.method], None, False
    for option in syntax.options:
        value = command.params.get(option.dest)
        if option.form == "positional":
            values = [] if value is None else _as_list(value)
            if (values or option.dashdash) and not dashdash:
                words.append("--")
                dashdash = True
            words += [plain(v) for v in values]
        elif value is None:
            continue
        elif option.form == "stdin":
            words.append(option.name)
            stdin = str(value).encode("utf-8")
        elif option.form == "text":
            words.append(long_form(option.name, plain(value) if option.plain else value))
        elif option.form == "bool":
            words.append(long_form(option.name, "true" if value else "false"))
        elif option.form == "word":
            words += [option.name, plain(value)]
        elif option.form == "list":
            words += [option.name, *(plain(v) for v in _as_list(value))]
        elif option.form == "flag" and value:
            words.append(option.name)
    return words, stdin


def global_options(config_dir, account=None, trust_mode=None, output="json"):
    """The options before the subcommand: config dir, account, trust mode and JSON output."""
    words = ["--config", str(config_dir)]
    if account is not None:
        words += ["-a", plain(account)]
        if trust_mode:
            words.append(long_form("--trust-new-identities", trust_mode))
    if output != "text":
        words += ["-o", "json"]
    return words


def argv(binary, config_dir, command, account=None, trust_mode=None):
    """The whole argv of ``command`` and its stdin: the binary, the global options, then its words."""
    words, stdin = render(command)
    if command.method == "version":
        return [str(binary), *words], stdin
    return [str(binary), *global_options(config_dir, account, trust_mode, command.output), *words], stdin
