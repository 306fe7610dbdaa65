"""plan() with its fast path for users found by object id gives exactly the plan (or the error) of the general path
(reconcile.SETTLE_FOUND_BY_OBJECT_ID = False: every user through _match and every later step), on generated sites
where many users are unchanged, some differ in one field, type or status only, and the rest match by rules A and B,
conflict or are possible duplicates."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reconcile_properties import desired_lists, options, skipped_from, staff_lists

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils import reconcile
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff, _copy, is_synced, plan

SETTINGS = settings(max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
FIELDS = ("first_name", "last_name", "email", "job_title", "locations", "user_group_id", "role")
# What may differ between a synced staff member and its user: nothing (the common case), or one thing that
# _update compares by its own rules (set of locations, ids as text, exact types, padding, an archived member).
TWEAKS = ["none", "none", "none", "reorder_locations", "role_as_text", "equal_other_type", "equal_other_type", "padded_first",
          "drop_field", "archived", "upper_id"]


@st.composite
def sites(draw):
    staff = draw(staff_lists())
    desired = draw(desired_lists())
    taken = {user.object_id.lower() for user in desired}
    mirrored = []
    for member in staff:
        if not is_synced(member) or not draw(st.booleans()):
            continue
        object_id = member["integration"]["object_id"]
        if object_id.lower() in taken:
            continue
        taken.add(object_id.lower())
        fields = {name: _copy(member[name]) for name in draw(st.lists(st.sampled_from(FIELDS), unique=True, min_size=1))}
        tweak = draw(st.sampled_from(TWEAKS))
        if tweak == "reorder_locations" and fields.get("locations"):
            fields["locations"] = list(reversed(fields["locations"]))
        elif tweak == "role_as_text" and isinstance(fields.get("role"), int):
            fields["role"] = str(fields["role"])
        elif tweak == "equal_other_type":  # equal under ==, of another type: 1 and 1.0, or 1 and True
            name = draw(st.sampled_from(sorted(fields)))
            member[name] = 1
            fields[name] = draw(st.sampled_from([1.0, True]))
        elif tweak == "padded_first" and fields.get("first_name"):
            fields["first_name"] = f" {fields['first_name']}"
        elif tweak == "drop_field":
            fields[draw(st.sampled_from(FIELDS))] = None
        elif tweak == "archived":
            member["status"] = "archived"
        elif tweak == "upper_id":
            object_id = object_id.upper()
        mirrored.append(DesiredStaff(object_id=object_id, display_name=draw(st.sampled_from([None, "Ada Lovelace"])), fields=fields))
    order = draw(st.permutations(range(len(desired) + len(mirrored))))
    everyone = desired + mirrored
    return [everyone[number] for number in order], staff


def plan_before(*args):
    """The general path: the fast path switched off."""
    reconcile.SETTLE_FOUND_BY_OBJECT_ID = False
    try:
        return reconcile._plan(*args)
    finally:
        reconcile.SETTLE_FOUND_BY_OBJECT_ID = True


def outcome(planner, desired, staff, opts, skipped, force_archive):
    try:
        return planner(desired, staff, opts["match"], opts["possible_duplicates"], "10%", force_archive, skipped,
                       opts["archive_unsynced_duplicates"], 0)
    except (CoconutEntraError, TypeError) as error:  # TypeError: set(1) for locations 1, before and now alike
        return ("error", type(error).__name__, str(error))


@SETTINGS
@given(sites(), options, st.lists(st.booleans(), min_size=16, max_size=16), st.booleans())
def test_the_fast_path_plans_exactly_what_the_general_path_plans(site, opts, mask, force_archive):
    desired, staff = site
    skipped = skipped_from(desired, mask)
    now = outcome(lambda *args: plan(args[0], args[1], match=args[2], possible_duplicates=args[3], archive_threshold=args[4],
                                     force_archive=args[5], skipped=args[6], archive_unsynced_duplicates=args[7]),
                  desired, staff, opts, skipped, force_archive)
    before = outcome(plan_before, desired, staff, opts, skipped, force_archive)
    assert now == before
    if not isinstance(now, tuple):
        assert [type(value) for item in now["update"] for value in item["after"].values()] == \
            [type(value) for item in before["update"] for value in item["after"].values()]
