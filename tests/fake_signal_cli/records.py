"""Account, user, group, contact and identity records as the state file holds them."""

import base64
import os
import time

try:
    # the built-in module: hashlib would load OpenSSL, a fifth of each of the fake's starts
    from _sha256 import sha256
except ImportError:  # Python 3.12 and newer name it _sha2
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256


def uuid_for(identifier):
    """Return the deterministic ACI the fake gives to a number or other identifier."""
    raw = bytearray(sha256(("fake-signal-cli:" + identifier).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def now_ms():
    return int(time.time() * 1000)


def account_entry(state, number):
    """Return the account entry for *number*, filling every key the fake relies on."""
    acct = state.setdefault("accounts", {}).setdefault(number, {})
    acct.setdefault("registered", False)
    acct.setdefault("uuid", uuid_for(number))
    acct.setdefault("device_id", 1)
    for key in ("groups", "contacts", "identities", "sticker_packs", "inbox"):
        acct.setdefault(key, [])
    for key in ("group_avatars", "contact_avatars", "profile_avatars", "profile", "configuration"):
        acct.setdefault(key, {})
    acct.setdefault("created", now_ms())
    acct.setdefault(
        "devices",
        [
            {
                "id": acct["device_id"],
                "name": None,
                "createdTimestamp": acct["created"],
                "lastSeenTimestamp": acct["created"],
            }
        ],
    )
    acct.setdefault("pin", None)
    acct.setdefault("username", None)
    acct.setdefault("blocked", {"numbers": [], "groups": []})
    return acct


def user_entry(state, number):
    return state.get("users", {}).get(number) or {}


def member_entry(state, number):
    """A listGroups member entry for a number (an account of this config dir uses its own uuid)."""
    own = state.get("accounts", {}).get(number, {}).get("uuid")
    return {"number": number, "uuid": own or user_entry(state, number).get("uuid") or uuid_for(number)}


def random_group_link():
    return "https://signal.group/#" + base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")


def new_group_entry(group_id, name, members, admins, **fields):
    """A listGroups entry with every field, in the order signal-cli prints them."""
    entry = {
        "id": group_id,
        "name": name,
        "description": None,
        "isMember": True,
        "isBlocked": False,
        "messageExpirationTime": 0,
        "members": members,
        "pendingMembers": [],
        "requestingMembers": [],
        "admins": admins,
        "banned": [],
        "permissionAddMember": "EVERY_MEMBER",
        "permissionEditDetails": "EVERY_MEMBER",
        "permissionSendMessage": "EVERY_MEMBER",
        "groupInviteLink": None,
    }
    entry.update(fields)
    return entry


def find_group(acct, group_id):
    return next((g for g in acct["groups"] if g.get("id") == group_id), None)


def is_self(member, number, acct):
    return member.get("number") == number or member.get("uuid") == acct["uuid"]


def contact_entry(number, uuid):
    return {
        "number": number,
        "uuid": uuid,
        "username": None,
        "name": "",
        "givenName": None,
        "familyName": None,
        "nickName": None,
        "nickGivenName": None,
        "nickFamilyName": None,
        "note": None,
        "color": None,
        "isBlocked": False,
        "isHidden": False,
        "messageExpirationTime": 0,
        "profileSharing": False,
        "unregistered": False,
        "profile": None,
    }


def identity_entry(number, uuid, trust_level="TRUSTED_UNVERIFIED"):
    digest = sha256(("identity:" + number).encode()).digest()
    digits = "".join(f"{int.from_bytes(digest[i * 2 : i * 2 + 3], 'big') % 100000:05d}" for i in range(12))
    return {
        "number": number,
        "uuid": uuid,
        "fingerprint": "05" + digest.hex(),
        "safetyNumber": " ".join(digits[i : i + 5] for i in range(0, 60, 5)),
        "scannableSafetyNumber": base64.b64encode(sha256(digest).digest()).decode(),
        "trustLevel": trust_level,
        "addedTimestamp": now_ms(),
    }
