"""The sync report in a real browser: filters and search find the right rows, names stay text, 10,000 staff stay fast.

Needs /usr/bin/chromium (`.ci/run` installs it through `.ci/debian-package.sh`); skips loudly without it. Screenshots go to artifacts/.
"""

from __future__ import annotations

import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.report import build_report_data, write_report

from .chromium import dump_dom, require_chromium, screenshot, url_of, with_driver

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# If either ran, the page's <html> element would carry data-pwned.
SCRIPT_NAME = "<script>document.documentElement.setAttribute('data-pwned','script')</script>"
IMG_TITLE = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">"
WHEN = datetime.datetime(2026, 11, 27, 7, 30, tzinfo=datetime.timezone.utc)  # noqa: UP017

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Chloé", "Mateo", "Zoë", "Arjun", "Fatima", "Kenji",
         "Sofia", "Owen", "Priya", "Daniel", "Aisha", "Tomás"]
LAST = ["Tremblay", "Nguyen", "Roy", "Singh", "Martin", "Chen", "Côté", "Wilson", "Okafor", "Gagnon", "Patel", "Kowalski",
        "Haddad", "Morales", "Fraser", "Dubois", "Kim", "Ahmed", "Lindqvist", "Brown"]
TITLES = ["Teller", "Senior Teller", "Financial Advisor", "Branch Manager", "Mortgage Specialist", "Member Service Rep"]
LOCATIONS = ["MAIN", "WEST", "NORTH", "HARBOUR"]


def staff(staff_id, first, last, email, synced=False, status="active", **extra):
    record = {
        "id": staff_id, "first_name": first, "last_name": last, "email": email, "username": None, "external_id": None,
        "job_title": "Teller", "language": "en", "role": 10, "status": status, "locations": ["MAIN"], "user_group_id": None,
        "integration": {"source": "entra_id", "object_id": f"5e6f0c1a-0000-4000-8000-{int(staff_id):012d}"} if synced else None,
    }
    record.update(extra)
    return record


def branch_staff(count, start=200):
    records = []
    for n in range(count):
        first, last = FIRST[n % len(FIRST)], LAST[(n * 7 + n // len(LAST)) % len(LAST)]
        records.append(staff(str(start + n), first, last, f"{first.lower()}.{last.lower()}{n}@mapleridge-cu.example",
                             synced=n % 5 != 0, status="archived" if n % 23 == 7 else "active",
                             job_title=TITLES[n % len(TITLES)], locations=[LOCATIONS[n % len(LOCATIONS)]], role=[10, 15, 20][n % 3]))
    return records


KNOWN = [
    staff("101", "Ada", "Lovelace", "ada.lovelace@mapleridge-cu.example", synced=True, job_title="Teller"),
    staff("140", "ada", "LOVELACE", "a.lovelace@mapleridge-cu.example", status="archived"),
    staff("106", "Linus", "Torvalds", "linus@mapleridge-cu.example"),
    staff("107", "Linus", "Torvalds", " Linus@Mapleridge-CU.example "),
    staff("108", "Margaret", "Hamilton", "m.hamilton@old.example"),
    staff("109", "Alan", "Turing", "alan.turing@mapleridge-cu.example", synced=True),
    staff("110", "Katherine", "Johnson", "katherine@mapleridge-cu.example", synced=True, status="archived"),
    staff("111", "Grace", "Hopper", "grace@mapleridge-cu.example"),
    staff("301", SCRIPT_NAME, "Mallory", "mallory@mapleridge-cu.example", job_title=IMG_TITLE),
]
DUPLICATES = {"101", "140", "106", "107"}


def plan_for(records):
    obj = "5e6f0c1a-0000-4000-8000-{:012d}".format
    return {
        "create": [{"object_id": obj(900), "display_name": "Barbara Liskov",
                    "fields": {"first_name": "Barbara", "last_name": "Liskov", "email": "barbara@mapleridge-cu.example",
                               "job_title": "Financial Advisor", "role": 15, "locations": ["WEST"],
                               "integration": {"source": "entra_id", "object_id": obj(900)}}}],
        "update": [
            {"id": "101", "object_id": obj(101), "display_name": "Ada Lovelace", "rule": "object_id", "adopt": False, "restore": False,
             "before": {"job_title": "Teller"}, "after": {"job_title": "Senior Teller"}},
            {"id": "111", "object_id": obj(111), "display_name": "Grace Hopper", "rule": "name_and_email", "adopt": True,
             "restore": False, "before": {"integration": None, "first_name": "Grace "},
             "after": {"integration": {"source": "entra_id", "object_id": obj(111)}, "first_name": "Grace"}},
            {"id": "110", "object_id": obj(110), "display_name": "Katherine Johnson", "rule": "object_id", "adopt": False,
             "restore": True, "before": {"status": "archived"}, "after": {"status": "active"}},
        ],
        "archive": [{"id": "109", "object_id": obj(109), "display_name": "Alan Turing", "reason": "out_of_scope",
                     "before": {"status": "active"}, "after": {"status": "archived"}}],
        "conflicts": [{"object_id": obj(950), "display_name": "Linus Torvalds", "email": "linus@mapleridge-cu.example",
                       "rule": "name_and_email", "candidates": ["106", "107"]}],
        "possible_duplicates": [{"object_id": obj(951), "display_name": "Margaret Hamilton", "email": "margaret@mapleridge-cu.example",
                                 "reason": "name", "candidates": ["108"]}],
        "skipped": [],
        "counts": {"create": 1, "update": 1, "archive": 1, "restore": 1, "adopt": 1, "unchanged": len(records) - 6, "conflict": 1,
                   "possible_duplicate": 1, "skipped": 0},
    }


def write(tmp_path, records, name="report.html"):
    data = build_report_data(site="https://mapleridge.coconutcalendar.com",
                             groups=[{"id": "grp-1", "displayName": "Coconut - Tellers"}, {"id": "grp-2", "displayName": "Coconut - Advisors"}],
                             check_mode=True, plan=plan_for(records), staff_before=records, generated_at=WHEN,
                             options={"membership": "direct"})
    return Path(write_report(str(tmp_path / name), data)["html"]), data


class UsersTab(HTMLParser):
    """What the dumped DOM shows: the Users tab's rows, the shown count, and attributes of <html>."""

    def __init__(self, dom):
        super().__init__()
        self.rows, self.root, self.shown, self.pressed = [], {}, None, []
        self._in_body = False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root = attrs
        elif tag == "tbody" and attrs.get("id") == "users-body":
            self._in_body = True
        elif tag == "tr" and self._in_body and "data-id" in attrs:
            self.rows.append(attrs["data-id"])
        elif attrs.get("id") == "users-shown":
            self.shown = int(attrs["data-shown"])
        elif tag == "button" and attrs.get("aria-pressed") == "true":
            self.pressed.append(attrs.get("data-filter"))

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    require_chromium()
    path, data = write(tmp_path_factory.mktemp("report"), KNOWN + branch_staff(36))
    return path, data


def test_all_rows_show_and_injected_markup_stays_text(page):
    path, data = page
    dom, _unused = dump_dom(url_of(path))
    tab = UsersTab(dom)
    assert tab.root.get("data-ready") == "true"
    assert "data-pwned" not in tab.root, "a name or job title ran as script"
    assert sorted(tab.rows) == sorted(u["id"] for u in data["users"])
    assert tab.shown == len(data["users"])
    assert "&lt;script&gt;document.documentElement.setAttribute('data-pwned','script')&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=" in dom


def test_filter_from_the_url_shows_only_duplicates(page):
    path, _unused = page
    tab = UsersTab(dump_dom(url_of(path, "filter=duplicates"))[0])
    assert set(tab.rows) == DUPLICATES and tab.shown == len(DUPLICATES)
    assert tab.pressed == ["duplicates"]


def test_search_from_the_url_matches_names_in_any_case(page):
    path, _unused = page
    tab = UsersTab(dump_dom(url_of(path, "q=LOVELACE"))[0])
    assert sorted(tab.rows) == ["101", "140"]


def test_archived_filter_and_search_combine(page):
    path, data = page
    tab = UsersTab(dump_dom(url_of(path, "filter=archived&q=lovelace"))[0])
    assert tab.rows == ["140"]
    archived = {u["id"] for u in data["users"] if u["status"] == "archived"}
    assert set(UsersTab(dump_dom(url_of(path, "filter=archived"))[0]).rows) == archived


def test_typing_in_the_search_box_and_clicking_a_filter(page, tmp_path):
    path, _unused = page
    driver = """
    window.addEventListener("load", function () {
      var box = document.getElementById("users-search");
      box.value = "torvalds";
      box.dispatchEvent(new Event("input"));
      setTimeout(function () { document.querySelector('[data-filter="synced"]').click(); }, 400);
      setTimeout(function () {
        document.documentElement.setAttribute("data-synced-rows", document.querySelectorAll("#users-body tr[data-id]").length);
        document.querySelector('[data-filter="unsynced"]').click();
        document.documentElement.setAttribute("data-hash", location.hash);
      }, 800);
    });
    """
    copy = with_driver(path, driver, tmp_path / "driven.html")
    tab = UsersTab(dump_dom(url_of(copy))[0])
    assert tab.root["data-synced-rows"] == "0"  # nobody called Torvalds is synced
    assert sorted(tab.rows) == ["106", "107"]
    assert tab.pressed == ["unsynced"]
    assert tab.root["data-hash"] == "#filter=unsynced&q=torvalds"  # a shareable view


def test_screenshots_for_people_to_look_at(page):
    path, _unused = page
    top = screenshot(url_of(path), ARTIFACTS / "report.png", size=(1400, 1000))
    # The whole page, as tall as it is, with the Users tab filtered to the duplicates.
    users = screenshot(url_of(path, "filter=duplicates"), ARTIFACTS / "report-users.png", size=(1400, 3000))
    print(f"screenshots: {top} {users}")


def test_long_lists_render_a_page_at_a_time_and_show_all_on_request(tmp_path):
    require_chromium()
    path, data = write(tmp_path, KNOWN + branch_staff(450))
    first = UsersTab(dump_dom(url_of(path))[0])
    assert len(first.rows) == 200 and first.shown == len(data["users"])
    driver = """window.addEventListener("load", function () { document.getElementById("users-more-page").click(); });"""
    everyone = UsersTab(dump_dom(url_of(with_driver(path, driver, tmp_path / "more.html")))[0])
    assert sorted(everyone.rows) == sorted(u["id"] for u in data["users"])


def test_ten_thousand_staff_render_filter_and_page(tmp_path):
    # The time is printed, not asserted (dump_dom's budget only stops a hung browser): speed is make bench's job.
    require_chromium()
    records = KNOWN + branch_staff(10_000 - len(KNOWN), start=1000)
    path, data = write(tmp_path, records, name="big.html")
    runs = []
    for _unused in range(3):
        dom, seconds = dump_dom(url_of(path), budget_ms=10_000)
        runs.append((seconds, UsersTab(dom)))
    runs.sort(key=lambda run: run[0])
    seconds, tab = runs[1]
    print(f"10,000 staff ({path.stat().st_size / 1e6:.1f} MB page): Chromium start to DOM dump {seconds:.2f} s (median of 3); "
          f"the page's script reached at {tab.root['data-script-start-ms']} ms, Users tab shown {tab.root['data-render-ms']} ms later")
    assert tab.shown == len(data["users"]) and len(tab.rows) == 200
    filtered = UsersTab(dump_dom(url_of(path, "filter=duplicates&q=lovelace"), budget_ms=10_000)[0])
    assert set(filtered.rows) >= {"101", "140"} and filtered.shown == len(filtered.rows)

    driver = """window.addEventListener("load", function () {
      var started = performance.now();
      document.getElementById("users-more-all").click();
      void document.body.offsetHeight;  // force the layout of every row
      document.documentElement.setAttribute("data-show-all-ms", String(Math.round(performance.now() - started)));
    });"""
    dom, seconds = dump_dom(url_of(with_driver(path, driver, tmp_path / "all.html")), budget_ms=20_000)
    everyone = UsersTab(dom)
    print(f"10,000 staff, 'Show all': every row built and laid out in {everyone.root['data-show-all-ms']} ms ({seconds:.2f} s in all)")
    assert len(everyone.rows) == len(data["users"])
    screenshot(url_of(path), ARTIFACTS / "report-10k.png", size=(1400, 1000), budget_ms=10_000)
