"""What delta sync needs from the sandbox: $deltatoken=latest, the graph.user cast alias, Coconut's integration filters."""

from sandbox.client import make_scenario, staff_from, synced


def test_deltatoken_latest_gives_a_link_without_enumerating(api_for):
    scenario = make_scenario(users=5)
    api = api_for(scenario)
    group = scenario["entra"]["groups"][0]["id"]
    first = api.graph(f"/v1.0/groups/delta?$filter=id eq '{group}'&$select=members&$deltatoken=latest").json()
    assert first["value"] == [] and "@odata.deltaLink" in first
    users = api.graph("/v1.0/users/delta?$select=id,surname&$deltatoken=latest").json()
    assert users["value"] == [] and "@odata.deltaLink" in users

    who = scenario["entra"]["users"][0]["id"]
    api.sandbox.patch_entra({"users": {"update": [{"id": who, "surname": "Renamed"}]},
                             "groups": {"update": [{"id": group, "members": [u["id"] for u in scenario["entra"]["users"][1:]]}]}})
    changed = api.graph(users["@odata.deltaLink"]).json()
    assert [u["id"] for u in changed["value"]] == [who]
    removed = api.graph(first["@odata.deltaLink"]).json()["value"][0]["members@delta"]
    assert removed == [{"@odata.type": "#microsoft.graph.user", "id": who, "@removed": {"reason": "changed"}}]


def test_the_sdk_cast_alias_graph_user(api_for):
    scenario = make_scenario(users=3)
    api = api_for(scenario)
    group = scenario["entra"]["groups"][0]["id"]
    response = api.graph(f"/v1.0/groups/{group}/members/graph.user?$select=id")
    assert response.status_code == 200 and len(response.json()["value"]) == 3


def test_staff_by_object_id_and_by_synced_mark(api_for):
    scenario = make_scenario(users=3)
    users = scenario["entra"]["users"]
    scenario["coconut"]["users"] = [staff_from(u, integration=synced(u)) for u in users[:2]] + [staff_from(users[2])]
    api = api_for(scenario)

    def emails(query):
        response = api.coconut("/api/v2/users?" + query)
        assert response.status_code == 200, response.text
        return sorted(r["attributes"]["email"] for r in response.json()["data"])

    assert emails(f"filter[integration.object_id]={users[0]['id']},{users[2]['id']},nobody") == [users[0]["mail"]]
    assert emails("filter[synced]=false") == [users[2]["mail"]]
    assert emails("filter[synced]=true&filter[status]=active") == sorted(u["mail"] for u in users[:2])
    assert api.coconut("/api/v2/users?filter[synced]=maybe").status_code == 400
    too_many = ",".join(f"id{n}" for n in range(101))
    assert api.coconut(f"/api/v2/users?filter[integration.object_id]={too_many}").status_code == 400
