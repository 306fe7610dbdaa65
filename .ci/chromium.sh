#!/usr/bin/env bash
# Install Debian's chromium for the browser tests of the sync report (tests/browser/).
# Idempotent: does nothing when /usr/bin/chromium is there. Never fails the build: where the
# package cannot be installed it says so loudly and exits 0; the browser tests then skip
# with a reason naming this script.
set -u

if [ -x /usr/bin/chromium ]; then
    echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

loud() {
    echo "########################################################################" >&2
    echo "# chromium NOT installed: $*" >&2
    echo "# The browser tests of the sync report (tests/browser/) will be SKIPPED." >&2
    echo "# Fix: run as root on Debian/Ubuntu: apt-get update && apt-get install -y chromium" >&2
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
$SUDO apt-get update -qq || loud "apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core || loud "apt-get install chromium failed"

[ -x /usr/bin/chromium ] || loud "package installed but /usr/bin/chromium is missing"
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
