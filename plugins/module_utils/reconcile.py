# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matching and planning: desired staff (from Entra) + Coconut staff -> a Plan. Pure: no I/O, no clock.

The Plan is plain JSON-serialisable data (shape in docs/architecture.md), so it can be shown in
check mode, written to a report and applied unchanged. Output order follows the input order.
"""

from __future__ import annotations

import gc
import re
import sys
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.rules import MATCH_RULES, POSSIBLE_DUPLICATE_CHOICES, POSSIBLE_DUPLICATES_DEFAULT
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import full_name

SOURCE = "entra_id"  # the integration mark's source: Coconut shows such staff as synced from Entra ID
# Fields holding ids or codes: Coconut may hand them back as numbers, the inventory as strings.
_ID_FIELDS = frozenset(("role", "user_group_id"))
_THRESHOLD_COUNT = re.compile(r"^\s*([0-9]+)\s*$")
_THRESHOLD_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_NAMES_IN_MESSAGE = 10


def user_groups_named(user_groups, name):
    """The Coconut staff groups a name means: compared as Entra group names are (normalise), so "tellers" is "Tellers"."""
    key = normalise(name)
    return [group for group in user_groups if normalise(group.get("name")) == key]


def normalise(value):
    """The form in which matching compares text: NFKC, case-folded, trimmed, inner whitespace runs as one space."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if value.isascii():
        # Same result as below for ASCII (NFKC is the identity, casefold is lower), much faster. An already
        # normal value (a lowercase object id or email) is returned as the same object: the planner's indexes
        # then hold no second copy of it (memory at 100,000 staff).
        folded = value.lower()
        if " " in folded or not folded.isprintable():  # any ASCII whitespace but the space is unprintable
            folded = " ".join(folded.split())
        return value if folded == value else folded
    # NFKC again after casefold: folding can produce sequences NFKC would compose (keeps normalise idempotent).
    value = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(value.split())


def is_synced(staff):
    """Added through the Entra integration (the green check in Coconut's Users tab)."""
    integration = staff.get("integration")
    return isinstance(integration, dict) and integration.get("source") == SOURCE


def integration_mark(object_id):
    """The mark that makes a staff record synced with the Entra user `object_id`: the one place it is built."""
    return {"source": SOURCE, "object_id": object_id}


def staff_object_id(staff):
    """The Entra object id stored on a synced staff member, else None."""
    return staff["integration"].get("object_id") if is_synced(staff) else None


def _is_active(staff):
    return staff.get("status", "active") != "archived"


def _name_key(first, last):
    return normalise(f"{first or ''} {last or ''}")


# Slots where Python has them for dataclasses (3.10+): no per-object __dict__, 100,000 of these at a large site.
@dataclass(frozen=True, **({"slots": True} if sys.version_info >= (3, 10) else {}))
class DesiredStaff:
    """One Entra user in scope, mapped: the mapped fields plus the group's role, locations, user_group_id."""

    object_id: str
    display_name: str | None
    fields: dict = field(default_factory=dict)
    aliases: tuple = ()  # the user's mail and userPrincipalName: the possible-duplicate check looks at both


def _as_desired(item):
    if isinstance(item, DesiredStaff):
        desired = item
    elif isinstance(item, dict):
        desired = DesiredStaff(object_id=item.get("object_id"), display_name=item.get("display_name"), fields=dict(item.get("fields") or {}),
                               aliases=tuple(item.get("aliases") or ()))
    else:
        raise CoconutEntraError(f"internal error: desired staff must be DesiredStaff, got {type(item).__name__}")
    if not isinstance(desired.object_id, str) or not desired.object_id.strip():
        raise CoconutEntraError(f"internal error: desired staff {desired.display_name!r} has no Entra object id")
    return desired


def _as_skipped(item):
    if isinstance(item, str):
        return {"object_id": item, "display_name": None, "errors": []}
    skipped = {"object_id": item.get("object_id"), "display_name": item.get("display_name"), "errors": list(item.get("errors") or [])}
    if item.get("email"):
        skipped["email"] = item["email"]
    return skipped


def check_match(match):
    """The match rules as a tuple: object_id first, then name_and_email and/or display_name in the order to try them.

    object_id cannot be dropped or moved: a synced staff member is found only by its object id (rules A and B
    look at unsynced staff), so without it first every run would create or adopt a second staff member.
    """
    if isinstance(match, str):
        match = [match]
    rules = tuple(match or ())
    bad = [rule for rule in rules if rule not in MATCH_RULES]
    if bad or len(set(rules)) != len(rules) or not rules or rules[0] != "object_id":
        raise CoconutEntraError(f"coconut_match must be object_id followed by name_and_email and/or display_name in the order to try "
                                f"them, each once; got {list(rules)}. object_id comes first because a user synced before is "
                                "found only by its Entra object id; without it each run would create them again")
    return rules


def parse_archive_threshold(value):
    """coconut_archive_threshold as a count (an int: 5 or "5") or a percentage (the text "N%"): its one parser."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        count = _THRESHOLD_COUNT.match(value)
        if count:
            return int(count.group(1))
        if _THRESHOLD_PERCENT.match(value):
            return value.strip()
    raise CoconutEntraError("coconut_archive_threshold must be a count or a percentage such as \"10%%\"; got %r" % (value,))


def archive_allowance(threshold, synced_active):
    """How many archives `threshold` (a count, or "N%" of `synced_active`) allows.

    A percentage allows floor(N% x synced_active), and at least 1 when N > 0 (so 10% of 5 staff still lets one leave).
    """
    threshold = parse_archive_threshold(threshold)
    if isinstance(threshold, int):
        return threshold
    share = Fraction(_THRESHOLD_PERCENT.match(threshold).group(1))
    allowed = int(share * synced_active // 100)
    return max(allowed, 1) if share > 0 else allowed


def _copy(value):
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _same(name, desired, current):
    """Updating compares exactly (an adopted ' ADA' becomes 'Ada'); locations as sets; ids and codes as text."""
    if name == "locations":
        return set(desired or ()) == set(current or ())
    if name in _ID_FIELDS and desired is not None and current is not None:
        return str(desired) == str(current)
    return desired == current and type(desired) is type(current)


def _staff_label(staff):
    return full_name(staff) or None


class _StaffIndex:
    """Coconut staff indexed by the keys each match rule and the duplicate check compare; built on first use."""

    def __init__(self, staff):
        self.staff = staff
        self.by_object_id = by_object_id = {}
        self.unsynced = []
        self.synced = synced = []
        self.synced_active = 0  # synced staff not archived: what the archive threshold's percentage counts
        self.object_keys = object_keys = [None] * len(staff)  # normalised stored object id, per position
        for pos, member in enumerate(staff):
            integration = member.get("integration")  # is_synced(member), in the one loop over the staff
            if isinstance(integration, dict) and integration.get("source") == SOURCE:
                synced.append(True)
                if member.get("status", "active") != "archived":
                    self.synced_active += 1
                object_id = integration.get("object_id")
                if object_id:
                    key = object_keys[pos] = normalise(object_id)
                    held = by_object_id.get(key)
                    # One position as a plain int (the usual case), a list only when staff share the id: memory.
                    by_object_id[key] = pos if held is None else (held + [pos] if held.__class__ is list else [held, pos])
            else:
                synced.append(False)
                self.unsynced.append(pos)
        self._indexes = {}

    def _index(self, kind):
        if kind == "name":
            kind = "display_name"  # the same key: normalised "first last"
        if kind not in self._indexes:
            index = {}
            for pos in self.unsynced:
                member = self.staff[pos]
                if kind == "name_and_email":
                    key = (normalise(member.get("first_name")), normalise(member.get("last_name")), normalise(member.get("email")))
                    if not all(key):
                        continue
                elif kind == "display_name":
                    key = _name_key(member.get("first_name"), member.get("last_name"))
                else:
                    key = normalise(member.get("email"))
                if key:
                    index.setdefault(key, []).append(pos)
            self._indexes[kind] = index
        return self._indexes[kind]

    def candidates(self, rule, object_key, desired):
        """Staff positions rule `rule` finds for `desired`, in staff order."""
        if rule == "object_id":
            found = self.by_object_id.get(object_key, ())
            return (found,) if found.__class__ is int else found
        if not self.unsynced:
            return ()
        fields = desired.fields
        if rule == "name_and_email":
            key = (normalise(fields.get("first_name")), normalise(fields.get("last_name")), normalise(fields.get("email")))
            return self._index(rule).get(key, ()) if all(key) else ()
        if rule == "display_name":
            key = normalise(desired.display_name)
            return self._index(rule).get(key, ()) if key else ()
        if rule == "email":
            key = normalise(fields.get("email"))
        else:
            key = _name_key(fields.get("first_name"), fields.get("last_name"))
        return self._index(rule).get(key, ()) if key else ()


def _match(index, staff, rules, key, user, taken):
    """("match", rule, pos), ("conflict", rule, [pos, ...]) or None: the first rule with candidates (not in `taken`) decides."""
    for rule in rules:
        found = index.candidates(rule, key, user)
        if taken and found:
            found = [pos for pos in found if pos not in taken]
        if found:
            found = _preferred(staff, found)
            return ("match", rule, found[0]) if len(found) == 1 else ("conflict", rule, found)
    return None


def _preferred(staff, positions):
    """Active candidates first; archived ones only when no active one exists (adopting an archived one restores it)."""
    if len(positions) == 1:
        return positions
    active = [pos for pos in positions if _is_active(staff[pos])]
    return active or list(positions)


def plan(desired, staff, *, match=MATCH_RULES, possible_duplicates=POSSIBLE_DUPLICATES_DEFAULT, archive_threshold="10%", force_archive=False,
         skipped=(), archive_unsynced_duplicates=False, settled=0):
    """Compute the Plan that makes `staff` (Coconut) equal to `desired` (Entra, mapped). See docs/architecture.md.

    `skipped`: object ids, or {object_id, display_name, errors} items, of users left as they are (never created,
    updated or archived). Raises CoconutEntraError when the plan is unsafe (too many archives, an empty scope).
    `settled`: how many unchanged users (each with its one synced, active staff member) were taken out of `desired`
    and `staff` before planning (staff_table.Settler): counted as unchanged, in scope and synced active.
    """
    with collector_paused():
        return _plan(desired, staff, match, possible_duplicates, archive_threshold, force_archive, skipped, archive_unsynced_duplicates, settled)


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector off for the block, as it was after it.

    Reading and planning a large site allocate a few containers per user and staff member and make no reference
    cycles; the collector would rescan the growing heap again and again (a third of the sync's CPU at 100,000
    members). Memory is freed by reference counting as before; only cycles wait for the end of the block.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# The first pass settles users found by object id (below). False sends every user the general way, through _match and
# every later step: the equivalence test (test_reconcile_fast_path.py) compares the two, so the shortcut has no rules
# of its own.
SETTLE_FOUND_BY_OBJECT_ID = True


def _plan(desired, staff, match, possible_duplicates, archive_threshold, force_archive, skipped, archive_unsynced_duplicates, settled):
    rules = check_match(match)
    if possible_duplicates not in POSSIBLE_DUPLICATE_CHOICES:
        raise CoconutEntraError(f"coconut_possible_duplicates must be {' or '.join(POSSIBLE_DUPLICATE_CHOICES)}; got {possible_duplicates!r}")
    staff = list(staff)
    index = _StaffIndex(staff)
    synced_active = index.synced_active + settled
    archive_allowance(archive_threshold, synced_active)  # a bad threshold fails here, force_archive or not

    skipped_items = [_as_skipped(item) for item in skipped]
    skipped_keys = {normalise(item["object_id"]) for item in skipped_items if item["object_id"]}

    # A user listed twice keeps the first entry (the first selected group wins); skipped users are left alone.
    users = []
    seen = set(skipped_keys)
    for item in desired:
        item = _as_desired(item)
        key = normalise(item.object_id)
        if key not in seen:
            seen.add(key)
            users.append((key, item))

    # A user found by object id (one synced staff member holds that id) is settled here: no other step can change
    # that outcome (no other user holds the id; rules A and B and the duplicate checks look at unsynced staff only),
    # so its update is worked out at once and an unchanged one takes no part in anything below but the counts.
    outcomes = []
    direct = {}  # user number -> the update of a user found by object id, when anything changes
    others = []  # numbers of the users not found by object id: the steps below look at these only
    unchanged = settled
    after_by_pos = {}
    by_object_id = index.by_object_id
    for number, (key, user) in enumerate(users):
        pos = by_object_id.get(key) if SETTLE_FOUND_BY_OBJECT_ID else None
        if pos.__class__ is int:
            outcomes.append(("match", "object_id", pos))
            member = staff[pos]
            update = None if is_unchanged(user.fields, member.get) else _update(user, member, "object_id", True)
            if update:
                direct[number] = update
            else:
                unchanged += 1
            if archive_unsynced_duplicates:
                after_by_pos[pos] = update["after"] if update else _NO_CHANGE
        else:
            outcomes.append(_match(index, staff, rules, key, user, ()))
            others.append(number)
    # In-scope users whose mapped emails collide are possible duplicates of each other (unless already synced):
    # by default none of them is created or adopts anyone, so they claim no staff below either.
    sharing = _shared_emails(users, outcomes) if others else {}
    if possible_duplicates != "create":
        for number in sharing:
            outcomes[number] = None
    # Staff adopted by one user are not candidates for the others: a conflict among identical staff members
    # resolves once one of them is taken, exactly as the next run would see it (keeps plan -> apply -> plan empty).
    while True:
        claimed_by = {}  # staff position -> the one user number claiming it, or a list when several do (memory)
        conflicted = []
        for number in others:  # a synced staff member found by object id is claimed by no one else
            outcome = outcomes[number]
            if outcome is None:
                continue
            if outcome[0] == "match":
                held = claimed_by.get(outcome[2])
                claimed_by[outcome[2]] = number if held is None else (held + [number] if held.__class__ is list else [held, number])
            else:
                conflicted.append(number)
        adopted = {pos for pos, claimants in claimed_by.items() if claimants.__class__ is int and not index.synced[pos]}
        changed = False
        for number in conflicted:
            outcome = outcomes[number]
            if not adopted.isdisjoint(outcome[2]):
                key, user = users[number]
                rematched = _match(index, staff, rules, key, user, adopted)
                if rematched != outcome:
                    outcomes[number] = rematched
                    changed = True
        if not changed:
            break
    # A staff member claimed by two users is theirs to sort out: a conflict for each of them.
    shared = {pos for pos, claimants in claimed_by.items() if claimants.__class__ is list}

    result = {"create": [], "update": [], "archive": [], "conflicts": [], "possible_duplicates": [], "skipped": skipped_items}
    under_review = set()
    for number in sorted(others + list(direct)) if direct else others:  # in the users' order
        if number in direct:
            result["update"].append(direct[number])
            continue
        (key, user), outcome = users[number], outcomes[number]
        email = user.fields.get("email")
        if number in sharing and possible_duplicates != "create":
            found = _email_candidates(index, user, adopted)
            others = sharing[number]
            found += [outcomes[other][2] for other in others if outcomes[other] and outcomes[other][0] == "match" and outcomes[other][2] not in found]
            under_review.update(found)
            result["possible_duplicates"].append({
                "object_id": user.object_id, "display_name": user.display_name, "email": email, "reason": "email",
                "candidates": [staff[pos]["id"] for pos in found], "created": False,
                "entra_users": [{"object_id": users[other][1].object_id, "display_name": users[other][1].display_name} for other in others]})
            continue
        if outcome and outcome[0] == "match" and outcome[2] in shared:
            pos = outcome[2]
            result["conflicts"].append({
                "object_id": user.object_id, "display_name": user.display_name, "email": email, "rule": outcome[1],
                "candidates": [staff[pos]["id"]],
                "shared_with": [users[other][1].object_id for other in claimed_by[pos] if users[other][1] is not user],
            })
            under_review.add(pos)
            continue
        if outcome and outcome[0] == "conflict":
            result["conflicts"].append({
                "object_id": user.object_id, "display_name": user.display_name, "email": email, "rule": outcome[1],
                "candidates": [staff[pos]["id"] for pos in outcome[2]],
            })
            under_review.update(outcome[2])
            continue
        if outcome:
            rule, pos = outcome[1], outcome[2]
            update = _update(user, staff[pos], rule, index.synced[pos])
            after_by_pos[pos] = update["after"] if update else _NO_CHANGE
            if update:
                result["update"].append(update)
            else:
                unchanged += 1
            continue
        duplicate = None
        for reason in ("email", "name"):
            if reason == "email":
                found = _email_candidates(index, user, adopted)
            else:
                found = [pos for pos in index.candidates(reason, key, user) if pos not in adopted]
            if found:
                duplicate = {"object_id": user.object_id, "display_name": user.display_name, "email": email, "reason": reason,
                             "candidates": [staff[pos]["id"] for pos in found], "created": possible_duplicates == "create"}
                if possible_duplicates != "create":
                    under_review.update(found)  # a person decides about these; created ones duplicate a synced staff member
                break
        if number in sharing:  # possible_duplicates: create (with report, these users were set aside above)
            duplicate = duplicate or {"object_id": user.object_id, "display_name": user.display_name, "email": email, "reason": "email",
                                      "candidates": [], "created": True}
            duplicate["entra_users"] = [{"object_id": users[other][1].object_id, "display_name": users[other][1].display_name}
                                        for other in sharing[number]]
        if duplicate:
            result["possible_duplicates"].append(duplicate)
            if possible_duplicates != "create":
                continue
        fields = {name: _copy(value) for name, value in user.fields.items()}
        fields["integration"] = integration_mark(user.object_id)
        result["create"].append({"object_id": user.object_id, "display_name": user.display_name, "fields": fields})

    in_scope = seen  # every user's key and the skipped users' keys
    archived = set()
    for pos, object_key in enumerate(index.object_keys):
        if object_key is not None and object_key not in in_scope and _is_active(staff[pos]):
            archived.add(pos)
            result["archive"].append(_archive(staff[pos], staff_object_id(staff[pos]), "out_of_scope"))

    if archive_unsynced_duplicates:
        for pos in _unsynced_duplicates(staff, index, after_by_pos, archived, adopted | under_review, result["create"]):
            result["archive"].append(_archive(staff[pos], None, "unsynced_duplicate"))

    restores = sum(1 for item in result["update"] if item["restore"])
    result["counts"] = {
        "create": len(result["create"]),
        "update": len(result["update"]) - restores,
        "archive": len(result["archive"]),
        "restore": restores,
        "adopt": sum(1 for item in result["update"] if item["adopt"]),
        "unchanged": unchanged,
        "conflict": len(result["conflicts"]),
        "possible_duplicate": len(result["possible_duplicates"]),
        "skipped": len(skipped_items),
    }
    if not force_archive:
        check_safety(result, scope_size=len(users) + settled, skipped=skipped_items, synced_active=synced_active, threshold=archive_threshold)
    return result


_NO_CHANGE = {}  # after_by_pos of an unchanged match: one shared empty dict, only ever read


def is_unchanged(fields, get):
    """A synced staff member found by object id is unchanged: every field in `fields` equal to `get(name)` and of the same
    type, and the member not archived. No _update per-field rules are needed for that (equal lists of locations are
    equal as sets too); anything else is _update's to decide. The planner's first pass and staff_table's Settler ask this."""
    if get("status", "active") == "archived":
        return False
    for name, value in fields.items():
        current = get(name)
        if value.__class__ is not current.__class__ or value != current:
            return False
    return True


def _shared_emails(users, outcomes):
    """{user number: [numbers of the other users with the same mapped email]} for users not matched by object id."""
    first, by_email = {}, {}  # a list only for an email seen twice: 100,000 one-item lists cost memory and time
    for number, (_key, user) in enumerate(users):
        email = normalise(user.fields.get("email"))
        if email:
            held = first.setdefault(email, number)
            if held != number:
                by_email.setdefault(email, [held]).append(number)
    sharing = {}
    for numbers in by_email.values():
        if len(numbers) > 1:
            for number in numbers:
                outcome = outcomes[number]
                if not (outcome and outcome[0] == "match" and outcome[1] == "object_id"):
                    sharing[number] = [other for other in numbers if other != number]
    return sharing


def _email_candidates(index, user, excluded):
    """Unsynced staff holding the user's mapped email, mail or userPrincipalName (not in `excluded`), in that order."""
    found = []
    if not index.unsynced:
        return found
    by_email = index._index("email")
    seen = set()
    for address in (user.fields.get("email"), *user.aliases):
        key = normalise(address)
        if key and key not in seen:
            seen.add(key)
            found.extend(pos for pos in by_email.get(key, ()) if pos not in excluded and pos not in found)
    return found


def _update(user, member, rule, synced):
    before, after = {}, {}
    for name, value in user.fields.items():
        current = member.get(name)
        if value == current and type(value) is type(current) and name != "locations":
            continue
        if not _same(name, value, current):
            before[name] = _copy(current)
            after[name] = _copy(value)
    adopt = not synced
    if adopt:
        before["integration"] = _copy(member.get("integration"))
        after["integration"] = integration_mark(user.object_id)
    restore = not _is_active(member)
    if restore:
        before["status"] = member.get("status")
        after["status"] = "active"
    if not after:
        return None
    return {"id": member["id"], "object_id": user.object_id, "display_name": user.display_name, "rule": rule,
            "adopt": adopt, "restore": restore, "before": before, "after": after}


def _archive(member, object_id, reason):
    return {"id": member["id"], "object_id": object_id, "display_name": _staff_label(member), "reason": reason,
            "before": {"status": member.get("status", "active")}, "after": {"status": "archived"}}


def _unsynced_duplicates(staff, index, after_by_pos, archived, spared, creates):
    """Unsynced active staff sharing an email or name with someone synced and active once the plan is applied."""
    emails, names = set(), set()

    def remember(record):
        emails.add(normalise(record.get("email")))
        names.add(_name_key(record.get("first_name"), record.get("last_name")))

    for pos, member in enumerate(staff):
        if pos in after_by_pos:
            remember({**member, **after_by_pos[pos]})  # matched: synced and active after the plan
        elif is_synced(member) and _is_active(member) and pos not in archived:
            remember(member)
    for item in creates:
        remember(item["fields"])
    emails.discard("")
    names.discard("")
    return [pos for pos in index.unsynced
            if pos not in spared and _is_active(staff[pos])
            and (normalise(staff[pos].get("email")) in emails or _name_key(staff[pos].get("first_name"), staff[pos].get("last_name")) in names)]


def check_safety(plan, *, scope_size, skipped, synced_active, threshold):
    """Fail the plan (before any write, in check mode too) when it would archive too many staff.

    `scope_size`: how many enabled users the selected groups hold; `skipped`: the users left as they are;
    `synced_active`: the site's synced active staff; `threshold`: coconut_archive_threshold. The full plan and a
    delta run (which plans on the changed users only, but counts the whole site) both call this.
    """
    archives = plan["archive"]
    allowed = archive_allowance(threshold, synced_active)
    if not scope_size and not skipped and synced_active:
        raise CoconutEntraError(
            f"the selected Entra groups have no enabled users, so every one of the {synced_active} synced active staff would be archived; "
            "nothing was written. Check entra_groups (an emptied or wrong group, or a membership setting that finds nobody); "
            "if archiving everyone is intended, set coconut_force_archive: true",
            archive=len(archives), synced_active=synced_active)
    if len(archives) > allowed:
        raise too_many_archives("the plan", archives, threshold, allowed, synced_active,
                                "Check the selected Entra groups and their members first")


def too_many_archives(what, archives, threshold, allowed, synced_active, check):
    """The archive threshold's refusal, for the sync's plan and for an undo: how many, the allowance, the first names,
    what to check first (`check`) and the two ways on."""
    names = ", ".join(f"{item['display_name'] or '(no name)'} ({item['id']})" for item in archives[:_NAMES_IN_MESSAGE])
    if len(archives) > _NAMES_IN_MESSAGE:
        names += f" and {len(archives) - _NAMES_IN_MESSAGE} more"
    return CoconutEntraError(
        f"{what} would archive {len(archives)} staff, more than coconut_archive_threshold {threshold} allows "
        f"({allowed} of {synced_active} synced active staff); nothing was written. Would be archived: {names}. {check}; "
        "if these archives are intended, set coconut_force_archive: true or raise coconut_archive_threshold",
        archive=len(archives), allowed=allowed, threshold=threshold, synced_active=synced_active)


def apply_to_records(staff, plan):
    """The staff records after a successful apply of `plan` (new staff get ids new-1, new-2, ...). Pure."""
    records = [_copy(member) for member in staff]
    by_id = {record["id"]: record for record in records}
    for item in plan["update"]:
        by_id[item["id"]].update(_copy(item["after"]))
    for item in plan["archive"]:
        by_id[item["id"]].update(_copy(item["after"]))
    number = 0
    for item in plan["create"]:
        number += 1
        while f"new-{number}" in by_id:
            number += 1
        record = {"id": f"new-{number}", "status": "active"}
        record.update(_copy(item["fields"]))
        by_id[record["id"]] = record
        records.append(record)
    return records


def plan_is_empty(plan):
    """True when the plan writes nothing (conflicts, possible duplicates and skipped users are reports, not writes)."""
    return not (plan["create"] or plan["update"] or plan["archive"])
