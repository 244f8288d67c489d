#!/bin/sh
# Installs the Debian packages ganc needs, if any is missing.  Run as root
# (or with sudo available).  Extra packages may be named on the command line.
set -e
need="flex bison llvm-dev libstb-dev zlib1g-dev dataset-fashion-mnist oxygen-icon-theme gcc make clang libclang-rt-dev valgrind $*"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $missing >/dev/null
