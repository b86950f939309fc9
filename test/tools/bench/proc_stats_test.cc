// The statistics chainfs-bench reads from the kernel: /proc/PID/stat, /proc/PID/status,
// /sys/block/X/stat deltas, and the medians it reports.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "io/block_stat.h"
#include "tools/bench/cell.h"
#include "tools/bench/proc_stats.h"

using namespace chainfs;
using namespace chainfs::bench;

TEST_CASE("proc stat: CPU ticks counted from the last parenthesis") {
  ProcCpu c;
  // A command name with spaces and a ')' must not shift the fields.
  std::string line =
      "1234 (my (odd) daemon) S 1 1234 1234 0 -1 4194560 500 0 0 0 731 42 0 0 20 0 3 0 100 1000 200 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  REQUIRE(parse_proc_stat(line, &c) == 0);
  CHECK(c.utime_ticks == 731);
  CHECK(c.stime_ticks == 42);
}

TEST_CASE("proc stat: truncated or garbled lines are refused") {
  ProcCpu c;
  CHECK(parse_proc_stat("", &c) == -EINVAL);
  CHECK(parse_proc_stat("12 (x) S 1 2 3", &c) == -EINVAL);
  CHECK(parse_proc_stat("12 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5 0", &c) == -EINVAL);
}

TEST_CASE("proc stat: this process parses and its CPU time grows") {
  ProcCpu a, b;
  REQUIRE(read_proc_cpu(getpid(), &a) == 0);
  volatile uint64_t x = 0;
  for (int round = 0; round < 50; ++round) {
    for (uint64_t i = 0; i < 20'000'000; ++i) x = x + i;
    REQUIRE(read_proc_cpu(getpid(), &b) == 0);
    if (b.utime_ticks + b.stime_ticks > a.utime_ticks + a.stime_ticks) break;
  }
  CHECK(b.utime_ticks + b.stime_ticks > a.utime_ticks + a.stime_ticks);
  CHECK(ticks_to_seconds(100) > 0);
}

TEST_CASE("proc status: peak RSS and context switches") {
  std::string text =
      "Name:\tchainfs\nState:\tS (sleeping)\nVmPeak:\t  300000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t    9000 kB\n"
      "Threads:\t4\nvoluntary_ctxt_switches:\t77\nnonvoluntary_ctxt_switches:\t3\n";
  ProcStatus s;
  REQUIRE(parse_proc_status(text, &s) == 0);
  CHECK(s.vm_hwm_kib == 12345);
  CHECK(s.vm_rss_kib == 9000);
  CHECK(s.voluntary_ctxt_switches == 77);
  CHECK(s.nonvoluntary_ctxt_switches == 3);
  CHECK(parse_proc_status("Name:\tx\nState:\tR\n", &s) == -EINVAL);
  CHECK(parse_proc_status("VmHWM:\tlots kB\n", &s) == -EINVAL);
}

TEST_CASE("proc status: this process, summed over its threads") {
  ProcStatus s;
  REQUIRE(read_proc_status(getpid(), &s) == 0);
  CHECK(s.vm_hwm_kib > 0);
  CHECK(s.vm_hwm_kib >= s.vm_rss_kib);
  ProcStatus before = s;
  for (int i = 0; i < 5; ++i) usleep(1000);  // each sleep is a voluntary switch
  REQUIRE(read_proc_status(getpid(), &s) == 0);
  CHECK(s.voluntary_ctxt_switches >= before.voluntary_ctxt_switches + 5);
}

TEST_CASE("sysfs block stat deltas give the average request size") {
  io::BlockStat a, b;
  REQUIRE(io::parse_block_stat("     100        0     800      10     200     5   4096   20 0 30 30 0 0 0 0 7 1\n", &a) ==
          0);
  REQUIRE(io::parse_block_stat("     110        0    1120      12     264     5   8192   25 0 40 40 0 0 0 0 9 1\n", &b) ==
          0);
  io::BlockStat d = b - a;
  CHECK(d.read_ios == 10);
  CHECK(d.write_ios == 64);
  CHECK(d.avg_read_bytes() == doctest::Approx(320.0 * 512 / 10));
  CHECK(d.avg_write_bytes() == doctest::Approx(4096.0 * 512 / 64));  // 32 KiB
  CHECK(io::parse_block_stat("garbage", &a) == -EINVAL);
}

TEST_CASE("median") {
  CHECK(median({}) == 0);
  CHECK(median({5}) == 5);
  CHECK(median({9, 1, 5}) == 5);
  CHECK(median({4, 1, 3, 2}) == doctest::Approx(2.5));
  CHECK(median({7, 7, 100}) == 7);  // one outlier does not move it
}

TEST_CASE("cell summary: medians of throughput, request size and CPU per GiB") {
  Cell c;
  c.unit = "MB/s";
  for (double secs : {1.0, 2.0, 4.0}) {
    Sample s;
    s.seconds = secs;
    s.bytes = 100'000'000;
    s.ops = 100;
    s.have_dev = true;
    s.dev.write_ios = 10;
    s.dev.write_sectors = uint64_t(secs * 2048);  // avg 1 MiB * secs / 10
    s.cpu_seconds = secs / 10;
    s.vol_ctxt = uint64_t(secs * 10);
    s.peak_rss_kib = 2048;
    c.reps.push_back(s);
  }
  summarize(&c);
  CHECK(c.value == doctest::Approx(50.0));  // 100 MB in the median 2 s
  CHECK(c.seconds == doctest::Approx(2.0));
  CHECK(c.have_dev);
  CHECK(c.dev_avg_kib == doctest::Approx(2.0 * 2048 * 512 / 10 / 1024));
  CHECK(c.cpu_s_per_gib == doctest::Approx(0.2 / (1e8 / double(1ull << 30))));
  CHECK(c.vol_ctxt == 20);
  CHECK(c.peak_rss_mib == doctest::Approx(2.0));

  Cell ops;
  ops.unit = "ops/s";
  Sample s;
  s.seconds = 0.5;
  s.ops = 3000;
  s.cpu_seconds = 0.3;
  ops.reps.push_back(s);
  summarize(&ops);
  CHECK(ops.value == doctest::Approx(6000));
  CHECK(ops.cpu_us_per_op == doctest::Approx(100));
  CHECK_FALSE(ops.have_dev);
}
