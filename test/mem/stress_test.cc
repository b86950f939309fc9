// Stress: 2 threads x N allocations and frees (N = 10 million), half of the pages freed on the
// other thread, plus gangs sent across; every page carries a tag that is checked when it is
// freed (a page handed out twice would be overwritten), and the accounting must balance.
// CHAINFS_STRESS_OPS overrides N. The percpu/malloc case runs N/10 (N/50 under sanitizers).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mem/page_pool.h"
#include "pool_test_util.h"

using namespace chainfs::mem;
using chainfs::kBlockSize;

namespace {

constexpr uint64_t kDefaultOps = 10'000'000;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
// The percpu and malloc paths take a lock (and, under TSan, an intercepted malloc) per page:
// a fiftieth of N keeps that case near a minute under the sanitizers; the gang case runs full N.
constexpr uint64_t kBaselineDivisor = 50;
#else
constexpr uint64_t kBaselineDivisor = 10;
#endif

uint64_t stress_ops(uint64_t fallback) {
  if (const char* v = std::getenv("CHAINFS_STRESS_OPS")) {
    uint64_t n = std::strtoull(v, nullptr, 10);
    if (n > 0) return n;
  }
  return fallback;
}

constexpr size_t kMaxInFlight = 8192;

struct Tag {
  uint64_t thread;
  uint64_t seq;
};

void put_tag(void* p, uint64_t thread, uint64_t seq) {
  Tag t{thread, seq};
  std::memcpy(p, &t, sizeof t);
  std::memcpy(static_cast<char*>(p) + kBlockSize - sizeof t, &t, sizeof t);
}

bool tag_ok(const void* p, uint64_t thread) {
  Tag a, b;
  std::memcpy(&a, p, sizeof a);
  std::memcpy(&b, static_cast<const char*>(p) + kBlockSize - sizeof b, sizeof b);
  return a.thread == thread && b.thread == thread && a.seq == b.seq;
}

struct Mailbox {
  std::mutex mu;
  std::vector<void*> pages;  // single pages from the peer
  std::vector<std::vector<void*>> gangs;
  std::atomic<bool> peer_done{false};
};

struct Result {
  uint64_t bad_tags = 0;
  uint64_t freed_remote = 0;
  uint64_t gang_pages = 0;
};

void worker(PagePool& pool, uint64_t me, uint64_t ops, Mailbox& mine, Mailbox& peer, Result& r) {
  std::vector<void*> outbox, ring, inbox;
  std::vector<std::vector<void*>> gang_inbox;
  outbox.reserve(64);
  auto drain_inbox = [&] {
    {
      std::lock_guard lock(mine.mu);
      inbox.swap(mine.pages);
      gang_inbox.swap(mine.gangs);
    }
    for (void* p : inbox) {
      if (!tag_ok(p, 1 - me)) ++r.bad_tags;
      pool.free_page(p);
    }
    r.freed_remote += inbox.size();
    inbox.clear();
    for (auto& g : gang_inbox) {
      for (void* p : g) {
        if (!tag_ok(p, 1 - me)) ++r.bad_tags;
      }
      pool.free_gang(g);
    }
    gang_inbox.clear();
  };
  auto send = [&] {
    // Back-pressure: a peer descheduled for a while must not make this thread pile up
    // hundreds of MiB of pages in its inbox.
    for (;;) {
      {
        std::lock_guard lock(peer.mu);
        if (peer.pages.size() < kMaxInFlight) break;
      }
      drain_inbox();
      std::this_thread::yield();
    }
    std::lock_guard lock(peer.mu);
    peer.pages.insert(peer.pages.end(), outbox.begin(), outbox.end());
    outbox.clear();
  };

  for (uint64_t i = 0; i < ops; ++i) {
    void* p = pool.alloc_page();
    put_tag(p, me, i);
    if (i % 2 == 0) {
      outbox.push_back(p);
      if (outbox.size() == 64) send();
    } else {
      // Freed here, a little later and out of order.
      ring.push_back(p);
      if (ring.size() == 8) {
        size_t victim = (i / 2) % 8;
        if (!tag_ok(ring[victim], me)) ++r.bad_tags;
        pool.free_page(ring[victim]);
        ring[victim] = ring.back();
        ring.pop_back();
      }
    }
    if (i % 4096 == 0) {
      std::vector<void*> g(16);
      pool.alloc_gang(g);
      for (void* q : g) put_tag(q, me, i);
      r.gang_pages += g.size();
      std::lock_guard lock(peer.mu);
      peer.gangs.push_back(std::move(g));
    }
    if (i % 256 == 0) drain_inbox();
  }
  send();
  for (void* p : ring) {
    if (!tag_ok(p, me)) ++r.bad_tags;
    pool.free_page(p);
  }
  peer.peer_done = true;
  while (!mine.peer_done.load()) {
    drain_inbox();
    std::this_thread::yield();
  }
  drain_inbox();
}

void stress(PoolKind kind, uint64_t ops) {
  PoolOptions o;
  o.kind = kind;
  auto pool = make_page_pool(o);
  Mailbox box[2];
  Result res[2];
  std::thread a(worker, std::ref(*pool), 0, ops, std::ref(box[0]), std::ref(box[1]), std::ref(res[0]));
  std::thread b(worker, std::ref(*pool), 1, ops, std::ref(box[1]), std::ref(box[0]), std::ref(res[1]));
  a.join();
  b.join();

  CHECK(res[0].bad_tags == 0);
  CHECK(res[1].bad_tags == 0);
  CHECK(res[0].freed_remote == (ops + 1) / 2);  // the even-numbered pages of the peer
  CHECK(res[1].freed_remote == (ops + 1) / 2);
  PoolStats s = pool->stats();
  const uint64_t total = 2 * ops + res[0].gang_pages + res[1].gang_pages;
  CHECK(s.allocs == total);
  CHECK(s.frees == total);
  CHECK(s.pages_in_use == 0);
  CHECK(s.pages_cached == 0);  // both threads are gone: their caches went home
  if (kind != PoolKind::kMalloc) {
    CHECK(s.thread_hits > 0);
    CHECK(s.drains > 0);
    MESSAGE(std::string(to_string(kind)) << ": " << total << " pages, " << s.thread_hits << " thread hits, " << s.refills
                            << " refills, " << s.drains << " drains, " << s.pages_mapped << " pages mapped");
  }
}

}  // namespace

TEST_CASE("stress: gang pool, 2 threads x N allocations, half freed on the other thread") {
  stress(PoolKind::kGang, stress_ops(kDefaultOps));
}

TEST_CASE("stress: percpu and malloc pools, 2 threads, cross-thread frees (N / 10, N / 50 sanitized)") {
  stress(PoolKind::kPercpu, stress_ops(kDefaultOps) / kBaselineDivisor);
  stress(PoolKind::kMalloc, stress_ops(kDefaultOps) / kBaselineDivisor);
}
