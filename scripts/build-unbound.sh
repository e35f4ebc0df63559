#!/usr/bin/env bash
# Builds Unbound from Debian's source package (the version Debian ships) with
# --with-dynlibmodule into a project-local prefix. Debian's binary package has
# no dynlib support, and a module needs the build tree's config.h and internal
# headers anyway. Re-running is free: a stamp file records a finished build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/build/unbound"
prefix="$work/install"
stamp="$work/.built"
[[ -f "$stamp" ]] && exit 0

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"

# deb-src entries for the same suites as the machine's deb entries.
srclist=/etc/apt/sources.list.d/fluxguard-src.sources
if ! apt-get source --print-uris unbound >/dev/null 2>&1; then
  echo "fluxguard: adding deb-src entries to $srclist"
  $sudo tee "$srclist" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $sudo apt-get update -qq
fi

# The source version that matches the packaged libunbound/unbound.
version=$(apt-cache policy unbound | awk '/Candidate:/ {print $2}')
mkdir -p "$work"
cd "$work"
if [[ ! -d src ]]; then
  rm -rf fetch && mkdir fetch && cd fetch
  apt-get source --only-source "unbound=$version"
  dir=$(find . -maxdepth 1 -mindepth 1 -type d -name 'unbound-*' | head -1)
  mv "$dir" ../src
  cd .. && rm -rf fetch
fi

cd src
./configure --quiet --prefix="$prefix" --with-dynlibmodule --with-libevent \
  --disable-flto --without-pythonmodule --without-pyunbound \
  --with-pidfile="$work/unbound.pid"
make -j"$(nproc)" >/dev/null
make install >/dev/null
echo "$version" > "$stamp"
echo "fluxguard: built Unbound $version into $prefix"
