"""Argument injection: hostile values in every field that reaches signal-cli (SIGNAL_CLI.md §1.2).

Table-driven over (field, hostile value). Each request must either be refused with a 400 JSON
error naming the field (and then start no signal-cli at all), or reach signal-cli as data. The
proof is read from what the fake signal-cli recorded and compared with the same request carrying a
harmless value (the baseline):

* the same signal-cli commands ran, and the fake parsed the same options with as many values
  each: nothing was added (no ``--attachment``, ``--config``, ``--help``, no extra recipient);
* the value is not a separate word before ``--``; it is in stdin, in a ``--name=value`` word, or
  after ``--`` (or, for a file name, the name of the one attachment the request sent);
* no run printed help, created a log file or turned on verbose logging (the fake's "quirks"), the
  ``--log-file`` path was never created, and signal-cli read no file but the attachments sent.

Operations the installed signal-cli is too old for (polls, pinned messages) answer 501 or 400 and
never pass the value to signal-cli.

Which cases run. Each field has a kind (:class:`Kind`), and the hostile values come in classes
(``HOSTILE_CLASSES``: options, logging words, separators, control characters, size, Unicode, a lone
surrogate). Most fields are phone numbers, recipients, group ids, timestamps, patterned tokens or
path parameters: one validator per kind refuses every hostile value, so running all of them
against all of those fields (once 1170 cases) proved the same regular expressions 65 times over.
Now:

* every free-text field that reaches argv (``Kind.FREE_TEXT``) gets every hostile value: these
  are the values signal-cli really parses, so each one must arrive intact and never as an option;
* every other field gets one option-like value (the class's values taken in turn), which proves
  that its endpoint validates it, or passes it as data;
* every other kind gets each of the remaining classes once (on its fields in turn), which proves
  that the kind's validator holds for every class.

``test_the_matrix_covers_every_field_kind_and_class`` checks these three promises.
"""

import enum
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from conftest import FAKE_RELEASES
from fake_signal_cli import LOG_FILE, FakeState, write_executable
from helpers import ACCOUNT, OTHER, THIRD, add_group_with_id, api_group_id, b64, has_problem

from signal_rest import create_app

#: where the hostile value goes in a request template
V = "\x00VALUE\x00"
TIMESTAMP = 1732630000123
GROUP_ID = b64(b"\x01\xbf\xfe" + bytes(29))
GROUP = api_group_id(GROUP_ID)
NEW_FOR_REGISTER = "+4915122222201"
NEW_FOR_VERIFY_CODE = "+4915122222202"
NEW_FOR_VERIFY_PIN = "+4915122222203"
#: quirks of signal-cli's logging pre-parser that a stray word triggers (SIGNAL_CLI.md §1.1)
QUIRKS = {"help", "log_file", "verbose"}
#: the hostile values by class, each with an id; the ``--log-file`` path is filled in per test (it
#: must never be created)
HOSTILE_CLASSES = {
    "option": {
        "short-help": "-h",
        "long-help": "--help",
        "config": "--config=/etc",
        "attach-short": "-a/etc/passwd",
        "attach-long": "--attach=/etc/passwd",
        "negative-words": "-5 degrees",
    },
    # words signal-cli's logging pre-parser acts on wherever they are (SIGNAL_CLI.md §1.1)
    "logging": {"log-file": "--log-file={log_file}", "verbose": "-vvv"},
    "separator": {"double-dash": "--", "single-dash": "-"},
    "control": {"newlines": "first\nsecond\r\nthird", "nul": "a\x00b"},
    "size": {"100kB": "x" * 100_000},
    "unicode": {
        "rtl-override": "\u202etxt.exe",
        "zero-width-joiner": "\U0001f468\u200d\U0001f469\u200d\U0001f467",
        "emoji": "\U0001f600\U0001f44d",
        "combining-marks": "e\u0301\u0302\u0303 Z\u0351\u0352\u0353",
    },
    "surrogate": {"lone-surrogate": "\ud800"},
}
HOSTILE = {value_id: value for values in HOSTILE_CLASSES.values() for value_id, value in values.items()}


class Kind(enum.Enum):
    """What a field holds, and so which validation (or which way into signal-cli) its values meet."""

    #: any text (``Text``), passed to signal-cli in argv: a ``--name=value`` word or a file name
    FREE_TEXT = "free text in argv"
    #: any text that never reaches argv: the message (on stdin), or an operation this signal-cli lacks
    TEXT_OFF_ARGV = "free text off argv"
    PHONE_NUMBER = "phone number"
    RECIPIENT = "recipient"
    GROUP_ID = "group id"
    TIMESTAMP = "timestamp"
    #: a token, code, PIN, link or id with a fixed pattern
    PATTERN = "pattern"
    #: a part of the URL path (a number, recipient, group id, code or id)
    PATH = "path parameter"


@dataclass(frozen=True)
class Field:
    """One field that reaches signal-cli: its kind, where it goes in which request, and a harmless value."""

    kind: Kind
    name: str
    method: str
    path: str
    benign: str
    body: object = None
    query: dict = None
    #: the values reach signal-cli as data in a form that cannot be searched for verbatim
    verbatim: bool = True

    def request(self, value):
        """The request with ``value`` in place: (method, URL, raw JSON body or None)."""
        path = self.path.replace(V, quote(value, safe="", errors="surrogatepass"))
        if self.query is not None:
            query = {key: value if item == V else item for key, item in self.query.items()}
            path += "?" + urlencode(query, doseq=True, errors="surrogatepass")
        # JSON escapes (ensure_ascii) carry even a lone surrogate, as a client's JSON would
        body = None if self.body is None else json.dumps(fill(self.body, value))
        return self.method, path, body


def fill(template, value):
    """``template`` with ``V`` replaced by ``value`` wherever it occurs (also inside strings)."""
    if isinstance(template, dict):
        return {key: fill(item, value) for key, item in template.items()}
    if isinstance(template, list):
        return [fill(item, value) for item in template]
    if isinstance(template, str) and V in template:
        return template.replace(V, value)
    return template


def send(**extra):
    return {"number": ACCOUNT, "recipients": [OTHER], "message": "hi", **extra}


QUOTE = {"quote_timestamp": TIMESTAMP, "quote_author": OTHER}
REACTION = {"reaction": "\U0001f44d", "recipient": OTHER, "target_author": OTHER, "timestamp": TIMESTAMP}
A = ACCOUNT
FIELDS = {
    # messages
    "send.recipients": Field(Kind.RECIPIENT, "recipients", "POST", "/v2/send", OTHER, body=send(recipients=[V])),
    "send.recipient": Field(
        Kind.RECIPIENT, "recipient", "POST", "/v2/send", OTHER, body=send(recipients=[], recipient=V)
    ),
    "send.group-recipient": Field(Kind.GROUP_ID, "recipients", "POST", "/v2/send", GROUP, body=send(recipients=[V])),
    "send.number": Field(Kind.PHONE_NUMBER, "number", "POST", "/v2/send", ACCOUNT, body=send(number=V)),
    "send.message": Field(Kind.TEXT_OFF_ARGV, "message", "POST", "/v2/send", "hello", body=send(message=V)),
    "send.quote_message": Field(
        Kind.FREE_TEXT, "quote_message", "POST", "/v2/send", "hello", body=send(**QUOTE, quote_message=V)
    ),
    "send.quote_author": Field(
        Kind.RECIPIENT, "quote_author", "POST", "/v2/send", OTHER, body=send(**{**QUOTE, "quote_author": V})
    ),
    "send.mention-author": Field(
        Kind.RECIPIENT,
        "mentions",
        "POST",
        "/v2/send",
        OTHER,
        body=send(mentions=[{"start": 0, "length": 2, "author": V}]),
    ),
    "send.mention-string": Field(
        Kind.RECIPIENT, "mentions", "POST", "/v2/send", OTHER, body=send(mentions=[f"0:2:{V}"])
    ),
    "send.quote_mention-author": Field(
        Kind.RECIPIENT,
        "quote_mentions",
        "POST",
        "/v2/send",
        OTHER,
        body=send(**QUOTE, quote_message="hi", quote_mentions=[{"start": 0, "length": 1, "author": V}]),
    ),
    "send.sticker": Field(Kind.PATTERN, "sticker", "POST", "/v2/send", "abcd:1", body=send(sticker=V)),
    "send.preview-url": Field(
        Kind.PATTERN,
        "link_preview",
        "POST",
        "/v2/send",
        "https://example.com/a",
        body=send(message=f"look {V}", link_preview={"url": V, "title": "t"}),
    ),
    "send.preview-title": Field(
        Kind.FREE_TEXT,
        "link_preview",
        "POST",
        "/v2/send",
        "A title",
        body=send(message="see https://example.com", link_preview={"url": "https://example.com", "title": V}),
    ),
    "send.preview-description": Field(
        Kind.FREE_TEXT,
        "link_preview",
        "POST",
        "/v2/send",
        "A description",
        body=send(
            message="see https://example.com",
            link_preview={"url": "https://example.com", "title": "t", "description": V},
        ),
    ),
    "send.attachment-filename": Field(
        Kind.FREE_TEXT,
        "base64_attachments",
        "POST",
        "/v2/send",
        "notes.txt",
        body=send(base64_attachments=[f"data:text/plain;filename={V};base64,aGk="]),
        verbatim=False,
    ),
    "send-v1.recipient-path": Field(
        Kind.PATH, "path", "POST", f"/v1/send/{V}", OTHER, body={"number": ACCOUNT, "message": "hi"}
    ),
    "send-v1.message": Field(
        Kind.TEXT_OFF_ARGV, "message", "POST", f"/v1/send/{OTHER}", "hello", body={"number": A, "message": V}
    ),
    "send-v1-standard.recipients": Field(
        Kind.RECIPIENT, "recipients", "POST", "/v1/send", OTHER, body={"number": A, "recipients": [V], "message": "hi"}
    ),
    "send-v1-standard.group": Field(
        Kind.GROUP_ID,
        "recipients",
        "POST",
        "/v1/send",
        GROUP,
        body={"number": A, "recipients": [V], "message": "hi", "is_group": True},
    ),
    "typing.recipient": Field(
        Kind.RECIPIENT, "recipient", "PUT", f"/v1/typing-indicator/{A}", OTHER, body={"recipient": V}
    ),
    "remote-delete.recipient": Field(
        Kind.RECIPIENT,
        "recipient",
        "DELETE",
        f"/v1/remote-delete/{A}",
        OTHER,
        body={"recipient": V, "timestamp": TIMESTAMP},
    ),
    "remote-delete.timestamp": Field(
        Kind.TIMESTAMP,
        "timestamp",
        "DELETE",
        f"/v1/remote-delete/{A}",
        str(TIMESTAMP),
        body={"recipient": OTHER, "timestamp": V},
    ),
    "send.quote_timestamp": Field(
        Kind.TIMESTAMP,
        "quote_timestamp",
        "POST",
        "/v2/send",
        str(TIMESTAMP),
        body=send(**{**QUOTE, "quote_timestamp": V}),
    ),
    "receipt.timestamp": Field(
        Kind.TIMESTAMP,
        "timestamp",
        "POST",
        f"/v1/receipts/{A}",
        str(TIMESTAMP),
        body={"recipient": OTHER, "timestamp": V},
    ),
    "receipt.recipient": Field(
        Kind.RECIPIENT, "recipient", "POST", f"/v1/receipts/{A}", OTHER, body={"recipient": V, "timestamp": TIMESTAMP}
    ),
    # groups
    "groups.number-path": Field(Kind.PATH, "path", "GET", f"/v1/groups/{V}", ACCOUNT),
    "groups.groupid-path": Field(Kind.PATH, "path", "GET", f"/v1/groups/{A}/{V}", GROUP),
    "groups.create-name": Field(
        Kind.FREE_TEXT, "name", "POST", f"/v1/groups/{A}", "Team", body={"name": V, "members": [OTHER]}
    ),
    "groups.create-description": Field(
        Kind.FREE_TEXT, "description", "POST", f"/v1/groups/{A}", "About us", body={"name": "T", "description": V}
    ),
    "groups.create-members": Field(
        Kind.RECIPIENT, "members", "POST", f"/v1/groups/{A}", OTHER, body={"name": "T", "members": [V]}
    ),
    "groups.create-admins": Field(
        Kind.RECIPIENT,
        "admins",
        "POST",
        f"/v1/groups/{A}",
        OTHER,
        body={"name": "T", "members": [OTHER], "admins": [V]},
    ),
    "groups.update-name": Field(Kind.FREE_TEXT, "name", "PUT", f"/v1/groups/{A}/{GROUP}", "Renamed", body={"name": V}),
    "groups.update-description": Field(
        Kind.FREE_TEXT, "description", "PUT", f"/v1/groups/{A}/{GROUP}", "About us", body={"description": V}
    ),
    "groups.update-add_members": Field(
        Kind.RECIPIENT, "add_members", "PUT", f"/v1/groups/{A}/{GROUP}", THIRD, body={"add_members": [V]}
    ),
    "groups.members": Field(
        Kind.RECIPIENT, "members", "POST", f"/v1/groups/{A}/{GROUP}/members", THIRD, body={"members": [V]}
    ),
    "groups.admins": Field(
        Kind.RECIPIENT, "admins", "DELETE", f"/v1/groups/{A}/{GROUP}/admins", OTHER, body={"admins": [V]}
    ),
    "groups.join-groupid-path": Field(Kind.PATH, "path", "POST", f"/v1/groups/{A}/{V}/join", GROUP),
    "groups.join-invite-link": Field(
        Kind.PATH, "path", "POST", f"/v1/groups/{A}/https%3A%2F%2Fsignal.group%2F%23{V}/join", "CjQKIAbcdefghijklmnop"
    ),
    "groups.pin-target_author": Field(
        Kind.RECIPIENT,
        "target_author",
        "POST",
        f"/v1/groups/{A}/{GROUP}/pin-message",
        OTHER,
        body={"target_author": V, "timestamp": TIMESTAMP},
    ),
    # reactions
    "reaction.emoji": Field(
        Kind.FREE_TEXT, "reaction", "POST", f"/v1/reactions/{A}", "\u2764\ufe0f", body={**REACTION, "reaction": V}
    ),
    "reaction.recipient": Field(
        Kind.RECIPIENT, "recipient", "POST", f"/v1/reactions/{A}", OTHER, body={**REACTION, "recipient": V}
    ),
    "reaction.groupid": Field(
        Kind.GROUP_ID, "groupid", "POST", f"/v1/reactions/{A}", GROUP, body={**REACTION, "groupid": V}
    ),
    "reaction.timestamp": Field(
        Kind.TIMESTAMP, "timestamp", "POST", f"/v1/reactions/{A}", str(TIMESTAMP), body={**REACTION, "timestamp": V}
    ),
    "reaction.target_author": Field(
        Kind.RECIPIENT, "target_author", "DELETE", f"/v1/reactions/{A}", OTHER, body={**REACTION, "target_author": V}
    ),
    # polls (signal-cli 0.13.22)
    "poll.question": Field(
        Kind.TEXT_OFF_ARGV,
        "question",
        "POST",
        f"/v1/polls/{A}",
        "Lunch?",
        body={"recipient": OTHER, "question": V, "answers": ["yes", "no"]},
    ),
    "poll.answer": Field(
        Kind.TEXT_OFF_ARGV,
        "answers",
        "POST",
        f"/v1/polls/{A}",
        "yes",
        body={"recipient": OTHER, "question": "Lunch?", "answers": [V, "no"]},
    ),
    # devices, registration, linking
    "register.captcha": Field(
        Kind.FREE_TEXT,
        "captcha",
        "POST",
        f"/v1/register/{NEW_FOR_REGISTER}",
        "signalcaptcha://abc.def",
        body={"captcha": V},
    ),
    "verify.code-path": Field(Kind.PATH, "path", "POST", f"/v1/register/{NEW_FOR_VERIFY_CODE}/verify/{V}", "123-456"),
    "verify.pin": Field(
        Kind.PATTERN, "pin", "POST", f"/v1/register/{NEW_FOR_VERIFY_PIN}/verify/123456", "1234", body={"pin": V}
    ),
    "device.uri": Field(
        Kind.PATTERN, "uri", "POST", f"/v1/devices/{A}", "sgnl://linkdevice?uuid=YWJj&pub_key=ZGVm", body={"uri": V}
    ),
    "device.id-path": Field(Kind.PATH, "path", "DELETE", f"/v1/devices/{A}/{V}", "2"),
    "qrcodelink.device_name": Field(
        Kind.FREE_TEXT, "device_name", "GET", "/v1/qrcodelink/raw", "laptop", query={"device_name": V}
    ),
    # accounts
    "account.challenge_token": Field(
        Kind.PATTERN,
        "challenge_token",
        "POST",
        f"/v1/accounts/{A}/rate-limit-challenge",
        "challenge-abc",
        body={"challenge_token": V, "captcha": "signalcaptcha://x"},
    ),
    "account.challenge-captcha": Field(
        Kind.FREE_TEXT,
        "captcha",
        "POST",
        f"/v1/accounts/{A}/rate-limit-challenge",
        "signalcaptcha://x",
        body={"challenge_token": "challenge-abc", "captcha": V},
    ),
    "account.username": Field(
        Kind.PATTERN, "username", "POST", f"/v1/accounts/{A}/username", "alice.42", body={"username": V}
    ),
    "account.pin": Field(Kind.PATTERN, "pin", "POST", f"/v1/accounts/{A}/pin", "1234", body={"pin": V}),
    # profiles, contacts, identities, search, receive, stickers
    "profile.name": Field(Kind.FREE_TEXT, "name", "PUT", f"/v1/profiles/{A}", "Ann", body={"name": V}),
    "profile.family_name": Field(
        Kind.FREE_TEXT, "family_name", "PUT", f"/v1/profiles/{A}", "Lee", body={"name": "A", "family_name": V}
    ),
    "profile.about": Field(
        Kind.FREE_TEXT, "about", "PUT", f"/v1/profiles/{A}", "Hi there", body={"name": "A", "about": V}
    ),
    "contact.recipient": Field(
        Kind.RECIPIENT, "recipient", "PUT", f"/v1/contacts/{A}", OTHER, body={"recipient": V, "name": "Ann"}
    ),
    "contact.name": Field(
        Kind.FREE_TEXT, "name", "PUT", f"/v1/contacts/{A}", "Ann", body={"recipient": OTHER, "name": V}
    ),
    "contact.uuid-path": Field(Kind.PATH, "path", "GET", f"/v1/contacts/{A}/{V}", OTHER),
    "trust.recipient-path": Field(
        Kind.PATH, "path", "PUT", f"/v1/identities/{A}/trust/{V}", OTHER, body={"trust_all_known_keys": True}
    ),
    "trust.safety_number": Field(
        Kind.PATTERN,
        "verified_safety_number",
        "PUT",
        f"/v1/identities/{A}/trust/{OTHER}",
        "12345",
        body={"verified_safety_number": V},
    ),
    "search.numbers": Field(Kind.RECIPIENT, "numbers", "GET", "/v1/search", OTHER, query={"numbers": V, "number": A}),
    "search.number": Field(
        Kind.PHONE_NUMBER, "number", "GET", "/v1/search", ACCOUNT, query={"numbers": OTHER, "number": V}
    ),
    "receive.number-path": Field(Kind.PATH, "path", "GET", f"/v1/receive/{V}", ACCOUNT, query={"timeout": "0"}),
    "sticker.pack_id": Field(
        Kind.PATTERN, "pack_id", "POST", f"/v1/sticker-packs/{A}", "abcd", body={"pack_id": V, "pack_key": "ef"}
    ),
    "sticker.pack_key": Field(
        Kind.PATTERN, "pack_key", "POST", f"/v1/sticker-packs/{A}", "ef", body={"pack_id": "abcd", "pack_key": V}
    ),
}


def matrix():
    """The (field id, value id) cases: see the module docstring."""
    cases = [
        (field_id, value_id) for field_id, spec in FIELDS.items() if spec.kind is Kind.FREE_TEXT for value_id in HOSTILE
    ]
    other_classes = [list(values) for name, values in HOSTILE_CLASSES.items() if name != "option"]
    options = itertools.cycle(HOSTILE_CLASSES["option"])
    for number, kind in enumerate(kind for kind in Kind if kind is not Kind.FREE_TEXT):
        field_ids = [field_id for field_id, spec in FIELDS.items() if spec.kind is kind]
        # every field an option-like value, taking the class's values in turn
        cases += [(field_id, next(options)) for field_id in field_ids]
        # every other class once per kind: the n-th kind takes each class's n-th value, on its fields in turn
        cases += [
            (field_ids[index % len(field_ids)], values[number % len(values)])
            for index, values in enumerate(other_classes, start=number)
        ]
    return cases


CASES = matrix()


def populated(fake):
    """``fake`` with every account, user, group, contact, identity and sticker pack the fields use."""
    fake.add_account(ACCOUNT)
    for number in (OTHER, THIRD):
        fake.add_user(number)
    fake.add_user("+4915100000009", rate_limited="challenge-abc")
    for number in (NEW_FOR_REGISTER, NEW_FOR_VERIFY_CODE, NEW_FOR_VERIFY_PIN):
        fake.add_account(number, registered=False, session=True)
    add_group_with_id(fake, GROUP_ID, members=[OTHER], admins=[ACCOUNT, OTHER])
    fake.add_contact(ACCOUNT, OTHER, name="Ann")
    fake.add_identity(ACCOUNT, OTHER)
    fake.update(lambda state: state["accounts"][ACCOUNT]["sticker_packs"].append({"packId": "abcd"}))
    fake.set_link_timeout(0.2)
    return fake


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One fake signal-cli and one app for the whole module (a request leaves nothing behind)."""
    directory = tmp_path_factory.mktemp("injection")
    fake = populated(FakeState(directory / "config"))
    app = create_app(
        {
            "TESTING": True,
            # argv safety does not depend on the release: one fake, the newest, which runs every command
            "SIGNAL_CLI_BIN": str(write_executable(directory / "bin", version=FAKE_RELEASES[-1])),
            "SIGNAL_CLI_CONFIG_DIR": str(directory / "config"),
            "SIGNAL_CLI_CMD_TIMEOUT": 20,
            "SIGNAL_REST_DEFAULT_ACCOUNT": "",
            "PYTHON_SIGNAL_CLI_REST_API_ACCOUNT": "",
            "SIGNAL_REST_LINK_TIMEOUT": 1,
        }
    )
    return app, fake


@pytest.fixture
def call(service):
    """Make a request; return (response, the fake's records of the runs it caused)."""
    app, fake = service
    client = app.test_client()
    cli = app.extensions["signal_rest.signal_cli"]

    log = Path(fake.config_dir) / LOG_FILE

    def make(method, path, body):
        before = log.stat().st_size if log.exists() else 0
        response = client.open(path, method=method, data=body, content_type="application/json")
        response.get_data()
        response.close()
        # a `signal-cli link` keeps running in the background until it gives up (a moment)
        deadline = time.monotonic() + 10
        while cli.pending_links and time.monotonic() < deadline:
            time.sleep(0.02)
        records = []
        if log.exists():
            with log.open("rb") as handle:
                # only what this request caused (the log is long, and some values are 100 kB)
                handle.seek(before)
                records = [json.loads(line) for line in handle if line.endswith(b"\n")]
        return response, [record for record in records if "event" not in record], records

    return make


_baselines = {}


def baseline(call, field_id):
    """The runs of the field's request with its harmless value (made once per module)."""
    if field_id not in _baselines:
        response, runs, _ = call(*FIELDS[field_id].request(FIELDS[field_id].benign))
        assert response.status_code < 500, response.get_json()
        _baselines[field_id] = runs
    return _baselines[field_id]


def option_shape(run):
    """The options signal-cli parsed, each with how many values it got."""
    return {
        key: len(value) if isinstance(value, list) else type(value).__name__ for key, value in run["options"].items()
    }


def _separator(argv, command):
    """The index of the ``--`` that ends the options of ``command`` (or the length of argv)."""
    start = argv.index(command) + 1
    return argv.index("--", start) if "--" in argv[start:] else len(argv)


def data_of(run):
    """What signal-cli can only read as data: ``--name=value`` values, words after ``--``, stdin."""
    argv = run["argv"]
    start, end = argv.index(run["command"]) + 1, _separator(argv, run["command"])
    values = [word.split("=", 1)[1] for word in argv[start:end] if word.startswith("--") and "=" in word]
    return values + argv[end + 1 :] + [run["stdin"] or ""]


def changed_words(run, expected):
    """The argv words that differ from the baseline run's in a place that is not data."""
    argv, before = run["argv"], expected["argv"]
    if len(argv) != len(before):
        return [f"{len(argv)} words instead of {len(before)}"]
    end = _separator(before, expected["command"])
    problems = []
    for index, (word, old) in enumerate(zip(argv, before, strict=True)):
        same_option = old.startswith("--") and "=" in old and word.startswith(old.split("=", 1)[0] + "=")
        # after `--`, a `--name=` value, or a path this service created (a temporary file) is data
        if word == old or index > end or same_option or (word.startswith("/") and old.startswith("/")):
            continue
        problems.append(f"word {index} is {word[:60]!r} instead of {old[:60]!r}")
    return problems


def test_the_matrix_covers_every_field_kind_and_class():
    kinds = {FIELDS[field_id].kind for field_id, _ in CASES}
    assert kinds == set(Kind)
    for kind in Kind:
        values = {value_id for field_id, value_id in CASES if FIELDS[field_id].kind is kind}
        for name, members in HOSTILE_CLASSES.items():
            assert values & set(members), f"no {name} value against a {kind.value}"
    assert {field_id for field_id, _ in CASES} == set(FIELDS)
    option_cases = {field_id for field_id, value_id in CASES if value_id in HOSTILE_CLASSES["option"]}
    assert option_cases == set(FIELDS), "a field without an option-like value"
    full = [field_id for field_id, spec in FIELDS.items() if spec.kind is Kind.FREE_TEXT]
    assert all((field_id, value_id) in CASES for field_id in full for value_id in HOSTILE)
    assert len(set(CASES)) == len(CASES)


@pytest.mark.parametrize(("field_id", "value_id"), CASES, ids=[f"{field}-{value}" for field, value in CASES])
def test_hostile_value_is_refused_or_data(call, tmp_path, field_id, value_id):
    spec = FIELDS[field_id]
    log_file = tmp_path / "injected.log"
    value = HOSTILE[value_id].replace("{log_file}", str(log_file))
    response, runs, records = call(*spec.request(value))
    status = response.status_code
    body = response.get_json(silent=True)

    assert not log_file.exists(), "signal-cli created the --log-file"
    for record in records:
        quirks = QUIRKS & set(record.get("quirks") or ())
        assert not quirks, f"a run triggered {quirks}: {record['argv']}"
    assert isinstance(body, dict) or status < 300, f"{status} without a JSON body"
    if status >= 400:
        assert body["status"] == status and body["error"] == body["message"], body
    if status == 400 and not runs:
        # refused before signal-cli: the error names the field
        assert has_problem(body.get("errors") or {}, spec.name), body
        return
    if status in (404, 405) and not runs and spec.name == "path":
        # a '/' or a line break in a path parameter makes another path, which no route matches
        assert "/" in value or "\n" in value, (status, body)
        return
    # otherwise it reached signal-cli as data: as the harmless value did, with nothing added
    assert status < 500, body
    expected_runs = baseline(call, field_id)
    received = [value]
    if V in spec.path or spec.query:
        # a URL carries UTF-8 only: a lone surrogate's bytes arrive replaced, or still percent-encoded
        encoded = value.encode("utf-8", "surrogatepass")
        received += [encoded.decode("utf-8", "replace"), quote(encoded, safe="")]
    assert [run["command"] for run in runs] == [run["command"] for run in expected_runs]
    found = False
    for run, expected in zip(runs, expected_runs, strict=True):
        assert option_shape(run) == option_shape(expected), run["argv"]
        assert not changed_words(run, expected), (changed_words(run, expected), run["argv"])
        found = found or any(text in item for item in data_of(run) for text in received)
        # signal-cli read only the files the request sent
        assert len(run.get("attachments") or []) == len(expected.get("attachments") or []), run["attachments"]
        for attachment in run.get("attachments") or []:
            assert attachment["data"] == b64(b"hi"), attachment
            assert "/" not in attachment["name"] and not any(ord(ch) < 32 for ch in attachment["name"])
    assert found or not spec.verbatim, f"{value[:40]!r} was accepted but reached signal-cli nowhere as data"
