"""Identities: the identity keys of the account's contacts, and trusting them."""

from ..extensions import Blueprint, signal_cli
from ..schemas.identities import IdentitySchema, TrustSchema

blp = Blueprint("Identities", __name__, description="Identity keys and trust.")


@blp.route("/v1/identities/<number:number>")
@blp.response(200, IdentitySchema(many=True))
def list_identities(number):
    """List the identity keys the account knows, with their trust level."""
    return signal_cli().list_identities(number)


@blp.route("/v1/identities/<number:number>/trust/<individual:number_to_trust>", methods=["PUT"])
@blp.arguments(TrustSchema)
@blp.response(204)
def trust(data, number, number_to_trust):
    """Trust a contact's identity key: a safety number checked in person, or every known key."""
    signal_cli().trust(
        number,
        number_to_trust,
        safety_number=data.get("verified_safety_number"),
        all_known_keys=bool(data.get("trust_all_known_keys")),
    )
