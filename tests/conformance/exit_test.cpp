// goroutines still blocked when the main goroutine returns (Go: the
// program exits; goro: run() returns and discards them):
//  - a port of golang/go test/chan/select8.go;
//  - a runtime started after one that discarded blocked goroutines must work
//    like a fresh one (goro's run() may be called again).
#include <atomic>
#include <cstring>

#include "conformance.hpp"

namespace {

using conformance::Procs;
using goro::chan;

class Exit : public Procs {};
CONFORMANCE_PROCS(Exit, 1, 2, 4);

// ---------------------------------------------------------------------------
// select8.go: leaving a select case early (Go's `break` inside a case; here
// returning from the handler) in one-, two- and three-case selects with a
// default, while a goroutine sends forever; main then returns with that
// goroutine still blocked, and the runtime must end cleanly (and be
// startable again: the next parameterisation runs a fresh runtime).

TEST_P(Exit, BreakInCasesAndExitWithBlockedSender) {
  chan<int> ch = goro::make_chan<int>();  // outlives the runtime (see conformance.hpp)
  int rc = go_run_discarding([&ch] {
    chan<int>* c = &ch;
    goro::go([c] {
      for (;;) c->send(5);
    });
    volatile bool leave = true;
    auto unreachable_after_break = [&] {
      if (leave) return;
      ADD_FAILURE() << "unreachable";
    };

    goro::select(goro::recv_case(ch, [&](auto) { unreachable_after_break(); }));
    goro::select(goro::default_case([&] { unreachable_after_break(); }));
    int i = goro::select(goro::recv_case(ch, [&](auto) { unreachable_after_break(); }),
                         goro::default_case([&] { unreachable_after_break(); }));
    EXPECT_TRUE(i == 0 || i == 1);
    i = goro::select(goro::recv_case(ch, [&](auto) { unreachable_after_break(); }),
                     goro::send_case(ch, 10, [] { ADD_FAILURE() << "unreachable"; }),
                     goro::default_case([&] { unreachable_after_break(); }));
    EXPECT_NE(i, 1);
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

// A select woken (its winner claimed) but not yet resumed when main returns
// is discarded runnable, not waiting: its losing waiter must still be taken
// out of the other channel, which outlives the runtime. (At procs=1 the
// woken goroutine sits in main's runnext and never runs again; with more
// processors it may run first, and then there is nothing to take out.)
TEST_P(Exit, WokenSelectLeftAtExitLeavesNoWaiter) {
  chan<int> a = goro::make_chan<int>();  // both outlive the runtime
  chan<int> b = goro::make_chan<int>();
  for (int round = 0; round < 20; ++round) {
    int rc = go_run_discarding([&a, &b] {
      chan<int>* pa = &a;
      chan<int>* pb = &b;
      goro::go([pa, pb] { goro::select(goro::recv_case(*pa), goro::recv_case(*pb)); });
      goro::yield();  // it blocks in the select (at procs=1: surely)
      pa->send(1);    // claims its case on a; it is readied, not resumed
      return 0;
    });
    EXPECT_EQ(rc, 0);
    // No receiver is left on b: a stale one would take this value (its
    // select's frame is gone with the runtime's stacks).
    EXPECT_FALSE(b.try_send(7)) << "round " << round;
  }
}

// Goroutines blocked in frames with locals (which ASan surrounds with
// poisoned redzones) are discarded at the end of one runtime; the next
// runtime's goroutines, whose stacks may be mapped at the same addresses,
// must be able to use all of their stack. Under ASan this fails while the
// stacks of discarded goroutines are unmapped with their frames' poison
// still set (the next mapping at those addresses inherits it, and ASan
// reports a stack-buffer-overflow in a perfectly valid frame).

chan<int> never;  // nil: blocks forever, owned by nobody

[[gnu::noinline]] void block_in_deep_frame(goro::wait_group* started, int depth) {
  volatile char locals[256];
  locals[0] = static_cast<char>(depth);
  if (depth > 0) {
    block_in_deep_frame(started, depth - 1);
  } else {
    started->done();
    conformance::recv(never);
  }
  (void)locals[0];
}

[[gnu::noinline]] int use_stack(int depth) {
  volatile char buf[1024];
  std::memset(const_cast<char*>(buf), depth, sizeof buf);
  int sum = buf[depth % 1024];
  if (depth > 0) sum += use_stack(depth - 1);
  return sum;
}

TEST_P(Exit, RestartAfterDiscardedGoroutines) {
  static constexpr int n = 64;
  for (int round = 0; round < 10; ++round) {
    go_run_discarding([] {
      // All of them blocked in their deep frames before the runtime ends
      // (waited for, not yielded for: with more processors than cores, a
      // stolen goroutine may wait for its thread's next time slice).
      goro::wait_group started;
      started.add(n);
      for (int i = 0; i < n; ++i) goro::go(block_in_deep_frame, &started, 8);
      started.wait();
    });
    std::atomic<int> sum{0};
    go_run([&sum] {
      goro::wait_group wg;
      for (int i = 0; i < n; ++i) {
        wg.add(1);
        goro::go([&] {
          sum.fetch_add(use_stack(32));
          wg.done();
        });
      }
      wg.wait();
    });
    EXPECT_EQ(sum.load(), n * 33 * 32 / 2);
  }
}

}  // namespace
