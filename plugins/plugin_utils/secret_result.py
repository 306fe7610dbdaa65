# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugins for modules that return a new secret: the result is marked no_log, so it never prints.

A module cannot mark its own result no_log (Ansible strips `_ansible_no_log` from module returns), and
`no_log_values` would mask the value in the registered variable too. The action plugin runs on the
controller after the module, so it can: the registered variable keeps the value, every callback
(stdout at any verbosity, logs, AWX) sees only "censored".
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class SecretResultAction(ActionBase):
    """Run the module of the same name; censor the displayed result when it carries `MASKED_FIELD`."""

    MASKED_FIELD = None  # the result key holding the new secret value

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name=self._task.resolved_action, task_vars=task_vars))
        if result.get(self.MASKED_FIELD):
            result["_ansible_no_log"] = True
        return result
