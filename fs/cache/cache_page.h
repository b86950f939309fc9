#pragma once
// CachePage: one 4 KiB block of one file in the page cache. The buffer is a pool page; the
// page knows its logical block (its key) and the physical block the metadata layer mapped
// it to. Every field is guarded by the owning inode's lock (InodePages::mu).
//
// States: clean, dirty, writeback, and dirty+writeback ("re-dirtied during writeback"): a
// write that lands while the page is being written goes into a fresh copy of the buffer
// (the device may still be reading the old one), and the page stays dirty after the
// completion, so the new content is written by the next writeback.
#include <cstdint>

namespace chainfs::cache {

struct InodePages;

struct CachePage {
  InodePages* owner = nullptr;
  uint64_t lblk = 0;
  uint64_t phys = 0;           // device block number
  char* data = nullptr;        // current content
  char* wb_buf = nullptr;      // the buffer under writeback (== data unless re-dirtied)
  uint32_t wb_left = 0;        // bytes of the in-flight write not completed yet
  int wb_err = 0;              // first error of the in-flight write
  bool dirty = false;
  bool writeback = false;
  bool referenced = false;     // CLOCK bit: set on access, cleared by the reclaim sweep
  bool drop_after_wb = false;  // written back for reclaim: free it when the write completes clean

  bool busy() const { return dirty || writeback; }
};

}  // namespace chainfs::cache
