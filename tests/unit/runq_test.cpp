// Run queues (src/sched/runq.hpp) and the steal order (random_order in
// src/sched/sched.hpp). Ports of Go's TestSchedLocalQueue,
// TestSchedLocalQueueSteal, TestSchedLocalQueueEmpty and TestStealOrder
// (runtime/proc_test.go, export_test.go, proc_runtime_test.go), plus
// concurrent conservation tests and the overflow/global-queue behaviour.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "goro/runtime.hpp"
#include "sched/runq.hpp"
#include "test_util.hpp"
// The P-level emptiness check the idle protocol relies on,
// runtime::work_visible(), is private: this test reaches it by compiling the
// header with `private` as `public` (the layout is the same). Standard
// headers are all included above, so only goro's classes are affected.
#define private public
#include "sched/sched.hpp"
#undef private

using goro::detail::G;
using goro::detail::g_list;
using goro::detail::global_runq;
using goro::detail::local_runq;
using goro::detail::random_order;
using goro::detail::P;
using goro::detail::runtime;

namespace {

constexpr std::uint32_t cap = local_runq::capacity;

// A block of G records; items are identified by their index.
struct g_block {
  explicit g_block(std::size_t n) : n(n), gs(new G[n]) {}
  G* operator[](std::size_t i) { return &gs[i]; }
  std::size_t index(const G* g) const { return static_cast<std::size_t>(g - gs.get()); }
  bool contains(const G* g) const { return g >= gs.get() && g < gs.get() + n; }
  std::size_t n;
  std::unique_ptr<G[]> gs;
};

std::vector<std::size_t> drain(local_runq& q, const g_block& b) {
  std::vector<std::size_t> out;
  while (G* g = q.pop()) out.push_back(b.index(g));
  return out;
}

std::vector<std::size_t> drain(g_list& l, const g_block& b) {
  std::vector<std::size_t> out;
  while (G* g = l.pop_front()) out.push_back(b.index(g));
  return out;
}

std::vector<std::size_t> iota(std::size_t from, std::size_t to) {
  std::vector<std::size_t> v;
  for (std::size_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

// ---------------------------------------------------------------------------
// TestSchedLocalQueue: put/get FIFO for every fill level.

TEST(LocalRunq, PutGetFifo) {
  g_block b(cap);
  local_runq q;
  for (std::uint32_t i = 0; i <= cap; ++i) {
    ASSERT_EQ(q.pop(), nullptr) << "not empty initially, iter " << i;
    ASSERT_TRUE(q.empty());
    for (std::uint32_t j = 0; j < i; ++j) {
      g_list overflow;
      ASSERT_FALSE(q.push(b[j], overflow)) << "overflowed at " << j << " of " << i;
      ASSERT_EQ(overflow.size, 0);
      EXPECT_EQ(q.size(), j + 1);
    }
    EXPECT_EQ(q.empty(), i == 0);
    for (std::uint32_t j = 0; j < i; ++j) {
      G* g = q.pop();
      ASSERT_EQ(g, b[j]) << "bad element at iter " << i << "/" << j;
    }
    ASSERT_EQ(q.pop(), nullptr) << "not empty afterwards, iter " << i;
    EXPECT_EQ(q.size(), 0u);
  }
}

// Head and tail keep growing; indices wrap around the ring many times.
TEST(LocalRunq, FifoAcrossRingWraparound) {
  g_block b(cap);
  local_runq q;
  g_list overflow;
  std::size_t next_in = 0, next_out = 0;
  for (int round = 0; round < 2000; ++round) {
    std::size_t n = static_cast<std::size_t>(round * 37 % 200 + 1);
    for (std::size_t j = 0; j < n; ++j) {
      ASSERT_FALSE(q.push(b[next_in % cap], overflow));
      ++next_in;
    }
    std::size_t m = n - static_cast<std::size_t>(round % 3 == 0 ? 0 : 1);
    for (std::size_t j = 0; j < m; ++j) {
      G* g = q.pop();
      ASSERT_EQ(g, b[next_out % cap]) << "round " << round;
      ++next_out;
    }
    while (next_in - next_out > 50) {
      ASSERT_EQ(q.pop(), b[next_out % cap]);
      ++next_out;
    }
  }
  while (G* g = q.pop()) {
    ASSERT_EQ(g, b[next_out % cap]);
    ++next_out;
  }
  EXPECT_EQ(next_in, next_out);
}

// Pushing onto a full ring moves its older half plus the new G to `overflow`
// (Go's runqputslow: 128 + 1 to the global queue), in FIFO order.
TEST(LocalRunq, OverflowMovesHalfPlusOne) {
  for (std::size_t warmup : {0, 1, 100, 255, 1000}) {
    g_block b(2 * cap);
    local_runq q;
    g_list overflow;
    for (std::size_t i = 0; i < warmup; ++i) {  // move head/tail off zero
      ASSERT_FALSE(q.push(b[0], overflow));
      ASSERT_EQ(q.pop(), b[0]);
    }
    for (std::size_t i = 0; i < cap; ++i) ASSERT_FALSE(q.push(b[i], overflow)) << i;
    EXPECT_EQ(q.size(), cap);
    EXPECT_EQ(overflow.size, 0);
    ASSERT_TRUE(q.push(b[cap], overflow)) << "the 257th push must overflow";
    EXPECT_EQ(overflow.size, static_cast<std::int32_t>(cap / 2 + 1));
    EXPECT_EQ(q.size(), cap / 2);
    std::vector<std::size_t> want = iota(0, cap / 2);
    want.push_back(cap);
    EXPECT_EQ(drain(overflow, b), want) << "warmup " << warmup;
    EXPECT_EQ(overflow.head, nullptr);
    EXPECT_EQ(overflow.tail, nullptr);
    EXPECT_EQ(drain(q, b), iota(cap / 2, cap)) << "warmup " << warmup;
  }
}

// ---------------------------------------------------------------------------
// TestSchedLocalQueueSteal (single-threaded): a steal takes half, rounded up,
// from the head; every G ends up in exactly one place.

TEST(LocalRunq, StealHalfRoundedUp) {
  g_block b(cap);
  for (std::uint32_t i = 0; i <= cap; ++i) {
    local_runq victim, thief;
    g_list overflow;
    for (std::uint32_t j = 0; j < i; ++j) ASSERT_FALSE(victim.push(b[j], overflow));
    std::vector<int> seen(i, 0);
    std::uint32_t stolen = 0;
    G* g = thief.steal_from(victim);
    std::vector<std::size_t> stolen_order;
    if (g != nullptr) {
      ++stolen;
      ++seen[b.index(g)];
    }
    for (std::size_t x : drain(thief, b)) {
      ++stolen;
      ++seen[x];
      stolen_order.push_back(x);
    }
    if (g != nullptr) stolen_order.push_back(b.index(g));  // the returned G is the last stolen
    std::vector<std::size_t> rest = drain(victim, b);
    for (std::size_t x : rest) ++seen[x];
    for (std::uint32_t j = 0; j < i; ++j)
      ASSERT_EQ(seen[j], 1) << "bad element " << j << " at iter " << i;
    EXPECT_EQ(stolen, i - i / 2) << "bad steal at iter " << i;
    EXPECT_EQ(stolen_order, iota(0, stolen)) << "a steal takes the oldest Gs, iter " << i;
    EXPECT_EQ(rest, iota(stolen, i));
  }
}

// Steal into a thief whose ring indices are elsewhere (non-zero tail).
TEST(LocalRunq, StealIntoShiftedThief) {
  g_block b(cap);
  for (std::size_t shift : {1, 77, 200, 255, 256, 300}) {
    local_runq victim, thief;
    g_list overflow;
    for (std::size_t i = 0; i < shift; ++i) {
      ASSERT_FALSE(thief.push(b[0], overflow));
      ASSERT_EQ(thief.pop(), b[0]);
    }
    for (std::size_t j = 0; j < cap; ++j) ASSERT_FALSE(victim.push(b[j], overflow));
    G* g = thief.steal_from(victim);
    ASSERT_EQ(g, b[cap / 2 - 1]);
    EXPECT_EQ(drain(thief, b), iota(0, cap / 2 - 1)) << "shift " << shift;
    EXPECT_EQ(drain(victim, b), iota(cap / 2, cap));
  }
}

// ---------------------------------------------------------------------------
// Concurrent conservation: the owner pushes k Gs (overflowing when full) and
// pops some while two thieves steal; every G is seen exactly once.

// Busy-waits for pred() so that two threads start an operation at nearly the
// same time (like Go's `ready` counter), but yields after a while so that a
// loaded machine (fewer free cores than spinning threads) still progresses.
template <class Pred>
void rendezvous(Pred pred) {
  for (int i = 0; !pred(); ++i)
    if (i > 2000) std::this_thread::yield();
}

class spin_barrier {
 public:
  explicit spin_barrier(int n) : n_(n) {}
  void arrive_and_wait() {
    int gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      count_.store(0, std::memory_order_relaxed);
      gen_.store(gen + 1, std::memory_order_release);
      return;
    }
    while (gen_.load(std::memory_order_acquire) == gen) std::this_thread::yield();
  }

 private:
  const int n_;
  std::atomic<int> count_{0};
  std::atomic<int> gen_{0};
};

TEST(LocalRunq, ConcurrentStealConservation) {
  constexpr int thieves = 2;
  const int iterations = goro_test::sanitized ? 1500 : 4000;
  constexpr std::size_t max_items = 2 * cap + 64;
  g_block b(max_items);
  std::unique_ptr<std::atomic<int>[]> seen(new std::atomic<int>[max_items]);
  local_runq victim;
  std::atomic<bool> owner_done{false};
  std::atomic<bool> quit{false};
  spin_barrier start(thieves + 1), finish(thieves + 1);
  std::atomic<long> total_stolen{0};

  auto mark = [&](G* g) {
    ASSERT_TRUE(b.contains(g)) << "a G that was never pushed";
    seen[b.index(g)].fetch_add(1, std::memory_order_relaxed);
  };

  std::vector<std::thread> ts;
  for (int t = 0; t < thieves; ++t) {
    ts.emplace_back([&] {
      local_runq mine;
      for (;;) {
        start.arrive_and_wait();
        if (quit.load()) return;
        for (;;) {
          bool done = owner_done.load(std::memory_order_acquire);
          if (G* g = mine.steal_from(victim)) {
            mark(g);
            total_stolen.fetch_add(1, std::memory_order_relaxed);
            while (G* x = mine.pop()) {
              mark(x);
              total_stolen.fetch_add(1, std::memory_order_relaxed);
            }
          } else if (done) {
            break;  // empty after the owner finished: nothing more will come
          } else {
            std::this_thread::yield();  // leave the owner a core on a loaded machine
          }
        }
        finish.arrive_and_wait();
      }
    });
  }

  for (int it = 0; it < iterations; ++it) {
    std::size_t k = static_cast<std::size_t>(it * 7 % static_cast<int>(max_items)) + 1;
    for (std::size_t i = 0; i < k; ++i) seen[i].store(0, std::memory_order_relaxed);
    owner_done.store(false, std::memory_order_relaxed);
    start.arrive_and_wait();
    for (std::size_t i = 0; i < k; ++i) {
      g_list overflow;
      if (victim.push(b[i], overflow)) {
        while (G* g = overflow.pop_front()) mark(g);
      }
      if (i % 3 == 2) {
        if (G* g = victim.pop()) mark(g);
      }
    }
    // Even iterations: the owner drains the rest, racing the thieves. Odd
    // ones: the thieves take everything left.
    if (it % 2 == 0) {
      while (G* g = victim.pop()) mark(g);
    }
    owner_done.store(true, std::memory_order_release);
    finish.arrive_and_wait();
    for (std::size_t i = 0; i < k; ++i)
      ASSERT_EQ(seen[i].load(), 1) << "G " << i << " seen " << seen[i].load() << " times, iteration "
                                   << it << " (k=" << k << ")";
    ASSERT_TRUE(victim.empty());
  }
  quit.store(true);
  start.arrive_and_wait();
  for (auto& t : ts) t.join();
  // The odd iterations leave Gs to the thieves: stealing was exercised.
  EXPECT_GT(total_stolen.load(), 0);
}

// ---------------------------------------------------------------------------
// TestSchedLocalQueueEmpty: the queue always holds at least one G while the
// owner pushes one and pops one; a concurrent observer must never see it
// empty (spurious emptiness makes idle Ms sleep while work is queued).

TEST(LocalRunq, NeverSpuriouslyEmpty) {
  const int iterations = goro_test::sanitized ? 20000 : 50000;
  g_block b(2);
  local_runq q;
  std::atomic<int> ready{0};
  std::atomic<int> go_round{-1};
  std::atomic<int> spurious{0};
  std::atomic<int> done_round{-1};
  std::thread observer([&] {
    for (int it = 0; it < iterations; ++it) {
      while (go_round.load(std::memory_order_acquire) != it) std::this_thread::yield();
      // Both sides announce themselves and start together (Go's `ready`).
      ready.fetch_add(1);
      rendezvous([&] { return ready.load() == 2; });
      if (q.empty() || q.size() == 0) spurious.fetch_add(1);
      done_round.store(it, std::memory_order_release);
    }
  });
  g_list overflow;
  for (int it = 0; it < iterations; ++it) {
    ready.store(0);
    ASSERT_FALSE(q.push(b[0], overflow));
    go_round.store(it, std::memory_order_release);
    ready.fetch_add(1);
    rendezvous([&] { return ready.load() == 2; });
    ASSERT_FALSE(q.push(b[1], overflow));
    ASSERT_EQ(q.pop(), b[0]);
    while (done_round.load(std::memory_order_acquire) != it) std::this_thread::yield();
    ASSERT_EQ(q.pop(), b[1]);
  }
  observer.join();
  EXPECT_EQ(spurious.load(), 0) << "the queue was reported empty while it held a G";
}

// The same with a thief taking the older G instead of the owner: the queue
// holds [a, b] and the thief takes one (half of 2, rounded up), never both.
TEST(LocalRunq, NeverSpuriouslyEmptyDuringSteal) {
  const int iterations = goro_test::sanitized ? 20000 : 50000;
  g_block b(2);
  local_runq q;
  std::atomic<int> go_round{-1};
  std::atomic<int> spurious{0};
  std::atomic<int> stolen_round{-1};
  std::atomic<int> observed_round{-1};
  std::atomic<int> ready{0};
  std::thread observer([&] {
    for (int it = 0; it < iterations; ++it) {
      while (go_round.load(std::memory_order_acquire) != it) std::this_thread::yield();
      ready.fetch_add(1);
      rendezvous([&] { return ready.load() == 2; });
      if (q.empty()) spurious.fetch_add(1);
      observed_round.store(it, std::memory_order_release);
    }
  });
  std::thread thief([&] {
    local_runq mine;
    for (int it = 0; it < iterations; ++it) {
      while (go_round.load(std::memory_order_acquire) != it) std::this_thread::yield();
      ready.fetch_add(1);
      rendezvous([&] { return ready.load() == 2; });
      G* g = mine.steal_from(q);
      EXPECT_EQ(g, b[0]);
      EXPECT_EQ(mine.pop(), nullptr);
      stolen_round.store(it, std::memory_order_release);
    }
  });
  g_list overflow;
  for (int it = 0; it < iterations; ++it) {
    ready.store(0);
    ASSERT_FALSE(q.push(b[0], overflow));
    ASSERT_FALSE(q.push(b[1], overflow));
    go_round.store(it, std::memory_order_release);
    while (stolen_round.load(std::memory_order_acquire) != it ||
           observed_round.load(std::memory_order_acquire) != it)
      std::this_thread::yield();
    ASSERT_EQ(q.pop(), b[1]);
    ASSERT_EQ(q.pop(), nullptr);
  }
  observer.join();
  thief.join();
  EXPECT_EQ(spurious.load(), 0);
}

// Go's TestSchedLocalQueueEmpty proper: a P's work is its runnext slot plus
// its ring. The owner keeps at least one G in the P at every moment (puts a
// second, then takes one, each put going to runnext or the ring as in Go's
// four next0/next1 cases), while an idle M's re-check (work_visible(), the
// "delicate dance" in sched.hpp) runs concurrently: it must never report the
// processors empty. A spurious "no work" lets the M sleep while a runnable G
// waits in the ring behind a running goroutine (underutilization, Go's
// runqempty comment).
TEST(PRunq, WorkNeverSpuriouslyInvisible) {
  const int iterations = goro_test::sanitized ? 50000 : 100000;
  runtime rt(goro::config{.procs = 1});  // no threads start until run()
  P* p = rt.ps()[0].get();
  g_block b(2);
  std::atomic<int> ready{0}, go_round{-1}, done_round{-1};
  std::atomic<int> spurious[4] = {};
  std::thread observer([&] {
    for (int it = 0; it < iterations; ++it) {
      while (go_round.load(std::memory_order_acquire) != it) std::this_thread::yield();
      ready.fetch_add(1);
      rendezvous([&] { return ready.load() == 2; });
      if (!rt.work_visible()) spurious[it & 3].fetch_add(1);
      done_round.store(it, std::memory_order_release);
    }
  });
  for (int it = 0; it < iterations; ++it) {
    bool next0 = (it & 1) == 0, next1 = (it & 2) == 0;
    ready.store(0);
    rt.runqput(p, b[0], next0);
    go_round.store(it, std::memory_order_release);
    ready.fetch_add(1);
    rendezvous([&] { return ready.load() == 2; });
    rt.runqput(p, b[1], next1);
    G* first = rt.next_local(p);
    while (done_round.load(std::memory_order_acquire) != it) std::this_thread::yield();
    G* second = rt.next_local(p);
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    ASSERT_NE(first, second);
    ASSERT_EQ(rt.next_local(p), nullptr);
  }
  observer.join();
  for (int c = 0; c < 4; ++c)
    EXPECT_EQ(spurious[c].load(), 0) << "work_visible() was false with a G queued: next0="
                                     << ((c & 1) == 0) << " next1=" << ((c & 2) == 0);
}

// ---------------------------------------------------------------------------
// g_list and the global queue.

TEST(GList, PushPopAppend) {
  g_block b(10);
  g_list a, c;
  EXPECT_EQ(a.pop_front(), nullptr);
  for (std::size_t i = 0; i < 4; ++i) a.push_back(b[i]);
  for (std::size_t i = 4; i < 10; ++i) c.push_back(b[i]);
  a.append(c);
  EXPECT_EQ(c.size, 0);
  EXPECT_EQ(c.head, nullptr);
  EXPECT_EQ(c.tail, nullptr);
  EXPECT_EQ(a.size, 10);
  g_list empty;
  a.append(empty);  // appending nothing changes nothing
  EXPECT_EQ(a.size, 10);
  empty.append(a);  // appending to an empty list
  EXPECT_EQ(empty.size, 10);
  EXPECT_EQ(drain(empty, b), iota(0, 10));
  EXPECT_EQ(empty.size, 0);
  EXPECT_EQ(empty.tail, nullptr);
}

g_list make_list(g_block& b, std::size_t from, std::size_t to) {
  g_list l;
  for (std::size_t i = from; i < to; ++i) l.push_back(b[i]);
  return l;
}

// The global queue is a FIFO of batches: push() adds a batch of one,
// push_batch() one batch of any size (a local queue's overflow is 129).
// pop_batch(true) takes one G; pop_batch(false) the whole first batch.
TEST(GlobalRunq, FifoOfBatches) {
  g_block b(300);
  global_runq q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop_batch(false).size, 0);
  EXPECT_EQ(q.pop_batch(true).size, 0);
  for (std::size_t i = 0; i < 3; ++i) q.push(b[i]);
  g_list batch = make_list(b, 3, 132);  // 129 Gs, like an overflow
  q.push_batch(batch);
  EXPECT_EQ(batch.size, 0);
  EXPECT_EQ(batch.head, nullptr);
  q.push(b[132]);
  g_list batch2 = make_list(b, 133, 135);
  q.push_batch(batch2);
  g_list none;
  q.push_batch(none);  // an empty batch adds nothing
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.size(), 135);

  g_list got = q.pop_batch(false);  // a batch of one
  EXPECT_EQ(drain(got, b), iota(0, 1));
  got = q.pop_batch(true);
  EXPECT_EQ(drain(got, b), iota(1, 2));
  got = q.pop_batch(false);
  EXPECT_EQ(drain(got, b), iota(2, 3));
  EXPECT_EQ(q.size(), 132);
  // One G off the front of the big batch, then the rest of it as a batch.
  got = q.pop_batch(true);
  EXPECT_EQ(got.size, 1);
  EXPECT_EQ(drain(got, b), iota(3, 4));
  got = q.pop_batch(true);
  EXPECT_EQ(drain(got, b), iota(4, 5));
  EXPECT_EQ(q.size(), 130);
  got = q.pop_batch(false);
  EXPECT_EQ(got.size, 127);
  EXPECT_EQ(got.tail, b[131]);
  EXPECT_EQ(drain(got, b), iota(5, 132));
  got = q.pop_batch(false);
  EXPECT_EQ(drain(got, b), iota(132, 133));
  // Split the last batch down to nothing: last_ must follow.
  got = q.pop_batch(true);
  EXPECT_EQ(drain(got, b), iota(133, 134));
  q.push(b[200]);  // appended after the remainder of batch2
  got = q.pop_batch(false);
  EXPECT_EQ(drain(got, b), iota(134, 135));
  got = q.pop_batch(true);
  EXPECT_EQ(drain(got, b), iota(200, 201));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0);
  EXPECT_EQ(q.pop_batch(false).size, 0);
  // Usable again after being emptied.
  q.push(b[250]);
  got = q.pop_batch(false);
  EXPECT_EQ(drain(got, b), iota(250, 251));
}

// batch_stack (free G records): a LIFO of batches.
TEST(BatchStack, LifoOfBatches) {
  g_block b(20);
  goro::detail::batch_stack s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.pop_batch(false).size, 0);
  g_list a = make_list(b, 0, 5), c = make_list(b, 5, 8);
  s.push_batch(a);
  EXPECT_EQ(a.size, 0);
  s.push_batch(c);
  g_list none;
  s.push_batch(none);
  EXPECT_FALSE(s.empty());
  g_list got = s.pop_batch(true);
  EXPECT_EQ(drain(got, b), iota(5, 6));
  got = s.pop_batch(false);
  EXPECT_EQ(got.tail, b[7]);
  EXPECT_EQ(drain(got, b), iota(6, 8));
  got = s.pop_batch(false);
  EXPECT_EQ(got.size, 5);
  EXPECT_EQ(drain(got, b), iota(0, 5));
  EXPECT_TRUE(s.empty());
}

TEST(GlobalRunq, IfEmptyLocked) {
  g_block b(1);
  global_runq q;
  int calls = 0;
  EXPECT_TRUE(q.if_empty_locked([&] { ++calls; }));
  EXPECT_EQ(calls, 1);
  q.push(b[0]);
  EXPECT_FALSE(q.if_empty_locked([&] { ++calls; }));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(q.pop_batch(true).size, 1);
  EXPECT_TRUE(q.if_empty_locked([&] { ++calls; }));
  EXPECT_EQ(calls, 2);
}

// Many producers (single Gs and batches), many consumers (single Gs and
// whole batches): every G comes out exactly once, and each producer's Gs come
// out in the order it pushed them.
TEST(GlobalRunq, ConcurrentConservationAndPerProducerOrder) {
  constexpr int producers = 3, consumers = 2;
  const std::size_t per = goro_test::sanitized ? 5000 : 30000;
  g_block b(per * producers);
  global_runq q;
  std::atomic<std::size_t> consumed{0};
  std::unique_ptr<std::atomic<int>[]> seen(new std::atomic<int>[per * producers]);
  for (std::size_t i = 0; i < per * producers; ++i) seen[i].store(0);
  std::atomic<int> order_errors{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p) {
    ts.emplace_back([&, p] {
      std::size_t base = static_cast<std::size_t>(p) * per;
      for (std::size_t i = 0; i < per;) {
        if (i % 5 == 0) {
          g_list batch;
          for (std::size_t j = 0; j < 4 && i < per; ++j, ++i) batch.push_back(b[base + i]);
          q.push_batch(batch);
        } else {
          q.push(b[base + i++]);
        }
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    ts.emplace_back([&] {
      std::vector<std::size_t> last(producers, SIZE_MAX);
      while (consumed.load() < per * producers) {
        g_list got = q.pop_batch(consumed.load() % 3 == 0);
        while (G* g = got.pop_front()) {
          std::size_t x = b.index(g);
          seen[x].fetch_add(1);
          std::size_t p = x / per;
          if (last[p] != SIZE_MAX && x <= last[p]) order_errors.fetch_add(1);
          last[p] = x;
          consumed.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  for (std::size_t i = 0; i < per * producers; ++i) ASSERT_EQ(seen[i].load(), 1) << i;
  EXPECT_EQ(order_errors.load(), 0);
  EXPECT_TRUE(q.empty());
}

// ---------------------------------------------------------------------------
// TestStealOrder: every enumeration visits 0..n-1 exactly once, and the seeds
// 0 .. n*len(coprimes)-1 give distinct (start, stride) pairs.

TEST(RandomOrder, VisitsEveryIndexOnce) {
  random_order ord;
  for (std::uint32_t n = 1; n <= 64; ++n) {
    ord.reset(n);
    ASSERT_EQ(ord.count(), n);
    std::vector<std::uint32_t> seeds;
    for (std::uint32_t s = 0; s < n * n + 64; ++s) seeds.push_back(s);
    for (std::uint32_t s : {0xFFFFFFFFu, 0xFFFFFFFEu, 0x80000000u, 0x9E3779B9u, 0x12345678u})
      seeds.push_back(s);
    std::uint32_t x = 1;
    for (int r = 0; r < 500; ++r) {  // xorshift, like the scheduler's fastrand
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      seeds.push_back(x);
    }
    for (std::uint32_t seed : seeds) {
      std::vector<int> checked(n, 0);
      for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t p = ord.at(seed, i);
        ASSERT_LT(p, n) << "n " << n << " seed " << seed;
        ASSERT_EQ(checked[p]++, 0) << "duplicate during enumeration: n " << n << " seed " << seed;
      }
    }
  }
}

TEST(RandomOrder, DistinctStartAndStride) {
  random_order ord;
  for (std::uint32_t n = 2; n <= 64; ++n) {
    ord.reset(n);
    std::set<std::uint32_t> strides;
    for (std::uint32_t seed = 0; seed < 64 * n; ++seed)
      strides.insert((ord.at(seed, 1) + n - ord.at(seed, 0)) % n);
    std::uint32_t ncoprimes = static_cast<std::uint32_t>(strides.size());
    if (n >= 3) {
      ASSERT_GE(ncoprimes, 2u) << "too few coprimes for n " << n;
    }
    std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (std::uint32_t seed = 0; seed < n * ncoprimes; ++seed) {
      std::uint32_t start = ord.at(seed, 0);
      std::uint32_t stride = (ord.at(seed, 1) + n - start) % n;
      EXPECT_TRUE(pairs.emplace(start, stride).second)
          << "duplicate pos+inc: n " << n << " seed " << seed;
    }
  }
}

}  // namespace
