"""The plain-Python fast path for simple expressions gives exactly what the sandboxed Jinja2 expression gives."""

import itertools

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping

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
