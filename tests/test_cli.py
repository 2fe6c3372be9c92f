"""The ``signal-rest`` command: ``tune`` builds a class cache for any signal-cli and says how to use it."""

import shlex

import pytest

from signal_rest import cli, provision

#: a signal-cli that behaves like the JDK 25 launcher as far as tuning is concerned
JDK25_SIGNAL_CLI = """#!/bin/sh
for word in $JAVA_OPTS; do
  case "$word" in -XX:AOTCacheOutput=*) printf 'cache' > "${word#-XX:AOTCacheOutput=}" ;; esac
done
[ "$1" = "--version" ] && echo "signal-cli 0.13.19"
exit 0
"""
#: one whose Java is too old to know the option (it fails before doing anything)
OLD_JAVA_SIGNAL_CLI = """#!/bin/sh
echo "Unrecognized VM option 'AOTCacheOutput'" >&2
exit 1
"""


@pytest.mark.parametrize(("script", "cached"), [(JDK25_SIGNAL_CLI, True), (OLD_JAVA_SIGNAL_CLI, False)])
def test_tune_prints_the_options_to_use(tmp_path, capsys, script, cached):
    signal_cli = tmp_path / "signal-cli"
    signal_cli.write_text(script)
    signal_cli.chmod(0o755)
    cache = tmp_path / "signal-cli.aot"
    assert cli.main(["tune", str(signal_cli), str(cache)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("SIGNAL_CLI_JAVA_OPTS=")
    options = shlex.split(shlex.split(line.split("=", 1)[1])[0])
    assert options[: len(provision.STARTUP_OPTS)] == list(provision.STARTUP_OPTS)
    assert cache.is_file() == cached
    assert (f"-XX:AOTCache={cache}" in options) == cached
    assert not list(tmp_path.glob(".partial-*"))
