// The runtime semaphore (src/sema): ports of sync/mutex_test.go
// TestSemaphore and runtime/sema_test.go TestSemaHandoff, plus the treap of
// addresses (many distinct addresses in one bucket, woken in any order), the
// lifo requeue the mutex uses, and the notify list's ticket order.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <vector>

#include "goro/goro.hpp"
#include "sema/sema.hpp"
#include "test_util.hpp"

namespace {

using goro::detail::sem_acquire;
using goro::detail::sem_nwait;
using goro::detail::sem_release;

class Sema : public ::testing::TestWithParam<int> {
 protected:
  goro::config cfg() const { return goro::config{.procs = GetParam()}; }
};
INSTANTIATE_TEST_SUITE_P(Procs, Sema, ::testing::Values(1, 2),
                         [](const auto& info) { return "procs" + std::to_string(info.param); });

// TestSemaphore: 10 goroutines x 1000 acquire/release on a count of 1.
TEST_P(Sema, Hammer) {
  goro::run(
      [] {
        std::atomic<std::uint32_t> s{1};
        int inside = 0, max_inside = 0;
        goro::wait_group wg;
        wg.add(10);
        for (int i = 0; i < 10; ++i) {
          goro::go([&] {
            for (int k = 0; k < 1000; ++k) {
              sem_acquire(&s, "test");
              max_inside = std::max(max_inside, ++inside);
              if (k % 7 == 0) goro::yield();
              --inside;
              sem_release(&s);
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(max_inside, 1);
        EXPECT_EQ(s.load(), 1u);
      },
      cfg());
}

// TestSemaHandoff: a release with handoff lets the waiter run before the
// releaser continues (Go requires it in at least 2/3 of the runs; with a
// goroutine readied into runnext and the releaser yielding behind it, goro
// should do it every time on a P of its own).
TEST_P(Sema, Handoff) {
  goro::run(
      [] {
        int ok = 0;
        const int runs = goro_test::sanitized ? 200 : 2000;
        for (int i = 0; i < runs; ++i) {
          std::atomic<std::uint32_t> sema{0};
          std::atomic<std::uint32_t> res{0};
          goro::wait_group wg;
          wg.add(1);
          goro::go([&] {
            sem_acquire(&sema, "test");
            std::uint32_t zero = 0;
            res.compare_exchange_strong(zero, 1);
            sem_release(&sema, true);
            wg.done();
          });
          while (sem_nwait(&sema) == 0) goro::yield();
          sem_release(&sema, true);
          std::uint32_t zero = 0;
          res.compare_exchange_strong(zero, 2);
          wg.wait();
          if (res.load() == 1) ++ok;
        }
        EXPECT_GE(ok * 3, runs * 2) << ok << " of " << runs << " handoffs ran the waiter first";
      },
      cfg());
}

// Many goroutines on many addresses (all in one bucket: addresses 251*8
// bytes apart share a bucket), released in random order: each wakes once.
TEST_P(Sema, ManyAddressesOneBucket) {
  goro::run(
      [] {
        constexpr int n = 300;
        constexpr std::size_t stride = 251 * 8 / sizeof(std::atomic<std::uint32_t>);
        auto words = std::make_unique<std::atomic<std::uint32_t>[]>(n * stride);
        std::atomic<int> woken{0};
        std::vector<std::atomic<int>> wakes(n);
        goro::wait_group started, finished;
        started.add(n);
        finished.add(2 * n);
        for (int i = 0; i < n; ++i) {
          for (int twice = 0; twice < 2; ++twice) {  // two waiters per address
            goro::go([&, i, twice] {
              if (twice == 0) started.done();
              sem_acquire(&words[static_cast<std::size_t>(i) * stride], "test");
              wakes[static_cast<std::size_t>(i)].fetch_add(1);
              woken.fetch_add(1);
              finished.done();
            });
          }
        }
        started.wait();
        ASSERT_TRUE(goro_test::yield_until([&] { return sem_nwait(&words[0]) == 2 * n; }));
        std::vector<int> order(n);
        for (int i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
        std::shuffle(order.begin(), order.end(), std::mt19937(7));
        for (int round = 0; round < 2; ++round)
          for (int i : order) sem_release(&words[static_cast<std::size_t>(i) * stride]);
        finished.wait();
        EXPECT_EQ(woken.load(), 2 * n);
        for (auto& w : wakes) EXPECT_EQ(w.load(), 2);
        EXPECT_EQ(sem_nwait(&words[0]), 0u);
      },
      cfg());
}

// FIFO per address, except a lifo waiter, which goes first.
TEST_P(Sema, FifoAndLifo) {
  goro::run(
      [] {
        std::atomic<std::uint32_t> s{0};
        std::vector<int> order;
        goro::mutex mu;
        goro::wait_group finished;
        auto waiter = [&](int id, bool lifo) {
          finished.add(1);
          goro::go([&, id, lifo] {
            sem_acquire(&s, "test", lifo);
            std::lock_guard lock(mu);
            order.push_back(id);
            finished.done();
          });
          std::uint32_t before = static_cast<std::uint32_t>(id);  // id = how many wait already
          ASSERT_TRUE(goro_test::yield_until([&] { return sem_nwait(&s) == before + 1; }));
        };
        waiter(0, false);
        waiter(1, false);
        waiter(2, true);   // to the front
        waiter(3, false);
        for (std::size_t i = 0; i < 4; ++i) {  // one at a time: wake order, not run order
          sem_release(&s);
          ASSERT_TRUE(goro_test::yield_until([&] {
            std::lock_guard lock(mu);
            return order.size() == i + 1;
          }));
        }
        finished.wait();
        std::lock_guard lock(mu);
        EXPECT_EQ(order, (std::vector<int>{2, 0, 1, 3}));
      },
      cfg());
}

// The notify list: a ticket taken after a notification is not woken by it.
TEST_P(Sema, NotifyListTickets) {
  goro::run(
      [] {
        goro::detail::notify_list l;
        std::uint32_t t0 = goro::detail::notify_list_add(&l);
        goro::detail::notify_list_notify_one(&l);  // notifies t0 before it waits
        std::uint32_t t1 = goro::detail::notify_list_add(&l);
        goro::detail::notify_list_wait(&l, t0, "test");  // returns at once
        std::atomic<bool> woke{false};
        goro::wait_group done;
        done.add(1);
        goro::go([&] {
          goro::detail::notify_list_wait(&l, t1, "test");
          woke = true;
          done.done();
        });
        for (int i = 0; i < 10; ++i) goro::yield();
        EXPECT_FALSE(woke.load());
        goro::detail::notify_list_notify_all(&l);
        done.wait();
        EXPECT_TRUE(woke.load());
        goro::detail::notify_list_notify_one(&l);  // nobody: not remembered
        std::uint32_t t2 = goro::detail::notify_list_add(&l);
        EXPECT_EQ(t2, t1 + 1);
        goro::detail::notify_list_notify_one(&l);
        goro::detail::notify_list_wait(&l, t2, "test");  // notified: returns
      },
      cfg());
}

}  // namespace
