"""What real tenants' data does to the plan (issue 15): nulls through filters, padding, shared emails, case, roles."""

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.connect import group_refs
from ansible_collections.coconut.entra.plugins.module_utils.diff import render_diff
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff, plan
from ansible_collections.coconut.entra.plugins.module_utils.sync import Sync, parse_groups

BOB = {"id": "o-bob", "displayName": "Robert Builder", "givenName": "Robert", "surname": "Builder", "mail": "robert.builder@bank.example",
       "userPrincipalName": "rbuilder@bank.example", "accountEnabled": True, "jobTitle": None, "employeeId": None}


def mapped(overrides, **changes):
    fields, errors = Mapping(overrides).map_user(dict(BOB, **changes))
    return fields, [(e["field"], e["message"]) for e in errors]


# --- defect 1: a null never becomes the text "None" ----------------------------------------------------

@pytest.mark.parametrize("field, expression", [
    ("job_title", "user.jobTitle | trim"),
    ("job_title", "user.jobTitle | upper"),
    ("external_id", "'EMP-' ~ user.employeeId"),
    ("external_id", "'EMP-%s' % user.employeeId"),
    ("external_id", "user.get('employeeId') | trim"),
    ("external_id", "user['employeeId'] ~ ''"),
    ("job_title", "user.jobTitle | string"),
    ("job_title", "user.manager.displayName | trim"),
])
def test_a_mapping_over_a_null_attribute_gives_null(field, expression):
    fields, errors = mapped({field: expression})
    assert errors == []
    assert fields[field] is None


def test_a_required_field_over_a_null_is_missing_not_none_text():
    fields, errors = mapped({"first_name": "user.givenName | trim"}, givenName=None)
    assert "first_name" not in fields
    assert [field for field, _message in errors] == ["first_name"]
    assert "missing" in errors[0][1]


def test_a_null_still_falls_back_and_tests_and_defaults_still_see_it():
    fields, errors = mapped({"job_title": "user.jobTitle | default('Teller', true)", "external_id": "'none' if user.employeeId is none else 'set'",
                             "language": "'en'", "username": "(user.employeeId or user.mail) | lower"})
    assert errors == []
    assert fields["job_title"] == "Teller"
    assert fields["external_id"] == "none"
    assert fields["language"] == "en"
    assert fields["username"] == "robert.builder@bank.example"


@pytest.mark.parametrize("expression, expected", [
    ("(user.jobTitle | trim) or 'Teller'", "Teller"),
    ("(user.mail.split('@') | first) or 'none'", "robert.builder"),
    ("(user.employeeId.split('-') | first) or 'none'", "none"),
    ("user.employeeId + 1", None),
    ("user.employeeId ~ user.mail", None),
    ("user.surname ~ ', ' ~ user.givenName", "Builder, Robert"),
])
def test_a_null_propagates_through_filters_methods_and_operators_but_or_still_falls_back(expression, expected):
    fields, errors = mapped({"job_title": expression})
    assert errors == [] and fields["job_title"] == expected


def test_the_fast_path_and_the_sandbox_agree_on_nulls_and_blanks():
    for mail in (None, "", "   ", " ada@bank.example "):
        user = dict(BOB, mail=mail)
        fast = Mapping().map_user(user)[0]
        assert Mapping()._fast is not None
        slow = Mapping({"email": "(user.mail or user.userPrincipalName) | string"}).map_user(user)[0]
        assert fast["email"] == slow["email"], mail


def test_the_diff_tells_null_empty_and_the_text_none_apart():
    change = {"action": "update", "id": "1", "display_name": "Bob", "email": "b@x", "before": {"job_title": "None", "username": ""},
              "after": {"job_title": None, "username": "null"}}
    entry = render_diff([change], {})[1]
    assert entry["before"] == 'job_title: "None"\nusername: ""\n'
    assert entry["after"] == 'job_title: null\nusername: "null"\n'


# --- defect 5: values are trimmed; an email Coconut would refuse is caught by the planner -----------------

def test_written_values_are_trimmed():
    fields, errors = mapped({}, mail=" ada@bank.example ", surname="Builder ", givenName="\u00a0Robert", jobTitle="  Teller\t")
    assert errors == []
    assert fields == {"first_name": "Robert", "last_name": "Builder", "email": "ada@bank.example", "job_title": "Teller"}


def test_a_mail_of_only_spaces_falls_back_to_the_user_principal_name():
    fields, errors = mapped({}, mail="   ")
    assert errors == [] and fields["email"] == "rbuilder@bank.example"


def test_an_optional_field_of_only_spaces_is_null():
    fields, errors = mapped({}, jobTitle="   ")
    assert errors == [] and fields["job_title"] is None


@pytest.mark.parametrize("email", ["not an email", "bob@", "bob@bank", "bob builder@bank.example", "a@b@bank.example"])
def test_an_email_coconut_would_refuse_is_an_invalid_user(email):
    fields, errors = mapped({}, mail=email)
    assert [field for field, _message in errors] == ["email"]
    assert "not an email address" in errors[0][1]
    with pytest.raises(CoconutEntraError, match="cannot be mapped"):
        map_users(Mapping(), [dict(BOB, mail=email)])


def test_a_language_coconut_would_refuse_is_an_invalid_user():
    errors = mapped({"language": "'english'"})[1]
    assert [field for field, _message in errors] == ["language"]


# --- defects 2 and 6: possible duplicates among Entra users, and by mail or userPrincipalName -------------

def desired(object_id, first, last, email, **aliases):
    return DesiredStaff(object_id=object_id, display_name=f"{first} {last}", fields={"first_name": first, "last_name": last, "email": email},
                        aliases=tuple(aliases.values()))


def staff(staff_id, first, last, email, object_id=None):
    return {"id": staff_id, "first_name": first, "last_name": last, "email": email, "status": "active",
            "integration": {"source": "entra_id", "object_id": object_id} if object_id else None}


def test_two_entra_users_with_one_email_are_possible_duplicates_not_created():
    users = [desired("o1", "Ada", "Lovelace", "team@bank.example"), desired("o2", "Grace", "Hopper", " TEAM@bank.example")]
    result = plan(users, [])
    assert result["create"] == []
    assert [(d["object_id"], d["reason"], d["entra_users"]) for d in result["possible_duplicates"]] == [
        ("o1", "email", [{"object_id": "o2", "display_name": "Grace Hopper"}]),
        ("o2", "email", [{"object_id": "o1", "display_name": "Ada Lovelace"}])]


def test_two_entra_users_with_one_email_and_one_unsynced_staff_member_are_handled_the_same_way():
    users = [desired("o1", "Ada", "Lovelace", "ada@bank.example"), desired("o2", "Ada", "Lovelace", "ada@bank.example")]
    result = plan(users, [staff("1", "Ada", "Lovelace", "ada@bank.example")])
    assert result["conflicts"] == [] and result["create"] == [] and result["update"] == []
    assert [(d["object_id"], d["candidates"]) for d in result["possible_duplicates"]] == [("o1", ["1"]), ("o2", ["1"])]


def test_a_new_entra_user_sharing_a_synced_users_email_is_a_possible_duplicate_of_that_staff_member():
    users = [desired("o1", "Ada", "Lovelace", "ada@bank.example"), desired("o2", "Ada", "King", "ada@bank.example")]
    result = plan(users, [staff("1", "Ada", "Lovelace", "ada@bank.example", object_id="o1")])
    assert result["create"] == [] and result["update"] == []
    [duplicate] = result["possible_duplicates"]
    assert duplicate["object_id"] == "o2" and duplicate["candidates"] == ["1"] and duplicate["entra_users"][0]["object_id"] == "o1"


def test_entra_users_sharing_an_email_are_created_with_possible_duplicates_create():
    users = [desired("o1", "Ada", "Lovelace", "team@bank.example"), desired("o2", "Grace", "Hopper", "team@bank.example")]
    result = plan(users, [], possible_duplicates="create")
    assert [c["object_id"] for c in result["create"]] == ["o1", "o2"]
    assert all(d["created"] for d in result["possible_duplicates"]) and len(result["possible_duplicates"]) == 2


def test_unsynced_staff_holding_the_user_principal_name_is_a_possible_duplicate():
    bob = desired("o-bob", "Robert", "Builder", "robert.builder@bank.example", mail="robert.builder@bank.example", upn="rbuilder@bank.example")
    result = plan([bob], [staff("7", "Bob", "Builder", "rbuilder@bank.example")])
    assert result["create"] == []
    [duplicate] = result["possible_duplicates"]
    assert duplicate["reason"] == "email" and duplicate["candidates"] == ["7"]


def test_map_users_gives_mail_and_user_principal_name_as_aliases():
    [bob] = map_users(Mapping({"email": "user.mail"}), [BOB])[0]
    assert bob.aliases == ("robert.builder@bank.example", "rbuilder@bank.example")
    assert {"mail", "userPrincipalName"} <= set(Mapping({"email": "user.employeeId ~ '@bank.example'"}).graph_select)


# --- defect 3: a string entra_groups is one group ------------------------------------------------------

def test_a_string_entra_groups_is_one_group_never_split_at_commas():
    assert [g["ref"] for g in parse_groups("Coconut - Tellers, Main Street")] == ["Coconut - Tellers, Main Street"]
    assert [g["ref"] for g in parse_groups({"group": "Lending, Mortgages", "role": 10})] == ["Lending, Mortgages"]
    assert group_refs("Coconut - Tellers, Main Street") == ["Coconut - Tellers, Main Street"]  # connect.yml reads it the same way


def test_entra_groups_that_is_neither_a_list_nor_a_group_is_refused():
    with pytest.raises(CoconutEntraError, match="entra_groups must be a list"):
        parse_groups(7)


# --- defect 4: staff groups match by name the way Entra group names do -----------------------------------

def extras(user_groups, *names):
    sync = Sync(None, None, {})
    sync.groups = parse_groups([{"group": f"g{n}", "user_group": name} for n, name in enumerate(names)])
    sync.user_groups, sync.locations = user_groups, []
    return [item["user_group_id"] for item in sync._group_extras()]


def test_a_staff_group_name_matches_ignoring_case_and_spacing():
    user_groups = [{"id": 4, "name": "Tellers"}, {"id": 5, "name": "T\u00e9llers"}]
    assert extras(user_groups, "tellers", " TELLERS ", "Te\u0301llers") == [4, 4, 5]


def test_a_missing_staff_group_is_created_once_whatever_the_spelling():
    assert extras([], "Mortgages", "mortgages") == ["new:Mortgages", "new:Mortgages"]


def test_two_staff_groups_matching_one_name_is_an_error_naming_both():
    with pytest.raises(CoconutEntraError) as failure:
        extras([{"id": 4, "name": "Tellers"}, {"id": 9, "name": "TELLERS"}], "tellers")
    assert "Tellers (4)" in failure.value.msg and "TELLERS (9)" in failure.value.msg


# --- defect 8: role 10.7 is refused ----------------------------------------------------------------------

@pytest.mark.parametrize("role", [10.7, "10.7", True, "ten"])
def test_a_role_that_is_not_a_whole_role_code_is_refused(role):
    with pytest.raises(CoconutEntraError, match="is not a Coconut role code"):
        parse_groups([{"group": "Tellers", "role": role}])


@pytest.mark.parametrize("role", [10, "13", 15.0])
def test_whole_role_codes_are_taken(role):
    assert parse_groups([{"group": "Tellers", "role": role}])[0]["role"] == int(role)


# --- the report says the same as the warnings ----------------------------------------------------------------

def test_the_report_explains_shared_staff_and_shared_emails():
    from ansible_collections.coconut.entra.plugins.module_utils.report import _conflict_why, _duplicate_why

    assert _conflict_why({"rule": "display_name", "shared_with": ["o2"]}).startswith("this staff member also matches 1 other Entra user(s)")
    why = _duplicate_why({"reason": "email", "entra_users": [{"object_id": "o2", "display_name": "Grace Hopper"}], "created": False})
    assert why == "other Entra users in scope have the same email (Grace Hopper); not created"
