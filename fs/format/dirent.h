#pragma once
// Directory entries. A directory is a B+tree keyed by name_hash(name); the value of a
// key is the bucket of entries whose names have that hash (normally one):
//   repeated { u64 ino, u8 d_type, u8 name_len, name bytes }.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chainfs::format {

// Readdir cookies 0, 1 and 2 mean "start", "after ." and "after .."; name hashes are
// therefore in [kFirstNameHash, 2^63).
inline constexpr uint64_t kFirstNameHash = 3;

// 63-bit XXH3 of the name, moved into [kFirstNameHash, 2^63).
uint64_t name_hash(std::string_view name);

struct Dirent {
  uint64_t ino = 0;
  uint8_t type = 0;  // DT_*
  std::string name;
  bool operator==(const Dirent&) const = default;
};

inline constexpr size_t kDirentHeader = 10;

std::string encode_bucket(const std::vector<Dirent>& entries);
// 0 or -EUCLEAN (truncated record, empty name, '/' or NUL in a name, ino 0).
int decode_bucket(std::string_view value, std::vector<Dirent>* out);

}  // namespace chainfs::format
