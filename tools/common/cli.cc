#include "tools/common/cli.h"

#include <fmt/core.h>

#include <cstdio>

#include "chainfs/version.h"

namespace chainfs::cli {

std::string version_text(std::string_view program) {
  return fmt::format("{} (chainfs) {}\non-disk format version {}\n", program, kVersion, kFormatVersion);
}

void error_line(std::string_view program, std::string_view message) {
  // One write, so lines from parallel processes do not interleave.
  std::string line = fmt::format("{}: {}\n", program, message);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace chainfs::cli
