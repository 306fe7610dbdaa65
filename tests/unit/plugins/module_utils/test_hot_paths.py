"""The shortcuts taken for speed and memory at 100,000 users give exactly what the general code gives."""

import itertools
import unicodedata

from ansible_collections.coconut.entra.plugins.module_utils.coconut import flatten
from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff, normalise, plan

WHITESPACE = (" ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")


def general_normalise(value):
    value = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(value)).casefold())
    return " ".join(value.split())


def test_normalise_of_ascii_text_folds_every_kind_of_whitespace_like_the_general_rule():
    for combo in itertools.product(("a", "B", "-", "\x00", "\x7f", *WHITESPACE), repeat=3):
        value = "".join(combo)
        assert normalise(value) == general_normalise(value), repr(value)


def test_the_mapping_fast_loop_maps_every_user_as_the_whole_way_does():
    fast = Mapping({"language": "'en'"})
    whole = Mapping({"language": "'en' | string"})  # no fast path: every user goes the whole way
    assert fast._fast is not None and whole._fast is None
    names = ("Ada", " Ada ", "", "   ", None, 7, "x" * 5000, ["Ada"])
    mails = ("ada@bank.example", " ada@bank.example ", "not an email", "", None, "missing")
    for given, mail in itertools.product(names, mails):
        user = {"id": "1", "displayName": "A", "givenName": given, "surname": "Lovelace", "jobTitle": "Teller",
                "userPrincipalName": "ada@bank.example"}
        if mail != "missing":
            user["mail"] = mail
        assert fast.map_user(user) == whole.map_user(user), user


def test_flattened_staff_share_repeated_values_and_keep_every_attribute():
    def resource(n):
        attributes = {"first_name": "Ada", "status": "active", "language": "en", "job_title": "Teller", "user_group_id": 8,
                      "locations": ["MAIN"], "integration": {"source": "entra_id", "object_id": f"oid-{n}"}}
        return {"type": "users", "id": str(n), "attributes": attributes}

    resources = [resource(n) for n in range(2)]
    first, second = (flatten(resource) for resource in resources)
    assert first == {"id": "0", "first_name": "Ada", "status": "active", "language": "en", "job_title": "Teller", "user_group_id": "8",
                     "locations": ["MAIN"], "integration": {"source": "entra_id", "object_id": "oid-0"}}
    assert list(first)[0] == "id"
    for name in ("status", "language", "job_title", "user_group_id"):
        assert first[name] is second[name], name
    assert first["locations"][0] is second["locations"][0]
    assert first["integration"]["source"] is second["integration"]["source"]


def test_staff_sharing_an_object_id_and_users_claiming_one_staff_member_are_still_conflicts():
    def staff(ident, object_id=None, first="Ada"):
        record = {"id": ident, "first_name": first, "last_name": "Lovelace", "email": f"{first.lower()}@bank.example", "status": "active"}
        if object_id:
            record["integration"] = {"source": "entra_id", "object_id": object_id}
        return record

    def user(object_id, first="Ada"):
        return DesiredStaff(object_id=object_id, display_name=f"{first} Lovelace",
                            fields={"first_name": first, "last_name": "Lovelace", "email": f"{first.lower()}@bank.example"})

    twice = plan([user("oid-1")], [staff("1", "oid-1"), staff("2", "oid-1")], archive_threshold="100%")
    assert [c["candidates"] for c in twice["conflicts"]] == [["1", "2"]]
    # Two users whose names find one unsynced staff member: neither adopts it.
    shared = plan([user("oid-1", "Bo"), user("oid-2", "Bo")], [staff("9", None, "Bo")], match=["object_id", "display_name"], possible_duplicates="create",
                  archive_threshold="100%")
    assert sorted(c["object_id"] for c in shared["conflicts"]) == ["oid-1", "oid-2"]
    assert all(c["candidates"] == ["9"] for c in shared["conflicts"])
