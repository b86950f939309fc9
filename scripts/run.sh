#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install dependencies, build and
# install chainfs, make a 1 GiB image file (or use DEVICE=/dev/sdX / the first argument),
# mkfs it and mount it.
#   ./scripts/run.sh                 image /var/tmp/chainfs.img, mounted at /mnt/chainfs
#   DEVICE=/dev/sdb ./scripts/run.sh a real device (its contents are destroyed)
#   IMAGE=... SIZE=4G MOUNTPOINT=... ./scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (it installs packages and mounts)" >&2; exit 1; }
./scripts/deps.sh
./scripts/build.sh

device=${1:-${DEVICE:-}}
mnt=${MOUNTPOINT:-/mnt/chainfs}
if [ -z "$device" ]; then
  device=${IMAGE:-/var/tmp/chainfs.img}
  if mountpoint -q "$mnt"; then
    echo "run.sh: $mnt is already mounted; unmount it first: umount $mnt" >&2; exit 1
  fi
  rm -f "$device"
  truncate -s "${SIZE:-1G}" "$device"
fi
mkdir -p "$mnt"
mkfs.chainfs -f "$device"
mount -t fuse.chainfs "$device" "$mnt" -o allow_other
echo
echo "chainfs on $device is mounted at $mnt:"
findmnt "$mnt" || true
df -h "$mnt" || true
echo
echo "Unmount with: umount $mnt"
