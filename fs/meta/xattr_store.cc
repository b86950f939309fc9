#include "fs/meta/xattr_store.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "mem/aligned_buffer.h"

namespace chainfs::fs {

using format::kXattrPayload;

int XattrStore::load(format::XattrMap* out) {
  std::string blob;
  if (in_.xattr_block == 0) {
    blob.assign(reinterpret_cast<const char*>(in_.inline_xattr.data()), in_.xattr_inline_len);
  } else {
    mem::AlignedBuffer buf(kBlockSize);
    uint64_t blk = in_.xattr_block;
    for (uint32_t seq = 0; blk; ++seq) {
      if (blk < v_.data_start() || blk >= v_.block_count() || blob.size() > format::kXattrBlobMax) {
        log_corrupt(ino_, blk, "xattr chain out of range");
        return -EUCLEAN;
      }
      int r = v_.cache.read(blk, buf.data());
      if (r < 0) return r;
      format::XattrBlockHeader h;
      if (format::check_xattr_block(buf.data(), ino_, seq, &h) < 0) {
        log_corrupt(ino_, blk, "xattr block fails its checks");
        return -EUCLEAN;
      }
      blob.append(buf.data() + format::xb_off::kPayload, h.len);
      blk = h.next;
    }
  }
  if (format::decode_xattrs(blob, out) < 0) {
    log_corrupt(ino_, in_.xattr_block, "bad xattr records");
    return -EUCLEAN;
  }
  return 0;
}

void XattrStore::free_chain() {
  uint64_t blk = in_.xattr_block;
  mem::AlignedBuffer buf(kBlockSize);
  for (uint32_t seq = 0; blk && seq < 1024; ++seq) {
    if (blk < v_.data_start() || blk >= v_.block_count()) break;
    format::XattrBlockHeader h;
    bool ok = v_.cache.read(blk, buf.data()) == 0 && format::check_xattr_block(buf.data(), ino_, seq, &h) == 0;
    v_.cache.forget(blk);
    v_.balloc.free(blk, 1);
    if (in_.blocks) --in_.blocks;
    if (!ok) break;  // a broken chain leaks its tail rather than freeing foreign blocks
    blk = h.next;
  }
  in_.xattr_block = 0;
}

int XattrStore::store(const format::XattrMap& m) {
  std::string blob = format::encode_xattrs(m);
  if (blob.size() > format::kXattrBlobMax) return -ENOSPC;
  if (blob.size() <= format::kInlineXattrSize) {
    free_chain();
    in_.inline_xattr.fill(0);
    std::memcpy(in_.inline_xattr.data(), blob.data(), blob.size());
    in_.xattr_inline_len = static_cast<uint16_t>(blob.size());
    return 0;
  }
  size_t nblocks = (blob.size() + kXattrPayload - 1) / kXattrPayload;
  std::vector<uint64_t> blocks;
  uint64_t goal = v_.data_start();
  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t b = 0;
    uint32_t got = 0;
    int r = v_.balloc.alloc(goal, 1, true, &b, &got);
    if (r < 0) {
      for (uint64_t x : blocks) v_.balloc.free(x, 1);
      return r;
    }
    blocks.push_back(b);
    goal = b + 1;
  }
  free_chain();
  mem::AlignedBuffer buf(kBlockSize);
  for (size_t i = 0; i < nblocks; ++i) {
    std::memset(buf.data(), 0, kBlockSize);
    size_t part = std::min(kXattrPayload, blob.size() - i * kXattrPayload);
    std::memcpy(buf.data() + format::xb_off::kPayload, blob.data() + i * kXattrPayload, part);
    format::XattrBlockHeader h{ino_, i + 1 < nblocks ? blocks[i + 1] : 0, static_cast<uint32_t>(part),
                               static_cast<uint32_t>(i)};
    format::seal_xattr_block(h, buf.data());
    v_.cache.write(blocks[i], buf.data());
  }
  in_.xattr_block = blocks[0];
  in_.blocks += nblocks;
  in_.inline_xattr.fill(0);
  in_.xattr_inline_len = 0;
  return 0;
}

}  // namespace chainfs::fs
