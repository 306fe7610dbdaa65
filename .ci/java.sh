#!/usr/bin/env bash
# Install Debian's Java 17 runtime for ansible-rulebook (the continuous-sync tests in tests/eda/ run the real
# ansible-rulebook, whose rule engine runs on the JVM). Idempotent: does nothing when `java` is on PATH.
# Unlike chromium, Java is not optional for `make test`: when it cannot be installed this says why and fails.
set -u

if command -v java >/dev/null 2>&1; then
    echo "java: already installed ($(java -version 2>&1 | head -n 1))"
    exit 0
fi

fail() {
    echo "########################################################################" >&2
    echo "# Java 17 NOT installed: $*" >&2
    echo "# ansible-rulebook needs it; the tests in tests/eda/ cannot run without it." >&2
    echo "# Fix: run as root on Debian/Ubuntu: apt-get update && apt-get install -y openjdk-17-jre-headless" >&2
    echo "########################################################################" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not a Debian-like system)"

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        fail "not root and no passwordless sudo"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || fail "apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless || fail "apt-get install openjdk-17-jre-headless failed"

command -v java >/dev/null 2>&1 || fail "package installed but java is not on PATH"
echo "java: installed ($(java -version 2>&1 | head -n 1))"
