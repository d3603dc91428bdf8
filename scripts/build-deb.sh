#!/usr/bin/env bash
# Builds the Debian package libapache2-mod-alexalink from this checkout with
# Debian's own tools (debhelper, dh_apache2), after scripts/setup.sh's
# packages plus debhelper, dpkg-dev and lintian. The .deb lands in OUTDIR
# (default: the parent directory, as dpkg-buildpackage leaves it).
# Usage: bash scripts/build-deb.sh [OUTDIR]   (run it in a clean checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-..}
missing=()
for p in debhelper dpkg-dev lintian apache2-dev libjansson-dev libssl-dev libcurl4-openssl-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
dpkg-buildpackage -us -uc -b
mkdir -p "$out"
for f in ../libapache2-mod-alexalink_*; do
  [ "$(cd "$(dirname "$f")" && pwd)" = "$(cd "$out" && pwd)" ] || mv -f "$f" "$out/"
done
ls "$out"/libapache2-mod-alexalink_*.deb
