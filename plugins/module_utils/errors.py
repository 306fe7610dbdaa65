# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type the modules catch and turn into fail_json."""

from __future__ import annotations


class CoconutEntraError(Exception):
    """A failure a person can act on: `msg` says what was being done, the cause and the fix.

    `details` holds extra, secret-free facts (service, status, code, ...) returned with the failure.
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details
