"""The sandbox at benchmark size: 100,000 Entra users in one group and 100,000 Coconut staff."""

import json
import statistics
import time

import pytest

from sandbox.client import Ids, start

from .conftest import Api

SIZE = 100_000


def big_scenario():
    ids = Ids(42)
    users = [{"id": ids(), "displayName": f"Person {n}", "givenName": "Person", "surname": str(n), "mail": f"person{n}@bank.example",
              "userPrincipalName": f"person{n}@bank.example", "accountEnabled": n % 50 != 0, "jobTitle": "Teller",
              "department": "Retail", "officeLocation": "Main St", "employeeId": f"E{n}"} for n in range(SIZE)]
    staff = [{"id": 101 + n, "first_name": "Person", "last_name": str(n), "email": f"person{n}@bank.example", "job_title": "Teller",
              "integration": {"source": "entra_id", "object_id": users[n]["id"]}} for n in range(SIZE)]
    return {"entra": {"tenant_id": ids(), "applications": [{"roles": ["GroupMember.Read.All", "User.Read.All"], "secrets": [{"text": "perf~secret"}]}],
                      "users": users, "groups": [{"id": ids(), "displayName": "Everyone", "members": [u["id"] for u in users]}]},
            "coconut": {"api_tokens": [{"value": "perf-token"}], "users": staff}}


def timed(call, runs=5):
    samples = []
    for _unused in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


@pytest.mark.slow
def test_a_100k_scenario_loads_quickly_and_serves_big_pages_fast(tmp_path):
    scenario_file = tmp_path / "big.json"
    scenario = big_scenario()
    group = scenario["entra"]["groups"][0]["id"]
    scenario_file.write_text(json.dumps(scenario))
    started = time.monotonic()
    running = start(str(scenario_file), tmp_path / "run", timeout=60)
    ready = time.monotonic() - started
    try:
        api = Api(running)
        members = f"/v1.0/groups/{group}/members/microsoft.graph.user?$top=999&$select=id,givenName,surname,mail,accountEnabled,jobTitle"
        first = api.graph(members).json()
        page_time, response = timed(lambda: api.graph(first["@odata.nextLink"]))
        assert response.status_code == 200 and len(response.json()["value"]) == 999
        own_time = float(response.headers["Server-Timing"].split("dur=")[1]) / 1000
        read_started = time.perf_counter()
        items, pages, _unused = api.graph_all(members)
        read_all = time.perf_counter() - read_started
        staff_time, staff = timed(lambda: api.coconut("/api/v2/users?page=150&limit=500&filter[status]=active"))
        assert staff.status_code == 200 and len(staff.json()["data"]) == 500
        print(f"\n100k users + 100k staff: ready in {ready:.2f} s; one 999-member page {page_time * 1000:.1f} ms (median, client side;"
              f" {own_time * 1000:.1f} ms in the sandbox);"
              f" all {len(items)} members in {pages} pages {read_all:.2f} s; a 500-staff Coconut page {staff_time * 1000:.1f} ms")
        assert len(items) == SIZE and pages == 101
        assert ready < 30
        assert page_time < 1.0 and own_time < 0.1
    finally:
        running.stop()
