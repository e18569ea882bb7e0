#!/bin/sh
# Installs the Debian packages cheesechain builds and tests with, only those
# that are missing, so a second run costs nothing. Used by `make`.
# chromium, chromium-driver and python3-selenium: the explorer page's browser
# tests (tests/functional/test_explorer.py), headless. valgrind: the memcheck
# run; iproute2: the test hosts of the partition tests (ip netns). man-db (with
# groff-base): the install test renders the generated man pages.
# `install-deps.sh bench` adds what only `make bench` uses: wrk and nginx (the
# HTTP load generator and its anchor) and openssl (the crypto anchors).
set -e
packages="build-essential cmake pkg-config libevent-dev libsqlite3-dev nettle-dev libgmp-dev
libjansson-dev libcmocka-dev python3 python3-pytest python3-ecdsa python3-pycryptodome
clang curl valgrind iproute2 man-db
python3-flask python3-flask-cors python3-schedule python3-requests
chromium chromium-driver python3-selenium"
[ "${1:-}" = bench ] && packages="$packages wrk nginx-light openssl"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing missing Debian packages:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq $missing >/dev/null
