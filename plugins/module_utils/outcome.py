# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each sync run's outcome, recorded on Coconut's Entra ID integration record: the page an admin opens.

- A real run sets `last_sync_at` and `last_sync` ({at, mode: apply, status, changed, counts, scope, error}).
- Two promises of the product come first (product.md): check mode writes nothing, and a run with nothing to change
  writes nothing. So a check run records nothing (its result's `outcome` says what it would have recorded), and a real
  run that changed nothing records only when the record does not already say `connected` (a credential that works
  again after `token_revoked`, a run that succeeds after `failing`): `last_sync` is then the last run that wrote
  something or changed the verdict.
- `status` in `last_sync`: `connected` (the run did its work), `token_revoked` (Entra or Coconut refused
  the credential), `failing` (any other error, in words, redacted: no token, no secret, no control characters).
- The record's own `status` follows a real run's verdict where Coconut's API has a value for it (`connected`,
  `token_revoked`; it knows no `failing`, so a failing run leaves it as it was and says so in `last_sync`).
- Nothing is recorded when Coconut cannot be reached, refuses the token, is not the Coconut API, or has no record (not
  connected): the result's `outcome` says why (shown at -v).
- A run that applied writes its outcome in the same write that releases its lease (Sync._run, SiteLease.release);
  any other run that records does one read-modify-write (a GET, then a PUT of the record with only these keys
  changed), like the lease: the lease,
  the delta state and connect.yml's fields are kept. A blind PUT of a copy read earlier could undo a lease another
  run took meanwhile, so the record is read again just before the write.
"""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import ServiceUnreachable
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import redacted, shown
from ansible_collections.coconut.entra.plugins.module_utils.times import format_datetime, utcnow

# The values Coconut's API accepts for the record's own `status` (a PUT with another one is refused with 422).
RECORD_STATUSES = ("connected", "token_revoked")
ERROR_CHARS = 500
# Refusals of the credential itself (as opposed to a wrong tenant, a missing permission or a busy service).
_ENTRA_REFUSALS = ("invalid_client", "unauthorized_client")


def verdict(error):
    """`connected`, `token_revoked` or `failing` for a run that raised `error` (None: it succeeded)."""
    if error is None:
        return "connected"
    details = getattr(error, "details", None) or {}
    service, status = details.get("service"), details.get("status")
    if service == "Entra login" and details.get("error") in _ENTRA_REFUSALS:
        return "token_revoked"
    if service in ("Coconut", "Microsoft Graph") and status == 401:
        return "token_revoked"
    return "failing"


def error_text(error):
    """The error in words, fit for a record anyone with Coconut admin rights can read: redacted, escaped, bounded."""
    if isinstance(error, CoconutEntraError):
        text = error.msg
    else:  # not ours: the type only, since its message may hold anything
        text = "internal error (%s); run with -vvv for details" % type(error).__name__
    text = shown(redacted(" ".join(str(text).split())))
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS].rstrip() + "..."


def outcome_of(check_mode, result=None, error=None, now=None):
    """The `last_sync` entry for one run (a check run's is only returned in its result: check mode writes nothing)."""
    status = verdict(error)
    entry = {"at": format_datetime(now or utcnow()), "mode": "check" if check_mode else "apply", "status": status}
    if error is None:
        result = result or {}
    else:
        result = (getattr(error, "details", None) or {}).get("result") or {}
        entry["error"] = error_text(error)
    if result.get("counts"):
        entry["counts"] = {key: value for key, value in result["counts"].items() if isinstance(value, int)}
    if "changed" in result and error is None and not check_mode:
        entry["changed"] = bool(result["changed"])
    if result.get("scope") is not None:
        entry["scope"] = result["scope"]
    return entry


def record_updates(entry):
    """The keys of the integration record this outcome sets."""
    updates = {"last_sync_at": entry["at"], "last_sync": entry}
    if entry["status"] in RECORD_STATUSES:
        updates["status"] = entry["status"]
    return updates


def not_recordable(error):
    """Why an outcome cannot be written to Coconut after `error`, or None when it can be tried."""
    if error is None:
        return None
    details = getattr(error, "details", None) or {}
    if "lease" in details:
        return "another run holds the site's sync lease, and records its own outcome"
    if details.get("service") == "Coconut":
        if isinstance(error, ServiceUnreachable):
            return "Coconut could not be reached"
        if details.get("status") == 401:
            return "Coconut refused the API token, which the record's write needs too"
        if details.get("code") == "not_coconut_api":
            return "the server at coconut_url is not the Coconut API"
    return None


def record_outcome(coconut, check_mode, result=None, error=None):
    """Write this run's outcome on the integration record; returns {"recorded": bool, "status", "reason"?} for the result.

    Never raises: recording is a courtesy to the admin, and must not turn a good run into a failed one or hide the
    run's own error.
    """
    entry = outcome_of(check_mode, result, error)
    note = {"recorded": False, "status": entry["status"], "mode": entry["mode"]}
    reason = not_recordable(error)
    quiet = error is None and not (result or {}).get("changed")
    if reason is None and check_mode:
        reason = "a check run writes nothing, to the integration record neither"
    elif reason is None and quiet and says_connected((getattr(coconut, "last_integration", None) or (None,))[0]):
        reason = "nothing changed and the record already says connected: a run with nothing to change writes nothing"
    if reason is None:
        try:
            # Read again just before the write (another run may have written since); still quiet if it says connected.
            kept = []

            def change(record):
                if quiet and says_connected(record):
                    kept.append(record)
                    return None
                return record_updates(entry)

            written = coconut.update_integration(change)
        except CoconutEntraError as exc:
            reason = "recording it failed: %s" % error_text(exc)
        else:
            if written is None:
                reason = "this site has no Entra ID integration record (run connect.yml to create one)"
            elif kept:
                reason = "nothing changed and the record already says connected: a run with nothing to change writes nothing"
            else:
                note["recorded"] = True
    if reason:
        note["reason"] = "the run's outcome was not recorded on Coconut's integration record: " + reason
    return note


def says_connected(record):
    """True when the record already tells an admin that syncing works: status connected, and no last sync that failed."""
    if not isinstance(record, dict) or record.get("status") != "connected":
        return False
    last = record.get("last_sync")
    return not isinstance(last, dict) or last.get("status") in (None, "connected")


def _asked_nothing(sync):
    """True while neither service has been sent a request: an error then is bad input, not the integration's state."""
    clients = [sync.coconut, getattr(sync.entra, "login_http", None), getattr(sync.entra, "graph", None)]
    return not any(getattr(client, "stats", {}).get("requests") for client in clients if client is not None)


def run_recorded(sync, run):
    """`run()` (one sync), its outcome recorded on the integration record; the result or error carries `outcome`.

    An error raised before any request (an option refused) is bad input: nothing is recorded, nothing is asked."""
    try:
        result = run()
    except CoconutEntraError as exc:
        if _asked_nothing(sync):
            raise
        exc.details["outcome"] = record_outcome(sync.coconut, sync.check_mode, error=exc)
        raise
    except Exception as exc:
        record_outcome(sync.coconut, sync.check_mode, error=exc)
        raise
    # A run that applied under the lease has written its outcome with the lease's release already.
    result["outcome"] = getattr(sync, "outcome_note", None) or record_outcome(sync.coconut, sync.check_mode, result=result)
    return result


def describe(record):
    """One line on the integration record's state and its last outcome, for the report (None without a record)."""
    if not isinstance(record, dict):
        return None
    parts = ["Coconut's Entra ID integration: %s" % (record.get("status") or "unknown")]
    for key, label in (("last_sync", "last sync"),):
        entry = record.get(key)
        if isinstance(entry, dict) and entry.get("at"):
            text = "%s %s: %s" % (label, entry.get("at"), entry.get("status") or "?")
            counts = entry.get("counts") or {}
            done = ", ".join("%d %s" % (counts[k], k) for k in ("create", "update", "restore", "archive") if counts.get(k))
            if done:
                text += " (%s)" % done
            if entry.get("error"):
                text += ": " + str(entry["error"])
            parts.append(text)
    return shown(" · ".join(parts))


def integration_line(coconut):
    """The report's line on the integration record as this run found it (read once more only if the run has not)."""
    try:
        seen = coconut.last_integration or (coconut.get_integration(),)
    except CoconutEntraError:
        return None
    return describe(seen[0])


VIEW_KEYS = ("status", "tenant_id", "client_id", "groups", "connected_at", "last_sync_at", "last_sync")


def integration_view(record):
    """What staff_info returns of the record: its state and last outcomes (not the lease or the delta state)."""
    if not isinstance(record, dict):
        return None
    return {key: record.get(key) for key in VIEW_KEYS}
