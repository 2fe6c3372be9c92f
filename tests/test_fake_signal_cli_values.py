"""Tests of the fake's value syntax: loose number normalisation, Java's base64 decoder, data URIs."""

import re

import fake_signal_cli as fake
import pytest
from fake_signal_cli_runner import ACCOUNT

# Pure helpers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+4915100000001", "+4915100000001"),
        ("5", "+4915112345675"),
        ("-5 degrees", "+4915112345675"),
        ("12345", "+4912345"),
        ("0151 00000001", "+4915100000001"),
        ("0049 151 00000001", "+4915100000001"),
        ("+49 (151) 000-00001", "+4915100000001"),
    ],
)
def test_number_normalisation(text, expected):
    assert fake.format_number(text, ACCOUNT) == expected


@pytest.mark.parametrize(
    "text, error",
    [
        ("", "No valid characters found."),
        ("-h", "No valid characters found."),
        ("a@b", "Possible attempt to use email address."),
    ],
)
def test_number_normalisation_errors(text, error):
    with pytest.raises(ValueError, match=error):
        fake.format_number(text, ACCOUNT)


@pytest.mark.parametrize(
    "text, result",
    [
        ("aGVsbG8=", b"hello"),
        ("aGVsbG8", b"hello"),
        ("", b""),
        ("a", "Input byte[] should at least have 2 bytes for base64 bytes"),
        ("ab-d", "Illegal base64 character 2d"),
        ("aGVsbG8_", "Illegal base64 character 5f"),
        ("a===", "Last unit does not have enough valid bits"),
        ("====", "Input byte array has wrong 4-byte ending unit"),
        ("aGVsbA=x", "Input byte array has wrong 4-byte ending unit"),
        ("aGVsb", "Last unit does not have enough valid bits"),
        ("aGVsbA==x", "Input byte array has incorrect ending byte at 8"),
        ("aGVs\u00e4", "Illegal base64 character -1c"),
    ],
)
def test_java_base64_decoder(text, result):
    if isinstance(result, bytes):
        assert fake.java_b64decode(text) == result
    else:
        with pytest.raises(ValueError, match="^" + re.escape(result) + "$"):
            fake.java_b64decode(text)


@pytest.mark.parametrize(
    "uri, parsed",
    [
        ("data:text/plain;filename=a.txt;base64,aGVsbG8=", ("text/plain", "a.txt", b"hello")),
        ("data:text/plain;filename=my%20file.txt;base64,aGVsbG8=", ("text/plain", "my file.txt", b"hello")),
        ("data:,a%20b+c", ("text/plain", None, b"a b c")),
        ("data:image/png;charset=utf-8;filename=a.txt;base64,aGk=", ("image/png", None, b"hi")),
    ],
)
def test_data_uris(uri, parsed):
    assert fake.parse_data_uri(uri) == parsed


@pytest.mark.parametrize("uri", ["data:image/png;base64,a", "/tmp/file.png", "data:,100%"])
def test_not_data_uris(uri):
    with pytest.raises(ValueError):
        fake.parse_data_uri(uri)
