"""The sandbox itself: command line, vars file, control endpoints, faults, latency, shutdown."""

import concurrent.futures
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest
import requests
import yaml

from sandbox.client import SERVE, load_demo_scenario, make_scenario

VARS = {"entra_tenant_id", "entra_client_id", "entra_client_secret", "entra_app_object_id", "entra_authority_host",
        "entra_graph_url", "coconut_url", "coconut_api_token", "ca_path", "sandbox_url"}


def test_vars_file_names_every_endpoint_and_the_first_credentials(sandbox):
    scenario = load_demo_scenario()
    app = scenario["entra"]["applications"][0]
    written = yaml.safe_load(sandbox.vars_file.read_text())
    assert set(written) == VARS
    assert written["entra_tenant_id"] == scenario["entra"]["tenant_id"]
    assert (written["entra_client_id"], written["entra_app_object_id"]) == (app["app_id"], app["id"])
    assert written["entra_client_secret"] == app["secrets"][0]["text"]
    assert written["coconut_api_token"] == scenario["coconut"]["api_tokens"][0]["value"]
    urls = [written[k] for k in ("entra_authority_host", "entra_graph_url", "coconut_url")]
    assert all(u.startswith("https://127.0.0.1:") for u in urls) and len(set(urls)) == 3
    assert written["sandbox_url"] == written["coconut_url"] + "/_sandbox"
    assert "BEGIN CERTIFICATE" in open(written["ca_path"]).read()
    assert [p.name for p in sandbox.vars_file.parent.iterdir() if ".tmp" in p.name] == []


def free_port_base():
    for base in range(20000, 60000, 97):
        sockets = []
        try:
            for offset in range(3):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


def test_port_base_puts_login_graph_coconut_on_consecutive_ports(start_sandbox):
    base = free_port_base()
    running = start_sandbox(make_scenario(), port_base=base)
    assert [running.vars[k] for k in ("entra_authority_host", "entra_graph_url", "coconut_url")] == [
        f"https://127.0.0.1:{base + n}" for n in range(3)]


def test_sigterm_stops_it_cleanly_and_nothing_secret_is_printed(start_sandbox):
    running = start_sandbox(make_scenario())
    requests_ok = running.session.get(running.vars["coconut_url"] + "/api/v2/users", verify=running.ca_path,
                                      headers={"Authorization": "Bearer " + running.vars["coconut_api_token"]}, timeout=10)
    assert requests_ok.status_code == 200
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=10) == 0
    output = running.stderr()
    assert "ready" in output
    assert running.vars["entra_client_secret"] not in output and running.vars["coconut_api_token"] not in output


def test_a_bad_scenario_fails_fast_with_a_message(tmp_path):
    scenario = tmp_path / "bad.yml"
    scenario.write_text("coconut: {}\n")
    result = subprocess.run([sys.executable, str(SERVE), "--scenario", str(scenario), "--vars-out", str(tmp_path / "v.yml")],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0 and "tenant_id" in result.stderr and not (tmp_path / "v.yml").exists()


def test_state_round_trips_and_put_regenerates_missing_ids(sandbox):
    state = sandbox.state()
    sandbox.put_state(state)
    assert sandbox.state() == state
    state["entra"]["users"].append({"displayName": "No Id", "accountEnabled": True})
    state["coconut"]["users"].append({"first_name": "No", "last_name": "Id", "email": "no.id@mapleridgecu.example"})
    sandbox.put_state(state)
    again = sandbox.state()
    assert again["entra"]["users"][-1]["id"] and again["coconut"]["users"][-1]["id"] == 134
    assert again["coconut"]["users"][-1]["status"] == "active"


def test_put_state_without_a_tenant_is_refused(sandbox):
    with pytest.raises(Exception, match="400"):
        sandbox.put_state({"coconut": {}})


def test_request_log_has_service_method_path_with_query_and_status_but_not_control_calls(sandbox):
    session = requests.Session()
    session.trust_env = False
    session.get(sandbox.vars["coconut_url"] + "/api/v2/users?page=2&limit=5", verify=sandbox.ca_path,
                headers={"Authorization": "Bearer nope"}, timeout=10)
    session.get(sandbox.vars["entra_graph_url"] + "/v1.0/users", verify=sandbox.ca_path, timeout=10)
    sandbox.state()
    assert sandbox.requests() == [{"service": "coconut", "method": "GET", "path": "/api/v2/users?page=2&limit=5", "status": 401},
                                  {"service": "graph", "method": "GET", "path": "/v1.0/users", "status": 401}]
    assert sandbox.requests(service="graph") == sandbox.requests()[1:]
    sandbox.clear_requests()
    assert sandbox.requests() == []


def coconut_get(sandbox, path="/api/v2/users"):
    return requests.get(sandbox.vars["coconut_url"] + path, verify=sandbox.ca_path, timeout=10,
                        headers={"Authorization": "Bearer " + sandbox.vars["coconut_api_token"]})


def test_fault_fires_after_n_matches_for_t_times_then_serves_normally(sandbox):
    sandbox.faults([{"service": "coconut", "method": "GET", "path": r"/users\?page=", "status": 503, "after": 1, "times": 2}])
    statuses = [coconut_get(sandbox, "/api/v2/users?page=1").status_code for _unused in range(5)]
    assert statuses == [200, 503, 503, 200, 200]
    assert coconut_get(sandbox, "/api/v2/users").status_code == 200  # the regex needs the query
    assert [r["status"] for r in sandbox.requests()] == [200, 503, 503, 200, 200, 200]


def test_fault_default_times_is_one_and_an_empty_list_clears(sandbox):
    sandbox.faults([{"service": "coconut", "path": "users", "status": 500}])
    assert [coconut_get(sandbox).status_code for _unused in range(2)] == [500, 200]
    sandbox.faults([{"service": "coconut", "path": "users", "status": 500, "times": None}])
    assert [coconut_get(sandbox).status_code for _unused in range(3)] == [500, 500, 500]
    sandbox.faults([])
    assert coconut_get(sandbox).status_code == 200


def test_fault_without_body_answers_in_the_service_error_shape(sandbox):
    sandbox.faults([{"service": "coconut", "path": "users", "status": 429, "headers": {"Retry-After": "0.5"}}])
    response = coconut_get(sandbox)
    assert response.status_code == 429 and response.headers["Retry-After"] == "0.5"
    assert response.json()["errors"][0]["status"] == "429"


def test_fault_with_body_and_method_filter(sandbox):
    sandbox.faults([{"service": "coconut", "method": "POST", "path": "users", "status": 502, "body": {"oops": True}},
                    {"service": "coconut", "method": "GET", "path": "locations", "status": 418, "body": {"teapot": 1}}])
    assert coconut_get(sandbox).status_code == 200
    teapot = coconut_get(sandbox, "/api/v2/locations")
    assert teapot.status_code == 418 and teapot.json() == {"teapot": 1}


def test_reset_fault_drops_the_connection_and_is_logged(sandbox):
    sandbox.faults([{"service": "coconut", "path": "users", "reset": True}])
    with pytest.raises(requests.exceptions.ConnectionError):
        coconut_get(sandbox)
    assert coconut_get(sandbox).status_code == 200
    assert [r["status"] for r in sandbox.requests()] == [None, 200]


def test_delay_fault_serves_the_request_and_answers_late(sandbox):
    sandbox.faults([{"service": "coconut", "method": "PATCH", "path": "users", "delay": 1.5}])
    url = sandbox.vars["coconut_url"] + "/api/v2/users/101"
    document = {"data": {"type": "users", "id": "101", "attributes": {"job_title": "Late"}}}
    headers = {"Authorization": "Bearer " + sandbox.vars["coconut_api_token"], "Content-Type": "application/vnd.api+json"}
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.patch(url, json=document, headers=headers, verify=sandbox.ca_path, timeout=0.5)
    assert sandbox.coconut_users()[101]["job_title"] == "Late", "the write was done; only its answer was lost"


def test_patch_entra_edits_records_and_replaces_keys(sandbox):
    state = sandbox.state()["entra"]
    first, second = state["users"][0], state["users"][1]
    sandbox.patch_entra({"users": {"update": [{"id": first["id"], "jobTitle": "Head Teller"}], "remove": [second["id"]],
                                   "add": [{"id": "new-user", "displayName": "New Person"}]},
                         "token_lifetime_seconds": 60})
    after = sandbox.state()["entra"]
    by_id = {u["id"]: u for u in after["users"]}
    assert by_id[first["id"]]["jobTitle"] == "Head Teller" and second["id"] not in by_id and "new-user" in by_id
    assert after["token_lifetime_seconds"] == 60 and len(after["users"]) == len(state["users"])
    sandbox.patch_entra({"groups": []})
    assert sandbox.state()["entra"]["groups"] == []


def test_patch_coconut_edits_staff_and_other_keys(sandbox):
    sandbox.patch_coconut({"users": {"update": [{"id": 101, "status": "archived"}], "add": [{"first_name": "A", "last_name": "B", "email": "a@b.example"}]},
                           "integration": {"status": "token_revoked", "groups": []}})
    staff = sandbox.coconut_users()
    assert staff[101]["status"] == "archived" and staff[134]["first_name"] == "A"
    assert sandbox.state()["coconut"]["integration"]["status"] == "token_revoked"


def test_write_count_counts_non_get_requests(sandbox):
    coconut_get(sandbox)
    requests.patch(sandbox.vars["coconut_url"] + "/api/v2/users/101", verify=sandbox.ca_path, timeout=10,
                   json={"data": {"type": "users", "id": "101", "attributes": {"job_title": "Teller II"}}},
                   headers={"Authorization": "Bearer " + sandbox.vars["coconut_api_token"]})
    assert sandbox.write_count() == 1 and sandbox.write_count("graph") == 0


def test_latency_delays_each_response_without_serialising_them(start_sandbox):
    running = start_sandbox(make_scenario(), latency_ms=300)
    coconut_get(running)  # warm up: TLS handshake and imports
    started = time.monotonic()
    coconut_get(running)
    one = time.monotonic() - started
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _unused: coconut_get(running).status_code, range(6)))
    six = time.monotonic() - started
    print(f"one request with 300 ms latency: {one:.2f} s; six in parallel: {six:.2f} s ({six / one:.1f}x)")
    # Each response waits the latency (a lower bound, whatever the machine's speed); the six wait side by side, so they
    # take about as long as one (serialised, six times as long): a ratio from this test, no wall-time limit.
    assert statuses == [200] * 6 and one >= 0.3 and six < 3 * one


def test_keep_alive_serves_many_requests_on_one_connection(sandbox):
    port = int(sandbox.vars["coconut_url"].rsplit(":", 1)[1])
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=sandbox.ca_path), timeout=10)
    local_ports = set()
    for path in ("/api/v2/users", "/api/v2/nowhere", "/api/v2/locations"):
        connection.request("GET", path, headers={"Authorization": "Bearer " + sandbox.vars["coconut_api_token"]})
        response = connection.getresponse()
        assert response.getheader("Content-Length") and response.read() and response.status in (200, 404)
        local_ports.add(connection.sock.getsockname()[1])
    connection.close()
    assert len(local_ports) == 1


def test_the_demo_scenario_tells_its_story(sandbox):
    state = sandbox.state()
    users = {u["displayName"]: u for u in state["entra"]["users"]}
    groups = {g["displayName"]: set(g["members"]) for g in state["entra"]["groups"]}
    in_a_group = set().union(*groups.values())
    staff = {f"{s['first_name']} {s['last_name']}": s for s in state["coconut"]["users"]}
    assert set(groups) == {"Coconut - Tellers", "Coconut - Advisors", "Coconut - Branch Managers"}
    assert 30 <= len(users) <= 40
    assert users["Derek Whitfield"]["id"] not in in_a_group and staff["Derek Whitfield"]["integration"]
    assert users["Hannah Lindqvist"]["accountEnabled"] is False and users["Hannah Lindqvist"]["id"] in groups["Coconut - Tellers"]
    assert staff["Jonathan Reyes"]["email"] != users["Jonathan Reyes"]["mail"] and staff["Jonathan Reyes"]["integration"] is None
    assert staff["Sam Okafor"]["email"] == users["Samantha Okafor"]["mail"]
    assert sum(1 for g in groups.values() if users["Rachel Dubois"]["id"] in g) == 2
    assert os.path.basename(sandbox.vars["ca_path"]).endswith(".pem")
