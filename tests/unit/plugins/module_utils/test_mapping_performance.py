"""map_users stays cheap at scale: one sandboxed Jinja2 context per user, not one per field."""

import time

from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users

SIZE = 100_000


def test_mapping_100k_users_is_fast():
    users = [{"id": f"oid-{i}", "displayName": f"First{i} Last{i}", "givenName": f"First{i}", "surname": f"Last{i}",
              "mail": f"user{i}@contoso.example", "jobTitle": "Teller", "accountEnabled": True} for i in range(SIZE)]
    started = time.perf_counter()
    desired, invalid = map_users(Mapping({"language": "'en'"}), users, extras_for=lambda user: {"role": 10})
    elapsed = time.perf_counter() - started
    print(f"\nmap_users(): {SIZE:,} Entra users in {elapsed:.2f} s")
    assert len(desired) == SIZE and invalid == []
    assert desired[-1].fields == {"first_name": f"First{SIZE - 1}", "last_name": f"Last{SIZE - 1}", "email": f"user{SIZE - 1}@contoso.example",
                                  "job_title": "Teller", "language": "en", "role": 10}
    assert elapsed < 60, "a guard against quadratic work, not a speed test (make bench measures speed)"
