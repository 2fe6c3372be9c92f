"""Search: which numbers are registered with Signal."""

import marshmallow as ma
from marshmallow import fields, validate

from ..extensions import Schema
from . import (
    Flag,
    PhoneNumber,
    parse_phone_number,
    shorten,
)


class SearchQueryArgsSchema(Schema):
    """Numbers to look up, and optionally the account that looks them up."""

    numbers = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=100))
    number = PhoneNumber()

    @ma.post_load
    def split_and_check_numbers(self, data, **kwargs):
        """``numbers=A,B`` counts as two numbers; each must be a phone number."""
        items = [item for value in data["numbers"] for item in value.split(",") if item.strip()]
        numbers, problems = [], {}
        for index, item in enumerate(items):
            number = parse_phone_number(item)
            if number is None:
                problems[index] = [f"'{shorten(item)}' is not a phone number in international format."]
            numbers.append(number)
        if problems or not numbers:
            raise ma.ValidationError(problems or ["Give at least one number."], "numbers")
        data["numbers"] = numbers
        return data


class SearchResultSchema(Schema):
    """Whether a number is registered with Signal."""

    number = fields.String(attribute="recipient")
    registered = Flag(attribute="isRegistered")


def statuses_in_order(numbers, statuses):
    """signal-cli's ``getUserStatus`` entry for each of ``numbers``, in their order, for
    :class:`SearchResultSchema` (an empty one, unregistered, for a number it did not answer for)."""
    by_key = {key: status for status in statuses for key in (status.get("recipient"), status.get("number")) if key}
    return [{**by_key.get(number, {}), "recipient": number} for number in numbers]
