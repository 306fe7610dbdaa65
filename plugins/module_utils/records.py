# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Coconut record managed by hand (a staff member, a staff group): find it, compare, write unless checking.

The staff and user_group modules are their arguments and one call into here. `coconut` is a CoconutClient, or
anything with its methods (the unit tests pass a fake).
"""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import normalise, user_groups_named
from ansible_collections.coconut.entra.plugins.module_utils.staff_view import staff_row

STAFF_FIELDS = ("first_name", "last_name", "email", "job_title", "language", "role", "locations", "user_group_id")


def find_staff(coconut, staff_id, email):
    """The staff member with `staff_id`, else the one whose email is `email` (trimmed, case-folded), else None."""
    if staff_id:
        return coconut.get_staff(staff_id)
    wanted = normalise(email)
    found = [s for s in coconut.list_staff() if normalise(s.get("email")) == wanted]
    if len(found) > 1:
        raise CoconutEntraError("%d Coconut staff have the email %s (ids %s); give the one to manage with id"
                                % (len(found), email, ", ".join(s["id"] for s in found)))
    return found[0] if found else None


def staff_changes(current, params):
    """Only the given fields whose value differs (locations as a set). An email that found the staff member is the key, not a change."""
    before, after = {}, {}
    for name in STAFF_FIELDS:
        value = params.get(name)
        if value is None or (name == "email" and not params.get("id")):
            continue
        old = current.get(name)
        same = sorted(old or []) == sorted(value) if name == "locations" else old == value
        if not same:
            before[name], after[name] = old, value
    status = _status(params)
    if current.get("status") != status:
        before["status"], after["status"] = current.get("status"), status
    return before, after


def _status(params):
    return "archived" if params.get("state") == "archived" else "active"


def ensure_staff(coconut, params, check_mode=False):
    """Make one staff member as `params` (the staff module's options) say: {"changed", "staff", "diff"}."""
    current = find_staff(coconut, params.get("id"), params.get("email"))
    if current is None:
        if params.get("id"):
            raise CoconutEntraError("no Coconut staff with id %s" % params["id"])
        missing = [name for name in ("first_name", "last_name", "email") if not params.get(name)]
        if missing:
            raise CoconutEntraError("no Coconut staff has the email %s; to create one, also give %s"
                                    % (params.get("email"), ", ".join(missing)))
        before, after = {}, {name: params[name] for name in STAFF_FIELDS if params.get(name) is not None}
        after["status"] = _status(params)
        staff = dict(after, id=None, integration=None)
        if not check_mode:
            staff = coconut.create_staff(after, send_invite=bool(params.get("send_invite")))
    else:
        before, after = staff_changes(current, params)
        staff = dict(current, **after)
        if after and not check_mode:
            staff = coconut.update_staff(current["id"], after)
    return {"changed": bool(after) and before != after, "staff": staff_row(staff), "diff": {"before": before, "after": after}}


def ensure_user_group(coconut, name, external_id=None, check_mode=False):
    """Make sure a staff group named `name` exists (matched as the sync matches names), with `external_id` when given."""
    found = user_groups_named(coconut.list_user_groups(), name)
    if len(found) > 1:
        raise CoconutEntraError("staff group name %r matches %d Coconut staff groups: %s; rename or remove all but one in Coconut, "
                                "nothing was written" % (name, len(found), ", ".join("%s (%s)" % (g.get("name"), g["id"]) for g in found)))
    existing = found[0] if found else None
    before = None if existing is None else {"name": existing["name"], "external_id": existing.get("external_id")}
    if existing is None:
        after = {"id": None, "name": name, "external_id": external_id}
        if not check_mode:
            after = coconut.create_user_group(name, external_id=external_id)
    elif external_id is not None and existing.get("external_id") != external_id:
        after = dict(existing, external_id=external_id)
        if not check_mode:
            after = coconut.update_user_group(existing["id"], {"external_id": external_id})
    else:
        after = existing
    desired = {"name": after["name"], "external_id": after.get("external_id")}
    return {"changed": before != desired, "user_group": after, "diff": {"before": before or {}, "after": desired}}
