#include "fs/meta/posix_acl.h"

#include <cerrno>

#include "fs/format/endian.h"

namespace chainfs::fs::acl {

namespace {
constexpr size_t kHeader = 4, kEntry = 8;
constexpr uint32_t kRwx = 7;

// The kernel's rule: owner, named users, owning group, named groups, mask, other, in this
// order; one owner, owning group and other entry; a mask exactly when there are named entries
// (optional without them). The order of named entries among themselves is free.
bool valid(const Acl& acl) {
  if (acl.empty()) return true;
  enum { kWantUserObj, kInUsers, kInGroups, kWantOther, kDone } state = kWantUserObj;
  bool named = false;
  for (const Entry& e : acl) {
    if (e.perm & ~kRwx) return false;
    switch (e.tag) {
      case kUserObj:
        if (state != kWantUserObj) return false;
        state = kInUsers;
        break;
      case kUser:
        if (state != kInUsers || e.id == kUndefinedId) return false;
        named = true;
        break;
      case kGroupObj:
        if (state != kInUsers) return false;
        state = kInGroups;
        break;
      case kGroup:
        if (state != kInGroups || e.id == kUndefinedId) return false;
        named = true;
        break;
      case kMask:
        if (state != kInGroups) return false;
        state = kWantOther;
        break;
      case kOther:
        if (state != kWantOther && !(state == kInGroups && !named)) return false;
        state = kDone;
        break;
      default:
        return false;
    }
  }
  return state == kDone;
}
}  // namespace

int decode(std::string_view v, Acl* out) {
  out->clear();
  if (v.size() < kHeader || (v.size() - kHeader) % kEntry) return -EINVAL;
  if (format::load_le32(v.data()) != kVersion) return -EOPNOTSUPP;  // as the kernel
  for (size_t pos = kHeader; pos < v.size(); pos += kEntry) {
    Entry e;
    e.tag = format::load_le16(v.data() + pos);
    e.perm = format::load_le16(v.data() + pos + 2);
    e.id = (e.tag == kUser || e.tag == kGroup) ? format::load_le32(v.data() + pos + 4) : kUndefinedId;
    out->push_back(e);
  }
  return valid(*out) ? 0 : -EINVAL;
}

std::string encode(const Acl& acl) {
  std::string v(kHeader + kEntry * acl.size(), '\0');
  format::store_le32(v.data(), kVersion);
  size_t pos = kHeader;
  for (const Entry& e : acl) {
    format::store_le16(v.data() + pos, e.tag);
    format::store_le16(v.data() + pos + 2, e.perm);
    format::store_le32(v.data() + pos + 4, e.id);
    pos += kEntry;
  }
  return v;
}

bool equiv_mode(const Acl& acl, uint32_t* mode) {
  uint32_t m = 0;
  bool equiv = true;
  for (const Entry& e : acl) {
    switch (e.tag) {
      case kUserObj: m |= uint32_t{e.perm} << 6; break;
      case kGroupObj: m |= uint32_t{e.perm} << 3; break;
      case kOther: m |= e.perm; break;
      case kMask:
        m = (m & ~070u) | (uint32_t{e.perm} << 3);
        equiv = false;
        break;
      default: equiv = false; break;
    }
  }
  *mode = (*mode & ~0777u) | m;
  return equiv;
}

void chmod(Acl* acl, uint32_t mode) {
  Entry* group_obj = nullptr;
  Entry* mask = nullptr;
  for (Entry& e : *acl) {
    switch (e.tag) {
      case kUserObj: e.perm = (mode >> 6) & kRwx; break;
      case kGroupObj: group_obj = &e; break;
      case kMask: mask = &e; break;
      case kOther: e.perm = mode & kRwx; break;
      default: break;
    }
  }
  Entry* group_class = mask ? mask : group_obj;
  if (group_class) group_class->perm = (mode >> 3) & kRwx;
}

bool create_masq(Acl* acl, uint32_t* mode) {
  uint32_t m = *mode;
  Entry* group_obj = nullptr;
  Entry* mask = nullptr;
  bool equiv = true;
  for (Entry& e : *acl) {
    switch (e.tag) {
      case kUserObj:
        e.perm &= (m >> 6) & kRwx;
        m &= (uint32_t{e.perm} << 6) | ~0700u;
        break;
      case kGroupObj: group_obj = &e; break;
      case kMask:
        mask = &e;
        equiv = false;
        break;
      case kOther:
        e.perm &= m & kRwx;
        m &= e.perm | ~07u;
        break;
      default: equiv = false; break;
    }
  }
  if (Entry* g = mask ? mask : group_obj) {
    g->perm &= (m >> 3) & kRwx;
    m &= (uint32_t{g->perm} << 3) | ~070u;
  }
  *mode = (*mode & ~0777u) | (m & 0777u);
  return !equiv;
}

}  // namespace chainfs::fs::acl
