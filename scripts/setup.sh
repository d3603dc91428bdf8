#!/usr/bin/env bash
# Installs what mod_alexalink needs on Debian 12 and builds it into build/.
# Idempotent; run as root. ALX_SETUP_SKIP_APT=1 skips the package step.
set -euo pipefail
cd "$(dirname "$0")/.."

# libcurl and mod_dbd's sqlite3/pgsql drivers are keep-alive's parts (the
# upstream call, the link store); postgresql and sqlite3 let its tests start a
# private cluster and read a database file (t/lib/sql.mjs).
PACKAGES=(autoconf automake libtool pkg-config make gcc clang
          apache2 apache2-dev apache2-utils libjansson-dev libssl-dev
          libclang-rt-14-dev curl redis-server redis-tools memcached
          debhelper dpkg-dev lintian openssl chromium
          python3 python3-prometheus-client
          libcurl4-openssl-dev libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql
          postgresql sqlite3)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${ALX_SETUP_SKIP_APT:-0}" != 1 ] && [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules/oidc-provider ] || [ ! -d node_modules/playwright-core ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build
if [ ! -f build/Makefile ]; then
  (cd build && ../configure --enable-werror >/dev/null)
fi
make -C build -j2 >/dev/null
echo "setup: built $(pwd)/build/.libs/mod_alexalink.so"
