"""Sync.run end to end against fake clients (no HTTP): check mode writes nothing, a real run applies its plan and takes
the site lease only when the plan writes, the CI gates stop a run before any write, and the delta safety check."""

from __future__ import annotations

import json
import threading

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import lease as lease_module
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import check_safety, integration_mark
from ansible_collections.coconut.entra.plugins.module_utils.staff_table import StaffTable
from ansible_collections.coconut.entra.plugins.module_utils.sync import Sync


def user(uid, first, last, enabled=True):
    return {"id": uid, "displayName": f"{first} {last}", "givenName": first, "surname": last, "accountEnabled": enabled,
            "mail": f"{first.lower()}@example.com", "userPrincipalName": f"{first.lower()}@example.com"}


def staff(sid, first, last, object_id=None, status="active", email=None):
    return {"id": sid, "first_name": first, "last_name": last, "email": email or f"{first.lower()}@example.com", "status": status,
            "integration": integration_mark(object_id) if object_id else None}


class FakeEntra:
    tenant_id, client_id, graph_url = "tenant", "client", "https://graph.invalid"

    def __init__(self, members):
        self.members = members  # group name -> users
        self.calls = []

    def token(self):
        self.calls.append("token")
        FakeLease.timeline.append("entra token")
        return "access-token"

    def resolve_groups(self, refs):
        return [{"id": "id-" + ref, "displayName": ref, "ref": ref} for ref in refs]

    def iter_group_members(self, group_id, transitive=False, select=None):
        self.calls.append("members " + group_id)
        return iter([dict(u) for u in self.members[group_id[3:]]])


class FakeCoconut:
    """Staff in memory; every write is recorded in `writes`."""

    def __init__(self, records):
        self.staff = {r["id"]: dict(r) for r in records}
        self.writes = []
        self.reads = 0
        self.stats = {"requests": 0}

    def list_staff(self):
        self.reads += 1
        return [dict(r) for r in self.staff.values()]

    def staff_table(self):
        """The full sync's read (CoconutClient.staff_table): the same staff, kept as the real client keeps them."""
        table = StaffTable()
        for record in self.list_staff():
            table.add(record)
        return table.done()

    # No integration record (connect.yml never run): the run's outcome is not recorded (outcome.py's own tests cover that).
    last_integration = None

    def get_integration(self):
        return None

    def update_integration(self, change):
        return None

    def list_user_groups(self):
        return []

    def list_locations(self):
        return []

    def bulk_create(self, list_of_attrs, send_invite=False):
        results = []
        for attrs in list_of_attrs:
            record = dict(attrs, id="new-%d" % (len(self.staff) + 1), status=attrs.get("status", "active"))
            self.staff[record["id"]] = record
            self.writes.append(("create", record["id"]))
            results.append({"staff": dict(record), "error": None})
        return results

    def bulk_update(self, updates):
        results = []
        for staff_id, attrs in updates:
            self.staff[staff_id].update(attrs)
            self.writes.append(("update", staff_id, dict(attrs)))
            results.append({"staff": dict(self.staff[staff_id]), "error": None})
        return results


class FakeLease:
    """Stands in for SiteLease's requests, recording what the run asked of it; the order of the steps is SiteLease's own."""

    made = []
    apply = lease_module.SiteLease.apply

    def __init__(self, coconut, wait, ttl, warn, while_settling=None):
        self.warn = warn
        self.steps = []
        self.stale = FakeLease.stale_on_acquire
        self.lost = None
        FakeLease.made.append(self)

    def observe(self):
        self.steps.append("observe")
        FakeLease.timeline.append("lease observe")

    def acquire(self):
        self.steps.append("acquire")

    def release(self, also=None):
        self.steps.append("release")
        self.also = also
        return False


@pytest.fixture(autouse=True)
def fake_lease(monkeypatch):
    FakeLease.made, FakeLease.stale_on_acquire, FakeLease.timeline = [], False, []
    monkeypatch.setattr(lease_module, "SiteLease", FakeLease)
    return FakeLease


TELLERS = [user("u-ana", "Ana", "Silva"), user("u-bo", "Bo", "Chen")]


def run(entra_members, records, check_mode=False, **options):
    entra, coconut = FakeEntra(entra_members), FakeCoconut(records)
    warnings = []
    opts = {"groups": ["Tellers"], "coconut_url": "https://site.invalid"}
    opts.update(options)
    sync = Sync(entra, coconut, opts, check_mode=check_mode, warn=warnings.append)
    return sync, coconut, warnings


# ---- check mode and real runs ---------------------------------------------------------------------


def test_check_mode_plans_but_writes_nothing_and_takes_no_lease(fake_lease):
    sync, coconut, _warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana")], check_mode=True)
    result = sync.run()
    assert result["changed"] is True and result["counts"]["create"] == 1
    assert [c["action"] for c in result["changes"]] == ["create"]
    assert coconut.writes == [] and fake_lease.made == []
    assert "applied" not in result


def test_a_real_run_applies_the_plan_under_the_lease(fake_lease):
    sync, coconut, _warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana"), staff("2", "Cy", "Old", "u-cy")],
                                   archive_threshold="100%")
    result = sync.run()
    assert sorted(w[0] for w in coconut.writes) == ["create", "update"]
    created = [r for r in coconut.staff.values() if r["id"].startswith("new-")]
    assert [(r["first_name"], r["integration"]) for r in created] == [("Bo", integration_mark("u-bo"))]
    assert coconut.staff["2"]["status"] == "archived"
    assert len(result["applied"]["created"]) == 1 and len(result["applied"]["archived"]) == 1
    [lease] = fake_lease.made
    assert lease.steps == ["observe", "acquire", "release"]
    assert fake_lease.timeline[:2] == ["entra token", "lease observe"], "a wrong secret must fail before Coconut is asked anything"
    # The run's outcome goes into the write that releases the lease: one read and one write of the record for both.
    assert lease.also["status"] == "connected" and lease.also["last_sync_at"] == lease.also["last_sync"]["at"]
    assert (lease.also["last_sync"]["mode"], lease.also["last_sync"]["changed"]) == ("apply", True)
    assert lease.also["last_sync"]["counts"]["create"] == 1 and lease.also["last_sync"]["counts"]["archive"] == 1


def test_a_real_run_with_nothing_to_change_writes_nothing_not_even_a_lease(fake_lease):
    sync, coconut, _warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana"), staff("2", "Bo", "Chen", "u-bo")])
    result = sync.run()
    assert result["changed"] is False and coconut.writes == []
    [lease] = fake_lease.made
    assert lease.steps == ["observe"]


def test_a_stale_plan_is_made_again_under_the_lease(fake_lease):
    fake_lease.stale_on_acquire = True
    sync, coconut, _warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana")])
    sync.run()
    assert coconut.reads == 2, "the plan was not made again after the lease said another run had applied"
    assert [w[0] for w in coconut.writes] == ["create"]


def test_a_failed_apply_still_releases_the_lease(fake_lease, monkeypatch):
    sync, coconut, _warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana")])

    def broken(*args, **kwargs):
        raise CoconutEntraError("Coconut answered 503")

    monkeypatch.setattr(coconut, "bulk_create", broken)
    with pytest.raises(CoconutEntraError):
        sync.run()
    assert fake_lease.made[0].steps == ["observe", "acquire", "release"]
    assert fake_lease.made[0].also is None, "a failed run's outcome is recorded by outcome.run_recorded, not as a success"


# ---- the CI gates ---------------------------------------------------------------------------------


CONFLICTED = [staff("1", "Ana", "Silva"), staff("2", "Ana", "Silva", email="ana@example.com")]


def test_fail_on_conflicts_stops_a_real_run_before_any_write(fake_lease):
    sync, coconut, _warnings = run({"Tellers": TELLERS}, CONFLICTED, fail_on_conflicts=True)
    with pytest.raises(CoconutEntraError, match="need a decision") as caught:
        sync.run()
    assert coconut.writes == []
    assert caught.value.details["result"]["changed"] is False


def test_fail_on_drift_fails_check_mode_only(fake_lease):
    sync, coconut, _warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana")], check_mode=True, fail_on_drift=True)
    with pytest.raises(CoconutEntraError, match=r"drift: Coconut differs from Entra \(1 create\)"):
        sync.run()
    sync, coconut, _warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana")], fail_on_drift=True)
    assert sync.run()["changed"] is True and [w[0] for w in coconut.writes] == ["create"]


def test_conflicts_are_warned_about_naming_the_staff(fake_lease):
    sync, _coconut, warnings = run({"Tellers": TELLERS}, CONFLICTED, check_mode=True)
    result = sync.run()
    assert result["counts"]["conflict"] == 1
    [warning] = [w for w in warnings if w.startswith("conflict:")]
    assert "Ana Silva <ana@example.com> (staff 1)" in warning and "(staff 2)" in warning


# ---- the delta safety check -----------------------------------------------------------------------


def delta_sync(delta, **options):
    """A Sync planned on a delta read: the changed users are the synced staff 1-3, gone from Entra."""
    sync, _coconut, _warnings = run({"Tellers": []}, [], **options)
    sync.validate()
    sync.resolved, sync.staff, sync.user_groups, sync.locations = [], [staff(str(n), "P%d" % n, "Q", "u%d" % n) for n in (1, 2, 3)], [], []
    sync.first_group, sync.desired, sync.invalid = {}, [], []
    sync.delta = dict(delta, changed=["u1", "u2", "u3"])
    return sync


def test_a_delta_run_counts_the_whole_site_against_the_archive_threshold():
    with pytest.raises(CoconutEntraError, match="would archive 3 staff, more than coconut_archive_threshold 10% allows \\(2 of 20"):
        delta_sync({"scope": 17, "synced_active": 20}).plan()
    assert len(delta_sync({"scope": 17, "synced_active": 20}, archive_threshold="20%").plan()["archive"]) == 3


def test_a_delta_run_whose_scope_emptied_refuses_to_archive_everyone():
    with pytest.raises(CoconutEntraError, match="have no enabled users"):
        delta_sync({"scope": 0, "synced_active": 3}, archive_threshold="100%").plan()


def test_force_archive_skips_the_delta_safety_check():
    assert len(delta_sync({"scope": 0, "synced_active": 3}, force_archive=True).plan()["archive"]) == 3


def plan_archiving(count):
    return {"archive": [{"id": str(n), "display_name": "P%d" % n} for n in range(count)]}


def test_check_safety_allows_up_to_the_threshold_and_names_what_it_refuses():
    check_safety(plan_archiving(2), scope_size=5, skipped=[], synced_active=20, threshold="10%")
    with pytest.raises(CoconutEntraError) as caught:
        check_safety(plan_archiving(3), scope_size=5, skipped=[], synced_active=20, threshold="10%")
    assert "Would be archived: P0 (0), P1 (1), P2 (2)" in caught.value.msg
    assert caught.value.details["allowed"] == 2 and caught.value.details["archive"] == 3


def test_check_safety_counts_skipped_users_as_a_scope():
    check_safety(plan_archiving(0), scope_size=0, skipped=[{"object_id": "u1"}], synced_active=3, threshold=0)
    with pytest.raises(CoconutEntraError, match="no enabled users"):
        check_safety(plan_archiving(0), scope_size=0, skipped=[], synced_active=3, threshold=0)
    check_safety(plan_archiving(0), scope_size=0, skipped=[], synced_active=0, threshold=0)


# ---- secrets ----------------------------------------------------------------------------------------


SECRETS = {"entra_client_secret": "entra-secret-value-1", "coconut_api_token": "coconut-token-value-2",
           "entra_client_private_key": "-----BEGIN PRIVATE KEY-----private-key-value-3"}


@pytest.mark.parametrize("check_mode", [True, False])
def test_no_secret_is_in_the_result_the_diff_or_the_report(tmp_path, check_mode):
    report = tmp_path / "report.html"
    sync, _coconut, warnings = run({"Tellers": TELLERS}, [staff("1", "Ana", "Silva", "u-ana"), staff("2", "Ana", "Silva")],
                                   check_mode=check_mode, report=str(report), **SECRETS)
    result = sync.run()
    written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert written and result["counts"]["create"] == 1
    for value in SECRETS.values():
        assert value not in repr(result) and value not in repr(warnings) and value not in written


# ---- the delta read ---------------------------------------------------------------------------------


class DeltaEntra(FakeEntra):
    """Graph's delta rounds from stored links: the users round and the group's must be in flight together, or the
    barrier breaks (after 5 s) and the read fails."""

    def __init__(self, members, changed_users):
        super().__init__(members)
        self.changed_users = changed_users
        self.together = threading.Barrier(2, timeout=5)

    def state_key(self, purpose):
        return b"k" * 32

    def delta_changes(self, link, what, params=None, permission=None):
        self.together.wait()
        if "/groups/delta" in link:
            return [{"id": "id-Tellers", "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": u["id"]} for u in self.changed_users]}], \
                link + "-next"
        return [dict(u) for u in self.changed_users], link + "-next"

    def users_by_id(self, ids, select=None):
        return [dict(u) for u in self.changed_users if u["id"] in ids]


def test_a_delta_read_asks_for_the_users_round_beside_the_groups_and_makes_the_next_state_while_the_lease_settles(tmp_path):
    from ansible_collections.coconut.entra.plugins.module_utils import delta
    from ansible_collections.coconut.entra.plugins.module_utils.sync import StateInTheBackground

    joiner = user("u-cy", "Cy", "Lee")
    entra = DeltaEntra({"Tellers": TELLERS + [joiner]}, [joiner])
    sync = Sync(entra, FakeCoconut([]), {"groups": ["Tellers"], "coconut_url": "https://site.invalid", "delta_state": str(tmp_path / "state.json")})
    sync.validate()
    sync.resolved = entra.resolve_groups(["Tellers"])
    links = {"id-Tellers": "https://graph.invalid/v1.0/groups/delta?$deltatoken=g"}
    stored = delta.sign(delta.new_state(sync.fingerprint, ["id-Tellers"], links, "https://graph.invalid/v1.0/users/delta?$deltatoken=u",
                                        {"id-Tellers": ["u-bo", "u-ana"]}, []), entra.state_key("delta state"))
    assert sync.read_delta(stored) is True
    assert sync.delta["changed"] == {"u-cy"} and sync.delta["scope"] == 3
    # Nothing of the next state is made until the lease settles (the run's reads go first), then it is made in a thread.
    assert isinstance(sync.next_state, StateInTheBackground) and sync.next_state._thread.ident is None
    sync._while_settling()
    state, encoded = sync.next_state.signed()
    assert state["members"] == {"id-Tellers": ["u-ana", "u-bo", "u-cy"]} and state["links"] == {"id-Tellers": links["id-Tellers"] + "-next"}
    assert delta.signed_by(state, entra.state_key("delta state")) and json.loads(encoded) == state
