"""A small branch scenario that exercises every sync rule, built in code so tests can vary it.

People (Entra user -> Coconut staff):
  ada     in Tellers; unsynced staff " ADA"/Lovelace with her email          -> rule A adopts, name becomes "Ada"
  grace   in Tellers; unsynced "Grace Hopper" with another email            -> rule B (display name) adopts
  alan    in Tellers; synced staff, job title outdated                      -> update job_title
  katherine in Advisors; synced, archived by hand                           -> restore
  linus   in Advisors and Tellers; no staff                                 -> create, takes Tellers' values (first group)
  margaret in Advisors; unsynced staff with her email but another name      -> possible duplicate, not created
  edsger  in Tellers but disabled; synced staff                             -> archive
  barbara left every group; synced staff                                    -> archive
  dennis  in nested group "Seniors" (member of Advisors) only; no staff     -> created only with membership: transitive
  hand-made staff "Front Desk"                                              -> never touched
"""

from __future__ import annotations

import copy
import uuid

NS = uuid.UUID("6f1c2f7e-1d2b-4c1e-9a55-0c0c0c0c0c0c")
TENANT = str(uuid.uuid5(NS, "tenant"))
APP = str(uuid.uuid5(NS, "app"))
APP_OBJECT = str(uuid.uuid5(NS, "app-object"))
SECRET = "s3cr3t-Value~branch-" + uuid.uuid5(NS, "secret").hex
API_TOKEN = "coconut-token-" + uuid.uuid5(NS, "token").hex


def oid(name):
    return str(uuid.uuid5(NS, name))


def user(key, given, surname, title="Teller", enabled=True, mail=None, display=None):
    email = mail or "%s.%s@mapleridge.example" % (given.lower(), surname.lower())
    return {"id": oid(key), "displayName": display or "%s %s" % (given, surname), "givenName": given, "surname": surname,
            "mail": email, "userPrincipalName": email, "accountEnabled": enabled, "jobTitle": title,
            "department": "Retail", "officeLocation": "Main St", "employeeId": "E-" + key.upper()}


def staff(sid, first, last, email, title="Teller", synced=None, status="active"):
    return {"id": sid, "first_name": first, "last_name": last, "email": email, "username": None, "external_id": None,
            "job_title": title, "language": "en", "role": 10, "status": status, "locations": ["MAIN"],
            "user_group_id": None,
            "integration": {"source": "entra_id", "object_id": oid(synced)} if synced else None}


BASE = {
    "entra": {
        "tenant_id": TENANT,
        "applications": [{
            "app_id": APP, "id": APP_OBJECT, "display_name": "Coconut staff sync",
            "roles": ["GroupMember.Read.All", "User.Read.All", "Application.ReadWrite.OwnedBy"],
            "secrets": [{"key_id": oid("secret-key"), "text": SECRET, "end": "2099-01-01T00:00:00Z"}],
            "certificates": [],
        }],
        "users": [
            user("ada", "Ada", "Lovelace"),
            user("grace", "Grace", "Hopper", mail="grace.hopper@navy.example"),
            user("alan", "Alan", "Turing", title="Senior Teller"),
            user("katherine", "Katherine", "Johnson", title="Advisor"),
            user("linus", "Linus", "Pauling", title="Advisor"),
            user("margaret", "Margaret", "Hamilton", title="Advisor"),
            user("edsger", "Edsger", "Dijkstra", enabled=False),
            user("barbara", "Barbara", "Liskov"),
            user("dennis", "Dennis", "Ritchie", title="Senior Advisor"),
        ],
        "groups": [
            {"id": oid("g-tellers"), "displayName": "Coconut - Tellers",
             "members": [oid(k) for k in ("ada", "grace", "alan", "linus", "edsger")]},
            {"id": oid("g-advisors"), "displayName": "Coconut - Advisors",
             "members": [oid(k) for k in ("katherine", "linus", "margaret")] + [oid("g-seniors")]},
            {"id": oid("g-seniors"), "displayName": "Coconut - Senior Advisors", "members": [oid("dennis")]},
            {"id": oid("g-dup-1"), "displayName": "Branch Staff", "members": []},
            {"id": oid("g-dup-2"), "displayName": "Branch Staff", "members": []},
        ],
    },
    "coconut": {
        "site": "mapleridge",
        "api_tokens": [{"id": "t1", "value": API_TOKEN}],
        "locations": [{"id": 1, "external_id": "MAIN", "name": "Main Street"},
                      {"id": 2, "external_id": "MALL", "name": "Ridge Mall"}],
        "user_groups": [{"id": 1, "external_id": None, "name": "Advisors"}],
        "users": [
            staff(101, " ADA", "Lovelace", "ada.lovelace@mapleridge.example"),
            staff(102, "Grace", "Hopper", "ghopper@old.example"),
            staff(103, "Alan", "Turing", "alan.turing@mapleridge.example", title="Teller", synced="alan"),
            staff(104, "Katherine", "Johnson", "katherine.johnson@mapleridge.example", title="Advisor",
                  synced="katherine", status="archived"),
            staff(105, "Peggy", "Hamilton", "margaret.hamilton@mapleridge.example"),
            staff(106, "Edsger", "Dijkstra", "edsger.dijkstra@mapleridge.example", synced="edsger"),
            staff(107, "Barbara", "Liskov", "barbara.liskov@mapleridge.example", synced="barbara"),
            staff(108, "Front", "Desk", "frontdesk@mapleridge.example", title="Reception"),
        ] + [staff(200 + i, "Synced%d" % i, "Colleague", "synced%d.colleague@mapleridge.example" % i, synced="colleague-%d" % i)
             for i in range(20)],
    },
}

# The 20 colleagues are in a third group, so that archiving two people stays under the 10% threshold.
BASE["entra"]["users"] += [user("colleague-%d" % i, "Synced%d" % i, "Colleague") for i in range(20)]
BASE["entra"]["groups"].append({"id": oid("g-colleagues"), "displayName": "Coconut - Colleagues",
                                "members": [oid("colleague-%d" % i) for i in range(20)]})

GROUPS = [
    {"group": "Coconut - Tellers", "user_group": "Tellers", "role": 10, "locations": ["MAIN"]},
    {"group": "Coconut - Advisors", "user_group": "Advisors", "role": 13, "locations": ["MAIN", "MALL"]},
    oid("g-colleagues"),
]


def scenario():
    return copy.deepcopy(BASE)
