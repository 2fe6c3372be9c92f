"""Shared fields and value parsers: what is accepted, how it is normalised, what is refused."""

import base64
from pathlib import Path

import pytest

from signal_rest import attachments, schemas
from signal_rest.signal_cli import GroupId
from signal_rest.text_styles import parse_styled_text, utf16_len

RAW = "bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk="
API = "group." + base64.b64encode(RAW.encode()).decode()
UUID = "a1b2c3d4-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+4915112345678", "+4915112345678"),
        ("4915112345678", "+4915112345678"),
        (" 49 151 1234 5678", "+4915112345678"),
        ("+49 151 12345678", "+4915112345678"),
        ("+0915112345678", None),
        ("+49abc", None),
        ("-5 degrees", None),
        ("+49151", None),
        ("+491511234567890123", None),
        ("", None),
        (4915112345678, None),
    ],
)
def test_phone_numbers(value, expected):
    assert schemas.parse_phone_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (RAW, RAW),
        (API, RAW),
        (API[len("group.") :], RAW),
        (API.replace("=", "%3D"), RAW),
        (RAW.replace("=", "%3D"), RAW),
        ("group.abc", None),
        ("abc", None),
        ("-g", None),
        (base64.b64encode(b"x" * 20).decode(), None),
        (RAW[:-1], None),
    ],
)
def test_group_ids(value, expected):
    parsed = schemas.parse_group_id(value)
    assert parsed == expected
    if expected:
        assert isinstance(parsed, GroupId)


def test_group_id_with_slash_and_underscore():
    raw = base64.b64encode(bytes([0xFF] * 32)).decode()
    assert "/" in raw
    assert schemas.parse_group_id(raw) == raw
    assert schemas.parse_group_id(raw.replace("/", "_"), underscore_is_slash=True) == raw
    assert schemas.group_id_to_api(raw).startswith("group.")
    assert schemas.parse_group_id(schemas.group_id_to_api(raw)) == raw


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+4915100000001", "+4915100000001"),
        (UUID.upper(), UUID),
        ("PNI:" + UUID, "PNI:" + UUID),
        ("u:alice.42", "u:alice.42"),
        ("alice.42", "u:alice.42"),
        (API, RAW),
        ("-h", None),
        ("--config=/etc", None),
        ("-a/etc/passwd", None),
        ("u:-x.42", None),
        ("al.4", None),
        ("a\nb", None),
        ("+4915100000001\0", None),
        ("", None),
    ],
)
def test_recipients(value, expected):
    assert schemas.parse_recipient(value) == expected


def test_recipients_where_groups_and_usernames_are_not_allowed():
    assert schemas.parse_recipient(API, groups=False) is None
    assert schemas.parse_recipient("alice.42", usernames=False) is None


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1732630000123, True),
        ("1732630000123", True),
        (1.0, True),
        (1.5, False),
        ("12a", False),
        (True, False),
        (0, False),
        (-5, False),
        (2**64, False),
    ],
)
def test_timestamps(value, ok):
    field = schemas.Timestamp()
    if ok:
        assert field.deserialize(value) == int(value)
    else:
        with pytest.raises(Exception, match="millisecond|Not a valid|timestamp"):
            field.deserialize(value)


@pytest.mark.parametrize(
    ("value", "mime", "filename", "data"),
    [
        ("aGVsbG8=", None, None, b"hello"),
        ("data:text/plain;base64,aGVsbG8=", "text/plain", None, b"hello"),
        ("data:image/png;filename=a%20b.png;base64,aGVsbG8=", "image/png", "a b.png", b"hello"),
        ("data:image/png;filename=../../etc/passwd;base64,aGVsbG8=", "image/png", "passwd", b"hello"),
        ("data:image/png;filename=..;base64,aGVsbG8=", "image/png", None, b"hello"),
        ("aGVs\nbG8=", None, None, b"hello"),
    ],
)
def test_attachments_parse(value, mime, filename, data):
    parsed = attachments.parse_attachment(value)
    assert (parsed.mime, parsed.filename) == (mime, filename)
    assert base64.b64decode(parsed.text[parsed.start :]) == data


@pytest.mark.parametrize(
    "value", ["not base64!", "aGVsbG8", "", "data:text/plain,hello", "data:;base64,####", "aGVs=bG8="]
)
def test_bad_attachments_are_refused(value):
    with pytest.raises(ValueError):
        attachments.parse_attachment(value)


def test_attachments_are_written_under_their_names_and_removed(tmp_path, no_leftovers):
    items = [
        attachments.parse_attachment("data:text/plain;filename=a.txt;base64,aGVsbG8="),
        attachments.parse_attachment("aGk="),
    ]
    with attachments.materialized(items) as paths:
        assert [p.rsplit("/", 1)[1] for p in paths] == ["a.txt", "attachment-2"]
        assert Path(paths[0]).read_bytes() == b"hello"
        assert Path(paths[0]).stat().st_mode & 0o777 == 0o600
    assert list(no_leftovers.iterdir()) == []


def test_attachments_are_removed_when_the_run_fails(no_leftovers):
    with pytest.raises(RuntimeError), attachments.materialized([attachments.parse_attachment("aGk=")]):
        raise RuntimeError("signal-cli failed")
    assert list(no_leftovers.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "plain", "styles"),
    [
        ("**bold** x", "bold x", [(0, 4, "BOLD")]),
        ("*it* ***both***", "it both", [(0, 2, "ITALIC"), (3, 4, "BOLD"), (3, 4, "ITALIC")]),
        ("~s~ ||sp|| `m*o*`", "s sp m*o*", [(0, 1, "STRIKETHROUGH"), (2, 2, "SPOILER"), (5, 4, "MONOSPACE")]),
        ("a \\*not\\* b", "a *not* b", []),
        ("2*3 = 6", "2*3 = 6", []),
        ("😀 **b**", "😀 b", [(3, 1, "BOLD")]),
        ("*it **bo** it*", "it bo it", [(0, 8, "ITALIC"), (3, 2, "BOLD")]),
        ("unclosed **bold", "unclosed **bold", []),
    ],
)
def test_styled_text(text, plain, styles):
    assert parse_styled_text(text) == (plain, styles)


def test_utf16_lengths():
    assert utf16_len("a😀") == 3
