"""Coconut's JSON:API error shape (errors[].code/title/detail/source.pointer/meta) is read in one place,
http.jsonapi_error: the service error of any answer, a bulk answer's per-item errors and apply's failure text follow it."""

from __future__ import annotations

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import apply, coconut, http

ERROR = {"code": "invalid_email", "title": "Invalid attribute", "detail": "email is not an email address",
         "source": {"pointer": "/data/1/attributes/email"}, "meta": {"attribute": "email"}}


class Answer:
    status_code = 422
    reason = "Unprocessable Entity"
    text = ""

    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


def test_one_error_object_is_read_into_its_parts():
    assert http.jsonapi_error(ERROR) == {"code": "invalid_email", "title": "Invalid attribute", "detail": "email is not an email address",
                                         "pointer": "/data/1/attributes/email", "meta": {"attribute": "email"}}


@pytest.mark.parametrize("error", [None, "oops", {"source": "here", "meta": ["x"]}, {"source": None}])
def test_a_malformed_error_object_reads_as_empty_parts(error):
    assert http.jsonapi_error(error) == {"code": None, "title": None, "detail": None, "pointer": None, "meta": {}}


def test_the_service_error_the_bulk_results_and_apply_s_text_agree_on_one_error():
    body = {"data": [{"id": "7", "attributes": {}}, None], "errors": [ERROR]}
    assert http.service_error(Answer(body)) == ("invalid_email", "email is not an email address", "/data/1/attributes/email")
    results = coconut._bulk_results(body, 2)
    assert results[0]["error"] is None and results[1]["error"] is ERROR
    assert apply._error_text(results[1]["error"]) == "invalid_email: email is not an email address (field email)"
    assert coconut._first_error(Answer(body))["meta"] == {"attribute": "email"}


@pytest.mark.parametrize("body", [{"errors": {"code": "x"}}, {"errors": "broken"}, ["errors"], {}])
def test_an_answer_whose_errors_are_not_a_list_has_none(body):
    assert http.jsonapi_errors(body) == []
    assert coconut._first_error(Answer(body)) == http.jsonapi_error(None)


def test_no_other_file_reads_the_parts_of_an_error_object_itself():
    import re
    from pathlib import Path

    root = Path(http.__file__).parents[2]
    readers = [str(path.relative_to(root)) for path in sorted(root.glob("plugins/**/*.py")) + sorted(root.glob("extensions/**/*.py"))
               if path.name != "http.py" and re.search(r"""\.get\(["'](pointer|detail|title)["']\)""", path.read_text())]
    assert readers == []
