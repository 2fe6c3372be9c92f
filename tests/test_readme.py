"""README.rst: it renders, shows the two commands, and documents every setting."""

from pathlib import Path

import docutils.core
import docutils.utils

from signal_rest import config
from signal_rest.signal_cli.status import assess

README = Path(__file__).resolve().parent.parent / "README.rst"


def test_readme_renders_without_warnings():
    docutils.core.publish_string(README.read_text("utf-8"), writer="null", settings_overrides={"halt_level": 2})


def test_readme_shows_the_two_commands():
    text = README.read_text("utf-8")
    assert "make run" in text and "make test" in text


def test_readme_documents_every_setting():
    text = README.read_text("utf-8")
    missing = [name for name in config.SETTINGS if f"``{name}``" not in text]
    assert missing == []


def test_readme_shows_the_warning_for_an_old_signal_cli_as_the_service_words_it():
    words = " ".join(README.read_text("utf-8").split())
    assert assess("0.13.19").warning in words
    assert "make provision SIGNAL_CLI_VERSION=0.14.6" in words
    assert "make test SIGNAL_CLI_VERSION=0.14.6" in words
