"""One run of the program: parse argv, pick the account, take the locks, dispatch, log the run."""

import fcntl
import json
import os
import signal
import sys
import time

from .argparse4j import PROG, HelpShown, ParseError, ParseState, VersionShown, format_width, render_parse_error
from .errors import CommandError, FaultExit, java_trace
from .handlers import HANDLERS
from .options import (
    LOCAL_OR_MULTI,
    MULTI,
    PROVISIONING,
    REGISTRATION,
    VERSION,
    build_logging_preparser,
    build_parser,
    commands_for,
    release,
)
from .records import account_entry
from .state import LOCK_DIR, append_log, dumps, modify_state, read_state
from .values import VALID_ACCOUNT

_LOGGER_NAMES = {
    "AccountHelper": "org.asamk.signal.manager.helper.AccountHelper",
    "SignalAccount": "org.asamk.signal.manager.storage.SignalAccount",
    "ManagerImpl": "org.asamk.signal.manager.internal.ManagerImpl",
    "MultiAccountManager": "org.asamk.signal.manager.MultiAccountManager",
    "App": "org.asamk.signal.App",
    "Shutdown": "org.asamk.signal.Shutdown",
    "ReceiveHelper": "org.asamk.signal.manager.internal.ReceiveHelper",
}


def _abbreviate_logger(name, limit=36):
    """Logback's %logger{36}: shorten leading package names to one letter until it fits."""
    parts = name.split(".")
    for i in range(len(parts) - 1):
        if len(".".join(parts)) <= limit:
            break
        parts[i] = parts[i][0]
    return ".".join(parts)


def _default_config_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "signal-cli")


class Run:
    """State of one invocation of signal-cli *version*: parsed options, output counters and the log record."""

    def __init__(self, argv, version=VERSION):
        self.argv = argv
        self.version = version
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
            self.out(dumps(obj) + "\n")
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
        return account_entry(state, self.account)

    # -- the program ----------------------------------------------------------

    def at_least(self, version):
        """Whether this run plays signal-cli *version* or a later release."""
        return release(self.version) >= release(version)

    def execute(self):
        """Do what signal-cli does with this argv and return the exit code."""
        defaults = global_config(self.version)
        self._logging_preparse(defaults)
        parser = build_parser(self.version, defaults)
        state = ParseState(self.argv)
        try:
            parser.parse(state, self.ns)
            if state.deferred is not None:
                raise state.deferred
        except HelpShown as shown:
            self.quirks.append("help")
            self.out(shown.args[0].help(format_width()))
            self._note_config_dir()
            return 0
        except VersionShown:
            self.out(f"{PROG} {self.version}\n")
            self._note_config_dir()
            return 0
        except ParseError as e:
            self.err(render_parse_error(e))
            self._note_config_dir()
            return 1
        self.command = self.ns["command"]
        command = commands_for(self.version)[self.command]
        self.log("DEBUG", "App", f"Starting {PROG} {self.version}")
        self._check_output_type(command)
        if self.ns.get("global-dbus") or self.ns.get("global-dbus-system"):
            raise CommandError(2, "Dbus client failed: Cannot Resolve Session Bus Address")
        self._ensure_config_dir()
        return self._dispatch(command)

    def _logging_preparse(self, defaults):
        """Main.parseLoggingConfig: a lenient parse of the whole argv for -v, --log-file and -h
        (from 0.14.4 the config file's ``verbose`` and ``logFile`` are its defaults)."""
        attrs = {}
        try:
            build_logging_preparser().parse(ParseState(self.argv, unknown=[]), attrs)
        except HelpShown as shown:
            self.quirks.append("help")
            self.out(shown.args[0].help(format_width()))
            return
        except ParseError:
            return
        self.verbose = (attrs.get("verbose") or 0) + defaults.get("verbose", 0)
        if self.verbose:
            self.quirks.append("verbose")
        log_file = attrs.get("log-file") or defaults.get("log-file")
        if log_file:
            self.log_file = os.path.abspath(log_file)
            try:
                os.makedirs(os.path.dirname(self.log_file), exist_ok=True)
                open(self.log_file, "a").close()
                self.quirks.append("log_file")
            except OSError:
                self.log_file = None

    def _config_option(self):
        """The data directory given: ``--config`` (``-d/--data-dir`` and its aliases from 0.14.4)."""
        return self.ns.get("data-dir") if "data-dir" in self.ns else self.ns.get("config")

    def _note_config_dir(self):
        """Find the config dir (even after a parse error) so the run can still be logged."""
        config = self._config_option()
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
        config = self._config_option()
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
            append_log(
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
        elif not VALID_ACCOUNT.fullmatch(account):
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
            raise FaultExit(0, stdout='Exception in thread "main" <html><body>garbage, not JSON\n')
        if fault.get("truncate"):
            self.capture = []
            return
        if "exit" in fault or "stdout" in fault or "stderr" in fault:
            code = fault.get("exit", 0)
            message = fault.get("stderr")
            if message is None and code == 2:
                message = java_trace(
                    "java.lang.NullPointerException", 'Cannot invoke "String.length()" because "<local1>" is null'
                )
            raise FaultExit(code, stdout=fault.get("stdout"), stderr=message)

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
        append_log(self.config_dir, self.log_record(code))

    def log_record(self, code):
        """What fake-log.jsonl keeps of this run, ended with exit ``code``."""
        options = {k: v for k, v in self.ns.items() if v is not None}
        return {
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
        }


#: GlobalConfig's keys (0.14.4+) and the global option each one gives its default
_CONFIG_KEYS = {
    "verbose": ("verbose", int),
    "logFile": ("log-file", str),
    "scrubLog": ("scrub-log", bool),
    "dataDir": ("data-dir", str),
    "busName": ("global-bus-name", str),
    "dbus": ("global-dbus", bool),
    "dbusSystem": ("global-dbus-system", bool),
    "output": ("output", str),
    "serviceEnvironment": ("service-environment", str),
    "trustNewIdentities": ("trust-new-identities", str),
    "disableSendLog": ("disable-send-log", bool),
    "account": (None, str),
}
_CONFIG_CHOICES = {
    "output": ("plain-text", "json"),
    "serviceEnvironment": ("live", "staging"),
    "trustNewIdentities": ("always", "on-first-use", "never"),
}
_JSON_TYPE_NAMES = {int: "int", str: "String", bool: "boolean"}


def global_config(version):
    """ConfigLoader (0.14.4+): the global options' defaults from the file SIGNAL_CLI_CONFIG names.

    The real program also reads ``/etc/signal-cli/config.json`` and the per-user file; the fake
    reads only SIGNAL_CLI_CONFIG, so no test depends on the machine it runs on. A file that is
    not JSON, an unknown key or a bad value stops every command with exit 1 (SIGNAL_CLI_0.14.md §2.1).
    """
    if release(version) < release("0.14.4"):
        return {}
    path = os.environ.get("SIGNAL_CLI_CONFIG")
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            loaded = json.load(f)
    except (OSError, ValueError) as e:
        raise CommandError(1, f"Failed to load config from {path}: {e}")
    if not isinstance(loaded, dict):
        return {}
    defaults = {}
    for key, value in loaded.items():
        if key not in _CONFIG_KEYS:
            raise CommandError(
                1,
                f'Failed to parse configuration file(s): Unrecognized field "{key}" '
                "(class org.asamk.signal.GlobalConfig), not marked as ignorable",
            )
        dest, kind = _CONFIG_KEYS[key]
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CommandError(
                1,
                f"Failed to parse configuration file(s): Cannot deserialize value of type "
                f"`{_JSON_TYPE_NAMES[kind]}` from {json.dumps(value)}",
            )
        if key in _CONFIG_CHOICES:
            wanted = "".join(c for c in value.lower() if c.isalnum())
            choice = next((c for c in _CONFIG_CHOICES[key] if c.replace("-", "") == wanted), None)
            if choice is None:
                raise CommandError(
                    1,
                    f'Failed to parse configuration file(s): Cannot deserialize value from String "{value}": '
                    f"not one of the values accepted for Enum class: {list(_CONFIG_CHOICES[key])}",
                )
        if dest is not None:
            defaults[dest] = choice if key in _CONFIG_CHOICES else value
    return defaults


def _plain_text(obj):
    """A simple plain-text rendering for commands whose plain output is not modelled in detail."""
    if isinstance(obj, list):
        return "".join(" ".join(f"{k}: {v}" for k, v in item.items()) + "\n" for item in obj)
    if isinstance(obj, dict):
        return "".join(f"{k}: {v}\n" for k, v in obj.items())
    return f"{obj}\n"


def _exit_on_signal(run, code):
    """The JVM exits with 128+signal after its shutdown hooks; record the run, then do the same."""

    def on_signal(signum, frame):
        try:
            run.finish(code)
        finally:
            os._exit(code)

    return on_signal


def main(argv, version=VERSION):
    """Run the fake signal-cli *version* with *argv* (without the program name) and return its exit code.

    Meant to run in its own process: it installs signal handlers and may kill itself.
    """
    run = Run([str(a) for a in argv], version)
    signal.signal(signal.SIGTERM, _exit_on_signal(run, 143))
    signal.signal(signal.SIGINT, _exit_on_signal(run, 130))
    try:
        code = run.execute()
    except CommandError as e:
        run.err(e.message + "\n")
        code = e.code
    except FaultExit as fault:
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


def write_executable(directory, name="signal-cli", version=VERSION, *, quick=True):
    """Write an executable shim that runs this fake as signal-cli *version* and return its path.

    With ``quick`` and the fork server running (:mod:`.forkserver`), the executable is the
    compiled shim that has the server fork the run; else (and as that shim's fallback) a script."""
    from pathlib import Path

    from . import forkserver

    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    # The script runs in a process of its own: it finds this package through the folder holding it.
    # It needs nothing but the standard library, so -S skips the site packages (and the editable
    # install's import hook), which halves its start-up; the test suite starts it thousands of times.
    package_parent = json.dumps(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = path.with_name(f"{name}.py") if quick and forkserver.running() else path
    script.write_text(
        f"#!{sys.executable} -S\n"
        f"import sys; sys.path.insert(0, {package_parent})\n"
        "from fake_signal_cli.run import main\n"
        f"sys.exit(main(sys.argv[1:], version={json.dumps(version)}))\n"
    )
    script.chmod(0o755)
    if script != path:
        forkserver.quick_executable(path, version, script)
    return path
