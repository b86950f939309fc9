#pragma once
// POSIX access control lists in the form the kernel passes them through the
// system.posix_acl_access and system.posix_acl_default attributes: a little-endian u32
// version (2), then entries {u16 tag, u16 perm, u32 id} in tag order. The
// rules are the kernel's: which lists are valid, the mode a list implies,
// what chmod does to a list, and what a new inode inherits from its directory's default list.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chainfs::fs::acl {

inline constexpr std::string_view kAccessName = "system.posix_acl_access";
inline constexpr std::string_view kDefaultName = "system.posix_acl_default";

enum Tag : uint16_t {
  kUserObj = 0x01,
  kUser = 0x02,
  kGroupObj = 0x04,
  kGroup = 0x08,
  kMask = 0x10,
  kOther = 0x20,
};
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kUndefinedId = 0xffffffffu;  // the id of entries without one

struct Entry {
  uint16_t tag = 0;
  uint16_t perm = 0;  // 4 read, 2 write, 1 execute
  uint32_t id = kUndefinedId;
  bool operator==(const Entry&) const = default;
};
using Acl = std::vector<Entry>;

// Parses and checks a value: -EOPNOTSUPP for another version, as the kernel; -EINVAL unless
// it has whole entries and is a list the kernel accepts (one owner, owning group and other entry each, tags in order, a
// mask when there are named entries, named entries with an id, permissions within rwx).
// An empty list (the header alone) is valid.
int decode(std::string_view value, Acl* out);
// The value of acl; ids of entries without one are written as kUndefinedId.
std::string encode(const Acl& acl);

// The permission bits acl implies, into the low 9 bits of *mode (the rest kept). True when
// the list says no more than those bits (no named entry, no mask).
bool equiv_mode(const Acl& acl, uint32_t* mode);
// chmod of an inode with access list acl: the owner, mask (owning group without a mask)
// and other entries take the mode's bits.
void chmod(Acl* acl, uint32_t mode);
// A new inode whose directory has the default list acl and that is created with *mode:
// acl becomes the new inode's access list (the mode's bits mask its entries) and *mode the
// bits the list allows. True when the list must be kept (it is not equivalent to *mode).
bool create_masq(Acl* acl, uint32_t* mode);

}  // namespace chainfs::fs::acl
