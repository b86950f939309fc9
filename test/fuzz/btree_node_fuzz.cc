// B+tree node verification and its accessors on arbitrary bytes.
// Input: u8 flags (kFixChecksums: re-seal the crc; bit 1: take the tag from the block,
// else 0.. the input's tag), u8 wanted level (255: any), u64 LE tag, u64 LE range low,
// u64 LE range high, u64 LE a key to search, then the block.
#include <cerrno>
#include <string>
#include <vector>

#include "fs/btree/node.h"
#include "fs/format/endian.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;
namespace node = chainfs::btree::node;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHead = 34;
  if (size < kHead) return -1;
  const int want_level = data[1] == 255 ? -1 : data[1];
  auto b = fuzz::block_from(data, size, kHead);
  const uint64_t tag = (data[0] & 2) ? format::load_le64(b.data() + node::kOffTag) : format::load_le64(data + 2);
  const node::Range r{format::load_le64(data + 10), format::load_le64(data + 18)};
  const uint64_t k = format::load_le64(data + 26);
  if (data[0] & fuzz::kFixChecksums) fuzz::seal_block_crc(b.data());
  std::string why;
  int v = node::verify(b.data(), tag, want_level, r, &why);
  FUZZ_CHECK(v == 0 || v == -EUCLEAN);
  FUZZ_CHECK(v == 0 || !why.empty());
  if (v != 0) return 0;
  // What the readers do with a verified node: nothing may read outside the block.
  const uint8_t* p = b.data();
  const unsigned n = node::count(p);
  std::vector<uint8_t> again(chainfs::kBlockSize);
  if (node::level(p) == 0) {
    std::vector<node::LeafEntry> e;
    for (unsigned i = 0; i < n; ++i) {
      const uint64_t key = node::leaf_key(p, i);
      FUZZ_CHECK(key >= r.lo && key <= r.hi);
      e.push_back({key, node::leaf_value(p, i)});
    }
    unsigned lb = node::leaf_lower_bound(p, k);
    FUZZ_CHECK(lb <= n);
    FUZZ_CHECK(lb == n || node::leaf_key(p, lb) >= k);
    FUZZ_CHECK(lb == 0 || node::leaf_key(p, lb - 1) < k);
    // Re-encoding the entries gives a node that verifies and holds the same entries.
    size_t bytes = 0;
    for (const auto& x : e) bytes += node::leaf_entry_bytes(x.value.size());
    if (bytes <= node::kSpace) {
      node::encode_leaf(again.data(), tag, e.data(), e.size());
      FUZZ_CHECK(node::verify(again.data(), tag, 0, r, &why) == 0);
      FUZZ_CHECK(node::count(again.data()) == n);
      for (unsigned i = 0; i < n; ++i)
        FUZZ_CHECK(node::leaf_key(again.data(), i) == e[i].key && node::leaf_value(again.data(), i) == e[i].value);
    }
  } else {
    FUZZ_CHECK(n >= 1);
    std::vector<node::ChildEntry> e;
    for (unsigned i = 0; i < n; ++i) {
      FUZZ_CHECK(node::internal_child(p, i) != 0);
      node::Range cr = node::child_range(p, i, r);
      FUZZ_CHECK(cr.lo <= cr.hi && cr.lo >= r.lo && cr.hi <= r.hi);
      e.push_back({node::internal_key(p, i), node::internal_child(p, i)});
    }
    unsigned c = node::internal_find(p, k);
    FUZZ_CHECK(c < n);
    node::encode_internal(again.data(), tag, node::level(p), e.data(), e.size());
    FUZZ_CHECK(node::verify(again.data(), tag, node::level(p), r, &why) == 0);
  }
  return 0;
}
