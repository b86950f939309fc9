// chainfs-fuzz-seeds OUTDIR: writes the seed corpus of every fuzz target into
// OUTDIR/<target>/, from images made in memory by mkfs and test/tools/fsck/image_util
// (the same builders test/images' scripts call through chainfs-mkimage):
//   * image targets (meta_mount, fsck_check): an empty filesystem, populate_small's tree,
//     populate_random's, each corruption of test/images (apply_case on the small tree),
//     and two images of a mount that never unmounted (journal to replay), in sparse form,
//     each with flag sets {none, fix checksums} x {read-only, read-write / repair};
//   * decoder targets: the blocks of those images cut by kind (superblocks, inode
//     records, B+tree nodes, leaf values as directory buckets, xattr blocks and inline
//     blobs, bitmap blocks, journal blocks), in each target's input layout.
// Exit 0, or 1 with a line on stderr.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fs/btree/node.h"
#include "fs/format/endian.h"
#include "fs/format/inode.h"
#include "fs/format/journal.h"
#include "fs/format/layout.h"
#include "fs/format/superblock.h"
#include "fs/format/xattr.h"
#include "io/mem_device.h"
#include "test/fuzz/fuzz_input.h"
#include "test/tools/fsck/image_util.h"

using namespace chainfs;
namespace t = chainfs::fsck::testing;

namespace {

constexpr size_t kPerKind = 40;  // seeds per decoder target and source image

std::string g_out;
std::map<std::string, int> g_count;

void put(const std::string& target, const std::string& bytes) {
  std::string dir = g_out + "/" + target;
  ::mkdir(dir.c_str(), 0755);
  int n = g_count[target]++;
  std::ofstream(dir + "/seed-" + std::to_string(n), std::ios::binary) << bytes;
}

std::string le(uint64_t v, int bytes) {
  std::string s(bytes, '\0');
  for (int i = 0; i < bytes; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// Cuts img's blocks by kind into decoder seeds.
void cut(io::MemDevice& dev) {
  const char* img = dev.bytes().data();
  const uint64_t blocks = dev.size_bytes() / chainfs::kBlockSize;
  format::Superblock sb;
  std::string why;
  if (format::decode_superblock(img, blocks, &sb, &why) < 0) return;
  std::map<std::string, size_t> taken;
  auto want = [&](const char* kind) { return taken[kind]++ < kPerKind; };
  auto block = [&](uint64_t b) { return std::string(img + b * chainfs::kBlockSize, chainfs::kBlockSize); };
  put("format_superblock", std::string(1, '\0') + le(blocks, 4) + block(0));
  put("format_superblock", std::string(1, '\0') + le(blocks, 4) + block(blocks - 1));
  for (uint64_t b = 0; b < blocks; ++b) {
    const auto* p = reinterpret_cast<const uint8_t*>(img + b * chainfs::kBlockSize);
    const uint32_t magic = format::load_le32(p);
    if (magic == format::kBitmapMagic && want("bitmap")) {
      const uint8_t kind = format::load_le32(p + 8) == 2 ? 2 : 0;
      put("format_bitmap",
          std::string(1, static_cast<char>(kind)) + std::string(reinterpret_cast<const char*>(p + 12), 4) + block(b));
    } else if (magic == btree::node::kMagic && want("node")) {
      put("btree_node", std::string(1, '\2') + std::string(1, '\xff') + le(0, 8) + le(0, 8) + le(~0ull, 8) +
                            le(format::load_le64(p + btree::node::kHeaderSize), 8) + block(b));
      if (p[btree::node::kOffLevel] == 0 && want("dirent")) {
        for (unsigned i = 0; i < btree::node::count(p) && i < 8; ++i)
          put("format_dirent", std::string(btree::node::leaf_value(p, i)));
      }
    } else if (magic == format::kXattrMagic && want("xattr")) {
      put("format_xattr", std::string(1, '\0') + std::string(reinterpret_cast<const char*>(p + 8), 8) +
                              std::string(reinterpret_cast<const char*>(p + 28), 4) + block(b));
    } else if ((magic == format::kJournalSuperMagic || magic == format::kJournalDescMagic ||
                magic == format::kJournalCommitMagic) && want("journal")) {
      // Sequence and uuid as the block holds them (the superblock's tail sequence for it).
      const size_t seq_off = magic == format::kJournalSuperMagic ? format::jsb_off::kTailSeq : 8;
      const size_t uuid_off = magic == format::kJournalSuperMagic   ? format::jsb_off::kUuid
                              : magic == format::kJournalDescMagic ? format::jd_off::kUuid
                                                                   : format::jc_off::kUuid;
      put("format_journal", std::string(1, '\0') + std::string(reinterpret_cast<const char*>(p + seq_off), 8) +
                                std::string(reinterpret_cast<const char*>(p + uuid_off), 16) + block(b));
    }
  }
  for (uint64_t b = sb.inode_table_start; b < sb.inode_table_start + sb.inode_table_blocks; ++b) {
    for (uint32_t i = 0; i < format::kInodesPerBlock; ++i) {
      const char* slot = img + b * chainfs::kBlockSize + i * format::kInodeSize;
      if (format::load_le16(slot) != format::kInodeMagic || format::load_le32(slot + 8) == 0) continue;
      const uint64_t ino = (b - sb.inode_table_start) * format::kInodesPerBlock + i + 1;
      if (want("inode"))
        put("format_inode", std::string(1, '\0') + le(ino, 8) + std::string(slot, format::kInodeSize) +
                                le(sb.data_start, 8) + le(sb.block_count, 8));
      const uint16_t xlen = format::load_le16(slot + format::ino_off::kXattrInlineLen);
      if (xlen > 0 && xlen <= format::kInlineXattrSize && want("blob"))
        put("format_xattr", std::string(1, '\2') + le(ino, 8) + le(0, 4) +
                                std::string(slot + format::ino_off::kInlineXattr, xlen));
    }
  }
}

void image(io::MemDevice& dev) {
  for (uint8_t flags : {0, 1, 2, 3}) {
    std::string s = fuzz::encode_sparse(dev, flags);
    put("meta_mount", s);
    put("fsck_check", s);
  }
  cut(dev);
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "chainfs-fuzz-seeds: %s\n", msg.c_str());
  return 1;
}

// A fresh 8 MiB image with populate_small's tree (cleanly unmounted).
int small_image(io::MemDevice& dev, std::string* msg) {
  if (int r = t::make_image(dev, msg); r < 0) return r;
  auto f = t::mount(dev, false, msg);
  if (!f) return -EIO;
  int r = t::populate_small(*f);
  int u = f->unmount();
  return r < 0 ? r : u;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: chainfs-fuzz-seeds OUTDIR");
  g_out = argv[1];
  ::mkdir(g_out.c_str(), 0755);
  std::string msg;
  constexpr uint64_t k8MiB = 8 << 20;
  {
    io::MemDevice dev(k8MiB);
    if (t::make_image(dev, &msg) < 0) return fail("mkfs: " + msg);
    image(dev);
  }
  io::MemDevice small(k8MiB);
  if (small_image(small, &msg) < 0) return fail("populate_small: " + msg);
  image(small);
  {
    io::MemDevice dev(16 << 20);
    if (t::make_image(dev, &msg) < 0) return fail("mkfs: " + msg);
    auto f = t::mount(dev, false, &msg);
    if (!f || t::populate_random(*f, 42, 600) < 0 || f->unmount() < 0) return fail("populate_random: " + msg);
    image(dev);
  }
  for (const std::string& name : t::case_names()) {
    io::MemDevice dev(k8MiB);
    dev.bytes() = small.bytes();
    if (int r = t::apply_case(dev, name); r < 0) return fail("case " + name + ": " + std::strerror(-r));
    image(dev);
  }
  {
    // A mount that never unmounts: once before its first commit, once after a sync.
    io::MemDevice dev(k8MiB);
    if (t::make_image(dev, &msg) < 0) return fail("mkfs: " + msg);
    auto f = t::mount(dev, false, &msg);
    if (!f || t::populate_small(*f) < 0) return fail("populate_small: " + msg);
    io::MemDevice before(k8MiB), after(k8MiB);
    before.bytes() = dev.bytes();
    if (f->sync() < 0) return fail("sync failed");
    after.bytes() = dev.bytes();
    f->unmount();
    image(before);
    image(after);
  }
  for (const auto& [target, n] : g_count) std::printf("%s: %d seeds\n", target.c_str(), n);
  return 0;
}
