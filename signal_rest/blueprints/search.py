"""Search: which phone numbers are registered with Signal."""

from ..errors import NoAccount
from ..extensions import Blueprint, account_or_default, signal_cli
from ..schemas.search import SearchQueryArgsSchema, SearchResultSchema, statuses_in_order

blp = Blueprint("Search", __name__, description="Which phone numbers use Signal.")


def _searching_account(number):
    account = account_or_default(number)
    if account:
        return account
    accounts = signal_cli().list_accounts()
    if not accounts:
        raise NoAccount("No registered account to search with: register one, or name it with ?number=.")
    return accounts[0]


def _search(account, numbers):
    return statuses_in_order(numbers, signal_cli().user_status(account, numbers))


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
