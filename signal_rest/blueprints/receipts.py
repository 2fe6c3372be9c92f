"""Receipts: telling a sender that their message was read or viewed."""

from ..extensions import Blueprint, signal_cli
from ..idempotency import idempotent
from ..schemas.receipts import ReceiptSchema

blp = Blueprint("Receipts", __name__, description="Read and viewed receipts.")


@blp.route("/v1/receipts/<number:number>", methods=["POST"])
@blp.arguments(ReceiptSchema)
@idempotent
@blp.response(204)
def send_receipt(data, number):
    """Send a read or viewed receipt for a message."""
    signal_cli().send_receipt(number, data["recipient"], data["timestamp"], receipt_type=data["receipt_type"])
