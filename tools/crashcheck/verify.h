#pragma once
// Verifier: checks what a crash state shows (through a View) against a DurabilityRecord.
//
// A crash state is described by one log position `cut` (record.h's unit): every write the
// log holds before the flush that starts at `cut` may or may not be in it, none after.
// Then, for each slot:
//   * a durable event counts when it ended at or before cut (the fsync that made it returned
//     before that flush was issued, so the flush it waited for is in the state's prefix);
//   * the slot must show the value it had at the last such durable event, or the value of
//     a set that started before cut (an operation that may have reached the disk);
//   * a slot without a counting durable event is not checked.
// Name slots must resolve to the right inode (inode number and type) or be absent when
// that is allowed; a name that is missing where only present values are allowed is lost —
// or, when one of the allowed values came from a rename over an existing file, a rename
// that left neither file; so is one whose lookup fails (-EUCLEAN: a corrupt entry or inode). A name that is present where only "absent" is allowed came back.
// Content and xattr slots are checked on the inodes the state's names lead to; content
// only when exactly one value is allowed (with several, a mix of their blocks is legal).
// Every directory of the record may hold only names the workload used.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tools/crashcheck/access.h"
#include "tools/crashcheck/record.h"

namespace chainfs::crashcheck {

inline constexpr uint64_t kNoCut = std::numeric_limits<uint64_t>::max();  // the final state

struct CheckFailure {
  enum Kind : uint8_t { kNameLost, kNameBack, kNameWrong, kRenameNeither, kContent, kXattr, kUnexpected, kError };
  Kind kind;
  std::string text;
};

struct CheckCounts {
  uint64_t checked = 0, unchecked = 0;
};

class Verifier {
 public:
  explicit Verifier(const DurabilityRecord& rec);
  std::vector<CheckFailure> check(View& view, uint64_t cut, CheckCounts* counts) const;

 private:
  struct Allowed {
    bool known = false;  // some durable event counts
    std::vector<std::optional<std::string>> values;
    bool rename_over = false;
    bool has(const std::optional<std::string>& v) const;
  };
  Allowed allowed(uint32_t slot, uint64_t cut) const;
  // Every value slot might show at cut, durable or not (to find the inode a name leads to).
  std::vector<uint64_t> candidates(uint32_t slot, uint64_t cut) const;

  const DurabilityRecord& rec_;
  std::vector<std::vector<uint32_t>> by_slot_;       // event indices of each slot, in order
  std::vector<uint32_t> content_slot_;               // by model inode; UINT32_MAX = none
  std::vector<std::vector<uint32_t>> xattr_slots_;   // by model inode
  std::vector<uint32_t> name_slots_;
};

}  // namespace chainfs::crashcheck
