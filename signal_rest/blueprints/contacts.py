"""Contacts: the account's contacts, their names, avatars and sync to other devices."""

from ..extensions import Blueprint, signal_cli
from ..responses import image_response
from ..schemas.contacts import ContactSchema, ContactsQueryArgsSchema, UpdateContactSchema

blp = Blueprint("Contacts", __name__, description="The account's contacts.")


@blp.route("/v1/contacts/<number:number>")
@blp.arguments(ContactsQueryArgsSchema, location="query")
@blp.response(200, ContactSchema(many=True))
def list_contacts(args, number):
    """List the contacts (`all_recipients=true`: everyone the account knows)."""
    return signal_cli().list_contacts(number, all_recipients=args["all_recipients"])


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
    return signal_cli().get_contact(number, uuid)


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
