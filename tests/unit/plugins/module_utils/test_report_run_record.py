"""What an applied run's report records so that the run can be undone: its id, the site, the mode, the created staff
ids, and each change's before and after (the integration mark of an adoption, the status of an archive or restore)."""

import copy

from ansible_collections.coconut.entra.plugins.module_utils.report import FORMAT_VERSION, build_report_data

SITE = "https://mapleridge.coconutcalendar.com"
RUN_ID = "6f1c2d3e-0000-4000-8000-00000000abcd"
MARK = {"source": "entra_id", "object_id": "obj-grace"}


def staff(staff_id, first, last, synced=True, status="active", **extra):
    record = {"id": staff_id, "first_name": first, "last_name": last, "email": f"{first.lower()}@contoso.example",
              "job_title": None, "status": status, "user_group_id": None,
              "integration": {"source": "entra_id", "object_id": f"obj-{staff_id}"} if synced else None}
    record.update(extra)
    return record


STAFF = [staff("101", "Ada", "Lovelace", job_title="Teller"), staff("102", "Grace", "Hopper", synced=False),
         staff("103", "Alan", "Turing"), staff("104", "Katherine", "Johnson", status="archived")]
PLAN = {
    "create": [
        {"object_id": "obj-new", "display_name": "Barbara Liskov",
         "fields": {"first_name": "Barbara", "last_name": "Liskov", "email": "barbara@contoso.example", "user_group_id": "new:Tellers",
                    "integration": {"source": "entra_id", "object_id": "obj-new"}}},
        {"object_id": "obj-raced", "display_name": "Edsger Dijkstra",
         "fields": {"first_name": "Edsger", "last_name": "Dijkstra", "email": "edsger@contoso.example",
                    "integration": {"source": "entra_id", "object_id": "obj-raced"}}},
    ],
    "update": [
        {"id": "101", "object_id": "obj-101", "display_name": "Ada Lovelace", "rule": "object_id", "adopt": False, "restore": False,
         "before": {"job_title": "Teller"}, "after": {"job_title": "Retail"}},
        {"id": "102", "object_id": "obj-grace", "display_name": "Grace Hopper", "rule": "name_and_email", "adopt": True, "restore": False,
         "before": {"job_title": None, "integration": None}, "after": {"job_title": "Retail", "integration": MARK}},
        {"id": "104", "object_id": "obj-104", "display_name": "Katherine Johnson", "rule": "object_id", "adopt": False, "restore": True,
         "before": {"status": "archived"}, "after": {"status": "active"}},
    ],
    "archive": [{"id": "103", "object_id": "obj-103", "display_name": "Alan Turing", "reason": "out_of_scope",
                 "before": {"status": "active"}, "after": {"status": "archived"}}],
    "conflicts": [], "possible_duplicates": [], "skipped": [],
    "counts": {"create": 2, "update": 1, "archive": 1, "restore": 1, "adopt": 1, "unchanged": 0},
}
APPLIED = {"created": [{"id": "201", "object_id": "obj-new", "display_name": "Barbara Liskov"}],
           "updated": [{"id": "150", "object_id": "obj-raced", "display_name": "Edsger Dijkstra", "fields": [], "converged": True}],
           "archived": [], "restored": [], "user_groups_created": [{"id": 7, "name": "Tellers"}], "converged_conflicts": 1}


def report(check_mode=False):
    return build_report_data(site=SITE, groups=[], check_mode=check_mode, plan=copy.deepcopy(PLAN), staff_before=copy.deepcopy(STAFF),
                             generated_at=None, options={}, run_id=RUN_ID, applied=None if check_mode else APPLIED)


def by_action(data, action, staff_id=None):
    return [c for c in data["changes"] if c["action"] == action and (staff_id is None or c["id"] == staff_id)]


def test_an_applied_report_names_its_run_site_mode_and_format():
    data = report()
    assert (data["run_id"], data["site"], data["mode"], data["format_version"]) == (RUN_ID, SITE, "apply", FORMAT_VERSION)
    assert FORMAT_VERSION >= 2  # version 1 reports had no created ids: undo tells them apart by this


def test_a_check_report_says_check_and_has_no_created_ids():
    data = report(check_mode=True)
    assert data["mode"] == "check"
    assert [c["id"] for c in by_action(data, "create")] == [None, None]


def test_each_created_staff_member_carries_the_id_coconut_gave_it():
    created = {c["object_id"]: c["id"] for c in by_action(report(), "create")}
    # A create answered 409 (another run made that staff member) converged on the existing one: that is its id.
    assert created == {"obj-new": "201", "obj-raced": "150"}


def test_a_new_staff_group_is_recorded_by_the_id_it_was_made_with():
    create = by_action(report(), "create")[0]
    assert create["after"]["user_group_id"] == 7
    assert create["fields"][[f["name"] for f in create["fields"]].index("user_group_id")]["after"] == "Tellers (new staff group)"


def test_every_change_carries_before_and_after_of_each_field():
    data = report()
    create = by_action(data, "create")[0]
    assert create["before"] == {} and create["after"]["integration"] == {"source": "entra_id", "object_id": "obj-new"}
    assert by_action(data, "update", "101")[0]["before"] == {"job_title": "Teller"}
    assert by_action(data, "update", "101")[0]["after"] == {"job_title": "Retail"}
    adoption = by_action(data, "update", "102")[0]
    assert adoption["adopt"] is True
    assert adoption["before"] == {"job_title": None, "integration": None}
    assert adoption["after"] == {"job_title": "Retail", "integration": MARK}
    restore = by_action(data, "restore", "104")[0]
    assert (restore["before"], restore["after"]) == ({"status": "archived"}, {"status": "active"})
    archive = by_action(data, "archive", "103")[0]
    assert (archive["before"], archive["after"]) == ({"status": "active"}, {"status": "archived"})


def test_the_plan_itself_is_left_as_it_was():
    plan = copy.deepcopy(PLAN)
    build_report_data(site=SITE, groups=[], check_mode=False, plan=plan, staff_before=copy.deepcopy(STAFF), generated_at=None,
                      options={}, run_id=RUN_ID, applied=APPLIED)
    assert plan == PLAN
