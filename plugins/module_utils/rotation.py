# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credential rotation: which secret is in use, add-then-prove with bounded waiting, and cleaning up what was half made.

The order that keeps a working credential at every moment (rotate_token.yml drives it):
  1. identify the credential in use (the old one), before anything is made;
  2. add the new one;  3. wait until it is accepted (bounded);  4. prove the read the sync needs with it;
  5. write the credentials file (controller, action plugin);  6. remove the old one.
Steps 1-4 are here; a failure in 2-4 removes the new credential and says so. No value of a secret ever
goes into a message: only key ids, token ids and hints.
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.entra import SYNC_PERMISSIONS
from ansible_collections.coconut.entra.plugins.module_utils.times import parse_datetime, utcnow

DEFAULT_WAIT_TIMEOUT = 120
EXPIRY_WARNING_DAYS = 30
# Entra answers a secret it has not replicated yet exactly as a wrong one (AADSTS7000215).
NOT_YET_ACCEPTED = ("AADSTS7000215",)


def end_of_lifetime(lifetime_days, now=None):
    if lifetime_days is None or int(lifetime_days) < 1:
        raise CoconutEntraError(f"lifetime_days must be a whole number of days, at least 1; got {lifetime_days!r}")
    return (now or utcnow()) + datetime.timedelta(days=int(lifetime_days))


# ---- the app's client secrets -------------------------------------------------------------------


def describe_secrets(password_credentials, now=None, current_key_id=None):
    """The app's secrets as the user sees them (no values): key id, name, hint, dates, days left, in use."""
    now = now or utcnow()
    secrets = []
    for credential in password_credentials or []:
        end = parse_datetime(credential.get("endDateTime"))
        days_left = None if end is None else int((end - now).total_seconds() // 86400)
        secrets.append({
            "key_id": credential.get("keyId"),
            "display_name": credential.get("displayName"),
            "hint": credential.get("hint"),
            "start_datetime": credential.get("startDateTime"),
            "end_datetime": credential.get("endDateTime"),
            "expires_in_days": days_left,
            "expired": end is not None and end <= now,
            "current": current_key_id is not None and credential.get("keyId") == current_key_id,
        })
    return sorted(secrets, key=lambda s: (s["end_datetime"] or "", s["key_id"] or ""))


def expiry_warnings(secrets, days=EXPIRY_WARNING_DAYS):
    """One warning per secret that has expired or expires within `days` days."""
    warnings = []
    for secret in secrets:
        left = secret["expires_in_days"]
        if left is None or left > days:
            continue
        name = "'{}' ".format(secret["display_name"]) if secret["display_name"] else ""
        if secret["expired"]:
            state = "expired on {}".format(secret["end_datetime"])
        else:
            state = "expires on {} (in {} days)".format(secret["end_datetime"], left)
        warnings.append("Entra client secret {}(key id {}) {}: run rotate_token.yml to replace it before it stops "
                        "working".format(name, secret["key_id"], state))
    return warnings


def identify_current_secret(password_credentials, secret_text, key_id=None):
    """The key id of the secret whose text is `secret_text`: (key_id, None) or (None, why not).

    A secret's text does not contain its key id. Graph returns `hint` (the text's first characters) for each
    secret, so the one in use is the only secret whose hint starts the text. When several share that prefix,
    or Graph gives no hints, the user names it (`key_id`); a given key id is checked against its hint.
    """
    credentials = list(password_credentials or [])
    if key_id:
        found = next((c for c in credentials if c.get("keyId") == key_id), None)
        if found is None:
            return None, f"the app registration has no client secret with key id {key_id}"
        hint = found.get("hint")
        if secret_text and hint and not secret_text.startswith(hint):
            return None, (f"the client secret with key id {key_id} is not the one in use: its hint does not match the start of "
                          "entra_client_secret")
        return key_id, None
    if not secret_text:
        return None, "no client secret is in use (the credential is a certificate)"
    if not credentials:
        return None, "the app registration has no client secrets"
    if any(not c.get("hint") for c in credentials):
        return None, ("Entra did not return a hint for every client secret, so the one in use cannot be told apart: "
                      "give its key id (entra_secret_key_id)")
    matches = [c.get("keyId") for c in credentials if secret_text.startswith(c["hint"])]
    if not matches:
        return None, ("no client secret of the app registration starts like entra_client_secret: it belongs to another "
                      "app, or was already removed")
    if len(matches) > 1:
        return None, (f"{len(matches)} client secrets (key ids {', '.join(matches)}) start with the same characters as "
                      "entra_client_secret, so the one in use cannot be told apart: give its key id (entra_secret_key_id)")
    return matches[0], None


# ---- bounded waiting ----------------------------------------------------------------------------


def is_not_yet_accepted(error):
    return isinstance(error, CoconutEntraError) and error.details.get("aadsts") in NOT_YET_ACCEPTED


def wait_until_accepted(attempt, timeout=DEFAULT_WAIT_TIMEOUT, interval=1.0, max_interval=5.0, retry_if=is_not_yet_accepted,
                        clock=time.monotonic, sleep=time.sleep):
    """Call `attempt()` until it returns, retrying only the errors `retry_if` accepts, for at most `timeout` seconds.

    Returns (value, attempts, seconds waited). After the deadline the last error is raised, with `timed_out` set.
    """
    start = clock()
    attempts = 0
    while True:
        attempts += 1
        try:
            return attempt(), attempts, clock() - start
        except CoconutEntraError as exc:
            if not retry_if(exc):
                raise
            elapsed = clock() - start
            if elapsed + interval > timeout:
                exc.details.update(timed_out=True, attempts=attempts, waited_seconds=round(elapsed, 1))
                raise
            sleep(interval)
            interval = min(max_interval, interval * 1.5)


# ---- the two rotations' first steps -------------------------------------------------------------


def step_failed(step, error, left):
    """The failure of one rotation step: which step, the cause, and what was left behind."""
    details = {k: v for k, v in error.details.items() if k != "result"}
    details["step"] = step
    return CoconutEntraError("rotation step '{}' failed: {}. {}".format(step, error.msg.rstrip("."), left), **details)


def add_entra_secret(client, make_client, app_object_id, display_name, end_datetime, wait_timeout=DEFAULT_WAIT_TIMEOUT,
                     prove_permissions=SYNC_PERMISSIONS, wait=True, sleep=time.sleep, clock=time.monotonic):
    """Add a client secret, wait until login accepts it, prove the sync's Graph reads with it.

    `client` is the EntraClient signed in with the credential in use; `make_client(secret)` builds a fresh one
    signed in with the new secret (fresh each attempt: msal remembers refusals). If waiting or proving fails,
    the new secret is removed again (with `client`) and the error says which step failed and what was left.
    Returns the addPassword answer (it holds `secretText`) plus `attempts` and `waited_seconds`.
    """
    try:
        new = client.add_password(app_object_id, display_name, end_datetime)
    except CoconutEntraError as exc:
        raise step_failed("add the new client secret", exc, "Nothing was added; the secret in use is unchanged and still works") from None
    key_id = new.get("keyId")
    step = "wait until Entra login accepts the new client secret"
    try:
        attempts, waited = 0, 0.0
        if wait:
            _token, attempts, waited = wait_until_accepted(lambda: make_client(new["secretText"]).token(),
                                                           timeout=wait_timeout, sleep=sleep, clock=clock)
            step = "prove the sync's Graph reads with the new client secret"
            prover = make_client(new["secretText"])
            for permission in prove_permissions:
                prover.check_permission(permission)
    except CoconutEntraError as exc:
        if exc.details.get("timed_out"):
            exc.msg = "Entra login still refused it after {} seconds ({} attempts; raise wait_timeout if Entra is slow to replicate): {}".format(
                exc.details.get("waited_seconds"), exc.details.get("attempts"), exc.msg)
        raise step_failed(step, exc, _removed_new_secret(client, app_object_id, key_id)) from None
    new = dict(new, attempts=attempts, waited_seconds=round(waited, 1))
    return new


def _removed_new_secret(client, app_object_id, key_id):
    try:
        client.remove_password(app_object_id, key_id)
    except CoconutEntraError as exc:
        return (f"The new client secret (key id {key_id}) could NOT be removed ({exc.msg}): remove it by hand. The secret in use is "
                "unchanged and still works")
    return f"The new client secret (key id {key_id}) was removed; the secret in use is unchanged and still works"


def add_coconut_token(client, make_client, name, prove=True):
    """Create an API token and prove it (a staff read, and Coconut naming it as the caller); revoke it if that fails.

    Returns {"id", "name", "token", "created_at", "replaces": id of the token `client` uses}.
    """
    try:
        current = client.whoami()
    except CoconutEntraError as exc:
        raise step_failed("identify the Coconut API token in use", exc, "Nothing was created; the token in use is unchanged") from None
    try:
        new = client.create_api_token(name)
    except CoconutEntraError as exc:
        raise step_failed("create the new Coconut API token", exc, "Nothing was created; the token in use is unchanged and still works") from None
    if prove:
        try:
            prover = make_client(new["token"])
            prover.check_token()
            seen = prover.whoami()
            if str(seen.get("id")) != str(new.get("id")):
                raise CoconutEntraError("Coconut names token {}, not the new token {}, as the caller".format(seen.get("id"), new.get("id")))
        except CoconutEntraError as exc:
            raise step_failed("prove the new Coconut API token", exc, _revoked_new_token(client, new.get("id"))) from None
    return dict(new, replaces=current.get("id"))


def _revoked_new_token(client, token_id):
    try:
        client.delete_api_token(token_id)
    except CoconutEntraError as exc:
        return f"The new API token (id {token_id}) could NOT be revoked ({exc.msg}): revoke it in Coconut. The token in use is unchanged"
    return f"The new API token (id {token_id}) was revoked; the token in use is unchanged and still works"
