"""The console's forms: fields, labels and the CSRF token (Flask-WTF).

The forms only render and carry the values; the API's own schemas validate and normalise them
(:func:`load`), so a value the API refuses is refused here with the same words.
"""

import marshmallow as ma
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField, TextAreaField

from ..errors import flatten_messages


def load(schema, values):
    """``values`` loaded by the API's ``schema``: ``(data, None)``, or ``(None, sentence)`` naming each problem."""
    try:
        return schema.load(values), None
    except ma.ValidationError as error:
        problems = flatten_messages(error.messages)
        return None, " ".join(f"{field}: {' '.join(texts)}" for field, texts in problems.items())


class SignInForm(FlaskForm):
    """Sign in with an API token."""

    token = PasswordField("API token", render_kw={"autocomplete": "current-password", "required": True})


class ActionForm(FlaskForm):
    """A form of a button alone (sign out, start again): its CSRF token."""


class LinkForm(FlaskForm):
    """The name the phone shows for this service once linked."""

    device_name = StringField("Device name", default="signal-rest", render_kw={"maxlength": 50, "required": True})


class RegisterForm(FlaskForm):
    """Ask Signal for a verification code for a number."""

    number = StringField("Phone number", render_kw={"placeholder": "+4915112345678", "required": True})
    captcha = TextAreaField("Captcha token (signalcaptcha://…)", render_kw={"rows": 3})
    use_voice = BooleanField("Call me with the code instead of an SMS")


class VerifyForm(FlaskForm):
    """The code Signal sent, and the PIN when the account has one."""

    number = HiddenField()
    code = StringField(
        "Verification code", render_kw={"placeholder": "123-456", "inputmode": "numeric", "required": True}
    )
    pin = PasswordField("Registration lock PIN (only if set)", render_kw={"autocomplete": "off"})


class ChallengeForm(FlaskForm):
    """A solved captcha for a rate-limit challenge."""

    number = StringField("Phone number", render_kw={"required": True})
    challenge_token = StringField("Challenge token", render_kw={"required": True})
    captcha = TextAreaField("Captcha token (signalcaptcha://…)", render_kw={"rows": 3, "required": True})


class TestMessageForm(FlaskForm):
    """Send a test message from one of the accounts."""

    number = SelectField("From account", choices=[])
    recipient = StringField("To (phone number)", render_kw={"placeholder": "+4915112345678", "required": True})
    message = StringField("Message", default="Test message from the signal_rest console")
