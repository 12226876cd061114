// The per-P timer heap (src/timer) without the scheduler: timers fire in
// the order of their fire time whether they sit in the 4-ary heap or in the
// FIFO that takes never-removed one-shot timers (sleep's) arriving in order;
// next_when is the earliest of both; removal and teardown see every timer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "timer/timer.hpp"

namespace {

using goro::detail::timer;
using goro::detail::timer_heap;

struct recorded_timer : timer {
  int id = 0;
  std::vector<int>* fired = nullptr;
  std::vector<int>* discarded = nullptr;
};

// Timers hold an atomic: they are made in place, never copied.
void init(recorded_timer& t, int id, std::int64_t when, bool removable, std::vector<int>* fired,
          std::vector<int>* discarded = nullptr) {
  t.id = id;
  t.when = when;
  t.removable = removable;
  t.fired = fired;
  t.discarded = discarded;
  t.fire = [](timer* self, void*, std::int64_t) {
    auto* r = static_cast<recorded_timer*>(self);
    r->fired->push_back(r->id);
  };
  t.discard = [](timer* self) {
    auto* r = static_cast<recorded_timer*>(self);
    if (r->discarded) r->discarded->push_back(r->id);
  };
}

TEST(TimerHeap, FiresInWhenOrderAcrossHeapAndFifo) {
  timer_heap h;
  std::vector<int> fired;
  recorded_timer ts[6];
  init(ts[0], 0, 100, false, &fired);  // FIFO
  init(ts[1], 1, 300, false, &fired);  // FIFO (in order)
  init(ts[2], 2, 200, false, &fired);  // earlier than the FIFO's last: heap
  init(ts[3], 3, 150, true, &fired);   // removable: heap
  init(ts[4], 4, 300, false, &fired);  // equal to the FIFO's last: FIFO
  init(ts[5], 5, 50, true, &fired);    // removable, earliest
  for (auto& t : ts) h.add(&t);
  EXPECT_EQ(h.next_when.load(), 50);
  EXPECT_EQ(h.run_due(99), 1);
  EXPECT_EQ(h.next_when.load(), 100);
  EXPECT_EQ(h.run_due(250), 3);
  EXPECT_EQ(h.next_when.load(), 300);
  EXPECT_EQ(h.run_due(1000), 2);
  EXPECT_EQ(h.next_when.load(), 0);
  EXPECT_EQ(fired, (std::vector<int>{5, 0, 3, 2, 1, 4}));
}

TEST(TimerHeap, RandomMixMatchesSortedOrder) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    timer_heap h;
    std::vector<int> fired;
    const int n = 200;
    auto ts = std::make_unique<recorded_timer[]>(n);
    std::int64_t base = 1000;
    for (int i = 0; i < n; ++i) {
      // Mostly increasing, like sleeps of one duration, with some out of order.
      base += static_cast<std::int64_t>(rng() % 10);
      std::int64_t when = rng() % 4 == 0 ? 1000 + static_cast<std::int64_t>(rng() % 2000) : base;
      init(ts[static_cast<std::size_t>(i)], i, when, rng() % 3 == 0, &fired);
    }
    for (int i = 0; i < n; ++i) h.add(&ts[static_cast<std::size_t>(i)]);
    // Remove some removable ones; they must never fire.
    std::vector<bool> removed(n, false);
    for (int i = 0; i < n; i += 7)
      if (ts[static_cast<std::size_t>(i)].removable) removed[static_cast<std::size_t>(i)] = h.remove(&ts[static_cast<std::size_t>(i)]);
    for (std::int64_t now = 1000; h.next_when.load() != 0; now += 37) h.run_due(now);
    std::int64_t last = 0;
    std::size_t expected = 0;
    for (int i = 0; i < n; ++i) expected += removed[static_cast<std::size_t>(i)] ? 0 : 1;
    ASSERT_EQ(fired.size(), expected);
    for (int id : fired) {
      EXPECT_FALSE(removed[static_cast<std::size_t>(id)]);
      std::int64_t when = ts[static_cast<std::size_t>(id)].when;
      EXPECT_LE(last, when) << "timer " << id << " fired out of order";
      last = when;
    }
  }
}

// As in use: sleeps arrive while earlier ones fire, so the FIFO never
// empties and compacts its consumed front along the way.
TEST(TimerHeap, InterleavedAddAndRunKeepsOrderThroughCompaction) {
  timer_heap h;
  std::vector<int> fired;
  const int n = 5000;
  auto ts = std::make_unique<recorded_timer[]>(n);
  std::int64_t now = 0;
  int added = 0;
  bool compacted = false;
  while (added < n || h.next_when.load() != 0) {
    // Ten sleeps of one duration (FIFO), then a shorter one (heap).
    for (int k = 0; k < 10 && added < n; ++k, ++added) {
      recorded_timer& t = ts[static_cast<std::size_t>(added)];
      init(t, added, now + 1000, false, &fired);
      h.add(&t);
    }
    if (added < n) {
      recorded_timer& t = ts[static_cast<std::size_t>(added)];
      init(t, added, now + 500, false, &fired);
      h.add(&t);
      ++added;
    }
    now += 100;
    std::size_t head_before = h.fifo_head;
    h.run_due(now);
    if (h.fifo_head < head_before && !h.fifo.empty()) compacted = true;
    ASSERT_LT(now, 100'000'000) << "timers never drained";
  }
  EXPECT_TRUE(compacted);
  ASSERT_EQ(fired.size(), static_cast<std::size_t>(n));
  std::int64_t last = 0;
  for (int id : fired) {
    std::int64_t when = ts[static_cast<std::size_t>(id)].when;
    EXPECT_LE(last, when) << "timer " << id << " fired out of order";
    last = when;
  }
}

TEST(TimerHeap, DiscardAllReachesBothHeapAndFifo) {
  timer_heap h;
  std::vector<int> fired, discarded;
  recorded_timer ts[3];
  init(ts[0], 0, 100, false, &fired, &discarded);  // FIFO
  init(ts[1], 1, 50, false, &fired, &discarded);   // heap
  init(ts[2], 2, 70, true, &fired, &discarded);    // heap
  for (auto& t : ts) h.add(&t);
  h.discard_all();
  EXPECT_EQ(h.next_when.load(), 0);
  EXPECT_EQ(h.run_due(1000), 0);
  EXPECT_TRUE(fired.empty());
  std::sort(discarded.begin(), discarded.end());
  EXPECT_EQ(discarded, (std::vector<int>{0, 1, 2}));
}

}  // namespace
