#!/usr/bin/env bash
# Turns the kernel's FUSE-over-io_uring on for the transport=uring test run, and puts the
# previous value back afterwards. Needs root.
# Usage: enable_uring.sh on|restore   (the old value is kept in $CHAINFS_TEST_DIR or /var/tmp)
set -eu
param=/sys/module/fuse/parameters/enable_uring
saved=${CHAINFS_TEST_DIR:-/var/tmp}/chainfs-enable_uring.saved
case "${1:-}" in
  on)
    [ -e "$param" ] || { echo "$param: this kernel has no FUSE-over-io_uring" >&2; exit 1; }
    [ -e "$saved" ] || cat "$param" >"$saved"
    echo Y >"$param"
    [ "$(cat "$param")" = Y ] ;;
  restore)
    if [ -e "$saved" ]; then cat "$saved" >"$param"; rm -f "$saved"; fi ;;
  *) echo "usage: $0 on|restore" >&2; exit 2 ;;
esac
