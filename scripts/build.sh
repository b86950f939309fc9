#!/usr/bin/env bash
# Configures and builds chainfs into build/ (or $BUILD_DIR) and installs the binaries into
# /usr/local (the mount.fuse helper resets PATH, so chainfs must be in a system bin dir).
# Extra arguments go to cmake's configure step; TARGET=NAME builds only that target.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j "$jobs" ${TARGET:+--target "$TARGET"}
if [ "$(id -u)" = 0 ] && [ -z "${NO_INSTALL:-}" ]; then
  cmake --install "$build" --prefix /usr/local >/dev/null
fi
