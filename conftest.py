"""Make `ansible_collections.coconut.entra` importable from a plain checkout."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".collections"))
