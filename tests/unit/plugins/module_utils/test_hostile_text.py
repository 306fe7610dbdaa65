"""Hostile text from Entra or Coconut (issue 18): control characters never reach the terminal, an echoed token is
never shown, and the Markdown summary pings nobody and links nowhere."""

from __future__ import annotations

import pytest
from test_client_stub import Stub

from ansible_collections.coconut.entra.plugins.module_utils.diff import render_diff
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import HttpClient
from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users
from ansible_collections.coconut.entra.plugins.module_utils.report import _md
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import redacted, shown

# A display name that, printed raw, ends the current line, prints a fake "ok:" line and a fake recap in green,
# then hides what follows (ESC[8m), with a C1 CSI and a right-to-left override for good measure.
HOSTILE = "Eve\nok: [localhost]\r\x1b[32mPLAY RECAP\x1b[0m\x1b[8m hidden \x9b31m\u202eevil"
CONTROL = [chr(c) for c in list(range(0x20)) + list(range(0x7f, 0xa0))] + ["\u202e", "\u2066", "\u2028"]
JWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlcyI6WyJVc2VyLlJlYWQuQWxsIl19.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu"


def assert_inert(text):
    assert not any(char in text for char in CONTROL), repr(text)


# ---- finding 5: control characters ---------------------------------------------------------------

def test_shown_escapes_every_control_and_bidi_character_visibly():
    text = shown(HOSTILE)
    assert_inert(text)
    assert text.startswith("Eve\\nok: [localhost]\\r\\x1b[32mPLAY RECAP")
    assert "\\x9b31m" in text and "\\u202eevil" in text
    assert shown("Ada Lovelace, Zoë Ñúñez 李") == "Ada Lovelace, Zoë Ñúñez 李"  # ordinary text, accents and scripts stay


def test_diff_headers_and_values_escape_control_characters():
    change = {"action": "create", "id": None, "display_name": HOSTILE, "email": "eve\x1b[2K@contoso.example",
              "before": {}, "after": {"first_name": HOSTILE, "job_title": "x\x85y"}}
    entries = render_diff([change], {"create": 1})
    for entry in entries[1:]:
        for text in entry.values():
            assert_inert(text.replace("\n", ""))  # the block's own line breaks, one per field
    assert "Eve\\nok: [localhost]" in entries[1]["after_header"]
    assert entries[1]["after"].count("\n") == 2  # one line per field, however many newlines the values hold


def test_the_unmappable_users_message_escapes_names_and_values():
    with pytest.raises(CoconutEntraError) as failure:
        map_users(Mapping(), [{"id": "o-eve\x1b[8m", "displayName": HOSTILE, "givenName": "Eve", "accountEnabled": True}])
    lines = failure.value.msg.split("\n")
    assert len(lines) == 3, failure.value.msg  # the headline, one line for Eve, the fix
    assert_inert(failure.value.msg.replace("\n", ""))
    assert "Eve\\nok: [localhost]" in lines[1] and "o-eve\\x1b[8m" in lines[1]


# ---- finding 3: tokens echoed in an error body ---------------------------------------------------

def test_redacted_hides_bearer_tokens_and_anything_jwt_shaped():
    text = redacted(f"header was 'Authorization: Bearer {JWT}', and the token {JWT}; bearer opaque-token-value")
    assert "eyJ" not in text and "opaque-token-value" not in text and "c2lnbmF0dXJl" not in text
    assert text.count("[redacted]") == 3
    assert redacted("AADSTS7000215: Invalid client secret provided.") == "AADSTS7000215: Invalid client secret provided."


@pytest.mark.parametrize("body", [
    {"error": {"code": "Authorization_RequestDenied", "message": f"Denied for Authorization: Bearer {JWT}"}},
    {"errors": [{"status": "403", "code": "forbidden", "detail": f"token {JWT} lacks a scope"}]},
    f"<html>Forbidden: Bearer {JWT}</html>".encode(),
], ids=["graph", "json-api", "html"])
def test_an_access_token_echoed_in_an_error_body_is_redacted_from_the_message(tmp_path, body):
    with Stub() as stub:
        stub.default = (403, {"Content-Type": "text/html"} if isinstance(body, bytes) else {}, body)
        http = HttpClient("Microsoft Graph", stub.url + "/v1.0", ca_path=stub.ca_file(tmp_path), max_attempts=1)
        with pytest.raises(CoconutEntraError) as failure:
            http.request("GET", "groups")
    assert "eyJ" not in failure.value.msg and "[redacted]" in failure.value.msg
    assert "eyJ" not in repr(failure.value.details)


# ---- finding 10: the Markdown summary pings nobody and links nowhere ---------------------------

@pytest.mark.parametrize("name", ["@all", "Eve @here", "ping (@channel)", "[@someone]"])
def test_markdown_neutralises_mentions(name):
    text = _md(name)
    assert "@" in text
    assert not any(text[i + 1:i + 2].isalnum() for i, char in enumerate(text) if char == "@"), repr(text)


def test_markdown_keeps_email_addresses_readable():
    assert _md("ada@contoso.example") == "ada@contoso.example"


@pytest.mark.parametrize("name", ["https://evil.example/pay", "see HTTP://EVIL.example", "www.evil.example", "ftp://x.example"])
def test_markdown_breaks_bare_urls(name):
    text = _md(name)
    assert "://" not in text and "www." not in text.lower(), repr(text)
    assert text.replace("\u200b", "") == name.replace("\\", "")  # readable: only an invisible break was added


def test_markdown_links_and_html_stay_literal():
    text = _md("[click](https://evil.example) <a href=x>y</a> ![img](x)")
    assert "](" not in text.replace("\\]\\(", "") and "<a" not in text
    assert "\\[click\\]" in text and "&lt;a href=x&gt;" in text


def test_markdown_escapes_control_characters():
    assert_inert(_md(HOSTILE))


def test_failure_messages_escape_control_characters_but_keep_their_own_line_breaks():
    from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded

    class Module:
        params = {}

        def fail_json(self, **result):
            self.failed = result

    def fail():
        # A message of ours (its line breaks) quoting data a caller did not escape (no line break here: the callers
        # that quote names escape them first; this is the catch-all for the rest).
        raise CoconutEntraError(f"2 Entra user(s) cannot be mapped:\n  {HOSTILE.replace(chr(10), ' ')}\nFix these users")

    module = Module()
    run_guarded(module, fail, libraries=())
    lines = module.failed["msg"].split("\n")
    assert len(lines) == 3 and lines[1].startswith("  Eve ok: [localhost]\\r\\x1b[32m")
    assert_inert(module.failed["msg"].replace("\n", ""))
