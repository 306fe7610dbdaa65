"""What real tenants' data does to the plan (issue 15): nulls through filters, padding, shared emails, case, roles."""

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.diff import render_diff
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users

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
    assert [field for field, _ in errors] == ["first_name"]
    assert "missing" in errors[0][1]


def test_a_null_still_falls_back_and_tests_and_defaults_still_see_it():
    fields, errors = mapped({"job_title": "user.jobTitle | default('Teller', true)", "external_id": "'none' if user.employeeId is none else 'set'",
                             "language": "'en'", "username": "(user.employeeId or user.mail) | lower"})
    assert errors == []
    assert fields["job_title"] == "Teller"
    assert fields["external_id"] == "none"
    assert fields["language"] == "en"
    assert fields["username"] == "robert.builder@bank.example"


def test_the_fast_path_and_the_sandbox_agree_on_nulls_and_blanks():
    for mail in (None, "", "   ", " ada@bank.example "):
        user = dict(BOB, mail=mail)
        fast, _ = Mapping().map_user(user)
        assert Mapping()._fast is not None
        slow, _ = Mapping({"email": "(user.mail or user.userPrincipalName) | string"}).map_user(user)
        assert fast["email"] == slow["email"], mail


def test_the_diff_tells_null_empty_and_the_text_none_apart():
    change = {"action": "update", "id": "1", "display_name": "Bob", "email": "b@x", "before": {"job_title": "None", "username": ""},
              "after": {"job_title": None, "username": "null"}}
    [_, entry] = render_diff([change], {})
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
    assert [field for field, _ in errors] == ["email"]
    assert "not an email address" in errors[0][1]
    with pytest.raises(CoconutEntraError, match="cannot be mapped"):
        map_users(Mapping(), [dict(BOB, mail=email)])


def test_a_language_coconut_would_refuse_is_an_invalid_user():
    _, errors = mapped({"language": "'english'"})
    assert [field for field, _ in errors] == ["language"]
