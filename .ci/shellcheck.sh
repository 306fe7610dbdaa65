#!/usr/bin/env bash
# Install Debian's shellcheck so ansible-test's shellcheck sanity test runs instead of being
# skipped (it skips silently when the binary is missing). Idempotent: does nothing when the
# binary is already on PATH. Where it cannot install, it says so loudly and exits 0; `make
# sanity` then reports the shellcheck test as skipped.
set -u

if command -v shellcheck >/dev/null 2>&1; then
    echo "shellcheck: already installed ($(shellcheck --version | sed -n 's/^version: //p'))"
    exit 0
fi

loud() {
    echo "########################################################################" >&2
    echo "# shellcheck NOT installed: $*" >&2
    echo "# ansible-test's shellcheck sanity test will be SKIPPED." >&2
    echo "# Fix: run as root on Debian/Ubuntu: apt-get update && apt-get install -y shellcheck" >&2
    echo "########################################################################" >&2
    exit 0
}

command -v apt-get >/dev/null 2>&1 || loud "apt-get not found (not a Debian-like system)"

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        loud "not root and no passwordless sudo"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# One `apt-get update` per CI run: skip it when chromium.sh has just refreshed the lists.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
    $SUDO apt-get update -qq || loud "apt-get update failed"
fi
$SUDO apt-get install -y -qq --no-install-recommends shellcheck || loud "apt-get install shellcheck failed"

command -v shellcheck >/dev/null 2>&1 || loud "package installed but shellcheck is not on PATH"
echo "shellcheck: installed ($(shellcheck --version | sed -n 's/^version: //p'))"
