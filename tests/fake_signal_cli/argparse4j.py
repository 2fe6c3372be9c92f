"""argparse4j 0.9.0, ported: the parser signal-cli builds its command line with.

Parsing (abbreviated long options, attached values, list options that swallow following words,
``--``, "last one wins", deferred "is required" errors), usage and help screens, and the error
text of ``handleError`` with its line wrapping and "Did you mean" candidates.
"""

import os
import re

#: The program name signal-cli gives argparse4j (ArgumentParsers.newFor).
PROG = "signal-cli"


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
        since=None,
        until=None,
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
        # The signal-cli release that added the argument (None: every release the fake models);
        # argparse4j itself never looks at it, the option tables pick arguments by it.
        self.since = since
        # the first release without the argument in this form (None: still there in the newest)
        self.until = until
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

    def __init__(self, args, required=False, since=None):
        self.args = list(args)
        self.required = required
        self.since = since
        self.index = None


def opt(*flags, **kw):
    """A named option taking one value (or a list, with ``nargs``)."""
    return Arg(flags, **kw)


def flag(*flags, **kw):
    """A store-true flag."""
    return Arg(flags, action="store_true", **kw)


def pos(name, nargs=None, since=None):
    """A positional argument."""
    return Arg(name=name, nargs=nargs, since=since)


def mutex(*args, required=False, since=None):
    """A mutually exclusive group of options."""
    return Group(args, required, since)


class ParseState:
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


def format_width():
    """argparse4j uses $COLUMNS - 5 when set; without a terminal it falls back to 75."""
    try:
        width = int(os.environ.get("COLUMNS", "")) - 5
    except ValueError:
        return 75
    return width if width > 0 else 75


def render_parse_error(error):
    """Return the stderr text argparse4j's handleError writes for *error*."""
    width = format_width()
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
