"""connect.py without a network: group references, the record it writes (never a secret, connected_at kept for the
same app), the order of its proofs, and that check mode and an unchanged record write nothing."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import connect
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

NOW = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.UTC)


class FakeEntra:
    tenant_id, client_id = "tenant-1", "client-1"

    def __init__(self, fail=None):
        self.fail = fail
        self.steps = []

    def _step(self, name):
        self.steps.append(name)
        if name == self.fail:
            raise CoconutEntraError(f"{name} was refused (403).", status=403)

    def token(self):
        self._step("token")

    def check_permission(self, permission):
        self._step(permission)

    def resolve_groups(self, refs):
        self._step("groups")
        return [{"id": "id-" + ref, "displayName": ref} for ref in refs]


class FakeCoconut:
    def __init__(self, record=None, fail=None):
        self.record = record
        self.fail = fail
        self.writes = []

    def check_token(self):
        if self.fail:
            raise CoconutEntraError("Coconut refused the API token (token_revoked)")

    def get_integration(self):
        return None if self.record is None else dict(self.record)

    def put_integration(self, record):
        self.writes.append(("put", dict(record)))
        self.record = dict(record)
        return dict(record)

    def delete_integration(self):
        self.writes.append(("delete",))
        self.record = None


# ---- group references -----------------------------------------------------------------------------


def test_one_group_name_is_never_split_at_commas():
    assert connect.group_refs("Coconut - Tellers, Main Street") == ["Coconut - Tellers, Main Street"]


def test_strings_and_dicts_with_group_give_trimmed_references():
    assert connect.group_refs([" Tellers ", {"group": "Advisors", "role": 20}]) == ["Tellers", "Advisors"]
    assert connect.group_refs({"group": "Tellers"}) == ["Tellers"]


@pytest.mark.parametrize("groups", [[], None, ["Tellers", "  "], [{"role": 10}], [5]])
def test_bad_group_references_are_refused_naming_entra_groups_before_anything_is_asked(groups):
    entra, coconut = FakeEntra(), FakeCoconut()
    with pytest.raises(CoconutEntraError, match="entra_groups"):
        connect.verify_and_record(entra, coconut, groups, ["User.Read.All"])
    assert entra.steps == [] and coconut.writes == []


# ---- the record -----------------------------------------------------------------------------------


def test_the_record_holds_ids_and_status_only_and_keeps_other_fields():
    record = connect.desired_record(FakeEntra(), [{"id": "g1"}, {"id": "g2"}], {"last_sync": {"status": "ok"}}, now=NOW)
    assert record == {"status": "connected", "tenant_id": "tenant-1", "client_id": "client-1", "groups": ["g1", "g2"],
                      "connected_at": "2026-05-01T12:00:00Z", "last_sync": {"status": "ok"}}


def test_reconnecting_the_same_app_keeps_connected_at_and_another_app_gets_a_new_one():
    existing = {"status": "connected", "tenant_id": "tenant-1", "client_id": "client-1", "groups": ["g0"],
                "connected_at": "2026-01-01T00:00:00Z"}
    assert connect.desired_record(FakeEntra(), [{"id": "g1"}], existing, now=NOW)["connected_at"] == "2026-01-01T00:00:00Z"
    other = dict(existing, client_id="client-0")
    assert connect.desired_record(FakeEntra(), [{"id": "g1"}], other, now=NOW)["connected_at"] == "2026-05-01T12:00:00Z"
    disconnected = dict(existing, status="disconnected")
    assert connect.desired_record(FakeEntra(), [{"id": "g1"}], disconnected, now=NOW)["connected_at"] == "2026-05-01T12:00:00Z"


# ---- proving both sides, then recording -----------------------------------------------------------


PERMISSIONS = ["GroupMember.Read.All", "User.Read.All"]


def test_the_proofs_run_in_order_and_the_first_failure_is_named_with_nothing_recorded():
    entra, coconut = FakeEntra(fail="User.Read.All"), FakeCoconut()
    with pytest.raises(CoconutEntraError) as caught:
        connect.verify_and_record(entra, coconut, ["Tellers"], PERMISSIONS)
    assert entra.steps == ["token", "GroupMember.Read.All", "User.Read.All"]
    assert caught.value.msg == ("connect: proving the Graph permission User.Read.All failed: User.Read.All was refused (403). "
                                "Nothing was recorded in Coconut")
    assert caught.value.details["check"] == "proving the Graph permission User.Read.All"
    assert caught.value.details["permission"] == "User.Read.All" and coconut.writes == []


def test_a_refused_coconut_token_fails_after_the_entra_proofs():
    entra, coconut = FakeEntra(), FakeCoconut(fail=True)
    with pytest.raises(CoconutEntraError, match="connect: proving the Coconut API token failed: .*token_revoked"):
        connect.verify_and_record(entra, coconut, ["Tellers"], PERMISSIONS)
    assert coconut.writes == []


def test_connecting_records_once_then_changes_nothing():
    coconut = FakeCoconut()
    first = connect.verify_and_record(FakeEntra(), coconut, ["Tellers"], PERMISSIONS)
    assert first["changed"] is True and first["checks"] == ["Entra token", *PERMISSIONS, "groups", "Coconut API token"]
    assert [w[0] for w in coconut.writes] == ["put"] and first["diff"]["before"] == {}
    again = connect.verify_and_record(FakeEntra(), coconut, ["Tellers"], PERMISSIONS)
    assert again["changed"] is False and len(coconut.writes) == 1


def test_check_mode_predicts_the_record_and_writes_nothing():
    coconut = FakeCoconut()
    result = connect.verify_and_record(FakeEntra(), coconut, ["Tellers"], PERMISSIONS, check_mode=True)
    assert result["changed"] is True and result["integration"]["groups"] == ["id-Tellers"] and coconut.writes == []


def test_disconnect_removes_the_record_once_and_check_mode_only_predicts_it():
    coconut = FakeCoconut({"status": "connected", "tenant_id": "t", "client_id": "c", "groups": []})
    assert connect.disconnect(coconut, check_mode=True)["changed"] is True and coconut.writes == []
    assert connect.disconnect(coconut)["changed"] is True and coconut.writes == [("delete",)]
    assert connect.disconnect(coconut)["changed"] is False and len(coconut.writes) == 1
