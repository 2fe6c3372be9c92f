"""Contacts: the account's contacts, their names, avatars and sync to other devices."""

from ..extensions import Blueprint, signal_cli
from ..responses import image_response
from ..schemas.contacts import ContactSchema, ContactsQueryArgsSchema, UpdateContactSchema
from ..signal_cli import NotFound

blp = Blueprint("Contacts", __name__, description="The account's contacts.")


def contact_entry(contact):
    """A signal-cli `listContacts` entry in the standard API's shape."""
    profile = contact.get("profile") or {}
    profile_name = " ".join(filter(None, (profile.get("givenName"), profile.get("familyName"))))
    return {
        "number": contact.get("number"),
        "uuid": contact.get("uuid"),
        "name": contact.get("name") or "",
        "profile_name": profile_name,
        "username": contact.get("username") or "",
        "color": contact.get("color") or "",
        "blocked": bool(contact.get("isBlocked")),
        "message_expiration": str(contact.get("messageExpirationTime") or 0),
        "note": contact.get("note") or "",
        "given_name": contact.get("givenName") or "",
        "nickname": {
            "name": contact.get("nickName"),
            "given_name": contact.get("nickGivenName"),
            "family_name": contact.get("nickFamilyName"),
        },
        "profile": {
            "given_name": profile.get("givenName"),
            "lastname": profile.get("familyName"),
            "about": profile.get("about"),
            "has_avatar": bool(profile.get("hasAvatar")),
            "last_updated_timestamp": str(profile.get("lastUpdateTimestamp") or 0),
        },
    }


@blp.route("/v1/contacts/<number:number>")
@blp.arguments(ContactsQueryArgsSchema, location="query")
@blp.response(200, ContactSchema(many=True))
def list_contacts(args, number):
    """List the contacts (`all_recipients=true`: everyone the account knows)."""
    contacts = signal_cli().list_contacts(number, all_recipients=args["all_recipients"])
    return [contact_entry(contact) for contact in contacts]


@blp.route("/v1/contacts/<number:number>", methods=["PUT"])
@blp.arguments(UpdateContactSchema)
@blp.response(204)
def update_contact(data, number):
    """Set a contact's name or disappearing-messages timer."""
    signal_cli().update_contact(
        number, data["recipient"], name=data.get("name"), expiration=data.get("expiration_in_seconds")
    )


@blp.route("/v1/contacts/<number:number>/<individual:uuid>")
@blp.response(200, ContactSchema)
def get_contact(number, uuid):
    """Show one contact (by UUID or number); 404 if unknown."""
    for contact in signal_cli().list_contacts(number, [uuid], all_recipients=True):
        if uuid in (contact.get("uuid"), contact.get("number")):
            return contact_entry(contact)
    raise NotFound(f"Account {number} has no contact {uuid}.")


@blp.route("/v1/contacts/<number:number>/<individual:uuid>/avatar")
@blp.file_response(200, "image/*", "The avatar image.")
def contact_avatar(number, uuid):
    """The contact's avatar image (Content-Type sniffed); 404 when there is none."""
    return image_response(signal_cli().avatar(number, contact=uuid))


@blp.route("/v1/contacts/<number:number>/sync", methods=["POST"])
@blp.response(204)
def sync_contacts(number):
    """Send the contact list to the account's other devices."""
    signal_cli().send_contacts(number)
