// The directory-entry bucket decoder on arbitrary bytes (a B+tree value).
#include <cerrno>
#include <string_view>
#include <vector>

#include "fs/format/dirent.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  std::vector<format::Dirent> entries;
  int r = format::decode_bucket(value, &entries);
  FUZZ_CHECK(r == 0 || r == -EUCLEAN);
  if (r == 0) {
    for (const auto& e : entries) {
      FUZZ_CHECK(!e.name.empty() && e.ino != 0);
      FUZZ_CHECK(e.name.find('/') == std::string::npos && e.name.find('\0') == std::string::npos);
      const uint64_t h = format::name_hash(e.name);
      FUZZ_CHECK(h >= format::kFirstNameHash && h < (1ull << 63));
    }
    std::vector<format::Dirent> again;
    FUZZ_CHECK(format::decode_bucket(format::encode_bucket(entries), &again) == 0);
    FUZZ_CHECK(again == entries);
  }
  return 0;
}
