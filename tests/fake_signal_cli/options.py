"""The command line of signal-cli, declared as data, release by release.

``COMMANDS`` and ``GLOBAL_ARGS`` declare every subcommand and argument of every release the fake
models (0.13.19 to 0.14.6, SIGNAL_CLI.md and SIGNAL_CLI_0.14.md §2-§3); an entry added after
:data:`FIRST_RELEASE` carries ``since="x.y.z"``, one replaced by a changed form ``until="x.y.z"``
(the first release without it). :func:`commands_for`
and :func:`build_parser` pick the table of one release; :func:`option_dests` tells, per subcommand,
the name each argument has in signal-cli's JSON-RPC interface (SIGNAL_CLI.md §6).
"""

import copy
import os

from .argparse4j import BOOL, DOUBLE, FILE, INT, LONG, Arg, Group, Parser, flag, format_width, mutex, opt, pos

#: The release the fake reports unless it is told another one.
VERSION = "0.13.19"
#: The oldest release the tables describe: entries without ``since`` are in it and every later one.
FIRST_RELEASE = "0.13.19"

LOCAL, REGISTRATION, PROVISIONING, MULTI, LOCAL_OR_MULTI = (
    "local",
    "registration",
    "provisioning",
    "multi",
    "local_or_multi",
)
BOTH_OUTPUTS = ("plain-text", "json")


class Command:
    """One subcommand: how it loads accounts, which outputs it supports, its arguments.

    *since* is the release that added the subcommand (None: every release the fake models).
    """

    def __init__(self, kind, args=(), outputs=BOTH_OUTPUTS, since=None):
        self.kind = kind
        self.args = args
        self.outputs = outputs
        self.since = since


def _group_ids():
    return opt("-g", "--group-id", "--group", nargs="*")


def _recipients():
    return pos("recipient", nargs="*")


def _usernames():
    return opt("-u", "--username", nargs="*")


def _send_targets(note_to_self_first=False, group_first=False):
    """The recipient options of the poll and pin commands (0.13.22+), in their source order."""
    targets = [_recipients(), _group_ids()]
    if group_first:
        targets.reverse()
    return [*targets, _usernames(), flag("--note-to-self"), flag("--notify-self")]


def _call_id():
    return [opt("--call-id", type=LONG, required=True)]


_RECEIVE_MODES = ("on-start", "on-connection", "manual")
# daemon --socket without a value: $XDG_RUNTIME_DIR/signal-cli/socket
_DEFAULT_SOCKET = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", "signal-cli", "socket")
_RECEIVE_FLAGS = (
    flag("--ignore-attachments"),
    flag("--ignore-stories"),
    # 0.14.0: these make --ignore-a and --ignore-s(t) ambiguous (SIGNAL_CLI_0.14.md §3.4)
    flag("--ignore-avatars", since="0.14.0"),
    flag("--ignore-stickers", since="0.14.0"),
    flag("--send-read-receipts"),
)
_PERMISSIONS = ("every-member", "only-admins")

# The command line of every release the fake models: an argument or subcommand added after
# FIRST_RELEASE says so with since="x.y.z" (see commands_for).
# Argument order matters: it is the order of addArgument() calls in the real source, which is
# the order of the usage line and of "Did you mean" candidates.
COMMANDS = {
    "addDevice": Command(LOCAL, [opt("--uri", required=True)]),
    "acceptCall": Command(LOCAL, _call_id(), since="0.14.2"),
    "addStickerPack": Command(LOCAL, [opt("--uri", required=True, nargs="+")]),
    "block": Command(LOCAL, [_recipients(), opt("-g", "--group-id", "--group", nargs="*")]),
    "daemon": Command(
        LOCAL_OR_MULTI,
        [
            flag("--dbus"),
            flag("--dbus-system", "--system"),
            opt("--bus-name"),
            opt("--socket", nargs="?", type=FILE, const=_DEFAULT_SOCKET),
            opt("--tcp", nargs="?", const="localhost:7583"),
            opt("--http", nargs="?", const="localhost:8080"),
            flag("--no-receive-stdout"),
            opt("--receive-mode", enum=_RECEIVE_MODES, default="on-start"),
            *_RECEIVE_FLAGS,
        ],
    ),
    "deleteLocalAccountData": Command(REGISTRATION, [flag("--ignore-registered")]),
    "finishChangeNumber": Command(
        LOCAL, [pos("number"), opt("-v", "--verification-code", required=True), opt("-p", "--pin")]
    ),
    "hangupCall": Command(LOCAL, _call_id(), since="0.14.2"),
    "getAttachment": Command(
        LOCAL, [opt("--id", required=True), mutex(opt("--recipient"), opt("-g", "--group-id"), required=True)]
    ),
    "getAvatar": Command(
        LOCAL, [mutex(opt("-c", "--contact"), opt("-p", "--profile"), opt("-g", "--group-id"), required=True)]
    ),
    "getSticker": Command(LOCAL, [opt("--pack-id", required=True), opt("--sticker-id", type=INT, required=True)]),
    "getUserStatus": Command(LOCAL, [_recipients(), opt("--username", nargs="*")]),
    "joinGroup": Command(LOCAL, [opt("--uri", required=True)]),
    "jsonRpc": Command(
        LOCAL_OR_MULTI,
        [*_RECEIVE_FLAGS, opt("--receive-mode", enum=_RECEIVE_MODES, default="on-start")],
        outputs=("json",),
    ),
    "link": Command(PROVISIONING, [opt("-n", "--name")], outputs=("plain-text",)),
    "listAccounts": Command(MULTI),
    "listCalls": Command(LOCAL, since="0.14.2"),
    "listContacts": Command(
        LOCAL,
        [
            _recipients(),
            flag("-a", "--all-recipients"),
            opt("--blocked", type=BOOL),
            opt("--name"),
            flag("--detailed"),
            flag("--internal"),
        ],
    ),
    "listDevices": Command(LOCAL),
    "listGroups": Command(LOCAL, [flag("-d", "--detailed"), opt("-g", "--group-id", nargs="*")]),
    "listIdentities": Command(LOCAL, [opt("-n", "--number")]),
    "listStickerPacks": Command(LOCAL),
    "quitGroup": Command(
        LOCAL, [opt("-g", "--group-id", "--group", required=True), flag("--delete"), opt("--admin", nargs="*")]
    ),
    "receive": Command(
        LOCAL,
        [
            opt("-t", "--timeout", type=DOUBLE, default=3.0),
            opt("--max-messages", type=INT, default=-1),
            *_RECEIVE_FLAGS,
        ],
    ),
    "rejectCall": Command(LOCAL, _call_id(), since="0.14.2"),
    "register": Command(REGISTRATION, [flag("-v", "--voice"), opt("--captcha"), flag("--reregister")]),
    "remoteDelete": Command(
        LOCAL,
        [
            opt("-t", "--target-timestamp", required=True, type=LONG),
            _group_ids(),
            _recipients(),
            _usernames(),
            flag("--note-to-self"),
        ],
    ),
    "removeContact": Command(LOCAL, [pos("recipient"), mutex(flag("--hide"), flag("--forget"))]),
    "removeDevice": Command(LOCAL, [opt("-d", "--device-id", "--deviceId", type=INT, required=True)]),
    "removePin": Command(LOCAL),
    "send": Command(
        LOCAL,
        [
            _recipients(),
            _group_ids(),
            _usernames(),
            flag("--note-to-self"),
            flag("--notify-self"),
            mutex(opt("-m", "--message"), flag("--message-from-stdin")),
            opt("-a", "--attachment", nargs="*"),
            flag("--view-once"),
            flag("-e", "--end-session", "--endsession"),
            opt("--mention", nargs="*"),
            opt("--text-style", nargs="*"),
            opt("--quote-timestamp", type=LONG),
            opt("--quote-author"),
            opt("--quote-message"),
            opt("--quote-mention", nargs="*"),
            opt("--quote-attachment", nargs="*"),
            opt("--quote-text-style", nargs="*"),
            opt("--sticker"),
            opt("--preview-url"),
            opt("--preview-title"),
            opt("--preview-description"),
            opt("--preview-image"),
            opt("--story-timestamp", type=LONG),
            opt("--story-author"),
            opt("--edit-timestamp", type=LONG),
            flag("--no-urgent", since="0.14.0"),
            # 0.14.2: makes --v ambiguous with --view-once (SIGNAL_CLI_0.14.md §3.4)
            flag("--voice-note", since="0.14.2"),
        ],
    ),
    "sendAdminDelete": Command(
        LOCAL,
        [
            opt("-g", "--group-id", "--group", nargs="+"),
            flag("--notify-self"),
            opt("-a", "--target-author", required=True),
            opt("-t", "--target-timestamp", required=True, type=LONG),
            flag("--story"),
        ],
        since="0.14.0",
    ),
    "sendContacts": Command(LOCAL),
    "sendMessageRequestResponse": Command(
        LOCAL, [_group_ids(), _recipients(), _usernames(), opt("--type", enum=("accept", "delete"), required=True)]
    ),
    "sendPaymentNotification": Command(LOCAL, [pos("recipient"), opt("--receipt", required=True), opt("--note")]),
    "sendPinMessage": Command(
        LOCAL,
        [
            *_send_targets(group_first=True),
            opt("-d", "--pin-duration", type=INT, default=-1),
            opt("-a", "--target-author", required=True),
            opt("-t", "--target-timestamp", required=True, type=LONG),
            flag("--story"),
        ],
        since="0.14.0",
    ),
    # -o here is --option, not the global output flag (SIGNAL_CLI_0.14.md §3.4)
    "sendPollCreate": Command(
        LOCAL,
        [
            *_send_targets(),
            opt("-q", "--question", required=True),
            flag("--no-multi"),
            opt("-o", "--option", nargs="+", required=True),
        ],
        since="0.13.22",
    ),
    "sendPollTerminate": Command(
        LOCAL, [*_send_targets(), opt("--poll-timestamp", type=LONG, required=True)], since="0.13.22"
    ),
    "sendPollVote": Command(
        LOCAL,
        [
            *_send_targets(),
            opt("--poll-author"),
            opt("--poll-timestamp", type=LONG, required=True),
            opt("-o", "--option", type=INT, nargs="*"),
            opt("--vote-count", type=INT, required=True),
        ],
        since="0.13.22",
    ),
    "sendReaction": Command(
        LOCAL,
        [
            _group_ids(),
            _recipients(),
            _usernames(),
            flag("--note-to-self"),
            # 0.13.22: makes --no ambiguous with --note-to-self (SIGNAL_CLI_0.14.md §3.4)
            flag("--notify-self", since="0.13.22"),
            opt("-e", "--emoji", required=True),
            opt("-a", "--target-author", required=True),
            opt("-t", "--target-timestamp", required=True, type=LONG),
            flag("-r", "--remove"),
            flag("--story"),
        ],
    ),
    "sendReceipt": Command(
        LOCAL,
        [
            pos("recipient"),
            opt("-t", "--target-timestamp", type=LONG, nargs="+", required=True),
            opt("--type", choices=("read", "viewed")),
        ],
    ),
    "sendStory": Command(
        LOCAL,
        [opt("-a", "--attachment", required=True), flag("--no-replies"), opt("-g", "--group-id")],
        since="0.14.6",
    ),
    "sendSyncRequest": Command(LOCAL),
    "sendTyping": Command(LOCAL, [_group_ids(), _recipients(), flag("-s", "--stop")]),
    "setPin": Command(LOCAL, [pos("pin")]),
    "sendUnpinMessage": Command(
        LOCAL,
        [
            *_send_targets(group_first=True),
            opt("-a", "--target-author", required=True),
            opt("-t", "--target-timestamp", required=True, type=LONG),
            flag("--story"),
        ],
        since="0.14.0",
    ),
    # nargs(1) in the source: one recipient, written like a plain positional
    "startCall": Command(LOCAL, [pos("recipient")], since="0.14.2"),
    "startChangeNumber": Command(LOCAL, [pos("number"), flag("-v", "--voice"), opt("--captcha")]),
    "submitRateLimitChallenge": Command(LOCAL, [opt("--challenge", required=True), opt("--captcha", required=True)]),
    "trust": Command(
        LOCAL,
        [
            pos("recipient"),
            mutex(
                flag("-a", "--trust-all-known-keys"), opt("-v", "--verified-safety-number", "--verified-fingerprint")
            ),
        ],
    ),
    "unblock": Command(LOCAL, [_recipients(), opt("-g", "--group-id", "--group", nargs="*")]),
    "unregister": Command(LOCAL, [flag("--delete-account")]),
    "updateAccount": Command(
        LOCAL,
        [
            opt("-n", "--device-name"),
            opt("--unrestricted-unidentified-sender", type=BOOL),
            opt("--discoverable-by-number", type=BOOL),
            opt("--number-sharing", type=BOOL),
            mutex(opt("-u", "--username"), flag("--delete-username")),
        ],
    ),
    "updateConfiguration": Command(
        LOCAL,
        [
            opt("--read-receipts", type=BOOL),
            opt("--unidentified-delivery-indicators", type=BOOL),
            opt("--typing-indicators", type=BOOL),
            opt("--link-previews", type=BOOL),
        ],
    ),
    "updateContact": Command(
        LOCAL,
        [
            pos("recipient"),
            opt("-n", "--name"),
            opt("--given-name"),
            opt("--family-name"),
            opt("--nick-given-name"),
            opt("--nick-family-name"),
            opt("--note"),
            opt("-e", "--expiration", type=INT),
        ],
    ),
    "updateDevice": Command(
        LOCAL,
        [opt("-d", "--device-id", "--deviceId", type=INT, required=True), opt("-n", "--device-name", required=True)],
        since="0.13.23",
    ),
    "updateGroup": Command(
        LOCAL,
        [
            opt("-g", "--group-id", "--group"),
            opt("-n", "--name"),
            opt("-d", "--description"),
            opt("-a", "--avatar"),
            opt("-m", "--member", nargs="*"),
            opt("-r", "--remove-member", nargs="*"),
            opt("--admin", nargs="*"),
            opt("--remove-admin", nargs="*"),
            opt("--ban", nargs="*"),
            opt("--unban", nargs="*"),
            flag("--reset-link"),
            opt("--link", choices=("enabled", "enabled-with-approval", "disabled")),
            opt("--set-permission-add-member", choices=_PERMISSIONS),
            opt("--set-permission-edit-details", choices=_PERMISSIONS),
            opt("--set-permission-send-messages", choices=_PERMISSIONS),
            opt("-e", "--expiration", type=INT),
            # your own label in the group; --member-l is ambiguous (SIGNAL_CLI_0.14.md §3.4)
            opt("--member-label-emoji", since="0.14.1"),
            opt("--member-label", since="0.14.1"),
        ],
    ),
    "updateProfile": Command(
        LOCAL,
        [
            opt("--given-name", "--name"),
            opt("--family-name"),
            opt("--about"),
            opt("--about-emoji"),
            opt("--mobile-coin-address", "--mobilecoin-address"),
            mutex(opt("--avatar"), flag("--remove-avatar")),
        ],
    ),
    "uploadStickerPack": Command(LOCAL, [pos("path")]),
    "verify": Command(REGISTRATION, [pos("verification-code"), opt("-p", "--pin")]),
    "version": Command(LOCAL_OR_MULTI),
}

GLOBAL_ARGS = [
    Arg(("--version",), action="version"),
    Arg(("-v", "--verbose"), action="count"),
    opt("--log-file", type=FILE),
    flag("--scrub-log"),
    opt("-c", "--config", until="0.14.4"),
    # 0.14.4: new names of the same option, whose dest becomes data-dir
    opt("-d", "--data-dir", "-c", "--config", since="0.14.4"),
    opt("-a", "--account", "-u", "--username"),
    mutex(flag("--dbus", dest="global-dbus"), flag("--dbus-system", dest="global-dbus-system")),
    opt("--bus-name", dest="global-bus-name", default="org.asamk.Signal"),
    opt("-o", "--output", enum=("plain-text", "json")),
    opt("--service-environment", enum=("live", "staging", "sandbox"), default="live", until="0.14.0"),
    opt("--service-environment", enum=("live", "staging"), default="live", since="0.14.0"),
    opt("--trust-new-identities", enum=("always", "on-first-use", "never"), default="on-first-use"),
    flag("--disable-send-log"),
]


def release(version):
    """A release number as a comparable tuple: ``"0.13.19"`` -> ``(0, 13, 19)``."""
    return tuple(int(part) for part in version.split("."))


def _present(item, wanted):
    until = getattr(item, "until", None)
    return (item.since is None or release(item.since) <= wanted) and (until is None or wanted < release(until))


def _args_for(args, wanted):
    """The arguments of *args* present in release *wanted*, in their declared order."""
    chosen = []
    for item in args:
        if not _present(item, wanted):
            continue
        if isinstance(item, Group):
            members = [arg for arg in item.args if _present(arg, wanted)]
            if members:
                chosen.append(Group(members, item.required, item.since))
        else:
            chosen.append(item)
    return chosen


def _wanted_release(version):
    wanted = release(version)
    if wanted < release(FIRST_RELEASE):
        raise ValueError(f"signal-cli {version} is older than the oldest release modelled, {FIRST_RELEASE}")
    return wanted


def commands_for(version=VERSION):
    """The subcommands of signal-cli *version*, each with the arguments it has in that release."""
    wanted = _wanted_release(version)
    return {
        name: Command(command.kind, _args_for(command.args, wanted), command.outputs, command.since)
        for name, command in COMMANDS.items()
        if _present(command, wanted)
    }


def _camel_case(dest):
    """Util.dashSeparatedToCamelCaseString: ``target-timestamp`` -> ``targetTimestamp``."""
    first, *rest = dest.split("-")
    return first + "".join(part[0].upper() + part[1:].lower() for part in rest if part)


def _form(arg):
    if arg.name is not None:
        return "positional"
    if arg.action == "store_true":
        return "flag"
    return "list" if arg.nargs in ("*", "+") else "text"


def option_dests(version=VERSION):
    """``{command: {dest: form}}`` for signal-cli *version*.

    *dest* is the name JSON-RPC params use for the argument: its dest (an option's first long
    name, a positional's name) in camelCase. *form* is ``"flag"``, ``"text"`` (one value),
    ``"list"`` (nargs ``*`` or ``+``) or ``"positional"``.
    """
    return {
        name: {
            _camel_case(arg.key): _form(arg)
            for item in command.args
            for arg in (item.args if isinstance(item, Group) else [item])
        }
        for name, command in sorted(commands_for(version).items())
    }


def _with_defaults(args, defaults):
    """*args* with the defaults of a config file (0.14.4+): ``{key: value}``."""
    chosen = []
    for item in args:
        if isinstance(item, Group):
            chosen.append(Group(_with_defaults(item.args, defaults), item.required, item.since))
        elif item.key in defaults and item.name is None:
            changed = copy.copy(item)
            changed.default = defaults[item.key]
            chosen.append(changed)
        else:
            chosen.append(item)
    return chosen


def build_parser(version=VERSION, defaults=None):
    """Build the main parser with one subparser per subcommand (sorted, like a TreeMap).

    *defaults* (``{key: value}``, from a config file) replace the defaults of global options.
    """
    commands = commands_for(version)
    global_args = _with_defaults(_args_for(GLOBAL_ARGS, release(version)), defaults or {})
    main_parser = Parser(global_args, description="Commandline interface for Signal.")
    for name in sorted(commands):
        main_parser.subcommands[name] = Parser(commands[name].args, command=name, main=main_parser)
    return main_parser


def build_logging_preparser():
    """The parser Main.parseLoggingConfig runs over the whole argv before the real one."""
    return Parser([Arg(("-v", "--verbose"), action="count"), opt("--log-file", type=FILE), flag("--scrub-log")])


def usage_text(command=None, version=VERSION):
    """Return the usage block of the main parser or of one subcommand (for tests)."""
    parser = build_parser(version)
    return (parser.subcommands[command] if command else parser).usage(format_width())
