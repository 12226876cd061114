// A million goroutines parked at the same time (label `slow`).
//
// Every goroutine counts itself as started, then waits on one wait_group that
// main releases only when all have started; so all N exist at once, each
// with its own stack. Must work with the default vm.max_map_count (65530):
// stacks come from slabs, not one mapping each.
//
// Sanitizer builds use fewer goroutines: under ThreadSanitizer every
// goroutine stack is a TSan fiber with its own 512 KiB shadow-stack mapping
// (so vm.max_map_count caps live fibers near 30k); under AddressSanitizer
// every parked goroutine costs ~32 KiB (the shadow of its whole 256 KiB
// stack), so a million would need ~32 GB.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace {

constexpr int default_goroutines = goro_test::tsan        ? 20'000
                                   : goro_test::sanitized ? 100'000
                                                          : 1'000'000;

// GORO_MILLION_N overrides the count (for experiments).
int goroutine_count() {
  if (const char* env = std::getenv("GORO_MILLION_N")) return std::atoi(env);
  return default_goroutines;
}

TEST(Million, AllParkedAtOnceThenFinish) {
  const int n_goroutines = goroutine_count();
  std::atomic<int> started{0};
  std::atomic<int> finished_count{0};
  std::int64_t peak = 0, after = -1;
  auto t0 = std::chrono::steady_clock::now();
  int code = goro::run(
      [&] {
        goro::wait_group all_started, block, all_finished;
        all_started.add(n_goroutines);
        block.add(1);
        all_finished.add(n_goroutines);
        for (int i = 0; i < n_goroutines; ++i) {
          goro::go([&] {
            started.fetch_add(1, std::memory_order_relaxed);
            all_started.done();
            block.wait();
            finished_count.fetch_add(1, std::memory_order_relaxed);
            all_finished.done();
          });
        }
        all_started.wait();
        EXPECT_EQ(started.load(), n_goroutines);
        EXPECT_EQ(finished_count.load(), 0);
        peak = goro::num_goroutine();
        block.done();
        all_finished.wait();
        EXPECT_EQ(finished_count.load(), n_goroutines);
        goro_test::yield_until([] { return goro::num_goroutine() == 1; });
        after = goro::num_goroutine();
        return 0;
      },
      goro::config{.procs = 2});
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(code, 0);
  EXPECT_EQ(peak, n_goroutines + 1);
  EXPECT_EQ(after, 1);
  RecordProperty("seconds", std::to_string(secs));
  std::printf("%d goroutines parked at once: %.2f s\n", n_goroutines, secs);
}

}  // namespace
