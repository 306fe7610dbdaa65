"""The reference client: plain `requests` + `json`, the sync's no-op reads, then a dict comparison.

    python tests/bench/reference.py --vars SANDBOX_VARS.yml --group GROUP_ID [--page-graph 999] [--page-coconut 500] [--concurrency 8]

Graph members in sequential pages of 999 with the sync's $select; Coconut staff in pages of 500, 8 at a time; the
two side by side. `make bench` runs it in a fresh interpreter and compares the sync's wall and CPU with it (its CPU
is the interpreter's own, imports included, as the sync's is measured whole); tests/integration/test_scale.py calls
`read()` in-process and compares the sync's request counts with its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
import yaml

PAGE_GRAPH = 999
PAGE_COCONUT = 500
COCONUT_CONCURRENCY = 8
SELECT = "id,displayName,accountEnabled,givenName,surname,mail,userPrincipalName,jobTitle"


def read(vars_path, group, page_graph=PAGE_GRAPH, page_coconut=PAGE_COCONUT, concurrency=COCONUT_CONCURRENCY):
    """{"equal": Graph's members and Coconut's synced staff hold the same people, "members", "staff"}."""
    with open(vars_path, encoding="utf-8") as handle:
        v = yaml.safe_load(handle)

    def session():
        s = requests.Session()
        s.trust_env = False
        s.verify = v["ca_path"]
        return s

    token = session().post(v["entra_authority_host"] + "/" + v["entra_tenant_id"] + "/oauth2/v2.0/token",
                           data={"grant_type": "client_credentials", "client_id": v["entra_client_id"],
                                 "client_secret": v["entra_client_secret"], "scope": v["entra_graph_url"] + "/.default"},
                           timeout=60).json()["access_token"]
    graph, coconut = {}, {}

    def read_graph():
        s = session()
        s.headers["Authorization"] = "Bearer " + token
        url = v["entra_graph_url"] + f"/v1.0/groups/{group}/members/microsoft.graph.user"
        params = {"$top": str(page_graph), "$select": SELECT}
        while url:
            page = json.loads(s.get(url, params=params, timeout=60).content)
            for user in page["value"]:
                graph[user["id"]] = (user.get("givenName"), user.get("surname"), user.get("mail"), user.get("jobTitle"),
                                     "active" if user.get("accountEnabled") else "archived")
            url, params = page.get("@odata.nextLink"), None

    local = threading.local()

    def coconut_page(number):
        if not hasattr(local, "s"):
            local.s = session()
            local.s.headers["Authorization"] = "Bearer " + v["coconut_api_token"]
        return json.loads(local.s.get(v["coconut_url"] + "/api/v2/users", params={"page": number, "limit": page_coconut}, timeout=60).content)

    def read_coconut():
        first = coconut_page(1)
        pages = [first]
        with ThreadPoolExecutor(concurrency) as pool:
            pages += list(pool.map(coconut_page, range(2, first["meta"]["pagination"]["total_pages"] + 1)))
        for page in pages:
            for item in page["data"]:
                a = item["attributes"]
                oid = (a.get("integration") or {}).get("object_id")
                coconut[oid] = (a.get("first_name"), a.get("last_name"), a.get("email"), a.get("job_title"), a.get("status"))

    threads = [threading.Thread(target=read_graph), threading.Thread(target=read_coconut)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"equal": graph == coconut, "members": len(graph), "staff": len(coconut)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--vars", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--page-graph", type=int, default=PAGE_GRAPH)
    parser.add_argument("--page-coconut", type=int, default=PAGE_COCONUT)
    parser.add_argument("--concurrency", type=int, default=COCONUT_CONCURRENCY)
    args = parser.parse_args(argv)
    result = read(args.vars, args.group, args.page_graph, args.page_coconut, args.concurrency)
    print(json.dumps({"cpu": time.process_time(), **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
