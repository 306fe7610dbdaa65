# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rewrite keys of a YAML vars file on the controller: vault-encrypted stays encrypted, mode 0600, atomic replace.

Runs on the controller because only there are the vault secrets the user gave (--vault-id, --vault-password-file,
--ask-vault-pass). Never puts a value in its result, a message or a log line: only key names.
"""

from __future__ import annotations

import json
import os

import yaml

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import AnsibleVaultError, is_encrypted, parse_vaulttext_envelope
from ansible.plugins.action import ActionBase

from ansible_collections.coconut.entra.plugins.module_utils.files import write_atomically

VAULT_TAG = "!vault"


class _Vaulted:
    """An inline `!vault |` value, kept as ciphertext."""

    def __init__(self, ciphertext):
        self.ciphertext = ciphertext


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads inline `!vault` values (as _Vaulted) instead of refusing the tag."""


_Loader.add_constructor(VAULT_TAG, lambda loader, node: _Vaulted(loader.construct_scalar(node)))


class CredentialsFileError(Exception):
    pass


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC = dict(
        path=dict(type="path", required=True),
        values=dict(type="dict", required=True),
        mode=dict(type="raw", default="0600"),
    )

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        path = args["path"]
        try:
            mode = int(str(args["mode"]), 8)
        except ValueError:
            return dict(result, failed=True, msg="mode must be an octal file mode such as '0600'")
        values = {str(k): v for k, v in args["values"].items()}
        bad = [k for k, v in values.items() if not isinstance(v, str) or not v]
        if bad:
            return dict(result, failed=True, msg="credentials_file: {} must be non-empty strings".format(", ".join(sorted(bad))))
        try:
            outcome = self._update(path, values, mode)
        except yaml.YAMLError as exc:
            # The parser's message quotes the offending line, which may hold a secret: give only its position.
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            return dict(result, failed=True, path=path, msg=f"could not update the credentials file {path}: it is not valid YAML{where}")
        except (CredentialsFileError, AnsibleVaultError, OSError) as exc:
            return dict(result, failed=True, path=path,
                        msg=f"could not update the credentials file {path}: {self._scrub(to_text(exc), values)}")
        result.update(outcome)
        return result

    @staticmethod
    def _scrub(text, values):
        for value in values.values():
            text = text.replace(value, "********")
        return text

    # ---- reading ---------------------------------------------------------------------------------

    def _vault(self):
        return self._loader._vault  # the VaultLib holding the secrets given on the command line

    def _decrypt(self, b_vaulttext, what):
        vault = self._vault()
        if not vault.secrets:
            raise CredentialsFileError(f"{what} is Ansible Vault-encrypted and no vault password was given: pass it as for any "
                                       "vault file (--vault-id, --vault-password-file or --ask-vault-pass)")
        plaintext, _secret_id, secret = vault.decrypt_and_get_vault_id(b_vaulttext)
        label = parse_vaulttext_envelope(b_vaulttext.strip(), default_vault_id=None)[3]
        return plaintext, secret, label

    def _encrypt(self, text, secret, label):
        return self._vault().encrypt(text, secret=secret, vault_id=label)

    def _update(self, path, values, mode):
        if not os.path.isfile(path):
            raise CredentialsFileError("no such file (create it with the current entra_client_secret and coconut_api_token)")
        with open(path, "rb") as handle:
            b_data = handle.read()
        whole_file = None
        if is_encrypted(b_data):
            b_plain, secret, label = self._decrypt(b_data, "the file")
            whole_file = (secret, label)
            text = to_text(b_plain, errors="surrogate_or_strict")
        else:
            text = to_text(b_data, errors="surrogate_or_strict")

        current = yaml.load(text, Loader=_Loader) if text.strip() else {}  # noqa: S506 - a SafeLoader subclass
        if current is None:
            current = {}
        if not isinstance(current, dict):
            raise CredentialsFileError("it must be a YAML mapping of variable names to values")

        changed_keys = [k for k in values if self._plain(current.get(k)) != values[k]]
        stat = os.stat(path)
        mode_changes = (stat.st_mode & 0o7777) != mode
        result = {
            "changed": bool(changed_keys) or mode_changes,
            "path": path,
            "updated": sorted(changed_keys),
            "encrypted": whole_file is not None,
            "vault_id": whole_file[1] if whole_file else None,
            "mode": f"{mode:04o}",
        }
        if not result["changed"] or self._task.check_mode:
            return result
        if not changed_keys:
            os.chmod(path, mode)
            return result

        new_text = self._rewrite(text, changed_keys, values, current)
        self._verify(new_text, values)
        b_out = to_bytes(new_text)
        if whole_file is not None:
            b_out = self._encrypt(new_text, *whole_file)
        write_atomically(path, b_out, mode, owner=(stat.st_uid, stat.st_gid))
        return result

    def _plain(self, value):
        if isinstance(value, _Vaulted):
            return to_text(self._decrypt(to_bytes(value.ciphertext), "a value in the file")[0])
        return value

    # ---- writing ---------------------------------------------------------------------------------

    def _rewrite(self, text, keys, values, current):
        """Replace only the values of `keys` in the text, so comments and the rest of the file stay as they were."""
        root = yaml.compose(text, Loader=_Loader) if text.strip() else None
        spans = {}
        if root is not None:
            for key_node, value_node in root.value:
                if key_node.value in keys:
                    if key_node.value in spans:
                        # Which one a reader takes depends on the reader: refuse rather than guess.
                        raise CredentialsFileError(f"{key_node.value} appears more than once in the file (lines "
                                                   f"{spans[key_node.value][0].start_mark.line + 1} and {key_node.start_mark.line + 1}): "
                                                   "keep one; the file was left unchanged")
                    spans[key_node.value] = (key_node, value_node)
        edits, appended = [], []
        # A file whose values are inline !vault keeps new keys the same way: never a secret in clear beside them.
        vaulted = next((value for value in current.values() if isinstance(value, _Vaulted)), None)
        for key in keys:
            if key not in spans:
                if vaulted is not None:
                    _plain, secret, label = self._decrypt(to_bytes(vaulted.ciphertext), "a vaulted value in the file")
                    body = to_text(self._encrypt(values[key], secret, label)).strip().splitlines()
                    appended.append(f"{key}: {VAULT_TAG} |\n" + "".join("  " + line + "\n" for line in body))
                else:
                    appended.append(f"{key}: {json.dumps(values[key])}\n")
                continue
            key_node, value_node = spans[key]
            start, end = value_node.start_mark.index, value_node.end_mark.index
            if isinstance(current.get(key), _Vaulted):
                b_cipher = to_bytes(current[key].ciphertext)
                _plain, secret, label = self._decrypt(b_cipher, f"the value of {key}")
                indent = " " * (key_node.start_mark.column + 2)
                body = to_text(self._encrypt(values[key], secret, label)).strip().splitlines()
                replacement = VAULT_TAG + " |\n" + "".join(indent + line + "\n" for line in body)
                if not text[start:end].endswith("\n"):
                    replacement = replacement.rstrip("\n")
            else:
                replacement = json.dumps(values[key])  # a JSON string is a valid double-quoted YAML scalar
                if text[start:end].endswith("\n"):  # a block scalar's span runs to the end of its last line
                    replacement += "\n"
            edits.append((start, end, replacement))
        for start, end, replacement in sorted(edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        if appended:
            text = (text if not text or text.endswith("\n") else text + "\n") + "".join(appended)
        return text

    def _verify(self, new_text, values):
        reread = yaml.load(new_text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        for key, value in values.items():
            if not isinstance(reread, dict) or self._plain(reread.get(key)) != value:
                raise CredentialsFileError(f"rewriting {key} did not give back the new value; the file was left unchanged")
