# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`entra_groups`, parsed once: the sync, connect (the integration module) and the EDA source read it here."""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.roles import ROLE_NAMES

GROUP_KEYS = ("group", "user_group", "role", "locations")


def parse_groups(groups):
    """Normalise `entra_groups` items (a string, or a dict with `group` and optional extras).

    A single string is one group name, never split at commas ("Coconut - Tellers, Main Street"); a single dict is one item.
    """
    if isinstance(groups, (str, dict)):
        groups = [groups]
    if groups is not None and not isinstance(groups, list):
        raise CoconutEntraError("entra_groups must be a list of Entra groups (object ids or exact display names, or dicts with 'group'); "
                                "got %s" % type(groups).__name__)
    if not groups:
        raise CoconutEntraError("entra_groups is empty: name at least one Entra group (its object id or exact display name)")
    parsed = []
    for index, item in enumerate(groups):
        where = "entra_groups[%d]" % index
        if isinstance(item, str):
            item = {"group": item}
        if not isinstance(item, dict):
            raise CoconutEntraError("%s must be a group id or name, or a dict with 'group'; got %s" % (where, type(item).__name__))
        unknown = sorted(set(item) - set(GROUP_KEYS))
        if unknown:
            raise CoconutEntraError("%s has unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(GROUP_KEYS)))
        ref = item.get("group")
        if not isinstance(ref, str) or not ref.strip():
            raise CoconutEntraError("%s needs 'group': an Entra group object id or exact display name" % where)
        role = item.get("role")
        if role is not None:
            # Only a whole code: 10.7 is not role 10, and true is not role 1.
            if isinstance(role, bool) or (isinstance(role, float) and not role.is_integer()):
                role = None
            try:
                role = int(role)
            except (TypeError, ValueError):
                role = None
            if role not in ROLE_NAMES:
                raise CoconutEntraError("%s role %r is not a Coconut role code; use one of %s" % (
                    where, item.get("role"), ", ".join("%d (%s)" % kv for kv in sorted(ROLE_NAMES.items()))))
        locations = item.get("locations")
        if locations is not None:
            if isinstance(locations, str):
                locations = [locations]
            if not isinstance(locations, list) or not all(isinstance(loc, str) and loc for loc in locations):
                raise CoconutEntraError("%s locations must be a list of Coconut location external ids" % where)
        user_group = item.get("user_group")
        if user_group is not None and (not isinstance(user_group, str) or not user_group.strip()):
            raise CoconutEntraError("%s user_group must be the name of a Coconut staff group" % where)
        parsed.append({"ref": ref.strip(), "role": role, "locations": locations, "user_group": user_group, "where": where})
    return parsed


def group_refs(groups):
    """Only the group references (object ids or display names) of `entra_groups`, checked as parse_groups checks them."""
    return [group["ref"] for group in parse_groups(groups)]
