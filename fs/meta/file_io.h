#pragma once
// FileIo: one regular file's data, mapped through its extent tree. Reads and writes go
// through the volume's page cache (which reads partial edge blocks and writes dirty pages
// back); this unit maps logical to physical blocks, allocates blocks for holes, and
// truncates, preallocates, punches and seeks. The caller holds the inode's lock (shared for
// read/seek, exclusive otherwise) and updates timestamps.
#include <cstddef>
#include <cstdint>

#include "fs/format/inode.h"
#include "fs/meta/volume.h"
#include "base/result.h"

namespace chainfs::fs {

class FileIo {
 public:
  FileIo(Volume& v, uint64_t ino, format::DiskInode& in) : v_(v), ino_(ino), in_(in) {}

  // Reads [off, off+len) clipped to the file size; holes and unwritten extents read as zeros.
  Result<size_t> read(uint64_t off, size_t len, char* buf);
  // Writes and extends the size; short only when space ran out after some bytes.
  Result<size_t> write(uint64_t off, const char* buf, size_t len);
  // Blocks a write of [off, off+len) would allocate (the holes in the range; unwritten
  // extents need none). Cheap when the range is small.
  Result<uint64_t> blocks_needed(uint64_t off, uint64_t len);
  // Sets the size: frees blocks past the end, zeroes the tail of a partial last block.
  int truncate(uint64_t size);
  // Allocates unwritten extents over the holes of [off, off+len) (fallocate mode 0 and
  // KEEP_SIZE; the caller extends the size).
  int allocate(uint64_t off, uint64_t len);
  // Frees whole blocks in [off, off+len) and zeroes partial ones (PUNCH_HOLE).
  int punch(uint64_t off, uint64_t len);
  // ZERO_RANGE: punch, then allocate unwritten blocks over the whole blocks.
  int zero_range(uint64_t off, uint64_t len);
  // SEEK_DATA / SEEK_HOLE (unwritten extents count as holes, as ext4 does for zeroes).
  Result<uint64_t> seek(uint64_t off, int whence);

 private:
  // Writes zeros over [off, off+len) of blocks that are mapped and written.
  int zero_partial(uint64_t off, uint64_t len);
  int write_run(uint64_t phys, uint64_t lblk, uint64_t nblocks, uint64_t off, const char* buf,
                size_t len, bool fresh);

  Volume& v_;
  uint64_t ino_;
  format::DiskInode& in_;
};

}  // namespace chainfs::fs
