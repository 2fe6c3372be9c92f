"""README.rst: it renders, shows the two commands, and documents every setting."""

from pathlib import Path

import docutils.core
import docutils.utils

from signal_rest import config

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
