#pragma once
// FaultRules: what a fault-injecting device does to the requests it passes on, as text
// (a test writes it to a control file; io/fault_injector.h reads it). One rule per line;
// blank lines and '#' comments are ignored:
//   eio   read|write|flush|any [blocks=A|A-|A-B] [prob=P] [count=N]
//         the request fails with -EIO and transfers nothing
//   short write [blocks=...] [prob=P] [count=N]
//         the first half of the request (whole 4 KiB blocks, at least one when the request
//         has two) is written, then the request fails with -EIO: a torn write
//   delay read|write|flush|any ms=N [blocks=...] [prob=P] [count=N]
//         the request waits N ms before it goes on (a latency spike)
//   seed N
//         seeds the generator of prob= (default 1)
// blocks= names 4 KiB device blocks (A- : A to the end); a request matches when it touches
// one. prob= (0 to 1, default 1) is the chance that a matching request is hit; count=N
// retires the rule after N hits. A flush has no blocks: a rule with blocks= never hits it.
// For each request, every delay rule that hits adds its wait; then the first eio or short
// rule that hits decides the outcome.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace chainfs::io {

enum class FaultOp : unsigned { kRead = 1, kWrite = 2, kFlush = 4, kAny = 7 };

struct FaultRule {
  enum Kind { kEio, kShort, kDelay } kind = kEio;
  unsigned ops = 0;  // FaultOp bits
  uint64_t first_block = 0, last_block = UINT64_MAX;
  bool ranged = false;  // blocks= given
  double prob = 1.0;
  uint64_t count = 0;  // 0: unlimited
  uint32_t ms = 0;
  uint64_t hits = 0;
};

struct FaultDecision {
  uint32_t delay_ms = 0;
  enum Action { kPass, kEio, kShort } action = kPass;
};

class FaultRules {
 public:
  // Parses text; 0, or -EINVAL with *why naming the line.
  int parse(const std::string& text, std::string* why);
  bool empty() const { return rules_.empty(); }
  // The fate of one request (len bytes at offset; both 0 for a flush). Counts the hits.
  FaultDecision decide(FaultOp op, uint64_t offset, uint64_t len);
  uint64_t injected() const { return injected_; }

 private:
  std::vector<FaultRule> rules_;
  std::mt19937_64 rng_{1};
  uint64_t injected_ = 0;
};

}  // namespace chainfs::io
