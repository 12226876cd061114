// Port of golang/go src/runtime/chan_test.go: TestChan, TestNonblockRecvRace,
// TestNonblockSelectRace, TestNonblockSelectRace2, TestSelfSelect,
// TestSelectStress, TestSelectFairness, TestChanSendInterface,
// TestPseudoRandomSend, TestMultiConsumer, TestSelectDuplicateChannel, and
// TestShrinkStackDuringBlockedSend / TestSelectStackAdjust as "values on a
// blocked goroutine's (deep) stack stay valid" (goro's stacks never move).
#include <any>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using namespace std::chrono_literals;
using conformance::Procs;
using conformance::scaled;
using goro::chan;

// ---------------------------------------------------------------------------
// TestChan: for many capacities: a receive on an empty channel blocks (both
// receive forms), and the non-blocking forms do not; a send on a full
// channel blocks and the non-blocking send does not; a closed channel
// yields its buffered values in order and then (zero, false); close wakes a
// blocked receiver; values arrive in FIFO order; 4 senders x L values reach
// 4 receivers with each value received exactly 4 times; len and cap.
// "Blocks" is checked after a 1 ms sleep (the sleep is the test's subject:
// nothing may happen during it).

void chan_cap_round(std::size_t cap) {
  const std::string at = "chan[" + std::to_string(cap) + "]";
  goro::wait_group wg;
  {
    auto c = goro::make_chan<int>(cap);
    std::atomic<bool> recv1{false}, recv2{false};
    wg.add(2);
    goro::go([&, c] {
      c.recv();
      recv1 = true;
      wg.done();
    });
    goro::go([&, c] {
      auto v = c.recv();
      (void)v.has_value();
      recv2 = true;
      wg.done();
    });
    goro::sleep(1ms);
    EXPECT_FALSE(recv1.load() || recv2.load()) << at << ": receive from empty chan";
    // Non-blocking receives do not block.
    EXPECT_EQ(goro::select(goro::recv_case(c), goro::default_case()), 1) << at;
    EXPECT_EQ(goro::select(goro::recv_case(c, [](std::optional<int>) {}), goro::default_case()), 1) << at;
    EXPECT_EQ(c.try_recv().status, goro::recv_status::empty) << at;
    c.send(0);
    c.send(0);
    wg.wait();
  }
  {
    auto c = goro::make_chan<int>(cap);
    for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
    std::atomic<bool> sent{false};
    wg.add(1);
    goro::go([&, c] {
      c.send(0);
      sent = true;
      wg.done();
    });
    goro::sleep(1ms);
    EXPECT_FALSE(sent.load()) << at << ": send to full chan";
    // The non-blocking send does not block.
    EXPECT_EQ(goro::select(goro::send_case(c, 0), goro::default_case()), 1) << at;
    EXPECT_FALSE(c.try_send(0)) << at;
    c.recv();
    wg.wait();
  }
  {
    // A closed channel gives its buffered values, then (zero, false).
    auto c = goro::make_chan<int>(cap);
    for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
    c.close();
    for (std::size_t i = 0; i < cap; ++i) EXPECT_EQ(c.recv(), static_cast<int>(i)) << at;
    EXPECT_EQ(c.recv().value_or(0), 0) << at;
    EXPECT_EQ(c.recv(), std::nullopt) << at;
  }
  {
    // close unblocks a receive.
    auto c = goro::make_chan<int>(cap);
    auto done = goro::make_chan<bool>();
    goro::go([c, done] {
      auto v = c.recv();
      done.send(!v.has_value());
    });
    goro::sleep(1ms);
    c.close();
    EXPECT_EQ(done.recv(), true) << at << ": received non zero from closed chan";
  }
  {
    // 100 integers arrive uncorrupted in FIFO order (both receive forms).
    auto c = goro::make_chan<int>(cap);
    for (int form = 0; form < 2; ++form) {
      goro::go([c] {
        for (int i = 0; i < 100; ++i) c.send(i);
      });
      for (int i = 0; i < 100; ++i) {
        auto v = c.recv();
        ASSERT_TRUE(v.has_value()) << at << ": receive failed, expected " << i;
        EXPECT_EQ(*v, i) << at;
      }
    }
    // 4 goroutines send L integers; 4 receive L each; every value is
    // received exactly 4 times.
    const int p = 4;
    const int l = static_cast<int>(scaled(1000, 5));
    for (int k = 0; k < p; ++k) {
      goro::go([c, l] {
        for (int i = 0; i < l; ++i) c.send(i);
      });
    }
    auto done = goro::make_chan<std::vector<int>>();
    for (int k = 0; k < p; ++k) {
      goro::go([c, done, l] {
        std::vector<int> recv(static_cast<std::size_t>(l), 0);
        for (int i = 0; i < l; ++i) ++recv[static_cast<std::size_t>(*c.recv())];
        done.send(std::move(recv));
      });
    }
    std::vector<int> recv(static_cast<std::size_t>(l), 0);
    for (int k = 0; k < p; ++k) {
      auto part = *done.recv();
      for (int i = 0; i < l; ++i) recv[static_cast<std::size_t>(i)] += part[static_cast<std::size_t>(i)];
    }
    for (int i = 0; i < l; ++i) EXPECT_EQ(recv[static_cast<std::size_t>(i)], p) << at << " value " << i;
  }
  {
    auto c = goro::make_chan<int>(cap);
    EXPECT_EQ(c.len(), 0u) << at;
    EXPECT_EQ(c.cap(), cap) << at;
    for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
    EXPECT_EQ(c.len(), cap) << at;
    EXPECT_EQ(c.cap(), cap) << at;
  }
}

class ChanRuntime : public Procs {};
CONFORMANCE_PROCS(ChanRuntime, 1, 2, 4);

TEST_P(ChanRuntime, Chan) {
  go_run([] {
    // Go: every capacity below 200 (20 in -short mode).
    for (std::size_t cap = 0; cap < 20; ++cap) chan_cap_round(cap);
    for (std::size_t cap : {50, 100, 199}) chan_cap_round(cap);
  });
}

// ---------------------------------------------------------------------------
// TestNonblockRecvRace: a non-blocking receive on a 1-buffered channel that
// holds a value must succeed even while the channel is being closed.

TEST_P(ChanRuntime, NonblockRecvRace) {
  const long n = scaled(10000);
  go_run([n] {
    std::atomic<long> not_ready{0};
    goro::wait_group wg;
    for (long i = 0; i < n; ++i) {
      auto c = goro::make_chan<int>(1);
      c.send(1);
      wg.add(1);
      goro::go([c, &not_ready, &wg] {
        goro::select(goro::recv_case(c), goro::default_case([&] { not_ready.fetch_add(1); }));
        wg.done();
      });
      c.close();
      c.recv();
    }
    wg.wait();
    EXPECT_EQ(not_ready.load(), 0) << "chan is not ready";
  });
}

// TestNonblockSelectRace: the select sees all its channels at one instant:
// from the moment the goroutine exists, c1 or c2 is ready at all times
// (c2 is filled before c1 is drained), so its default must never run.
// TestNonblockSelectRace2: the same with close(c2) for c2 <- 1.

template <bool Close>
void nonblock_select_race(long n) {
  auto done = goro::make_chan<bool>(1);
  long defaults = 0;
  for (long i = 0; i < n; ++i) {
    auto c1 = goro::make_chan<int>(1);
    auto c2 = goro::make_chan<int>(Close ? 0 : 1);
    c1.send(1);
    goro::go([c1, c2, done] {
      bool ok = true;
      goro::select(goro::recv_case(c1), goro::recv_case(c2), goro::default_case([&] { ok = false; }));
      done.send(ok);
    });
    if constexpr (Close) {
      c2.close();
    } else {
      c2.send(1);
    }
    goro::select(goro::recv_case(c1), goro::default_case());
    if (!*done.recv()) ++defaults;
  }
  EXPECT_EQ(defaults, 0) << "no chan is ready";
}

TEST_P(ChanRuntime, NonblockSelectRace) {
  const long n = scaled(50000, 25);
  go_run([n] { nonblock_select_race<false>(n); });
}

TEST_P(ChanRuntime, NonblockSelectRace2) {
  const long n = scaled(50000, 25);
  go_run([n] { nonblock_select_race<true>(n); });
}

// ---------------------------------------------------------------------------
// TestSelfSelect: two goroutines each select between sending on and
// receiving from one channel, 1000 times; nothing deadlocks, and on an
// unbuffered channel a goroutine never receives its own value.

TEST_P(ChanRuntime, SelfSelect) {
  go_run([] {
    for (std::size_t cap : {0, 10}) {
      goro::wait_group wg;
      wg.add(2);
      auto c = goro::make_chan<int>(cap);
      std::atomic<int> self_receives{0};
      for (int p = 0; p < 2; ++p) {
        goro::go([&, c, p, cap] {
          auto check = [&](std::optional<int> v) {
            if (cap == 0 && *v == p) self_receives.fetch_add(1);
          };
          for (int i = 0; i < 1000; ++i) {
            if (p == 0 || i % 2 == 0) {
              goro::select(goro::send_case(c, p), goro::recv_case(c, check));
            } else {
              goro::select(goro::recv_case(c, check), goro::send_case(c, p));
            }
          }
          wg.done();
        });
      }
      wg.wait();
      EXPECT_EQ(self_receives.load(), 0) << "self receive, cap " << cap;
    }
  });
}

// ---------------------------------------------------------------------------
// TestSelectStress: four channels (capacities 0, 0, 2, 3); per channel one
// goroutine sends N values and one receives N; one goroutine sends N on
// each through one 4-case select and one receives N from each through
// another, disabling a case (nil channel) once it has done N. Everything
// must finish. Go runs it with GOMAXPROCS=10.

void select_stress(long n) {
  std::array<chan<int>, 4> c{goro::make_chan<int>(), goro::make_chan<int>(), goro::make_chan<int>(2),
                             goro::make_chan<int>(3)};
  goro::wait_group wg;
  wg.add(10);
  for (int k = 0; k < 4; ++k) {
    goro::go([&wg, ch = c[static_cast<std::size_t>(k)], n] {
      for (long i = 0; i < n; ++i) ch.send(0);
      wg.done();
    });
    goro::go([&wg, ch = c[static_cast<std::size_t>(k)], n] {
      for (long i = 0; i < n; ++i) ch.recv();
      wg.done();
    });
  }
  goro::go([&wg, c, n] {
    std::array<long, 4> cnt{};
    auto c1 = c;
    auto on = [&](std::size_t k) {
      return [&, k] {
        if (++cnt[k] == n) c1[k] = {};
      };
    };
    for (long i = 0; i < 4 * n; ++i) {
      goro::select(goro::send_case(c1[3], 0, on(3)), goro::send_case(c1[2], 0, on(2)),
                   goro::send_case(c1[0], 0, on(0)), goro::send_case(c1[1], 0, on(1)));
    }
    wg.done();
  });
  goro::go([&wg, c, n] {
    std::array<long, 4> cnt{};
    auto c1 = c;
    auto on = [&](std::size_t k) {
      return [&, k](auto) {
        if (++cnt[k] == n) c1[k] = {};
      };
    };
    for (long i = 0; i < 4 * n; ++i) {
      goro::select(goro::recv_case(c1[0], on(0)), goro::recv_case(c1[1], on(1)),
                   goro::recv_case(c1[2], on(2)), goro::recv_case(c1[3], on(3)));
    }
    wg.done();
  });
  wg.wait();
}

TEST_P(ChanRuntime, SelectStress) {
  const long n = scaled(20000, 10);
  go_run([n] { select_stress(n); });
}

TEST(ChanRuntimeProcs10, SelectStress) {
  const long n = scaled(20000, 10);
  conformance::run(10, [n] { select_stress(n); });
}

// ---------------------------------------------------------------------------
// TestSelectFairness: two always-ready channels (and two never-ready ones):
// over 10000 selects the split between the ready ones must be within the
// six-nines margin of 50/50.

TEST_P(ChanRuntime, SelectFairness) {
  go_run([] {
    const int trials = 10000;
    auto c1 = goro::make_chan<std::uint8_t>(trials + 1);
    auto c2 = goro::make_chan<std::uint8_t>(trials + 1);
    for (int i = 0; i < trials + 1; ++i) {
      c1.send(1);
      c2.send(2);
    }
    auto c3 = goro::make_chan<std::uint8_t>();
    auto c4 = goro::make_chan<std::uint8_t>();
    auto out = goro::make_chan<std::uint8_t>();
    auto done = goro::make_chan<std::uint8_t>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([=, &wg] {
      for (;;) {
        std::uint8_t b = 0;
        auto take = [&](std::optional<std::uint8_t> v) { b = *v; };
        goro::select(goro::recv_case(c3, take), goro::recv_case(c4, take), goro::recv_case(c1, take),
                     goro::recv_case(c2, take));
        bool stop = false;
        goro::select(goro::send_case(out, b), goro::recv_case(done, [&](auto) { stop = true; }));
        if (stop) break;
      }
      wg.done();
    });
    int cnt1 = 0, cnt2 = 0;
    for (int i = 0; i < trials; ++i) {
      std::uint8_t b = *out.recv();
      if (b == 1) {
        ++cnt1;
      } else if (b == 2) {
        ++cnt2;
      } else {
        ADD_FAILURE() << "unexpected value " << int(b) << " on channel";
      }
    }
    double r = double(cnt1) / trials;
    double e = std::abs(r - 0.5);
    EXPECT_LE(e, 4.891676 / (2 * std::sqrt(double(trials))))
        << "unfair select: in " << trials << " trials, results were " << cnt1 << ", " << cnt2;
    done.close();
    wg.wait();
  });
}

// ---------------------------------------------------------------------------
// TestChanSendInterface: selects sending dynamically typed values (Go: an
// interface holding a pointer) on a full and a non-full channel.

TEST_P(ChanRuntime, ChanSendInterface) {
  go_run([] {
    struct mt {};
    auto m = std::make_shared<mt>();
    auto c = goro::make_chan<std::any>(1);
    c.send(m);
    goro::select(goro::send_case(c, std::any(m)), goro::default_case());
    goro::select(goro::send_case(c, std::any(m)), goro::send_case(c, std::any(std::make_shared<mt>())),
                 goro::default_case());
    auto v = c.recv();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(std::any_cast<std::shared_ptr<mt>>(*v), m);
    EXPECT_EQ(m.use_count(), 2);  // m and the copy just received; nothing else kept one
  });
}

// TestPseudoRandomSend: a two-case select sending 1 or 0 on one channel,
// 100 times: each value must be chosen more than 10% of the time.

TEST_P(ChanRuntime, PseudoRandomSend) {
  go_run([] {
    const int n = 100;
    for (std::size_t cap : {std::size_t{0}, std::size_t{n}}) {
      auto c = goro::make_chan<int>(cap);
      std::vector<int> l(n);
      auto finished = goro::make_chan<bool>();
      goro::go([&, c, finished] {
        for (int i = 0; i < n; ++i) {
          goro::yield();
          l[static_cast<std::size_t>(i)] = *c.recv();
        }
        finished.send(true);
      });
      for (int i = 0; i < n; ++i) goro::select(goro::send_case(c, 1), goro::send_case(c, 0));
      finished.recv();
      int n0 = 0, n1 = 0;
      for (int v : l) {
        n0 += (v + 1) % 2;
        n1 += v;
      }
      EXPECT_GT(n0, n / 10) << "want pseudorandom, got " << n0 << " zeros and " << n1
                            << " ones (chan cap " << cap << ")";
      EXPECT_GT(n1, n / 10) << "want pseudorandom, got " << n0 << " zeros and " << n1
                            << " ones (chan cap " << cap << ")";
    }
  });
}

// ---------------------------------------------------------------------------
// TestMultiConsumer: 23 workers range over a shared queue, yielding now and
// then, and forward to a results channel; the feeder closes the queue, then
// the results once the workers are done. The count and sum must match.

TEST_P(ChanRuntime, MultiConsumer) {
  const long niter = scaled(271828, 10);
  go_run([niter] {
    const int nwork = 23;
    const std::array<int, 10> pn{2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
    auto q = goro::make_chan<int>(nwork * 3);
    auto r = goro::make_chan<int>(nwork * 3);
    goro::wait_group wg;
    for (int i = 0; i < nwork; ++i) {
      wg.add(1);
      goro::go([&, q, r](int w) {
        for (int v : q) {
          // Mess with the FIFO-ish nature of range.
          if (pn[static_cast<std::size_t>(w) % pn.size()] == v) goro::yield();
          r.send(v);
        }
        wg.done();
      }, i);
    }
    long expect = 0;
    goro::go([&, q, r] {
      for (long i = 0; i < niter; ++i) {
        int v = pn[static_cast<std::size_t>(i) % pn.size()];
        expect += v;
        q.send(v);
      }
      q.close();
      wg.wait();
      r.close();
    });
    long n = 0, s = 0;
    for (int v : r) {
      ++n;
      s += v;
    }
    EXPECT_EQ(n, niter);
    EXPECT_EQ(s, expect);
  });
}

// ---------------------------------------------------------------------------
// TestSelectDuplicateChannel: goroutine A selects on (c, c, d); B receives on
// c; d <- 7 wakes A, which must unlink both of its waiters from c without
// corrupting c's queue, so that c <- 8 then wakes B. (Go orders A before B
// with sleeps; here yields let each block first when they can, and the
// outcome does not depend on it.)

TEST_P(ChanRuntime, SelectDuplicateChannel) {
  go_run([] {
    for (int round = 0; round < 100; ++round) {
      auto c = goro::make_chan<int>();
      auto d = goro::make_chan<int>();
      auto e = goro::make_chan<int>();
      goro::go([c, d, e] {
        goro::select(goro::recv_case(c), goro::recv_case(c), goro::recv_case(d));
        e.send(9);
      });
      conformance::yield_n(3);
      auto b_done = goro::make_chan<int>();
      goro::go([c, b_done] {
        b_done.send(*c.recv());
      });
      conformance::yield_n(3);
      d.send(7);
      EXPECT_EQ(e.recv(), 9);
      c.send(8);
      EXPECT_EQ(b_done.recv(), 8);
    }
  });
}

// ---------------------------------------------------------------------------
// TestShrinkStackDuringBlockedSend / TestSelectStackAdjust: Go moves stacks
// under blocked goroutines; goro never does, but a blocked goroutine's
// values live on its stack (a sender's value, a receive slot, select case
// storage), so they must stay valid however deep that stack is and however
// long it stays blocked.

template <int Depth>
[[gnu::noinline]] void blocked_deep(chan<std::array<int, 64>> in, chan<std::array<int, 64>> out,
                                    chan<int> sel) {
  std::array<char, 512> pad{};
  pad[0] = static_cast<char>(Depth);
  if constexpr (Depth > 0) {
    blocked_deep<Depth - 1>(in, out, sel);
  } else {
    for (int round = 0; round < 20; ++round) {
      std::array<int, 64> v{};
      for (int i = 0; i < 64; ++i) v[static_cast<std::size_t>(i)] = round * 1000 + i;
      out.send(v);  // blocks: the value is read from this frame
      auto got = in.recv();  // blocks: received into this frame
      for (int i = 0; i < 64; ++i) EXPECT_EQ((*got)[static_cast<std::size_t>(i)], -(round * 1000 + i));
      int x = -1;
      goro::select(goro::recv_case(sel, [&](std::optional<int> s) { x = *s; }),
                   goro::send_case(out, v, [] { ADD_FAILURE() << "nobody receives now"; }));
      EXPECT_EQ(x, round);
    }
  }
  EXPECT_EQ(pad[0], static_cast<char>(Depth));
}

TEST_P(ChanRuntime, ValuesOnBlockedDeepStack) {
  go_run([] {
    auto in = goro::make_chan<std::array<int, 64>>();
    auto out = goro::make_chan<std::array<int, 64>>();
    auto sel = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([&wg, in, out, sel] {
      blocked_deep<100>(in, out, sel);  // about 50 KB of stack
      wg.done();
    });
    for (int round = 0; round < 20; ++round) {
      goro::yield();  // let it block first when it can
      auto v = *out.recv();
      std::array<int, 64> neg{};
      for (int i = 0; i < 64; ++i) {
        EXPECT_EQ(v[static_cast<std::size_t>(i)], round * 1000 + i);
        neg[static_cast<std::size_t>(i)] = -v[static_cast<std::size_t>(i)];
      }
      goro::yield();
      in.send(neg);
      goro::yield();
      sel.send(round);
    }
    wg.wait();
  });
}

}  // namespace
