#include "io/fault_rules.h"

#include <cerrno>
#include <charconv>
#include <sstream>

namespace chainfs::io {

namespace {

constexpr uint64_t kBlockSize = 4096;

bool parse_u64(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool parse_ops(const std::string& w, unsigned* ops) {
  if (w == "read") *ops = static_cast<unsigned>(FaultOp::kRead);
  else if (w == "write") *ops = static_cast<unsigned>(FaultOp::kWrite);
  else if (w == "flush") *ops = static_cast<unsigned>(FaultOp::kFlush);
  else if (w == "any") *ops = static_cast<unsigned>(FaultOp::kAny);
  else return false;
  return true;
}

// One "key=value" option into r; false when it is not one.
bool parse_option(const std::string& w, FaultRule* r) {
  auto eq = w.find('=');
  if (eq == std::string::npos) return false;
  std::string_view key(w.data(), eq), val(w.data() + eq + 1, w.size() - eq - 1);
  if (key == "blocks") {
    auto dash = val.find('-');
    r->ranged = true;
    if (dash == std::string_view::npos) {
      if (!parse_u64(val, &r->first_block)) return false;
      r->last_block = r->first_block;
      return true;
    }
    if (!parse_u64(val.substr(0, dash), &r->first_block)) return false;
    auto rest = val.substr(dash + 1);
    if (rest.empty()) return true;
    return parse_u64(rest, &r->last_block) && r->last_block >= r->first_block;
  }
  if (key == "prob") {
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), r->prob);
    return ec == std::errc() && p == val.data() + val.size() && r->prob >= 0 && r->prob <= 1;
  }
  uint64_t v = 0;
  if (!parse_u64(val, &v)) return false;
  if (key == "count") r->count = v;
  else if (key == "ms" && v <= 60000) r->ms = static_cast<uint32_t>(v);
  else return false;
  return true;
}

}  // namespace

int FaultRules::parse(const std::string& text, std::string* why) {
  std::vector<FaultRule> rules;
  uint64_t seed = 1;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.empty()) continue;
    auto bad = [&](const std::string& what) {
      *why = "fault rules line " + std::to_string(n) + ": " + what;
      return -EINVAL;
    };
    if (w[0] == "seed") {
      if (w.size() != 2 || !parse_u64(w[1], &seed)) return bad("seed takes one number");
      continue;
    }
    FaultRule r;
    if (w[0] == "eio") r.kind = FaultRule::kEio;
    else if (w[0] == "short") r.kind = FaultRule::kShort;
    else if (w[0] == "delay") r.kind = FaultRule::kDelay;
    else return bad("unknown rule '" + w[0] + "' (eio, short, delay, seed)");
    if (w.size() < 2 || !parse_ops(w[1], &r.ops)) return bad("the operation is read, write, flush or any");
    if (r.kind == FaultRule::kShort && r.ops != static_cast<unsigned>(FaultOp::kWrite))
      return bad("short applies to writes only");
    for (size_t i = 2; i < w.size(); ++i)
      if (!parse_option(w[i], &r)) return bad("bad option '" + w[i] + "'");
    if (r.kind == FaultRule::kDelay && r.ms == 0) return bad("delay needs ms=N");
    rules.push_back(r);
  }
  rules_ = std::move(rules);
  rng_.seed(seed);
  return 0;
}

FaultDecision FaultRules::decide(FaultOp op, uint64_t offset, uint64_t len) {
  FaultDecision d;
  for (FaultRule& r : rules_) {
    if (!(r.ops & static_cast<unsigned>(op))) continue;
    if (r.count && r.hits >= r.count) continue;
    if (r.ranged) {
      if (op == FaultOp::kFlush || len == 0) continue;
      const uint64_t first = offset / kBlockSize, last = (offset + len - 1) / kBlockSize;
      if (last < r.first_block || first > r.last_block) continue;
    }
    if (r.kind != FaultRule::kDelay && d.action != FaultDecision::kPass) continue;
    if (r.prob < 1 && std::uniform_real_distribution<double>(0, 1)(rng_) >= r.prob) continue;
    ++r.hits;
    ++injected_;
    if (r.kind == FaultRule::kDelay) d.delay_ms += r.ms;
    else d.action = r.kind == FaultRule::kEio ? FaultDecision::kEio : FaultDecision::kShort;
  }
  return d;
}

}  // namespace chainfs::io
