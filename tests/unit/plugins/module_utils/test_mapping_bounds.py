"""A mapping expression cannot build huge strings or lists (issue 18, finding 9): every operation that can grow a
value far beyond its inputs is refused before it runs, a field's value has a length limit, and the run fails before
any write naming the field and the expression."""

from __future__ import annotations

import tracemalloc

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users

ADA = {"id": "o-ada", "displayName": "Ada Lovelace", "givenName": "Ada", "surname": "Lovelace", "mail": "ada@contoso.example",
       "accountEnabled": True, "jobTitle": "Countess"}
HUGE = [
    "'x'|center(10**8)",
    "'%0100000000d'|format(1)",
    "'%0100000000d' % 1",
    "'%*d' % (10**8, 1)",
    "'{:0100000000}'.format(1)",
    "'{:>{}}'.format('x', 10**8)",
    "'x'.ljust(10**8)",
    "'x'.rjust(10**8)",
    "'x'.zfill(10**8)",
    "'x'|indent(10**8, true)",
    "('x' * 100000)|replace('x', 'x' * 100000)",
    "('x' * 100000).replace('x', 'yy')",
    "('x' * 100000)|wordwrap(1, wrapstring='y' * 100000)",
    "(['x' * 100000] * 1000)|join",
    "'-'.join(['x' * 100000] * 1000)",
    "(('x' * 99999)|list)|join('y' * 99999)",
    "'y'.join(('x' * 99999)|list)",
    "([['x'] * 100000] * 100000)|sum(start=[])|join",
    "[1]|batch(10**8, 'x')|list|length",
    "[1]|slice(10**8)|list|length",
    "(user.givenName * 100000)|truncate(10**8, end='y' * 100000)",
]


def failure_for(expression, user=None):
    return Mapping({"job_title": expression}).map_user(ADA if user is None else user)


@pytest.mark.parametrize("expression", HUGE)
def test_an_expression_that_would_build_a_huge_value_is_refused_before_it_is_built(expression):
    tracemalloc.start()
    try:
        fields, errors = failure_for(expression)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "job_title" not in fields
    assert [e["field"] for e in errors] == ["job_title"] and expression in errors[0]["message"], errors
    assert peak < 20 * 2 ** 20, f"{peak / 2 ** 20:.0f} MB were allocated before the refusal"


def test_ordinary_expressions_still_work():
    fields, errors = failure_for("(user.jobTitle ~ ' ' ~ ('-' * 3))|center(20)|trim|replace('C', 'c')")
    assert errors == [] and fields["job_title"] == "countess ---"
    fields, errors = failure_for("'%05d' % 42 ~ '{:>6}'.format('x') ~ [user.givenName, user.surname]|join(' ')")
    assert errors == [] and fields["job_title"] == "00042     xAda Lovelace"


def test_a_field_longer_than_the_limit_is_an_invalid_user():
    fields, errors = failure_for("user.jobTitle", dict(ADA, jobTitle="x" * 5000))
    assert "job_title" not in fields and "5000 characters" in errors[0]["message"]


def test_the_run_fails_before_any_write_naming_the_field_and_the_expression():
    with pytest.raises(CoconutEntraError) as failure:
        map_users(Mapping({"job_title": "'x'|center(10**8)"}), [ADA])
    assert "job_title: the expression \"'x'|center(10**8)\" was blocked by the sandbox" in failure.value.msg
    assert "nothing was written" in failure.value.msg
