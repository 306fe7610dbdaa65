"""A plain team for fault, concurrency and soak tests, and the desired Coconut state computed from it.

The expected state is worked out here from the scenario alone, without the collection's
planner: every enabled member of the team group has exactly one staff member holding its
Entra object id, active, with the default mapping's values; synced staff whose user is out
of scope are archived; unsynced staff are left exactly as they were. Names and emails of
the unsynced staff never meet a user's, so no match rule but the object id ever applies.
"""

from __future__ import annotations

import copy
import random

from . import branch

GROUP = branch.oid("g-team")
GIVEN = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Edsger", "Barbara", "Dennis", "Frances", "John",
         "Radia", "Ken", "Shafi", "Tim", "Hedy", "Donald", "Sophie", "Claude", "Mary"]
SURNAME = ["Lovelace", "Hopper", "Turing", "Johnson", "Pauling", "Hamilton", "Dijkstra", "Liskov", "Ritchie", "Allen",
           "Backus", "Perlman", "Thompson", "Goldwasser", "Berners-Lee", "Lamarr", "Knuth", "Wilson", "Shannon", "Keller"]
TITLES = ["Teller", "Senior Teller", "Advisor", "Branch Manager", "Mortgage Specialist"]
UNSYNCED = [
    {"id": 900, "first_name": "Front", "last_name": "Desk", "email": "frontdesk@mapleridge.example", "job_title": "Reception"},
    {"id": 901, "first_name": "Night", "last_name": "Safe", "email": "nightsafe@mapleridge.example", "job_title": None},
]


def person(index, title=None, enabled=True):
    """Entra user number `index`: unique names and email."""
    given, surname = GIVEN[index % len(GIVEN)], "%s%d" % (SURNAME[index % len(SURNAME)], index)
    email = "%s.%s@mapleridge.example" % (given.lower(), surname.lower())
    return {"id": branch.oid("team-%d" % index), "displayName": "%s %s" % (given, surname), "givenName": given,
            "surname": surname, "mail": email, "userPrincipalName": email, "accountEnabled": enabled,
            "jobTitle": title or TITLES[index % len(TITLES)], "department": "Retail", "officeLocation": "Main St",
            "employeeId": "E%04d" % index}


def staff_for(user, sid, status="active", job_title=None):
    """A synced staff member for `user` as an earlier sync would have left it."""
    return {"id": sid, "first_name": user["givenName"], "last_name": user["surname"], "email": user["mail"],
            "username": None, "external_id": None, "job_title": job_title or user["jobTitle"], "language": "en",
            "role": 10, "status": status, "locations": [], "user_group_id": None,
            "integration": {"source": "entra_id", "object_id": user["id"]}}


def scenario(members=12, synced=4, leavers=1):
    """`members` users in the team group; the first `synced` already have staff (one outdated, one archived by hand);
    `leavers` more users have synced staff but left the group (to be archived); two unsynced staff."""
    users = [person(i) for i in range(members + leavers)]
    staff = [dict(u, integration=None, username=None, external_id=None, language="en", role=10, status="active",
                  locations=[], user_group_id=None) for u in copy.deepcopy(UNSYNCED)]
    for i in range(min(synced, members)):
        status = "archived" if i == 1 else "active"
        staff.append(staff_for(users[i], 100 + i, status=status, job_title="Outdated" if i == 0 else None))
    for i in range(members, members + leavers):
        staff.append(staff_for(users[i], 100 + i))
    result = copy.deepcopy(branch.BASE)
    result["entra"]["users"] = users
    result["entra"]["groups"] = [{"id": GROUP, "displayName": "Coconut - Team", "members": [u["id"] for u in users[:members]]}]
    result["coconut"]["users"] = staff
    result["coconut"]["user_groups"] = []
    return result


def desired(entra):
    """{object id: staff fields} for the enabled direct members of the team group, by the default mapping."""
    users = {u["id"]: u for u in entra["users"]}
    group = next(g for g in entra["groups"] if g["id"] == GROUP)
    wanted = {}
    for member in group["members"]:
        user = users.get(member)
        if user is None or user.get("accountEnabled") is not True:
            continue
        wanted[user["id"]] = {"first_name": user["givenName"], "last_name": user["surname"],
                              "email": user["mail"] or user["userPrincipalName"], "job_title": user["jobTitle"]}
    return wanted


def duplicates(coconut):
    """Object ids held by more than one staff member, and emails shared by several staff: both must be empty."""
    by_oid, by_email = {}, {}
    for member in coconut["users"]:
        oid = (member.get("integration") or {}).get("object_id")
        if oid:
            by_oid.setdefault(oid, []).append(member["id"])
        by_email.setdefault(str(member.get("email") or "").strip().casefold(), []).append(member["id"])
    return ({k: v for k, v in by_oid.items() if len(v) > 1}, {k: v for k, v in by_email.items() if len(v) > 1})


def differences(state, unsynced_before=None):
    """Every way Coconut's staff differ from the desired state; [] when converged."""
    wanted = desired(state["entra"])
    problems = []
    same_oid, same_email = duplicates(state["coconut"])
    problems += ["Entra user %s is held by staff %s" % (k, v) for k, v in same_oid.items()]
    problems += ["email %s is shared by staff %s" % (k, v) for k, v in same_email.items()]
    synced = {}
    unsynced = {}
    for member in state["coconut"]["users"]:
        oid = (member.get("integration") or {}).get("object_id")
        if oid:
            synced.setdefault(oid, member)
        else:
            unsynced[int(member["id"])] = member
    for oid, fields in wanted.items():
        member = synced.get(oid)
        if member is None:
            problems.append("no staff for Entra user %s (%s)" % (oid, fields["email"]))
            continue
        if member["status"] != "active":
            problems.append("staff %s for %s is %s" % (member["id"], fields["email"], member["status"]))
        for name, value in fields.items():
            if member.get(name) != value:
                problems.append("staff %s %s is %r, not %r" % (member["id"], name, member.get(name), value))
    for oid, member in synced.items():
        if oid not in wanted and member["status"] != "archived":
            problems.append("staff %s (%s) is out of scope but %s" % (member["id"], member["email"], member["status"]))
    expected_unsynced = {int(u["id"]): u for u in (UNSYNCED if unsynced_before is None else unsynced_before)}
    if set(unsynced) != set(expected_unsynced):
        problems.append("unsynced staff changed: %s, expected %s" % (sorted(unsynced), sorted(expected_unsynced)))
    for sid, before in expected_unsynced.items():
        after = unsynced.get(sid) or {}
        changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
        if changed:
            problems.append("unsynced staff %s changed: %s" % (sid, changed))
    return problems


# ---- churn (the soak) ------------------------------------------------------------------------

def churn(entra, rng: random.Random, counter):
    """Change Entra at random like a month in a branch: joiners, leavers, renames, new emails, disables.

    Returns (entra, [what was done]). `counter` is a one-item list holding the next new user's number.
    """
    entra = copy.deepcopy(entra)
    group = next(g for g in entra["groups"] if g["id"] == GROUP)
    users = {u["id"]: u for u in entra["users"]}
    done = []
    for _change in range(rng.randint(1, 4)):
        members = [m for m in group["members"] if m in users]
        kind = rng.choice(["add", "add", "remove", "rename", "email", "disable", "enable", "title", "rejoin"])
        if kind == "add" or not members:
            user = person(counter[0])
            counter[0] += 1
            entra["users"].append(user)
            users[user["id"]] = user
            group["members"].append(user["id"])
            done.append("add %s" % user["displayName"])
        elif kind == "remove":
            victim = rng.choice(members)
            group["members"].remove(victim)
            done.append("remove %s" % users[victim]["displayName"])
        elif kind == "rename":
            user = users[rng.choice(members)]
            user["givenName"] = rng.choice(GIVEN)
            user["displayName"] = "%s %s" % (user["givenName"], user["surname"])
            done.append("rename %s" % user["displayName"])
        elif kind == "email":
            user = users[rng.choice(members)]
            local = "%s.%s.%d" % (user["givenName"].lower(), user["surname"].lower(), counter[0])
            counter[0] += 1
            user["mail"] = rng.choice([local + "@mapleridge.example", None])
            user["userPrincipalName"] = local + "@mapleridge.onmicrosoft.example"
            done.append("email %s -> %s" % (user["displayName"], user["mail"] or user["userPrincipalName"]))
        elif kind == "disable":
            user = users[rng.choice(members)]
            user["accountEnabled"] = False
            done.append("disable %s" % user["displayName"])
        elif kind == "enable":
            disabled = [users[m] for m in members if users[m]["accountEnabled"] is not True]
            if disabled:
                user = rng.choice(disabled)
                user["accountEnabled"] = True
                done.append("enable %s" % user["displayName"])
        elif kind == "title":
            user = users[rng.choice(members)]
            user["jobTitle"] = rng.choice(TITLES + [None])
            done.append("title %s -> %s" % (user["displayName"], user["jobTitle"]))
        elif kind == "rejoin":
            outside = [u for u in entra["users"] if u["id"] not in group["members"]]
            if outside:
                user = rng.choice(outside)
                group["members"].append(user["id"])
                done.append("rejoin %s" % user["displayName"])
    return entra, done
