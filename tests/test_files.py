"""signal_rest.signal_cli.files: what the service reads of signal-cli's own files."""

import json

import pytest

from signal_rest.signal_cli.files import local_account_numbers

#: data/accounts.json as signal-cli 0.13.19 writes it after a registration was started
WRITTEN = {
    "accounts": [
        {"path": "486133", "environment": "LIVE", "number": "+4915100000777", "uuid": None},
        {"path": "123456", "environment": "LIVE", "number": "+4915112345678", "uuid": "a1b2c3d4-0000"},
    ],
    "version": 2,
}


def write(config_dir, text):
    (config_dir / "data").mkdir(parents=True)
    (config_dir / "data" / "accounts.json").write_text(text)


def test_the_numbers_in_signal_clis_order(tmp_path):
    write(tmp_path, json.dumps(WRITTEN, indent=2))
    assert local_account_numbers(tmp_path) == ["+4915100000777", "+4915112345678"]


def test_no_file_is_no_account(tmp_path):
    assert local_account_numbers(tmp_path) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        "[]",
        '{"accounts": null}',
        '{"accounts": [1, "x", {"path": "1"}, {"number": ""}, {"number": 49}]}',
    ],
)
def test_a_file_it_cannot_use_names_no_account(tmp_path, text):
    # half written by another program, or of a layout this service does not know: nothing, not a failure
    write(tmp_path, text)
    assert local_account_numbers(tmp_path) == []


def test_a_bad_entry_is_left_out_and_the_others_kept(tmp_path):
    write(tmp_path, json.dumps({"accounts": [{"path": "1"}, {"number": "+4915100000777"}], "version": 2}))
    assert local_account_numbers(tmp_path) == ["+4915100000777"]
