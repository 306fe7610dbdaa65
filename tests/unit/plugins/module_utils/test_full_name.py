"""A staff member's "First Last" is joined in one place (safe_text.full_name): the planner's archive entries, the diff,
the Coconut client's messages, the sync's conflict warnings and the report all show the same name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import coconut, diff, reconcile, safe_text
from ansible_collections.coconut.entra.plugins.module_utils.report import build_report_data, render_html
from ansible_collections.coconut.entra.plugins.module_utils.staff_view import duplicate_sets

TRICKY = {"id": "9", "first_name": " ", "last_name": "Noether", "email": "emmy@bank.example", "status": "active",
          "integration": {"source": "entra_id", "object_id": "obj-9"}}


@pytest.mark.parametrize("first, last, name", [
    ("Ada", "Lovelace", "Ada Lovelace"), (None, "Hopper", "Hopper"), ("Grace", "", "Grace"), (" ", "Noether", "Noether"),
    (None, None, ""), (7, "Seven", "7 Seven"),
])
def test_full_name_joins_the_parts_that_are_not_blank(first, last, name):
    assert safe_text.full_name({"first_name": first, "last_name": last}) == name


def test_every_view_of_a_staff_member_shows_the_one_full_name():
    plan = reconcile.plan([], [TRICKY], force_archive=True)
    assert plan["archive"][0]["display_name"] == "Noether"
    assert diff.plan_changes({"archive": [dict(plan["archive"][0], display_name=None)]}, {"9": TRICKY})[0]["display_name"] == "Noether"
    assert coconut._who(TRICKY) == "Noether <emmy@bank.example>"
    assert duplicate_sets([TRICKY, dict(TRICKY, id="10", email="")])[0]["names"] == ["Noether", "Noether"]
    plan["conflicts"] = [{"object_id": "obj-e", "display_name": "Emmy Noether", "email": "emmy@bank.example", "rule": "name_and_email",
                          "candidates": ["9"]}]
    html = render_html(build_report_data(site="https://x.example", groups=[], check_mode=True, plan=plan, staff_before=[TRICKY],
                                         generated_at=None, options={}))
    assert re.search(r"<dt>Name</dt><dd>Noether</dd>", html)


def test_no_other_python_file_joins_first_and_last_name():
    root = Path(safe_text.__file__).parents[2]
    joins = [f"{path.relative_to(root)}:{number}" for path in sorted(root.glob("plugins/**/*.py")) + sorted(root.glob("extensions/**/*.py"))
             if path.name != "safe_text.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"first_name.*last_name", line) and re.search(r"\bjoin\b", line) and "filter(present)" not in line]
    assert joins == []
