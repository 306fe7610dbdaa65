"""The plain-Python fast path for simple expressions gives exactly what the sandboxed Jinja2 expression gives."""

import functools
import itertools
import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ansible_collections.coconut.entra.plugins.module_utils import mapping
from ansible_collections.coconut.entra.plugins.module_utils.mapping import MAPPABLE_FIELDS, Mapping, map_users

VALUES = ("missing", None, "", "Ada", " ada ", 0, 7, ["x"], {"k": "v"}, True)
FAST = ("user.givenName", "user.mail or user.userPrincipalName", "'en'", "user.mail or user.userPrincipalName or 'none'",
        "user.mail or 'fallback'")


def users():
    for mail, upn in itertools.product(VALUES, repeat=2):
        user = {"id": "1", "displayName": "A", "givenName": "Ada", "surname": "L"}
        for key, value in (("mail", mail), ("userPrincipalName", upn)):
            if value != "missing":
                user[key] = value
        yield user


@pytest.mark.parametrize("expression", FAST)
def test_fast_path_equals_jinja(expression):
    mapping = Mapping({"job_title": expression})
    assert mapping._fast is not None, "the expression did not take the fast path"
    fast = mapping._fast["job_title"]
    jinja = mapping._compiled["job_title"]
    for user in users():
        assert fast(user) == jinja(user=user), user
        assert type(fast(user)) is type(jinja(user=user)), user


@pytest.mark.parametrize("expression", ["user.items", "user.__class__", "user.get('mail')", "user.mail | upper", "user['mail']"])
def test_other_shapes_stay_with_jinja(expression):
    assert Mapping({"job_title": expression})._fast is None


def test_fast_and_jinja_map_users_alike():
    fast = Mapping({"language": "'en'"})
    slow = Mapping({"language": "'en' | string"})
    assert fast._fast is not None and slow._fast is None
    for user in users():
        assert fast.map_user(user) == slow.map_user(user), user


# --- the Python the Mapping writes for the fast shapes (user.X, quoted text, `or`) maps users as Jinja2 does -----

# Text every field takes (an email and a language code at once), padded or not: most users are good, as at a real site.
GOOD = st.sampled_from(["a@b.c", " a@b.c ", "e@f.gh", "\te@f.gh\u00a0"])
# Values of every kind the general path treats apart: null, blank, padded, non-text, over-long, emails Coconut takes or
# refuses, language codes of every length.
EDGE_VALUES = (None, "", " ", "\u00a0", "\u2003x\u2003", "Ada", " Ada ", "\tAda\n", "ada@bank.example", " ada@bank.example ",
               "ada@bank", "a b@c.de", "a@@b.c", "@b.c", "a@.c", "a@b.", "a@b.c\n", "e", "en", "en-G", "en-GB", "en-GB-x",
               "x" * 4096, " " + "x" * 4096 + " ", "x" * 4097, 0, 1, -1, 1.5, True, False, [], ["x"], {}, {"k": "v"})
EDGE = st.one_of(st.sampled_from(EDGE_VALUES), st.text(alphabet="ab@.-\t \u00a0", max_size=7), st.floats())
ATTRIBUTES = ("givenName", "surname", "mail", "userPrincipalName", "jobTitle", "employeeId", "preferredLanguage")
# Constants as written in an expression; their values are what Jinja2 parses (quotes, backslashes, a newline included).
GOOD_CONSTANTS = ("'a@b.c'", "' e@f.gh '")
EDGE_CONSTANTS = ("'en'", "''", "'  '", "' fr-CA '", "'en-GB-oed'", "'ada@bank.example'", "'not an email'", "'Teller'",
                  "\"it's \\\"q\\\" \\\\ \\n\"", "'" + "x" * 4097 + "'", "'x'")
REQUIRED = ("first_name", "last_name", "email")

OPERANDS = st.one_of(st.sampled_from(ATTRIBUTES).map("user.{}".format), st.sampled_from(ATTRIBUTES).map("user.{}".format),
                     st.sampled_from(GOOD_CONSTANTS), st.sampled_from(EDGE_CONSTANTS))
EXPRESSIONS = st.lists(OPERANDS, min_size=1, max_size=3).map(" or ".join)


@st.composite
def overrides(draw):
    chosen = {}
    for field in MAPPABLE_FIELDS:
        kind = draw(st.sampled_from(["default", "expression", "expression"] + ([] if field in REQUIRED else ["unmapped"])))
        if kind == "expression":
            chosen[field] = draw(EXPRESSIONS)
        elif kind == "unmapped":
            chosen[field] = None
    return chosen


@st.composite
def graph_users(draw):
    """A user whose attributes are all good, then up to three of them missing or set to an edge value."""
    user = {"id": "oid-1", "displayName": draw(st.sampled_from(["Ada Lovelace", None]))}
    user.update({name: draw(GOOD) for name in ATTRIBUTES})
    for name in draw(st.lists(st.sampled_from(ATTRIBUTES + ("id",)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del user[name]
        else:
            user[name] = draw(EDGE) if name != "id" else draw(st.sampled_from(["", None, 7]))
    return user


@functools.cache
def mappings(frozen):
    """(fast, general) Mappings of the same expressions; the general one maps every user through Jinja2."""
    fast = Mapping(dict(frozen))
    mapping.FAST_PATHS = False
    try:
        general = Mapping(dict(frozen))
    finally:
        mapping.FAST_PATHS = True
    return fast, general


def as_compared(result):
    desired, invalid = result
    return [(staff.object_id, staff.display_name, staff.fields, staff.aliases) for staff in desired], invalid


@settings(max_examples=int(os.environ.get("MAPPING_EXAMPLES", "400")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chosen=overrides(), everyone=st.lists(graph_users(), max_size=6))
def test_the_fast_mapper_maps_every_user_exactly_as_jinja2_does(chosen, everyone):
    fast, general = mappings(tuple(sorted(chosen.items())))
    assert fast._fast is not None and general._fast is None and general._map_fast is None
    for user in everyone:
        event("no fast mapper (a refused constant)" if fast._map_fast is None else
              "the fast mapper took the user" if fast._map_fast(user) is not None else "the fast mapper left the user to Jinja2")
        assert fast.map_user(user) == general.map_user(user), user
    assert as_compared(map_users(fast, everyone, invalid_users="skip")) == as_compared(map_users(general, everyone, invalid_users="skip"))


@pytest.mark.parametrize("field", MAPPABLE_FIELDS)
def test_the_fast_mapper_gives_each_field_what_jinja2_gives_for_every_kind_of_value(field):
    """Every edge value, alone, before and after another in an `or`, after a constant, through each field's own checks."""
    values = ("missing", "a@b.c", " e@f.gh ") + EDGE_VALUES
    for expression in ("user.jobTitle", "user.jobTitle or user.employeeId", "user.jobTitle or 'a@b.c'", "'' or user.jobTitle"):
        fast, general = mappings(((field, expression),))
        assert fast._map_fast is not None
        for job_title, employee_id in itertools.product(values, values if "employeeId" in expression else ("missing",)):
            user = {"id": "oid-1", "displayName": "Ada", "givenName": "Ada", "surname": "Lovelace", "mail": "ada@bank.example"}
            for name, value in (("jobTitle", job_title), ("employeeId", employee_id)):
                if value != "missing":
                    user[name] = value
            assert fast.map_user(user) == general.map_user(user), (expression, user)


def test_a_constant_written_like_code_is_mapped_as_its_text():
    text = "'); __import__('os').system('false'); ('\n    return None"
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    mapping_ = Mapping({"job_title": quoted})
    assert mapping_._map_fast is not None
    fields, errors = mapping_.map_user({"id": "1", "givenName": "Ada", "surname": "Lovelace", "mail": "ada@bank.example"})
    assert errors == [] and fields["job_title"] == text
