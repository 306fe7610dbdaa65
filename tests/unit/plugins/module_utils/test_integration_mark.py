"""The integration mark has one home (reconcile.integration_mark): what the plan writes, apply sends and the
report shows as synced are the same record, and a staff record carrying it reads back as synced."""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.apply import apply_plan
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import (
    DesiredStaff,
    integration_mark,
    is_synced,
    plan,
    staff_object_id,
)
from ansible_collections.coconut.entra.plugins.module_utils.report import format_value


def test_the_mark_is_the_documented_entra_id_record_and_reads_back_as_synced():
    mark = integration_mark("o1")
    assert mark == {"source": "entra_id", "object_id": "o1"}  # what Coconut's API and product.md call a synced staff
    assert is_synced({"integration": mark}) and staff_object_id({"integration": mark}) == "o1"
    assert format_value(mark, "integration") == "✓ synced"


def test_creates_and_adoptions_in_the_plan_carry_the_mark():
    desired = [DesiredStaff("o1", "Ada Lovelace", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@x"}),
               DesiredStaff("o2", "Grace Hopper", {"first_name": "Grace", "last_name": "Hopper", "email": "grace@x"})]
    current = [{"id": "7", "first_name": "Grace", "last_name": "Hopper", "email": "grace@x", "status": "active"}]
    result = plan(desired, current)
    assert [c["fields"]["integration"] for c in result["create"]] == [integration_mark("o1")]
    assert [u["after"]["integration"] for u in result["update"]] == [integration_mark("o2")]


class RecordingClient:
    stats = {"requests": 0}

    def __init__(self):
        self.sent = []

    def list_user_groups(self):
        return []

    def bulk_create(self, attrs, send_invite=False):
        self.sent.extend(attrs)
        return [{"staff": {"id": str(n)}} for n in range(len(attrs))]


def test_apply_sends_each_create_with_the_mark_of_its_own_object_id():
    client = RecordingClient()
    apply_plan(client, {"create": [{"object_id": "o9", "display_name": "X", "fields": {"first_name": "X"}}]})
    assert client.sent == [{"first_name": "X", "integration": integration_mark("o9")}]
