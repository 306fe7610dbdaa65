# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the api_token module and hides its whole result from every output when it holds a new token."""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.plugin_utils.secret_result import SecretResultAction


class ActionModule(SecretResultAction):
    MASKED_FIELD = "token"
