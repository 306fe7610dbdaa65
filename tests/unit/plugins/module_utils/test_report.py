"""The sync report: its data built from a plan, and the HTML, JSON and Markdown written from that data."""

import datetime
import json
import os
import re
import stat
import time

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.report import (
    build_report_data,
    format_value,
    render_html,
    render_markdown,
    report_paths,
    write_report,
)

XSS = "<script>alert(1)</script>"
BREAKOUT = "</script><script>alert(2)</script>"
WHEN = datetime.datetime(2026, 11, 27, 7, 30, tzinfo=datetime.timezone.utc)  # noqa: UP017
SITE = "https://mapleridge.coconutcalendar.com"
GROUPS = [{"id": "grp-tellers", "displayName": "Coconut - Tellers"}, {"id": "grp-advisors", "displayName": "Coconut - Advisors"}]


def staff(staff_id, first, last, email, synced=False, status="active", **extra):
    record = {
        "id": staff_id, "first_name": first, "last_name": last, "email": email, "username": None, "external_id": None,
        "job_title": None, "language": "en", "role": 10, "status": status, "locations": ["MAIN"], "user_group_id": None,
        "integration": {"source": "entra_id", "object_id": f"obj-{staff_id}"} if synced else None,
    }
    record.update(extra)
    return record


STAFF = [
    staff("101", "Ada", "Lovelace", "ada@contoso.example", synced=True, job_title="Teller"),
    staff("102", "Grace", "Hopper", "grace@contoso.example"),
    staff("103", "Alan", "Turing", "alan@contoso.example", synced=True),
    staff("104", "Katherine", "Johnson", "katherine@contoso.example", synced=True, status="archived"),
    staff("105", BREAKOUT, "Mallory", "mallory@contoso.example"),
    staff("106", "Linus", "Torvalds", "linus@contoso.example"),
    staff("107", "linus", "TORVALDS", " Linus@Contoso.example "),
    staff("108", "Margaret", "Hamilton", "m.hamilton@old.example"),
]

PLAN = {
    "create": [{"object_id": "obj-new", "display_name": f"{XSS} Liskov",
                "fields": {"first_name": XSS, "last_name": "Liskov", "email": "barbara@contoso.example", "job_title": "Advisor",
                           "integration": {"source": "entra_id", "object_id": "obj-new"}}}],
    "update": [
        {"id": "101", "object_id": "obj-101", "display_name": "Ada Lovelace", "rule": "object_id", "adopt": False, "restore": False,
         "before": {"job_title": "Teller"}, "after": {"job_title": "Senior Teller"}},
        {"id": "102", "object_id": "obj-grace", "display_name": "Grace Hopper", "rule": "name_and_email", "adopt": True, "restore": False,
         "before": {"integration": None}, "after": {"integration": {"source": "entra_id", "object_id": "obj-grace"}}},
        {"id": "104", "object_id": "obj-104", "display_name": "Katherine Johnson", "rule": "object_id", "adopt": False, "restore": True,
         "before": {"status": "archived"}, "after": {"status": "active"}},
    ],
    "archive": [{"id": "103", "object_id": "obj-103", "display_name": "Alan Turing", "reason": "out_of_scope",
                 "before": {"status": "active"}, "after": {"status": "archived"}}],
    "conflicts": [{"object_id": "obj-linus", "display_name": "Linus Torvalds", "email": "linus@contoso.example",
                   "rule": "name_and_email", "candidates": ["106", "107"]}],
    "possible_duplicates": [{"object_id": "obj-margaret", "display_name": "Margaret Hamilton", "email": "margaret@contoso.example",
                             "reason": "name", "candidates": ["108"]}],
    "skipped": [{"object_id": "obj-bad", "display_name": "No Mail", "errors": [{"field": "email", "message": "is empty"}]}],
    "counts": {"create": 1, "update": 1, "archive": 1, "restore": 1, "adopt": 1, "unchanged": 0, "conflict": 1,
               "possible_duplicate": 1, "skipped": 1},
}

OPTIONS = {
    "membership": "direct", "possible_duplicates": "report", "archive_threshold": "10%",
    "entra_client_secret": "s3cr3t-value", "coconut_api_token": "tok-value", "entra_client_private_key": "-----BEGIN KEY",
    "proxy_password": "pw-value", "nested": {"api_key": "key-value", "ok": 1},
}


def report(check_mode=True, plan=None, staff_before=None, **kwargs):
    plan = PLAN if plan is None else plan
    staff_before = STAFF if staff_before is None else staff_before
    return build_report_data(site=SITE, groups=GROUPS, check_mode=check_mode, plan=plan, staff_before=staff_before,
                             generated_at=WHEN, options=OPTIONS, **kwargs)


def users_by_id(data):
    return {row["id"]: row for row in data["users"]}


def test_summary_says_when_where_and_which_kind_of_run():
    data = report()
    assert data["generated_at"] == "2026-11-27T07:30:00+00:00"
    assert data["site"] == SITE
    assert data["groups"] == GROUPS
    assert data["mode"] == "check"
    assert report(check_mode=False, staff_after=STAFF)["mode"] == "apply"
    assert data["counts"]["create"] == 1 and data["counts"]["possible_duplicate"] == 1


def test_every_change_is_listed_with_fields_before_and_after_and_why():
    changes = {c["display_name"]: c for c in report()["changes"]}
    assert [c["label"] for c in report()["changes"]] == ["create", "update", "adopt", "restore", "archive"]
    ada = changes["Ada Lovelace"]
    assert ada["fields"] == [{"name": "job_title", "label": "Job title", "before": "Teller", "after": "Senior Teller"}]
    assert "stored Entra object id" in ada["why"]
    assert "rule A" in changes["Grace Hopper"]["why"] and "adopted" in changes["Grace Hopper"]["why"]
    assert changes["Katherine Johnson"]["fields"][0] == {"name": "status", "label": "Status", "before": "archived", "after": "active"}
    assert "no longer in scope" in changes["Alan Turing"]["why"]
    created = changes[f"{XSS} Liskov"]
    assert created["id"] is None and created["email"] == "barbara@contoso.example"
    assert [f["name"] for f in created["fields"]] == ["first_name", "last_name", "email", "job_title", "integration"]


def test_conflicts_and_possible_duplicates_show_the_candidate_staff_and_the_rule():
    data = report()
    conflict = data["conflicts"][0]
    assert [c["id"] for c in conflict["candidates"]] == ["106", "107"]
    assert conflict["candidates"][1]["email"] == " Linus@Contoso.example "
    assert "rule A" in conflict["why"] and "nothing was written" in conflict["why"]
    duplicate = data["possible_duplicates"][0]
    assert duplicate["candidates"][0]["first_name"] == "Margaret" and duplicate["candidates"][0]["synced"] is False
    assert "first and last name" in duplicate["why"] and "not created" in duplicate["why"]


def test_a_candidate_gone_from_coconut_is_marked_missing():
    plan = dict(PLAN, conflicts=[dict(PLAN["conflicts"][0], candidates=["106", "999"])])
    assert report(plan=plan)["conflicts"][0]["candidates"][1] == {"id": "999", "missing": True}


def test_check_mode_users_tab_is_the_predicted_state():
    users = users_by_id(report())
    assert users["new-1"]["synced"] is True and users["new-1"]["change"] == "create"
    assert users["101"]["job_title"] == "Senior Teller" and users["101"]["change"] == "update"
    assert users["102"]["synced"] is True and users["102"]["change"] == "adopt"
    assert users["103"]["status"] == "archived" and users["103"]["change"] == "archive"
    assert users["104"]["status"] == "active" and users["104"]["change"] == "restore"
    assert users["108"]["change"] is None
    assert len(users) == len(STAFF) + 1


def test_applied_run_users_tab_is_the_staff_after_the_run():
    after = [dict(s) for s in STAFF] + [staff("200", XSS, "Liskov", "barbara@contoso.example", synced=True)]
    after[-1]["integration"]["object_id"] = "obj-new"
    users = users_by_id(report(check_mode=False, staff_after=after))
    assert "new-1" not in users
    assert users["200"]["change"] == "create"
    assert users["101"]["job_title"] == "Teller"  # the given state, not a prediction


def test_users_tab_flags_duplicates_and_lists_the_sets():
    data = report()
    users = users_by_id(data)
    assert users["106"]["duplicate"] and users["106"]["duplicate_with"] == ["107"]
    assert not users["101"]["duplicate"] and users["101"]["duplicate_with"] == []
    assert [(s["key"], s["members"]) for s in data["duplicate_sets"]] == [("email", ["106", "107"]), ("name", ["106", "107"])]
    assert data["users_counts"] == {"total": 9, "synced": 5, "unsynced": 4, "active": 8, "archived": 1, "duplicates": 2,
                                    "duplicate_sets": 2}


def test_users_tab_is_sorted_by_last_then_first_name():
    names = [(u["last_name"] or "").casefold() for u in report()["users"]]
    assert names == sorted(names)


def test_options_that_could_be_secrets_never_reach_the_report():
    data = report()
    assert data["options"] == {"membership": "direct", "possible_duplicates": "report", "archive_threshold": "10%", "nested": {"ok": 1}}
    text = json.dumps(data) + render_markdown(data) + render_html(data)
    for value in ("s3cr3t-value", "tok-value", "BEGIN KEY", "pw-value", "key-value"):
        assert value not in text


def test_an_empty_plan_renders_no_changes_everywhere():
    empty = {"create": [], "update": [], "archive": [], "conflicts": [], "possible_duplicates": [], "skipped": [], "counts": {}}
    data = report(plan=empty, staff_before=STAFF[:2])
    assert data["changes"] == [] and data["counts"]["create"] == 0
    assert "No changes" in render_markdown(data)
    assert 'id="no-changes"' in render_html(data)


def test_the_files_are_written_beside_each_other_atomically_and_privately(tmp_path):
    data = report()
    target = tmp_path / "deep" / "dir" / "report.html"
    previous = os.umask(0o022)  # a permissive umask: staff names and emails still stay the user's own
    try:
        paths = write_report(str(target), data)
    finally:
        os.umask(previous)
    assert paths == {"html": str(target), "json": str(tmp_path / "deep" / "dir" / "report.json"),
                     "markdown": str(tmp_path / "deep" / "dir" / "report.md")}
    for path in paths.values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(target.parent)) == ["report.html", "report.json", "report.md"]  # no temp files left
    assert json.loads((tmp_path / "deep" / "dir" / "report.json").read_text(encoding="utf-8")) == data


def test_rewriting_a_report_replaces_it(tmp_path):
    target = tmp_path / "report.html"
    write_report(str(target), report())
    write_report(str(target), report(plan=dict(PLAN, create=[])))
    assert "Liskov" not in target.read_text(encoding="utf-8")


def test_the_json_path_replaces_the_suffix():
    assert report_paths("out/sync.report.html")["json"] == os.path.join("out", "sync.report.json")
    assert report_paths("report")["markdown"] == "report.md"
    with pytest.raises(CoconutEntraError, match="must not end in .json"):
        report_paths("report.json")


def _json_block(page):
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match, "the page embeds its data"
    return match.group(1)


def test_html_escapes_every_name():
    page = render_html(report())
    assert XSS not in page and BREAKOUT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Liskov" in page
    # Only the page's own two script elements; an injected one would add a third.
    assert page.count("<script") == 2
    assert page.count("</script>") == 2


def test_html_data_block_cannot_break_out_and_parses_back():
    data = report()
    block = _json_block(render_html(data))
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block) == {"users": data["users"], "users_counts": data["users_counts"]}


def test_html_is_self_contained():
    page = render_html(report())
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.replace(f'href="{SITE}"', ""))
    assert "@import" not in page and "url(" not in page


def test_html_shows_the_summary_sections_and_filters():
    page = render_html(report())
    assert "CHECK · nothing was written" in page
    assert "Coconut - Tellers" in page and "Coconut - Advisors" in page
    for anchor in ('id="changes"', 'id="conflicts"', 'id="possible-duplicates"', 'id="skipped"', 'id="users"', 'id="users-search"'):
        assert anchor in page
    for name in ("all", "synced", "unsynced", "archived", "duplicates"):
        assert f'data-filter="{name}"' in page
    assert "<del>Teller</del>" in page and "<ins>Senior Teller</ins>" in page
    assert "APPLIED" in render_html(report(check_mode=False, staff_after=STAFF))


def test_a_site_that_is_not_a_web_address_is_not_a_link():
    data = build_report_data(site="javascript:alert(1)", groups=[], check_mode=True, plan=PLAN, staff_before=STAFF,
                             generated_at=WHEN, options={})
    assert 'href="javascript' not in render_html(data)


def test_markdown_summary_for_a_merge_request():
    text = render_markdown(report())
    assert text.startswith("### Coconut staff sync: CHECK, nothing was written\n")
    assert "mapleridge.coconutcalendar.com" in text and "Coconut - Tellers" in text
    assert "| Created | Updated | Restored | Archived |" in text
    assert "| 1 | 1 | 1 | 1 | 1 | 0 | 1 | 1 | 1 |" in text
    assert "Job title: Teller → Senior Teller" in text
    assert "#### Conflicts (1)" in text and "#### Possible duplicates (1)" in text and "#### Skipped users (1)" in text
    assert "<script" not in text and "&lt;script&gt;" in text


def test_markdown_lists_only_the_first_twenty_changes():
    plan = dict(PLAN, create=[{"object_id": f"obj-{i}", "display_name": f"User {i}",
                               "fields": {"first_name": "User", "last_name": str(i), "email": f"u{i}@contoso.example"}}
                              for i in range(25)])
    text = render_markdown(report(plan=plan))
    assert "(first 20 of 29; the HTML report lists them all)" in text
    assert "User 19" in text and "User 20" not in text


def test_markdown_table_cells_cannot_be_broken_by_a_pipe():
    plan = dict(PLAN, update=[dict(PLAN["update"][0], display_name="Ada | Lovelace")])
    line = next(line for line in render_markdown(report(plan=plan)).splitlines() if "Lovelace" in line)
    assert "Ada \\| Lovelace" in line
    assert len(re.split(r"(?<!\\)\|", line)) == 5  # three cells between the outer pipes


def big_staff(count):
    return [staff(str(i), f"First{i}", f"Last{i % (count // 2)}", f"user{i}@contoso.example", synced=i % 3 != 0,
                  status="archived" if i % 17 == 0 else "active", job_title="Teller")
            for i in range(1, count + 1)]


def test_ten_thousand_staff_build_and_render(tmp_path):
    # Times are printed for whoever reads the log, never asserted: they swing 2-3x on shared machines (make bench
    # measures speed as ratios).
    before = big_staff(10_000)
    plan = {"create": [], "archive": [], "conflicts": [], "possible_duplicates": [], "skipped": [],
            "update": [{"id": s["id"], "object_id": f"obj-{s['id']}", "display_name": "x", "rule": "object_id", "adopt": False,
                        "restore": False, "before": {"job_title": "Teller"}, "after": {"job_title": "Senior Teller"}}
                       for s in before[:2000]],
            "counts": {"update": 2000}}
    started = time.perf_counter()
    data = report(plan=plan, staff_before=before)
    built = time.perf_counter() - started
    write_report(str(tmp_path / "report.html"), data)
    written = time.perf_counter() - started - built
    print(f"10,000 staff: data built in {built:.2f} s, HTML+JSON+Markdown written in {written:.2f} s, "
          f"HTML {os.path.getsize(tmp_path / 'report.html') / 1e6:.1f} MB")
    assert len(data["users"]) == 10_000
    written_json = json.loads((tmp_path / "report.json").read_text())
    assert len(written_json["users"]) == 10_000 and len(written_json["changes"]) == 2000
    assert (tmp_path / "report.md").stat().st_size > 0


def test_a_check_run_and_the_real_run_after_it_report_the_same_changes():
    from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff, apply_to_records, plan

    def user(object_id, first, last, email, display_name=None, **fields):
        return DesiredStaff(object_id=object_id, display_name=display_name or f"{first} {last}",
                            fields=dict(first_name=first, last_name=last, email=email, **fields))

    before = [staff(str(100 + n), f"Keep{n}", "Synced", f"keep{n}@contoso.example", synced=True, job_title="Teller") for n in range(20)]
    before += [staff("101", "Ada", "Lovelace", "ada@contoso.example", synced=True, job_title="Teller"),
               staff("102", "Grace", "Hopper", "grace@contoso.example"),
               staff("103", "Alan", "Turing", "alan@contoso.example", synced=True),
               staff("108", "Margaret", "Hamilton", "m.hamilton@old.example")]
    before = list({s["id"]: s for s in before}.values())
    desired = [user(f"obj-{s['id']}", s["first_name"], s["last_name"], s["email"], job_title="Teller")
               for s in before if s["first_name"].startswith("Keep")]
    desired += [user("obj-101", "Ada", "Lovelace", "ada@contoso.example", job_title="Senior Teller"),
                user("obj-grace", "Grace", "Hopper", "grace@contoso.example", job_title="Teller"),
                user("obj-margaret", "Margaret", "Hamilton", "margaret@contoso.example", display_name="M. Hamilton"),
                user("obj-new", XSS, "Liskov", "barbara@contoso.example", job_title="Advisor")]
    the_plan = plan(desired, before)
    checked = report(check_mode=True, plan=the_plan, staff_before=before)
    applied = report(check_mode=False, plan=the_plan, staff_before=before, staff_after=apply_to_records(before, the_plan))

    assert checked["changes"] == applied["changes"]
    assert sorted(c["label"] for c in checked["changes"]) == ["adopt", "archive", "create", "update"]
    assert [d["candidates"][0]["id"] for d in checked["possible_duplicates"]] == ["108"]
    assert {u["id"]: u["change"] for u in checked["users"] if u["change"]} == {"new-1": "create", "101": "update", "102": "adopt",
                                                                               "103": "archive"}
    assert render_html(checked).count("<script") == 2


def test_staff_groups_show_by_name_in_changes():
    from ansible_collections.coconut.entra.plugins.module_utils.diff import render_diff

    plan = {"create": [{"object_id": "o9", "display_name": "Noah Fischer",
                        "fields": {"first_name": "Noah", "last_name": "Fischer", "email": "noah@x", "user_group_id": "new:Tellers"}}],
            "update": [{"id": "7", "object_id": "o7", "display_name": "Ada Lovelace", "rule": "object_id", "adopt": False, "restore": False,
                        "before": {"user_group_id": None}, "after": {"user_group_id": "2"}}],
            "archive": [], "conflicts": [], "possible_duplicates": [], "skipped": [],
            "counts": {"create": 1, "update": 1}}
    staff = [{"id": "7", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@x", "status": "active",
              "integration": {"source": "entra_id", "object_id": "o7"}}]
    data = build_report_data(site=SITE, groups=GROUPS, check_mode=True, plan=plan, staff_before=staff, generated_at=WHEN,
                             options={}, user_group_names={"2": "Advisors"})
    shown = {c["display_name"]: {f["name"]: f["after"] for f in c["fields"]} for c in data["changes"]}
    assert shown["Noah Fischer"]["user_group_id"] == "Tellers (new staff group)"
    assert shown["Ada Lovelace"]["user_group_id"] == "Advisors (2)"
    from ansible_collections.coconut.entra.plugins.module_utils.diff import plan_changes

    text = "".join(d.get("after", "") for d in render_diff(plan_changes(plan, {"7": staff[0]}), plan["counts"], 10, {"2": "Advisors"}))
    assert "user_group_id: Tellers (new staff group)" in text and "user_group_id: Advisors (2)" in text


def test_roles_show_by_name_in_the_report_and_the_diff():
    from ansible_collections.coconut.entra.plugins.module_utils.diff import render_diff

    assert format_value(13, "role") == "Staff Plus (13)"
    change = {"action": "update", "id": "7", "display_name": "Ada", "email": "ada@x", "before": {"role": 10}, "after": {"role": 13}}
    diff = render_diff([change], {"update": 1}, 10)[1]
    assert diff["before"] == "role: Staff (10)\n" and diff["after"] == "role: Staff Plus (13)\n"


def test_users_tab_rows_carry_the_role_name():
    data = report()
    labels = {u["role_label"] for u in data["users"] if u["role"] is not None}
    assert labels and all(isinstance(label, str) and label.endswith(")") for label in labels)
    assert "cell(tr, u.role_label)" in render_html(data)
