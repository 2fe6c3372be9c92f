"""Registration, linking, the account and its settings, and linked devices."""

import base64
import os
import re
import time

from ..argparse4j import PROG
from ..errors import CommandError, java_trace
from ..records import account_entry, now_ms, sha256
from ..state import LINK_TRIGGER
from ..values import E164
from .common import POLL_SECONDS, handler, require_primary

DEFAULT_LINK_TIMEOUT = 30.0


_VERIFY_NPE = java_trace(
    "java.lang.NullPointerException",
    "Parameter specified as non-null is null: method "
    "org.whispersystems.signalservice.api.registration.RegistrationApi.verifyAccount, parameter sessionId",
    [
        "org.whispersystems.signalservice.api.registration.RegistrationApi.verifyAccount(RegistrationApi.kt)",
        "org.asamk.signal.manager.internal.RegistrationManagerImpl.verifyAccountWithCode"
        "(RegistrationManagerImpl.java:313)",
        "org.asamk.signal.manager.util.NumberVerificationUtils.verifyNumber(NumberVerificationUtils.java:101)",
        "org.asamk.signal.manager.internal.RegistrationManagerImpl.verifyAccount(RegistrationManagerImpl.java:196)",
        "org.asamk.signal.commands.VerifyCommand.verify(VerifyCommand.java:76)",
        "org.asamk.signal.commands.VerifyCommand.handleCommand(VerifyCommand.java:46)",
        "org.asamk.signal.commands.CommandHandler.handleRegistrationCommand(CommandHandler.java:62)",
        "org.asamk.signal.App.handleRegistrationCommand(App.java:253)",
        "org.asamk.signal.App.handleCommand(App.java:168)",
        "org.asamk.signal.App.init(App.java:152)",
        "org.asamk.signal.Main.main(Main.java:61)",
    ],
)


_CAPTCHA_REQUIRED = (
    "Captcha required for verification, use --captcha CAPTCHA\n"
    "To get the token, go to https://signalcaptchas.org/registration/generate.html\n"
    'After solving the captcha, right-click on the "Open Signal" link and copy the link.'
)


@handler("register")
def cmd_register(run, ns):
    """Request a verification code; the account entry is created first, even if this fails."""
    run.transact(run.acct)
    captcha = ns.get("captcha")

    def act(state):
        acct = run.acct(state)
        if acct["registered"] and not ns.get("reregister"):
            raise CommandError(3, "Failed to register: Account is already registered (IOException)")
        if acct.get("rate_limited"):
            raise CommandError(5, "Rate limit reached")
        required = acct.get("captcha_required")
        if required and captcha is None:
            raise CommandError(1, _CAPTCHA_REQUIRED)
        if required and isinstance(required, str) and captcha != required:
            raise CommandError(1, "Invalid captcha given.")
        if ns.get("voice") and not acct.get("session"):
            raise CommandError(
                1,
                "Failed to register: Invalid verification method: Before requesting voice "
                "verification you need to request SMS verification and wait a minute.",
            )
        acct["session"] = True
        acct["captcha_required"] = False
        acct["registered"] = False

    run.transact(act)


@handler("verify")
def cmd_verify(run, ns):
    """Finish registration with the code (and the registration lock PIN when one is set)."""
    code = ns["verification-code"].replace("-", "")
    pin = ns.get("pin")

    def act(state):
        acct = run.acct(state)
        if acct["registered"]:
            raise CommandError(3, "Verify error: Account is already registered")
        if not acct.get("session"):
            if run.at_least("0.13.21"):
                raise CommandError(3, "Verify error: No registration verification session active")
            raise CommandError(2, _VERIFY_NPE)
        expected = acct.get("verification_code")
        if expected is not None and str(expected).replace("-", "") != code:
            raise CommandError(3, "Verify error: Invalid verification code")
        required = acct.get("pin_required")
        if required and pin is None:
            raise CommandError(
                1,
                "Verification failed! This number is locked with a pin. Hours remaining until "
                "reset: 167\nUse '--pin PIN_CODE' to specify the registration lock PIN",
            )
        if required and isinstance(required, str) and pin != required:
            raise CommandError(1, "Verification failed! Invalid pin, tries remaining: 9")
        acct.update(registered=True, session=False, pin=pin if pin is not None else acct.get("pin"))

    run.transact(act)


@handler("deleteLocalAccountData")
def cmd_delete_local_account_data(run, ns):
    """Forget the account locally (refused while registered unless --ignore-registered)."""

    def act(state):
        acct = state.get("accounts", {}).get(run.account)
        if acct and acct.get("registered") and not ns.get("ignore-registered"):
            raise CommandError(
                1, "Not deleting account, it is still registered. Use --ignore-registered to delete it anyway."
            )
        state.get("accounts", {}).pop(run.account, None)

    run.transact(act)


@handler("unregister")
def cmd_unregister(run, ns):
    """Unregister this device (--delete-account also forgets the account)."""

    def act(state):
        if ns.get("delete-account"):
            state["accounts"].pop(run.account, None)
        else:
            run.acct(state)["registered"] = False

    run.transact(act)


def link_uri():
    """A fresh ``sgnl://linkdevice?uuid=…&pub_key=…`` URI."""
    from urllib.parse import quote

    provisioning_id = base64.b64encode(os.urandom(16)).decode()
    public_key = base64.b64encode(b"\x05" + os.urandom(32)).decode().rstrip("=")
    return f"sgnl://linkdevice?uuid={quote(provisioning_id, safe='')}&pub_key={quote(public_key, safe='')}"


def wait_for_scan(run):
    """Wait for the scan trigger file (or time out) and return the number to link."""
    link = run.state().get("link") or {}
    deadline = time.monotonic() + float(link.get("timeout", DEFAULT_LINK_TIMEOUT))
    trigger = os.path.join(run.config_dir, LINK_TRIGGER)
    while True:
        try:
            with open(trigger, encoding="utf-8") as f:
                number = f.read().strip()
            os.remove(trigger)
            break
        except FileNotFoundError:
            pass
        if time.monotonic() >= deadline:
            raise CommandError(1, "Link request timed out, please try again.")
        time.sleep(POLL_SECONDS)
    return number or link.get("number") or "+4915100000099"


def add_linked_account(run, number, device_name):
    """Store *number* as a linked device (device 2) named *device_name*, or exit 1 if it exists."""

    def act(state):
        existing = state.get("accounts", {}).get(number)
        if existing and existing.get("registered"):
            account_file = os.path.join(run.config_dir, "data", number.lstrip("+")[-6:])
            raise CommandError(1, f'The user {number} already exists\nDelete "{account_file}" before trying again.')
        acct = account_entry(state, number)
        now = now_ms()
        acct.update(
            registered=True,
            device_id=2,
            devices=[
                {"id": 1, "name": None, "createdTimestamp": acct["created"], "lastSeenTimestamp": now},
                {"id": 2, "name": device_name, "createdTimestamp": now, "lastSeenTimestamp": now},
            ],
        )

    run.transact(act)


@handler("link")
def cmd_link(run, ns):
    """Print the device link URI at once, then wait for the scan trigger file or time out."""
    run.out(link_uri() + "\n")
    number = wait_for_scan(run)
    add_linked_account(run, number, ns.get("name") or "cli")
    run.out(f"Associated with: {number}\n")


@handler("listAccounts")
def cmd_list_accounts(run, ns):
    """List the registered accounts."""
    accounts = run.state().get("accounts", {})
    numbers = [{"number": n} for n in sorted(accounts) if accounts[n].get("registered")]
    run.emit(numbers, plain="".join(f"Number: {a['number']}\n" for a in numbers))


@handler("version")
def cmd_version(run, ns):
    """Print the version."""
    run.emit({"version": run.version}, plain=f"{PROG} {run.version}\n")


@handler("updateAccount")
def cmd_update_account(run, ns):
    """Update account attributes; with -u reserve a username and print it."""
    username = ns.get("username")
    if username is not None:
        nickname = username.split(".")[0]
        if len(nickname) < 3:
            raise CommandError(1, "Invalid username: Nickname is too short")
        if len(nickname) > 32:
            raise CommandError(1, "Invalid username: Nickname is too long")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", nickname):
            raise CommandError(1, "Invalid username: Nickname contains invalid characters")
        if "." not in username:
            username += f".{int(sha256(username.encode()).hexdigest(), 16) % 90 + 10}"

    def act(state):
        acct = run.acct(state)
        if ns.get("device-name") is not None:
            for device in acct["devices"]:
                if device["id"] == acct["device_id"]:
                    device["name"] = ns["device-name"]
        attributes = acct.setdefault("account_attributes", {})
        for key in ("unrestricted-unidentified-sender", "discoverable-by-number", "number-sharing"):
            if ns.get(key) is not None:
                attributes[key] = ns[key]
        if username is not None:
            acct["username"] = username
            acct["username_link"] = "https://signal.me/#eu/" + base64.urlsafe_b64encode(
                sha256(username.encode()).digest() * 2
            ).decode().rstrip("=")
            return {"username": username, "usernameLink": acct["username_link"]}
        if ns.get("delete-username"):
            acct["username"] = acct["username_link"] = None
        return None

    result = run.transact(act)
    if result is not None:
        run.emit(result, plain=f"Your new username: {result['username']} ({result['usernameLink']})\n")


@handler("setPin")
def cmd_set_pin(run, ns):
    """Set the registration lock PIN."""

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        acct["pin"] = ns["pin"]

    run.transact(act)


@handler("removePin")
def cmd_remove_pin(run, ns):
    """Remove the registration lock PIN."""

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        acct["pin"] = None

    run.transact(act)


@handler("updateProfile")
def cmd_update_profile(run, ns):
    """Set profile fields (and avatar)."""
    avatar = None
    if ns.get("avatar") is not None:
        try:
            with open(ns["avatar"], "rb") as f:
                avatar = base64.b64encode(f.read()).decode()
        except OSError as e:
            raise CommandError(3, f"Update profile error: {ns['avatar']} ({e.strerror})")

    def act(state):
        acct = run.acct(state)
        profile = acct["profile"]
        for key, field in (
            ("given-name", "givenName"),
            ("family-name", "familyName"),
            ("about", "about"),
            ("about-emoji", "aboutEmoji"),
            ("mobile-coin-address", "mobileCoinAddress"),
        ):
            if ns.get(key) is not None:
                profile[field] = ns[key]
        if avatar is not None:
            profile["avatar"] = avatar
        elif ns.get("remove-avatar"):
            profile.pop("avatar", None)

    run.transact(act)


@handler("updateConfiguration")
def cmd_update_configuration(run, ns):
    """Store configuration flags (Boolean.valueOf semantics)."""

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        for key in ("read-receipts", "unidentified-delivery-indicators", "typing-indicators", "link-previews"):
            if ns.get(key) is not None:
                acct["configuration"][key] = ns[key]

    run.transact(act)


@handler("submitRateLimitChallenge")
def cmd_submit_rate_limit_challenge(run, ns):
    """Lift a rate limit: the challenge must be a token a send handed out."""
    challenge = ns["challenge"]

    def act(state):
        lifted = False
        for number, user in state.get("users", {}).items():
            token = user.get("rate_limited")
            if token and (
                token == challenge or (token is True and challenge == "challenge-token-" + (number or "").lstrip("+"))
            ):
                user["rate_limited"] = False
                lifted = True
        if not lifted:
            # CaptchaRejectedErrorException has exit code 6 from 0.14.3
            raise CommandError(
                6 if run.at_least("0.14.3") else 1,
                "Captcha rejected, it may be outdated, already used or solved from a different IP address.",
            )

    run.transact(act)


@handler("startChangeNumber")
def cmd_start_change_number(run, ns):
    """Start moving the account to a new number."""
    number = ns["number"]

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        if not E164.fullmatch(number):
            raise CommandError(1, f"Failed to change number: Phone number {number} is not normalized.")
        acct["change_number"] = number

    run.transact(act)


@handler("finishChangeNumber")
def cmd_finish_change_number(run, ns):
    """Finish moving the account to the new number."""
    number = ns["number"]

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        if acct.get("change_number") != number:
            raise CommandError(3, f"Failed to change number: No verification session for {number} (IOException)")
        acct.pop("change_number")
        state["accounts"][number] = state["accounts"].pop(run.account)

    run.transact(act)


@handler("listDevices")
def cmd_list_devices(run, ns):
    """List linked devices."""
    devices = run.acct(run.state())["devices"]
    plain = "".join(f"- Device {d['id']}:\n  Name: {d.get('name')}\n" for d in devices)
    run.emit(devices, plain=plain)


@handler("addDevice")
def cmd_add_device(run, ns):
    """Link a new device from its sgnl://linkdevice URI."""
    uri = ns["uri"]
    bad = re.search(r'[\s"<>\\^`{|}]', uri)
    if bad:
        component = "query" if "?" in uri[: bad.start()] else "path"
        raise CommandError(
            1, f"Device link uri has invalid format: Illegal character in {component} at index {bad.start()}: {uri}"
        )
    if not re.match(r"sgnl://linkdevice\?(?=.*\buuid=[^&]+)(?=.*\bpub_key=[^&]+)", uri):
        raise CommandError(1, "Invalid device link")

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        if len(acct["devices"]) >= 6:
            raise CommandError(1, "Account has too many linked devices already")
        now = now_ms()
        acct["devices"].append(
            {
                "id": max(d["id"] for d in acct["devices"]) + 1,
                "name": None,
                "createdTimestamp": now,
                "lastSeenTimestamp": now,
            }
        )

    run.transact(act)


@handler("removeDevice")
def cmd_remove_device(run, ns):
    """Unlink a device by id."""
    device_id = ns["device-id"]

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        if not any(d["id"] == device_id for d in acct["devices"]):
            raise CommandError(3, "Error while removing device: [404] Not found")
        acct["devices"] = [d for d in acct["devices"] if d["id"] != device_id]

    run.transact(act)


@handler("updateDevice")
def cmd_update_device(run, ns):
    """Rename a linked device (0.13.23+); prints nothing."""
    device_id, name = ns["device-id"], ns["device-name"]

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        device = next((d for d in acct["devices"] if d["id"] == device_id), None)
        if device is None:
            raise CommandError(3, "Error while updating device: [404] Not found")
        device["name"] = name

    run.transact(act)
