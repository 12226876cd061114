// Port of golang/go src/time/sleep_test.go TestOverflowSleep: a duration so
// large that now + d overflows never fires (sleep does not return, after
// does not send, a timer stays pending); the most negative duration fires
// at once. In its own executable: an overflowing fire-time computation is
// signed-integer overflow, which UBSan (the asan preset) reports by
// aborting the process.
#include <atomic>
#include <chrono>
#include <limits>

#include "conformance.hpp"

namespace {

using namespace std::chrono_literals;
using conformance::Procs;

class TimeOverflow : public Procs {};
CONFORMANCE_PROCS(TimeOverflow, 1, 2);

constexpr auto big = std::chrono::nanoseconds::max();
constexpr auto neg = std::chrono::nanoseconds::min();

TEST_P(TimeOverflow, BigSleepNeverReturns) {
  std::atomic<bool> returned{false};  // outlives the runtime: the sleeper is discarded
  go_run_discarding([&returned] {
    goro::go([](std::atomic<bool>* r) {
      goro::sleep(big);
      r->store(true);
    }, &returned);
    goro::sleep(25ms);
    EXPECT_FALSE(returned.load()) << "big sleep returned";
  });
}

TEST_P(TimeOverflow, BigAfterNeverFires) {
  go_run([] {
    int i = goro::select(goro::recv_case(goro::after(big)), goro::recv_case(goro::after(25ms)));
    EXPECT_EQ(i, 1) << "big timeout fired";
    goro::timer t(big);
    goro::sleep(5ms);
    EXPECT_EQ(t.c().try_recv().status, goro::recv_status::empty) << "big timer fired";
    EXPECT_TRUE(t.stop()) << "big timer not pending";
    goro::timer u(1ms);
    EXPECT_TRUE(u.reset(big));
    goro::sleep(5ms);
    EXPECT_EQ(u.c().try_recv().status, goro::recv_status::empty) << "timer reset to a big duration fired";
  });
}

TEST_P(TimeOverflow, MostNegativeFiresAtOnce) {
  go_run([] {
    auto start = goro::clock::now();
    goro::sleep(neg);  // returns immediately
    int i = goro::select(goro::recv_case(goro::after(neg)), goro::recv_case(goro::after(1s)));
    EXPECT_EQ(i, 0) << "negative timeout didn't fire";
    EXPECT_LT(goro::clock::now() - start, 1s);
  });
}

}  // namespace
