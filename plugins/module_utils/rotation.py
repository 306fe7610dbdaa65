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
from ansible_collections.coconut.entra.plugins.module_utils.times import format_datetime, parse_datetime, utcnow

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
        return _new_secret_left(key_id, exc)
    return _new_secret_left(key_id)


def _new_secret_left(key_id, error=None):
    if error is not None:
        return (f"The new client secret (key id {key_id}) could NOT be removed ({error.msg}): remove it by hand. The secret in use is "
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
        return _new_token_left(token_id, exc)
    return _new_token_left(token_id)


def _new_token_left(token_id, error=None):
    if error is not None:
        return f"The new API token (id {token_id}) could NOT be revoked ({error.msg}): revoke it in Coconut. The token in use is unchanged"
    return f"The new API token (id {token_id}) was revoked; the token in use is unchanged and still works"


def as_step(step, undo_error, manage, removed_left, new_left):
    """Run `manage()` (a removal) as the rotation step `step`, so that its failure reads like every other step's.

    With `undo_error` (the error of the step that failed), the removal undoes that step's new credential: the task
    fails with that error and what was left (`new_left(error or None)`). Without it, a failure of the removal itself
    is the step's failure, and what was left is `removed_left`.
    """
    try:
        result = manage()
    except CoconutEntraError as exc:
        if undo_error is None:
            raise step_failed(step, exc, removed_left) from None
        raise step_failed(step, CoconutEntraError(undo_error), new_left(exc)) from None
    if undo_error is not None:
        failure = step_failed(step, CoconutEntraError(undo_error), new_left(None))
        failure.details["result"] = result
        raise failure
    return result


# ---- what the api_token and entra_app_secret modules do (list, add, remove) --------------------


def _token_view(token, current_id=None):
    return {"id": None if token.get("id") is None else str(token["id"]), "name": token.get("name"),
            "created_at": token.get("created_at"), "current": current_id is not None and str(token.get("id")) == str(current_id)}


def manage_api_tokens(coconut, make_client, state=None, name=None, token_id=None, verify=True, check_mode=False, step=None,
                      undo_error=None):
    """The api_token module: list the site's tokens; `state` present creates (and proves) one, absent revokes `token_id`.

    `make_client(value)` builds a CoconutClient signed in with another token. Never revokes the token in use.
    A revoke with `step` is that rotation step (see as_step; `undo_error`: it undoes the failed step's new token).
    """
    if state == "absent" and step:
        return as_step(step, undo_error, lambda: _manage_api_tokens(coconut, make_client, state, name, token_id, verify, check_mode),
                       f"The token (id {token_id}) is still valid: revoke it in Coconut", lambda error: _new_token_left(token_id, error))
    return _manage_api_tokens(coconut, make_client, state, name, token_id, verify, check_mode)


def _manage_api_tokens(coconut, make_client, state, name, token_id, verify, check_mode):
    tokens = coconut.list_api_tokens()
    current_id = next((str(t["id"]) for t in tokens if t.get("current")), None)
    result = {"changed": False, "current_id": current_id}
    if state == "present":
        name = name or "coconut.entra " + format_datetime(utcnow())
        result.update(changed=True, replaces_id=current_id)
        if check_mode:
            tokens.append({"id": None, "name": name})
        else:
            new = add_coconut_token(coconut, make_client, name, prove=verify)
            result.update(id=str(new["id"]), token=new.get("token"))
            tokens.append({k: v for k, v in new.items() if k != "token"})
    elif state == "absent":
        result["id"] = token_id
        if any(str(t["id"]) == token_id for t in tokens):
            if token_id == current_id:
                raise CoconutEntraError(f"refusing to revoke Coconut API token {token_id}: it is the token this task signs in with. "
                                        "Sign in with another token (the new one, as rotate_token.yml does) to revoke it")
            if not check_mode:
                coconut.delete_api_token(token_id)
            tokens = [t for t in tokens if str(t["id"]) != token_id]
            result["changed"] = True
    result["tokens"] = [_token_view(t, current_id) for t in tokens]
    return result


def _given(params, name, default):
    value = params.get(name)
    return default if value is None else value


def manage_app_secrets(entra, make_client, params, check_mode=False, warn=None):
    """The entra_app_secret module: list the app's secrets; `state` present adds (and proves) one, absent removes `key_id`.

    `params` are the module's options; `make_client(secret)` builds an EntraClient signed in with another secret;
    `warn(text)` receives the expiry warnings. Never removes the secret in use. A removal with `step` is that
    rotation step (`rotation_step`; see as_step; `undo_error`: it undoes the failed step's new secret).
    """
    if params.get("state") == "absent" and params.get("rotation_step"):
        key_id = params.get("key_id")
        return as_step(params["rotation_step"], params.get("undo_error"), lambda: _manage_app_secrets(entra, make_client, params, check_mode, warn),
                       f"The client secret (key id {key_id}) is still on the app: remove it in the Entra admin center (Certificates & secrets)",
                       lambda error: _new_secret_left(key_id, error))
    return _manage_app_secrets(entra, make_client, params, check_mode, warn)


def _manage_app_secrets(entra, make_client, params, check_mode, warn):
    p = params
    app = entra.get_application(object_id=p.get("app_object_id"), app_id=p.get("app_id"))
    app_view = {"id": app.get("id"), "app_id": app.get("appId"), "display_name": app.get("displayName")}
    credentials = list(app.get("passwordCredentials") or [])
    current, problem = identify_current_secret(credentials, p.get("entra_client_secret"), key_id=p.get("current_key_id"))
    result = {"changed": False, "app": app_view, "current_key_id": current}
    if current is None:
        result["current_key_problem"] = problem

    if p.get("state") == "present":
        if current is None and p.get("require_current"):
            raise CoconutEntraError(f"rotation step 'identify the client secret in use' failed: {problem}. Nothing was added; "
                                    "the secret in use is unchanged", step="identify the client secret in use")
        end = end_of_lifetime(p.get("lifetime_days"))
        name = p.get("display_name") or "coconut.entra " + format_datetime(utcnow())
        result.update(changed=True, replaces_key_id=current, end_datetime=format_datetime(end))
        if not check_mode:
            wait_timeout = _given(p, "wait_timeout", DEFAULT_WAIT_TIMEOUT)
            new = add_entra_secret(entra, make_client, app["id"], name, end, wait_timeout=wait_timeout,
                                   prove_permissions=_given(p, "prove_permissions", SYNC_PERMISSIONS), wait=wait_timeout > 0)
            result.update(key_id=new.get("keyId"), secret=new.get("secretText"), hint=new.get("hint"),
                          end_datetime=new.get("endDateTime") or result["end_datetime"],
                          attempts=new["attempts"], waited_seconds=new["waited_seconds"])
            credentials.append({k: v for k, v in new.items() if k != "secretText"})
        else:
            credentials.append({"keyId": None, "displayName": name, "endDateTime": result["end_datetime"]})
    elif p.get("state") == "absent":
        key_id = p.get("key_id")
        result["key_id"] = key_id
        if any(c.get("keyId") == key_id for c in credentials):
            if key_id == current:
                raise CoconutEntraError(f"refusing to remove client secret {key_id}: it is the secret this task signs in with, and "
                                        "removing it would lock the collection out. Sign in with another credential (the new "
                                        "secret, as rotate_token.yml does) to remove it")
            if not check_mode:
                entra.remove_password(app["id"], key_id)
            credentials = [c for c in credentials if c.get("keyId") != key_id]
            result["changed"] = True

    result["secrets"] = describe_secrets(credentials, current_key_id=current)
    for warning in expiry_warnings([s for s in result["secrets"] if s["key_id"]], days=_given(p, "expiry_warning_days", EXPIRY_WARNING_DAYS)):
        (warn or (lambda text: None))(warning)
    return result
