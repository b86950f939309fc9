// The unit-level crash run: the seeded workload over fs::Filesystem on a memory device
// through the recording device, then the crash states of its log replayed (replay.h).
// The last case is the crash-consistency claim itself: every state fsck-clean after
// mount + unmount, nothing made durable lost. chainfs without a metadata journal fails it.
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "tools/crashcheck/memory_run.h"
#include "tools/crashcheck/replay.h"

using namespace chainfs;
using namespace chainfs::crashcheck;

namespace {

MemoryRun record_run(uint64_t seed, uint32_t ops = 200) {
  spdlog::set_level(spdlog::level::off);  // crash states make the mount log what it refuses
  MemoryRunOptions o;
  o.workload.seed = seed;
  o.workload.ops = ops;
  MemoryRun r;
  std::string msg;
  REQUIRE_MESSAGE(record_memory_run(o, &r, &msg) == 0, msg);
  REQUIRE_MESSAGE(r.workload_status == 0, r.record.stopped);
  return r;
}

ReplaySummary replay_run(const MemoryRun& r, const DurabilityRecord& rec, ReplayOptions o) {
  ReplaySummary s;
  std::string msg;
  REQUIRE_MESSAGE(replay(r.start_image, r.log, rec, o, &s, &msg) == 0, msg);
  return s;
}

ReplayOptions opts(uint64_t seed, uint64_t states, int64_t only = -1) {
  ReplayOptions o;
  o.seed = seed;
  o.states = states;
  o.only_index = only;
  return o;
}

// The state as of the log's last flush (after the clean unmount): with states=1 every
// window has only its no-subset state, so the last window's is the last index.
int64_t last_flush_state(const MemoryRun& r) {
  ReplaySummary all = replay_run(r, r.record, opts(1, 1));
  REQUIRE(all.states == all.windows);
  return static_cast<int64_t>(all.windows - 1);
}

}  // namespace

TEST_CASE("crash workload: the same seed gives the same operations and log, another seed others") {
  MemoryRun a = record_run(5, 80), b = record_run(5, 80), c = record_run(6, 80);
  CHECK(a.record.ops == b.record.ops);
  CHECK(a.record.events.size() == b.record.events.size());
  REQUIRE(a.log.size() == b.log.size());
  size_t same = 0;
  for (size_t i = 0; i < a.log.size(); ++i) same += a.log[i].offset == b.log[i].offset && a.log[i].type == b.log[i].type;
  CHECK(same == a.log.size());
  CHECK(a.record.ops != c.record.ops);
}

TEST_CASE("crash replay: the state as of the last flush is clean and shows everything made durable") {
  MemoryRun r = record_run(11);
  ReplaySummary s = replay_run(r, r.record, opts(1, 1, last_flush_state(r)));
  INFO(s.text());
  CHECK(s.states == 1);
  CHECK(s.fsck_clean == 1);
  CHECK(s.failed_states == 0);
  size_t names = 0;
  for (const Slot& sl : r.record.slots) names += sl.kind == SlotKind::kName;
  CHECK(s.checks > names);  // every name (synced at the end) and some contents were checked
}

TEST_CASE("crash replay: the checks read the real files (a record that lies about them fails)") {
  MemoryRun r = record_run(12);
  int64_t last = last_flush_state(r);
  SUBCASE("contents") {
    DurabilityRecord bad = r.record;
    for (Event& e : bad.events)
      if (e.kind == Event::kSet && bad.slots[e.slot].kind == SlotKind::kContent) e.value = content_value("not it");
    ReplaySummary s = replay_run(r, bad, opts(1, 1, last));
    INFO(s.text());
    CHECK(s.contents_wrong > 0);
    CHECK(s.failed_states == 1);
  }
  SUBCASE("names") {
    DurabilityRecord bad = r.record;
    for (ModelInode& m : bad.inodes) m.ino += 1000;
    ReplaySummary s = replay_run(r, bad, opts(1, 1, last));
    INFO(s.text());
    CHECK(s.names_wrong > 0);
  }
}

TEST_CASE("crash replay: a failing state is rebuilt alone from seed and index, and its image written out") {
  MemoryRun r = record_run(13, 120);
  DurabilityRecord bad = r.record;  // makes every state after the first sync fail the same way
  for (ModelInode& m : bad.inodes) m.ino += 1000;
  ReplaySummary all = replay_run(r, bad, opts(7, 150));
  REQUIRE(all.failures.size() > 10);
  const StateFailure& f = all.failures[all.failures.size() / 2];
  char tmpl[] = "/var/tmp/chainfs-crashstate-XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  ReplayOptions o = opts(7, 150, static_cast<int64_t>(f.index));
  o.write_image = tmpl;
  ReplaySummary one = replay_run(r, bad, o);
  REQUIRE(one.failures.size() == 1);
  CHECK(one.failures[0].index == f.index);
  CHECK(one.failures[0].writes_kept == f.writes_kept);
  CHECK(one.failures[0].what == f.what);
  struct stat st;
  REQUIRE(stat(tmpl, &st) == 0);
  CHECK(uint64_t(st.st_size) == r.start_image.size());
  unlink(tmpl);
  // Another seed picks other subsets.
  ReplaySummary other = replay_run(r, bad, opts(8, 150));
  CHECK(other.states == all.states);
}

TEST_CASE("crash consistency: 3 seeds x 1000 crash states, every one fsck-clean and nothing durable lost") {
  std::set<std::string> kinds;
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    MemoryRun r = record_run(seed);
    for (const std::string& op : r.record.ops) {  // "12 rename d0/f1 -> f3 (over)"
      size_t a = op.find(' ') + 1, b = op.find(' ', a);
      kinds.insert(op.substr(a, b - a));
      if (op.find("(over)") != std::string::npos) kinds.insert("rename over");
      if (op.find("(open)") != std::string::npos) kinds.insert("unlink open");
    }
    ReplayOptions o = opts(seed, 1000);
    o.list_failures = 8;
    ReplaySummary s = replay_run(r, r.record, o);
    MESSAGE(s.text());
    CHECK(s.states >= 1000);
    CHECK(s.checks > 10000);
    CHECK(s.fsck_clean == s.states);
    CHECK(s.mount_failed == 0);
    CHECK(s.names_lost == 0);
    CHECK(s.names_back == 0);
    CHECK(s.names_wrong == 0);
    CHECK(s.renames_neither == 0);
    CHECK(s.contents_wrong == 0);
    CHECK(s.xattrs_wrong == 0);
    CHECK(s.unexpected == 0);
    CHECK(s.errors == 0);
    CHECK(s.failed_states == 0);
  }
  // The workloads did every kind of operation.
  for (const char* k : {"create", "write", "append", "truncate", "fallocate", "rename", "link", "unlink", "mkdir",
                        "rmdir", "setxattr", "removexattr", "fsync", "fdatasync", "fsyncdir", "sync", "close", "open", "rename over", "unlink open"})
    CHECK_MESSAGE(kinds.count(k), k);
}
