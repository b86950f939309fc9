#!/usr/bin/env bash
# Installs chainfs's build and test dependencies (Debian 12 packages). Idempotent:
# packages already present are not downloaded again; apt-get update runs only when needed.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config ninja-build
  libfuse3-dev fuse3 liburing-dev libfmt-dev doctest-dev
  libisal-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libblkid-dev libxxhash-dev libnbd-dev
  util-linux e2fsprogs attr acl xfsprogs python3 procps psmisc kmod
  gnuplot-nox fuse2fs fio jq man-db groff-base nbdkit
  clang libclang-rt-14-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The kernel side: /dev/fuse and loop devices.
[ -e /dev/fuse ] || modprobe fuse 2>/dev/null || true
[ -e /dev/loop-control ] || modprobe loop 2>/dev/null || true
