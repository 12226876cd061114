// examples/trace_demo — records a scheduler trace of a small program.
//
//   build/release/examples/trace_demo [trace.json]
//
// then open trace.json in https://ui.perfetto.dev ("Open trace file") or
// chrome://tracing: one track per processor (P0, P1) with a slice per
// goroutine run, idle spans, and instant events for goroutine creation,
// blocking (with the wait reason), unblocking, goro::blocking, sysmon's
// hand-off of a processor (retake), steals and timers. See
// docs/debugging.md, "Tracing the scheduler".
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  std::string path = argc > 1 ? argv[1] : "trace.json";
  goro::trace::start(path);
  int code = goro::run(
      [] {
        // A pipeline: a producer, four workers, a collector.
        auto jobs = goro::make_chan<int>(8);
        auto results = goro::make_chan<long>(8);
        goro::wait_group workers;
        for (int w = 0; w < 4; ++w) {
          workers.add(1);
          goro::go([=, &workers] {
            for (int n : jobs) {
              long sum = 0;
              for (int i = 0; i < n * 1000; ++i) sum += i % 7;
              results.send(sum);
            }
            workers.done();
          });
        }
        goro::go([=] {
          for (int i = 1; i <= 64; ++i) jobs.send(i);
          jobs.close();
        });
        goro::go([=, &workers] {
          workers.wait();
          results.close();
        });
        long total = 0;
        for (long r : results) total += r;
        // A timer, and a call that blocks its thread: sysmon hands the
        // processor to another thread while it lasts.
        goro::sleep(2ms);
        // Two goroutines keep both processors busy for a while...
        goro::wait_group busy;
        auto until = std::chrono::steady_clock::now() + 10ms;
        for (int i = 0; i < 2; ++i) {
          busy.add(1);
          goro::go([&busy, until] {
            while (std::chrono::steady_clock::now() < until) {
              auto slice = std::chrono::steady_clock::now() + 50us;  // some work,
              while (std::chrono::steady_clock::now() < slice) {
              }
              goro::yield();  // then a switch point
            }
            busy.done();
          });
        }
        // ...so sysmon hands this goroutine's processor to another thread
        // while it blocks ("retake").
        goro::blocking([] { std::this_thread::sleep_for(5ms); });
        busy.wait();
        std::printf("total %ld\n", total);
        return 0;
      },
      goro::config{.procs = 2});
  // run() returning stopped the trace (goro::trace::stop() would too).
  std::printf("trace written to %s\n", path.c_str());
  return code;
}
