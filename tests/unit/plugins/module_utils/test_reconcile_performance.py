"""plan() stays linear: 100,000 Entra users against 100,000 staff plan in well under 2 s on a laptop."""

import time

from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff, plan, plan_is_empty

SIZE = 100_000


def test_planning_100k_equal_users_is_fast_and_empty():
    staff = [{"id": str(i), "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"user{i}@contoso.example",
              "job_title": "Teller", "status": "active", "locations": ["L1", "L2"], "user_group_id": "7", "role": 10,
              "integration": {"source": "entra_id", "object_id": f"00000000-0000-4000-8000-{i:012d}"}} for i in range(SIZE)]
    desired = [DesiredStaff(object_id=f"00000000-0000-4000-8000-{i:012d}", display_name=f"First{i} Last{i}",
                            fields={"first_name": f"First{i}", "last_name": f"Last{i}", "email": f"user{i}@contoso.example",
                                    "job_title": "Teller", "locations": ["L2", "L1"], "user_group_id": "7", "role": 10})
               for i in range(SIZE)]
    started = time.perf_counter()
    result = plan(desired, staff)
    elapsed = time.perf_counter() - started
    print(f"\nplan(): {SIZE:,} desired users vs {SIZE:,} staff in {elapsed:.2f} s")
    assert plan_is_empty(result) and result["counts"]["unchanged"] == SIZE
    assert elapsed < 60, "a guard against quadratic work, not a speed test (make bench measures speed)"


def test_planning_100k_new_users_against_100k_unsynced_staff_is_fast():
    # The first sync: nobody is synced yet, everyone is adopted by rule A.
    staff = [{"id": str(i), "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"USER{i}@contoso.example",
              "status": "active", "integration": None} for i in range(SIZE)]
    desired = [DesiredStaff(object_id=f"oid-{i}", display_name=f"First{i} Last{i}",
                            fields={"first_name": f"First{i}", "last_name": f"Last{i}", "email": f"user{i}@contoso.example"})
               for i in range(SIZE)]
    started = time.perf_counter()
    result = plan(desired, staff, archive_unsynced_duplicates=True)
    elapsed = time.perf_counter() - started
    print(f"\nplan(): first sync of {SIZE:,} users adopting {SIZE:,} unsynced staff in {elapsed:.2f} s")
    assert result["counts"]["adopt"] == SIZE and result["counts"]["archive"] == 0
    assert elapsed < 60, "a guard against quadratic work, not a speed test (make bench measures speed)"
