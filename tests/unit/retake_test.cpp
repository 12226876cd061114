// Retake (sysmon): a goroutine that keeps its thread — a loop with no switch
// point, a system call the runtime does not know about, or a call marked
// goro::blocking — must not stop the other goroutines of its processor. With
// procs = 1, the processor is handed to another thread and a second goroutine
// still answers a channel within 50 ms (the bound; sysmon takes a P
// after 10 ms of user code, or one 20 us tick inside goro::blocking).
#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// A libc sleep the runtime cannot see (no goro call).
void libc_sleep(std::chrono::milliseconds d) {
  timespec ts{static_cast<time_t>(d.count() / 1000), static_cast<long>(d.count() % 1000) * 1'000'000};
  while (::nanosleep(&ts, &ts) != 0) {
  }
}

// Runs `hog` in a goroutine on a one-processor runtime, then checks that an
// echo goroutine still answers; then release() lets the hog finish. Returns
// the round trip.
template <class Hog, class Release = void (*)()>
clock_type::duration answer_time_while(Hog hog, Release release = [] {}) {
  clock_type::duration took{};
  goro::run(
      [&] {
        auto ping = goro::make_chan<int>();
        auto pong = goro::make_chan<int>();
        goro::go([=] {
          for (auto v : ping) pong.send(v + 1);
        });
        goro::yield();  // the echo goroutine is now parked in recv
        std::atomic<bool> hog_started{false};
        goro::go([&] {
          hog_started.store(true);
          hog();
        });
        // Let the hog take the processor: main waits in the global queue.
        while (!hog_started.load()) goro::yield();
        auto start = clock_type::now();
        ping.send(1);
        EXPECT_EQ(pong.recv(), 2);
        took = clock_type::now() - start;
        release();
        ping.close();
      },
      goro::config{.procs = 1});
  return took;
}

TEST(Retake, BusyLoopDoesNotStopOthers) {
  std::atomic<bool> stop{false};
  auto took = answer_time_while(
      [&] {
        auto deadline = clock_type::now() + goro_test::wait_limit;
        while (!stop.load(std::memory_order_relaxed) && clock_type::now() < deadline) {
        }
      },
      [&] { stop = true; });
  EXPECT_LT(took, 50ms);
}

TEST(Retake, UnmarkedSystemCallDoesNotStopOthers) {
  auto took = answer_time_while([] { libc_sleep(1000ms); });
  EXPECT_LT(took, 50ms);
}

TEST(Retake, BlockingCallHandsOffProcessor) {
  auto took = answer_time_while([] { goro::blocking([] { libc_sleep(1000ms); }); });
  EXPECT_LT(took, 50ms);
}

TEST(Retake, BlockingReturnsTheValueAndPropagatesExceptions) {
  goro::run(
      [] {
        EXPECT_EQ(goro::blocking([] { return 42; }), 42);
        EXPECT_THROW(goro::blocking([]() -> int { throw std::runtime_error("x"); }),
                     std::runtime_error);
        int x = 0;
        int& ref = goro::blocking([&]() -> int& { return x; });
        EXPECT_EQ(&ref, &x);
      },
      goro::config{.procs = 2});
  EXPECT_EQ(goro::blocking([] { return 7; }), 7);  // no runtime: just calls f
}

// Goroutines that come back from a blocking call while their processor was
// taken continue elsewhere; nothing is lost and the count of processors that
// run goroutine code at once stays at procs.
TEST(Retake, ManyBlockingCallsAllComplete) {
  for (int procs : {1, 2}) {
    std::atomic<int> done{0};
    std::atomic<int> running{0}, max_running{0};
    goro::run(
        [&] {
          goro::wait_group wg;
          for (int i = 0; i < 64; ++i) {
            wg.add(1);
            goro::go([&, i] {
              for (int j = 0; j < 10; ++j) {
                goro::blocking([&] { libc_sleep(std::chrono::milliseconds(1 + (i + j) % 3)); });
                int now = running.fetch_add(1) + 1;
                int seen = max_running.load();
                while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
                }
                for (int k = 0; k < 1000; ++k) asm volatile("");
                running.fetch_sub(1);
                goro::yield();
              }
              done.fetch_add(1);
              wg.done();
            });
          }
          wg.wait();
        },
        goro::config{.procs = procs});
    EXPECT_EQ(done.load(), 64);
    EXPECT_LE(max_running.load(), procs);
  }
}

}  // namespace
