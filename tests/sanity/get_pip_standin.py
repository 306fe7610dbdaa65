# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An offline stand-in for the get-pip.py script ansible-test downloads.

ansible-test bootstraps pip in each sanity venv by running
``~/.ansible/test/cache/get_pip_<version>.py`` and downloads that file when it is missing,
from a host this machine cannot reach. This script takes its place:

- ``python tests/sanity/get_pip_standin.py --install`` copies this file to the cache path
  of the ansible-test in use (the pip version follows ansible-core) and prints that path.
- Run by ansible-test as get-pip (``--disable-pip-version-check pip==24.2 --no-setuptools
  --no-wheel``) it bootstraps the venv with ``ensurepip`` and then ``pip install``s what was
  asked for from the configured package index. The bundled pip lacks get-pip's
  ``--no-setuptools`` / ``--no-wheel`` flags, so they are honoured by uninstalling instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

REAL_GET_PIP_MIN_SIZE = 1_000_000


def pip_version():
    """The pip version the installed ansible-test bootstraps its venvs with."""
    import ansible_test

    source = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source, encoding="utf-8") as handle:
        match = re.search(r"default_packages\s*=\s*dict\(\s*pip='([0-9.]+)'", handle.read())
    if not match:
        raise SystemExit(f"cannot find the pip version in {source}: has ansible-test changed how it bootstraps pip?")
    return match.group(1)


def install():
    cache = os.path.expanduser("~/.ansible/test/cache")
    target = os.path.join(cache, "get_pip_{}.py".format(pip_version().replace(".", "_")))
    os.makedirs(cache, exist_ok=True)
    # A real get-pip.py (megabytes of embedded pip) is better than this stand-in: keep it.
    if os.path.exists(target) and os.path.getsize(target) > REAL_GET_PIP_MIN_SIZE:
        print(f"{target} is a real get-pip: left as it is")
        return
    shutil.copyfile(__file__, target)
    print(target)


def bootstrap(args):
    drop = {"--no-setuptools": "setuptools", "--no-wheel": "wheel"}
    unwanted = [package for flag, package in drop.items() if flag in args]
    pip_args = [arg for arg in args if arg not in drop]
    python = sys.executable
    subprocess.run([python, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([python, "-m", "pip", "install", "--quiet"] + pip_args, check=True)
    if unwanted:
        subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes"] + unwanted, check=False)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--install"]:
        install()
    else:
        bootstrap(args)


if __name__ == "__main__":
    main()
