"""The planner as it was before issue 13c's fast path for unchanged users, kept verbatim as the reference that
test_reconcile_fast_path.py compares the current plan() with. Test code only: nothing in plugins/ imports it."""

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import (
    _NO_CHANGE,
    POSSIBLE_DUPLICATE_CHOICES,
    _archive,
    _as_desired,
    _as_skipped,
    _copy,
    _email_candidates,
    _is_active,
    _match,
    _same,
    _StaffIndex,
    _unsynced_duplicates,
    archive_allowance,
    check_match,
    check_safety,
    integration_mark,
    normalise,
    staff_object_id,
)


def _plan(desired, staff, match, possible_duplicates, archive_threshold, force_archive, skipped, archive_unsynced_duplicates):
    rules = check_match(match)
    if possible_duplicates not in POSSIBLE_DUPLICATE_CHOICES:
        raise CoconutEntraError(f"coconut_possible_duplicates must be {' or '.join(POSSIBLE_DUPLICATE_CHOICES)}; got {possible_duplicates!r}")
    staff = list(staff)
    index = _StaffIndex(staff)
    synced_active = sum(1 for pos, member in enumerate(staff) if index.synced[pos] and _is_active(member))
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

    outcomes = [_match(index, staff, rules, key, user, ()) for key, user in users]
    # In-scope users whose mapped emails collide are possible duplicates of each other (unless already synced):
    # by default none of them is created or adopts anyone, so they claim no staff below either.
    sharing = _shared_emails(users, outcomes)
    if possible_duplicates != "create":
        for number in sharing:
            outcomes[number] = None
    # Staff adopted by one user are not candidates for the others: a conflict among identical staff members
    # resolves once one of them is taken, exactly as the next run would see it (keeps plan -> apply -> plan empty).
    while True:
        claimed_by = {}  # staff position -> the one user number claiming it, or a list when several do (memory)
        conflicted = []
        for number, outcome in enumerate(outcomes):
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
    unchanged = 0
    after_by_pos = {}
    under_review = set()
    for number, ((key, user), outcome) in enumerate(zip(users, outcomes)):  # noqa: B905 - equal lengths by construction
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

    in_scope = {entry[0] for entry in users} | skipped_keys
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
        check_safety(result, scope_size=len(users), skipped=skipped_items, synced_active=synced_active, threshold=archive_threshold)
    return result


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
