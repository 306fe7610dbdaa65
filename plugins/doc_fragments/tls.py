# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS and timeout options, shared by the Entra and the Coconut side (``_tls_argument_spec()`` in common.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  ca_path:
    description:
      - A PEM file of CA certificates to trust instead of the system trust store.
      - The environment variables E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) are ignored; set this option instead.
    type: path
  validate_certs:
    description:
      - Whether to verify TLS certificates. Only set this to V(false) on a test system; the module warns when it is.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP response before retrying or failing.
    type: int
    default: 30
"""
