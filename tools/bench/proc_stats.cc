#include "tools/bench/proc_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

namespace chainfs::bench {

namespace {

int slurp(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return errno ? -errno : -ENOENT;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return 0;
}

}  // namespace

int parse_proc_stat(const std::string& text, ProcCpu* out) {
  size_t close = text.rfind(')');
  if (close == std::string::npos) return -EINVAL;
  std::istringstream in(text.substr(close + 1));
  // After the name: field 3 (state) ... field 15 (stime) is the 13th token.
  std::string tok;
  uint64_t utime = 0, stime = 0;
  for (int field = 3; field <= 15; ++field) {
    if (!(in >> tok)) return -EINVAL;
    if (field == 14 || field == 15) {
      char* end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(tok.c_str(), &end, 10);
      if (errno != 0 || end == tok.c_str() || *end != '\0') return -EINVAL;
      (field == 14 ? utime : stime) = v;
    }
  }
  out->utime_ticks = utime;
  out->stime_ticks = stime;
  return 0;
}

int parse_proc_status(const std::string& text, ProcStatus* out) {
  ProcStatus s;
  bool any = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    uint64_t* dst = nullptr;
    if (key == "VmHWM") dst = &s.vm_hwm_kib;
    else if (key == "VmRSS") dst = &s.vm_rss_kib;
    else if (key == "voluntary_ctxt_switches") dst = &s.voluntary_ctxt_switches;
    else if (key == "nonvoluntary_ctxt_switches") dst = &s.nonvoluntary_ctxt_switches;
    if (!dst) continue;
    std::istringstream v(line.substr(colon + 1));
    uint64_t n = 0;
    if (!(v >> n)) return -EINVAL;
    *dst = n;
    any = true;
  }
  if (!any) return -EINVAL;
  *out = s;
  return 0;
}

int read_proc_cpu(pid_t pid, ProcCpu* out) {
  std::string text;
  if (int r = slurp("/proc/" + std::to_string(pid) + "/stat", &text); r < 0) return r;
  return parse_proc_stat(text, out);
}

int read_proc_status(pid_t pid, ProcStatus* out) {
  std::string base = "/proc/" + std::to_string(pid);
  std::string text;
  if (int r = slurp(base + "/status", &text); r < 0) return r;
  ProcStatus total;
  if (int r = parse_proc_status(text, &total); r < 0) return r;
  // The process file counts only the main thread's switches: sum the threads instead.
  DIR* d = opendir((base + "/task").c_str());
  if (!d) return 0;
  uint64_t vol = 0, nonvol = 0;
  bool any = false;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string t;
    ProcStatus ts;
    if (slurp(base + "/task/" + e->d_name + "/status", &t) < 0 || parse_proc_status(t, &ts) < 0) continue;
    vol += ts.voluntary_ctxt_switches;
    nonvol += ts.nonvoluntary_ctxt_switches;
    any = true;
  }
  closedir(d);
  if (any) {
    total.voluntary_ctxt_switches = vol;
    total.nonvoluntary_ctxt_switches = nonvol;
  }
  *out = total;
  return 0;
}

int reset_peak_rss(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/clear_refs";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = ::write(fd, "5", 1);
  int err = n == 1 ? 0 : -errno;
  ::close(fd);
  return err;
}

double ticks_to_seconds(uint64_t ticks) {
  static const long hz = sysconf(_SC_CLK_TCK);
  return double(ticks) / double(hz > 0 ? hz : 100);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace chainfs::bench
