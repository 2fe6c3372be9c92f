"""Search: which phone numbers are registered with Signal."""

from flask import current_app

from .. import config
from ..extensions import Blueprint, signal_cli
from ..schemas.search import SearchQueryArgsSchema, SearchResultSchema
from ..signal_cli import UserError

blp = Blueprint("Search", __name__, description="Which phone numbers use Signal.")


def _searching_account(number):
    account = number or config.default_account(current_app.config)
    if account:
        return account
    accounts = signal_cli().list_accounts()
    if not accounts:
        raise UserError("No registered account to search with: register one, or name it with ?number=.")
    return accounts[0]


def _search(account, numbers):
    statuses = signal_cli().user_status(account, numbers)
    registered = {}
    for status in statuses:
        for key in (status.get("recipient"), status.get("number")):
            if key:
                registered[key] = bool(status.get("isRegistered"))
    return [{"number": number, "registered": registered.get(number, False)} for number in numbers]


@blp.route("/v1/search")
@blp.arguments(SearchQueryArgsSchema, location="query")
@blp.response(200, SearchResultSchema(many=True))
def search(args):
    """Check which of `numbers` are registered with Signal (every number, in order)."""
    return _search(_searching_account(args.get("number")), args["numbers"])


@blp.route("/v1/search/<number:number>")
@blp.arguments(SearchQueryArgsSchema, location="query")
@blp.response(200, SearchResultSchema(many=True))
def search_as(args, number):
    """Check, as account `number`, which of `numbers` are registered with Signal."""
    return _search(number, args["numbers"])
