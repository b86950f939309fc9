#include "fs/format/dirent.h"

#include <xxhash.h>

#include <cerrno>

#include "fs/format/endian.h"

namespace chainfs::format {

uint64_t name_hash(std::string_view name) {
  uint64_t h = XXH3_64bits(name.data(), name.size()) >> 1;
  return h < kFirstNameHash ? h + kFirstNameHash : h;
}

std::string encode_bucket(const std::vector<Dirent>& entries) {
  std::string out;
  for (const Dirent& d : entries) {
    char hdr[kDirentHeader];
    store_le64(hdr, d.ino);
    hdr[8] = static_cast<char>(d.type);
    hdr[9] = static_cast<char>(d.name.size());
    out.append(hdr, kDirentHeader);
    out.append(d.name);
  }
  return out;
}

int decode_bucket(std::string_view v, std::vector<Dirent>* out) {
  out->clear();
  size_t pos = 0;
  while (pos < v.size()) {
    if (v.size() - pos < kDirentHeader) return -EUCLEAN;
    Dirent d;
    d.ino = load_le64(v.data() + pos);
    d.type = static_cast<uint8_t>(v[pos + 8]);
    size_t len = static_cast<uint8_t>(v[pos + 9]);
    pos += kDirentHeader;
    if (d.ino == 0 || len == 0 || v.size() - pos < len) return -EUCLEAN;
    d.name.assign(v.data() + pos, len);
    if (d.name.find('/') != std::string::npos || d.name.find('\0') != std::string::npos)
      return -EUCLEAN;
    pos += len;
    out->push_back(std::move(d));
  }
  return out->empty() ? -EUCLEAN : 0;
}

}  // namespace chainfs::format
