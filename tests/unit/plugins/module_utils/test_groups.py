"""entra_groups has one parser (module_utils/groups.py): the sync, connect and the EDA source read the same variable
the same way, and refuse bad input with the same words."""

from __future__ import annotations

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import connect, groups, sync
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

REFUSED = [
    (7, r"^entra_groups must be a list of Entra groups \(object ids or exact display names, or dicts with 'group'\); got int$"),
    ([], r"^entra_groups is empty: name at least one Entra group \(its object id or exact display name\)$"),
    (None, r"^entra_groups is empty"),
    (["Tellers", 5], r"^entra_groups\[1\] must be a group id or name, or a dict with 'group'; got int$"),
    ([{"group": "  "}], r"^entra_groups\[0\] needs 'group': an Entra group object id or exact display name$"),
    ([{"group": "Tellers", "site": "x"}], r"^entra_groups\[0\] has unknown key\(s\) site; allowed: group, user_group, role, locations$"),
    ([{"group": "Tellers", "locations": [""]}], r"^entra_groups\[0\] locations must be a list of Coconut location external ids$"),
    ([{"group": "Tellers", "user_group": " "}], r"^entra_groups\[0\] user_group must be the name of a Coconut staff group$"),
]


@pytest.mark.parametrize("value, message", REFUSED)
@pytest.mark.parametrize("reader", [sync.parse_groups, connect.group_refs], ids=["sync", "connect"])
def test_sync_and_connect_refuse_bad_entra_groups_with_the_same_message(reader, value, message):
    with pytest.raises(CoconutEntraError, match=message):
        reader(value)


def test_connect_and_the_eda_source_take_the_group_references_the_sync_takes():
    value = [" Coconut - Tellers, Main Street ", {"group": "Lending", "role": 10, "locations": "north"}]
    assert connect.group_refs(value) == [g["ref"] for g in sync.parse_groups(value)] == ["Coconut - Tellers, Main Street", "Lending"]
    assert sync.parse_groups is groups.parse_groups and connect.group_refs is groups.group_refs


def test_the_eda_source_reads_entra_groups_with_the_shared_parser():
    import ast
    from pathlib import Path

    source = Path(groups.__file__).parents[2] / "extensions" / "eda" / "plugins" / "event_source" / "entra_changes.py"
    imported = {(node.module, alias.name) for node in ast.walk(ast.parse(source.read_text()))
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert ("ansible_collections.coconut.entra.plugins.module_utils.groups", "group_refs") in imported
