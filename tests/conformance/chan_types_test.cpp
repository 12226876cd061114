// Channel behaviour a C++ port adds to Go's (Go has no move-only or
// non-trivially-destructible values, and no threads outside its runtime):
//  - element types: move-only (std::unique_ptr and a tracked type whose
//    live objects are counted), large (std::array<char, 4096>), empty;
//  - plain std::threads sending, receiving, selecting and closing, with
//    goroutines and with each other, with or without a runtime running;
//  - senders blocked when the channel is closed panic (goro::panic_error),
//    from goroutines and from plain threads; buffered values survive close.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using namespace std::chrono_literals;
using conformance::Procs;
using conformance::scaled;
using goro::chan;

// A move-only value that counts its live (not moved-from) instances.
std::atomic<long> tracked_live{0};

class tracked {
 public:
  explicit tracked(int v) : v_(v), live_(true) { tracked_live.fetch_add(1); }
  tracked(tracked&& o) noexcept : v_(o.v_), live_(std::exchange(o.live_, false)) {}
  tracked& operator=(tracked&& o) noexcept {
    if (this != &o) {
      if (live_) tracked_live.fetch_sub(1);
      v_ = o.v_;
      live_ = std::exchange(o.live_, false);
    }
    return *this;
  }
  tracked(const tracked&) = delete;
  tracked& operator=(const tracked&) = delete;
  ~tracked() {
    if (live_) tracked_live.fetch_sub(1);
  }
  int value() const { return v_; }
  bool live() const { return live_; }

 private:
  int v_;
  bool live_;
};

// ---------------------------------------------------------------------------
// Move-only elements.

class ChanTypes : public Procs {};
CONFORMANCE_PROCS(ChanTypes, 1, 2, 4);

TEST_P(ChanTypes, UniquePtrAcrossGoroutines) {
  go_run([] {
    for (std::size_t cap : {0, 1, 16}) {
      auto c = goro::make_chan<std::unique_ptr<int>>(cap);
      const int n = 1000;
      goro::go([c] {
        for (int i = 0; i < n; ++i) c.send(std::make_unique<int>(i));
        c.close();
      });
      int i = 0;
      for (std::unique_ptr<int>& p : c) {
        ASSERT_TRUE(p);
        EXPECT_EQ(*p, i++);
      }
      EXPECT_EQ(i, n);
    }
  });
}

TEST_P(ChanTypes, MoveOnlyNonBlockingAndSelect) {
  go_run([] {
    {
      auto c = goro::make_chan<std::unique_ptr<int>>(1);
      auto p = std::make_unique<int>(1);
      EXPECT_TRUE(c.try_send(p));
      EXPECT_EQ(p, nullptr);  // moved into the channel
      auto q = std::make_unique<int>(2);
      EXPECT_FALSE(c.try_send(q));  // full: q is not touched
      ASSERT_NE(q, nullptr);
      EXPECT_EQ(*q, 2);
      EXPECT_FALSE(c.try_send(std::move(q)));
      ASSERT_NE(q, nullptr) << "a failed try_send moved from its argument";
      auto r = c.try_recv();
      ASSERT_EQ(r.status, goro::recv_status::ok);
      EXPECT_EQ(**r.value, 1);
      EXPECT_EQ(c.try_recv().status, goro::recv_status::empty);
      // select: the value moves into the case, and into the channel only if
      // the case is chosen.
      int i = goro::select(goro::send_case(c, std::move(q)), goro::default_case());
      EXPECT_EQ(i, 0);
      std::unique_ptr<int> got;
      goro::select(goro::recv_case(c, [&](std::optional<std::unique_ptr<int>> v) { got = std::move(*v); }));
      ASSERT_NE(got, nullptr);
      EXPECT_EQ(*got, 2);
    }
    EXPECT_EQ(tracked_live.load(), 0);
    {
      auto c = goro::make_chan<tracked>(1);
      c.send(tracked(10));
      // Not chosen (the channel is full): the case's value is destroyed with
      // the case, once.
      int i = goro::select(goro::send_case(c, tracked(11)), goro::default_case());
      EXPECT_EQ(i, 1);
      EXPECT_EQ(tracked_live.load(), 1);
      // A nil channel's case likewise.
      i = goro::select(goro::send_case(chan<tracked>{}, tracked(12)), goro::default_case());
      EXPECT_EQ(i, 1);
      EXPECT_EQ(tracked_live.load(), 1);
      auto v = c.recv();
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(v->value(), 10);
      EXPECT_EQ(tracked_live.load(), 1);
    }
    EXPECT_EQ(tracked_live.load(), 0);
  });
}

TEST_P(ChanTypes, BufferedValuesDestroyedWithChannel) {
  go_run([] {
    {
      auto c = goro::make_chan<tracked>(8);
      for (int i = 0; i < 8; ++i) c.send(tracked(i));
      EXPECT_EQ(tracked_live.load(), 8);
      c.recv();  // one out, and destroyed at once
      EXPECT_EQ(tracked_live.load(), 7);
      c.close();
      EXPECT_EQ(c.recv()->value(), 1);  // buffered values survive close
      EXPECT_EQ(tracked_live.load(), 6);
    }  // the last handle goes: the 6 still buffered are destroyed
    EXPECT_EQ(tracked_live.load(), 0);
    // Wrapped around the ring buffer.
    {
      auto c = goro::make_chan<tracked>(4);
      for (int round = 0; round < 10; ++round) {
        for (int k = 0; k < 3; ++k) c.send(tracked(round * 3 + k));
        for (int k = 0; k < 3; ++k) EXPECT_EQ(c.recv()->value(), round * 3 + k);
      }
      c.send(tracked(1));
      c.send(tracked(2));
      EXPECT_EQ(tracked_live.load(), 2);
    }
    EXPECT_EQ(tracked_live.load(), 0);
  });
}

TEST_P(ChanTypes, TrackedThroughBlockedHandOff) {
  go_run([] {
    {
      auto c = goro::make_chan<tracked>();
      auto sel = goro::make_chan<tracked>(2);
      goro::wait_group wg;
      wg.add(2);
      goro::go([&wg, c] {
        for (int i = 0; i < 500; ++i) c.send(tracked(i));
        wg.done();
      });
      goro::go([&wg, sel] {
        for (int i = 0; i < 500; ++i) goro::select(goro::send_case(sel, tracked(i)));
        wg.done();
      });
      long sum = 0;
      for (int i = 0; i < 1000; ++i) {
        goro::select(goro::recv_case(c, [&](std::optional<tracked> v) { sum += v->value(); }),
                     goro::recv_case(sel, [&](std::optional<tracked> v) { sum += v->value(); }));
      }
      EXPECT_EQ(sum, 2 * 499 * 500 / 2);
      wg.wait();
    }
    EXPECT_EQ(tracked_live.load(), 0);
  });
}

// ---------------------------------------------------------------------------
// Large and empty elements.

using page = std::array<char, 4096>;

// A page carries its seed in its first bytes and a pattern derived from it.
page make_page(int seed) {
  page p;
  std::memcpy(p.data(), &seed, sizeof seed);
  for (std::size_t i = sizeof seed; i < p.size(); ++i)
    p[i] = static_cast<char>((seed * 31 + static_cast<int>(i)) & 0x7f);
  return p;
}

int page_seed(const page& p) {
  int seed;
  std::memcpy(&seed, p.data(), sizeof seed);
  return p == make_page(seed) ? seed : -1;
}

TEST_P(ChanTypes, LargeElements) {
  go_run([] {
    for (std::size_t cap : {0, 1, 8}) {
      auto c = goro::make_chan<page>(cap);
      auto d = goro::make_chan<page>(cap);
      const int n = 200;
      goro::go([c, d] {
        for (int i = 0; i < n; ++i) {
          if (i % 2 == 0) {
            c.send(make_page(i));
          } else {
            goro::select(goro::send_case(d, make_page(i)), goro::send_case(c, make_page(i)));
          }
        }
        c.close();
        d.close();
      });
      std::vector<int> seen(n, 0);
      const chan<page> nil;
      bool c_open = true, d_open = true;
      while (c_open || d_open) {
        auto take = [&](bool& open) {
          return [&](std::optional<page> v) {
            if (!v) {
              open = false;
              return;
            }
            int seed = page_seed(*v);
            ASSERT_TRUE(seed >= 0 && seed < n) << "corrupted page";
            ++seen[static_cast<std::size_t>(seed)];
          };
        };
        goro::select(goro::recv_case(c_open ? c : nil, take(c_open)),
                     goro::recv_case(d_open ? d : nil, take(d_open)));
      }
      for (int i = 0; i < n; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << "page " << i << ", cap " << cap;
    }
  });
}

struct empty {};

TEST_P(ChanTypes, EmptyElements) {
  go_run([] {
    for (std::size_t cap : {0, 1, 100}) {
      auto c = goro::make_chan<empty>(cap);
      auto d = goro::make_chan<empty>(cap);
      const int n = 1000;
      goro::wait_group wg;
      wg.add(2);
      goro::go([&wg, c] {
        for (int i = 0; i < n; ++i) c.send(empty{});
        wg.done();
      });
      goro::go([&wg, d] {
        for (int i = 0; i < n; ++i) goro::select(goro::send_case(d, empty{}));
        wg.done();
      });
      int got = 0;
      for (int i = 0; i < 2 * n; ++i) {
        goro::select(goro::recv_case(c, [&](std::optional<empty> v) { got += v ? 1 : 0; }),
                     goro::recv_case(d, [&](std::optional<empty> v) { got += v ? 1 : 0; }));
      }
      EXPECT_EQ(got, 2 * n);
      wg.wait();
      EXPECT_EQ(c.len(), 0u);
      if (cap > 0) {
        for (std::size_t i = 0; i < cap; ++i) EXPECT_TRUE(c.try_send(empty{}));
        EXPECT_FALSE(c.try_send(empty{}));
        EXPECT_EQ(c.len(), cap);
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Plain threads. A goroutine must not block its thread waiting for one (a
// join while the thread still needs a goroutine of this processor would
// deadlock at procs=1), so each thread reports on a channel, which the
// goroutine receives (parking), before it is joined.

TEST_P(ChanTypes, ThreadSendsAndReceives) {
  go_run([] {
    const int n = static_cast<int>(scaled(2000, 4));
    auto to_go = goro::make_chan<int>();
    auto from_go = goro::make_chan<int>(3);
    auto done = goro::make_chan<long>();
    std::thread t([=] {
      for (int i = 0; i < n; ++i) to_go.send(i);
      long sum = 0;
      for (int i = 0; i < n; ++i) sum += *from_go.recv();
      done.send(sum);
    });
    goro::go([=] {
      for (int i = 0; i < n; ++i) from_go.send(i);
    });
    for (int i = 0; i < n; ++i) EXPECT_EQ(to_go.recv(), i);
    EXPECT_EQ(done.recv(), long(n) * (n - 1) / 2);
    t.join();
  });
}

TEST_P(ChanTypes, ThreadSelects) {
  go_run([] {
    const int n = static_cast<int>(scaled(1000, 4));
    auto a = goro::make_chan<int>();
    auto b = goro::make_chan<int>(2);
    auto out = goro::make_chan<int>();
    auto done = goro::make_chan<int>();
    std::thread t([=] {
      int got = 0, sent = 0, defaults = 0;
      // Blocking selects: receive from goroutines on either channel, or send to one.
      while (got < 2 * n || sent < n) {
        goro::select(goro::recv_case(a, [&](auto) { ++got; }), goro::recv_case(b, [&](auto) { ++got; }),
                     goro::send_case(sent < n ? out : chan<int>{}, sent, [&] { ++sent; }));
      }
      // Non-blocking: nothing is ready any more.
      defaults += goro::select(goro::recv_case(a), goro::recv_case(b), goro::default_case()) == 2;
      done.send(defaults);
    });
    goro::go([=] {
      for (int i = 0; i < n; ++i) a.send(i);
    });
    goro::go([=] {
      for (int i = 0; i < n; ++i) goro::select(goro::send_case(b, i));
    });
    for (int i = 0; i < n; ++i) EXPECT_EQ(out.recv(), i);
    EXPECT_EQ(done.recv(), 1);
    t.join();
  });
}

TEST_P(ChanTypes, ThreadAndGoroutineClose) {
  go_run([] {
    // A thread's close wakes goroutines blocked in receive and in select.
    auto c = goro::make_chan<int>();
    auto results = goro::make_chan<int>(8);
    for (int i = 0; i < 4; ++i) {
      goro::go([=] { results.send(c.recv().has_value() ? -1 : 1); });
      goro::go([=] {
        int r = 0;
        goro::select(goro::recv_case(c, [&](std::optional<int> v) { r = v ? -1 : 1; }));
        results.send(r);
      });
    }
    conformance::yield_n(20);  // let them block (the outcome does not depend on it)
    std::thread closer([c] { c.close(); });
    int sum = 0;
    for (int i = 0; i < 8; ++i) sum += *results.recv();
    EXPECT_EQ(sum, 8);
    closer.join();

    // A goroutine's close wakes a thread blocked in receive, and a thread
    // blocked in send, which panics.
    auto r = goro::make_chan<int>();
    auto s = goro::make_chan<int>();
    auto report = goro::make_chan<std::string>(2);
    std::thread receiver([=] { report.send(r.recv().has_value() ? "value" : "closed"); });
    std::thread sender([=] {
      try {
        s.send(1);
        report.send("sent");
      } catch (const goro::panic_error& e) {
        report.send(std::string("panic: ") + e.what());
      }
    });
    goro::go([=] {
      r.close();
      s.close();
    });
    std::vector<std::string> got{*report.recv(), *report.recv()};
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got[0], "closed");
    // The sender either blocked and was woken by close, or found the channel
    // closed: Go panics with the same message either way.
    EXPECT_EQ(got[1], "panic: send on closed channel");
    receiver.join();
    sender.join();
  });
}

TEST_P(ChanTypes, ThreadRangeAndTimers) {
  go_run([] {
    auto c = goro::make_chan<int>(4);
    auto done = goro::make_chan<long>();
    std::thread t([=] {
      long sum = 0;
      for (int v : c) sum += v;
      // Timers work from a plain thread while a runtime runs.
      auto start = goro::clock::now();
      bool fired = false;
      goro::select(goro::recv_case(goro::after(5ms), [&](auto) { fired = true; }));
      EXPECT_TRUE(fired);
      EXPECT_GE(goro::clock::now() - start, 5ms);
      goro::sleep(1ms);  // from a plain thread: sleeps the thread
      done.send(sum);
    });
    for (int i = 1; i <= 100; ++i) c.send(i);
    c.close();
    EXPECT_EQ(done.recv(), 5050);
    t.join();
  });
}

// Two plain threads talking through goro channels, with a runtime running
// and without any runtime (channels need none: a thread blocks on its own).
void thread_ping_pong(int n) {
  auto ping = goro::make_chan<int>();
  auto pong = goro::make_chan<int>(1);
  std::thread a([=] {
    for (int i = 0; i < n; ++i) {
      ping.send(i);
      EXPECT_EQ(pong.recv(), i + 1);
    }
    ping.close();
  });
  std::thread b([=] {
    for (int v : ping) {
      int sent = -1;
      goro::select(goro::send_case(pong, v + 1, [&] { sent = v + 1; }));
      EXPECT_EQ(sent, v + 1);
    }
  });
  a.join();
  b.join();
}

TEST(ChanTypesThreads, PlainThreadsWithoutRuntime) { thread_ping_pong(static_cast<int>(scaled(2000, 4))); }

TEST_P(ChanTypes, PlainThreadsWithRuntimeRunning) {
  go_run([] {
    auto done = goro::make_chan<bool>();
    std::thread t([=] {
      thread_ping_pong(static_cast<int>(scaled(2000, 4)));
      done.send(true);
    });
    done.recv();
    t.join();
  });
}

// ---------------------------------------------------------------------------
// Senders blocked when the channel is closed panic with "send on closed
// channel" (the value they were sending is not delivered); receivers get
// the buffered values, then nullopt.

TEST_P(ChanTypes, BlockedSendersPanicOnClose) {
  go_run([] {
    for (std::size_t cap : {0, 2}) {
      auto c = goro::make_chan<tracked>(cap);
      for (std::size_t i = 0; i < cap; ++i) c.send(tracked(100 + static_cast<int>(i)));
      const int senders = 5;
      auto outcome = goro::make_chan<std::string>(senders);
      for (int i = 0; i < senders; ++i) {
        goro::go([=] {
          try {
            if (i % 2 == 0) {
              c.send(tracked(i));
            } else {
              goro::select(goro::send_case(c, tracked(i)));
            }
            outcome.send("sent");
          } catch (const goro::panic_error& e) {
            outcome.send(e.what());
          }
        });
      }
      conformance::yield_n(50);  // let them block (the outcome does not depend on it)
      c.close();
      for (int i = 0; i < senders; ++i) EXPECT_EQ(outcome.recv(), "send on closed channel") << "cap " << cap;
      for (std::size_t i = 0; i < cap; ++i) {
        auto v = c.recv();
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(v->value(), 100 + static_cast<int>(i));
      }
      EXPECT_FALSE(c.recv().has_value());
    }
    EXPECT_EQ(tracked_live.load(), 0) << "a value of a failed send leaked";
  });
}

}  // namespace
