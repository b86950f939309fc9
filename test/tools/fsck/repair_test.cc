// fsck -y against random damage: an image with every kind of object (files, directories,
// hard links, xattrs inline and in chains, large fragmented files with multi-level extent
// trees, big directories) gets random metadata damage (seeded): flipped bytes, nonsense
// fields under valid checksums, edited inode fields, zeroed blocks, bitmap bits, extents
// pointing at another file's blocks, superblock counts. Then fsck -y must end with exit 0
// or 1, fsck -n must find nothing, and the filesystem must mount, read whole (readdir,
// lookup, getattr, xattrs, readlink, file data), be removable entry by entry, and check clean
// again after that.
//
// Seeds: CHAINFS_FSCK_SEEDS (default 300, about a minute; 60 under ASan, which is about five
// times slower) starting at CHAINFS_FSCK_SEED (default 1). A longer run:
//   CHAINFS_FSCK_SEEDS=20000 build/test/tools/fsck/fsck_repair_test
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "fs/format/bitmap.h"
#include "fs/format/crc32c.h"
#include "fs/format/endian.h"
#include "fs/format/layout.h"
#include "io/mem_device.h"
#include "test/tools/fsck/image_util.h"
#include "tools/fsck/check.h"

namespace chainfs::fsck {
namespace {

using namespace testing;
using namespace format;
constexpr uint64_t kImageBytes = 32 << 20;
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kDefaultSeeds = 60;
#else
constexpr uint64_t kDefaultSeeds = 300;
#endif

std::string all_lines(const CheckResult& r) {
  std::string s = r.error;
  for (const Problem& p : r.problems) s += "\n" + p.text + (p.fixed ? " (fixed)" : "");
  for (const std::string& d : r.repairs) s += "\nrepair: " + d;
  return s;
}

CheckResult run(io::Device& dev, bool repair) {
  CheckOptions o;
  o.repair = repair;
  return check_filesystem(dev, o);
}

uint64_t env_or(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : def;
}

// The image every seed starts from.
const std::vector<char>& base_image() {
  static const std::vector<char> image = [] {
    io::MemDevice dev(kImageBytes);
    std::string msg;
    REQUIRE_MESSAGE(make_image(dev, &msg) == 0, msg);
    auto f = mount(dev, false, &msg);
    REQUIRE_MESSAGE(f, msg);
    REQUIRE(populate_small(*f) == 0);
    // A large fragmented file: 800 one-block extents, a two-level extent tree.
    auto frag = f->mknod({}, fs::kRootIno, "fragmented", S_IFREG | 0644, 0);
    REQUIRE(frag);
    const std::string blk(kBlockSize, 'F');
    for (uint64_t i = 0; i < 800; ++i) REQUIRE(f->write(frag->ino, 2 * i * kBlockSize, blk.data(), blk.size()));
    REQUIRE(populate_random(*f, 7, 1500) == 0);
    REQUIRE(f->unmount() == 0);
    f.reset();
    CheckResult r = run(dev, false);
    INFO(all_lines(r));
    REQUIRE(r.exit_code() == 0);
    return dev.bytes();
  }();
  return image;
}

struct Layout {
  Superblock sb;
  std::vector<uint64_t> meta;    // in-use blocks holding metadata (any kind)
  std::vector<uint64_t> inodes;  // in-use inodes
  std::vector<uint64_t> data;    // first blocks of inline extents of regular files
};

bool bit(const std::vector<char>& img, uint64_t start, uint64_t item) {
  const uint64_t at = (start + item / kBitsPerBitmapBlock) * kBlockSize + kBitmapHeader + item % kBitsPerBitmapBlock / 8;
  return static_cast<uint8_t>(img[at]) >> (item % 8) & 1;
}

const Layout& layout() {
  static const Layout l = [] {
    Layout out;
    const std::vector<char>& img = base_image();
    io::MemDevice dev(img.size());
    dev.bytes() = img;
    REQUIRE(read_super(dev, &out.sb) == 0);
    for (uint64_t b = 0; b < out.sb.block_count; ++b) {
      if (!bit(img, out.sb.block_bitmap_start, b)) continue;
      const uint32_t m = load_le32(img.data() + b * kBlockSize);
      if (m == kSuperMagic || m == kBitmapMagic || m == kXattrMagic || m == 0x4e544243 ||
          (b >= out.sb.inode_table_start && b < out.sb.inode_table_start + out.sb.inode_table_blocks))
        out.meta.push_back(b);
    }
    for (uint64_t i = 1; i <= out.sb.inode_count; ++i) {
      if (!bit(img, out.sb.inode_bitmap_start, i - 1)) continue;
      out.inodes.push_back(i);
      DiskInode in;
      if (read_inode(dev, i, &in) == 0 && S_ISREG(in.mode) && in.n_inline_extents)
        out.data.push_back(decode_extent(in.inline_data.data()).physical);
    }
    return out;
  }();
  return l;
}

// Re-seals whatever kind of metadata block blk of the image is (so the damage passes the checksum).
void reseal(std::vector<char>& img, const Superblock& sb, uint64_t blk) {
  char* b = img.data() + blk * kBlockSize;
  if (blk >= sb.inode_table_start && blk < sb.inode_table_start + sb.inode_table_blocks) {
    for (uint64_t s = 0; s < kInodesPerBlock; ++s) {
      char* slot = b + s * kInodeSize;
      uint8_t n8[8];
      store_le64(n8, (blk - sb.inode_table_start) * kInodesPerBlock + s + 1);
      store_le32(slot + 4, crc32c::extend(crc32c::block(slot, kInodeSize, 4), n8, 8));
    }
  } else {
    store_le32(b + 4, crc32c::block(b, kBlockSize, 4));
  }
}

// One random piece of damage; returns what it did (for the failure message).
std::string damage(io::MemDevice& dev, std::mt19937_64& rng) {
  const Layout& l = layout();
  std::vector<char>& img = dev.bytes();
  auto pick = [&](const std::vector<uint64_t>& v) { return v[rng() % v.size()]; };
  const uint64_t values[] = {0, 1, 2, 3, 7, 100, 4095, 4096, 1u << 15, 1ull << 32, ~0ull, ~0ull >> 1,
                             l.sb.data_start, l.sb.block_count - 1, l.sb.inode_count, pick(l.data), pick(l.meta)};
  auto value = [&] { return values[rng() % std::size(values)]; };
  switch (rng() % 7) {
    case 0: {  // flipped bytes in a metadata block
      const uint64_t blk = pick(l.meta);
      const size_t off = rng() % kBlockSize;
      img[blk * kBlockSize + off] ^= static_cast<char>(1 + rng() % 255);
      return fmt::format("flip block {} byte {}", blk, off);
    }
    case 1: {  // nonsense under a valid checksum
      const uint64_t blk = pick(l.meta);
      size_t off = rng() % 2 ? (rng() % (kBlockSize / 8)) * 8 : rng() % 320;
      off = std::min<size_t>(off, kBlockSize - 8);
      const uint64_t v = value();
      store_le64(img.data() + blk * kBlockSize + off, v);
      reseal(img, l.sb, blk);
      return fmt::format("set block {} offset {} to {} (resealed)", blk, off, v);
    }
    case 2: {  // an inode field
      const uint64_t ino = pick(l.inodes);
      DiskInode in;
      if (read_inode(dev, ino, &in) < 0) return "inode already bad";
      const uint64_t v = value();
      const int field = static_cast<int>(rng() % 12);
      switch (field) {
        case 0: in.nlink = static_cast<uint32_t>(v); break;
        case 1: in.blocks = v; break;
        case 2: in.size = v % (kMaxFileSize + 1); break;
        case 3: in.mode = (in.mode & 07777) | static_cast<uint32_t>((v % 16) << 12); break;
        case 4: in.parent = v; break;
        case 5: in.dir_entries = v; break;
        case 6: in.tree_root = v; break;
        case 7: in.xattr_block = v; break;
        case 8: in.orphan_next = v % (l.sb.inode_count + 1); break;
        case 9: in.flags = static_cast<uint32_t>(v % 4); break;
        case 10: in.n_inline_extents = static_cast<uint16_t>(v % 7); break;
        case 11: {
          Extent e = decode_extent(in.inline_data.data());
          if (rng() % 2) e.physical = v;
          else e.len = static_cast<uint32_t>(v);
          encode_extent(e, in.inline_data.data());
          break;
        }
      }
      write_inode(dev, ino, in);
      return fmt::format("inode {} field {} = {}", ino, field, v);
    }
    case 3: {  // a whole block zeroed or garbage
      const uint64_t blk = pick(l.meta);
      const bool zero = rng() % 2;
      for (size_t i = 0; i < kBlockSize; ++i) img[blk * kBlockSize + i] = zero ? 0 : static_cast<char>(rng());
      return fmt::format("block {} {}", blk, zero ? "zeroed" : "garbage");
    }
    case 4: {  // a bitmap bit
      const bool inodes = rng() % 2;
      const uint64_t item = rng() % (inodes ? l.sb.inode_count : l.sb.block_count);
      const bool on = rng() % 2;
      set_bitmap_bit(dev, inodes, item, on);
      return fmt::format("{} bitmap item {} set {}", inodes ? "inode" : "block", item, on);
    }
    case 5: {  // an extent pointing at blocks another object owns
      const uint64_t ino = pick(l.inodes);
      DiskInode in;
      if (read_inode(dev, ino, &in) < 0 || !S_ISREG(in.mode) || in.n_inline_extents == 0) return "no extent";
      Extent e = decode_extent(in.inline_data.data());
      e.physical = rng() % 2 ? pick(l.data) : pick(l.meta);
      encode_extent(e, in.inline_data.data());
      write_inode(dev, ino, in);
      return fmt::format("inode {} extent moved to block {}", ino, e.physical);
    }
    default: {  // superblock counts and orphan head (both copies)
      Superblock sb;
      if (read_super(dev, &sb) < 0) return "superblock already bad";
      const int field = static_cast<int>(rng() % 3);
      if (field == 0) sb.free_blocks = rng() % (sb.block_count + 1);
      if (field == 1) sb.free_inodes = rng() % (sb.inode_count + 1);
      if (field == 2) sb.orphan_head = pick(l.inodes);
      write_super(dev, sb);
      return fmt::format("superblock field {}", field);
    }
  }
}

TEST_CASE("random metadata damage: -y repairs it, -n is clean, the filesystem mounts and reads whole") {
  const uint64_t first = env_or("CHAINFS_FSCK_SEED", 1), n = env_or("CHAINFS_FSCK_SEEDS", kDefaultSeeds);
  (void)layout();
  uint64_t repaired = 0, clean_already = 0, not_clean = 0, walk_failed = 0;
  for (uint64_t seed = first; seed < first + n; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    io::MemDevice dev(kImageBytes);
    dev.bytes() = base_image();
    std::string what;
    for (int k = 0, m = 1 + static_cast<int>(rng() % 4); k < m; ++k) what += damage(dev, rng) + "; ";
    INFO("damage: " << what);
    CheckResult fixed = run(dev, true);
    INFO("fsck -y:" << all_lines(fixed));
    CHECK((fixed.exit_code() == 0 || fixed.exit_code() == 1));
    clean_already += fixed.exit_code() == 0;
    repaired += fixed.exit_code() == 1;
    CheckResult after = run(dev, false);
    INFO("fsck -n after:" << all_lines(after));
    CHECK(after.exit_code() == 0);
    CHECK(after.problems.empty());
    if (after.exit_code() != 0) {
      ++not_clean;
      continue;
    }
    std::string msg;
    auto f = mount(dev, false, &msg);
    REQUIRE_MESSAGE(f, msg);
    int r = walk_all(*f, &msg, false);
    CHECK_MESSAGE(r == 0, msg);
    if (r == 0) {
      r = walk_all(*f, &msg, true);
      CHECK_MESSAGE(r == 0, msg);
    }
    walk_failed += r != 0;
    CHECK(f->unmount() == 0);
    f.reset();
    CheckResult end = run(dev, false);
    INFO("fsck -n after removing everything:" << all_lines(end));
    CHECK(end.exit_code() == 0);
  }
  MESSAGE(n << " seeds from " << first << ": " << repaired << " repaired (exit 1), " << clean_already
            << " clean already, " << not_clean << " not clean after -y, " << walk_failed << " failed to read or remove");
}

}  // namespace
}  // namespace chainfs::fsck
