"""A faithful fake of ``signal-cli`` 0.13.19 that runs as a real executable.

The test suite writes a small shim named ``signal-cli`` (see :func:`write_executable`) that
imports this module and calls :func:`main`; ``python fake_signal_cli.py ARGS`` works too.
Every behaviour copies the real program as described in ``SIGNAL_CLI.md`` and read from the
sources of signal-cli 0.13.19 and argparse4j 0.9.0:

* argv is parsed by a port of argparse4j's algorithm (abbreviated long options, attached values,
  list options that swallow following words, ``--``, "last one wins", exact error texts, usage
  lines), including the logging pre-parser quirks (``-h`` anywhere prints help and exits 0, a
  stray ``--log-file=PATH`` creates the file, ``-v`` anywhere raises verbosity);
* the order of checks (output type, config dir, account, lock, "not registered", arguments);
* JSON shapes, "no output" commands, exit codes 0-5 and 143, log lines on stderr.

All state lives in the ``--config`` directory:

``fake-state.json``
    accounts, known users, faults, delay, link settings (see :class:`FakeState`); read under a
    shared ``flock`` on ``fake-state.lock``, changed under an exclusive one, written atomically.
``fake-locks/<account>.lock``
    the per-account lock each process holds for its whole life, like the real account file lock.
``fake-log.jsonl``
    one ``{"event": "start", ...}`` line when a process starts and one record when it ends.
``fake-link-scanned``
    the trigger that makes a waiting ``link`` succeed (its content is the number).
``attachments/<id>``
    attachments "downloaded" by ``receive``.

Tests arrange state and inspect what happened through :class:`FakeState`.
"""

import base64
import fcntl
import hashlib
import json
import os
import random
import re
import signal
import sys
import time

VERSION = "0.13.19"
PROG = "signal-cli"

STATE_FILE = "fake-state.json"
STATE_LOCK = "fake-state.lock"
LOG_FILE = "fake-log.jsonl"
LOCK_DIR = "fake-locks"
LINK_TRIGGER = "fake-link-scanned"
ATTACHMENTS_DIR = "attachments"

# How often waiting loops (receive idle timeout, link) look for news.
POLL_SECONDS = 0.05
DEFAULT_LINK_TIMEOUT = 30.0


# ---------------------------------------------------------------------------
# Small helpers shared by the fake and the test-side API
# ---------------------------------------------------------------------------


def _dumps(obj):
    """Serialise like Jackson: compact, UTF-8 text left unescaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def uuid_for(identifier):
    """Return the deterministic ACI the fake gives to a number or other identifier."""
    raw = bytearray(hashlib.sha256(("fake-signal-cli:" + identifier).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _now_ms():
    return int(time.time() * 1000)


class _FileLock:
    """An ``flock`` held for the duration of a ``with`` block."""

    def __init__(self, path, exclusive=True):
        self.path = path
        self.exclusive = exclusive
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _load_state(config_dir):
    try:
        with open(os.path.join(config_dir, STATE_FILE), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _state_temp_file(config_dir, state):
    """Write *state* next to the state file and return the temp path (os.replace commits it)."""
    tmp = os.path.join(config_dir, f"{STATE_FILE}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False, indent=1)
    return tmp


def read_state(config_dir):
    """Return a snapshot of the state, read under a shared lock."""
    with _FileLock(os.path.join(config_dir, STATE_LOCK), exclusive=False):
        return _load_state(config_dir)


def modify_state(config_dir, fn):
    """Run ``fn(state)`` under the exclusive lock and save the state unless *fn* raises."""
    with _FileLock(os.path.join(config_dir, STATE_LOCK), exclusive=True):
        state = _load_state(config_dir)
        result = fn(state)
        os.replace(_state_temp_file(config_dir, state), os.path.join(config_dir, STATE_FILE))
        return result


def _append_log(config_dir, record):
    """Append one JSON line with a single O_APPEND write, so concurrent writers never interleave."""
    line = (_dumps(record) + "\n").encode("utf-8")
    fd = os.open(os.path.join(config_dir, LOG_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# argparse4j 0.9.0, ported
# ---------------------------------------------------------------------------

STR, LONG, INT, DOUBLE, BOOL, FILE = "str", "long", "int", "double", "bool", "file"
# argparse4j's localised type names; the leading space of the double one is real.
_TYPE_NAMES = {LONG: "integer (64 bits)", INT: "integer (32 bits)", DOUBLE: " number (double precision)"}
_INT_RANGES = {LONG: (-(2**63), 2**63 - 1), INT: (-(2**31), 2**31 - 1)}
_NEG_NUM = re.compile(r"-\d+")
_JAVA_INTEGER = re.compile(r"[+-]?\d+")
_JAVA_DOUBLE = re.compile(r"[+-]?(NaN|Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)")
_JAVA_HEX_DOUBLE = re.compile(r"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?")
# Levenshtein costs argparse4j borrowed from git's help.c.
_SUBSTITUTION, _SWAP, _DELETION, _ADDITION = 2, 0, 4, 1


class ParseError(Exception):
    """An argparse4j ArgumentParserException; *kind* selects the "Did you mean" trailer."""

    def __init__(self, message, parser, kind="error", subject=None):
        super().__init__(message)
        self.message = message
        self.parser = parser
        self.kind = kind
        self.subject = subject


class HelpShown(Exception):
    """The help action ran: help went to stdout and the program exits 0."""


class VersionShown(Exception):
    """``--version`` ran: argparse4j prints the version and calls System.exit(0)."""


class Arg:
    """One argument of a parser: a named option (``flags``) or a positional (``name``)."""

    def __init__(
        self,
        flags=(),
        name=None,
        *,
        action="store",
        nargs=None,
        type=STR,
        choices=None,
        enum=None,
        required=False,
        dest=None,
        default=None,
        const=None,
    ):
        self.flags = tuple(flags)
        self.name = name
        self.action = action
        self.nargs = nargs
        self.type = type
        self.choices = choices
        self.enum = enum
        self.required = required
        self.default = 0 if action == "count" else default
        self.const = const
        self.group = None
        if name is not None:
            self.key = name
            java_dest = name.replace("-", "_")
        else:
            longs = [f for f in self.flags if f.startswith("--")]
            primary = longs[0] if longs else self.flags[0]
            self.key = dest or primary.lstrip("-")
            java_dest = dest or primary.lstrip("-").replace("-", "_")
        self.metavar = java_dest if name is not None else java_dest.upper()

    @property
    def consumes(self):
        return self.action == "store"

    @property
    def textual_name(self):
        return self.name if self.name is not None else "/".join(self.flags)

    def _metavar(self):
        if self.choices is not None:
            return "{" + ",".join(self.choices) + "}"
        if self.type == BOOL:
            return "{true,false}"
        if self.enum is not None:
            return "{" + ",".join(self.enum) + "}"
        return self.metavar

    def format_metavar(self):
        if not self.consumes:
            return ""
        mv = self._metavar()
        return {"?": "[%s]", "*": "[%s [%s ...]]", "+": "%s [%s ...]"}.get(self.nargs, "%s") % (
            (mv,) * ({"*": 2, "+": 2}.get(self.nargs, 1))
        )

    def short_syntax(self, brackets=True):
        if self.name is not None:
            return self.format_metavar()
        mv = self.format_metavar()
        text = self.flags[0] + (" " + mv if mv else "")
        return f"[{text}]" if brackets and not self.required else text

    def help_title(self):
        if self.name is not None:
            return self._metavar()
        mv = self.format_metavar()
        return ", ".join(f + (" " + mv if mv else "") for f in self.flags)

    def convert(self, parser, value):
        """Convert like ReflectArgumentType / enumStringType, then check plain choices."""
        if self.type in (LONG, INT):
            low, high = _INT_RANGES[self.type]
            if not _JAVA_INTEGER.fullmatch(value) or not low <= int(value) <= high:
                raise ParseError(f"could not convert '{value}' to {_TYPE_NAMES[self.type]}", parser, subject=self)
            value = int(value)
        elif self.type == DOUBLE:
            value = _java_double(value, parser, self)
        elif self.type == BOOL:
            value = value.lower() == "true"  # Boolean.valueOf: anything else is false
        if self.enum is not None and value not in self.enum:
            raise ParseError(f"could not convert '{value}' (choose from {self._metavar()})", parser, subject=self)
        if self.choices is not None and value not in self.choices:
            raise ParseError(f"invalid choice: '{value}' (choose from {self._metavar()})", parser, subject=self)
        return value


def _java_double(value, parser, arg):
    text = value.strip("".join(chr(c) for c in range(33)))  # String.trim()
    if _JAVA_DOUBLE.fullmatch(text):
        text = text.rstrip("fFdD").replace("Infinity", "inf")
        return float(text)
    if _JAVA_HEX_DOUBLE.fullmatch(text):
        return float.fromhex(text.rstrip("fFdD"))
    raise ParseError(f"could not convert '{value}' to {_TYPE_NAMES[DOUBLE]}", parser, subject=arg)


class Group:
    """A mutually exclusive group (argparse4j's addMutuallyExclusiveGroup)."""

    def __init__(self, args, required=False):
        self.args = list(args)
        self.required = required
        self.index = None


def opt(*flags, **kw):
    """A named option taking one value (or a list, with ``nargs``)."""
    return Arg(flags, **kw)


def flag(*flags, **kw):
    """A store-true flag."""
    return Arg(flags, action="store_true", **kw)


def pos(name, nargs=None):
    """A positional argument."""
    return Arg(name=name, nargs=nargs)


def mutex(*args, required=False):
    """A mutually exclusive group of options."""
    return Group(args, required)


class _ParseState:
    def __init__(self, args, unknown=None):
        self.args = args
        self.index = 0
        self.consumed_separator = False
        self.deferred = None
        self.pos_index = 0
        self.pos_consumed = 0
        self.pos_args = []
        self.unknown = unknown

    @property
    def avail(self):
        return self.index < len(self.args)

    @property
    def cur(self):
        return self.args[self.index]


def _is_prefixed(term):
    """PrefixPattern.match: starts with '-' and is not made of dashes only."""
    return term.startswith("-") and term.strip("-") != ""


class Parser:
    """A port of ArgumentParserImpl: the main parser or one subcommand's parser."""

    def __init__(self, args=(), command=None, main=None, description=""):
        self.command = command
        self.main = main
        self.description = description
        self.named = []
        self.positionals = []
        self.groups = []
        self.index = {}
        self.subcommands = {}
        self._add(Arg(("-h", "--help"), action="help"))
        for item in args:
            if isinstance(item, Group):
                item.index = len(self.groups)
                self.groups.append(item)
                for arg in item.args:
                    arg.group = item
                    self._add(arg)
            else:
                self._add(item)

    def _add(self, arg):
        if arg.name is not None:
            self.positionals.append(arg)
            return
        for f in arg.flags:
            self.index[f] = arg
        self.named.append(arg)

    # -- usage and help ----------------------------------------------------

    def _group_tokens(self, group, only_required):
        args = group.args
        if len(args) > 1:
            if only_required and not group.required:
                return []
            open_, close = ("(", ")") if group.required else ("[", "]")
            tokens = [open_ + args[0].short_syntax(False)]
            for arg in args[1:-1]:
                tokens += ["|", arg.short_syntax(False)]
            return tokens + ["|", args[-1].short_syntax(False) + close]
        if group.required:
            return [args[0].short_syntax(False)]
        return [args[0].short_syntax()] if not only_required or args[0].required else []

    def _upper_usage(self):
        tokens = self.main._upper_usage() if self.main else []
        if self.command:
            tokens.append(self.command)
        tokens += [a.short_syntax() for a in self.named if a.required and a.group is None]
        for group in self.groups:
            tokens += self._group_tokens(group, only_required=True)
        return tokens + [a.short_syntax() for a in self.positionals]

    def usage(self, width):
        """Return the usage block exactly as argparse4j prints it."""
        prog = "usage: " + PROG
        tokens = self.main._upper_usage() if self.main else []
        if self.command:
            tokens.append(self.command)
        tokens += [a.short_syntax() for a in self.named if a.group is None]
        for group in self.groups:
            tokens += self._group_tokens(group, only_required=False)
        tokens += [a.short_syntax() for a in self.positionals]
        if self.subcommands:
            tokens += ["{" + ",".join(self.subcommands) + "}", "..."]
        indent = " " * len(prog)
        out, current, first = [prog], len(prog), True
        for token in tokens:
            if not first and current + len(token) + 1 > width:
                out.append("\n" + indent + " " + token)
                current = len(indent) + 1 + len(token)
            else:
                out.append(" " + token)
                current += 1 + len(token)
                first = False
        return "".join(out) + "\n"

    def help(self, width):
        """Return the help screen: usage and argument titles (help texts are not copied)."""
        lines = [self.usage(width)]
        if self.description:
            lines.append(f"\n{self.description}\n")
        if self.positionals:
            lines.append("\npositional arguments:\n")
            lines += [_help_line(a) for a in self.positionals]
        lines.append("\nnamed arguments:\n")
        lines += [_help_line(a) for a in self.named]
        if self.subcommands:
            lines.append("\nsubcommands:\n  {" + ",".join(self.subcommands) + "}\n")
            lines += [f"    {name}\n" for name in self.subcommands]
        return "".join(lines)

    # -- parsing ------------------------------------------------------------

    def parse(self, state, attrs):
        """Port of ArgumentParserImpl.parseArgs(ParseState, Map)."""
        for arg in self.positionals + self.named:
            if arg.action != "help":
                attrs[arg.key] = arg.default
        used = set()
        group_used = [None] * len(self.groups)
        while state.avail:
            if self._flag_found(state) and state.cur != "--":
                term = state.cur
                flag_text, embedded = term, None
                if "=" in term:
                    flag_text, embedded = term.split("=", 1)
                arg = self._resolve_flag(flag_text)
                if arg is None:
                    embedded = None
                    short_found, unknown_start = False, -1
                    if term.startswith("-") and not term.startswith("--"):
                        short_found = True
                        for i in range(1, len(term)):
                            short = "-" + term[i]
                            arg = self.index.get(short)
                            if arg is None:
                                short_found, unknown_start = False, i
                                break
                            if arg.consumes:
                                flag_text = short
                                if len(term) > i + 1:
                                    embedded = term[i + 1 :]
                                break
                            self._check_mutex(arg, group_used)
                            self._run(arg, attrs, None)
                            used.add(arg)
                            arg = None
                    if not short_found:
                        if state.unknown is None:
                            raise ParseError(f"unrecognized arguments: '{term}'", self, kind="flag", subject=term)
                        state.unknown.append(term if unknown_start == -1 else term[0] + term[unknown_start:])
                state.index += 1
                if arg is not None:
                    self._check_mutex(arg, group_used)
                    self._process(attrs, state, arg, embedded)
                    used.add(arg)
            elif state.cur == "--" and not state.consumed_separator:
                state.consumed_separator = True
                state.index += 1
            elif state.pos_index < len(self.positionals):
                self._accumulate(state, self.positionals[state.pos_index])
            elif not state.consumed_separator and self.subcommands:
                self._process_positionals(attrs, state)
                self._check_required(state, used, group_used)
                state.pos_index, state.pos_consumed, state.pos_args = 0, 0, []
                self._parse_subcommand(state, attrs)
                return
            elif state.unknown is None:
                raise ParseError(f"unrecognized arguments: '{' '.join(state.args[state.index :])}'", self)
            else:
                state.unknown.append(state.cur)
                state.index += 1
        if self.subcommands:
            raise ParseError("too few arguments", self)
        self._process_positionals(attrs, state)
        self._check_required(state, used, group_used)

    def _flag_found(self, state):
        term = state.cur
        if state.consumed_separator:
            return False
        if term == "--":
            return True
        return _is_prefixed(term) and not _NEG_NUM.fullmatch(term)

    def _resolve_flag(self, flag_text):
        arg = self.index.get(flag_text)
        if arg is not None:
            return arg
        candidates = [f for f in self.index if f.startswith(flag_text)]
        if not candidates:
            return None
        if self._concatenated_short_opts(flag_text):
            candidates.append(flag_text[:2])
        elif len(candidates) == 1:
            return self.index[candidates[0]]
        raise ParseError(f"ambiguous option: {flag_text} could match {', '.join(sorted(candidates))}", self)

    def _concatenated_short_opts(self, term):
        if not re.fullmatch(r"-[^-].*", term, re.S):
            return False
        for ch in term[1:]:
            arg = self.index.get("-" + ch)
            if arg is None:
                return False
            if arg.consumes:
                return True
        return True

    def _check_mutex(self, arg, group_used):
        if arg.group is None:
            return
        used = group_used[arg.group.index]
        if used is None:
            group_used[arg.group.index] = arg
        elif used is not arg:
            raise ParseError(f"argument {arg.textual_name}: not allowed with argument {used.textual_name}", self)

    def _run(self, arg, attrs, value):
        if arg.action == "help":
            raise HelpShown(self)
        if arg.action == "version":
            raise VersionShown()
        if arg.action == "count":
            attrs[arg.key] = attrs.get(arg.key, 0) + 1
        elif arg.action == "store_true":
            attrs[arg.key] = True
        else:
            attrs[arg.key] = value

    def _argument_error(self, arg, message):
        return ParseError(f"argument {arg.textual_name}: {message}", self)

    def _process(self, attrs, state, arg, embedded):
        if not arg.consumes:
            if embedded is not None:
                raise self._argument_error(arg, f"ignore implicit argument '{embedded}'")
            self._run(arg, attrs, None)
            return
        if arg.nargs in (None, "?"):
            value = embedded
            if value is None and state.avail and not self._flag_found(state):
                value = state.cur
                state.index += 1
            if value is None:
                if arg.nargs is None:
                    raise self._argument_error(arg, "expected one argument")
                self._run(arg, attrs, arg.const)
            else:
                self._run(arg, attrs, self._convert(arg, value))
            return
        values = []
        if embedded is None:
            while state.avail and not self._flag_found(state):
                values.append(self._convert(arg, state.cur))
                state.index += 1
        else:
            values.append(self._convert(arg, embedded))
        if arg.nargs == "+" and not values:
            raise self._argument_error(arg, "expected 1 argument(s)")
        self._run(arg, attrs, values)

    def _convert(self, arg, value):
        try:
            return arg.convert(self, value)
        except ParseError as e:
            raise self._argument_error(arg, e.message)

    def _accumulate(self, state, arg):
        if arg.nargs is None:
            state.pos_args.append(state.cur)
            state.index += 1
            state.pos_index += 1
            return
        while state.avail and not self._flag_found(state):
            state.pos_args.append(state.cur)
            state.pos_consumed += 1
            state.index += 1

    def _process_positionals(self, attrs, state):
        must_left = [1 if a.nargs is None else (1 if a.nargs == "+" else 0) for a in self.positionals] + [0]
        for i in range(len(self.positionals) - 1, -1, -1):
            must_left[i] += must_left[i + 1]
        if must_left[0] > len(state.pos_args):
            raise ParseError("too few arguments", self)
        index = 0
        for i, arg in enumerate(self.positionals):
            if arg.nargs is None:
                attrs[arg.key] = self._convert(arg, state.pos_args[index])
                index += 1
                continue
            n = len(state.pos_args) - index - must_left[i + 1]
            if n > 0:
                attrs[arg.key] = [self._convert(arg, v) for v in state.pos_args[index : index + n]]
                index += n

    def _check_required(self, state, used, group_used):
        # argparse4j defers these errors to the end of the whole parse; the last one found wins.
        if state.deferred is not None:
            return
        for arg in self.named:
            if arg.required and arg not in used:
                state.deferred = ParseError(f"argument {arg.textual_name} is required", self)
        if state.deferred is not None:
            return
        for group in self.groups:
            if group.required and group_used[group.index] is None:
                names = "".join(a.textual_name + " " for a in group.args)
                state.deferred = ParseError(f"one of the arguments {names}is required", self)

    def _parse_subcommand(self, state, attrs):
        command = state.cur
        sub = None
        if command:
            sub = self.subcommands.get(command)
            if sub is None:
                candidates = sorted(c for c in self.subcommands if c.startswith(command))
                if len(candidates) == 1:
                    sub = self.subcommands[candidates[0]]
                elif candidates:
                    raise ParseError(f"ambiguous command: {command} could match {', '.join(candidates)}", self)
        if sub is None:
            choices = ", ".join(f"'{c}'" for c in self.subcommands)
            raise ParseError(
                f"invalid choice: '{command}' (choose from {choices})", self, kind="command", subject=command
            )
        state.index += 1
        sub.parse(state, attrs)
        attrs["command"] = sub.command


def _help_line(arg):
    title = arg.help_title()
    text = "show this help message and exit" if arg.action == "help" else ""
    if not text:
        return f"  {title}\n"
    if len(title) <= 21:
        return f"  {title.ljust(23)}{text}\n"
    return f"  {title}\n{' ' * 25}{text}\n"


def _levenshtein(a, b):
    """argparse4j's weighted Damerau-Levenshtein distance."""
    dp = [[0] * (len(b) + 1) for _ in range(3)]
    dp[1] = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        dp[0][0] = i
        for j in range(1, len(b) + 1):
            dp[0][j] = dp[1][j - 1] + (0 if a[i - 1] == b[j - 1] else _SUBSTITUTION)
            if i >= 2 and j >= 2 and a[i - 1] != b[j - 1] and a[i - 2] == b[j - 1] and a[i - 1] == b[j - 2]:
                dp[0][j] = min(dp[0][j], dp[2][j - 2] + _SWAP)
            dp[0][j] = min(dp[0][j], dp[1][j] + _DELETION, dp[0][j - 1] + _ADDITION)
        dp[2], dp[1], dp[0] = dp[1], dp[0], dp[2]
    return dp[1][len(b)]


def _candidates(body, subjects):
    """Return the "Did you mean" trailer for *body* among (subject, subject body) pairs."""
    scored = sorted((0 if sb.startswith(body) else _levenshtein(body, sb), s) for s, sb in subjects)
    if not scored or scored[0][0] >= 7:
        return ""
    best = scored[0][0]
    return "\nDid you mean:\n" + "".join(f"\t{s}\n" for score, s in scored if score == best)


def _break_segments(text):
    """Split text where java.text.BreakIterator allows a line break (after spaces, hyphens, newlines)."""
    segments, current = [], ""
    for i, ch in enumerate(text):
        current += ch
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if (
            ch == "\n"
            or (ch == " " and nxt != " ")
            or (ch == "-" and i > 0 and text[i - 1].isalnum() and nxt.isalnum())
        ):
            segments.append(current)
            current = ""
    if current:
        segments.append(current)
    return segments


def _adjust_space(line, width, current_width):
    """TextHelper.adjustSpace: strip, then justify by widening the space runs."""
    stripped = line.strip(" ")
    current_width -= len(line) - len(stripped)
    runs = re.split(r"( +)", stripped)
    blocks = len(runs) // 2
    if blocks == 0:
        return stripped
    need = width - current_width
    each, rem = divmod(need, blocks)
    rem_start = (blocks - rem + 1) // 2
    out = []
    for i, part in enumerate(runs):
        extra = ""
        if i % 2:
            b = i // 2
            extra = " " * (each + (1 if rem_start <= b < rem_start + rem else 0))
        out.append(part + extra)
    return "".join(out)


def _wrap(text, width):
    """TextHelper.wrap as used for argparse4j's error line."""
    result, line, current = "", "", 0
    for segment in _break_segments(text):
        current += len(segment)
        if current > width:
            result += _adjust_space(line, width, current - len(segment)) + "\n"
            line, current = "", len(segment)
        line += segment
        if segment.endswith("\n"):
            result += line
            line, current = "", 0
    return result + line


def _format_width():
    """argparse4j uses $COLUMNS - 5 when set; without a terminal it falls back to 75."""
    try:
        width = int(os.environ.get("COLUMNS", "")) - 5
    except ValueError:
        return 75
    return width if width > 0 else 75


def render_parse_error(error):
    """Return the stderr text argparse4j's handleError writes for *error*."""
    width = _format_width()
    parser = error.parser
    text = parser.usage(width) + _wrap(f"{PROG}: error: {error.message}\n", width)
    if error.kind == "flag":
        body = error.subject.lstrip("-")
        if len(body) >= 2:
            subjects = [(f, f.lstrip("-")) for a in parser.named for f in a.flags if len(f.lstrip("-")) > 1]
            text += _candidates(body, subjects)
    elif error.kind == "command":
        text += _candidates(error.subject, [(c, c) for c in parser.subcommands])
    return text


# ---------------------------------------------------------------------------
# The command line of signal-cli 0.13.19, declared as data
# ---------------------------------------------------------------------------

LOCAL, REGISTRATION, PROVISIONING, MULTI, LOCAL_OR_MULTI = (
    "local",
    "registration",
    "provisioning",
    "multi",
    "local_or_multi",
)
BOTH_OUTPUTS = ("plain-text", "json")


class Command:
    """One subcommand: how it loads accounts, which outputs it supports, its arguments."""

    def __init__(self, kind, args=(), outputs=BOTH_OUTPUTS):
        self.kind = kind
        self.args = args
        self.outputs = outputs


def _group_ids():
    return opt("-g", "--group-id", "--group", nargs="*")


def _recipients():
    return pos("recipient", nargs="*")


def _usernames():
    return opt("-u", "--username", nargs="*")


_RECEIVE_MODES = ("on-start", "on-connection", "manual")
_RECEIVE_FLAGS = (flag("--ignore-attachments"), flag("--ignore-stories"), flag("--send-read-receipts"))
_PERMISSIONS = ("every-member", "only-admins")

# Argument order matters: it is the order of addArgument() calls in the real source, which is
# the order of the usage line and of "Did you mean" candidates.
COMMANDS = {
    "addDevice": Command(LOCAL, [opt("--uri", required=True)]),
    "addStickerPack": Command(LOCAL, [opt("--uri", required=True, nargs="+")]),
    "block": Command(LOCAL, [_recipients(), opt("-g", "--group-id", "--group", nargs="*")]),
    "daemon": Command(
        LOCAL_OR_MULTI,
        [
            flag("--dbus"),
            flag("--dbus-system", "--system"),
            opt("--bus-name"),
            opt("--socket", nargs="?", type=FILE),
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
        ],
    ),
    "sendContacts": Command(LOCAL),
    "sendMessageRequestResponse": Command(
        LOCAL, [_group_ids(), _recipients(), _usernames(), opt("--type", enum=("accept", "delete"), required=True)]
    ),
    "sendPaymentNotification": Command(LOCAL, [pos("recipient"), opt("--receipt", required=True), opt("--note")]),
    "sendReaction": Command(
        LOCAL,
        [
            _group_ids(),
            _recipients(),
            _usernames(),
            flag("--note-to-self"),
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
    "sendSyncRequest": Command(LOCAL),
    "sendTyping": Command(LOCAL, [_group_ids(), _recipients(), flag("-s", "--stop")]),
    "setPin": Command(LOCAL, [pos("pin")]),
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
    opt("-c", "--config"),
    opt("-a", "--account", "-u", "--username"),
    mutex(flag("--dbus", dest="global-dbus"), flag("--dbus-system", dest="global-dbus-system")),
    opt("--bus-name", dest="global-bus-name", default="org.asamk.Signal"),
    opt("-o", "--output", enum=("plain-text", "json")),
    opt("--service-environment", enum=("live", "staging", "sandbox"), default="live"),
    opt("--trust-new-identities", enum=("always", "on-first-use", "never"), default="on-first-use"),
    flag("--disable-send-log"),
]


def build_parser():
    """Build the main parser with one subparser per entry of COMMANDS (sorted, like a TreeMap)."""
    main_parser = Parser(GLOBAL_ARGS, description="Commandline interface for Signal.")
    for name in sorted(COMMANDS):
        main_parser.subcommands[name] = Parser(COMMANDS[name].args, command=name, main=main_parser)
    return main_parser


def build_logging_preparser():
    """The parser Main.parseLoggingConfig runs over the whole argv before the real one."""
    return Parser([Arg(("-v", "--verbose"), action="count"), opt("--log-file", type=FILE), flag("--scrub-log")])


def usage_text(command=None):
    """Return the usage block of the main parser or of one subcommand (for tests)."""
    parser = build_parser()
    return (parser.subcommands[command] if command else parser).usage(_format_width())


# ---------------------------------------------------------------------------
# Value syntax signal-cli checks itself (numbers, group ids, data URIs)
# ---------------------------------------------------------------------------


class CommandError(Exception):
    """A CommandException: *message* goes to stderr and the process exits with *code*."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_VALID_ACCOUNT = re.compile(r"\+[1-9]\d{3,14}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
# Country calling codes are prefix-free: 1 and 7 have one digit, these have two, the rest three.
_TWO_DIGIT_CODES = {
    "20",
    "27",
    "30",
    "31",
    "32",
    "33",
    "34",
    "36",
    "39",
    "40",
    "41",
    "43",
    "44",
    "45",
    "46",
    "47",
    "48",
    "49",
    "51",
    "52",
    "53",
    "54",
    "55",
    "56",
    "57",
    "58",
    "60",
    "61",
    "62",
    "63",
    "64",
    "65",
    "66",
    "81",
    "82",
    "84",
    "86",
    "90",
    "91",
    "92",
    "93",
    "94",
    "95",
    "98",
}
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_INDEX = {ord(c): i for i, c in enumerate(_B64_ALPHABET)}


def _calling_code(number):
    digits = number.lstrip("+")
    if digits[:1] in ("1", "7"):
        return digits[:1]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def _imprecise_format(number, local):
    """PhoneNumberFormatter.impreciseFormatNumber: fill missing digits from our own number."""
    if number.startswith("+"):
        return number
    local = local.lstrip("+")
    if len(local) <= len(number):
        return "+" + number
    return "+" + local[: len(local) - len(number)] + number


def format_number(text, local_number):
    """Normalise a recipient the loose way signal-cli does (an approximation of libphonenumber)."""
    if "@" in text:
        raise ValueError("Possible attempt to use email address.")
    number = re.sub(r"[^0-9+]", "", text)
    if not number:
        raise ValueError("No valid characters found.")
    code = _calling_code(local_number)
    if number.startswith("+"):
        digits = number.replace("+", "")
        return "+" + digits if 2 <= len(digits) <= 17 else number
    if "+" in number:
        return _imprecise_format(number, local_number)
    if number.startswith("00"):
        return "+" + number[2:]
    if number.startswith("0") and code not in ("1", "7"):
        national = number[1:]
    elif number.startswith(code) and len(number) >= 11:
        return "+" + number
    else:
        national = number
    if 2 <= len(national) <= 17:
        return "+" + code + national
    return _imprecise_format(number, local_number)


def parse_recipient(text, local_number):
    """RecipientIdentifier.Single.fromString: a (kind, value) pair or exit 1."""
    if text is None:
        raise CommandError(
            2,
            _java_trace(
                "java.lang.NullPointerException",
                'Cannot invoke "String.startsWith(String)" because "identifier" is null',
            ),
        )
    if _UUID.fullmatch(text):
        return ("uuid", text.lower())
    if text.startswith("PNI:"):
        if not _UUID.fullmatch(text[4:]):
            raise CommandError(1, f"Invalid phone number '{text}': Invalid PNI")
        return ("pni", text[4:].lower())
    if text.startswith("u:"):
        return ("username", text[2:])
    try:
        return ("number", format_number(text, local_number))
    except ValueError as e:
        raise CommandError(1, f"Invalid phone number '{text}': {e}")


def java_b64decode(text):
    """java.util.Base64.getDecoder().decode(String), with its exact error messages."""
    src = bytes(ord(c) if ord(c) < 256 else 0x3F for c in text)
    if not src:
        return b""
    if len(src) < 2:
        raise ValueError("Input byte[] should at least have 2 bytes for base64 bytes")
    out, bits, shift, sp = bytearray(), 0, 18, 0
    while sp < len(src):
        byte = src[sp]
        sp += 1
        if byte == 0x3D:  # '='
            if shift == 18 or (shift == 6 and (sp == len(src) or src[sp] != 0x3D)):
                raise ValueError("Input byte array has wrong 4-byte ending unit")
            if shift == 6:
                sp += 1
            break
        value = _B64_INDEX.get(byte)
        if value is None:
            signed = byte - 256 if byte > 127 else byte
            raise ValueError("Illegal base64 character %s" % ("-%x" % -signed if signed < 0 else f"{signed:x}"))
        bits |= value << shift
        shift -= 6
        if shift < 0:
            out += bytes(((bits >> 16) & 0xFF, (bits >> 8) & 0xFF, bits & 0xFF))
            bits, shift = 0, 18
    if shift == 6:
        out.append((bits >> 16) & 0xFF)
    elif shift == 0:
        out += bytes(((bits >> 16) & 0xFF, (bits >> 8) & 0xFF))
    elif shift == 12:
        raise ValueError("Last unit does not have enough valid bits")
    if sp < len(src):
        raise ValueError(f"Input byte array has incorrect ending byte at {sp}")
    return bytes(out)


def parse_group_id(text):
    """GroupId.fromBase64 through CommandUtil.getGroupId: the canonical id or exit 1."""
    try:
        raw = java_b64decode(text)
        if len(raw) not in (16, 32):
            raise ValueError(f"Invalid group id of size {len(raw)}")
    except ValueError as e:
        raise CommandError(1, f'Invalid group id: Failed to decode groupId (must be base64) "{text}": {e}')
    return base64.b64encode(raw).decode()


_DATA_URI = re.compile(r"\Adata:(?P<type>.+?/.+?)?(?P<parameters>;.+?=.+?)?(?P<base64>;base64)?,(?P<data>.+)\Z", re.I)
_DATA_URI_PARAMETER = re.compile(r";(?P<key>.+)=(?P<value>.+)", re.I)


def _url_decode(text):
    """java.net.URLDecoder.decode, which refuses malformed % escapes."""
    if re.search(r"%(?![0-9a-fA-F]{2})", text):
        raise ValueError("URLDecoder: Illegal hex characters in escape (%) pattern")
    from urllib.parse import unquote_plus

    return unquote_plus(text, errors="replace")


def parse_data_uri(text):
    """DataURI.of: (content type, file name or None, bytes); ValueError if it is not one."""
    match = _DATA_URI.match(text)
    if not match:
        raise ValueError("The given string is not a valid data URI.")
    parameters = {}
    if match.group("parameters"):
        for m in _DATA_URI_PARAMETER.finditer(match.group("parameters")):
            parameters[m.group("key")] = _url_decode(m.group("value"))
    if match.group("base64"):
        data = java_b64decode(match.group("data"))
    else:
        data = _url_decode(match.group("data")).encode("utf-8")
    return match.group("type") or "text/plain", parameters.get("filename"), data


def _java_trace(exception, message, frames=None):
    frames = frames or [
        "org.asamk.signal.commands.CommandHandler.handleLocalCommand(CommandHandler.java:42)",
        "org.asamk.signal.App.handleLocalCommand(App.java:265)",
        "org.asamk.signal.App.handleCommand(App.java:175)",
        "org.asamk.signal.App.init(App.java:152)",
        "org.asamk.signal.Main.main(Main.java:61)",
    ]
    return f"{exception}: {message}\n" + "\n".join("\tat " + f for f in frames)


_VERIFY_NPE = _java_trace(
    "java.lang.NullPointerException",
    "Parameter specified as non-null is null: method "
    "org.whispersystems.signalservice.api.registration.RegistrationApi.verifyAccount, parameter sessionId",
    [
        "org.whispersystems.signalservice.api.registration.RegistrationApi.verifyAccount(RegistrationApi.kt)",
        "org.asamk.signal.manager.internal.RegistrationManagerImpl.verifyAccountWithCode"
        "(RegistrationManagerImpl.java:313)",
        "org.asamk.signal.manager.util.NumberVerificationUtils.verifyNumber(NumberVerificationUtils.java:101)",
        "org.asamk.signal.manager.internal.RegistrationManagerImpl.verifyAccount(RegistrationManagerImpl.java:196)",
        "org.asamk.signal.commands.VerifyCommand.verify(VerifyCommand.java:76)",
        "org.asamk.signal.commands.VerifyCommand.handleCommand(VerifyCommand.java:46)",
        "org.asamk.signal.commands.CommandHandler.handleRegistrationCommand(CommandHandler.java:62)",
        "org.asamk.signal.App.handleRegistrationCommand(App.java:253)",
        "org.asamk.signal.App.handleCommand(App.java:168)",
        "org.asamk.signal.App.init(App.java:152)",
        "org.asamk.signal.Main.main(Main.java:61)",
    ],
)

_LOGGER_NAMES = {
    "AccountHelper": "org.asamk.signal.manager.helper.AccountHelper",
    "SignalAccount": "org.asamk.signal.manager.storage.SignalAccount",
    "ManagerImpl": "org.asamk.signal.manager.internal.ManagerImpl",
    "MultiAccountManager": "org.asamk.signal.manager.MultiAccountManager",
    "App": "org.asamk.signal.App",
}


def _abbreviate_logger(name, limit=36):
    """Logback's %logger{36}: shorten leading package names to one letter until it fits."""
    parts = name.split(".")
    for i in range(len(parts) - 1):
        if len(".".join(parts)) <= limit:
            break
        parts[i] = parts[i][0]
    return ".".join(parts)


# ---------------------------------------------------------------------------
# Account and group records
# ---------------------------------------------------------------------------


def _account(state, number):
    """Return the account entry for *number*, filling every key the fake relies on."""
    acct = state.setdefault("accounts", {}).setdefault(number, {})
    acct.setdefault("registered", False)
    acct.setdefault("uuid", uuid_for(number))
    acct.setdefault("device_id", 1)
    for key in ("groups", "contacts", "identities", "sticker_packs", "inbox"):
        acct.setdefault(key, [])
    for key in ("group_avatars", "contact_avatars", "profile_avatars", "profile", "configuration"):
        acct.setdefault(key, {})
    acct.setdefault("created", _now_ms())
    acct.setdefault(
        "devices",
        [
            {
                "id": acct["device_id"],
                "name": None,
                "createdTimestamp": acct["created"],
                "lastSeenTimestamp": acct["created"],
            }
        ],
    )
    acct.setdefault("pin", None)
    acct.setdefault("username", None)
    acct.setdefault("blocked", {"numbers": [], "groups": []})
    return acct


def _user(state, number):
    return state.get("users", {}).get(number) or {}


def _member(state, number):
    """A listGroups member entry for a number (an account of this config dir uses its own uuid)."""
    own = state.get("accounts", {}).get(number, {}).get("uuid")
    return {"number": number, "uuid": own or _user(state, number).get("uuid") or uuid_for(number)}


def _random_group_link():
    return "https://signal.group/#" + base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")


def new_group_entry(group_id, name, members, admins, **fields):
    """A listGroups entry with every field, in the order signal-cli prints them."""
    entry = {
        "id": group_id,
        "name": name,
        "description": None,
        "isMember": True,
        "isBlocked": False,
        "messageExpirationTime": 0,
        "members": members,
        "pendingMembers": [],
        "requestingMembers": [],
        "admins": admins,
        "banned": [],
        "permissionAddMember": "EVERY_MEMBER",
        "permissionEditDetails": "EVERY_MEMBER",
        "permissionSendMessage": "EVERY_MEMBER",
        "groupInviteLink": None,
    }
    entry.update(fields)
    return entry


def _find_group(acct, group_id):
    return next((g for g in acct["groups"] if g.get("id") == group_id), None)


def _is_self(member, number, acct):
    return member.get("number") == number or member.get("uuid") == acct["uuid"]


def _contact_entry(number, uuid):
    return {
        "number": number,
        "uuid": uuid,
        "username": None,
        "name": "",
        "givenName": None,
        "familyName": None,
        "nickName": None,
        "nickGivenName": None,
        "nickFamilyName": None,
        "note": None,
        "color": None,
        "isBlocked": False,
        "isHidden": False,
        "messageExpirationTime": 0,
        "profileSharing": False,
        "unregistered": False,
        "profile": None,
    }


def _identity_entry(number, uuid, trust_level="TRUSTED_UNVERIFIED"):
    digest = hashlib.sha256(("identity:" + number).encode()).digest()
    digits = "".join(f"{int.from_bytes(digest[i * 2 : i * 2 + 3], 'big') % 100000:05d}" for i in range(12))
    return {
        "number": number,
        "uuid": uuid,
        "fingerprint": "05" + digest.hex(),
        "safetyNumber": " ".join(digits[i : i + 5] for i in range(0, 60, 5)),
        "scannableSafetyNumber": base64.b64encode(hashlib.sha256(digest).digest()).decode(),
        "trustLevel": trust_level,
        "addedTimestamp": _now_ms(),
    }


# ---------------------------------------------------------------------------
# One run of the program
# ---------------------------------------------------------------------------

HANDLERS = {}


def handler(name):
    """Register the function that performs subcommand *name*."""

    def register(fn):
        HANDLERS[name] = fn
        return fn

    return register


def _default_config_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "signal-cli")


class Run:
    """State of one invocation: parsed options, output counters and the log record."""

    def __init__(self, argv):
        self.argv = argv
        self.launched = time.time()
        self.ns = {}
        self.config_dir = None
        self.command = None
        self.account = None
        self.json = False
        self.stdout_bytes = 0
        self.stderr = []
        self.capture = None
        self.quirks = []
        self.verbose = 0
        self.log_file = None
        self.started = None
        self.waited = False
        self.stdin_text = None
        self.attachments = []
        self.start_logged = False
        self.finished = False
        self.lock_fds = []

    # -- output ---------------------------------------------------------------

    def out(self, text):
        """Write to stdout and flush at once (PlainTextWriter flushes every line)."""
        data = text.encode("utf-8")
        if self.capture is not None:
            self.capture.append(data)
            return
        self.stdout_bytes += len(data)
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            pass

    def out_strict(self, text):
        """Write to stdout, letting a closed pipe raise (receive must know a line was not delivered)."""
        data = text.encode("utf-8")
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        self.stdout_bytes += len(data)

    def err(self, text):
        """Write to stderr (and keep a copy for the log record)."""
        self.stderr.append(text)
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except BrokenPipeError:
            pass

    def log(self, level, logger, message):
        """Emit a log line the way signal-cli's logback setup does."""
        if level == "DEBUG" and not self.verbose:
            return
        full = _LOGGER_NAMES.get(logger, "org.asamk.signal.commands." + logger)
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        detailed = f"{stamp} [main] {level:<5} {_abbreviate_logger(full)} - {message}\n"
        if self.log_file:
            try:
                with open(self.log_file, "a", encoding="utf-8") as f:
                    f.write(detailed)
            except OSError:
                pass
        if not self.log_file and self.verbose:
            self.err(detailed)
        elif level != "DEBUG":  # with a log file the console only gets INFO and up
            self.err(f"{level:<5} {logger} - {message}\n")

    def emit(self, obj, plain=None):
        """Write a command's result: one compact JSON line, or plain text."""
        if self.json:
            self.out(_dumps(obj) + "\n")
        else:
            self.out(plain if plain is not None else _plain_text(obj))

    # -- state ----------------------------------------------------------------

    def state(self):
        """A snapshot of the state."""
        return read_state(self.config_dir)

    def transact(self, fn):
        """Change the state atomically (see modify_state)."""
        return modify_state(self.config_dir, fn)

    def acct(self, state):
        """This run's account entry within *state*."""
        return _account(state, self.account)

    # -- the program ----------------------------------------------------------

    def execute(self):
        """Do what signal-cli does with this argv and return the exit code."""
        self._logging_preparse()
        parser = build_parser()
        state = _ParseState(self.argv)
        try:
            parser.parse(state, self.ns)
            if state.deferred is not None:
                raise state.deferred
        except HelpShown as shown:
            self.quirks.append("help")
            self.out(shown.args[0].help(_format_width()))
            self._note_config_dir()
            return 0
        except VersionShown:
            self.out(f"{PROG} {VERSION}\n")
            self._note_config_dir()
            return 0
        except ParseError as e:
            self.err(render_parse_error(e))
            self._note_config_dir()
            return 1
        self.command = self.ns["command"]
        command = COMMANDS[self.command]
        self.log("DEBUG", "App", f"Starting {PROG} {VERSION}")
        self._check_output_type(command)
        if self.ns.get("global-dbus") or self.ns.get("global-dbus-system"):
            raise CommandError(2, "Dbus client failed: Cannot Resolve Session Bus Address")
        self._ensure_config_dir()
        return self._dispatch(command)

    def _logging_preparse(self):
        """Main.parseLoggingConfig: a lenient parse of the whole argv for -v, --log-file and -h."""
        attrs = {}
        try:
            build_logging_preparser().parse(_ParseState(self.argv, unknown=[]), attrs)
        except HelpShown as shown:
            self.quirks.append("help")
            self.out(shown.args[0].help(_format_width()))
            return
        except ParseError:
            return
        self.verbose = attrs.get("verbose") or 0
        if self.verbose:
            self.quirks.append("verbose")
        if attrs.get("log-file"):
            self.log_file = os.path.abspath(attrs["log-file"])
            try:
                os.makedirs(os.path.dirname(self.log_file), exist_ok=True)
                open(self.log_file, "a").close()
                self.quirks.append("log_file")
            except OSError:
                self.log_file = None

    def _note_config_dir(self):
        """Find the config dir (even after a parse error) so the run can still be logged."""
        config = self.ns.get("config")
        path = config if config is not None else _default_config_dir()
        if os.path.isdir(path):
            self.config_dir = path
            self._log_start()

    def _check_output_type(self, command):
        output = self.ns.get("output") or command.outputs[0]
        if output not in command.outputs:
            raise CommandError(1, f"Command doesn't support output type {output}")
        self.json = output == "json"

    def _ensure_config_dir(self):
        config = self.ns.get("config")
        path = config if config is not None else _default_config_dir()
        try:
            os.makedirs(os.path.join(path, "data"), exist_ok=True)
        except OSError:
            raise CommandError(3, "Failed to read local accounts list")
        self.config_dir = path
        self._log_start()

    def _log_start(self):
        if self.config_dir and not self.start_logged:
            self.start_logged = True
            _append_log(
                self.config_dir,
                {
                    "event": "start",
                    "pid": os.getpid(),
                    "account": self.ns.get("account"),
                    "argv": self.argv,
                    "time": self.launched,
                },
            )

    def _dispatch(self, command):
        """App.handleCommand: pick the account, take the locks, check registration, run."""
        account = self.ns.get("account")
        if command.kind == PROVISIONING:
            if account is not None:
                raise CommandError(1, "You cannot specify a account (phone number) when linking")
            self._begin(self.state())
            return self._handle()
        if account is None:
            if command.kind in (MULTI, LOCAL_OR_MULTI):
                return self._run_multi_account()
            account = self._only_account()
        elif not _VALID_ACCOUNT.fullmatch(account):
            raise CommandError(1, "Invalid account (phone number), make sure you include the country code.")
        if command.kind == MULTI:
            raise CommandError(1, "Command only works in multi-account mode")
        self.account = account
        if command.kind == REGISTRATION:
            self._lock([account])
            self._begin(self.state())
            return self._handle()
        if account not in self.state().get("accounts", {}):
            raise CommandError(1, f"User {account} is not registered.")
        self._lock([account])
        state = self.state()
        if not state.get("accounts", {}).get(account, {}).get("registered"):
            self._begin(state, apply_faults=False)
            raise CommandError(1, f"User {account} is not registered.")
        self.log("INFO", "AccountHelper", "The Signal protocol expects that incoming messages are regularly received.")
        self._begin(state)
        return self._handle()

    def _only_account(self):
        accounts = list(self.state().get("accounts", {}))
        if not accounts:
            raise CommandError(1, "No local users found, you first need to register or link an account")
        if len(accounts) > 1:
            raise CommandError(1, "Multiple users found, you need to specify an account (phone number) with -a")
        return accounts[0]

    def _run_multi_account(self):
        """MultiAccountManager: load (and lock) every account, skipping unregistered ones."""
        accounts = sorted(self.state().get("accounts", {}))
        self._lock(accounts)
        state = self.state()
        for number in accounts:
            if state["accounts"].get(number, {}).get("registered"):
                self.log(
                    "INFO",
                    "AccountHelper",
                    "The Signal protocol expects that incoming messages are regularly received.",
                )
            else:
                self.log(
                    "WARN",
                    "MultiAccountManager",
                    f"Ignoring {number}: User is not registered. (NotRegisteredException)",
                )
        self._begin(state)
        return self._handle()

    def _lock(self, accounts):
        """Hold each account's lock for the rest of the process, like SignalAccount's file lock."""
        lock_dir = os.path.join(self.config_dir, LOCK_DIR)
        os.makedirs(lock_dir, exist_ok=True)
        for number in accounts:
            fd = os.open(os.path.join(lock_dir, number + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.waited = True
                self.log("INFO", "SignalAccount", "Config file is in use by another instance, waiting…")
                fcntl.flock(fd, fcntl.LOCK_EX)
                self.log("INFO", "SignalAccount", "Config file lock acquired.")
            self.lock_fds.append(fd)

    def _begin(self, state, apply_faults=True):
        """The command really starts: note the time, simulate JVM start-up, apply faults."""
        self.started = time.time()
        delay = state.get("delay") or 0
        if delay:
            time.sleep(delay)
        if apply_faults:
            self._apply_fault()

    def _apply_fault(self):
        def take(state):
            for i, fault in enumerate(state.get("faults", [])):
                if fault.get("command", "*") not in ("*", self.command):
                    continue
                if fault.get("account") not in (None, self.account):
                    continue
                if "times" in fault:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        del state["faults"][i]
                return dict(fault)
            return None

        fault = self.transact(take)
        if fault is None:
            return
        if fault.get("sleep"):
            time.sleep(fault["sleep"])
        if fault.get("kill_self"):
            os.kill(os.getpid(), signal.SIGKILL)
        if fault.get("garbage"):
            raise _FaultExit(0, stdout='Exception in thread "main" <html><body>garbage, not JSON\n')
        if fault.get("truncate"):
            self.capture = []
            return
        if "exit" in fault or "stdout" in fault or "stderr" in fault:
            code = fault.get("exit", 0)
            message = fault.get("stderr")
            if message is None and code == 2:
                message = _java_trace(
                    "java.lang.NullPointerException", 'Cannot invoke "String.length()" because "<local1>" is null'
                )
            raise _FaultExit(code, stdout=fault.get("stdout"), stderr=message)

    def _handle(self):
        code = HANDLERS[self.command](self, self.ns) or 0
        if self.capture is not None:
            data = b"".join(self.capture)
            self.capture = None
            self.out(data[: len(data) // 2].decode("utf-8", "ignore"))
            return 0
        return code

    # -- the log ----------------------------------------------------------------

    def finish(self, code):
        """Append the invocation record (once) to fake-log.jsonl."""
        if self.config_dir is None:
            self._note_config_dir()
        if self.finished or not self.config_dir:
            return
        self.finished = True
        if not self.start_logged:
            self._log_start()
        options = {k: v for k, v in self.ns.items() if v is not None}
        _append_log(
            self.config_dir,
            {
                "pid": os.getpid(),
                "argv": self.argv,
                "stdin": self.stdin_text,
                "command": self.command,
                "account": self.account,
                "options": options,
                "launched": self.launched,
                "start": self.started if self.started is not None else time.time(),
                "end": time.time(),
                "exit": code,
                "waited_for_lock": self.waited,
                "attachments": self.attachments,
                "quirks": list(dict.fromkeys(self.quirks)),
                "stdout_bytes": self.stdout_bytes,
                "stderr": "".join(self.stderr),
            },
        )


class _FaultExit(Exception):
    def __init__(self, code, stdout=None, stderr=None):
        super().__init__(code)
        self.code = code
        self.stdout = stdout
        self.stderr = stderr


def _plain_text(obj):
    """A simple plain-text rendering for commands whose plain output is not modelled in detail."""
    if isinstance(obj, list):
        return "".join(" ".join(f"{k}: {v}" for k, v in item.items()) + "\n" for item in obj)
    if isinstance(obj, dict):
        return "".join(f"{k}: {v}\n" for k, v in obj.items())
    return f"{obj}\n"


# ---------------------------------------------------------------------------
# Sending: recipients, results, exit codes
# ---------------------------------------------------------------------------


def _address(uuid=None, number=None, username=None):
    return {"uuid": uuid, "number": number, "username": username}


def _collect_recipients(run, ns, note_to_self=False, usernames=True):
    """CommandUtil.getRecipientIdentifiers: (kind, value) pairs in a set, or exit 1."""
    idents = []
    if note_to_self:
        idents.append(("self", None))
    for text in ns.get("recipient") or []:
        idents.append(parse_recipient(text, run.account))
    for text in ns.get("group-id") or []:
        idents.append(("group", parse_group_id(text)))
    if usernames:
        for text in ns.get("username") or []:
            idents.append(("username", text))
    unique = list(dict.fromkeys(idents))
    if not unique:
        raise CommandError(1, "No recipients given")
    return unique


def _single_result(state, run, ident, group_id=None):
    """The send result for one single recipient, decided by the flags of ``users``."""
    kind, value = ident
    users = state.get("users", {})
    number, user, username = None, {}, None
    if kind == "number":
        number, user = value, users.get(value) or {}
        partial = _address(None, value, None)
    elif kind in ("uuid", "pni"):
        number = next((n for n, u in users.items() if (u.get("uuid") or uuid_for(n)) == value), None)
        user = users.get(number) or {} if number else {}
        partial = _address(value, None, None)
    else:
        username = value
        user = users.get("u:" + value) or next((u for u in users.values() if u.get("username") == value), {})
        partial = _address(None, None, value)
    uuid = value if kind in ("uuid", "pni") else user.get("uuid") or uuid_for(number or "u:" + value)
    entry = {"recipientAddress": _address(uuid, number, username)}
    if group_id is not None:
        entry["groupId"] = group_id
    if user.get("registered") is False or (number is not None and not _E164.fullmatch(number)):
        entry["recipientAddress"] = partial
        entry["type"] = "UNREGISTERED_FAILURE"
    elif user.get("untrusted") and run.ns.get("trust-new-identities") != "always":
        entry["type"] = "IDENTITY_FAILURE"
    elif user.get("rate_limited"):
        token = user["rate_limited"]
        entry["type"] = "RATE_LIMIT_FAILURE"
        entry["token"] = token if isinstance(token, str) else "challenge-token-" + (number or uuid).lstrip("+")
        entry["retryAfterSeconds"] = 86400
    elif user.get("network_failure"):
        entry["type"] = "NETWORK_FAILURE"
    elif user.get("invalid_pre_key"):
        entry["type"] = "INVALID_PRE_KEY_FAILURE"
    else:
        entry["type"] = "SUCCESS"
    return entry


def _self_result(run, acct):
    return {"recipientAddress": _address(acct["uuid"], run.account, acct.get("username")), "type": "SUCCESS"}


def _sendable_group(run, acct, group_id, prefix=""):
    """Look a group up for sending, with signal-cli's errors for missing or closed groups."""
    group = _find_group(acct, group_id)
    if group is None:
        raise CommandError(1, f"{prefix}Group not found: {group_id}")
    if not group.get("isMember", True):
        raise CommandError(1, f"{prefix}User is not a member in group: {group.get('name')} ({group_id})")
    admins = group.get("admins", [])
    if group.get("permissionSendMessage") == "ONLY_ADMINS" and not any(_is_self(a, run.account, acct) for a in admins):
        raise CommandError(1, f"{prefix}User is not allowed to send message to group: {group.get('name')} ({group_id})")
    return group


def _group_member_results(state, run, acct, group, with_group_id=True):
    results = []
    for member in group.get("members", []):
        if _is_self(member, run.account, acct):
            continue
        ident = ("number", member["number"]) if member.get("number") else ("uuid", member.get("uuid"))
        results.append(_single_result(state, run, ident, group["id"] if with_group_id else None))
    return results


def _deliver(state, run, idents, group_error_prefix=""):
    """Return the results of sending to *idents* (raises for unusable groups)."""
    acct = run.acct(state)
    results = []
    for kind, value in idents:
        if kind == "self" or (kind == "number" and value == run.account) or (kind == "uuid" and value == acct["uuid"]):
            results.append(_self_result(run, acct))
        elif kind == "group":
            group = _sendable_group(run, acct, value, group_error_prefix)
            results.extend(_group_member_results(state, run, acct, group))
        else:
            results.append(_single_result(state, run, (kind, value)))
    return results


def _next_timestamp(state):
    """A unique, increasing millisecond timestamp, shared by all processes through the state."""
    timestamp = max(_now_ms(), state.get("clock", 0) + 1)
    state["clock"] = timestamp
    return timestamp


def _shuffled_object(pairs):
    """A Map.of-built object: its keys come out in a random order, like in the real JVM."""
    pairs = list(pairs)
    random.shuffle(pairs)
    return dict(pairs)


def _error_line(entry):
    address = entry["recipientAddress"]
    identifier = address.get("number") or address.get("uuid") or address.get("username")
    return {
        "NETWORK_FAILURE": 'Network failure for "%s"',
        "UNREGISTERED_FAILURE": 'Unregistered user "%s"',
        "IDENTITY_FAILURE": 'Untrusted Identity for "%s"',
        "RATE_LIMIT_FAILURE": 'Rate limit failure for "%s"',
        "INVALID_PRE_KEY_FAILURE": 'Invalid pre key for "%s"',
    }.get(entry["type"], "%s") % identifier


def _plain_send_result(timestamp, results):
    errors = [_error_line(r) for r in results if r["type"] != "SUCCESS"]
    head = "Failed to send (some) messages:\n" + "".join(e + "\n" for e in errors) if errors else ""
    return f"{head}{timestamp}\n"


def _output_send_result(run, timestamp, results, check_failures=True):
    """SendMessageResultUtils.outputResult: print first, then fail with 1, 4 or 5 if nothing worked."""
    random.shuffle(results)  # results come from a HashMap: no stable order
    run.emit(
        _shuffled_object([("timestamp", timestamp), ("results", results)]), plain=_plain_send_result(timestamp, results)
    )
    if not check_failures or not results or any(r["type"] == "SUCCESS" for r in results):
        return 0
    if all(r["type"] == "IDENTITY_FAILURE" for r in results):
        raise CommandError(4, "Failed to send message due to untrusted identities")
    if all(r["type"] == "RATE_LIMIT_FAILURE" for r in results):
        raise CommandError(5, "Failed to send message due to rate limiting")
    raise CommandError(1, "Failed to send message")


def _record_send(state, run, record):
    record = dict(record, account=run.account, command=run.command)
    state.setdefault("sent", []).append(record)


def _ident_text(ident):
    kind, value = ident
    return {"self": "note-to-self", "group": f"group:{value}", "username": f"u:{value}", "pni": f"PNI:{value}"}.get(
        kind, value
    )


def _send_family(run, idents, record, group_error_prefix=""):
    """Deliver *idents*, record what was sent and print the result (the common send path)."""

    def act(state):
        results = _deliver(state, run, idents, group_error_prefix)
        timestamp = _next_timestamp(state)
        _record_send(
            state, run, dict(record, timestamp=timestamp, recipients=[_ident_text(i) for i in idents], results=results)
        )
        return timestamp, results

    timestamp, results = run.transact(act)
    return _output_send_result(run, timestamp, results)


def _load_attachment(value):
    """Utils.createStreamDetails: a data URI, or else a file path (AttachmentInvalidException, exit 2)."""
    try:
        content_type, name, data = parse_data_uri(value)
    except ValueError:
        try:
            with open(value, "rb") as f:
                data = f.read()
        except OSError as e:
            reason = {2: "No such file or directory", 13: "Permission denied", 21: "Is a directory"}.get(
                e.errno, e.strerror
            )
            raise CommandError(2, f"Failed to send message: {value}: {value} ({reason}) (AttachmentInvalidException)")
        import mimetypes

        name = os.path.basename(value)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"name": name, "content_type": content_type, "size": len(data), "data": base64.b64encode(data).decode()}


_RANGE_SPEC = re.compile(r"(\d+):(\d+):(.+)", re.S)
_STYLES = ("NONE", "BOLD", "ITALIC", "SPOILER", "STRIKETHROUGH", "MONOSPACE")


def _parse_mentions(run, specs):
    mentions = []
    for spec in specs or []:
        match = _RANGE_SPEC.fullmatch(spec)
        if not match:
            raise CommandError(1, f"Invalid mention syntax ({spec}) expected 'start:length:recipientNumber'")
        ident = parse_recipient(match.group(3), run.account)
        mentions.append({"start": int(match.group(1)), "length": int(match.group(2)), "recipient": _ident_text(ident)})
    return mentions


def _parse_text_styles(specs):
    styles = []
    for spec in specs or []:
        match = _RANGE_SPEC.fullmatch(spec)
        if not match:
            raise CommandError(1, f"Invalid textStyle syntax ({spec}) expected 'start:length:STYLE'")
        if match.group(3) not in _STYLES:
            raise CommandError(1, f"Invalid style: {match.group(3)}")
        styles.append({"start": int(match.group(1)), "length": int(match.group(2)), "style": match.group(3)})
    return styles


# ---------------------------------------------------------------------------
# Subcommand handlers (one per subcommand)
# ---------------------------------------------------------------------------


@handler("send")
def cmd_send(run, ns):
    """Send a message: the checks of SendCommand, in its order."""
    idents = _collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    if ns.get("end-session"):
        singles = [i for i in idents if i[0] not in ("group", "self")]
        if not singles:
            raise CommandError(1, "No recipients given")
        return _send_family(run, singles, {"end_session": True})
    sticker = ns.get("sticker")
    if sticker is not None:
        match = re.fullmatch(r"([0-9a-f]+):(\d+)", sticker)
        if not match or len(match.group(1)) % 2:
            raise CommandError(1, f"Invalid sticker syntax ({sticker}) expected 'stickerPackId:stickerId'")
    message = ns.get("message")
    if ns.get("message-from-stdin"):
        # Read only now, after the account has loaded: a caller that keeps stdin open hangs here.
        message = sys.stdin.buffer.read().decode("utf-8", "replace") if sys.stdin else ""
        run.stdin_text = message
    elif message is None:
        message = ""
    attachments = ns.get("attachment") or []
    mentions = _parse_mentions(run, ns.get("mention"))
    text_styles = _parse_text_styles(ns.get("text-style"))
    quote = None
    if ns.get("quote-timestamp") is not None:
        if ns.get("quote-author") is None:
            raise CommandError(1, "Quote author parameter is missing")
        author = parse_recipient(ns["quote-author"], run.account)
        quote = {
            "timestamp": ns["quote-timestamp"],
            "author": _ident_text(author),
            "message": ns.get("quote-message") or "",
            "mentions": _parse_mentions(run, ns.get("quote-mention")),
            "text_styles": _parse_text_styles(ns.get("quote-text-style")),
            "attachments": ns.get("quote-attachment") or [],
        }
    preview = None
    if ns.get("preview-url") is not None:
        preview = {
            "url": ns["preview-url"],
            "title": ns.get("preview-title") or "",
            "description": ns.get("preview-description") or "",
            "image": ns.get("preview-image"),
        }
    story = None
    if ns.get("story-timestamp") is not None:
        story = {
            "timestamp": ns["story-timestamp"],
            "author": _ident_text(parse_recipient(ns.get("story-author"), run.account)),
        }
    if not message and not attachments and sticker is None and quote is None:
        raise CommandError(
            1, "Sending empty message is not allowed, either a message, attachment or sticker must be given."
        )
    state = run.state()
    if not run.acct(state)["profile"].get("givenName"):
        run.log(
            "WARN",
            "ManagerImpl",
            "No profile name set. When sending a message it's recommended to set a "
            "profile name with the updateProfile command. This may become mandatory "
            "in the future.",
        )
    loaded = [_load_attachment(a) for a in attachments]
    run.attachments = [{"name": a["name"], "data": a["data"]} for a in loaded]
    if sticker is not None:
        pack_id = sticker.split(":")[0]
        if not any(p.get("packId") == pack_id for p in run.acct(state)["sticker_packs"]):
            raise CommandError(1, "Failed to send sticker: Sticker pack not found")
    record = {
        "message": message,
        "attachments": loaded,
        "mentions": mentions,
        "text_styles": text_styles,
        "quote": quote,
        "sticker": sticker,
        "preview": preview,
        "story": story,
        "edit_timestamp": ns.get("edit-timestamp"),
        "view_once": bool(ns.get("view-once")),
        "notify_self": bool(ns.get("notify-self")),
    }
    return _send_family(run, idents, record)


@handler("sendReaction")
def cmd_send_reaction(run, ns):
    """React to a message (or remove the reaction with -r)."""
    idents = _collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    author = parse_recipient(ns["target-author"], run.account)
    return _send_family(
        run,
        idents,
        {
            "emoji": ns["emoji"],
            "remove": bool(ns.get("remove")),
            "target_author": _ident_text(author),
            "target_timestamp": ns["target-timestamp"],
            "story": bool(ns.get("story")),
        },
    )


@handler("remoteDelete")
def cmd_remote_delete(run, ns):
    """Delete a sent message for everyone."""
    idents = _collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    return _send_family(run, idents, {"target_timestamp": ns["target-timestamp"]})


@handler("sendTyping")
def cmd_send_typing(run, ns):
    """Send a typing indicator (group errors get the "Failed to send to group" prefix here)."""
    idents = _collect_recipients(run, ns, usernames=False)
    return _send_family(
        run, idents, {"action": "STOP" if ns.get("stop") else "START"}, group_error_prefix="Failed to send to group: "
    )


@handler("sendReceipt")
def cmd_send_receipt(run, ns):
    """Send a read or viewed receipt to one sender."""
    ident = parse_recipient(ns["recipient"], run.account)
    return _send_family(run, [ident], {"type": ns.get("type") or "read", "target_timestamps": ns["target-timestamp"]})


@handler("sendPaymentNotification")
def cmd_send_payment_notification(run, ns):
    """Send a payment notification; an invalid receipt is an uncaught exception (exit 2)."""
    ident = parse_recipient(ns["recipient"], run.account)
    try:
        java_b64decode(ns["receipt"])
    except ValueError as e:
        raise CommandError(2, _java_trace("java.lang.IllegalArgumentException", str(e)))
    return _send_family(run, [ident], {"receipt": ns["receipt"], "note": ns.get("note")})


@handler("sendMessageRequestResponse")
def cmd_send_message_request_response(run, ns):
    """Accept or delete a message request; prints nothing."""
    idents = _collect_recipients(run, ns)
    run.transact(
        lambda state: _record_send(state, run, {"type": ns["type"], "recipients": [_ident_text(i) for i in idents]})
    )


@handler("sendContacts")
def cmd_send_contacts(run, ns):
    """Sync contacts to linked devices; prints nothing."""
    run.transact(lambda state: _record_send(state, run, {}))


@handler("sendSyncRequest")
def cmd_send_sync_request(run, ns):
    """Ask the primary device for sync data; prints nothing."""
    run.transact(lambda state: _record_send(state, run, {}))


# -- groups -----------------------------------------------------------------


def _members_from(state, run, texts):
    members = []
    for text in texts or []:
        kind, value = parse_recipient(text, run.account)
        if kind == "number":
            if _user(state, value).get("registered") is False:
                raise CommandError(1, f"The user {value} is not registered.")
            members.append(_member(state, value))
        elif kind == "username":
            members.append({"number": None, "uuid": uuid_for("u:" + value)})
        else:
            number = next((n for n, u in state.get("users", {}).items() if u.get("uuid") == value), None)
            members.append({"number": number, "uuid": value})
    return members


def _same_member(a, b):
    return any(a.get(key) and a.get(key) == b.get(key) for key in ("number", "uuid"))


def _add_members(target, new):
    for member in new:
        if not any(_same_member(member, m) for m in target):
            target.append(member)


def _remove_members(target, gone):
    target[:] = [m for m in target if not any(_same_member(m, g) for g in gone)]


@handler("listGroups")
def cmd_list_groups(run, ns):
    """List groups (all fields in JSON); -g filters, unknown ids are skipped."""
    wanted = [parse_group_id(g) for g in ns.get("group-id") or []]
    groups = run.acct(run.state())["groups"]
    if wanted:
        groups = [g for g in groups if g["id"] in wanted]
    plain = "".join(
        f"Id: {g['id']} Name: {g.get('name')} Active: {str(g.get('isMember')).lower()} "
        f"Blocked: {str(g.get('isBlocked')).lower()}\n"
        for g in groups
    )
    run.emit(groups, plain=plain)


@handler("updateGroup")
def cmd_update_group(run, ns):
    """Create a group (without -g) or update one; prints {"groupId"?, "results"?, "timestamp"?}."""
    group_id = parse_group_id(ns["group-id"]) if ns.get("group-id") is not None else None
    for key in ("member", "remove-member", "admin", "remove-admin", "ban", "unban"):
        for text in ns.get(key) or []:
            parse_recipient(text, run.account)
    avatar = None
    if ns.get("avatar") is not None:
        try:
            with open(ns["avatar"], "rb") as f:
                avatar = base64.b64encode(f.read()).decode()
        except OSError as e:
            raise CommandError(
                1,
                f'Failed to add avatar attachment for group": {group_id or "<new group>"}: '
                f"{ns['avatar']} ({e.strerror})",
            )

    def act(state):
        acct = run.acct(state)
        me = {"number": run.account, "uuid": acct["uuid"]}
        results, created, changed = [], None, False
        gid = group_id
        if gid is None:
            gid = base64.b64encode(os.urandom(32)).decode()
            members = [me] + [m for m in _members_from(state, run, ns.get("member")) if not _same_member(m, me)]
            group = new_group_entry(gid, ns.get("name"), members, [dict(me)])
            acct["groups"].append(group)
            if avatar:
                acct["group_avatars"][gid] = avatar
            created = gid
            results += _group_member_results(state, run, acct, group, with_group_id=False)
        else:
            group = _find_group(acct, gid)
            if group is None:
                raise CommandError(1, f"Group not found: {gid}")
            if not group.get("isMember", True):
                raise CommandError(1, f"User is not a member in group: {group.get('name')} ({gid})")
            for key, field in (("name", "name"), ("description", "description")):
                if ns.get(key) is not None:
                    group[field] = ns[key]
                    changed = True
            if ns.get("member"):
                _add_members(group["members"], _members_from(state, run, ns["member"]))
                changed = True
            if avatar:
                acct["group_avatars"][gid] = avatar
                changed = True
        if created and ns.get("description") is not None:
            group["description"] = ns["description"]
            changed = True
        for key, action in (
            ("remove-member", "remove"),
            ("admin", "admin"),
            ("remove-admin", "unadmin"),
            ("ban", "ban"),
            ("unban", "unban"),
        ):
            people = _members_from(state, run, ns.get(key))
            if not people:
                continue
            changed = True
            if action == "remove":
                _remove_members(group["members"], people)
                _remove_members(group["admins"], people)
            elif action == "admin":
                _add_members(group["admins"], people)
            elif action == "unadmin":
                _remove_members(group["admins"], people)
            elif action == "ban":
                _remove_members(group["members"], people)
                _add_members(group["banned"], people)
            else:
                _remove_members(group["banned"], people)
        if ns.get("link") is not None:
            group["groupInviteLink"] = (
                None if ns["link"] == "disabled" else (group.get("groupInviteLink") or _random_group_link())
            )
            acct.setdefault("link_approval", {})[gid] = ns["link"] == "enabled-with-approval"
            changed = True
        if ns.get("reset-link"):
            group["groupInviteLink"] = _random_group_link()
            changed = True
        for key, field in (
            ("set-permission-add-member", "permissionAddMember"),
            ("set-permission-edit-details", "permissionEditDetails"),
            ("set-permission-send-messages", "permissionSendMessage"),
        ):
            if ns.get(key) is not None:
                group[field] = ns[key].upper().replace("-", "_")
                changed = True
        if ns.get("expiration") is not None:
            group["messageExpirationTime"] = ns["expiration"]
            changed = True
        if changed:
            results += _group_member_results(state, run, acct, group, with_group_id=False)
        response = {}
        if created or changed:
            response["results"] = results
            response["timestamp"] = _next_timestamp(state)
            _record_send(
                state,
                run,
                {"group_id": gid, "created": bool(created), "timestamp": response["timestamp"], "results": results},
            )
        return created, response

    created, response = run.transact(act)
    # A HashMap: its key order is fixed (groupId, results, timestamp).
    output = {"groupId": created} if created else {}
    output.update(response)
    plain = (f'Created new group: "{created}"\n' if created else "") + (
        f"{response['timestamp']}\n" if "timestamp" in response else ""
    )
    run.emit(output, plain=plain)


@handler("quitGroup")
def cmd_quit_group(run, ns):
    """Leave a group (and with --delete forget it); not a member: nothing printed, exit 0."""
    group_id = parse_group_id(ns["group-id"])
    new_admin_texts = ns.get("admin") or []
    for text in new_admin_texts:
        parse_recipient(text, run.account)

    def act(state):
        acct = run.acct(state)
        group = _find_group(acct, group_id)
        if group is None:
            raise CommandError(1, f"Failed to send to group: Group not found: {group_id}")
        output = None
        if group.get("isMember", True):
            new_admins = _members_from(state, run, new_admin_texts)
            others = [m for m in group["members"] if not _is_self(m, run.account, acct)]
            admins = group.get("admins", [])
            if any(_is_self(a, run.account, acct) for a in admins) and len(admins) == 1 and others and not new_admins:
                raise CommandError(
                    1,
                    "You need to specify a new admin with --admin: User is last admin in group: "
                    f"{group.get('name')} ({group_id})",
                )
            results = _group_member_results(state, run, acct, group, with_group_id=False)
            _add_members(group["admins"], new_admins)
            group["members"] = others
            group["admins"] = [a for a in group["admins"] if not _is_self(a, run.account, acct)]
            group["isMember"] = False
            output = (_next_timestamp(state), results)
            _record_send(state, run, {"group_id": group_id, "timestamp": output[0], "results": results})
        if ns.get("delete"):
            acct["groups"] = [g for g in acct["groups"] if g["id"] != group_id]
        return output

    output = run.transact(act)
    if output is None:
        run.log("INFO", "QuitGroupCommand", "User is not a group member")
        return 0
    timestamp, results = output
    random.shuffle(results)
    run.emit(
        _shuffled_object([("timestamp", timestamp), ("results", results)]), plain=_plain_send_result(timestamp, results)
    )


@handler("joinGroup")
def cmd_join_group(run, ns):
    """Join a group by invite link; the group is found among all accounts' groups by its link."""
    uri = ns["uri"]
    prefix = "https://signal.group/#"
    if not uri.startswith(prefix):
        raise CommandError(1, "Link is not a signal group invitation link")
    fragment = uri[len(prefix) :]
    if not fragment or not re.fullmatch(r"[A-Za-z0-9_-]+=*", fragment):
        raise CommandError(1, "Group link is invalid: Invalid group link")

    def act(state):
        acct = run.acct(state)
        me = {"number": run.account, "uuid": acct["uuid"]}
        owner, source = next(
            (
                (a, g)
                for a in state.get("accounts", {}).values()
                for g in a.get("groups", [])
                if g.get("groupInviteLink") == uri
            ),
            ({}, None),
        )
        if source is None:
            gid = base64.b64encode(hashlib.sha256(fragment.encode()).digest()).decode()
            source = new_group_entry(gid, None, [], [], groupInviteLink=uri)
        group = _find_group(acct, source["id"])
        if group is None:
            group = json.loads(json.dumps(source))
            acct["groups"].append(group)
        requested = bool(owner.get("link_approval", {}).get(group["id"])) and not any(
            _same_member(m, me) for m in group["members"]
        )
        if requested:
            _add_members(group["requestingMembers"], [me])
            group["isMember"] = False
        else:
            _add_members(group["members"], [me])
            group["isMember"] = True
        results = _group_member_results(state, run, acct, group, with_group_id=False)
        timestamp = _next_timestamp(state)
        _record_send(state, run, {"group_id": group["id"], "timestamp": timestamp, "results": results})
        return group["id"], requested, timestamp, results

    group_id, requested, timestamp, results = run.transact(act)
    pairs = [("timestamp", timestamp), ("results", results), ("groupId", group_id)]
    if requested:
        pairs.append(("onlyRequested", True))
    run.emit(
        _shuffled_object(pairs),
        plain=f'{"Requested to join" if requested else "Joined"} group "{group_id}"\n{timestamp}\n',
    )


def _set_blocked(run, ns, blocked):
    idents = [parse_recipient(t, run.account) for t in ns.get("recipient") or []]
    group_ids = [parse_group_id(g) for g in ns.get("group-id") or []]
    unknown = []

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        numbers = acct["blocked"]["numbers"]
        for _, value in idents:
            if blocked and value not in numbers:
                numbers.append(value)
            elif not blocked and value in numbers:
                numbers.remove(value)
            for contact in acct["contacts"]:
                if value in (contact.get("number"), contact.get("uuid")):
                    contact["isBlocked"] = blocked
        for gid in group_ids:
            group = _find_group(acct, gid)
            if group is None:
                unknown.append(gid)
                continue
            group["isBlocked"] = blocked
            groups = acct["blocked"]["groups"]
            if blocked and gid not in groups:
                groups.append(gid)
            elif not blocked and gid in groups:
                groups.remove(gid)

    run.transact(act)
    for gid in unknown:
        run.log("WARN", "BlockCommand" if blocked else "UnblockCommand", f"Unknown group id: Group not found: {gid}")


@handler("block")
def cmd_block(run, ns):
    """Block contacts and groups; an unknown group is only a WARN line."""
    _set_blocked(run, ns, True)


@handler("unblock")
def cmd_unblock(run, ns):
    """Unblock contacts and groups."""
    _set_blocked(run, ns, False)


def _require_primary(acct):
    if acct.get("device_id", 1) != 1:
        raise CommandError(1, "This command doesn't work on linked devices.")


# -- registration and account -------------------------------------------------

_CAPTCHA_REQUIRED = (
    "Captcha required for verification, use --captcha CAPTCHA\n"
    "To get the token, go to https://signalcaptchas.org/registration/generate.html\n"
    'After solving the captcha, right-click on the "Open Signal" link and copy the link.'
)


@handler("register")
def cmd_register(run, ns):
    """Request a verification code; the account entry is created first, even if this fails."""
    run.transact(run.acct)
    captcha = ns.get("captcha")

    def act(state):
        acct = run.acct(state)
        if acct["registered"] and not ns.get("reregister"):
            raise CommandError(3, "Failed to register: Account is already registered (IOException)")
        if acct.get("rate_limited"):
            raise CommandError(5, "Rate limit reached")
        required = acct.get("captcha_required")
        if required and captcha is None:
            raise CommandError(1, _CAPTCHA_REQUIRED)
        if required and isinstance(required, str) and captcha != required:
            raise CommandError(1, "Invalid captcha given.")
        if ns.get("voice") and not acct.get("session"):
            raise CommandError(
                1,
                "Failed to register: Invalid verification method: Before requesting voice "
                "verification you need to request SMS verification and wait a minute.",
            )
        acct["session"] = True
        acct["captcha_required"] = False
        acct["registered"] = False

    run.transact(act)


@handler("verify")
def cmd_verify(run, ns):
    """Finish registration with the code (and the registration lock PIN when one is set)."""
    code = ns["verification-code"].replace("-", "")
    pin = ns.get("pin")

    def act(state):
        acct = run.acct(state)
        if acct["registered"]:
            raise CommandError(3, "Verify error: Account is already registered")
        if not acct.get("session"):
            raise CommandError(2, _VERIFY_NPE)
        expected = acct.get("verification_code")
        if expected is not None and str(expected).replace("-", "") != code:
            raise CommandError(3, "Verify error: Invalid verification code")
        required = acct.get("pin_required")
        if required and pin is None:
            raise CommandError(
                1,
                "Verification failed! This number is locked with a pin. Hours remaining until "
                "reset: 167\nUse '--pin PIN_CODE' to specify the registration lock PIN",
            )
        if required and isinstance(required, str) and pin != required:
            raise CommandError(1, "Verification failed! Invalid pin, tries remaining: 9")
        acct.update(registered=True, session=False, pin=pin if pin is not None else acct.get("pin"))

    run.transact(act)


@handler("deleteLocalAccountData")
def cmd_delete_local_account_data(run, ns):
    """Forget the account locally (refused while registered unless --ignore-registered)."""

    def act(state):
        acct = state.get("accounts", {}).get(run.account)
        if acct and acct.get("registered") and not ns.get("ignore-registered"):
            raise CommandError(
                1, "Not deleting account, it is still registered. Use --ignore-registered to delete it anyway."
            )
        state.get("accounts", {}).pop(run.account, None)

    run.transact(act)


@handler("unregister")
def cmd_unregister(run, ns):
    """Unregister this device (--delete-account also forgets the account)."""

    def act(state):
        if ns.get("delete-account"):
            state["accounts"].pop(run.account, None)
        else:
            run.acct(state)["registered"] = False

    run.transact(act)


@handler("link")
def cmd_link(run, ns):
    """Print the device link URI at once, then wait for the scan trigger file or time out."""
    from urllib.parse import quote

    device_name = ns.get("name") or "cli"
    provisioning_id = base64.b64encode(os.urandom(16)).decode()
    public_key = base64.b64encode(b"\x05" + os.urandom(32)).decode().rstrip("=")
    run.out(f"sgnl://linkdevice?uuid={quote(provisioning_id, safe='')}&pub_key={quote(public_key, safe='')}\n")
    link = run.state().get("link") or {}
    deadline = time.monotonic() + float(link.get("timeout", DEFAULT_LINK_TIMEOUT))
    trigger = os.path.join(run.config_dir, LINK_TRIGGER)
    while True:
        try:
            with open(trigger, encoding="utf-8") as f:
                number = f.read().strip()
            os.remove(trigger)
            break
        except FileNotFoundError:
            pass
        if time.monotonic() >= deadline:
            raise CommandError(1, "Link request timed out, please try again.")
        time.sleep(POLL_SECONDS)
    number = number or link.get("number") or "+4915100000099"

    def act(state):
        existing = state.get("accounts", {}).get(number)
        if existing and existing.get("registered"):
            account_file = os.path.join(run.config_dir, "data", number.lstrip("+")[-6:])
            raise CommandError(1, f'The user {number} already exists\nDelete "{account_file}" before trying again.')
        acct = _account(state, number)
        now = _now_ms()
        acct.update(
            registered=True,
            device_id=2,
            devices=[
                {"id": 1, "name": None, "createdTimestamp": acct["created"], "lastSeenTimestamp": now},
                {"id": 2, "name": device_name, "createdTimestamp": now, "lastSeenTimestamp": now},
            ],
        )

    run.transact(act)
    run.out(f"Associated with: {number}\n")


@handler("listAccounts")
def cmd_list_accounts(run, ns):
    """List the registered accounts."""
    accounts = run.state().get("accounts", {})
    numbers = [{"number": n} for n in sorted(accounts) if accounts[n].get("registered")]
    run.emit(numbers, plain="".join(f"Number: {a['number']}\n" for a in numbers))


@handler("version")
def cmd_version(run, ns):
    """Print the version."""
    run.emit({"version": VERSION}, plain=f"{PROG} {VERSION}\n")


@handler("updateAccount")
def cmd_update_account(run, ns):
    """Update account attributes; with -u reserve a username and print it."""
    username = ns.get("username")
    if username is not None:
        nickname = username.split(".")[0]
        if len(nickname) < 3:
            raise CommandError(1, "Invalid username: Nickname is too short")
        if len(nickname) > 32:
            raise CommandError(1, "Invalid username: Nickname is too long")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", nickname):
            raise CommandError(1, "Invalid username: Nickname contains invalid characters")
        if "." not in username:
            username += f".{int(hashlib.sha256(username.encode()).hexdigest(), 16) % 90 + 10}"

    def act(state):
        acct = run.acct(state)
        if ns.get("device-name") is not None:
            for device in acct["devices"]:
                if device["id"] == acct["device_id"]:
                    device["name"] = ns["device-name"]
        attributes = acct.setdefault("account_attributes", {})
        for key in ("unrestricted-unidentified-sender", "discoverable-by-number", "number-sharing"):
            if ns.get(key) is not None:
                attributes[key] = ns[key]
        if username is not None:
            acct["username"] = username
            acct["username_link"] = "https://signal.me/#eu/" + base64.urlsafe_b64encode(
                hashlib.sha256(username.encode()).digest() * 2
            ).decode().rstrip("=")
            return {"username": username, "usernameLink": acct["username_link"]}
        if ns.get("delete-username"):
            acct["username"] = acct["username_link"] = None
        return None

    result = run.transact(act)
    if result is not None:
        run.emit(result, plain=f"Your new username: {result['username']} ({result['usernameLink']})\n")


@handler("setPin")
def cmd_set_pin(run, ns):
    """Set the registration lock PIN."""

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        acct["pin"] = ns["pin"]

    run.transact(act)


@handler("removePin")
def cmd_remove_pin(run, ns):
    """Remove the registration lock PIN."""

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        acct["pin"] = None

    run.transact(act)


@handler("updateProfile")
def cmd_update_profile(run, ns):
    """Set profile fields (and avatar)."""
    avatar = None
    if ns.get("avatar") is not None:
        try:
            with open(ns["avatar"], "rb") as f:
                avatar = base64.b64encode(f.read()).decode()
        except OSError as e:
            raise CommandError(3, f"Update profile error: {ns['avatar']} ({e.strerror})")

    def act(state):
        acct = run.acct(state)
        profile = acct["profile"]
        for key, field in (
            ("given-name", "givenName"),
            ("family-name", "familyName"),
            ("about", "about"),
            ("about-emoji", "aboutEmoji"),
            ("mobile-coin-address", "mobileCoinAddress"),
        ):
            if ns.get(key) is not None:
                profile[field] = ns[key]
        if avatar is not None:
            profile["avatar"] = avatar
        elif ns.get("remove-avatar"):
            profile.pop("avatar", None)

    run.transact(act)


@handler("updateConfiguration")
def cmd_update_configuration(run, ns):
    """Store configuration flags (Boolean.valueOf semantics)."""

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        for key in ("read-receipts", "unidentified-delivery-indicators", "typing-indicators", "link-previews"):
            if ns.get(key) is not None:
                acct["configuration"][key] = ns[key]

    run.transact(act)


@handler("submitRateLimitChallenge")
def cmd_submit_rate_limit_challenge(run, ns):
    """Lift a rate limit: the challenge must be a token a send handed out."""
    challenge = ns["challenge"]

    def act(state):
        lifted = False
        for number, user in state.get("users", {}).items():
            token = user.get("rate_limited")
            if token and (
                token == challenge or (token is True and challenge == "challenge-token-" + (number or "").lstrip("+"))
            ):
                user["rate_limited"] = False
                lifted = True
        if not lifted:
            raise CommandError(
                1, "Captcha rejected, it may be outdated, already used or solved from a different IP address."
            )

    run.transact(act)


@handler("startChangeNumber")
def cmd_start_change_number(run, ns):
    """Start moving the account to a new number."""
    number = ns["number"]

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        if not _E164.fullmatch(number):
            raise CommandError(1, f"Failed to change number: Phone number {number} is not normalized.")
        acct["change_number"] = number

    run.transact(act)


@handler("finishChangeNumber")
def cmd_finish_change_number(run, ns):
    """Finish moving the account to the new number."""
    number = ns["number"]

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        if acct.get("change_number") != number:
            raise CommandError(3, f"Failed to change number: No verification session for {number} (IOException)")
        acct.pop("change_number")
        state["accounts"][number] = state["accounts"].pop(run.account)

    run.transact(act)


# -- contacts, identities, devices ---------------------------------------------


def _find_contact(acct, ident):
    kind, value = ident
    return next((c for c in acct["contacts"] if value in (c.get("number"), c.get("uuid"))), None)


def _profile_name(contact):
    profile = contact.get("profile") or {}
    return " ".join(p for p in (profile.get("givenName"), profile.get("familyName")) if p)


@handler("listContacts")
def cmd_list_contacts(run, ns):
    """List contacts with the filters of ListContactsCommand."""
    idents = [parse_recipient(t, run.account) for t in ns.get("recipient") or []]
    contacts = run.acct(run.state())["contacts"]
    if not ns.get("all-recipients"):
        contacts = [c for c in contacts if not c.get("isHidden")]
    if idents:
        contacts = [c for c in contacts if any(v in (c.get("number"), c.get("uuid")) for _, v in idents)]
    if ns.get("blocked") is not None:
        contacts = [c for c in contacts if bool(c.get("isBlocked")) == ns["blocked"]]
    if ns.get("name") is not None:
        contacts = [c for c in contacts if ns["name"] in (c.get("name"), _profile_name(c))]
    output = []
    for contact in contacts:
        entry = {k: v for k, v in contact.items() if k != "internal"}
        if ns.get("internal"):
            entry["internal"] = contact.get("internal") or {
                "capabilities": [],
                "unidentifiedAccessMode": None,
                "sharesPhoneNumber": None,
                "discoverableByPhonenumber": None,
            }
        output.append(entry)
    plain = "".join(
        f"Number: {c.get('number') or ''} ACI: {c.get('uuid') or ''} Name: {c.get('name')} "
        f"Blocked: {str(c.get('isBlocked')).lower()}\n"
        for c in output
    )
    run.emit(output, plain=plain)


@handler("updateContact")
def cmd_update_contact(run, ns):
    """Create or update a contact's names, note and expiration timer."""
    ident = parse_recipient(ns["recipient"], run.account)

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        contact = _find_contact(acct, ident)
        if contact is None:
            number = ident[1] if ident[0] == "number" else None
            contact = _contact_entry(
                number, _user(state, number).get("uuid") or uuid_for(number) if number else ident[1]
            )
            acct["contacts"].append(contact)
        if ns.get("expiration") is not None:
            contact["messageExpirationTime"] = ns["expiration"]
        given, family = ns.get("given-name"), ns.get("family-name")
        if given is None and ns.get("name") is not None:
            given, family = ns["name"], family if family is not None else ""
        if given is not None:
            contact["givenName"] = given
        if family is not None:
            contact["familyName"] = family
        contact["name"] = " ".join(p for p in (contact.get("givenName"), contact.get("familyName")) if p)
        for key, field in (
            ("nick-given-name", "nickGivenName"),
            ("nick-family-name", "nickFamilyName"),
            ("note", "note"),
        ):
            if ns.get(key) is not None:
                contact[field] = ns[key]
        if contact.get("nickGivenName") or contact.get("nickFamilyName"):
            contact["nickName"] = " ".join(
                p for p in (contact.get("nickGivenName"), contact.get("nickFamilyName")) if p
            )

    run.transact(act)


@handler("removeContact")
def cmd_remove_contact(run, ns):
    """Remove a contact (--hide keeps it hidden, --forget also drops its identity)."""
    ident = parse_recipient(ns["recipient"], run.account)

    def act(state):
        acct = run.acct(state)
        contact = _find_contact(acct, ident)
        if contact is not None and ns.get("hide"):
            contact["isHidden"] = True
        elif contact is not None:
            acct["contacts"].remove(contact)
        if ns.get("forget"):
            acct["identities"] = [i for i in acct["identities"] if ident[1] not in (i.get("number"), i.get("uuid"))]

    run.transact(act)


@handler("listIdentities")
def cmd_list_identities(run, ns):
    """List identity keys (optionally of one number)."""
    identities = run.acct(run.state())["identities"]
    if ns.get("number") is not None:
        _, value = parse_recipient(ns["number"], run.account)
        identities = [i for i in identities if value in (i.get("number"), i.get("uuid"))]
    plain = "".join(
        f"{i.get('number')}: {i.get('trustLevel')} Added: {i.get('addedTimestamp')} "
        f"Fingerprint: {i.get('fingerprint')} Safety Number: {i.get('safetyNumber')}\n"
        for i in identities
    )
    run.emit(identities, plain=plain)


@handler("trust")
def cmd_trust(run, ns):
    """Trust a recipient's keys: all known ones (-a) or the one with a verified safety number (-v)."""
    ident = parse_recipient(ns["recipient"], run.account)
    code = ns.get("verified-safety-number")
    if not ns.get("trust-all-known-keys"):
        if code is None:
            raise CommandError(
                1, "You need to specify the fingerprint/safety number you have verified with -v SAFETY_NUMBER"
            )
        # IdentityVerificationCode.parse: 66 chars are a hex fingerprint, 60 a safety number, else base64
        code = code.replace(" ", "")
        if len(code) == 66:
            valid = re.fullmatch(r"[0-9a-fA-F]+", code) is not None
        elif len(code) == 60:
            valid = True
        else:
            try:
                java_b64decode(code)
                valid = True
            except ValueError:
                valid = False
        if not valid:
            raise CommandError(
                1, "Safety number has invalid format, either specify the old hex fingerprint or the new safety number"
            )

    def act(state):
        acct = run.acct(state)
        mine = [i for i in acct["identities"] if ident[1] in (i.get("number"), i.get("uuid"))]
        if code is None:
            if not mine:
                raise CommandError(1, "Failed to set the trust for this number, make sure the number is correct.")
            for identity in mine:
                identity["trustLevel"] = "TRUSTED_UNVERIFIED"
        else:
            match = [
                i
                for i in mine
                if code
                in (i.get("safetyNumber", "").replace(" ", ""), i.get("fingerprint"), i.get("scannableSafetyNumber"))
            ]
            if not match:
                raise CommandError(
                    1,
                    "Failed to set the trust for this number, make sure the number and the "
                    "fingerprint/safety number are correct.",
                )
            for identity in match:
                identity["trustLevel"] = "TRUSTED_VERIFIED"
        for identity in mine:
            user = state.get("users", {}).get(identity.get("number"))
            if user:
                user["untrusted"] = False

    run.transact(act)


@handler("getUserStatus")
def cmd_get_user_status(run, ns):
    """Check numbers (loosely normalised) and usernames against the fake's ``users``."""
    state = run.state()
    statuses = []
    for text in dict.fromkeys(ns.get("recipient") or []):
        try:
            number = format_number(text, run.account)
        except ValueError:
            number = None
        user = _user(state, number) if number else {}
        registered = number is not None and _E164.fullmatch(number) and user.get("registered", True)
        status = {"recipient": text}
        if number is not None:  # NON_NULL
            status["number"] = number
        status.update(
            uuid=(user.get("uuid") or uuid_for(number)) if registered else None, isRegistered=bool(registered)
        )
        statuses.append(status)
    for text in dict.fromkeys(ns.get("username") or []):
        user = state.get("users", {}).get("u:" + text) or {}
        registered = user.get("registered", True)
        statuses.append(
            {
                "recipient": text,
                "username": text,
                "uuid": (user.get("uuid") or uuid_for("u:" + text)) if registered else None,
                "isRegistered": registered,
            }
        )
    plain = "".join(f"{s['recipient']}: {str(s['isRegistered']).lower()}\n" for s in statuses)
    run.emit(statuses, plain=plain)


@handler("listDevices")
def cmd_list_devices(run, ns):
    """List linked devices."""
    devices = run.acct(run.state())["devices"]
    plain = "".join(f"- Device {d['id']}:\n  Name: {d.get('name')}\n" for d in devices)
    run.emit(devices, plain=plain)


@handler("addDevice")
def cmd_add_device(run, ns):
    """Link a new device from its sgnl://linkdevice URI."""
    uri = ns["uri"]
    bad = re.search(r'[\s"<>\\^`{|}]', uri)
    if bad:
        component = "query" if "?" in uri[: bad.start()] else "path"
        raise CommandError(
            1, f"Device link uri has invalid format: Illegal character in {component} at index {bad.start()}: {uri}"
        )
    if not re.match(r"sgnl://linkdevice\?(?=.*\buuid=[^&]+)(?=.*\bpub_key=[^&]+)", uri):
        raise CommandError(1, "Invalid device link")

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        if len(acct["devices"]) >= 6:
            raise CommandError(1, "Account has too many linked devices already")
        now = _now_ms()
        acct["devices"].append(
            {
                "id": max(d["id"] for d in acct["devices"]) + 1,
                "name": None,
                "createdTimestamp": now,
                "lastSeenTimestamp": now,
            }
        )

    run.transact(act)


@handler("removeDevice")
def cmd_remove_device(run, ns):
    """Unlink a device by id."""
    device_id = ns["device-id"]

    def act(state):
        acct = run.acct(state)
        _require_primary(acct)
        if not any(d["id"] == device_id for d in acct["devices"]):
            raise CommandError(3, "Error while removing device: [404] Not found")
        acct["devices"] = [d for d in acct["devices"] if d["id"] != device_id]

    run.transact(act)


# -- attachments, avatars, stickers ---------------------------------------------


@handler("getAttachment")
def cmd_get_attachment(run, ns):
    """Print a received attachment base64-encoded (the id is joined to the folder unchecked, as in the real one)."""
    attachment_id = ns["id"]
    try:
        with open(os.path.join(run.config_dir, ATTACHMENTS_DIR, attachment_id), "rb") as f:
            data = base64.b64encode(f.read()).decode()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise CommandError(1, f"Could not find attachment with ID: {attachment_id}")
    run.emit({"data": data}, plain=data + "\n")


@handler("getAvatar")
def cmd_get_avatar(run, ns):
    """Print a contact, profile or group avatar base64-encoded."""
    acct = run.acct(run.state())
    if ns.get("contact") is not None or ns.get("profile") is not None:
        table = acct["contact_avatars"] if ns.get("contact") is not None else acct["profile_avatars"]
        ident = parse_recipient(ns.get("contact") or ns.get("profile"), run.account)
        data = table.get(ident[1])
    else:
        data = acct["group_avatars"].get(parse_group_id(ns["group-id"]))
    if data is None:
        raise CommandError(1, "Could not find avatar")
    run.emit({"data": data}, plain=data + "\n")


@handler("getSticker")
def cmd_get_sticker(run, ns):
    """Print a sticker image base64-encoded."""
    pack_id = ns["pack-id"]
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", pack_id):
        raise CommandError(2, _java_trace("java.lang.NumberFormatException", f'For input string: "{pack_id}"'))
    sticker_id = ns["sticker-id"]
    data = run.acct(run.state()).get("sticker_data", {}).get(f"{pack_id.lower()}:{sticker_id}")
    if data is None:
        raise CommandError(1, f"Could not find sticker with ID: {sticker_id} in pack {pack_id}")
    run.emit({"data": data}, plain=data + "\n")


@handler("listStickerPacks")
def cmd_list_sticker_packs(run, ns):
    """List known sticker packs."""
    packs = run.acct(run.state())["sticker_packs"]
    run.emit(
        packs,
        plain="".join(
            f'Pack {p["packId"]}: "{p.get("title")}" by "{p.get("author")}" has '
            f"{len(p.get('stickers', []))} stickers. {p.get('url')}\n"
            for p in packs
        ),
    )


@handler("addStickerPack")
def cmd_add_sticker_pack(run, ns):
    """Install sticker packs from signal.art links."""
    packs = []
    for uri in ns["uri"]:
        match = re.fullmatch(r"https://signal\.art/addstickers/#pack_id=([0-9a-f]+)&pack_key=([0-9a-f]+)", uri)
        if not match:
            raise CommandError(1, "Invalid sticker pack link")
        packs.append((match.group(1), uri))

    def act(state):
        acct = run.acct(state)
        for pack_id, uri in packs:
            existing = next((p for p in acct["sticker_packs"] if p.get("packId") == pack_id), None)
            if existing:
                existing["installed"] = True
            else:
                acct["sticker_packs"].append(
                    {
                        "packId": pack_id,
                        "url": uri,
                        "installed": True,
                        "title": None,
                        "author": None,
                        "cover": None,
                        "stickers": [],
                    }
                )

    run.transact(act)


@handler("uploadStickerPack")
def cmd_upload_sticker_pack(run, ns):
    """Pretend to upload a sticker pack and print its URL."""
    path = ns["path"]
    if not os.path.exists(path):
        raise CommandError(3, f"Upload error (maybe image size too large):{path} (No such file or directory)")
    digest = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()
    url = f"https://signal.art/addstickers/#pack_id={digest[:32]}&pack_key={digest[:64]}"
    run.emit(_shuffled_object([("url", url)]), plain=url + "\n")


# -- receive ---------------------------------------------------------------------


def _receive_line(item, account):
    """A queued inbox item as printed: wrapped in {"envelope", "account"}, without "_data"."""
    line = dict(item)
    line.pop("_data", None)
    if "envelope" not in line:
        line = {"envelope": line}
    line.setdefault("account", account)
    return line


def _attachment_ids(envelope):
    found = []
    for content in (
        envelope.get("dataMessage"),
        (envelope.get("editMessage") or {}).get("dataMessage"),
        ((envelope.get("syncMessage") or {}).get("sentMessage")),
    ):
        for attachment in (content or {}).get("attachments") or []:
            if attachment.get("id"):
                found.append(attachment["id"])
    return found


def _deliver_next(run, ignore_attachments):
    """Print one envelope from the inbox and drop it from the state in the same breath.

    The new state is written to a temp file first; the line is then written to stdout and the
    temp file renamed into place, so a kill can neither lose a printed envelope nor (outside a
    window of two system calls) print one twice.
    """
    config_dir = run.config_dir
    with _FileLock(os.path.join(config_dir, STATE_LOCK)):
        state = _load_state(config_dir)
        inbox = state.get("accounts", {}).get(run.account, {}).get("inbox") or []
        if not inbox:
            return False
        item = inbox.pop(0)
        line = _receive_line(item, run.account)
        if not ignore_attachments:
            folder = os.path.join(config_dir, ATTACHMENTS_DIR)
            os.makedirs(folder, exist_ok=True)
            data = item.get("_data") or {}
            for attachment_id in _attachment_ids(line["envelope"]):
                payload = (
                    base64.b64decode(data[attachment_id])
                    if attachment_id in data
                    else (b"fake attachment " + attachment_id.encode())
                )
                with open(os.path.join(folder, attachment_id), "wb") as f:
                    f.write(payload)
        tmp = _state_temp_file(config_dir, state)
        try:
            run.out_strict(_dumps(line) + "\n" if run.json else _plain_envelope(line))
        except BrokenPipeError:
            os.remove(tmp)
            return None
        os.replace(tmp, os.path.join(config_dir, STATE_FILE))
        return True


def _plain_envelope(line):
    envelope = line["envelope"]
    text = (
        f"Envelope from: {envelope.get('sourceNumber') or envelope.get('sourceUuid')} "
        f"(device: {envelope.get('sourceDevice')}) to {line['account']}\nTimestamp: {envelope.get('timestamp')}\n"
    )
    body = (envelope.get("dataMessage") or {}).get("message")
    return text + (f"Body: {body}\n" if body is not None else "") + "\n"


@handler("receive")
def cmd_receive(run, ns):
    """Print queued envelopes one per line; stop on --max-messages, the idle timeout or SIGTERM/SIGINT."""
    stop = []

    def request_stop(signum, frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    timeout = ns.get("timeout")
    max_messages = ns.get("max-messages")
    received = 0
    idle_since = time.monotonic()
    while not stop and (max_messages < 0 or received < max_messages):
        delivered = _deliver_next(run, ns.get("ignore-attachments"))
        if delivered is None:
            break
        if delivered:
            received += 1
            idle_since = time.monotonic()
            continue
        if timeout >= 0 and time.monotonic() - idle_since >= timeout:
            break
        time.sleep(POLL_SECONDS)
    return 0


@handler("daemon")
def cmd_daemon(run, ns):
    """Not modelled: fail clearly rather than pretend."""
    raise CommandError(2, "fake signal-cli: daemon mode is not implemented by this fake")


@handler("jsonRpc")
def cmd_json_rpc(run, ns):
    """Not modelled: fail clearly rather than pretend."""
    raise CommandError(2, "fake signal-cli: jsonRpc mode is not implemented by this fake")


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _exit_on_signal(run, code):
    """The JVM exits with 128+signal after its shutdown hooks; record the run, then do the same."""

    def on_signal(signum, frame):
        try:
            run.finish(code)
        finally:
            os._exit(code)

    return on_signal


def main(argv):
    """Run the fake signal-cli with *argv* (without the program name) and return its exit code.

    Meant to run in its own process: it installs signal handlers and may kill itself.
    """
    run = Run([str(a) for a in argv])
    signal.signal(signal.SIGTERM, _exit_on_signal(run, 143))
    signal.signal(signal.SIGINT, _exit_on_signal(run, 130))
    try:
        code = run.execute()
    except CommandError as e:
        run.err(e.message + "\n")
        code = e.code
    except _FaultExit as fault:
        if fault.stdout:
            run.out(fault.stdout)
        if fault.stderr:
            run.err(fault.stderr.rstrip("\n") + "\n")
        code = fault.code
    except Exception:  # a bug in the fake: make it loud, but still log the run
        import traceback

        run.err("fake signal-cli internal error:\n" + traceback.format_exc())
        code = 2
    run.finish(code)
    return code


def write_executable(directory, name="signal-cli"):
    """Write an executable shim that runs this fake and return its path."""
    from pathlib import Path

    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tests_dir = json.dumps(os.path.dirname(os.path.abspath(__file__)))
    path.write_text(
        f"#!{sys.executable}\n"
        f"import sys; sys.path.insert(0, {tests_dir})\n"
        "from fake_signal_cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    path.chmod(0o755)
    return path


# ---------------------------------------------------------------------------
# The test-side API
# ---------------------------------------------------------------------------


def envelope_line(account, source, *, timestamp=None, source_name=None, source_device=1, source_uuid=None, **content):
    """Build a receive line ``{"envelope": …, "account": …}`` with one content object.

    *content* is e.g. ``dataMessage={...}``, ``receiptMessage={...}`` or ``typingMessage={...}``.
    """
    timestamp = timestamp or _now_ms()
    envelope = {
        "source": source,
        "sourceNumber": source,
        "sourceUuid": source_uuid or uuid_for(source),
        "sourceName": source_name,
        "sourceDevice": source_device,
        "timestamp": timestamp,
        "serverReceivedTimestamp": timestamp + 77,
        "serverDeliveredTimestamp": timestamp + 150,
    }
    envelope.update(content)
    return {"envelope": envelope, "account": account}


def message_line(account, source, text, *, timestamp=None, group_id=None, group_name=None, attachments=(), **extra):
    """Build a receive line for an incoming text message.

    *attachments* are dicts with ``filename``, ``contentType`` and ``data`` (bytes); their bytes
    travel in the line's ``"_data"`` map, which ``receive`` writes to ``CFG/attachments/<id>``.
    """
    timestamp = timestamp or _now_ms()
    data_message = {"timestamp": timestamp, "message": text, "expiresInSeconds": 0, "viewOnce": False}
    blobs = {}
    if attachments:
        data_message["attachments"] = []
        for attachment in attachments:
            extension = os.path.splitext(attachment.get("filename") or "")[1]
            attachment_id = base64.urlsafe_b64encode(os.urandom(15)).decode() + extension
            data = attachment.get("data", b"")
            data_message["attachments"].append(
                {
                    "contentType": attachment.get("contentType", "application/octet-stream"),
                    "filename": attachment.get("filename"),
                    "id": attachment_id,
                    "size": len(data),
                    "width": attachment.get("width"),
                    "height": attachment.get("height"),
                    "caption": attachment.get("caption"),
                    "uploadTimestamp": timestamp,
                }
            )
            blobs[attachment_id] = base64.b64encode(data).decode()
    if group_id is not None:
        data_message["groupInfo"] = {"groupId": group_id, "groupName": group_name, "revision": 1, "type": "DELIVER"}
    data_message.update(extra)
    line = envelope_line(account, source, timestamp=timestamp, dataMessage=data_message)
    if blobs:
        line["_data"] = blobs
    return line


class FakeState:
    """The test-side handle on one fake config dir: arrange state, then inspect what happened."""

    def __init__(self, config_dir):
        self.config_dir = str(config_dir)
        os.makedirs(self.config_dir, exist_ok=True)

    def load(self):
        """Return a snapshot of fake-state.json."""
        return read_state(self.config_dir)

    def save(self, state):
        """Replace the whole state."""

        def replace(current):
            current.clear()
            current.update(state)

        modify_state(self.config_dir, replace)

    def update(self, fn):
        """Apply ``fn(state)`` atomically (under the state lock) and return its result."""
        return modify_state(self.config_dir, fn)

    def account(self, number):
        """Return the account entry of *number* (with defaults filled in)."""
        return _account(self.load(), number)

    def add_account(self, number, registered=True, **fields):
        """Create or update an account; *fields* go straight into its entry."""

        def add(state):
            acct = _account(state, number)
            acct["registered"] = registered
            acct.update(fields)
            return acct

        return self.update(add)

    def add_user(self, number, **flags):
        """Describe another Signal user: uuid, registered, untrusted, rate_limited, network_failure…"""

        def add(state):
            user = state.setdefault("users", {}).setdefault(number, {})
            user.setdefault("uuid", uuid_for(number))
            user.update(flags)
            return user

        return self.update(add)

    def add_group(self, account, name="Team", members=(), admins=None, **fields):
        """Add a group to *account* and return its base64 id (the account is a member and, by default, admin)."""
        group_id = base64.b64encode(os.urandom(32)).decode()

        def add(state):
            acct = _account(state, account)
            is_member = fields.get("isMember", True)
            numbers = ([account] if is_member else []) + [m for m in members if m != account]
            admin_numbers = [account] if admins is None else list(admins)
            acct["groups"].append(
                new_group_entry(
                    group_id,
                    name,
                    [_member(state, n) for n in numbers],
                    [_member(state, n) for n in admin_numbers],
                    **fields,
                )
            )

        self.update(add)
        return group_id

    def add_contact(self, account, number, **fields):
        """Add a listContacts entry (fields override the defaults)."""

        def add(state):
            contact = _contact_entry(number, _user(state, number).get("uuid") or uuid_for(number))
            contact.update(fields)
            _account(state, account)["contacts"].append(contact)
            return contact

        return self.update(add)

    def add_identity(self, account, number, trust_level="TRUSTED_UNVERIFIED", **fields):
        """Add a listIdentities entry with a consistent fingerprint and safety number."""

        def add(state):
            identity = _identity_entry(number, _user(state, number).get("uuid") or uuid_for(number), trust_level)
            identity.update(fields)
            _account(state, account)["identities"].append(identity)
            return identity

        return self.update(add)

    def queue_messages(self, account, lines):
        """Append receive lines (dicts or JSON text) to the account's inbox."""
        items = [json.loads(line) if isinstance(line, str) else line for line in lines]
        self.update(lambda state: _account(state, account)["inbox"].extend(items))

    def inbox(self, account):
        """Return the envelopes still waiting for *account*."""
        return self.load().get("accounts", {}).get(account, {}).get("inbox", [])

    def add_fault(self, **fault):
        """Make matching invocations fail: command, account, exit, stdout, stderr, sleep, garbage, truncate,
        kill_self, times."""
        self.update(lambda state: state.setdefault("faults", []).append(fault))

    def set_delay(self, seconds):
        """Sleep this long in every command once its lock is held (simulated JVM start-up)."""
        self.update(lambda state: state.update(delay=seconds))

    def set_link_timeout(self, seconds, number=None):
        """Configure how long ``link`` waits for a scan (and the number it links by default)."""
        self.update(lambda state: state.update(link={"timeout": seconds, "number": number}))

    def scan_link(self, number):
        """Pretend the phone scanned the QR code: a waiting ``link`` then links *number*."""
        path = os.path.join(self.config_dir, LINK_TRIGGER)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(number)
        os.replace(path + ".tmp", path)

    def write_attachment(self, attachment_id, data):
        """Store a "downloaded" attachment for getAttachment and return its path."""
        folder = os.path.join(self.config_dir, ATTACHMENTS_DIR)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, attachment_id)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def log(self, events=False):
        """Return the invocation records, oldest first (with ``events=True`` also the start events)."""
        try:
            with open(os.path.join(self.config_dir, LOG_FILE), encoding="utf-8") as f:
                # a line without its newline is still being written by a running process
                records = [json.loads(line) for line in f if line.endswith("\n")]
        except FileNotFoundError:
            return []
        return records if events else [r for r in records if "event" not in r]

    def sent_messages(self, account=None, command=None):
        """Return what the send-family commands sent (oldest first), optionally filtered."""
        return [
            s
            for s in self.load().get("sent", [])
            if account in (None, s.get("account")) and command in (None, s.get("command"))
        ]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
