#include "tools/crashcheck/verify.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <map>
#include <set>

using namespace chainfs::crashcheck;

namespace {

// A crash state made by hand: paths to nodes, file bytes, xattrs, lookup errors.
struct FakeView final : View {
  std::map<std::string, Node> nodes;
  std::map<std::string, std::string> data;
  std::map<std::pair<std::string, std::string>, std::string> xattrs;
  std::map<std::string, int> errors;

  int lookup(const std::string& path, Node* out) override {
    if (errors.count(path)) return errors[path];
    auto it = nodes.find(path);
    if (it == nodes.end()) return -ENOENT;
    *out = it->second;
    return 0;
  }
  int read_all(const std::string& path, std::string* out) override {
    *out = data[path];
    return 0;
  }
  int getxattr(const std::string& path, const std::string& name, std::optional<std::string>* out) override {
    auto it = xattrs.find({path, name});
    *out = it == xattrs.end() ? std::nullopt : std::optional<std::string>(it->second);
    return 0;
  }
  int list(const std::string& dir, std::vector<std::string>* out) override {
    out->clear();
    for (const auto& [p, n] : nodes)
      if (dir.empty() && p.find('/') == std::string::npos) out->push_back(p);
    return 0;
  }
};

// A record with names f0, f1 in the root and two file inodes (inode numbers 10 and 11).
struct Rec {
  DurabilityRecord r;
  uint32_t f0, f1, c0, c1, x0;
  Rec() {
    r.dirs = {""};
    r.ops = {"op"};
    f0 = r.add_slot(Slot{SlotKind::kName, "f0", 0, "", std::nullopt});
    f1 = r.add_slot(Slot{SlotKind::kName, "f1", 0, "", std::nullopt});
    r.inodes = {{10, false}, {11, false}};
    c0 = r.add_slot(Slot{SlotKind::kContent, "", 0, "", content_value("")});
    c1 = r.add_slot(Slot{SlotKind::kContent, "", 1, "", content_value("")});
    x0 = r.add_slot(Slot{SlotKind::kXattr, "", 0, "user.a", std::nullopt});
  }
  void set(uint32_t slot, std::optional<std::string> v, uint64_t start, uint64_t end, bool over = false) {
    r.events.push_back(Event{Event::kSet, slot, 0, std::move(v), over, start, end});
  }
  void durable(uint32_t slot, uint64_t end) { r.events.push_back(Event{Event::kDurable, slot, 0, {}, false, end, end}); }
};

std::multiset<CheckFailure::Kind> kinds(const Rec& rec, FakeView& v, uint64_t cut) {
  CheckCounts c;
  std::multiset<CheckFailure::Kind> out;
  for (const auto& f : Verifier(rec.r).check(v, cut, &c)) out.insert(f.kind);
  return out;
}

}  // namespace

TEST_CASE("Verifier: a name made durable must be there, on its inode, once its fsync counts") {
  Rec rec;
  rec.set(rec.f0, name_value(0), 1, 2);
  rec.durable(rec.f0, 5);
  FakeView v;
  // Cut before the fsync returned: nothing promised, a missing name is fine.
  CHECK(kinds(rec, v, 4).empty());
  // From the cut at its end on: lost when missing.
  CHECK(kinds(rec, v, 5) == std::multiset{CheckFailure::kNameLost});
  v.nodes["f0"] = {10, false};
  CHECK(kinds(rec, v, 5).empty());
  v.nodes["f0"] = {11, false};
  CHECK(kinds(rec, v, kNoCut) == std::multiset{CheckFailure::kNameWrong});
  v.nodes["f0"] = {10, true};  // the right number but a directory
  CHECK(kinds(rec, v, kNoCut) == std::multiset{CheckFailure::kNameWrong});
  v.nodes.erase("f0");
  v.errors["f0"] = -EUCLEAN;  // a corrupt entry gives no file: lost too
  CHECK(kinds(rec, v, 5) == std::multiset{CheckFailure::kNameLost});
}

TEST_CASE("Verifier: a rename over a durable name gives the old or the new file, never neither") {
  Rec rec;
  rec.set(rec.f0, name_value(0), 1, 2);
  rec.durable(rec.f0, 3);
  rec.set(rec.f0, name_value(1), 6, 7, true);  // rename f1 -> f0 over inode 10
  FakeView v;
  CHECK(kinds(rec, v, 6) == std::multiset{CheckFailure::kNameLost});  // the rename had not started
  CHECK(kinds(rec, v, 8) == std::multiset{CheckFailure::kRenameNeither});
  v.nodes["f0"] = {10, false};
  CHECK(kinds(rec, v, 8).empty());
  v.nodes["f0"] = {11, false};
  CHECK(kinds(rec, v, 8).empty());
  CHECK(kinds(rec, v, 6) == std::multiset{CheckFailure::kNameWrong});  // new file before the rename began
  rec.durable(rec.f0, 9);
  v.nodes["f0"] = {10, false};
  CHECK(kinds(rec, v, 9) == std::multiset{CheckFailure::kNameWrong});  // the rename was made durable
}

TEST_CASE("Verifier: a removal made durable does not come back, one not yet durable may") {
  Rec rec;
  rec.set(rec.f0, name_value(0), 1, 2);
  rec.durable(rec.f0, 3);
  rec.set(rec.f0, std::nullopt, 4, 5);  // unlink f0
  FakeView v;
  v.nodes["f0"] = {10, false};
  CHECK(kinds(rec, v, 6).empty());
  rec.durable(rec.f0, 7);
  CHECK(kinds(rec, v, 6).empty());
  CHECK(kinds(rec, v, 7) == std::multiset{CheckFailure::kNameBack});
  v.nodes.erase("f0");
  CHECK(kinds(rec, v, 7).empty());
}

TEST_CASE("Verifier: durable contents and xattrs are read through the names that reach the inode") {
  Rec rec;
  rec.set(rec.f0, name_value(0), 1, 2);
  rec.set(rec.c0, content_value("hello"), 2, 3);
  rec.set(rec.x0, std::string("v1"), 3, 4);
  rec.durable(rec.f0, 5);
  rec.durable(rec.c0, 5);
  rec.durable(rec.x0, 5);
  FakeView v;
  v.nodes["f0"] = {10, false};
  v.data["f0"] = "hello";
  v.xattrs[{"f0", "user.a"}] = "v1";
  CHECK(kinds(rec, v, 5).empty());
  v.data["f0"] = "hellp";
  CHECK(kinds(rec, v, 5) == std::multiset{CheckFailure::kContent});
  v.data["f0"] = "hello";
  v.xattrs.erase({"f0", "user.a"});
  CHECK(kinds(rec, v, 5) == std::multiset{CheckFailure::kXattr});
  // A later write that may be partly on disk: the content is not checked any more, the
  // xattr keeps its durable value or takes a later one, whole.
  rec.set(rec.c0, content_value("HELLO"), 6, 7);
  rec.set(rec.x0, std::string("v2"), 6, 7);
  v.data["f0"] = "HEllo";
  v.xattrs[{"f0", "user.a"}] = "v2";
  CHECK(kinds(rec, v, 8).empty());
  v.xattrs[{"f0", "user.a"}] = "v3";
  CHECK(kinds(rec, v, 8) == std::multiset{CheckFailure::kXattr});
  // Only the sets that started before the cut are possible.
  v.xattrs[{"f0", "user.a"}] = "v2";
  CHECK(kinds(rec, v, 6) == std::multiset{CheckFailure::kXattr, CheckFailure::kContent});
}

TEST_CASE("Verifier: a directory holds only names the workload used") {
  Rec rec;
  FakeView v;
  v.nodes["f1"] = {11, false};
  CHECK(kinds(rec, v, kNoCut).empty());
  v.nodes["lost+found"] = {12, true};
  CHECK(kinds(rec, v, kNoCut) == std::multiset{CheckFailure::kUnexpected});
}

TEST_CASE("DurabilityRecord: saved as JSON and read back unchanged, a broken file is refused") {
  Rec rec;
  rec.r.pos_unit = "bytes";
  rec.r.seed = 42;
  rec.r.stopped = "3 fsync f0: Transport endpoint is not connected";
  rec.set(rec.f0, name_value(1), 7, 9, true);
  rec.set(rec.x0, std::string("\0\xff", 2), 9, 10);
  rec.durable(rec.c0, 12);
  char tmpl[] = "/var/tmp/chainfs-record-XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  REQUIRE(save_record(rec.r, tmpl) == 0);
  DurabilityRecord back;
  std::string msg;
  REQUIRE(load_record(tmpl, &back, &msg) == 0);
  CHECK(back.pos_unit == "bytes");
  CHECK(back.seed == 42);
  CHECK(back.stopped == rec.r.stopped);
  REQUIRE(back.slots.size() == rec.r.slots.size());
  CHECK(back.slots[rec.c0].initial == content_value(""));
  CHECK_FALSE(back.slots[rec.f0].initial.has_value());
  REQUIRE(back.events.size() == 3);
  CHECK(back.events[0].rename_over);
  CHECK(back.events[0].value == name_value(1));
  CHECK(back.events[1].value == std::string("\0\xff", 2));
  CHECK(back.events[2].kind == Event::kDurable);
  CHECK(back.events[2].end == 12);
  CHECK(back.inodes[1].ino == 11);
  FILE* f = fopen(tmpl, "w");
  REQUIRE(f);
  fputs("{\"pos_unit\": 1}", f);
  fclose(f);
  CHECK(load_record(tmpl, &back, &msg) == -EINVAL);
  CHECK(msg.find("not a durability record") != std::string::npos);
  unlink(tmpl);
}
