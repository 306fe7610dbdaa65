"""The Users tab rows and the duplicate sets staff_info returns."""

import random
import unicodedata

from growth import cpu_growth

from ansible_collections.coconut.entra.plugins.module_utils.staff_view import duplicate_ids, duplicate_sets, staff_row


def staff(staff_id, first, last, email, synced=False, status="active", **extra):
    record = {
        "id": staff_id, "first_name": first, "last_name": last, "email": email, "username": None, "external_id": None,
        "job_title": None, "language": "en", "role": 10, "status": status, "locations": [], "user_group_id": None,
        "integration": {"source": "entra_id", "object_id": f"obj-{staff_id}"} if synced else None,
    }
    record.update(extra)
    return record


def test_staff_row_carries_the_synced_mark_and_the_object_id():
    row = staff_row(staff("101", "Ada", "Lovelace", "ada@contoso.example", synced=True, job_title="Teller", locations=["MAIN"]))
    assert row == {
        "id": "101", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example", "job_title": "Teller",
        "role": 10, "status": "active", "locations": ["MAIN"], "user_group_id": None, "synced": True, "object_id": "obj-101",
    }


def test_staff_added_in_coconut_or_by_another_integration_is_not_synced():
    assert staff_row(staff("102", "Grace", "Hopper", "grace@contoso.example"))["synced"] is False
    other = staff("103", "Alan", "Turing", "alan@contoso.example", integration={"source": "okta", "object_id": "x"})
    assert staff_row(other)["synced"] is False
    assert staff_row(other)["object_id"] is None


def test_emails_differing_in_case_and_whitespace_form_one_set():
    sets = duplicate_sets([
        staff("1", "Ada", "Lovelace", "ada@contoso.example"),
        staff("2", "Augusta", "King", "  ADA@Contoso.Example "),
    ])
    assert sets == [{"key": "email", "value": "ada@contoso.example", "members": ["1", "2"], "synced": [],
                     "names": ["Ada Lovelace", "Augusta King"]}]


def test_names_in_nfd_and_nfc_form_one_set():
    composed = unicodedata.normalize("NFC", "José")
    decomposed = unicodedata.normalize("NFD", "José")
    assert composed != decomposed
    sets = duplicate_sets([
        staff("1", composed, "Núñez", "jose@contoso.example"),
        staff("2", decomposed, "  núñez", "jnunez@contoso.example"),
    ])
    assert [(s["key"], s["members"]) for s in sets] == [("name", ["1", "2"])]
    assert sets[0]["value"] == unicodedata.normalize("NFKC", "josé núñez")


def test_the_synced_member_of_a_set_is_named():
    sets = duplicate_sets([
        staff("7", "Linus", "Torvalds", "linus@contoso.example"),
        staff("3", "Linus", "Torvalds", "linus@contoso.example", synced=True),
    ])
    assert [(s["key"], s["members"], s["synced"]) for s in sets] == [("email", ["3", "7"], ["3"]), ("name", ["3", "7"], ["3"])]


def test_singletons_and_empty_values_make_no_set():
    sets = duplicate_sets([
        staff("1", "Ada", "Lovelace", "ada@contoso.example"),
        staff("2", "Grace", "Hopper", "grace@contoso.example"),
        staff("3", "", "", ""),
        staff("4", None, None, None),
    ])
    assert sets == []


def test_archived_staff_count_as_duplicates():
    sets = duplicate_sets([
        staff("1", "Ada", "Lovelace", "ada@contoso.example"),
        staff("2", "Ada", "Lovelace", "ada.old@contoso.example", status="archived"),
    ])
    assert [(s["key"], s["members"]) for s in sets] == [("name", ["1", "2"])]


def test_order_is_the_same_whatever_the_input_order():
    records = [staff(str(i), "Sam", "Lee" if i % 2 else "Kim", f"sam{i % 3}@contoso.example") for i in range(1, 13)]
    expected = duplicate_sets(records)
    shuffled = list(records)
    random.Random(4).shuffle(shuffled)
    assert duplicate_sets(shuffled) == expected
    assert [s["key"] for s in expected] == ["email"] * 3 + ["name"] * 2
    assert expected[0]["members"] == ["3", "6", "9", "12"]  # numeric ids in numeric order


def test_duplicate_ids_lists_every_member_once():
    sets = duplicate_sets([
        staff("1", "Ada", "Lovelace", "ada@contoso.example"),
        staff("2", "Ada", "Lovelace", "ada@contoso.example"),
        staff("3", "Grace", "Hopper", "grace@contoso.example"),
    ])
    assert duplicate_ids(sets) == {"1", "2"}


def test_one_hundred_thousand_staff_are_grouped_in_linear_time():
    def records(size):
        return [staff(str(i), f"First{i % (size // 2)}", f"Last{i % (size // 2)}", f"user{i}@contoso.example", synced=i % 2 == 0)
                for i in range(size)]

    assert len(duplicate_sets(records(100_000))) == 50_000

    def run(size):
        built = records(size)
        return lambda: duplicate_sets(built)

    growth = cpu_growth(run, 10_000, 100_000)
    print(f"duplicate_sets: CPU at 100,000 staff / at 10,000: {growth:.1f}x")
    assert growth < 30, "duplicate_sets grows faster than linearly (linear: about 10x, quadratic: 100x)"


def test_roles_show_by_name_with_their_code():
    from ansible_collections.coconut.entra.plugins.module_utils.staff_view import role_label

    assert role_label(13) == "Staff Plus (13)"
    assert role_label("10") == "Staff (10)"
    assert role_label(99) == 99 and role_label(None) is None
