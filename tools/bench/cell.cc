#include "tools/bench/cell.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace chainfs::bench {

namespace {

double tv(const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; }

// The bench and its reaped children (fio runs inside a measurement; daemons are reaped
// only at unmount, outside every measurement, and are counted through /proc instead).
void self_usage(double* cpu, uint64_t* vcsw) {
  struct rusage ru{}, ch{};
  getrusage(RUSAGE_SELF, &ru);
  getrusage(RUSAGE_CHILDREN, &ch);
  *cpu = tv(ru.ru_utime) + tv(ru.ru_stime) + tv(ch.ru_utime) + tv(ch.ru_stime);
  *vcsw = uint64_t(ru.ru_nvcsw) + uint64_t(ch.ru_nvcsw);
}

double daemon_cpu(pid_t pid) {
  ProcCpu c;
  if (pid <= 0 || read_proc_cpu(pid, &c) < 0) return 0;
  return ticks_to_seconds(c.utime_ticks + c.stime_ticks);
}

}  // namespace

void summarize(Cell* c) {
  if (c->reps.empty()) return;
  std::vector<double> value, secs, avg, cpu_gib, cpu_op, vcsw, rss;
  c->have_dev = true;
  for (const Sample& s : c->reps) {
    double per = c->unit == "ops/s" ? double(s.ops) : double(s.bytes) / 1e6;
    value.push_back(s.seconds > 0 ? per / s.seconds : 0);
    secs.push_back(s.seconds);
    if (s.have_dev) {
      uint64_t ios = s.dev.read_ios + s.dev.write_ios;
      uint64_t sectors = s.dev.read_sectors + s.dev.write_sectors;
      avg.push_back(ios ? double(sectors) * 512.0 / double(ios) / 1024.0 : 0);
    } else {
      c->have_dev = false;
    }
    if (s.bytes) cpu_gib.push_back(s.cpu_seconds / (double(s.bytes) / double(1ull << 30)));
    if (s.ops) cpu_op.push_back(s.cpu_seconds * 1e6 / double(s.ops));
    vcsw.push_back(double(s.vol_ctxt));
    rss.push_back(double(s.peak_rss_kib) / 1024.0);
  }
  c->value = median(value);
  c->seconds = median(secs);
  c->dev_avg_kib = c->have_dev ? median(avg) : 0;
  c->cpu_s_per_gib = median(cpu_gib);
  c->cpu_us_per_op = median(cpu_op);
  c->vol_ctxt = median(vcsw);
  c->peak_rss_mib = median(rss);
}

void Meter::start() {
  have_dev_ = !dev_.empty() && io::read_block_stat(dev_, &dev0_) == 0;
  self_usage(&self_cpu0_, &self_vcsw0_);
  daemon_cpu0_ = daemon_cpu(daemon_);
  server_cpu0_ = daemon_cpu(server_);
  daemon_vcsw0_ = 0;
  ProcStatus st;
  if (daemon_ > 0 && read_proc_status(daemon_, &st) == 0) daemon_vcsw0_ = st.voluntary_ctxt_switches;
  // Peak RSS per repetition: reset the high-water marks to the current RSS.
  reset_peak_rss(getpid());
  if (daemon_ > 0) reset_peak_rss(daemon_);
  t0_ = std::chrono::steady_clock::now();
}

void Meter::stop(Sample* s) {
  s->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  io::BlockStat after{};
  s->have_dev = have_dev_ && io::read_block_stat(dev_, &after) == 0;
  if (s->have_dev) s->dev = after - dev0_;
  double cpu = 0;
  uint64_t vcsw = 0;
  self_usage(&cpu, &vcsw);
  s->cpu_seconds = cpu - self_cpu0_;
  s->vol_ctxt = vcsw - self_vcsw0_;
  ProcStatus self{};
  read_proc_status(getpid(), &self);
  s->peak_rss_kib = self.vm_hwm_kib;
  if (server_ > 0) s->cpu_seconds += std::max(0.0, daemon_cpu(server_) - server_cpu0_);
  if (daemon_ > 0) {
    s->cpu_seconds += std::max(0.0, daemon_cpu(daemon_) - daemon_cpu0_);
    ProcStatus st{};
    if (read_proc_status(daemon_, &st) == 0) {
      if (st.voluntary_ctxt_switches > daemon_vcsw0_) s->vol_ctxt += st.voluntary_ctxt_switches - daemon_vcsw0_;
      // The daemon holds the filesystem's memory; the load generator's own is small and fixed.
      s->peak_rss_kib = st.vm_hwm_kib;
    }
  }
}

}  // namespace chainfs::bench
