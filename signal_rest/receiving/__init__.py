"""Receiving: what signal-cli receives, kept until a client or a webhook has it.

:mod:`.spool` runs ``signal-cli receive`` into a spool file and stores each line at once in the
SQLite inbox (:mod:`.inbox`); ``GET /v1/receive`` hands it out from there, and the receiver
(:mod:`.receiver`, ``signal-rest receiver``) receives on an interval and POSTs every envelope to
the webhooks (:mod:`.webhooks`); :mod:`.push` streams it to websocket and Server-Sent Events clients.
"""
