// mkfs.chainfs: writes an empty chainfs (format v1) on a block device, an image file or an
// NBD export (nbd://HOST:PORT/EXPORT, nbd+unix:///EXPORT?socket=PATH).
//
//   mkfs.chainfs [-L label] [-N inodes] [-f] [-q] [--] DEVICE
//
// Refuses a device that holds a filesystem or partition table (libblkid probe, plus
// chainfs's own magic, which blkid does not know; on NBD, the probe sees the export's first
// MiB) unless -f, and a device that is in use (exclusive open; NBD has none). Never prompts, so `yes | mkfs.chainfs` from fstests is harmless.
// Progress is drawn only on a terminal and without -q. Exit 0 on success, 1 otherwise.
#include <blkid/blkid.h>
#include <fcntl.h>
#include <sys/mman.h>
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
#include "io/named_device.h"
#include "mem/aligned_buffer.h"
#include "tools/common/cli.h"
#include "tools/common/progress.h"

namespace {

constexpr const char* kProg = "mkfs.chainfs";

// What the probe pr finds ("a filesystem (ext4)", "a partition table (gpt)", ...) or "".
std::string probe_signature(blkid_probe pr) {
  std::string found;
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
  return found;
}

bool has_chainfs_magic(const unsigned char* b) { return chainfs::format::load_le32(b) == chainfs::format::kSuperMagic; }

// What the device already holds ("ext4 filesystem", "gpt partition table", ...) or "".
std::string existing_signature(const std::string& path) {
  std::string found;
  if (blkid_probe pr = blkid_new_probe_from_filename(path.c_str())) {
    found = probe_signature(pr);
    blkid_free_probe(pr);
  }
  if (!found.empty()) return found;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    unsigned char b[4];
    if (::pread(fd, b, 4, 0) == 4 && has_chainfs_magic(b)) found = "a filesystem (chainfs)";
    ::close(fd);
  }
  return found;
}

// The same for a device libblkid cannot open (an NBD export): the probe runs on a copy of
// its first MiB, which holds the superblocks and partition tables blkid looks for first.
std::string existing_signature(chainfs::io::Device& dev) {
  size_t n = static_cast<size_t>(std::min<uint64_t>(dev.size_bytes(), 1u << 20)) / 4096 * 4096;
  if (n == 0) return "";
  chainfs::mem::AlignedBuffer head(n);
  if (dev.read(0, head.data(), n) < 0) return "";
  if (has_chainfs_magic(reinterpret_cast<const unsigned char*>(head.data()))) return "a filesystem (chainfs)";
  std::string found;
  int fd = memfd_create("mkfs-probe", MFD_CLOEXEC);
  if (fd < 0) return "";
  if (::write(fd, head.data(), n) == static_cast<ssize_t>(n)) {
    if (blkid_probe pr = blkid_new_probe()) {
      if (blkid_probe_set_device(pr, fd, 0, static_cast<blkid_loff_t>(n)) == 0) found = probe_signature(pr);
      blkid_free_probe(pr);
    }
  }
  ::close(fd);
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  using chainfs::cli::error_line;
  CLI::App app{"Create a chainfs filesystem (on-disk format v1) on DEVICE.", kProg};
  std::string device, label;
  bool force = false, quiet = false;
  uint64_t inodes = 0;
  app.add_option("device", device, "block device, image file or NBD URI")->required();
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
  const bool nbd = chainfs::io::is_nbd_uri(device);
  if (!nbd && ::access(device.c_str(), F_OK) != 0) {
    error_line(kProg, fmt::format("{}: {}", device, std::strerror(errno)));
    return chainfs::cli::kMkfsFailure;
  }
  if (!force && !nbd) {
    std::string sig = existing_signature(device);
    if (!sig.empty()) {
      error_line(kProg, fmt::format("{} contains {}; use -f to overwrite it", device, sig));
      return chainfs::cli::kMkfsFailure;
    }
  }
  chainfs::io::OpenOptions oo;
  oo.exclusive = true;
  std::unique_ptr<chainfs::io::Device> dev;
  std::string detail;
  if (int r = chainfs::io::open_named_device(device, oo, {}, &dev, &detail); r < 0) {
    error_line(kProg, chainfs::io::open_error_text(device, r, detail));
    return chainfs::cli::kMkfsFailure;
  }
  if (!force && nbd) {
    std::string sig = existing_signature(*dev);
    if (!sig.empty()) {
      error_line(kProg, fmt::format("{} contains {}; use -f to overwrite it", device, sig));
      return chainfs::cli::kMkfsFailure;
    }
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
