// An idle runtime must not burn CPU: while the main goroutine is parked and
// nothing else is runnable, the processors' threads sleep. Main waits on a
// wait_group that a plain thread releases after ~300 ms of real time; the
// process's CPU time (user + system, all threads) over that window must stay
// far below it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <string>
#include <thread>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;

std::chrono::microseconds process_cpu_time() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

class Idle : public ::testing::TestWithParam<int> {};

std::string procs_name(const ::testing::TestParamInfo<int>& info) {
  return "procs" + std::to_string(info.param);
}

INSTANTIATE_TEST_SUITE_P(Procs, Idle, ::testing::Values(2, 4), procs_name);

TEST_P(Idle, ParkedRuntimeUsesNoCpu) {
  constexpr auto idle_for = 300ms;
  constexpr auto cpu_limit = 30ms;
  std::chrono::microseconds cpu{0};
  std::chrono::steady_clock::duration wall{};
  goro::run(
      [&] {
        // Some activity first, so every processor has run and gone idle.
        goro::wait_group warm;
        warm.add(100);
        for (int i = 0; i < 100; ++i) goro::go([&] { warm.done(); });
        warm.wait();

        goro::wait_group wg;
        wg.add(1);
        std::thread releaser;
        auto cpu0 = process_cpu_time();
        auto wall0 = std::chrono::steady_clock::now();
        releaser = std::thread([&] {
          std::this_thread::sleep_for(idle_for);  // the subject of the test
          wg.done();
        });
        wg.wait();
        cpu = process_cpu_time() - cpu0;
        wall = std::chrono::steady_clock::now() - wall0;
        releaser.join();
      },
      goro::config{.procs = GetParam()});
  EXPECT_GE(wall, idle_for);
  EXPECT_LT(cpu, cpu_limit) << "CPU time while idle for "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()
                            << " ms: " << cpu.count() << " us (idle threads spinning?)";
  RecordProperty("idle_cpu_us", static_cast<int>(cpu.count()));
}

// The same with a thousand goroutines parked besides main; the plain thread
// wakes one of them (not main), which wakes main. Only the idle window is
// measured: the goroutines are released after it.
TEST_P(Idle, ManyParkedGoroutinesUseNoCpu) {
  constexpr auto idle_for = 300ms;
  constexpr auto cpu_limit = 30ms;
  std::chrono::microseconds cpu{0};
  goro::run(
      [&] {
        goro::wait_group gate, parked, finished, relay_gate, main_gate;
        const int n = 1000;
        gate.add(1);
        parked.add(n + 1);
        finished.add(n);
        relay_gate.add(1);
        main_gate.add(1);
        for (int i = 0; i < n; ++i) {
          goro::go([&] {
            parked.done();
            gate.wait();
            finished.done();
          });
        }
        goro::go([&] {  // the relay: woken by the plain thread, wakes main
          parked.done();
          relay_gate.wait();
          main_gate.done();
        });
        parked.wait();
        // The last goroutines are past done() and about to park; one yield
        // lets those on this processor finish parking.
        goro::yield();
        auto cpu0 = process_cpu_time();
        std::thread releaser([&] {
          std::this_thread::sleep_for(idle_for);  // the subject of the test
          relay_gate.done();
        });
        main_gate.wait();
        cpu = process_cpu_time() - cpu0;
        releaser.join();
        gate.done();
        finished.wait();
      },
      goro::config{.procs = GetParam()});
  EXPECT_LT(cpu, cpu_limit) << cpu.count() << " us of CPU while idle";
  RecordProperty("idle_cpu_us", static_cast<int>(cpu.count()));
}

}  // namespace
