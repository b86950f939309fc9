// mkfs.chainfs: writes an empty chainfs (format v1) on a block device or image file.
//
//   mkfs.chainfs [-L label] [-N inodes] [-f] [-q] [--] DEVICE
//
// Refuses a device that holds a filesystem or partition table (libblkid probe, plus
// chainfs's own magic, which blkid does not know) unless -f, and a device that is in use
// (exclusive open). Never prompts, so `yes | mkfs.chainfs` from fstests is harmless.
// Progress is drawn only on a terminal and without -q. Exit 0 on success, 1 otherwise.
#include <blkid/blkid.h>
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "fs/format/endian.h"
#include "fs/format/layout.h"
#include "fs/meta/mkfs.h"
#include "io/sync_device.h"
#include "tools/common/cli.h"
#include "tools/common/progress.h"

namespace {

constexpr const char* kProg = "mkfs.chainfs";

// What the device already holds ("ext4 filesystem", "gpt partition table", ...) or "".
std::string existing_signature(const std::string& path) {
  std::string found;
  if (blkid_probe pr = blkid_new_probe_from_filename(path.c_str())) {
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(pr, 1);
    if (blkid_do_safeprobe(pr) == 0) {
      const char* v = nullptr;
      if (blkid_probe_lookup_value(pr, "TYPE", &v, nullptr) == 0 && v)
        found = fmt::format("a filesystem ({})", v);
      else if (blkid_probe_lookup_value(pr, "PTTYPE", &v, nullptr) == 0 && v)
        found = fmt::format("a partition table ({})", v);
      else
        found = "a filesystem signature";
    }
    blkid_free_probe(pr);
  }
  if (!found.empty()) return found;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    unsigned char b[4];
    if (::pread(fd, b, 4, 0) == 4 && chainfs::format::load_le32(b) == chainfs::format::kSuperMagic)
      found = "a filesystem (chainfs)";
    ::close(fd);
  }
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  using chainfs::cli::error_line;
  CLI::App app{"Create a chainfs filesystem (on-disk format v1) on DEVICE.", kProg};
  std::string device, label;
  bool force = false, quiet = false;
  uint64_t inodes = 0;
  app.add_option("device", device, "block device or image file")->required();
  app.add_option("-L,--label", label, "volume label (at most 64 bytes)");
  app.add_option("-N,--inodes", inodes, "number of inodes (default: one per 16 KiB)");
  app.add_flag("-f,--force", force, "overwrite an existing filesystem or partition table");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors");
  app.set_version_flag("-V,--version", chainfs::cli::version_text(kProg));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion&) {
    std::fputs(chainfs::cli::version_text(kProg).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    error_line(kProg, fmt::format("{} (try --help)", e.what()));
    return chainfs::cli::kMkfsFailure;
  }
  if (label.size() > 64) {
    error_line(kProg, "label longer than 64 bytes");
    return chainfs::cli::kMkfsFailure;
  }
  if (::access(device.c_str(), F_OK) != 0) {
    error_line(kProg, fmt::format("{}: {}", device, std::strerror(errno)));
    return chainfs::cli::kMkfsFailure;
  }
  if (!force) {
    std::string sig = existing_signature(device);
    if (!sig.empty()) {
      error_line(kProg, fmt::format("{} contains {}; use -f to overwrite it", device, sig));
      return chainfs::cli::kMkfsFailure;
    }
  }
  chainfs::io::OpenOptions oo;
  oo.exclusive = true;
  std::unique_ptr<chainfs::io::SyncDevice> dev;
  if (int r = chainfs::io::SyncDevice::open(device, oo, &dev); r < 0) {
    error_line(kProg, r == -EBUSY ? fmt::format("{} is in use (mounted or opened exclusively)", device)
                                  : fmt::format("cannot open {}: {}", device, std::strerror(-r)));
    return chainfs::cli::kMkfsFailure;
  }
  chainfs::fs::MkfsOptions mo;
  mo.label = label;
  mo.inodes = inodes;
  std::unique_ptr<chainfs::cli::Progress> progress;
  mo.progress = [&](uint64_t done, uint64_t total) {
    if (!progress) progress = std::make_unique<chainfs::cli::Progress>("mkfs.chainfs", total, quiet);
    progress->update(done);
  };
  std::string msg;
  int r = chainfs::fs::make_filesystem(*dev, mo, &msg);
  if (progress) progress->finish();
  if (r < 0) {
    error_line(kProg, fmt::format("{}: {}", device, msg));
    return chainfs::cli::kMkfsFailure;
  }
  if (!quiet)
    std::printf("%s: chainfs (format v1) created on %s: %llu MiB%s%s\n", kProg, device.c_str(),
                static_cast<unsigned long long>(dev->size_bytes() >> 20), label.empty() ? "" : ", label ",
                label.c_str());
  return 0;
}
