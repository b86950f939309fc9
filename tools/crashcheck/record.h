#pragma once
// DurabilityRecord: what a workload did and what it was promised durable, as the crash
// checker needs it. The workload's observable state is a set of slots:
//   * name slots, one per path of the workload's name pool ("d1/f3"): absent, or the model
//     inode the name points to;
//   * content slots, one per model inode that is a regular file: its bytes (kept as
//     "size:fnv64" — the checker compares what it reads against that);
//   * xattr slots, one per (model inode, attribute name): absent or the value.
// Events, in the order the workload ran them:
//   * set: the operation (op) started at log position `start` and ended at `end`, giving the
//     slot a new value; an operation that failed or never returned still counts (it may have
//     reached the disk);
//   * durable: at log position `end` (after fsync / fdatasync / fsyncdir / sync returned)
//     the slot's current value was promised durable.
// Log positions are counts of WriteLog records (pos_unit "records"), or byte offsets of the
// log file (pos_unit "bytes", when a daemon wrote the log and the workload only saw its
// size); the replay turns bytes into records. A record written without a log has every
// position 0 (a crash test that checks only the final state).
//
// Saved as JSON (save_record / load_record) for chainfs-crashcheck; values in hex.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainfs::crashcheck {

enum class SlotKind : uint8_t { kName, kContent, kXattr };

struct Slot {
  SlotKind kind = SlotKind::kName;
  std::string path;      // name slots: the path relative to the root, "d0/f3"
  uint64_t inode = 0;    // content and xattr slots: the model inode (index into inodes)
  std::string xattr;     // xattr slots: the attribute name
  std::optional<std::string> initial;  // value before the first set (absent for names/xattrs)
};

struct ModelInode {
  uint64_t ino = 0;  // the filesystem's inode number
  bool dir = false;
};

struct Event {
  enum Kind : uint8_t { kSet, kDurable };
  Kind kind = kSet;
  uint32_t slot = 0;
  uint32_t op = 0;                   // index into ops (what the workload did)
  std::optional<std::string> value;  // kSet: the new value; nullopt = absent
  bool rename_over = false;          // kSet of a name by a rename that replaced an existing file
  uint64_t start = 0, end = 0;       // log positions; kDurable uses end
};

struct DurabilityRecord {
  std::string pos_unit = "records";  // or "bytes"
  std::string base;                  // the directory (from the root) the paths are relative to
  std::vector<std::string> dirs;     // directories the workload's names live in ("" = root)
  std::vector<Slot> slots;
  std::vector<ModelInode> inodes;
  std::vector<Event> events;
  std::vector<std::string> ops;      // one line per operation: "12 rename d0/f1 -> d1/f4"
  uint64_t seed = 0;
  std::string stopped;               // why the workload stopped early ("" = it ran to the end)

  uint32_t add_slot(Slot s) {
    slots.push_back(std::move(s));
    return static_cast<uint32_t>(slots.size() - 1);
  }
};

// "size:hash" of a file's bytes: the value of a content slot.
std::string content_value(std::string_view bytes);
// The value of a name slot pointing to model inode id.
std::string name_value(uint64_t inode);
// The model inode of a name slot's value; false when it is not one.
bool parse_name_value(const std::string& v, uint64_t* inode);

// 0 or -errno; load_record sets *msg on a malformed file (-EINVAL).
int save_record(const DurabilityRecord& r, const std::string& path);
int load_record(const std::string& path, DurabilityRecord* r, std::string* msg);

}  // namespace chainfs::crashcheck
