"""plan() stays linear: its CPU at 100,000 users is about ten times its CPU at 10,000, not a hundred times."""

from growth import cpu_growth

from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff, plan, plan_is_empty

SIZE = 100_000
# Linear work grows 10x from SIZE / 10 to SIZE; quadratic work 100x. Anything under 30x is linear with room for noise.
MOST_GROWTH = 30


def equal_site(size):
    staff = [{"id": str(i), "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"user{i}@contoso.example",
              "job_title": "Teller", "status": "active", "locations": ["L1", "L2"], "user_group_id": "7", "role": 10,
              "integration": {"source": "entra_id", "object_id": f"00000000-0000-4000-8000-{i:012d}"}} for i in range(size)]
    desired = [DesiredStaff(object_id=f"00000000-0000-4000-8000-{i:012d}", display_name=f"First{i} Last{i}",
                            fields={"first_name": f"First{i}", "last_name": f"Last{i}", "email": f"user{i}@contoso.example",
                                    "job_title": "Teller", "locations": ["L2", "L1"], "user_group_id": "7", "role": 10})
               for i in range(size)]
    return desired, staff


def first_sync_site(size):
    # The first sync: nobody is synced yet, everyone is adopted by rule A.
    staff = [{"id": str(i), "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"USER{i}@contoso.example",
              "status": "active", "integration": None} for i in range(size)]
    desired = [DesiredStaff(object_id=f"oid-{i}", display_name=f"First{i} Last{i}",
                            fields={"first_name": f"First{i}", "last_name": f"Last{i}", "email": f"user{i}@contoso.example"})
               for i in range(size)]
    return desired, staff


def test_planning_100k_equal_users_is_linear_and_empty():
    desired, staff = equal_site(SIZE)
    result = plan(desired, staff)
    assert plan_is_empty(result) and result["counts"]["unchanged"] == SIZE

    def run(size):
        desired, staff = equal_site(size)
        return lambda: plan(desired, staff)

    growth = cpu_growth(run, SIZE // 10, SIZE)
    print(f"\nplan(): CPU at {SIZE:,} equal users / at {SIZE // 10:,}: {growth:.1f}x")
    assert growth < MOST_GROWTH, "plan() grows faster than linearly with the number of users"


def test_planning_100k_new_users_against_100k_unsynced_staff_is_linear():
    desired, staff = first_sync_site(SIZE)
    result = plan(desired, staff, archive_unsynced_duplicates=True)
    assert result["counts"]["adopt"] == SIZE and result["counts"]["archive"] == 0

    def run(size):
        desired, staff = first_sync_site(size)
        return lambda: plan(desired, staff, archive_unsynced_duplicates=True)

    growth = cpu_growth(run, SIZE // 10, SIZE)
    print(f"\nplan(): CPU of a first sync at {SIZE:,} / at {SIZE // 10:,}: {growth:.1f}x")
    assert growth < MOST_GROWTH, "plan() grows faster than linearly with the number of users"
