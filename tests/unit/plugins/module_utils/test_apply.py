"""apply_plan against the sandbox's Coconut: bulk chunks, user group placeholders, 409 convergence,
per-item errors collected, fail-fast on a revoked token."""

from __future__ import annotations

import re

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.apply import apply_plan
from ansible_collections.coconut.entra.plugins.module_utils.coconut import CoconutClient
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import ServiceUnreachable

TOKEN = "coconut-apply-token-value"


def oid(n):
    return f"00000000-0000-4000-8000-{n:012d}"


def synced(n, **extra):
    record = {"id": 100 + n, "first_name": "Synced", "last_name": str(n), "email": f"synced{n}@bank.example", "status": "active",
              "integration": {"source": "entra_id", "object_id": oid(n)}}
    record.update(extra)
    return record


def scenario(users=(), user_groups=({"id": 1, "name": "Tellers"},)):
    return {"entra": {"tenant_id": "0b8a3d8e-1111-4a4a-8b8b-000000000001"},
            "coconut": {"api_tokens": [{"id": "t1", "value": TOKEN}], "user_groups": list(user_groups), "users": list(users),
                        "locations": [{"id": 1, "external_id": "MAIN", "name": "Main Street"}]}}


def create(n, **fields):
    values = {"first_name": "Ada", "last_name": f"Lovelace{n}", "email": f"ada{n}@bank.example"}
    values.update(fields)
    return {"object_id": oid(1000 + n), "display_name": f"Ada Lovelace{n}", "fields": values}


def plan(create=(), update=(), archive=()):
    return {"create": list(create), "update": list(update), "archive": list(archive), "conflicts": [], "possible_duplicates": [],
            "skipped": [], "counts": {}}


@pytest.fixture
def sandbox(module_sandbox):
    module_sandbox.reset(scenario())
    return module_sandbox


def coconut(sandbox, **overrides):
    options = dict(url=sandbox.vars["coconut_url"], api_token=TOKEN, ca_path=sandbox.ca_path, sleep=lambda s: None)
    options.update(overrides)
    return CoconutClient(**options)


def staff_by_oid(sandbox):
    return {(u.get("integration") or {}).get("object_id"): u for u in sandbox.state()["coconut"]["users"]}


def writes(sandbox):
    return [r for r in sandbox.requests() if r["service"] == "coconut" and r["method"] in ("POST", "PATCH", "PUT")]


def test_250_creates_go_in_3_bulk_chunks_marked_synced(sandbox):
    result = apply_plan(coconut(sandbox), plan(create=[create(n) for n in range(250)]), concurrency=3)
    assert len(result["created"]) == 250 and result["converged_conflicts"] == 0
    by_oid = staff_by_oid(sandbox)
    assert all(by_oid[oid(1000 + n)]["last_name"] == f"Lovelace{n}" for n in range(250))
    assert by_oid[oid(1000)]["integration"] == {"source": "entra_id", "object_id": oid(1000)}
    assert [r["method"] for r in writes(sandbox)] == ["POST"] * 3
    assert result["requests"] == 3


def test_updates_restores_adoptions_and_archives_write_only_their_after_values(sandbox):
    unsynced = {"id": 150, "first_name": " ADA", "last_name": "Byron", "email": "ada@bank.example", "job_title": "Teller"}
    sandbox.reset(scenario(users=[synced(1), synced(2, status="archived"), synced(3), unsynced]))
    result = apply_plan(coconut(sandbox), plan(
        update=[{"id": "101", "object_id": oid(1), "display_name": "Synced 1", "rule": "object_id", "adopt": False, "restore": False,
                 "before": {"job_title": None}, "after": {"job_title": "Manager"}},
                {"id": "102", "object_id": oid(2), "display_name": "Synced 2", "rule": "object_id", "adopt": False, "restore": True,
                 "before": {"status": "archived"}, "after": {"status": "active"}},
                {"id": "150", "object_id": oid(50), "display_name": "Ada Byron", "rule": "name_and_email", "adopt": True, "restore": False,
                 "before": {"first_name": " ADA", "integration": None},
                 "after": {"first_name": "Ada", "integration": {"source": "entra_id", "object_id": oid(50)}}}],
        archive=[{"id": "103", "object_id": oid(3), "display_name": "Synced 3", "reason": "out_of_scope",
                  "before": {"status": "active"}, "after": {"status": "archived"}}]))
    users = {u["id"]: u for u in sandbox.state()["coconut"]["users"]}
    assert users[101]["job_title"] == "Manager" and users[102]["status"] == "active" and users[103]["status"] == "archived"
    assert users[150]["first_name"] == "Ada" and users[150]["job_title"] == "Teller"
    assert users[150]["integration"] == {"source": "entra_id", "object_id": oid(50)}
    assert [e["id"] for e in result["updated"]] == ["101", "150"] and [e["id"] for e in result["restored"]] == ["102"]
    assert [e["id"] for e in result["archived"]] == ["103"]
    assert [r["method"] for r in writes(sandbox)] == ["PATCH", "PATCH"]  # one bulk for updates, one for archives


def test_new_user_group_placeholders_are_created_once_and_existing_ones_reused(sandbox):
    sandbox.reset(scenario(users=[synced(1)]))
    result = apply_plan(coconut(sandbox), plan(
        create=[create(1, user_group_id="new:Managers"), create(2, user_group_id="new:Managers"), create(3, user_group_id="new:Tellers")],
        update=[{"id": "101", "object_id": oid(1), "display_name": "Synced 1", "rule": "object_id", "adopt": False, "restore": False,
                 "before": {"user_group_id": None}, "after": {"user_group_id": "new:Managers"}}]))
    groups = {g["name"]: str(g["id"]) for g in sandbox.state()["coconut"]["user_groups"]}
    assert set(groups) == {"Tellers", "Managers"}
    assert result["user_groups_created"] == [{"id": groups["Managers"], "name": "Managers"}]
    by_oid = staff_by_oid(sandbox)
    assert str(by_oid[oid(1001)]["user_group_id"]) == groups["Managers"] and str(by_oid[oid(1003)]["user_group_id"]) == groups["Tellers"]
    assert str(by_oid[oid(1)]["user_group_id"]) == groups["Managers"]


def test_a_409_on_create_converges_on_the_existing_staff_member(sandbox):
    # Someone else (another run) created this Entra user between plan and apply, with a stale title.
    existing = {"id": 140, "first_name": "Ada", "last_name": "Lovelace7", "email": "ada7@bank.example", "job_title": "Old",
                "status": "archived", "integration": {"source": "entra_id", "object_id": oid(1007)}}
    sandbox.reset(scenario(users=[existing]))
    result = apply_plan(coconut(sandbox), plan(create=[create(7, job_title="Teller"), create(8)]))
    users = sandbox.state()["coconut"]["users"]
    assert len(users) == 2  # one created, none duplicated
    converged = next(u for u in users if u["id"] == 140)
    assert converged["job_title"] == "Teller" and converged["status"] == "active"
    assert result["converged_conflicts"] == 1
    assert [e["object_id"] for e in result["created"]] == [oid(1008)]
    assert result["updated"][0]["id"] == "140" and result["updated"][0]["fields"] == ["job_title", "status"]


def test_per_item_errors_are_collected_and_raised_after_the_rest_is_applied(sandbox):
    sandbox.reset(scenario(users=[synced(1)]))
    with pytest.raises(CoconutEntraError) as caught:
        apply_plan(coconut(sandbox), plan(
            create=[create(1), create(2, email="not-an-email")],
            update=[{"id": "999", "object_id": oid(9), "display_name": "Gone Person", "rule": "object_id", "adopt": False, "restore": False,
                     "before": {"job_title": None}, "after": {"job_title": "x"}}],
            archive=[{"id": "101", "object_id": oid(1), "display_name": "Synced 1", "reason": "out_of_scope",
                      "before": {"status": "active"}, "after": {"status": "archived"}}]))
    message = caught.value.msg
    assert message.startswith("2 change(s) to Coconut staff failed:")
    assert "create Ada Lovelace2 <not-an-email>: invalid" in message and "(field email)" in message
    assert "update Gone Person: not_found" in message
    assert "a rerun converges" in message
    applied = caught.value.details["applied"]
    assert len(applied["created"]) == 1 and [e["id"] for e in applied["archived"]] == ["101"]
    assert len(caught.value.details["failed"]) == 2


def test_a_revoked_token_stops_the_apply_with_that_message(sandbox):
    sandbox.patch_coconut({"api_tokens": {"update": [{"id": "t1", "revoked": True}]}})
    with pytest.raises(CoconutEntraError) as caught:
        apply_plan(coconut(sandbox), plan(create=[create(n) for n in range(3)]))
    assert caught.value.msg.startswith("the Coconut API token was revoked: issue a new API token in Coconut")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value.details)


def test_send_invite_is_passed_to_creates(sandbox):
    apply_plan(coconut(sandbox), plan(create=[create(1)]), send_invite=True)
    assert [i["email"] for i in sandbox.state()["coconut"]["invites"]] == ["ada1@bank.example"]


def test_an_empty_plan_sends_nothing(sandbox):
    result = apply_plan(coconut(sandbox), plan())
    assert result["requests"] == 0 and sandbox.requests() == []


def test_a_throttled_chunk_is_retried_and_nothing_is_created_twice(sandbox):
    sandbox.faults([{"service": "coconut", "method": "POST", "path": "^/api/v2/users$", "status": 503, "after": 1,
                     "headers": {"Retry-After": "0"}}])
    result = apply_plan(coconut(sandbox), plan(create=[create(n) for n in range(200)]), concurrency=2)
    assert len(result["created"]) == 200
    assert len(sandbox.state()["coconut"]["users"]) == 200
    posts = [r for r in writes(sandbox) if re.search("users$", r["path"])]
    assert sorted(r["status"] for r in posts) == [200, 200, 503]


class FailingClient:
    """Answers every bulk write with `error`, counting the calls: what apply does next is decided by the error's type."""

    def __init__(self, error):
        self.error = error
        self.stats = {"requests": 0}
        self.calls = 0

    def list_user_groups(self):
        return []

    def bulk_create(self, attrs, send_invite=False):
        self.calls += 1
        raise self.error

    bulk_update = bulk_create


@pytest.mark.parametrize("error", [
    ServiceUnreachable("Coconut is down (any wording)", service="Coconut"),
    CoconutEntraError("Coconut answered 401 unauthorized while creating staff", status=401),
], ids=["unreachable", "revoked-token"])
def test_an_unreachable_service_or_a_revoked_token_stops_before_the_archives(error):
    client = FailingClient(error)
    with pytest.raises(CoconutEntraError) as raised:
        apply_plan(client, plan(create=[create(n) for n in range(250)], archive=[{"id": "7", "display_name": "Old"}]), concurrency=1)
    assert client.calls == 3  # the 3 create chunks already in flight; the archive chunk is never sent
    assert raised.value.msg == error.msg  # that one message, not a list of 251 alike failures
    assert raised.value.details["failed"] == [] and raised.value.details["applied"]["created"] == []


def test_a_message_that_merely_reads_like_unreachable_does_not_stop_the_apply():
    client = FailingClient(CoconutEntraError("cannot reach the location named in the record", status=422))
    with pytest.raises(CoconutEntraError) as raised:
        apply_plan(client, plan(create=[create(n) for n in range(250)], archive=[{"id": "7", "display_name": "Old"}]), concurrency=1)
    assert client.calls == 4  # 3 create chunks and the archive chunk: every item was tried
    assert len(raised.value.details["failed"]) == 251
