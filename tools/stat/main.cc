// chainfs-stat PATH: shows the statistics file a chainfs mount writes (-o stats=PATH).
//   --json    passes the document through unchanged
//   --watch   redraws it every second until interrupted
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "tools/common/cli.h"
#include "tools/stat/stat_format.h"

namespace {

constexpr const char* kProg = "chainfs-stat";

// 0 with *text and *doc, or 1 with *error set.
int load(const std::string& path, std::string* text, nlohmann::json* doc, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
    return 1;
  }
  text->clear();
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text->append(buf, static_cast<size_t>(n));
  int saved = errno;
  ::close(fd);
  if (n < 0) {
    *error = fmt::format("cannot read {}: {}", path, std::strerror(saved));
    return 1;
  }
  *doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc->is_discarded()) {
    *error = fmt::format("{} is not a chainfs statistics file (invalid JSON)", path);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Show the statistics of a chainfs mount (the file given with -o stats=PATH)", kProg};
  std::string path;
  bool json = false, watch = false, version = false;
  double interval = 1.0;
  app.add_option("PATH", path, "statistics file");
  app.add_flag("--json", json, "print the JSON document as it is");
  app.add_flag("-w,--watch", watch, "redraw every interval until interrupted");
  app.add_option("-n,--interval", interval, "seconds between redraws with --watch (default 1)")->check(CLI::PositiveNumber);
  app.add_flag("-V,--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? chainfs::cli::kExitOk : chainfs::cli::kExitUsage;
  }
  if (version) {
    std::fputs(chainfs::cli::version_text(kProg).c_str(), stdout);
    return 0;
  }
  if (path.empty()) {
    chainfs::cli::error_line(kProg, "missing PATH (the file of -o stats=PATH); see --help");
    return chainfs::cli::kExitUsage;
  }
  const bool tty = isatty(STDOUT_FILENO);
  for (;;) {
    std::string text, error;
    nlohmann::json doc;
    int r = load(path, &text, &doc, &error);
    if (watch && tty) std::fputs("\x1b[H\x1b[2J", stdout);
    if (r != 0) {
      chainfs::cli::error_line(kProg, error);
      if (!watch) return 1;
    } else if (json) {
      std::fputs(text.c_str(), stdout);
    } else {
      std::fputs(chainfs::stat::format_document(doc).c_str(), stdout);
    }
    if (!watch) return 0;
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
  }
}
