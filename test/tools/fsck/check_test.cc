// fsck's checker on images made by the real mkfs and Filesystem API: clean images pass,
// each kind of damage is found with the right exit code and message, repair leaves a clean
// image that mounts and reads whole, and random damage never crashes the check or the
// repair, and the repair always ends clean (run under ASan by test.sh).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "fs/format/crc32c.h"
#include "fs/format/endian.h"
#include "fs/format/layout.h"
#include "fs/format/superblock.h"
#include "io/mem_device.h"
#include "test/tools/fsck/image_util.h"
#include "tools/fsck/check.h"
#include "tools/fsck/replay.h"

namespace chainfs::fsck {
namespace {

using namespace testing;
constexpr uint64_t kSmallImage = 16 << 20;

std::string all_lines(const CheckResult& r) {
  std::string s = r.error;
  for (const Problem& p : r.problems) s += "\n" + p.text + (p.fixed ? " (fixed)" : "");
  return s;
}

CheckResult run(io::Device& dev, bool repair = false) {
  CheckOptions o;
  o.repair = repair;
  return check_filesystem(dev, o);
}

bool has_line(const CheckResult& r, std::string_view part) {
  return std::any_of(r.problems.begin(), r.problems.end(),
                     [&](const Problem& p) { return p.text.find(part) != std::string::npos; }) ||
         r.error.find(part) != std::string::npos;
}

// The image every damage case starts from: populate_small, unmounted cleanly.
const std::vector<char>& small_image() {
  static const std::vector<char> image = [] {
    io::MemDevice dev(kSmallImage);
    std::string msg;
    REQUIRE_MESSAGE(make_image(dev, &msg) == 0, msg);
    auto f = mount(dev, false, &msg);
    REQUIRE_MESSAGE(f, msg);
    REQUIRE(populate_small(*f) == 0);
    REQUIRE(f->unmount() == 0);
    f.reset();
    return dev.bytes();
  }();
  return image;
}

std::unique_ptr<io::MemDevice> copy_of(const std::vector<char>& image) {
  auto dev = std::make_unique<io::MemDevice>(image.size());
  dev->bytes() = image;
  return dev;
}

TEST_CASE("a freshly made filesystem is clean") {
  io::MemDevice dev(kSmallImage);
  std::string msg;
  REQUIRE(make_image(dev, &msg) == 0);
  CheckResult r = run(dev);
  INFO(all_lines(r));
  CHECK(r.status == 0);
  CHECK(r.problems.empty());
  CHECK(r.exit_code() == 0);
  CHECK(r.stats.inodes_used == 1);
  CHECK(r.stats.dirs == 1);
  CHECK(r.stats.blocks_used > 2);
  CHECK(r.stats.blocks_used < r.stats.block_count / 10);
}

TEST_CASE("every kind of object, cleanly unmounted, is clean") {
  auto dev = copy_of(small_image());
  CheckResult r = run(*dev);
  INFO(all_lines(r));
  CHECK(r.exit_code() == 0);
  CHECK(r.stats.dirs == 4);        // /, dir, sub, bigdir
  CHECK(r.stats.symlinks == 2);
  CHECK(r.stats.special == 2);
  CHECK(r.stats.files == 5 + 600);  // file, small, small2, xbig, sparse + bigdir's entries
  CHECK(r.stats.xattr_blocks >= 2);
  CHECK(r.stats.tree_nodes >= 3);   // bigdir's tree has levels, sparse has an extent tree
}

TEST_CASE("many random operations leave a clean filesystem") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    io::MemDevice dev(64 << 20);
    std::string msg;
    REQUIRE(make_image(dev, &msg) == 0);
    auto f = mount(dev, false, &msg);
    REQUIRE_MESSAGE(f, msg);
    CHECK(populate_random(*f, seed, 3000) == 0);
    // A sync in the middle, then more: write-back of a changed tree must stay consistent.
    REQUIRE(f->sync() == 0);
    CHECK(populate_random(*f, seed + 100, 1000) == 0);
    REQUIRE(f->unmount() == 0);
    f.reset();
    CheckResult r = run(dev);
    INFO(all_lines(r));
    CHECK(r.exit_code() == 0);
    CHECK(r.stats.inodes_used > 50);
  }
}

TEST_CASE("filling the device to ENOSPC, then deleting, leaves a clean filesystem") {
  io::MemDevice dev(9 << 20);
  std::string msg;
  REQUIRE(make_image(dev, &msg) == 0);
  auto f = mount(dev, false, &msg);
  REQUIRE_MESSAGE(f, msg);
  std::vector<uint64_t> inos;
  const std::string chunk(256 << 10, 'e');
  bool full = false;
  for (int i = 0; !full && i < 1000; ++i) {
    auto a = f->mknod({}, 1, "fill" + std::to_string(i), S_IFREG | 0644, 0);
    if (!a) break;
    inos.push_back(a->ino);
    // Fragmented writes (every other 4 KiB block first) so files grow extent trees as
    // space runs out; xattr chains compete for the last blocks too.
    for (uint64_t off = 0; off < chunk.size() && !full; off += 8192)
      full = !f->write(a->ino, off, chunk.data(), 4096);
    if (!full) full = !f->write(a->ino, 0, chunk.data(), chunk.size());
    (void)f->setxattr(a->ino, "user.pad", std::string(6000, 'x'), 0);
  }
  CHECK(full);
  for (size_t i = 0; i < inos.size(); i += 2) {
    CHECK(f->unlink(1, "fill" + std::to_string(i)) == 0);
    f->forget(inos[i], 1);  // the kernel's lookup reference from mknod: now it is freed
  }
  for (size_t i = 1; i < inos.size(); i += 4) {
    auto w = f->write(inos[i], 1 << 20, chunk.data(), chunk.size());
    CHECK_MESSAGE(w, "rewrite after deleting: " << w.err());
  }
  REQUIRE(f->unmount() == 0);
  f.reset();
  CheckResult r = run(dev);
  INFO(all_lines(r));
  CHECK(r.exit_code() == 0);
}

struct Case {
  const char* name;
  int exit_n;          // fsck -n
  const char* line;    // part of the expected problem line (or error)
};

// Every case but the two unreadable superblocks is repaired by -y (exit 1), after which -n
// finds nothing and the filesystem mounts and reads whole.
const Case kCases[] = {
    {"bad-magic", 8, "not a chainfs filesystem"},
    {"sb-crc", 8, "no valid superblock"},
    {"primary-bad", 4, "superblock: primary is bad (superblock checksum mismatch"},
    {"bitmap-bit-clear", 4, "in use by inode"},
    {"leaked-block", 4, "marked in use but owned by nothing (leaked)"},
    {"free-count", 4, "superblock: free block count is"},
    {"inode-crc", 4, "inode checksum mismatch"},
    {"nlink", 4, "link count is 5, but 2 directory entries point to it"},
    {"dirent-free-inode", 4, "points to free inode"},
    {"dup-block", 4, "(data) and inode"},
    {"dir-tree-node", 4, "directory tree node"},
    {"extent-tree-node", 4, "extent tree node"},
    {"xattr-chain", 4, "xattr block"},
    {"parent", 4, "directory's '..' is 1 but it is in directory"},
    {"orphan-loop", 4, "orphan list"},
    {"bitmap-block", 4, "block bitmap block 1 (index 0): bad magic, checksum, kind or index"},
    {"inode-type-zero", 4, "bad inode type 644"},
    {"inode-magic", 4, "bad inode magic"},
    {"dir-count", 4, "directory entry count is 601, its tree holds 600"},
    {"blocks-field", 4, "blocks field is"},
    {"leaked-inode", 4, "in use (link count 1) but no directory entry points to it"},
    {"crash-leak", 4, "marked in use but owned by nothing (leaked)"},
    {"dup-xattr", 4, "(data) and inode 7 (xattr block)"},
    {"root-crc", 4, "inode 1: inode checksum mismatch"},
    {"dirent-type", 4, "entry 'small' has type directory but inode 5 is a file"},
    {"dir-loop", 4, "directory is not reachable from the root (a loop of directories)"},
};

// The filesystem on dev mounts, every object reads, and everything can be removed.
void mounts_and_walks(io::Device& dev) {
  std::string msg;
  auto f = mount(dev, false, &msg);
  REQUIRE_MESSAGE(f, msg);
  CHECK_MESSAGE(walk_all(*f, &msg, false) == 0, msg);
  CHECK_MESSAGE(walk_all(*f, &msg, true) == 0, msg);
  CHECK(f->unmount() == 0);
  f.reset();
  CheckResult r = run(dev);
  INFO(all_lines(r));
  CHECK(r.exit_code() == 0);
}

TEST_CASE("each kind of damage is found, with the right exit code, and repaired") {
  for (const Case& c : kCases) {
    const std::string name = c.name;
    CAPTURE(name);
    auto dev = copy_of(small_image());
    REQUIRE(apply_case(*dev, c.name) == 0);
    CheckResult r = run(*dev);
    INFO(all_lines(r));
    CHECK(r.exit_code() == c.exit_n);
    CHECK(has_line(r, c.line));
    // -n changes nothing.
    CheckResult again = run(*dev);
    CHECK(again.problems.size() == r.problems.size());
    if (c.exit_n == 8) {
      CHECK(run(*dev, true).exit_code() == 8);
      continue;
    }
    CheckResult fixed = run(*dev, true);
    INFO(all_lines(fixed));
    for (const std::string& d : fixed.repairs) INFO("repair: " << d);
    CHECK(fixed.exit_code() == 1);
    CHECK(fixed.unfixed() == 0);
    CheckResult after = run(*dev);
    INFO(all_lines(after));
    CHECK(after.exit_code() == 0);
    CHECK(after.problems.empty());
    CHECK(after.notes.empty());
    mounts_and_walks(*dev);
  }
  CHECK(case_names().size() == std::size(kCases));
}

// The small image with one named damage, repaired by -y (which must fix everything).
std::unique_ptr<io::MemDevice> repaired(const char* damage) {
  auto dev = copy_of(small_image());
  REQUIRE(apply_case(*dev, damage) == 0);
  CheckResult fixed = run(*dev, true);
  INFO(all_lines(fixed));
  REQUIRE(fixed.exit_code() == 1);
  return dev;
}

TEST_CASE("repairs keep what can be kept") {
  const std::vector<char>& img = small_image();
  auto ino = [&](const char* path) {
    auto dev = copy_of(img);
    return ino_of(*dev, path);
  };
  std::string msg;
  SUBCASE("a shared block: each owner has its own copy of the data") {
    const uint64_t small = ino("/small"), small2 = ino("/small2");
    auto dev = repaired("dup-block");
    const uint64_t a = first_data_block(*dev, small), b = first_data_block(*dev, small2);
    CHECK(a != 0);
    CHECK(b != 0);
    CHECK(a != b);
    std::vector<char> da, db;
    REQUIRE(read_block(*dev, a, &da) == 0);
    REQUIRE(read_block(*dev, b, &db) == 0);
    CHECK(da == db);  // /small2 pointed at /small's data: its copy holds that data
    CHECK(da[0] == 's');
  }
  SUBCASE("a data block that is another inode's xattr block: the xattrs get new blocks") {
    const uint64_t xbig = ino("/xbig");
    auto dev = repaired("dup-xattr");
    auto f = mount(*dev, true, &msg);
    REQUIRE_MESSAGE(f, msg);
    std::vector<char> v(16384);
    auto n = f->getxattr(xbig, "user.big", v.data(), v.size());
    REQUIRE(n);
    CHECK(std::string(v.data(), *n) == std::string(8192, 'x'));
    f->unmount();
  }
  SUBCASE("a bad directory tree root: every entry is salvaged from the leaves") {
    auto dev = repaired("dir-tree-node");
    auto f = mount(*dev, true, &msg);
    REQUIRE_MESSAGE(f, msg);
    auto big = f->lookup(fs::kRootIno, "bigdir");
    REQUIRE(big);
    int n = 0;
    CHECK(f->readdir(big->ino, 0, [&](const fs::DirEntry&) { return ++n, true; }) == 0);
    CHECK(n == 600 + 2);
    CHECK(!f->lookup(fs::kRootIno, "lost+found"));
    f->unmount();
  }
  SUBCASE("an inode in use without an entry goes to /lost+found") {
    auto dev = repaired("leaked-inode");
    format::Superblock sb;
    REQUIRE(read_super(*dev, &sb) == 0);
    CHECK(ino_of(*dev, "/lost+found/#" + std::to_string(sb.inode_count)) == sb.inode_count);
  }
  SUBCASE("a bad root: a new empty root, everything in /lost+found") {
    const uint64_t dir = ino("/dir");
    auto dev = repaired("root-crc");
    CHECK(ino_of(*dev, "/lost+found/#" + std::to_string(dir) + "/file") != 0);
  }
}

TEST_CASE("shared blocks on a full filesystem: the later owner is cleared, and -y says so") {
  io::MemDevice dev(9 << 20);
  std::string msg;
  REQUIRE(make_image(dev, &msg) == 0);
  auto f = mount(dev, false, &msg);
  REQUIRE_MESSAGE(f, msg);
  const std::string mib(1 << 20, 'a');
  auto a = f->mknod({}, 1, "a", S_IFREG | 0644, 0);
  auto b = f->mknod({}, 1, "b", S_IFREG | 0644, 0);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(f->write(a->ino, 0, mib.data(), mib.size()));
  REQUIRE(f->write(b->ino, 0, mib.data(), 4096));
  auto fill = f->mknod({}, 1, "fill", S_IFREG | 0644, 0);
  REQUIRE(fill);
  for (uint64_t off = 0; f->write(fill->ino, off, mib.data(), 65536); off += 65536) {
  }
  REQUIRE(f->unmount() == 0);
  f.reset();
  // b's one extent now covers a's data: 256 blocks with two owners, and no room for a copy.
  format::DiskInode ai, bi;
  REQUIRE(read_inode(dev, a->ino, &ai) == 0);
  REQUIRE(read_inode(dev, b->ino, &bi) == 0);
  REQUIRE(ai.n_inline_extents == 1);
  std::memcpy(bi.inline_data.data(), ai.inline_data.data(), format::kExtentSize);
  bi.size = ai.size;
  REQUIRE(write_inode(dev, b->ino, bi) == 0);
  CheckResult r = run(dev);
  INFO(all_lines(r));
  CHECK(r.exit_code() == 4);
  CHECK(has_line(r, "(data) and inode"));
  CheckResult fixed = run(dev, true);
  INFO(all_lines(fixed));
  CHECK(fixed.exit_code() == 1);
  CHECK(std::any_of(fixed.repairs.begin(), fixed.repairs.end(), [&](const std::string& l) {
    return l == fmt::format("inode {}: no free space for its own copy of blocks another object owns: cleared", b->ino);
  }));
  CheckResult after = run(dev);
  INFO(all_lines(after));
  CHECK(after.exit_code() == 0);
  CHECK(ino_of(dev, "/a") == a->ino);
  CHECK(ino_of(dev, "/b") == 0);
  mounts_and_walks(dev);
}

TEST_CASE("a crash with an open unlinked file: -y frees it and marks the filesystem clean") {
  io::MemDevice dev(kSmallImage);
  std::string msg;
  REQUIRE(make_image(dev, &msg) == 0);
  auto f = mount(dev, false, &msg);
  REQUIRE_MESSAGE(f, msg);
  auto a = f->mknod({}, 1, "open-unlinked", S_IFREG | 0644, 0);
  REQUIRE(a);
  REQUIRE(f->open(a->ino) == 0);
  std::string data(3 * 4096, 'o');
  REQUIRE(f->write(a->ino, 0, data.data(), data.size()));
  REQUIRE(f->unlink(1, "open-unlinked") == 0);
  // One commit: the unlink and the orphan list are in the journal, not yet at home.
  REQUIRE(f->sync() == 0);
  // The crash: the image as it is after the sync, never unmounted.
  io::MemDevice crashed(kSmallImage);
  crashed.bytes() = dev.bytes();
  f->release(a->ino);
  REQUIRE(f->unmount() == 0);

  CheckResult r = run(crashed);
  INFO(all_lines(r));
  for (const std::string& n : r.notes) INFO("note: " << n);
  CHECK(r.exit_code() == 0);
  CHECK(r.problems.empty());  // the journal leaves nothing leaked
  // The check sees the journal replayed (a note: the next mount replays it too) and what
  // an unclean unmount leaves; nothing else.
  for (const std::string& n : r.notes) CHECK((n.find("journal") != std::string::npos || n.find("unmounted") != std::string::npos));
  CHECK(r.stats.was_unclean);
  CHECK(r.stats.inodes_used == 2);

  SUBCASE("repair frees the orphan and marks it clean") {
    CheckResult fixed = run(crashed, true);
    INFO(all_lines(fixed));
    CHECK(fixed.exit_code() == 1);
    CHECK(has_line(fixed, "not cleanly unmounted"));
    CheckResult after = run(crashed);
    CHECK(after.exit_code() == 0);
    CHECK(!after.stats.was_unclean);
    CHECK(after.stats.inodes_used == 1);
  }
  SUBCASE("an unlinked inode missing from the orphan list is found and freed") {
    Replay replay;
    std::unique_ptr<io::Device> view;
    REQUIRE(replay_journal(crashed, true, &replay, &view) == 0);
    CHECK(replay.transactions > 0);
    format::Superblock sb;
    REQUIRE(read_super(crashed, &sb) == 0);
    REQUIRE(sb.orphan_head == a->ino);
    sb.orphan_head = 0;
    REQUIRE(write_super(crashed, sb) == 0);
    CheckResult bad = run(crashed);
    INFO(all_lines(bad));
    CHECK(bad.exit_code() == 4);
    CHECK(has_line(bad, "link count is 0 but it is not on the orphan list"));
    CHECK(run(crashed, true).exit_code() == 1);
    CheckResult after = run(crashed);
    INFO(all_lines(after));
    CHECK(after.exit_code() == 0);
    CHECK(after.stats.inodes_used == 1);
    REQUIRE(read_super(crashed, &sb) == 0);
    CHECK(sb.orphan_head == 0);
  }
}

TEST_CASE("a crash with committed transactions: -n checks the replayed view, -y replays, repairs, ends clean") {
  // Damage first (a link count the mount does not look at), then a crash after a commit.
  auto dev = copy_of(small_image());
  REQUIRE(apply_case(*dev, "nlink") == 0);
  std::string msg;
  auto f = mount(*dev, false, &msg);
  REQUIRE_MESSAGE(f, msg);
  auto a = f->mknod({}, 1, "after-crash", S_IFREG | 0644, 0);
  REQUIRE(a);
  REQUIRE(f->write(a->ino, 0, "data", 4));
  REQUIRE(f->sync() == 0);  // committed to the journal; the home blocks may lag
  io::MemDevice crashed(dev->bytes().size());
  crashed.bytes() = dev->bytes();
  REQUIRE(f->unmount() == 0);
  f.reset();
  const std::vector<char> before = crashed.bytes();
  CheckResult r = run(crashed);
  INFO(all_lines(r));
  for (const std::string& n : r.notes) INFO("note: " << n);
  CHECK(r.exit_code() == 4);
  REQUIRE(r.problems.size() == 1);
  CHECK(has_line(r, "link count is 5, but 2 directory entries point to it"));
  CHECK(std::any_of(r.notes.begin(), r.notes.end(),
                    [](const std::string& n) { return n.find("committed transactions") != std::string::npos; }));
  CHECK(crashed.bytes() == before);  // -n wrote nothing: the replay stayed in memory
  CheckResult fixed = run(crashed, true);
  INFO(all_lines(fixed));
  CHECK(fixed.exit_code() == 1);
  CHECK(has_line(fixed, "committed transactions"));
  CheckResult after = run(crashed);
  INFO(all_lines(after));
  CHECK(after.exit_code() == 0);
  CHECK(after.notes.empty());  // nothing left in the journal, nothing unclean
  CHECK(!after.stats.was_unclean);
  CHECK(ino_of(crashed, "/after-crash") == a->ino);  // the committed create survived
  mounts_and_walks(crashed);
}

TEST_CASE("after an unclean unmount a leak is an error, a stale free count a note") {
  auto dev = copy_of(small_image());
  REQUIRE(apply_case(*dev, "crash-leak") == 0);
  CheckResult r = run(*dev);
  INFO(all_lines(r));
  CHECK(r.exit_code() == 4);
  CHECK(r.stats.was_unclean);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].text.find("marked in use but owned by nothing (leaked)") != std::string::npos);
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("superblock: free block count is") != std::string::npos);
  CheckResult fixed = run(*dev, true);
  INFO(all_lines(fixed));
  CHECK(fixed.exit_code() == 1);
  CHECK(fixed.problems.size() == 3);  // the leak, the count, the state
  CheckResult after = run(*dev);
  CHECK(after.exit_code() == 0);
  CHECK(after.notes.empty());
  CHECK(!after.stats.was_unclean);
}

TEST_CASE("repair after a clean check changes nothing") {
  auto dev = copy_of(small_image());
  CheckResult r = run(*dev, true);
  INFO(all_lines(r));
  CHECK(r.exit_code() == 0);
  CHECK(dev->bytes() == small_image());
}

// -y fixes everything it finds (or meets an unreadable superblock: 8), and -n then finds nothing.
void repair_ends_clean(io::Device& dev) {
  CheckResult fixed = run(dev, true);
  INFO(all_lines(fixed));
  CHECK((fixed.exit_code() == 0 || fixed.exit_code() == 1 || fixed.exit_code() == 8));
  if (fixed.exit_code() < 8) {
    CheckResult after = run(dev);
    INFO(all_lines(after));
    CHECK(after.exit_code() == 0);
  }
}

// Blocks of the small image that hold metadata: the fixed regions' first blocks and every
// tree node or xattr block found by its magic.
std::vector<uint64_t> metadata_blocks(const std::vector<char>& img) {
  std::vector<uint64_t> out;
  const uint64_t n = img.size() / kBlockSize;
  // The journal region holds copies of metadata blocks, inert once the journal is empty.
  const uint64_t jstart = format::load_le64(img.data() + format::sb_off::kJStart);
  const uint64_t jend = jstart + format::load_le64(img.data() + format::sb_off::kJBlocks);
  for (uint64_t b = 0; b < n; ++b) {
    if (b >= jstart && b < jend) continue;
    uint32_t magic = format::load_le32(img.data() + b * kBlockSize);
    if (magic == format::kSuperMagic || magic == format::kBitmapMagic || magic == format::kXattrMagic ||
        magic == 0x4e544243 /* B+tree node */ || (magic & 0xffff) == format::kInodeMagic)
      out.push_back(b);
  }
  return out;
}

// A 16 MiB image after random operations: deeper trees, longer chains, holes, links.
const std::vector<char>& random_image() {
  static const std::vector<char> image = [] {
    io::MemDevice dev(kSmallImage);
    std::string msg;
    REQUIRE_MESSAGE(make_image(dev, &msg) == 0, msg);
    auto f = mount(dev, false, &msg);
    REQUIRE_MESSAGE(f, msg);
    REQUIRE(populate_random(*f, 99, 1500) == 0);
    REQUIRE(f->unmount() == 0);
    f.reset();
    return dev.bytes();
  }();
  return image;
}

// Whether the image's block bitmap marks blk in use.
bool marked_used(const std::vector<char>& img, uint64_t blk) {
  const uint64_t start = format::load_le64(img.data() + format::sb_off::kBbStart);
  const uint64_t at = (start + blk / format::kBitsPerBitmapBlock) * kBlockSize + format::kBitmapHeader +
                      blk % format::kBitsPerBitmapBlock / 8;
  return static_cast<uint8_t>(img[at]) >> (blk % 8) & 1;
}

// must_detect: every block found by its magic is live metadata (true of small_image; after
// random operations a stale node can sit in a block now owned as an unwritten extent).
void byte_flips(const std::vector<char>& img, bool must_detect) {
  const std::vector<uint64_t> meta = metadata_blocks(img);
  REQUIRE(meta.size() > 10);
  std::mt19937_64 rng(20261123);
  int detected = 0;
  for (int round = 0; round < 400; ++round) {
    CAPTURE(round);
    auto dev = copy_of(img);
    std::vector<char>& bytes = dev->bytes();
    const int flips = round % 4 == 0 ? 1 + static_cast<int>(rng() % 8) : 1;
    std::vector<uint64_t> hit;
    for (int i = 0; i < flips; ++i) {
      uint64_t blk = meta[rng() % meta.size()];
      size_t off = rng() % kBlockSize;
      bytes[blk * kBlockSize + off] ^= static_cast<char>(1 + rng() % 255);
      hit.push_back(blk);
      INFO("flipped block " << blk << " byte " << off);
    }
    CheckResult r = run(*dev);
    CHECK((r.exit_code() == 0 || r.exit_code() == 4 || r.exit_code() == 8));
    // One flip in a checksummed block is always seen, except in an inode-table block's free
    // records, which are not read (FORMAT.md).
    // Freed tree nodes and xattr blocks keep their old bytes (and magic) but are free in
    // the bitmap: nothing reads them, so nothing can be found there either.
    if (must_detect && flips == 1 && marked_used(img, hit[0])) {
      uint32_t m = format::load_le32(img.data() + hit[0] * kBlockSize);
      if ((m & 0xffff) != format::kInodeMagic) {
        CHECK_MESSAGE(r.exit_code() != 0, "block " << hit[0] << " magic " << std::hex << m);
      }
    }
    detected += r.exit_code() != 0;
    repair_ends_clean(*dev);
  }
  MESSAGE("rounds with damage detected: " << detected << " of 400");
}

TEST_CASE("random byte flips in metadata never crash the check or the repair") {
  SUBCASE("every kind of object") { byte_flips(small_image(), true); }
  SUBCASE("after random operations") { byte_flips(random_image(), false); }
}

// Harder than flips: records and nodes that pass their checksums but say absurd things.
void valid_crc_nonsense(const std::vector<char>& img) {
  const std::vector<uint64_t> meta = metadata_blocks(img);
  std::mt19937_64 rng(7);
  const uint64_t values[] = {0, 1, 2, 3, 7, 100, 4095, 4096, 1u << 15, (1u << 15) + 1, 1ull << 32,
                             ~0ull, ~0ull >> 1, 2047, 2048, 4094};
  for (int round = 0; round < 400; ++round) {
    CAPTURE(round);
    auto dev = copy_of(img);
    std::vector<char>& bytes = dev->bytes();
    const uint64_t blk = meta[rng() % meta.size()];
    char* b = bytes.data() + blk * kBlockSize;
    const uint32_t magic = format::load_le32(b);
    for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i) {
      size_t off = (rng() % (kBlockSize / 8)) * 8;
      if (rng() % 2 == 0) off = rng() % 320;  // headers and inode fields are near the start
      off = std::min<size_t>(off, kBlockSize - 8);
      format::store_le64(b + off, values[rng() % std::size(values)]);
    }
    // Re-seal whatever kind of block it was, so the nonsense gets past the checksum.
    if ((magic & 0xffff) == format::kInodeMagic) {
      // Inode crcs mix in the inode number: recompute from the slot position.
      format::Superblock sb;
      REQUIRE(read_super(*dev, &sb) == 0);
      for (uint64_t s = 0; s < format::kInodesPerBlock; ++s) {
        char* slot = b + s * format::kInodeSize;
        uint8_t n8[8];
        const uint64_t ino = (blk - sb.inode_table_start) * format::kInodesPerBlock + s + 1;
        format::store_le64(n8, ino);
        uint32_t crc = format::crc32c::extend(format::crc32c::block(slot, format::kInodeSize, 4), n8, 8);
        format::store_le32(slot + 4, crc);
      }
    } else {
      format::store_le32(b + 4, format::crc32c::block(b, kBlockSize, 4));
    }
    CheckResult r = run(*dev);
    CHECK((r.exit_code() == 0 || r.exit_code() == 4 || r.exit_code() == 8));
    repair_ends_clean(*dev);
  }
}

TEST_CASE("random field values with valid checksums never crash the check") {
  SUBCASE("every kind of object") { valid_crc_nonsense(small_image()); }
  SUBCASE("after random operations") { valid_crc_nonsense(random_image()); }
}

}  // namespace
}  // namespace chainfs::fsck
