// Crash consistency of the real daemon (tools/crashcheck):
//  * the daemon records its device writes (CHAINFS_RECORD_LOG, through io::RecordingDevice)
//    while the seeded workload runs with system calls on the mount; chainfs-crashcheck
//    replays the log's crash states against the record;
//  * kill -9 of the daemon in the middle of the workload, round after round (each on a fresh
//    filesystem): umount -l, fsck -n, remount, everything made durable is there, and after a
//    clean unmount fsck -n again. CHAINFS_CRASH_ROUNDS sets the number of rounds (10 by
//    default; README of tools/crashcheck for the long run).
// Both fail on chainfs without a metadata journal.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "test/lib/mount.h"
#include "test/lib/subprocess.h"
#include "test/lib/temp.h"
#include "io/recording_device.h"
#include "tools/crashcheck/posix_access.h"
#include "tools/crashcheck/verify.h"
#include "tools/crashcheck/workload.h"

using namespace chainfs;
using namespace chainfs::crashcheck;
using chainfs::test::Mount;
using chainfs::test::run;
using chainfs::test::TempDir;
using chainfs::test::TempImage;

namespace {

void mkfs(const std::string& img) {
  auto r = run({MKFS_BIN, "-q", "-f", img});
  REQUIRE_MESSAGE(r.status == 0, r.err);
}

std::string fsck_n(const std::string& img, int* status) {
  auto r = run({FSCK_BIN, "-n", img}, 300);
  *status = r.status;
  return r.out + r.err;
}

void fsync_dir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(fsync(fd) == 0);
  close(fd);
}

// Sets an environment variable for the daemons started in this scope.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& v) : name(std::move(n)) { setenv(name.c_str(), v.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("crash: the daemon's write log of a system-call workload, replayed: every state fsck-clean, nothing durable lost") {
  for (std::string ws : {"chain", "sync"}) {
    CAPTURE(ws);
    TempImage img(64ull << 20), start(0), log(0), rec_file(0);
    TempDir mnt;
    mkfs(img.path());
    REQUIRE(run({"cp", "--sparse=always", img.path(), start.path()}).status == 0);
    DurabilityRecord rec;
    rec.pos_unit = "bytes";
    std::string marker(65536, '\0');
    for (size_t i = 0; i < marker.size(); ++i) marker[i] = static_cast<char>((i * 2654435761u) >> 13);
    {
      std::unique_ptr<Mount> m;
      {
        ScopedEnv env("CHAINFS_RECORD_LOG", log.path());
        m = std::make_unique<Mount>(CHAINFS_BIN, img.path(), mnt.path(), "write_strategy=" + ws);
      }
      // A file outside the workload's tree, so the log can be searched for its data.
      {
        int fd = open((mnt.path() + "/marker").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        CHECK(write(fd, marker.data(), marker.size()) == static_cast<ssize_t>(marker.size()));
        CHECK(fsync(fd) == 0);
        close(fd);
      }
      // The workload works in w/, so the marker is not one of its directory's names.
      REQUIRE(mkdir((mnt.path() + "/w").c_str(), 0755) == 0);
      fsync_dir(mnt.path());
      rec.base = "w";
      PosixTarget t(mnt.path() + "/w", log.path());
      WorkloadOptions wo;
      wo.seed = 21;
      wo.ops = 200;
      wo.sync_is_durable = false;
      REQUIRE_MESSAGE(run_workload(t, wo, &rec) == 0, rec.stopped);
      REQUIRE(unlink((mnt.path() + "/marker").c_str()) == 0);
      REQUIRE(m->unmount());
    }
    REQUIRE(save_record(rec, rec_file.path()) == 0);

    // The log holds the metadata and the file data (the page cache's bios for chain).
    io::WriteLogFile lf;
    std::string msg;
    REQUIRE_MESSAGE(io::read_write_log(log.path(), &lf, &msg) == 0, msg);
    CHECK_FALSE(lf.torn_tail);
    size_t flushes = 0, marker_blocks = 0;
    for (const auto& e : lf.entries) {
      flushes += e.type == io::LogEntry::kFlush;
      for (size_t off = 0; off + 4096 <= e.data.size(); off += 4096)
        if (e.data.compare(off, 4096, marker, 4096, 4096) == 0) ++marker_blocks;
    }
    CHECK(flushes > 10);
    CHECK(marker_blocks >= 1);  // block 1 of the marker file reached the device through the log

    auto r = run({CRASHCHECK_BIN, "replay", "--image", start.path(), "--log", log.path(), "--record", rec_file.path(),
                  "--seed", "1", "--seed", "2", "--seed", "3", "--states", "700", "--list", "6", "-q"},
                 600);
    MESSAGE(r.out << r.err);
    CHECK(r.out.find("crash states:") != std::string::npos);
    CHECK(r.status == 0);
  }
}

TEST_CASE("crash: kill -9 of the daemon during the workload, round after round: fsck -n clean, durable data kept") {
  const char* env = std::getenv("CHAINFS_CRASH_ROUNDS");
  const int rounds = env && *env ? std::atoi(env) : 10;
  TempImage img(128ull << 20);
  TempDir mnt;
  std::mt19937 rng(4242);
  int fsck_after_kill = 0, fsck_after_remount = 0, rounds_losing = 0, refused = 0;
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    // Each round on a fresh filesystem: the rounds are independent trials.
    mkfs(img.path());
    auto m = std::make_unique<Mount>(CHAINFS_BIN, img.path(), mnt.path());
    DurabilityRecord rec;
    std::thread worker([&] {
      PosixTarget t(mnt.path(), "");
      WorkloadOptions wo;
      wo.seed = 1000 + static_cast<uint64_t>(round);
      wo.ops = 1u << 30;  // until the daemon dies
      wo.sync_is_durable = false;
      run_workload(t, wo, &rec);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    auto pids = test::daemons_for(mnt.path());
    REQUIRE(pids.size() == 1);
    REQUIRE(kill(pids[0], SIGKILL) == 0);
    worker.join();
    CHECK_MESSAGE(!rec.stopped.empty(), "the workload ran to its end before the kill");
    while (kill(pids[0], 0) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    umount2(mnt.path().c_str(), MNT_DETACH);
    m->disown();

    int status = 0;
    std::string out = fsck_n(img.path(), &status);
    if (status != 0) {
      ++fsck_after_kill;
      MESSAGE("fsck -n after the kill (round " << round << ", " << rec.ops.size() << " operations, status " << status
                                               << "):\n" << out);
    }
    try {
      m = std::make_unique<Mount>(CHAINFS_BIN, img.path(), mnt.path());
    } catch (const std::exception& e) {
      ++refused;
      MESSAGE("remount after the kill refused (round " << round << "): " << e.what());
      continue;
    }
    PosixView view(mnt.path());
    CheckCounts counts;
    auto fails = Verifier(rec).check(view, kNoCut, &counts);
    for (const auto& f : fails) MESSAGE("round " << round << ": " << f.text);
    rounds_losing += !fails.empty();
    // Recovered and cleanly unmounted: consistent.
    CHECK(m->unmount());
    out = fsck_n(img.path(), &status);
    if (status != 0) {
      ++fsck_after_remount;
      MESSAGE("fsck -n after remount + unmount (round " << round << ", status " << status << "):\n" << out);
    }
  }
  MESSAGE(rounds << " kill rounds: fsck -n unclean after the kill " << fsck_after_kill << ", after remount + unmount "
                 << fsck_after_remount << "; remount refused " << refused << "; rounds losing durable data "
                 << rounds_losing);
  CHECK(fsck_after_kill == 0);
  CHECK(fsck_after_remount == 0);
  CHECK(refused == 0);
  CHECK(rounds_losing == 0);
}
