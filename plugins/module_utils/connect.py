# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect and disconnect: prove both sides, then record (or remove) the integration record in Coconut.

The record never holds a secret: status, tenant id, client id, group ids, connected_at (and whatever the sync
keeps there, such as the last sync, which a re-connect leaves alone).
"""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.groups import group_refs
from ansible_collections.coconut.entra.plugins.module_utils.times import format_datetime, utcnow

# The attributes connect owns; a record that agrees on these is already connected.
OWNED = ("status", "tenant_id", "client_id", "groups")


def _step(what, exc):
    details = {k: v for k, v in exc.details.items() if k != "result"}
    details["check"] = what
    return CoconutEntraError(f"connect: {what} failed: {exc.msg.rstrip('.')}. Nothing was recorded in Coconut", **details)


def verify(entra, coconut, groups, permissions):
    """Prove each side in order; returns (resolved groups, checks done). Raises naming the first thing missing."""
    refs = group_refs(groups)
    checks = []
    try:
        entra.token()
    except CoconutEntraError as exc:
        raise _step("getting an Entra token", exc) from None
    checks.append("Entra token")
    for permission in permissions:
        try:
            entra.check_permission(permission)
        except CoconutEntraError as exc:
            exc.details.setdefault("permission", permission)
            raise _step(f"proving the Graph permission {permission}", exc) from None
        checks.append(permission)
    try:
        resolved = entra.resolve_groups(refs)
    except CoconutEntraError as exc:
        raise _step("resolving the Entra groups", exc) from None
    checks.append("groups")
    try:
        coconut.check_token()
    except CoconutEntraError as exc:
        raise _step("proving the Coconut API token", exc) from None
    checks.append("Coconut API token")
    return resolved, checks


def desired_record(entra, resolved, existing, now=None):
    desired = {"status": "connected", "tenant_id": entra.tenant_id, "client_id": entra.client_id,
               "groups": [g["id"] for g in resolved]}
    existing = existing or {}
    same_app = existing.get("status") == "connected" and all(existing.get(k) == desired[k] for k in ("tenant_id", "client_id"))
    record = dict(existing)
    record.update(desired)
    record["connected_at"] = existing.get("connected_at") if same_app and existing.get("connected_at") else format_datetime(now or utcnow())
    return record


def _view(record):
    if record is None:
        return None
    return {k: record.get(k) for k in (*OWNED, "connected_at")}


def verify_and_record(entra, coconut, groups, permissions, check_mode=False):
    resolved, checks = verify(entra, coconut, groups, permissions)
    existing = coconut.get_integration()
    record = desired_record(entra, resolved, existing)
    changed = existing is None or any(existing.get(k) != record[k] for k in OWNED)
    after = record
    if changed and not check_mode:
        after = coconut.put_integration(record)
    elif not changed:
        after = existing
    return {"changed": changed, "integration": _view(after), "groups": resolved, "checks": checks,
            "diff": {"before": _view(existing) or {}, "after": _view(after)}}


def disconnect(coconut, check_mode=False):
    existing = coconut.get_integration()
    changed = existing is not None
    if changed and not check_mode:
        coconut.delete_integration()
    return {"changed": changed, "integration": None, "diff": {"before": _view(existing) or {}, "after": {}}}
