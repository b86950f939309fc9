#!/bin/bash
# The write throughput and request sizes of each write strategy, on the whole stack: one loop device (direct I/O over a sparse
# image file), mkfs.chainfs, chainfs mounted with cache=direct and each write_strategy, in one
# run. For every workload it reads /sys/block/loopN/stat before and after and chainfs's own
# statistics file (-o stats=PATH, written at unmount), and prints:
#   seq8k   SIZE written sequentially in 8 KiB writes, then fsync  (the target workload)
#   seq1m   the same in 1 MiB writes
#   rand4k  4 KiB writes in random order over a RAND_SIZE file, then fsync
#   read1m  cold 1 MiB sequential reads of the seq1m file (after a remount)
# Targets (printed, not asserted: this is a benchmark): with write_strategy=chain, seq8k's
# average write request at the device is >= 512 KiB and agrees with chainfs's statistics, and
# its throughput is >= 3x write_strategy=sync's.
#
#   test/perf/write_targets.sh [BUILD_DIR]        (binaries from BUILD_DIR, else from PATH)
#   SIZE=1G RAND_SIZE=256M STRATEGIES="chain page sync" WORKLOADS="seq8k seq1m rand4k read1m"
#   OPTS=completion=thread  (extra mount options)   RESULTS=out.csv  (also write a CSV)
# Needs root, losetup, dd, xfs_io, jq. Everything it creates is removed on any exit.
set -euo pipefail

build=${1:-}
bin() {  # bin NAME SUBDIR: the binary from the build directory, else from PATH
  if [[ -n $build && -x $build/tools/$2/$1 ]]; then echo "$build/tools/$2/$1"; else command -v "$1" || true; fi
}
CHAINFS=$(bin chainfs chainfs)
MKFS=$(bin mkfs.chainfs mkfs)
SIZE=${SIZE:-1G}
RAND_SIZE=${RAND_SIZE:-256M}
STRATEGIES=${STRATEGIES:-"chain page sync"}
WORKLOADS=${WORKLOADS:-"seq8k seq1m rand4k read1m"}
OPTS=${OPTS:-}
RESULTS=${RESULTS:-}

die() { echo "write_targets.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (losetup, mount)"
[[ -n $CHAINFS && -n $MKFS ]] || die "chainfs and mkfs.chainfs not found (give the build directory)"
for t in losetup dd xfs_io jq; do command -v $t >/dev/null || die "needs $t"; done

bytes() { numfmt --from=iec "$1"; }
size_b=$(bytes "$SIZE")
rand_b=$(bytes "$RAND_SIZE")
img=$(mktemp /var/tmp/chainfs-perf-XXXXXX.img)
mnt=$(mktemp -d /tmp/chainfs-perf-mnt-XXXXXX)
stats=$(mktemp /tmp/chainfs-perf-stats-XXXXXX.json)
log=$(mktemp /tmp/chainfs-perf-log-XXXXXX)
loop= pid=

. "$(dirname "$0")/common.sh"
unmount() {
  stop_daemon "$mnt" "$pid"
  pid=
}
cleanup() {
  unmount
  [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null || true
  rm -f "$img" "$stats" "$stats.tmp" "$log"
  rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

truncate -s $(( size_b + rand_b + (1 << 30) )) "$img"
loop=$(losetup -f --show --direct-io=on "$img")
name=${loop#/dev/}
echo "loop device $loop: max_sectors_kb=$(cat /sys/block/$name/queue/max_sectors_kb)" \
     "max_segments=$(cat /sys/block/$name/queue/max_segments)" \
     "dio=$(cat /sys/block/$name/loop/dio 2>/dev/null || echo ?)"

mount_fs() {  # mount_fs STRATEGY
  local o="cache=direct,write_strategy=$1,stats=$stats"
  [[ -n $OPTS ]] && o="$o,$OPTS"
  "$CHAINFS" -f "$loop" "$mnt" -o "$o" 2>>"$log" &
  pid=$!
  for _ in $(seq 100); do mountpoint -q "$mnt" && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  cat "$log" >&2
  die "mount of $loop with -o $o failed"
}

# sysfs write/read counters: ios and sectors
blkstat() { awk '{print $1, $3, $5, $7}' "/sys/block/$name/stat"; }
now() { date +%s.%N; }

printf '%-6s %-7s %9s %9s %10s %10s %10s\n' write load MiB/s seconds dev_reqs dev_KiB chainfs_KiB
[[ -n $RESULTS ]] && echo "write_strategy,workload,mib_per_s,seconds,device_requests,device_avg_kib,chainfs_avg_kib" >"$RESULTS"
declare -A speed avg

run() {  # run STRATEGY WORKLOAD
  local s=$1 w=$2 mib cmd kind
  "$MKFS" -f "$loop" >/dev/null
  rm -f "$stats"
  case $w in
    seq8k)  mib=$(( size_b >> 20 )); kind=w
            cmd=(dd if=/dev/zero of="$mnt/f" bs=8k count=$(( size_b / 8192 )) conv=fsync status=none) ;;
    seq1m)  mib=$(( size_b >> 20 )); kind=w
            cmd=(dd if=/dev/zero of="$mnt/f" bs=1M count=$(( size_b >> 20 )) conv=fsync status=none) ;;
    rand4k) mib=$(( rand_b >> 20 )); kind=w
            cmd=(xfs_io -c "pwrite -q -R -b 4k 0 $rand_b" -c fsync "$mnt/f") ;;
    read1m) mib=$(( size_b >> 20 )); kind=r
            cmd=(dd if="$mnt/f" of=/dev/null bs=1M status=none) ;;
  esac
  # Preparation (not measured): the file the workload overwrites or reads.
  if [[ $w == rand4k || $w == read1m ]]; then
    mount_fs "$s"
    local n=$(( size_b >> 20 ))
    [[ $w == rand4k ]] && n=$(( rand_b >> 20 ))
    dd if=/dev/zero of="$mnt/f" bs=1M count=$n conv=fsync status=none
    unmount
    rm -f "$stats"
  fi
  mount_fs "$s"
  read -r rio0 rsec0 wio0 wsec0 < <(blkstat)
  local t0 t1
  t0=$(now)
  "${cmd[@]}"
  t1=$(now)
  read -r rio1 rsec1 wio1 wsec1 < <(blkstat)
  unmount  # the statistics file is final after this
  local ios secs field
  if [[ $kind == w ]]; then ios=$(( wio1 - wio0 )); secs=$(( wsec1 - wsec0 )); field=avg_write_bytes
  else ios=$(( rio1 - rio0 )); secs=$(( rsec1 - rsec0 )); field=avg_bytes_per_submission; fi
  local sec rate dev_kib own_kib
  sec=$(echo "$t1 - $t0" | bc -l)
  rate=$(echo "$mib / $sec" | bc -l)
  dev_kib=$(( ios ? secs * 512 / ios / 1024 : 0 ))
  own_kib=$(jq -r ".device.$field // 0 | . / 1024 | floor" "$stats" 2>/dev/null || echo "?")
  printf '%-6s %-7s %9.1f %9.2f %10d %10d %10s\n' "$s" "$w" "$rate" "$sec" "$ios" "$dev_kib" "$own_kib"
  [[ -n $RESULTS ]] && echo "$s,$w,$rate,$sec,$ios,$dev_kib,$own_kib" >>"$RESULTS"
  speed[$s.$w]=$rate
  avg[$s.$w]=$dev_kib
  avg[own.$s.$w]=$own_kib
}

for w in $WORKLOADS; do
  for s in $STRATEGIES; do run "$s" "$w"; done
done

echo
if [[ -n ${speed[chain.seq8k]:-} ]]; then
  a=${avg[chain.seq8k]} own=${avg[own.chain.seq8k]}
  echo "target: seq8k chain average write request ${a} KiB at the device (chainfs says ${own} KiB):" \
       "$([[ $a -ge 512 ]] && echo met || echo NOT met) (>= 512 KiB)"
fi
if [[ -n ${speed[chain.seq8k]:-} && -n ${speed[sync.seq8k]:-} ]]; then
  r=$(echo "${speed[chain.seq8k]} / ${speed[sync.seq8k]}" | bc -l)
  printf 'target: seq8k chain/sync throughput %.2fx: %s (>= 3x)\n' "$r" \
         "$( (( $(echo "$r >= 3" | bc -l) )) && echo met || echo NOT met)"
fi
