#pragma once
// What the kernel says a process used: CPU time from /proc/PID/stat, peak RSS and context
// switches from /proc/PID/status (summed over /proc/PID/task/*/status for the switches,
// since the process-level file only counts the main thread). Parsers take the file text so
// tests can feed them fixed lines; readers return 0 or -errno.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chainfs::bench {

struct ProcCpu {
  uint64_t utime_ticks = 0;  // field 14, clock ticks (sysconf(_SC_CLK_TCK))
  uint64_t stime_ticks = 0;  // field 15
};

struct ProcStatus {
  uint64_t vm_hwm_kib = 0;  // VmHWM: peak resident set
  uint64_t vm_rss_kib = 0;  // VmRSS
  uint64_t voluntary_ctxt_switches = 0;
  uint64_t nonvoluntary_ctxt_switches = 0;
};

// Parses one /proc/PID/stat line. The command name (field 2) may contain spaces and
// parentheses, so fields are counted from the last ')'. 0 or -EINVAL.
int parse_proc_stat(const std::string& text, ProcCpu* out);
// Parses /proc/PID/status ("Key:\tvalue [kB]" lines); keys that are absent stay 0.
// -EINVAL when none of the keys is present.
int parse_proc_status(const std::string& text, ProcStatus* out);

int read_proc_cpu(pid_t pid, ProcCpu* out);
// VmHWM/VmRSS of the process, context switches summed over its live threads.
int read_proc_status(pid_t pid, ProcStatus* out);
// Resets the process's VmHWM to its current RSS (writes "5" to /proc/PID/clear_refs).
int reset_peak_rss(pid_t pid);

// CPU seconds of ticks.
double ticks_to_seconds(uint64_t ticks);

// Median of the values (mean of the middle two for an even count); 0 for none.
double median(std::vector<double> values);

}  // namespace chainfs::bench
