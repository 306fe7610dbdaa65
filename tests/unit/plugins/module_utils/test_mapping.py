"""The staff mapping: Jinja2 expressions over the Entra user, validated eagerly, evaluated in a sandbox."""

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.mapping import (
    BROAD_SELECT,
    DEFAULT_MAPPING,
    MAPPABLE_FIELDS,
    Mapping,
    map_users,
)
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff

ADA = {"id": "o-ada", "displayName": "Ada Lovelace", "givenName": "Ada", "surname": "Lovelace", "mail": "ada@contoso.example",
       "userPrincipalName": "ada@contoso.onmicrosoft.com", "accountEnabled": True, "jobTitle": "Countess", "employeeId": "E-1",
       "businessPhones": ["+1 555 0100"], "preferredLanguage": "en-GB", "country": "CA"}


def mapped(overrides=None, user=None):
    fields, errors = Mapping(overrides).map_user(ADA if user is None else user)
    assert errors == []
    return fields


def errors_of(overrides, user=None):
    return Mapping(overrides).map_user(ADA if user is None else user)[1]


def config_error(overrides):
    with pytest.raises(CoconutEntraError) as failure:
        Mapping(overrides)
    return failure.value.msg


# --- defaults and overrides -------------------------------------------------------------------------

def test_defaults_map_given_name_surname_mail_and_job_title():
    assert mapped() == {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example", "job_title": "Countess"}
    assert Mapping().expressions == DEFAULT_MAPPING


def test_email_falls_back_to_the_user_principal_name_when_mail_is_missing_or_null():
    without_mail = {k: v for k, v in ADA.items() if k != "mail"}
    assert mapped(user=without_mail)["email"] == "ada@contoso.onmicrosoft.com"
    assert mapped(user=dict(ADA, mail=None))["email"] == "ada@contoso.onmicrosoft.com"


def test_overriding_one_field_keeps_the_other_defaults():
    assert mapped({"email": "user.userPrincipalName"}) == {"first_name": "Ada", "last_name": "Lovelace",
                                                           "email": "ada@contoso.onmicrosoft.com", "job_title": "Countess"}


def test_none_unmaps_an_optional_field_so_it_is_never_written():
    fields = mapped({"job_title": None})
    assert "job_title" not in fields
    assert Mapping({"job_title": None}).fields == ("first_name", "last_name", "email")


def test_a_constant_is_a_quoted_literal():
    assert mapped({"language": "'en'"})["language"] == "en"


def test_optional_fields_map_filters_and_lookups():
    fields = mapped({"external_id": "user.employeeId", "username": "user.userPrincipalName.split('@')[0]",
                     "language": "dict(CA='en', FR='fr')[user.country] | default('en')"})
    assert fields["external_id"] == "E-1" and fields["username"] == "ada" and fields["language"] == "en"


def test_an_attribute_missing_from_the_user_maps_to_none_for_an_optional_field():
    assert mapped(user={k: v for k, v in ADA.items() if k != "jobTitle"})["job_title"] is None
    assert mapped({"username": "user.mail.split('@')[5]"})["username"] is None
    assert mapped({"external_id": "user.onPremisesExtensionAttributes.extensionAttribute1"})["external_id"] is None


def test_strings_are_written_trimmed():
    assert mapped(user=dict(ADA, givenName="  Ada  "))["first_name"] == "Ada"


def test_numbers_become_text():
    assert mapped({"external_id": "user.employeeId | replace('E-', '') | int"})["external_id"] == "1"


def test_dict_keys_win_over_dict_methods():
    assert mapped({"job_title": "user.items"}, user=dict(ADA, items="a Graph attribute called items"))["job_title"] == \
        "a Graph attribute called items"


# --- configuration errors ---------------------------------------------------------------------------

def test_an_unknown_field_is_an_error_listing_the_allowed_fields():
    message = config_error({"nickname": "user.displayName"})
    assert "nickname" in message and ", ".join(MAPPABLE_FIELDS) in message


def test_unmapping_a_required_field_is_an_error():
    assert "first_name is required" in config_error({"first_name": None})


def test_a_non_string_expression_is_an_error_suggesting_a_quoted_constant():
    message = config_error({"language": 5})
    assert "coconut_staff_mapping.language" in message and "\"'en'\"" in message


def test_an_expression_written_as_a_template_says_to_drop_the_braces():
    message = config_error({"job_title": "{{ user.jobTitle }}"})
    assert "coconut_staff_mapping.job_title" in message and "drop the {{ }} braces" in message and "(user.jobTitle)" in message


def test_an_expression_that_does_not_compile_names_the_field_the_expression_and_jinjas_message():
    message = config_error({"username": "user.mail.split('@'"})
    assert "coconut_staff_mapping.username" in message and "user.mail.split('@'" in message and "does not compile" in message
    assert "unexpected" in message


def test_trailing_garbage_does_not_compile():
    assert "does not compile" in config_error({"username": "user.mail user.id"})


def test_an_empty_expression_is_an_error():
    assert "is empty" in config_error({"job_title": "  "})


def test_the_mapping_itself_must_be_a_dict():
    assert "must be a dict" in config_error(["user.givenName"])


# --- per-user errors --------------------------------------------------------------------------------

def test_a_missing_required_field_is_a_per_user_error_not_an_exception():
    fields, errors = Mapping().map_user({"id": "o1", "displayName": "No Name", "mail": "x@y.example"})
    assert [e["field"] for e in errors] == ["first_name", "last_name"]
    assert errors[0]["message"].startswith("missing")
    assert fields == {"email": "x@y.example", "job_title": None}


def test_a_whitespace_only_required_field_is_missing():
    assert errors_of(None, user=dict(ADA, surname="   "))[0]["field"] == "last_name"


def test_an_expression_that_raises_names_the_field_and_the_error():
    [error] = errors_of({"username": "user.mail + 1"})
    assert error["field"] == "username" and "user.mail + 1" in error["message"] and "TypeError" in error["message"]


def test_an_expression_dividing_by_zero_is_a_per_user_error():
    [error] = errors_of({"username": "user.employeeId ~ (1 / 0)"})
    assert error["field"] == "username" and "ZeroDivisionError" in error["message"]


def test_one_failing_expression_does_not_hide_the_other_fields():
    fields, errors = Mapping({"username": "user.mail + 1", "language": "'en'"}).map_user(ADA)
    assert [e["field"] for e in errors] == ["username"]
    assert fields == {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example", "job_title": "Countess", "language": "en"}


def test_a_list_result_for_a_text_field_is_an_error():
    [error] = errors_of({"job_title": "user.businessPhones"})
    assert error["field"] == "job_title" and "list" in error["message"]


def test_a_boolean_result_is_an_error():
    [error] = errors_of({"job_title": "user.accountEnabled"})
    assert "bool" in error["message"]


# --- values from Entra are data ---------------------------------------------------------------------

def test_template_syntax_in_an_entra_value_comes_out_literally():
    fields = mapped(user=dict(ADA, givenName="{{ 7*7 }}", surname="{% raw %}x", displayName="{{ 7*7 }}"))
    assert fields["first_name"] == "{{ 7*7 }}" and fields["last_name"] == "{% raw %}x"


def test_html_in_an_entra_value_is_not_escaped():
    assert mapped(user=dict(ADA, jobTitle="<script>alert(1)</script> & co"))["job_title"] == "<script>alert(1)</script> & co"


# --- the sandbox ------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "user.__class__",
    "user.__class__.__mro__[1].__subclasses__()",
    "().__class__.__mro__",
    "''.__class__.__mro__[1].__subclasses__()",
    "user['__class__']",
    "user.givenName.__class__.__base__",
    "user.update({'givenName': 'x'})",
    "user.businessPhones.append('x')",
    "user.pop('mail')",
    "user.clear()",
    "'{0.__class__}'.format(user)",
    "'x' * 10000000",
    "2 ** 100000",
])
def test_the_sandbox_blocks_escapes_mutation_and_resource_exhaustion(expression):
    user = {k: (list(v) if isinstance(v, list) else v) for k, v in ADA.items()}
    [error] = errors_of({"job_title": expression}, user=user)
    assert error["field"] == "job_title" and "blocked by the sandbox" in error["message"]
    assert user == ADA, "the user was not modified"


@pytest.mark.parametrize("name", ["range", "lipsum", "cycler", "joiner", "namespace", "config", "request", "os", "__builtins__",
                                  "self", "lookup"])
@pytest.mark.parametrize("shape", ["{}()", "{}", "user.givenName | default({})"])
def test_only_user_is_in_reach(name, shape):
    # Any other name would be undefined, and undefined maps to null: a typo would clear the field for everyone.
    message = config_error({"job_title": shape.format(name)})
    assert f"coconut_staff_mapping.job_title: {name} is not defined" in message and "only `user`" in message


def test_an_unquoted_constant_is_a_config_error_not_a_null():
    assert "en is not defined" in config_error({"language": "en"}) and "quote constants" in config_error({"language": "en"})


def test_builtin_filters_stay_available():
    assert mapped({"job_title": "user.jobTitle | upper | replace('ESS', '') | center(7) | replace(' ', '-')"})["job_title"] == "-COUNT-"


# --- graph_select -----------------------------------------------------------------------------------

def test_graph_select_reads_only_what_the_default_expressions_reference():
    assert Mapping().graph_select == ["accountEnabled", "displayName", "givenName", "id", "jobTitle", "mail", "surname", "userPrincipalName"]


def test_graph_select_follows_attribute_item_and_get_access():
    select = Mapping({"job_title": None, "external_id": "user['employeeId']", "language": "user.get('preferredLanguage', 'en')",
                      "username": "user.onPremisesSamAccountName | lower"}).graph_select
    assert select == sorted(select)
    assert {"employeeId", "preferredLanguage", "onPremisesSamAccountName"} <= set(select)
    assert "jobTitle" not in select and "get" not in select


def test_graph_select_drops_unmapped_fields():
    assert "jobTitle" not in Mapping({"job_title": None}).graph_select


@pytest.mark.parametrize("expression", ["user[user.country]", "user | tojson", "user.values() | first", "user | attr('mail')",
                                        "(user | dictsort)[0][1]"])
def test_graph_select_falls_back_to_a_broad_set_when_user_is_read_dynamically(expression):
    select = Mapping({"job_title": expression}).graph_select
    assert set(BROAD_SELECT) <= set(select)


def test_graph_select_always_reads_id_display_name_account_enabled_mail_and_user_principal_name():
    select = Mapping({"first_name": "'A'", "last_name": "'B'", "email": "'c@d'", "job_title": None}).graph_select
    assert select == ["accountEnabled", "displayName", "id", "mail", "userPrincipalName"]


# --- map_users --------------------------------------------------------------------------------------

BROKEN = {"id": "o-broken", "displayName": "Broken User", "mail": "broken@x.example"}


def test_map_users_builds_desired_staff_with_the_group_extras():
    desired, invalid = map_users(Mapping(), [ADA], extras_for=lambda user: {"role": 10, "locations": ["L1"], "user_group_id": "new:Tellers"})
    assert invalid == []
    assert desired == [DesiredStaff(object_id="o-ada", display_name="Ada Lovelace", fields={
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example", "job_title": "Countess",
        "role": 10, "locations": ["L1"], "user_group_id": "new:Tellers"}, aliases=("ada@contoso.example", "ada@contoso.onmicrosoft.com"))]


def test_map_users_fail_raises_naming_each_user_and_field():
    with pytest.raises(CoconutEntraError) as failure:
        map_users(Mapping(), [ADA, BROKEN])
    message = failure.value.msg
    assert "Broken User (o-broken)" in message and "first_name" in message and "last_name" in message
    assert "coconut_invalid_users: skip" in message and "Ada" not in message
    assert failure.value.details["invalid"][0]["object_id"] == "o-broken"


def test_map_users_fail_caps_the_listing():
    users = [dict(BROKEN, id=f"o{i}", displayName=f"Broken {i}") for i in range(25)]
    with pytest.raises(CoconutEntraError) as failure:
        map_users(Mapping(), users)
    assert "Broken 19 (o19)" in failure.value.msg and "Broken 20" not in failure.value.msg and "and 5 more" in failure.value.msg


def test_map_users_skip_returns_the_invalid_users_and_maps_everyone_else():
    desired, invalid = map_users(Mapping(), [ADA, BROKEN], invalid_users="skip")
    assert [d.object_id for d in desired] == ["o-ada"]
    assert invalid == [{"object_id": "o-broken", "display_name": "Broken User", "email": "broken@x.example", "errors": invalid[0]["errors"]}]
    assert [e["field"] for e in invalid[0]["errors"]] == ["first_name", "last_name"]


def test_map_users_rejects_an_unknown_invalid_users_mode():
    with pytest.raises(CoconutEntraError, match="fail or skip"):
        map_users(Mapping(), [], invalid_users="ignore")
