"""coconut_archive_threshold is parsed in one place (reconcile.parse_archive_threshold): what the sync validates before
reading anything and what the planner computes the allowance from cannot disagree."""

from __future__ import annotations

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import archive_allowance, parse_archive_threshold
from ansible_collections.coconut.entra.plugins.module_utils.sync import Sync

GOOD = [(5, 5), ("5", 5), (" 7 ", 7), (0, 0), ("10%", "10%"), (" 12.5 % ", "12.5 %")]
BAD = ["ten", "-1", -1, True, False, "10%%", None, "", "1.5", "\u0663", "\u0663%", 2.5]


def validated(value):
    sync = Sync(None, None, {"groups": [{"group": "Tellers"}], "archive_threshold": value})
    sync.validate()
    return sync.threshold


@pytest.mark.parametrize(("value", "parsed"), GOOD)
def test_the_sync_keeps_what_the_one_parser_gives(value, parsed):
    assert parse_archive_threshold(value) == parsed
    assert validated(value) == parsed


@pytest.mark.parametrize("value", BAD)
def test_the_sync_and_the_planner_refuse_the_same_values_with_the_same_message(value):
    with pytest.raises(CoconutEntraError) as by_sync:
        validated(value)
    with pytest.raises(CoconutEntraError) as by_planner:
        archive_allowance(value, 10)
    assert by_sync.value.msg == by_planner.value.msg
    assert by_sync.value.msg.startswith('coconut_archive_threshold must be a count or a percentage such as "10%"; got ')


def test_every_value_the_sync_accepts_gives_an_allowance():
    assert [archive_allowance(validated(value), 80) for value, _parsed in GOOD] == [5, 5, 7, 0, 8, 10]
