#!/usr/bin/env bash
# Install Debian packages a part of `make test` needs, when the command they bring is missing. Idempotent: does
# nothing when the command is on PATH; runs `apt-get update` only when the package lists are older than an hour.
#
#   .ci/debian-package.sh optional|required COMMAND "what goes without it" PACKAGE...
#
# optional: where it cannot install, it says so loudly and exits 0 (the tests that need it skip, naming this script).
# required: where it cannot install, it says so loudly and exits 1.
set -u

if [ $# -lt 4 ] || { [ "$1" != optional ] && [ "$1" != required ]; }; then
    echo "usage: $0 optional|required COMMAND 'what goes without it' PACKAGE..." >&2
    exit 2
fi
mode=$1
name=$2
without=$3
shift 3
packages="$*"

if command -v "$name" >/dev/null 2>&1; then
    echo "$name: already installed"
    exit 0
fi

loud() {
    echo "########################################################################" >&2
    echo "# $name NOT installed: $1" >&2
    echo "# $without" >&2
    echo "# Fix: run as root on Debian/Ubuntu: apt-get update && apt-get install -y $packages" >&2
    echo "########################################################################" >&2
    if [ "$mode" = required ]; then
        exit 1
    fi
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
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
    $SUDO apt-get update -qq || loud "apt-get update failed"
fi
# shellcheck disable=SC2086 # one word per package
$SUDO apt-get install -y -qq --no-install-recommends $packages || loud "apt-get install $packages failed"

command -v "$name" >/dev/null 2>&1 || loud "the packages installed but $name is not on PATH"
echo "$name: installed"
