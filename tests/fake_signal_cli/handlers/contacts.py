"""Contacts, identities and user status: listContacts, updateContact, removeContact, trust, ..."""

import re

from ..errors import CommandError
from ..records import contact_entry, user_entry, uuid_for
from ..values import E164, format_number, java_b64decode, parse_recipient
from .common import handler, require_primary


def _find_contact(acct, ident):
    kind, value = ident
    return next((c for c in acct["contacts"] if value in (c.get("number"), c.get("uuid"))), None)


def _profile_name(contact):
    profile = contact.get("profile") or {}
    return " ".join(p for p in (profile.get("givenName"), profile.get("familyName")) if p)


def _with_is_archived(entry):
    """0.14.1+: ``isArchived`` is always present, between ``color`` and ``isBlocked``."""
    archived = bool(entry.get("isArchived"))
    shown = {}
    for key, value in entry.items():
        if key == "isArchived":
            continue
        if key == "isBlocked":
            shown["isArchived"] = archived
        shown[key] = value
    shown.setdefault("isArchived", archived)
    return shown


@handler("listContacts")
def cmd_list_contacts(run, ns):
    """List contacts with the filters of ListContactsCommand."""
    idents = [parse_recipient(t, run.account) for t in ns.get("recipient") or []]
    contacts = run.acct(run.state())["contacts"]
    if not ns.get("all-recipients"):
        contacts = [c for c in contacts if not c.get("isHidden")]
    if idents:
        contacts = [c for c in contacts if any(v in (c.get("number"), c.get("uuid")) for _, v in idents)]
    if ns.get("blocked") is not None:
        contacts = [c for c in contacts if bool(c.get("isBlocked")) == ns["blocked"]]
    if ns.get("name") is not None:
        contacts = [c for c in contacts if ns["name"] in (c.get("name"), _profile_name(c))]
    output = []
    for contact in contacts:
        entry = {k: v for k, v in contact.items() if k != "internal"}
        if run.at_least("0.14.1"):
            entry = _with_is_archived(entry)
        if ns.get("internal"):
            entry["internal"] = contact.get("internal") or {
                "capabilities": [],
                "unidentifiedAccessMode": None,
                "sharesPhoneNumber": None,
                "discoverableByPhonenumber": None,
            }
        output.append(entry)
    plain = "".join(
        f"Number: {c.get('number') or ''} ACI: {c.get('uuid') or ''} Name: {c.get('name')} "
        f"Blocked: {str(c.get('isBlocked')).lower()}\n"
        for c in output
    )
    run.emit(output, plain=plain)


@handler("updateContact")
def cmd_update_contact(run, ns):
    """Create or update a contact's names, note and expiration timer."""
    ident = parse_recipient(ns["recipient"], run.account)

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        contact = _find_contact(acct, ident)
        if contact is None:
            number = ident[1] if ident[0] == "number" else None
            contact = contact_entry(
                number, user_entry(state, number).get("uuid") or uuid_for(number) if number else ident[1]
            )
            acct["contacts"].append(contact)
        if ns.get("expiration") is not None:
            contact["messageExpirationTime"] = ns["expiration"]
        given, family = ns.get("given-name"), ns.get("family-name")
        if given is None and ns.get("name") is not None:
            given, family = ns["name"], family if family is not None else ""
        if given is not None:
            contact["givenName"] = given
        if family is not None:
            contact["familyName"] = family
        contact["name"] = " ".join(p for p in (contact.get("givenName"), contact.get("familyName")) if p)
        for key, field in (
            ("nick-given-name", "nickGivenName"),
            ("nick-family-name", "nickFamilyName"),
            ("note", "note"),
        ):
            if ns.get(key) is not None:
                contact[field] = ns[key]
        if contact.get("nickGivenName") or contact.get("nickFamilyName"):
            contact["nickName"] = " ".join(
                p for p in (contact.get("nickGivenName"), contact.get("nickFamilyName")) if p
            )

    run.transact(act)


@handler("removeContact")
def cmd_remove_contact(run, ns):
    """Remove a contact (--hide keeps it hidden, --forget also drops its identity)."""
    ident = parse_recipient(ns["recipient"], run.account)

    def act(state):
        acct = run.acct(state)
        contact = _find_contact(acct, ident)
        if contact is not None and ns.get("hide"):
            contact["isHidden"] = True
        elif contact is not None:
            acct["contacts"].remove(contact)
        if ns.get("forget"):
            acct["identities"] = [i for i in acct["identities"] if ident[1] not in (i.get("number"), i.get("uuid"))]

    run.transact(act)


@handler("listIdentities")
def cmd_list_identities(run, ns):
    """List identity keys (optionally of one number)."""
    identities = run.acct(run.state())["identities"]
    if ns.get("number") is not None:
        _, value = parse_recipient(ns["number"], run.account)
        identities = [i for i in identities if value in (i.get("number"), i.get("uuid"))]
    plain = "".join(
        f"{i.get('number')}: {i.get('trustLevel')} Added: {i.get('addedTimestamp')} "
        f"Fingerprint: {i.get('fingerprint')} Safety Number: {i.get('safetyNumber')}\n"
        for i in identities
    )
    run.emit(identities, plain=plain)


@handler("trust")
def cmd_trust(run, ns):
    """Trust a recipient's keys: all known ones (-a) or the one with a verified safety number (-v)."""
    ident = parse_recipient(ns["recipient"], run.account)
    code = ns.get("verified-safety-number")
    if not ns.get("trust-all-known-keys"):
        if code is None:
            raise CommandError(
                1, "You need to specify the fingerprint/safety number you have verified with -v SAFETY_NUMBER"
            )
        # IdentityVerificationCode.parse: 66 chars are a hex fingerprint, 60 a safety number, else base64
        code = code.replace(" ", "")
        if len(code) == 66:
            valid = re.fullmatch(r"[0-9a-fA-F]+", code) is not None
        elif len(code) == 60:
            valid = True
        else:
            try:
                java_b64decode(code)
                valid = True
            except ValueError:
                valid = False
        if not valid:
            raise CommandError(
                1, "Safety number has invalid format, either specify the old hex fingerprint or the new safety number"
            )

    def act(state):
        acct = run.acct(state)
        mine = [i for i in acct["identities"] if ident[1] in (i.get("number"), i.get("uuid"))]
        if code is None:
            if not mine:
                raise CommandError(1, "Failed to set the trust for this number, make sure the number is correct.")
            for identity in mine:
                identity["trustLevel"] = "TRUSTED_UNVERIFIED"
        else:
            match = [
                i
                for i in mine
                if code
                in (i.get("safetyNumber", "").replace(" ", ""), i.get("fingerprint"), i.get("scannableSafetyNumber"))
            ]
            if not match:
                raise CommandError(
                    1,
                    "Failed to set the trust for this number, make sure the number and the "
                    "fingerprint/safety number are correct.",
                )
            for identity in match:
                identity["trustLevel"] = "TRUSTED_VERIFIED"
        for identity in mine:
            user = state.get("users", {}).get(identity.get("number"))
            if user:
                user["untrusted"] = False

    run.transact(act)


@handler("getUserStatus")
def cmd_get_user_status(run, ns):
    """Check numbers (loosely normalised) and usernames against the fake's ``users``."""
    state = run.state()
    statuses = []
    for text in dict.fromkeys(ns.get("recipient") or []):
        try:
            number = format_number(text, run.account)
        except ValueError:
            number = None
        user = user_entry(state, number) if number else {}
        registered = number is not None and E164.fullmatch(number) and user.get("registered", True)
        status = {"recipient": text}
        if number is not None:  # NON_NULL
            status["number"] = number
        status.update(
            uuid=(user.get("uuid") or uuid_for(number)) if registered else None, isRegistered=bool(registered)
        )
        statuses.append(status)
    for text in dict.fromkeys(ns.get("username") or []):
        user = state.get("users", {}).get("u:" + text) or {}
        registered = user.get("registered", True)
        statuses.append(
            {
                "recipient": text,
                "username": text,
                "uuid": (user.get("uuid") or uuid_for("u:" + text)) if registered else None,
                "isRegistered": registered,
            }
        )
    plain = "".join(f"{s['recipient']}: {str(s['isRegistered']).lower()}\n" for s in statuses)
    run.emit(statuses, plain=plain)
