"""Starting signal-cli so that it cannot outlive the process that started it.

Every child gets the parent-death signal (SIGTERM when its starter ends, however it ends: a
SIGKILL, the OOM killer) and does not run at all if that starter is already gone. The signal is
set by a launcher the child is exec'd from, util-linux's ``setpriv`` where it is installed, else
a short Python program; not by a ``preexec_fn``, which is unsafe in a process with threads.
"""

import concurrent.futures
import functools
import os
import shutil
import subprocess
import sys
import threading

#: runs ``argv[2:]`` with the parent-death signal set (SIGTERM when the thread that started it
#: ends), or not at all if that parent is already gone; a launcher rather than a ``preexec_fn``,
#: which is unsafe in a process with threads. Every child is started by one thread of the process
#: that lives as long as it (:func:`popen`), so "the thread ends" means "the process ends" under
#: any server: gunicorn's thread pool, or a server with a thread per request (Flask's own).
_DIE_WITH_PARENT = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None).prctl(1, 15)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)
#: the same with util-linux's setpriv, which sets the signal and execs a shell that checks the
#: parent: a millisecond or two instead of a Python start (about 10 ms, as long as a whole call
#: to the daemon)
_CHECK_PARENT = 'test "$PPID" = "$0" || exit 1; exec "$@"'


@functools.cache
def _setpriv():
    """util-linux's setpriv if it is installed and sets the parent-death signal (2.33+), else None."""
    found = shutil.which("setpriv")
    if found is None or not os.path.exists("/bin/sh"):
        return None
    try:
        usage = subprocess.run([found, "--help"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return found if "--pdeathsig" in usage else None


def dying_with_parent(argv):
    """``argv`` behind the launcher that ties it to this process (Linux; elsewhere ``argv`` itself)."""
    if not sys.platform.startswith("linux"):
        return list(argv)
    setpriv = _setpriv()
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "TERM", "--", "/bin/sh", "-c", _CHECK_PARENT, str(os.getpid()), *argv]
    return [sys.executable, "-S", "-E", "-c", _DIE_WITH_PARENT, str(os.getpid()), *argv]


_starter = None
_starter_pid = None
_starter_lock = threading.Lock()


def popen(argv, **options):
    """``subprocess.Popen(dying_with_parent(argv), **options)``, started by this process's starter
    thread, so that the parent-death signal follows the process, not the calling thread."""
    global _starter, _starter_pid
    with _starter_lock:
        if _starter is None or _starter_pid != os.getpid():
            # one per process: a forked worker does not inherit its parent's thread
            _starter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="signal-cli-starter")
            _starter_pid = os.getpid()
        starter = _starter
    return starter.submit(subprocess.Popen, dying_with_parent(argv), **options).result()


def why_not_runnable(binary):
    """Why ``binary`` (a path, or a name looked up in PATH) cannot be run, or None if it can."""
    if shutil.which(binary) is not None:
        return None
    if os.sep not in binary:
        return "not found in PATH"
    if os.path.isdir(binary):
        return "a directory"
    return "not executable" if os.path.exists(binary) else "no such file"
