"""Results: exit codes and output as results or typed errors; log lines and secrets kept out."""

import pytest
from scripted import scripted_cli

from signal_rest.signal_cli import (
    BadOutput,
    CaptchaRejected,
    CaptchaRequired,
    GroupId,
    NotFound,
    NotRegistered,
    NoVerificationSession,
    RateLimited,
    ServerError,
    UnexpectedError,
    Untrusted,
    UserError,
    strip_log_lines,
)

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"
GROUP = GroupId("bW9ja2dyb3VwaWRtb2NrZ3JvdXBpZG1vY2tncm91cGk=")
_CAPTCHA_REJECTED = "Captcha rejected, it may be outdated, already used or solved from a different IP address."


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "stripped"),
    [
        (
            "INFO  AccountHelper - The Signal protocol expects…\nUser +49 is not registered.",
            "User +49 is not registered.",
        ),
        ("WARN  MultiAccountManager - Ignoring\n", ""),
        ("Failed\nsecond line", "Failed\nsecond line"),
    ],
)
def test_strip_log_lines(stderr, stripped):
    assert strip_log_lines(stderr) == stripped


@pytest.mark.parametrize(
    ("exit_code", "stdout", "stderr", "error", "message"),
    [
        (
            1,
            "",
            "INFO  X - y\nUser +4915112345678 is not registered.",
            NotRegistered,
            "User +4915112345678 is not registered.",
        ),
        (1, "", "Group not found: abc", NotFound, "Group not found: abc"),
        (1, "", "Captcha required for verification, use --captcha CAPTCHA", CaptchaRequired, "Captcha required"),
        (1, "", "Invalid group id", UserError, "Invalid group id"),
        (2, "", "java.lang.NullPointerException: boom\n\tat a.b(C.java:1)", UnexpectedError, "exit 2"),
        (3, "", "Error while checking account: Closed", ServerError, "Error while checking account"),
        (
            4,
            '{"timestamp":1,"results":[{"recipientAddress":{"number":"+1"},"type":"IDENTITY_FAILURE"}]}',
            "Failed to send message due to untrusted identities",
            Untrusted,
            "untrusted",
        ),
        (
            5,
            '{"timestamp":1,"results":[{"recipientAddress":{"number":"+1"},"type":"RATE_LIMIT_FAILURE","token":"t1","retryAfterSeconds":60}]}',
            "Failed to send message due to rate limiting",
            RateLimited,
            "rate limiting",
        ),
        # a rejected challenge captcha: exit 6 since 0.14.3, exit 1 with the same text before
        (6, "", _CAPTCHA_REJECTED, CaptchaRejected, "Captcha rejected"),
        (1, "", _CAPTCHA_REJECTED, CaptchaRejected, "Captcha rejected"),
        # verify with no registration: exit 3 since 0.13.21, the caller's mistake rather than the server's
        (
            3,
            "",
            "Verify error: No registration verification session active",
            NoVerificationSession,
            "No registration",
        ),
        # sendStory's refusals of the request (exit 2 in 0.14.6) are the caller's, not signal-cli's
        (
            2,
            "",
            "Failed to send story: No eligible contacts found for story delivery (IOException)",
            UserError,
            "No eligible contacts",
        ),
        (
            2,
            "",
            "Failed to send story: /t/a.txt: Stories only support image and video attachments "
            "(AttachmentInvalidException)",
            UserError,
            "only support image and video",
        ),
        (143, "", "", UnexpectedError, "exit 143"),
    ],
)
def test_exit_codes_become_typed_errors(tmp_path, exit_code, stdout, stderr, error, message):
    cli = scripted_cli(tmp_path, f"printf '%s' '{stdout}'\nprintf '%s' '{stderr}' >&2\nexit {exit_code}\n")
    with pytest.raises(error) as raised:
        cli.list_groups(ACCOUNT, [GROUP])
    assert type(raised.value) is error
    assert message in raised.value.message
    assert raised.value.returncode == exit_code
    if error is RateLimited:
        assert raised.value.challenge_tokens == ["t1"]
        assert raised.value.retry_after == 60
    if error is Untrusted:
        assert raised.value.recipients == [{"number": "+1"}]


def test_a_group_missing_among_recipients_is_a_user_error(tmp_path):
    cli = scripted_cli(tmp_path, "echo 'Failed to send to group: Group not found: abc' >&2\nexit 1\n")
    with pytest.raises(UserError) as raised:
        cli.send(ACCOUNT, [GROUP], "hi")
    assert type(raised.value) is UserError
    with pytest.raises(NotFound):
        cli.send(ACCOUNT, [GROUP], "hi", target="recipient")


@pytest.mark.parametrize("stdout", ["not json", '{"truncated": ', "usage: signal-cli [-h]"])
def test_garbage_on_success_is_bad_output(tmp_path, stdout):
    cli = scripted_cli(tmp_path, f"echo '{stdout}'\n")
    with pytest.raises(BadOutput):
        cli.list_groups(ACCOUNT)


def test_empty_output_is_success(tmp_path):
    assert scripted_cli(tmp_path, "echo 'INFO  X - y' >&2\n").update_group(ACCOUNT, GROUP, name="x") is None


def test_secrets_never_appear_in_errors(tmp_path):
    cli = scripted_cli(tmp_path, 'echo "Verification failed for $*" >&2\nexit 1\n')
    with pytest.raises(UserError) as raised:
        cli.verify(ACCOUNT, "987654", pin="4321")
    message = raised.value.message
    assert "987654" not in message and "4321" not in message
    assert message.endswith("--pin=*** -- ***") and ACCOUNT in message
    assert not any("4321" in word or "987654" in word for word in raised.value.argv)


def test_a_plain_rate_limit_carries_its_wait_without_a_challenge(tmp_path):
    # 0.14.3+ fills retryAfterSeconds for a rate limit that needs no captcha (no token)
    printed = (
        '{"timestamp":1,"results":[{"recipientAddress":{"number":"+1"},"type":"RATE_LIMIT_FAILURE","retryAfterSeconds":3600},'
        '{"recipientAddress":{"number":"+2"},"type":"RATE_LIMIT_FAILURE","retryAfterSeconds":90}]}'
    )
    cli = scripted_cli(
        tmp_path, f"printf '%s' '{printed}'\necho 'Failed to send message due to rate limiting' >&2\nexit 5\n"
    )
    with pytest.raises(RateLimited) as raised:
        cli.send(ACCOUNT, [OTHER], "hi")
    assert raised.value.challenge_tokens == []
    assert raised.value.retry_after == 3600
