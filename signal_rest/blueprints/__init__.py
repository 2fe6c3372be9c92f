"""The API's blueprints, one module per OpenAPI tag, registered in the documented tag order."""

from . import (
    accounts,
    attachments,
    configuration,
    contacts,
    devices,
    general,
    groups,
    identities,
    messages,
    profiles,
    reactions,
    receipts,
    receive,
    search,
    stickers,
)

#: in the order of API.md's tags
MODULES = (
    general,
    configuration,
    search,
    messages,
    receive,
    groups,
    reactions,
    receipts,
    devices,
    accounts,
    profiles,
    contacts,
    identities,
    attachments,
    stickers,
)


def register_blueprints(api):
    """Register every blueprint on `api`."""
    for module in MODULES:
        api.register_blueprint(module.blp)
