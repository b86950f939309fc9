#pragma once
// What the fuzz targets share: reading a libFuzzer input as blocks, the sparse image
// encoding the image targets take, and re-sealing the checksums of a mutated image so the
// mutations reach the code behind the checksum tests.
//
// Sparse image (the input of meta_mount_fuzz and fsck_check_fuzz; make_seeds writes them):
//   header, 4 bytes: u16 LE device size in MiB (clamped to [8, 64]), u8 flags, u8 reserved;
//   then records, each: u32 LE block number (taken modulo the device's blocks), then that
//   block's 4096 bytes (a record cut short is zero-padded). Blocks not named read as zero.
// Flags: kFixChecksums re-seals every recognisable metadata block after the records are
// placed; the targets give the other bits their own meaning.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/block_size.h"
#include "io/mem_device.h"

namespace chainfs::fuzz {

inline constexpr uint8_t kFixChecksums = 1;

// Fails the run (an invariant of the code under test is broken): prints what and aborts,
// which libFuzzer reports as a crash with the input that caused it.
[[noreturn]] void invariant_failed(const char* what);
#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) ::chainfs::fuzz::invariant_failed(#cond); \
  } while (0)

// A 4096-byte block from data[off, off+4096), zero-padded past the end of the input.
std::vector<uint8_t> block_from(const uint8_t* data, size_t size, size_t off);

// Stores the CRC-32C of a whole block at offset 4 (every checksummed block but inode
// records, FORMAT.md "Conventions").
void seal_block_crc(uint8_t* block);
// Stores the crc of the 512-byte inode record of inode ino.
void seal_inode_crc(uint8_t* slot, uint64_t ino);

struct SparseImage {
  io::MemDevice* dev = nullptr;
  uint8_t flags = 0;
};
// Builds the device of a sparse image input (re-sealing checksums when flags say so). The
// device is one kept per size for the whole process and zeroed for each input: a fresh
// allocation per run made page faults most of a run's time.
SparseImage decode_sparse(const uint8_t* data, size_t size);
// The sparse encoding of dev's non-zero blocks, with the given flags.
std::string encode_sparse(io::MemDevice& dev, uint8_t flags);
// Re-seals superblocks, bitmaps, B+tree nodes, xattr blocks, journal blocks and inode
// records of dev (those whose magic is in place).
void fix_checksums(io::MemDevice& dev);

}  // namespace chainfs::fuzz
