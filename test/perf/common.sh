# Shared by the test/perf scripts (sourced).

# stop_daemon MNT PID: unmounts MNT and waits for the daemon PID (which writes its
# statistics and releases the device after the kernel lets go); kills it after 10 s.
stop_daemon() {
  mountpoint -q "$1" && { umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true; }
  [[ -n $2 ]] || return 0
  for _ in $(seq 100); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$2" 2>/dev/null && kill "$2" 2>/dev/null
  wait "$2" 2>/dev/null || true
}
