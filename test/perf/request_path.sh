#!/bin/bash
# The request path through FUSE against kernel ext4, in one run on one loop device (direct I/O
# over a sparse image file), re-made with mkfs for every target. Each target runs:
#   rtt         RTT_OPS getxattr(2) calls of an absent name on one file: on FUSE each is one
#               round trip with almost no work behind it, the floor under every other row
#   create / stat / unlink   FILES files in one directory (stat cold: remounted, caches dropped)
#   seqw8k      sequential 8 KiB writes of SIZE, then fsync (fio, psync)
#   seqw1m      the same in 1 MiB writes
#   randw4k     random 4 KiB buffered writes, one pass over a RAND_SIZE file, then fsync
#   randw4k-d16 random 4 KiB O_DIRECT writes, 16 in flight (fio io_uring), RUNTIME seconds
#   seqr1m      cold sequential 1 MiB reads of the seqw1m file
#   randr4k     cold random 4 KiB buffered reads, one thread, one pass or RUNTIME seconds
#   randr4k-d16 random 4 KiB O_DIRECT reads, 16 in flight, one pass or RUNTIME seconds
# and prints one table: the figure per target and its ratio to ext4 (the first target).
# "cold": the target is unmounted and mounted again and the kernel's caches dropped first.
#
#   test/perf/request_path.sh [BUILD_DIR]     (chainfs binaries from BUILD_DIR, else from PATH)
#   TARGETS="ext4 dev=transport=dev uring=transport=uring wbc=writeback_cache"   (NAME=OPTIONS)
#   OTHER_BUILD=DIR: targets named other-* run the binaries of DIR (e.g. main's, for before/after)
#   WORKLOADS="rtt files seqw8k ..."  SIZE=256M RAND_SIZE=256M FILES=20000 RTT_OPS=50000 RUNTIME=10
# The rtt and files phases run a small C loop (compiled here with cc): getxattr, open/close,
# stat, unlink.
# Needs root, fio, jq, cc, bc, mkfs.ext4. Everything it creates is removed on any exit.
# transport=uring needs /sys/module/fuse/parameters/enable_uring = Y (root can set it).
set -euo pipefail

build=${1:-}
bin() {
  if [[ -n $build && -x $build/tools/$2/$1 ]]; then echo "$build/tools/$2/$1"; else command -v "$1" || true; fi
}
CHAINFS=$(bin chainfs chainfs)
MKFS=$(bin mkfs.chainfs mkfs)
OTHER_BUILD=${OTHER_BUILD:-}
TARGETS=${TARGETS:-"ext4 dev=transport=dev uring=transport=uring"}
WORKLOADS=${WORKLOADS:-"rtt files seqw8k seqw1m randw4k randw4k-d16 seqr1m randr4k randr4k-d16"}
SIZE=${SIZE:-256M}
RAND_SIZE=${RAND_SIZE:-256M}
FILES=${FILES:-20000}
RTT_OPS=${RTT_OPS:-50000}
RUNTIME=${RUNTIME:-10}

die() { echo "request_path.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (losetup, mount)"
[[ -n $CHAINFS && -n $MKFS ]] || die "chainfs and mkfs.chainfs not found (give the build directory)"
for t in losetup fio jq cc bc mkfs.ext4; do command -v $t >/dev/null || die "needs $t"; done

img=$(mktemp /var/tmp/chainfs-rp-XXXXXX.img)
mnt=$(mktemp -d /tmp/chainfs-rp-mnt-XXXXXX)
log=$(mktemp /tmp/chainfs-rp-log-XXXXXX)
tools=$(mktemp -d /tmp/chainfs-rp-tools-XXXXXX)
loop= pid= kind= opts= daemon= mkfs=

. "$(dirname "$0")/common.sh"
unmount() {
  stop_daemon "$mnt" "$pid"
  pid=
}
cleanup() {
  unmount
  [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null || true
  rm -f "$img" "$log"
  rm -rf "$tools"
  rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

truncate -s 4G "$img"
loop=$(losetup -f --show --direct-io=on "$img")

mount_target() {
  if [[ $kind == ext4 ]]; then
    mount -t ext4 ${opts:+-o "$opts"} "$loop" "$mnt"
    return
  fi
  "$daemon" -f "$loop" "$mnt" ${opts:+-o "$opts"} 2>>"$log" &
  pid=$!
  for _ in $(seq 100); do mountpoint -q "$mnt" && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  cat "$log" >&2
  die "mount of $loop ($opts) failed"
}
make_target() {
  if [[ $kind == ext4 ]]; then mkfs.ext4 -q -F "$loop"; else "$mkfs" -f "$loop" >/dev/null; fi
  mount_target
}
cold() { unmount; sync; echo 3 >/proc/sys/vm/drop_caches; mount_target; }

# fio_run KEY ARGS...: the job's IOPS (KEY iops) or MB/s (KEY bw); "failed" when fio reports
# an error (its messages go to stderr)
fio_run() {
  local key=$1; shift
  local out
  if ! out=$(fio --name=j --output-format=json "$@"); then echo failed; return; fi
  if [[ $key == iops ]]; then
    jq -r '.jobs[0] | (.read.iops + .write.iops) | floor' <<<"$out"
  else
    jq -r '.jobs[0] | ((.read.io_bytes + .write.io_bytes) / (.job_runtime / 1000) / 1e6) | . * 10 | floor / 10' <<<"$out"
  fi
}

cat >"$tools/files.c" <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
/* files DIR N create|stat|unlink, files FILE N rtt: prints the phase's operations per second */
int main(int argc, char** argv) {
  if (argc != 4) return 2;
  int n = atoi(argv[2]);
  char p[4096], v[16];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    if (!strcmp(argv[3], "rtt")) {
      if (getxattr(argv[1], "user.request-path-rtt", v, sizeof v) >= 0 || errno != ENODATA) {
        perror(argv[1]);
        return 1;
      }
      continue;
    }
    snprintf(p, sizeof p, "%s/f%06d", argv[1], i);
    if (!strcmp(argv[3], "create")) {
      int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0 || close(fd)) { perror(p); return 1; }
    } else if (!strcmp(argv[3], "stat")) {
      struct stat st;
      if (stat(p, &st)) { perror(p); return 1; }
    } else if (unlink(p)) {
      perror(p);
      return 1;
    }
  }
  if (!strcmp(argv[3], "unlink")) sync();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.0f\n", n / (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9));
  return 0;
}
EOF
cc -O2 -o "$tools/files" "$tools/files.c" || die "cc failed"
files_phase() { "$tools/files" "$mnt/files" "$FILES" "$1" || die "files $1 failed"; }
rtt_phase() { touch "$mnt/rtt"; "$tools/files" "$mnt/rtt" "$RTT_OPS" rtt || die "rtt failed"; rm "$mnt/rtt"; }

declare -A val
run_workload() {  # run_workload TARGET WORKLOAD: prints the figure
  local f=$mnt/data common=(--ioengine=psync --filename="$mnt/data")
  case $2 in
    rtt) val[$1.$2]=$(rtt_phase) ;;
    files)
      mkdir "$mnt/files"; sync
      val[$1.create]=$(files_phase create)
      cold
      val[$1.stat]=$(files_phase stat)
      val[$1.unlink]=$(files_phase unlink)
      rmdir "$mnt/files" ;;
    seqw8k) rm -f "$f"; val[$1.$2]=$(fio_run bw "${common[@]}" --rw=write --bs=8k --size="$SIZE" --end_fsync=1) ;;
    seqw1m) rm -f "$f"; val[$1.$2]=$(fio_run bw "${common[@]}" --rw=write --bs=1m --size="$SIZE" --end_fsync=1) ;;
    randw4k)
      rm -f "$f"; fio_run bw "${common[@]}" --rw=write --bs=1m --size="$RAND_SIZE" --end_fsync=1 >/dev/null
      val[$1.$2]=$(fio_run iops "${common[@]}" --rw=randwrite --bs=4k --size="$RAND_SIZE" --end_fsync=1) ;;
    randw4k-d16)
      val[$1.$2]=$(fio_run iops --ioengine=io_uring --iodepth=16 --direct=1 --filename="$f" --rw=randwrite --bs=4k \
                   --size="$RAND_SIZE" --time_based --runtime="$RUNTIME") ;;
    seqr1m) cold; val[$1.$2]=$(fio_run bw "${common[@]}" --rw=read --bs=1m --size="$RAND_SIZE") ;;
    # One pass at most (fio's random map reads each block once per pass): a second pass would
    # read the daemon's cache, or the kernel's, and measure that instead of a cold read.
    randr4k) cold; val[$1.$2]=$(fio_run iops "${common[@]}" --rw=randread --bs=4k --size="$RAND_SIZE" \
                                --runtime="$RUNTIME") ;;
    randr4k-d16)
      cold; val[$1.$2]=$(fio_run iops --ioengine=io_uring --iodepth=16 --direct=1 --filename="$f" --rw=randread \
                         --bs=4k --size="$RAND_SIZE" --runtime="$RUNTIME") ;;
    *) die "unknown workload $2" ;;
  esac
}

names=()
for t in $TARGETS; do
  name=${t%%=*}
  if [[ $name == ext4 ]]; then kind=ext4; opts=; else kind=chainfs; opts=${t#*=}; [[ $t == *=* ]] || opts=; fi
  daemon=$CHAINFS mkfs=$MKFS
  if [[ $name == other-* ]]; then
    [[ -n $OTHER_BUILD ]] || die "$name needs OTHER_BUILD"
    daemon=$OTHER_BUILD/tools/chainfs/chainfs mkfs=$OTHER_BUILD/tools/mkfs/mkfs.chainfs
  fi
  names+=("$name")
  make_target
  for w in $WORKLOADS; do run_workload "$name" "$w"; echo "  $name $w done" >&2; done
  unmount
done

rows=()
for w in $WORKLOADS; do
  if [[ $w == files ]]; then rows+=(create stat unlink); else rows+=("$w"); fi
done
unit() { case $1 in seqw*|seqr*) echo MB/s ;; *) echo ops/s ;; esac; }
printf '%-12s %-6s' workload unit
for n in "${names[@]}"; do printf ' %10s' "$n"; done
for n in "${names[@]:1}"; do printf ' %8s' "$n/${names[0]}"; done
echo
for r in "${rows[@]}"; do
  printf '%-12s %-6s' "$r" "$(unit "$r")"
  for n in "${names[@]}"; do printf ' %10s' "${val[$n.$r]:--}"; done
  base=${val[${names[0]}.$r]:-0}
  for n in "${names[@]:1}"; do
    v=${val[$n.$r]:-0}
    if [[ $base =~ ^[0-9.]+$ && $base != 0 && $v =~ ^[0-9.]+$ ]]; then printf ' %8.2f' "$(echo "$v / $base" | bc -l)"; else printf ' %8s' -; fi
  done
  echo
done
