"""The fake signal-cli's quick start: a server that has the fake imported and forks one process per run.

Starting Python and importing the fake costs about 30 ms of CPU per run, and the fast tier of the
test suite runs the fake about 1500 times. :func:`start` runs this server in a process of its own;
:func:`write_executable` then writes a small compiled program (``shim.c``) in place of the fake's
script. That program hands the server its stdin, stdout and stderr, arguments, environment, working
directory and umask, and the server forks a process that runs :func:`fake_signal_cli.run.main`
with them and reports its wait status back. See ``shim.c`` for how signals and a killed shim are
handled. Where no C compiler is found, or the server cannot be reached, the fake starts the slow
way (its script), which behaves the same.

The fake's log then names the forked process's pid, which is not the pid of the process the
service started; tests that compare the two, or that need the fake's process to be a child of the
service, use ``write_executable(..., quick=False)``.
"""

import array
import atexit
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: what a shim sends first: the length of its request, and a bit per open stdin, stdout, stderr
_HEADER = struct.Struct("=IB")
#: seconds the server may take to start (import the fake, listen)
START_TIMEOUT = 30

#: (socket path, shim binary, server process) of the server this process started, if any
_running = None


def compile_shim(directory):
    """Compile ``shim.c`` into ``directory``; the program's path, or None without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    output = Path(directory) / "fake-signal-cli-shim"
    done = subprocess.run(
        [compiler, "-O2", "-o", str(output), str(Path(__file__).with_name("shim.c"))],
        capture_output=True,
        text=True,
        check=False,
    )
    return output if done.returncode == 0 else None


def start():
    """Start the server (once per process) and make :func:`write_executable` use it; returns
    whether the quick start is on. It stops when this process exits."""
    global _running
    if _running is not None:
        return True
    directory = tempfile.mkdtemp(prefix="fake-signal-cli-")
    shim = compile_shim(directory)
    if shim is None:
        shutil.rmtree(directory, ignore_errors=True)
        return False
    address = os.path.join(directory, "server.sock")
    server = subprocess.Popen(
        [sys.executable, "-S", "-c", _SERVE, str(Path(__file__).resolve().parent.parent), address],
        stdin=subprocess.DEVNULL,
    )
    ready = Path(address)
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            server.wait()
            shutil.rmtree(directory, ignore_errors=True)
            return False
        time.sleep(0.01)
    _running = (address, shim, server)

    def stop():
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(stop)
    return True


def server_pid():
    """The server's pid (a child of this process, not one a test left behind), or None."""
    return _running[2].pid if _running is not None else None


def running():
    """Whether this process started the server (so :func:`quick_executable` can be used)."""
    return _running is not None


def quick_executable(path, version, script):
    """Write the shim at ``path`` (with its settings beside it) if the server runs; returns whether it did."""
    if _running is None:
        return False
    address, shim, _ = _running
    shutil.copyfile(shim, path)
    path.chmod(0o755)
    Path(f"{path}.conf").write_text(f"{address}\n{version}\n{sys.executable}\n{script}\n", encoding="utf-8")
    return True


_SERVE = "import sys; sys.path.insert(0, sys.argv[1]); from fake_signal_cli.forkserver import serve; serve(sys.argv[2])"


def serve(address):
    """Accept shims on the socket ``address`` and fork one run for each, until SIGTERM."""
    from . import run  # everything a run needs, imported once here

    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address + ".new")
    listener.listen(256)
    os.rename(address + ".new", address)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    runs = {}
    while not stopping and os.getppid() == parent:
        try:
            readable, _, _ = select.select([listener, wake_read], [], [], 1.0)
        except InterruptedError:
            readable = []
        if listener in readable:
            try:
                connection, _ = listener.accept()
            except OSError:
                connection = None
            if connection is not None:
                _start_run(connection, runs, (listener, wake_read, wake_write), run)
        if wake_read in readable:
            try:
                os.read(wake_read, 4096)
            except BlockingIOError:
                pass
        _reap(runs)
    listener.close()
    os.unlink(address)


def _reap(runs):
    """Tell the shim of each run that ended how it ended."""
    while runs:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = runs.pop(pid, None)
        if connection is not None:
            try:
                connection.sendall(struct.pack("=i", status))
            except OSError:
                pass
            connection.close()


def _receive(connection):
    """The shim's request: (fds by number 0-2, or None when that one is closed; settings)."""
    connection.settimeout(10)
    fds = array.array("i")
    data, ancillary, _, _ = connection.recvmsg(_HEADER.size, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    received = list(fds)
    try:
        if len(data) != _HEADER.size:
            raise OSError("short header")
        size, mask = _HEADER.unpack(data)
        body = bytearray()
        while len(body) < size:
            chunk = connection.recv(min(1 << 20, size - len(body)))
            if not chunk:
                raise OSError("short request")
            body += chunk
        words = [word.decode("utf-8", "surrogateescape") for word in bytes(body).split(b"\0")[:-1]]
        version, cwd, umask, argc = words[0], words[1], int(words[2], 8), int(words[3])
        argv = words[4 : 4 + argc]
        envc = int(words[4 + argc])
        environment = dict(entry.split("=", 1) for entry in words[5 + argc : 5 + argc + envc] if "=" in entry)
    except BaseException:
        _close(received)
        raise
    standard = [received.pop(0) if mask & (1 << number) and received else None for number in range(3)]
    _close(received)
    return standard, (version, cwd, umask, argv, environment)


def _close(fds):
    for fd in fds:
        if fd is not None:
            os.close(fd)


def _start_run(connection, runs, own, run):
    """Fork the run a shim asks for; ``own``: the server's listener and wake-up pipe, which the run
    closes. A request that cannot be read or a fork that fails closes the connection, and the shim
    runs the fake's script instead."""
    try:
        standard, settings = _receive(connection)
    except (OSError, ValueError, IndexError):
        connection.close()
        return
    try:
        pid = os.fork()
    except OSError:
        _close(standard)
        connection.close()
        return
    if pid == 0:
        try:
            listener, wake_read, wake_write = own
            listener.close()
            os.close(wake_read)
            os.close(wake_write)
            for other in runs.values():
                other.close()
            _run_in_child(connection, standard, settings, run)
        finally:
            os._exit(70)
    _close(standard)
    runs[pid] = connection
    try:
        connection.settimeout(10)
        connection.sendall(struct.pack("=i", pid))
    except OSError:
        pass


def _run_in_child(connection, standard, settings, run):
    """In the forked process: become the shim's run of the fake, and exit as it ends."""
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)
    version, cwd, umask, argv, environment = settings
    streams = ("stdin", "stdout", "stderr")
    for number, fd in enumerate(standard):
        if fd is None:
            try:
                os.close(number)
            except OSError:
                pass
            setattr(sys, streams[number], None)
        elif fd != number:
            os.dup2(fd, number)
            os.close(fd)
    os.chdir(cwd)
    os.umask(umask)
    os.environ.clear()
    os.environ.update(environment)
    random.seed()

    def die_with_the_shim():
        # The shim writes nothing more, so the connection becomes readable when the shim is gone.
        # It is shared with the server, which may make it non-blocking at any time: wait with
        # select, and take a read that would block as no answer.
        descriptor = connection.fileno()
        while True:
            select.select([descriptor], [], [])
            try:
                if not os.read(descriptor, 1):
                    break
            except BlockingIOError:
                continue
            except OSError:
                break
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=die_with_the_shim, daemon=True).start()
    try:
        code = run.main(argv, version=version)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    threading._shutdown()  # as the interpreter does at exit: wait for the fake's own threads
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    os._exit(code if isinstance(code, int) else 1)
