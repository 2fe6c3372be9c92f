"""Running the fake signal-cli in tests of the fake: a runner per config dir and stderr helpers."""

import base64
import os
import re
import subprocess

import fake_signal_cli as fake

ACCOUNT = "+4915112345678"
OTHER_ACCOUNT = "+4915199999999"
ANN = "+4915100000001"
BOB = "+4915100000002"
CAROL = "+4915100000003"
UNKNOWN_GROUP = base64.b64encode(bytes(range(32))).decode()


def child_env():
    """The environment of a run: this process's (as a test set it), without COLUMNS: argparse4j
    wraps at $COLUMNS - 5 when set; the tests want its default width of 75."""
    return {k: v for k, v in os.environ.items() if k != "COLUMNS"}


def run_argv(argv, **kwargs):
    """Run argv (always our own fake, never untrusted input) and capture its text output."""
    return subprocess.run(argv, capture_output=True, text=True, env=child_env(), check=False, **kwargs)  # noqa: S603


class Cli:
    """Runs the fake executable against its own config dir."""

    def __init__(self, tmp_path, version=fake.VERSION):
        self.version = version
        self.bin = fake.write_executable(tmp_path / "bin", version=version)
        self.config = tmp_path / "cfg"
        self.state = fake.FakeState(self.config)
        self.tmp = tmp_path
        self.procs = []

    def argv(self, args, account=ACCOUNT, output="json"):
        prefix = [str(self.bin), "--config", str(self.config)]
        if account:
            prefix += ["-a", account]
        if output:
            prefix += ["-o", output]
        return prefix + list(args)

    def run(self, *args, account=ACCOUNT, output="json", input=None, timeout=15):
        return run_argv(
            self.argv(args, account, output),
            input=input,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )

    def popen(self, *args, account=ACCOUNT, output="json", stdin=subprocess.DEVNULL):
        proc = subprocess.Popen(
            self.argv(args, account, output),
            stdin=stdin,  # noqa: S603 (our own fake)
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        self.procs.append(proc)
        return proc

    def reap(self):
        """Kill and wait for every process a test left running."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()

    def last_record(self):
        return self.state.log()[-1]


def registered_cli(tmp_path, version=fake.VERSION):
    """The fake with one registered account (the body of each test module's ``cli`` fixture)."""
    runner = Cli(tmp_path, version)
    runner.state.add_account(ACCOUNT)
    yield runner
    runner.reap()


def error_message(stderr):
    """The argparse4j error message, with argparse4j's line wrapping and justification undone."""
    text = re.split(r"signal-cli: +error: +", stderr, maxsplit=1)[1].split("\nDid you mean:")[0]
    return " ".join(text.split())


def same_message(actual, expected):
    return actual == " ".join(expected.split())


LOG_LINE = re.compile(r"(INFO|WARN|DEBUG) |\d{4}-\d\d-\d\dT\S+ \[main\] ")


def messages(stderr):
    """stderr without log lines (what a caller shows as the error)."""
    return [line for line in stderr.splitlines() if not LOG_LINE.match(line)]


def finish(proc, timeout=10):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err
