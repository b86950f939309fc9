#include "test/tools/fsck/image_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <random>

#include <fmt/format.h>

#include "io/borrowed_device.h"

#include "fs/btree/btree.h"
#include "fs/format/bitmap.h"
#include "fs/format/dirent.h"
#include "fs/format/endian.h"
#include "fs/format/layout.h"
#include "fs/meta/mkfs.h"
#include "mem/aligned_buffer.h"

namespace chainfs::fsck::testing {

using namespace format;

int make_image(io::Device& dev, std::string* msg, uint64_t inodes) {
  fs::MkfsOptions o;
  o.inodes = inodes;
  return fs::make_filesystem(dev, o, msg);
}

std::unique_ptr<fs::Filesystem> mount(io::Device& dev, bool read_only, std::string* msg) {
  fs::MountOptions mo;
  mo.read_only = read_only;
  mo.flush_interval_s = 3600;  // deterministic images: write back only at sync/unmount
  auto r = fs::mount_filesystem(std::make_unique<io::BorrowedDevice>(dev), mo, msg);
  if (!r) return nullptr;
  return std::move(*r);
}

namespace {
const fs::Caller kRoot{0, 0};

// Unwraps a Result<Attr> into an inode number, remembering the first error.
struct Ops {
  fs::Filesystem& f;
  int err = 0;
  fs::Ino ino(const Result<fs::Attr>& r) {
    if (!r) {
      if (!err) err = r.err();
      return 0;
    }
    return r->ino;
  }
  void check(int r) {
    if (r < 0 && !err) err = r;
  }
  fs::Ino file(fs::Ino dir, const std::string& name) { return ino(f.mknod(kRoot, dir, name, S_IFREG | 0644, 0)); }
  void fill(fs::Ino i, uint64_t off, size_t len, char c) {
    std::string data(len, c);
    auto r = f.write(i, off, data.data(), data.size());
    if (!r) check(r.err());
  }
};
}  // namespace

int populate_small(fs::Filesystem& f) {
  Ops o{f};
  fs::Ino dir = o.ino(f.mkdir(kRoot, fs::kRootIno, "dir", 0755));
  o.ino(f.mkdir(kRoot, dir, "sub", 0755));
  fs::Ino file = o.file(dir, "file");
  o.fill(file, 0, 3 * kBlockSize, 'f');
  o.ino(f.link(file, dir, "link"));
  fs::Ino small = o.file(fs::kRootIno, "small");
  o.fill(small, 0, 100, 's');
  o.check(f.setxattr(small, "user.note", "hello", 0));
  fs::Ino small2 = o.file(fs::kRootIno, "small2");
  o.fill(small2, 0, 200, 't');
  fs::Ino xbig = o.file(fs::kRootIno, "xbig");
  o.check(f.setxattr(xbig, "user.big", std::string(8192, 'x'), 0));
  o.check(f.setxattr(xbig, "trusted.t", "v", 0));
  fs::Ino sparse = o.file(fs::kRootIno, "sparse");
  for (int i = 0; i < 10; ++i) o.fill(sparse, uint64_t(2 * i) * kBlockSize, kBlockSize, 'a');
  o.ino(f.symlink(kRoot, fs::kRootIno, "fast", "dir/file"));
  o.ino(f.symlink(kRoot, fs::kRootIno, "slow", std::string(300, 'L')));
  o.ino(f.mknod(kRoot, fs::kRootIno, "fifo", S_IFIFO | 0644, 0));
  o.ino(f.mknod(kRoot, fs::kRootIno, "chr", S_IFCHR | 0644, makedev(1, 3)));
  fs::Ino big = o.ino(f.mkdir(kRoot, fs::kRootIno, "bigdir", 0755));
  for (int i = 0; i < 600; ++i) o.file(big, fmt::format("entry-{:04}", i));
  fs::Ino gone = o.file(fs::kRootIno, "gone");
  o.fill(gone, 0, 5 * kBlockSize, 'g');
  o.check(f.unlink(fs::kRootIno, "gone"));
  return o.err;
}

int populate_random(fs::Filesystem& f, uint64_t seed, int ops) {
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  struct Entry {
    fs::Ino dir;
    std::string name;
    fs::Ino ino;
  };
  std::vector<fs::Ino> dirs{fs::kRootIno};
  std::vector<Entry> files;  // every link to a regular file
  int serious = 0;
  auto note = [&](int r) {
    // Expected refusals (ENOSPC, ENOTEMPTY, ...) are fine; corruption or I/O errors are not.
    if (r == -EUCLEAN || r == -EIO) serious = r;
  };
  std::string buf;
  for (int i = 0; i < ops; ++i) {
    const std::string name = fmt::format("n{}", i);
    switch (rng() % 13) {
      case 0:
      case 1: {
        fs::Ino d = dirs[pick(dirs.size())];
        auto r = f.mknod(kRoot, d, name, S_IFREG | 0644, 0);
        note(r.err());
        if (r) files.push_back({d, name, r->ino});
        break;
      }
      case 2:
      case 3: {
        if (files.empty()) break;
        const Entry& e = files[pick(files.size())];
        uint64_t off = rng() % (4 << 20);
        if (rng() % 4 == 0) off = rng() % (1ull << 32);  // far out: sparse, extent trees
        buf.assign(1 + rng() % (64 << 10), static_cast<char>('a' + rng() % 26));
        auto r = f.write(e.ino, off, buf.data(), buf.size());
        note(r.err());
        break;
      }
      case 4: {
        if (files.empty()) break;
        fs::SetAttr sa;
        sa.fields = fs::SetAttr::kSize;
        sa.size = rng() % (8 << 20);
        note(f.setattr(files[pick(files.size())].ino, sa).err());
        break;
      }
      case 5: {
        if (files.empty()) break;
        static const int kModes[] = {0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                     FALLOC_FL_ZERO_RANGE};
        note(f.fallocate(files[pick(files.size())].ino, kModes[rng() % 4], rng() % (4 << 20), 1 + rng() % (1 << 20)));
        break;
      }
      case 6: {
        if (files.empty()) break;
        const Entry e = files[pick(files.size())];
        fs::Ino d = dirs[pick(dirs.size())];
        auto r = f.link(e.ino, d, name);
        note(r.err());
        if (r) files.push_back({d, name, e.ino});
        break;
      }
      case 7: {
        if (files.empty()) break;
        size_t k = pick(files.size());
        fs::Ino d = dirs[pick(dirs.size())];
        int r = f.rename(files[k].dir, files[k].name, d, name, 0);
        note(r);
        if (r == 0) files[k] = {d, name, files[k].ino};
        break;
      }
      case 8: {
        if (files.empty()) break;
        size_t len = rng() % 3 == 0 ? 3000 + rng() % 20000 : rng() % 100;
        note(f.setxattr(files[pick(files.size())].ino, fmt::format("user.x{}", rng() % 4),
                        std::string(len, 'v'), 0));
        break;
      }
      case 9: {
        if (files.empty()) break;
        note(f.removexattr(files[pick(files.size())].ino, fmt::format("user.x{}", rng() % 4)));
        break;
      }
      case 10: {
        if (files.empty()) break;
        size_t k = pick(files.size());
        int r = f.unlink(files[k].dir, files[k].name);
        note(r);
        if (r == 0) files.erase(files.begin() + static_cast<long>(k));
        break;
      }
      case 11: {
        fs::Ino d = dirs[pick(dirs.size())];
        if (rng() % 3 == 0 && dirs.size() > 1) {
          // rmdir of a random directory: works only when it is empty.
          size_t k = 1 + pick(dirs.size() - 1);
          fs::Ino victim = dirs[k];
          bool has_files = false;
          for (const Entry& e : files) has_files = has_files || e.dir == victim;
          if (has_files) break;
          // Its name is not tracked: find it through readdir of every directory.
          for (fs::Ino p : dirs) {
            std::string found;
            note(f.readdir(p, 0, [&](const fs::DirEntry& de) {
              if (de.ino == victim && de.name != "." && de.name != "..") found = std::string(de.name);
              return found.empty();
            }));
            if (!found.empty()) {
              if (f.rmdir(p, found) == 0) dirs.erase(dirs.begin() + static_cast<long>(k));
              break;
            }
          }
          break;
        }
        auto r = f.mkdir(kRoot, d, name, 0755);
        note(r.err());
        if (r) dirs.push_back(r->ino);
        break;
      }
      case 12: {
        fs::Ino d = dirs[pick(dirs.size())];
        note(f.symlink(kRoot, d, name, std::string(1 + rng() % 400, 'T')).err());
        break;
      }
    }
  }
  return serious;
}

int walk_all(fs::Filesystem& f, std::string* msg, bool remove) {
  std::vector<char> buf(1 << 20);
  std::vector<char> names(1 << 16);
  // dir: a directory inode; path: its name for messages. Returns 0 or the first error.
  std::function<int(fs::Ino, const std::string&, int)> walk = [&](fs::Ino dir, const std::string& path, int depth) {
    if (depth > 64) {
      *msg = path + ": directories nested too deep";
      return -ELOOP;
    }
    struct Entry {
      std::string name;
      fs::Ino ino;
    };
    std::vector<Entry> entries;
    int r = f.readdir(dir, 0, [&](const fs::DirEntry& de) {
      if (de.name != "." && de.name != "..") entries.push_back(Entry{std::string(de.name), de.ino});
      return true;
    });
    if (r < 0) {
      *msg = fmt::format("readdir {}: {}", path, std::strerror(-r));
      return r;
    }
    for (const Entry& de : entries) {
      const std::string p = path + "/" + de.name;
      auto a = f.lookup(dir, de.name);
      if (!a) {
        *msg = fmt::format("lookup {}: {}", p, std::strerror(-a.err()));
        return a.err();
      }
      const fs::Attr at = *a;
      auto fail = [&](const char* what, int e) {
        *msg = fmt::format("{} {}: {}", what, p, std::strerror(-e));
        f.forget(at.ino, 1);
        return e;
      };
      if (at.ino != de.ino) return fail("lookup gives another inode for", -EIO);
      if (auto g = f.getattr(at.ino); !g) return fail("getattr", g.err());
      if (auto x = f.listxattr(at.ino, names.data(), names.size()); !x) {
        return fail("listxattr", x.err());
      } else {
        for (size_t off = 0; off < *x;) {
          std::string_view n(names.data() + off);
          if (auto v = f.getxattr(at.ino, n, buf.data(), buf.size()); !v) return fail("getxattr", v.err());
          off += n.size() + 1;
        }
      }
      if (S_ISDIR(at.mode)) {
        if ((r = walk(at.ino, p, depth + 1)) < 0) {
          f.forget(at.ino, 1);
          return r;
        }
        if (remove && (r = f.rmdir(dir, de.name)) < 0) return fail("rmdir", r);
      } else {
        if (S_ISLNK(at.mode)) {
          if (auto l = f.readlink(at.ino); !l) return fail("readlink", l.err());
        } else if (S_ISREG(at.mode)) {
          if ((r = f.open(at.ino)) < 0) return fail("open", r);
          // Data where the file has some (SEEK_DATA), so sparse files far out stay cheap.
          uint64_t off = 0;
          while (off < at.size) {
            auto d = f.lseek(at.ino, off, SEEK_DATA);
            if (!d) {
              if (d.err() == -ENXIO) break;
              f.release(at.ino);
              return fail("lseek", d.err());
            }
            auto n = f.read(at.ino, *d, buf.size(), buf.data());
            if (!n) {
              f.release(at.ino);
              return fail("read", n.err());
            }
            if (*n == 0) break;
            off = *d + *n;
          }
          f.release(at.ino);
        }
        if (remove && (r = f.unlink(dir, de.name)) < 0) return fail("unlink", r);
      }
      f.forget(at.ino, 1);
    }
    return 0;
  };
  return walk(fs::kRootIno, "", 0);
}

uint64_t ino_of(io::Device& dev, const std::string& path) {
  std::string msg;
  auto f = mount(dev, true, &msg);
  if (!f) return 0;
  fs::Ino cur = fs::kRootIno;
  size_t pos = 1;
  while (cur && pos < path.size()) {
    size_t slash = path.find('/', pos);
    std::string part = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    auto r = f->lookup(cur, part);
    cur = r ? r->ino : 0;
    pos = slash == std::string::npos ? path.size() : slash + 1;
  }
  f->unmount();
  return cur;
}

int read_block(io::Device& dev, uint64_t blk, std::vector<char>* out) {
  mem::AlignedBuffer b(kBlockSize);
  int r = dev.read(blk * kBlockSize, b.data(), kBlockSize);
  if (r < 0) return r;
  out->assign(b.data(), b.data() + kBlockSize);
  return 0;
}

int write_block(io::Device& dev, uint64_t blk, const std::vector<char>& data) {
  mem::AlignedBuffer b(kBlockSize);
  std::memcpy(b.data(), data.data(), kBlockSize);
  int r = dev.write(blk * kBlockSize, b.data(), kBlockSize);
  return r < 0 ? r : dev.flush();
}

int read_super(io::Device& dev, Superblock* sb) {
  std::vector<char> b;
  int r = read_block(dev, 0, &b);
  if (r < 0) return r;
  std::string why;
  return decode_superblock(b.data(), dev.size_bytes() / kBlockSize, sb, &why);
}

int write_super(io::Device& dev, const Superblock& sb) {
  std::vector<char> b(kBlockSize);
  encode_superblock(sb, b.data());
  int r = write_block(dev, sb.backup_block(), b);
  return r < 0 ? r : write_block(dev, 0, b);
}

namespace {
int inode_slot(io::Device& dev, uint64_t ino, uint64_t* blk, size_t* off) {
  Superblock sb;
  int r = read_super(dev, &sb);
  if (r < 0) return r;
  if (ino == 0 || ino > sb.inode_count) return -EINVAL;
  *blk = sb.inode_table_start + (ino - 1) / kInodesPerBlock;
  *off = (ino - 1) % kInodesPerBlock * kInodeSize;
  return 0;
}
}  // namespace

int read_inode(io::Device& dev, uint64_t ino, DiskInode* in) {
  uint64_t blk;
  size_t off;
  std::vector<char> b;
  int r = inode_slot(dev, ino, &blk, &off);
  if (r == 0) r = read_block(dev, blk, &b);
  if (r < 0) return r;
  std::string why;
  return decode_inode(ino, b.data() + off, in, &why);
}

int write_inode(io::Device& dev, uint64_t ino, const DiskInode& in) {
  uint64_t blk;
  size_t off;
  std::vector<char> b;
  int r = inode_slot(dev, ino, &blk, &off);
  if (r == 0) r = read_block(dev, blk, &b);
  if (r < 0) return r;
  encode_inode(ino, in, b.data() + off);
  return write_block(dev, blk, b);
}

int set_bitmap_bit(io::Device& dev, bool inode_bitmap, uint64_t item, bool on) {
  Superblock sb;
  int r = read_super(dev, &sb);
  if (r < 0) return r;
  const uint32_t index = static_cast<uint32_t>(item / kBitsPerBitmapBlock);
  const uint64_t bit = item % kBitsPerBitmapBlock;
  const uint64_t blk = (inode_bitmap ? sb.inode_bitmap_start : sb.block_bitmap_start) + index;
  std::vector<char> b;
  if ((r = read_block(dev, blk, &b)) < 0) return r;
  uint8_t* bits = bitmap_bits(b.data());
  if (on)
    bits[bit / 8] = static_cast<uint8_t>(bits[bit / 8] | (1u << (bit % 8)));
  else
    bits[bit / 8] = static_cast<uint8_t>(bits[bit / 8] & ~(1u << (bit % 8)));
  seal_bitmap_block(b.data(), inode_bitmap ? BitmapKind::kInodes : BitmapKind::kBlocks, index);
  return write_block(dev, blk, b);
}

uint64_t first_data_block(io::Device& dev, uint64_t ino) {
  DiskInode in;
  if (read_inode(dev, ino, &in) < 0 || in.n_inline_extents == 0) return 0;
  return decode_extent(in.inline_data.data()).physical;
}

namespace {
// A BlockStore over the device for editing an existing tree in place (no block allocated:
// the edits below fit in the nodes there are; a freed node is left as it is).
class DeviceStore final : public btree::BlockStore {
 public:
  explicit DeviceStore(io::Device& dev) : dev_(dev), buf_(kBlockSize) {}
  int read_block(uint64_t b, void* out) override {
    int r = dev_.read(b * kBlockSize, buf_.data(), kBlockSize);
    if (r == 0) std::memcpy(out, buf_.data(), kBlockSize);
    return r;
  }
  int write_block(uint64_t b, const void* in) override {
    std::memcpy(buf_.data(), in, kBlockSize);
    return dev_.write(b * kBlockSize, buf_.data(), kBlockSize);
  }
  int alloc_block(uint64_t, uint64_t*) override { return -ENOSPC; }
  void free_block(uint64_t) override {}

 private:
  io::Device& dev_;
  mem::AlignedBuffer buf_;
};

// Replaces the bucket holding `name` in directory dir (entries: the new bucket, empty to
// remove the key) and adds delta to its entry count.
int set_bucket(io::Device& dev, uint64_t dir, std::string_view name, const std::vector<Dirent>& entries,
               int delta) {
  DiskInode d;
  int r = read_inode(dev, dir, &d);
  if (r < 0) return r;
  DeviceStore store(dev);
  btree::BTree tree(store, d.tree_root, tree_tag(kTagDir, dir));
  r = entries.empty() ? tree.remove(name_hash(name)) : tree.insert(name_hash(name), encode_bucket(entries), true);
  if (r < 0) return r;
  d.tree_root = tree.root();
  d.dir_entries = static_cast<uint64_t>(static_cast<int64_t>(d.dir_entries) + delta);
  return write_inode(dev, dir, d);
}
}  // namespace

std::vector<std::string> case_names() {
  return {"bad-magic",      "sb-crc",     "primary-bad",      "bitmap-bit-clear", "leaked-block",
          "free-count",     "inode-crc",  "nlink",            "dirent-free-inode", "dup-block",
          "dir-tree-node",  "extent-tree-node", "xattr-chain", "parent",          "orphan-loop",
          "bitmap-block",   "inode-type-zero", "inode-magic", "dir-count",       "blocks-field",
          "leaked-inode",   "crash-leak",  "dup-xattr",        "root-crc",        "dirent-type",
          "dir-loop"};
}

int apply_case(io::Device& dev, const std::string& name) {
  Superblock sb;
  int r = read_super(dev, &sb);
  if (r < 0) return r;
  const uint64_t last = dev.size_bytes() / kBlockSize - 1;
  std::vector<char> b;
  DiskInode in;
  auto flip = [&](uint64_t blk, size_t off) {
    int rr = read_block(dev, blk, &b);
    if (rr < 0) return rr;
    b[off] = static_cast<char>(b[off] ^ 0x40);
    return write_block(dev, blk, b);
  };
  auto edit_inode = [&](const char* path, auto&& fn) {
    uint64_t ino = ino_of(dev, path);
    if (ino == 0) return -ENOENT;
    int rr = read_inode(dev, ino, &in);
    if (rr < 0) return rr;
    fn(in);
    return write_inode(dev, ino, in);
  };
  if (name == "bad-magic") {  // both superblocks: not a chainfs at all
    if ((r = read_block(dev, 0, &b)) < 0) return r;
    std::memset(b.data(), 0, 4);
    if ((r = write_block(dev, 0, b)) < 0) return r;
    if ((r = read_block(dev, last, &b)) < 0) return r;
    std::memset(b.data(), 0, 4);
    return write_block(dev, last, b);
  }
  if (name == "sb-crc") {  // both superblocks fail their checksum
    if ((r = flip(0, sb_off::kLabel)) < 0) return r;
    return flip(last, sb_off::kLabel);
  }
  if (name == "primary-bad") return flip(0, sb_off::kLabel);
  if (name == "bitmap-bit-clear") {
    uint64_t blk = first_data_block(dev, ino_of(dev, "/small"));
    return blk ? set_bitmap_bit(dev, false, blk, false) : -ENOENT;
  }
  if (name == "leaked-block") {
    // The highest free block below the backup superblock.
    Superblock s = sb;
    std::vector<char> bm;
    for (uint64_t blk = s.block_count - 2; blk >= s.data_start; --blk) {
      if ((r = read_block(dev, s.block_bitmap_start + blk / kBitsPerBitmapBlock, &bm)) < 0) return r;
      uint64_t bit = blk % kBitsPerBitmapBlock;
      if (!(bitmap_bits(bm.data())[bit / 8] >> (bit % 8) & 1)) return set_bitmap_bit(dev, false, blk, true);
    }
    return -ENOSPC;
  }
  if (name == "free-count") {
    sb.free_blocks -= 3;
    return write_super(dev, sb);
  }
  if (name == "inode-crc") {
    uint64_t ino = ino_of(dev, "/small"), blk;
    size_t off;
    if ((r = inode_slot(dev, ino, &blk, &off)) < 0) return r;
    return flip(blk, off + ino_off::kUid);
  }
  if (name == "nlink") return edit_inode("/dir/file", [](DiskInode& d) { d.nlink = 5; });
  if (name == "dirent-free-inode") {
    uint64_t ino = ino_of(dev, "/small");
    return ino ? set_bitmap_bit(dev, true, ino - 1, false) : -ENOENT;
  }
  if (name == "dup-block") {
    uint64_t blk = first_data_block(dev, ino_of(dev, "/small"));
    return edit_inode("/small2", [&](DiskInode& d) {
      Extent e = decode_extent(d.inline_data.data());
      e.physical = blk;
      encode_extent(e, d.inline_data.data());
    });
  }
  if (name == "dir-tree-node") {  // a byte in the middle of the big directory's root node
    uint64_t ino = ino_of(dev, "/bigdir");
    if ((r = read_inode(dev, ino, &in)) < 0) return r;
    return flip(in.tree_root, 2000);
  }
  if (name == "extent-tree-node") {
    uint64_t ino = ino_of(dev, "/sparse");
    if ((r = read_inode(dev, ino, &in)) < 0) return r;
    if (!(in.flags & kInodeExtentTree)) return -EINVAL;
    return flip(in.tree_root, 40);
  }
  if (name == "xattr-chain") {
    uint64_t ino = ino_of(dev, "/xbig");
    if ((r = read_inode(dev, ino, &in)) < 0) return r;
    if (in.xattr_block == 0) return -EINVAL;
    return flip(in.xattr_block, 100);
  }
  if (name == "bitmap-block") return flip(sb.block_bitmap_start, 1000);  // its checksum fails
  if (name == "parent") return edit_inode("/dir/sub", [](DiskInode& d) { d.parent = kRootIno; });
  if (name == "orphan-loop") {  // a linked file on the orphan list, pointing to itself
    uint64_t ino = ino_of(dev, "/small");
    if ((r = edit_inode("/small", [&](DiskInode& d) { d.orphan_next = ino; })) < 0) return r;
    sb.orphan_head = ino;
    return write_super(dev, sb);
  }
  if (name == "inode-type-zero") return edit_inode("/small", [](DiskInode& d) { d.mode = 0644; });
  if (name == "inode-magic") {  // /dir/file (two names) loses its record's magic
    uint64_t ino = ino_of(dev, "/dir/file"), blk;
    size_t off;
    if ((r = inode_slot(dev, ino, &blk, &off)) < 0) return r;
    if ((r = read_block(dev, blk, &b)) < 0) return r;
    std::memset(b.data() + off + ino_off::kMagic, 0, 2);
    return write_block(dev, blk, b);
  }
  if (name == "dir-count") return edit_inode("/bigdir", [](DiskInode& d) { d.dir_entries += 1; });
  if (name == "blocks-field") return edit_inode("/sparse", [](DiskInode& d) { d.blocks += 133; });
  if (name == "leaked-inode" || name == "crash-leak") {
    // leaked-inode: a regular file record in use (bitmap bit set, link count 1, 10 bytes of
    // hole) that no entry points to, as a crash between the two writes leaves it.
    // crash-leak: a leaked block in a filesystem left mounted (not cleanly unmounted).
    if (name == "crash-leak") {
      if ((r = apply_case(dev, "leaked-block")) < 0) return r;
      if ((r = read_super(dev, &sb)) < 0) return r;
      sb.state = kStateMounted;
      return write_super(dev, sb);
    }
    const uint64_t ino = sb.inode_count;  // the last inode: free on these images
    DiskInode d;
    d.mode = S_IFREG | 0600;
    d.nlink = 1;
    d.size = 10;
    d.generation = 77;
    if ((r = write_inode(dev, ino, d)) < 0) return r;
    return set_bitmap_bit(dev, true, ino - 1, true);
  }
  if (name == "dup-xattr") {  // /small2's data block is /xbig's first xattr block
    uint64_t xbig = ino_of(dev, "/xbig");
    if ((r = read_inode(dev, xbig, &in)) < 0) return r;
    const uint64_t blk = in.xattr_block;
    if (blk == 0) return -EINVAL;
    return edit_inode("/small2", [&](DiskInode& d) {
      Extent e = decode_extent(d.inline_data.data());
      e.physical = blk;
      encode_extent(e, d.inline_data.data());
    });
  }
  if (name == "dirent-type") {  // the root's entry for /small says it is a directory
    const uint64_t small = ino_of(dev, "/small");
    return set_bucket(dev, kRootIno, "small", {Dirent{small, DT_DIR, "small"}}, 0);
  }
  if (name == "dir-loop") {
    // /dir loses its entry in the root and gets one in itself, "me": a loop the root does not
    // reach (the link counts are set to match, so only the loop is wrong).
    const uint64_t dir = ino_of(dev, "/dir");
    if ((r = set_bucket(dev, dir, "me", {Dirent{dir, DT_DIR, "me"}}, 1)) < 0) return r;
    if ((r = set_bucket(dev, kRootIno, "dir", {}, -1)) < 0) return r;
    if ((r = edit_inode("/", [](DiskInode& d) { d.nlink -= 1; })) < 0) return r;
    if ((r = read_inode(dev, dir, &in)) < 0) return r;
    in.nlink += 1;
    in.parent = dir;
    return write_inode(dev, dir, in);
  }
  if (name == "root-crc") {  // the root's record fails its checksum: all it held is lost+found's
    uint64_t blk;
    size_t off;
    if ((r = inode_slot(dev, kRootIno, &blk, &off)) < 0) return r;
    return flip(blk, off + ino_off::kUid);
  }
  return -EINVAL;
}

}  // namespace chainfs::fsck::testing
