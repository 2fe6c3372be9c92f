"""The API's blueprints, one module per OpenAPI tag, registered in the documented tag order."""

from . import configuration, devices, general, groups, messages, profiles, reactions, search

#: in the order of API.md's tags
MODULES = (general, configuration, search, messages, groups, reactions, devices, profiles)


def register_blueprints(api):
    """Register every blueprint on ``api``."""
    for module in MODULES:
        api.register_blueprint(module.blp)
