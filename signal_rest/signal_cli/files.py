"""What the service reads of signal-cli's own files.

``CONFIG/data/accounts.json`` is signal-cli's list of the accounts it keeps: one entry per number
whose registration or link was started, whether or not it finished. ``listAccounts`` shows only
the registered ones (signal-cli skips an account it cannot load as registered), so this file is
the only place that names an account still waiting for its verification code. signal-cli locks
the file only while it reads or writes it, and replaces it whole; a read here needs no lock.
"""

import json


def local_account_numbers(config_dir):
    """The numbers in signal-cli's ``data/accounts.json``, in its order (empty if it has none)."""
    try:
        with open(config_dir / "data" / "accounts.json", encoding="utf-8") as accounts:
            stored = json.load(accounts)
    except (OSError, ValueError):
        return []
    entries = stored.get("accounts") if isinstance(stored, dict) else None
    numbers = [entry.get("number") for entry in entries or [] if isinstance(entry, dict)]
    return [number for number in numbers if isinstance(number, str) and number]
