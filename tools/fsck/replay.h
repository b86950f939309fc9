#pragma once
// The journal before the check, as the mount does it (FORMAT.md "Journal"): committed
// transactions left by a crash are written home and the journal emptied, or, for a check
// that must not write, shown through a read-only view of the device with the replayed
// blocks in front of it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "io/device.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fsck {

struct Replay {
  uint64_t transactions = 0, blocks = 0;
  bool journal_bad = false;  // the journal superblock is unusable (why says how)
  bool journal_reset = false;  // write: a bad journal was made empty again
  std::string why;
};

// Replays the journal of the filesystem on dev. write: images go home, flushed, journal
// reset (a bad journal superblock is rewritten empty). !write: *view (when transactions
// were found) reads as the replayed filesystem and refuses writes. 0 or -errno (device
// errors); a missing or unusable superblock is not an error here (the check reports it).
int replay_journal(io::Device& dev, bool write, Replay* out, std::unique_ptr<io::Device>* view);

}  // namespace chainfs::fsck
