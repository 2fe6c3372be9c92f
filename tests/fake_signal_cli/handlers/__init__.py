"""The subcommand handlers, one module per topic; importing this package registers every one."""

from . import accounts, contacts, groups, media, messages, receive
from .common import HANDLERS

__all__ = ["HANDLERS", "accounts", "contacts", "groups", "media", "messages", "receive"]
