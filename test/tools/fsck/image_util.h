#pragma once
// Test images for fsck: made with the real mkfs and Filesystem API, then damaged at the
// format level with the format's own encoders (so each case breaks exactly one rule and
// every checksum that should be right stays right). Shared by the unit tests and the
// chainfs-mkimage helper that test/images/*/script calls.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fs/format/inode.h"
#include "fs/format/superblock.h"
#include "fs/meta/filesystem.h"
#include "io/device.h"

namespace chainfs::fsck::testing {

// mkfs with default options (inodes 0: the default ratio); 0 or -errno (msg says why).
int make_image(io::Device& dev, std::string* msg, uint64_t inodes = 0);
// Mounts dev (read-write unless read_only); nullptr with *msg on failure.
std::unique_ptr<fs::Filesystem> mount(io::Device& dev, bool read_only, std::string* msg);

// A small tree touching every kind of object, the same on every run:
//   /dir/sub/, /dir/file (3 blocks) with hard link /dir/link, /small (1 block, user xattr),
//   /xbig (8 KiB of xattrs: a chain), /sparse (extent tree), /fast -> short target,
//   /slow -> 300-byte target, /fifo, /chr, /bigdir/ with 600 entries (multi-node tree),
//   /gone (created, written, unlinked). Returns 0 or a negative errno.
int populate_small(fs::Filesystem& fs);
// Many random operations (seeded): creates, writes, truncates, fallocate, punch, links,
// renames across directories, xattrs up to chains, unlinks and rmdirs, symlinks.
int populate_random(fs::Filesystem& fs, uint64_t seed, int ops);

// Visits everything reachable from the root: readdir of every directory, lookup, getattr,
// listxattr and getxattr of every entry, readlink of symlinks, the data of regular files;
// with remove also unlinks and rmdirs all of it (leaves first). 0, or the first error with
// *msg naming the path and the operation.
int walk_all(fs::Filesystem& f, std::string* msg, bool remove);

// Inode number of an absolute path ("/dir/file"), through a read-only mount; 0 if absent.
uint64_t ino_of(io::Device& dev, const std::string& path);

// Format-level access for damaging images.
int read_super(io::Device& dev, format::Superblock* sb);              // the primary
int write_super(io::Device& dev, const format::Superblock& sb);       // primary and backup
int read_inode(io::Device& dev, uint64_t ino, format::DiskInode* in);
int write_inode(io::Device& dev, uint64_t ino, const format::DiskInode& in);  // valid crc
int read_block(io::Device& dev, uint64_t blk, std::vector<char>* out);
int write_block(io::Device& dev, uint64_t blk, const std::vector<char>& data);
// Sets or clears bit `item` of the block or inode bitmap (inode k is item k-1), re-sealed.
int set_bitmap_bit(io::Device& dev, bool inode_bitmap, uint64_t item, bool on);
// First block of the first extent of an inode (inline extents only), 0 when none.
uint64_t first_data_block(io::Device& dev, uint64_t ino);

// Names of the corruptions apply_case() knows (each on an image from populate_small).
std::vector<std::string> case_names();
// Applies a named corruption; 0, or -EINVAL for an unknown name, or -errno.
int apply_case(io::Device& dev, const std::string& name);

}  // namespace chainfs::fsck::testing
