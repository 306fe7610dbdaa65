"""map_users stays linear at scale: one sandboxed Jinja2 context per user, not one per field, and no work that grows
with the users mapped so far."""

from growth import cpu_growth

from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users

SIZE = 100_000
MOST_GROWTH = 30  # linear: about 10x from SIZE / 10 to SIZE; quadratic: 100x


def graph_users(size):
    return [{"id": f"oid-{i}", "displayName": f"First{i} Last{i}", "givenName": f"First{i}", "surname": f"Last{i}",
             "mail": f"user{i}@contoso.example", "jobTitle": "Teller", "accountEnabled": True} for i in range(size)]


def test_mapping_100k_users_is_linear():
    mapping = Mapping({"language": "'en'"})
    desired, invalid = map_users(mapping, graph_users(SIZE), extras_for=lambda user: {"role": 10})
    assert len(desired) == SIZE and invalid == []
    assert desired[-1].fields == {"first_name": f"First{SIZE - 1}", "last_name": f"Last{SIZE - 1}", "email": f"user{SIZE - 1}@contoso.example",
                                  "job_title": "Teller", "language": "en", "role": 10}

    def run(size):
        users = graph_users(size)
        return lambda: map_users(mapping, users, extras_for=lambda user: {"role": 10})

    growth = cpu_growth(run, SIZE // 10, SIZE)
    print(f"\nmap_users(): CPU at {SIZE:,} users / at {SIZE // 10:,}: {growth:.1f}x")
    assert growth < MOST_GROWTH, "map_users grows faster than linearly with the number of users"
