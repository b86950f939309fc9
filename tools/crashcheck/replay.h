#pragma once
// replay: builds crash states from a write log and the image the log started from, and
// checks each one.
//
// States. The log's flushes cut it into windows: window 0 is everything before the first
// flush, window w (w >= 1) starts at the w-th flush and ends at the next one (or the end
// of the log). A crash during window w leaves every write before it (the device as of the
// flush) plus any subset of the window's writes (completed but not flushed: the device may
// have kept any of them). For each window the replay makes the state with none of them,
// then states with random subsets: odd subsets are a random prefix in completion order (a
// crash without reordering), even ones keep each write with a random probability. The
// number of subsets per window follows from ReplayOptions::states. State i's subset comes
// from a generator seeded with (seed, i) only: the same log, record, seed and states give
// the same states, and state i alone can be rebuilt (only_index) and written out.
//
// Checks of each state: mount it in memory through fs::mount_filesystem (which runs the
// recovery of a crashed filesystem), check the record through the mounted filesystem
// (verify.h, with the window's end as the cut), unmount, then fsck (check_filesystem, no
// repair) on the result: "fsck-clean" means no problem reported.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/recording_device.h"
#include "tools/crashcheck/record.h"
#include "tools/crashcheck/verify.h"

namespace chainfs::crashcheck {

struct ReplayOptions {
  uint64_t seed = 1;
  uint64_t states = 1000;         // about this many states in all
  int64_t only_index = -1;        // >= 0: build and check only this state
  std::string write_image;        // with only_index: write that state's image here
  size_t list_failures = 20;      // failing states described in full in the summary text
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct StateFailure {
  uint64_t index = 0, window = 0, subset = 0;
  uint64_t writes_kept = 0, writes_in_window = 0;
  std::vector<std::string> what;  // "mount: ...", "fsck: ...", "check: ..."
};

struct ReplaySummary {
  uint64_t seed = 0;
  uint64_t log_writes = 0, log_flushes = 0, windows = 0;
  uint64_t states = 0, fsck_clean = 0, mount_failed = 0, unmount_failed = 0, failed_states = 0;
  uint64_t checks = 0, unchecked = 0;
  // Check failures over all states, by kind.
  uint64_t names_lost = 0, names_back = 0, names_wrong = 0, renames_neither = 0;
  uint64_t contents_wrong = 0, xattrs_wrong = 0, unexpected = 0, errors = 0;
  uint64_t states_losing_data = 0;  // states with some lost or wrong durable name/content/xattr
  std::vector<StateFailure> failures;  // every failing state (only the first list_failures in text())
  size_t list_failures = 20;

  bool all_good() const { return failed_states == 0 && states > 0; }
  std::string text() const;
};

// start_image: the device's bytes when the log began (its size is the device size).
// 0, or -errno with *msg set (log and image do not fit together, an image cannot be written).
int replay(const std::vector<char>& start_image, const std::vector<io::LogEntry>& log, const DurabilityRecord& rec,
           const ReplayOptions& o, ReplaySummary* out, std::string* msg);

}  // namespace chainfs::crashcheck
