// bench/timers.cpp — the `timers` workload (../shared/anchors/go/timers): n
// goroutines each sleep d (1 ms) k times, timing every sleep. Reports the
// wall time until all finish (timers_total, ms) and the mean oversleep
// (timers_oversleep, microseconds).
#include <goro/goro.hpp>

#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

// Go's flag.Duration syntax for the values this workload uses: 1ms, 500us, 2s, 100ns.
std::chrono::nanoseconds parse_duration(const std::string& s) {
  std::size_t end = 0;
  double v = std::stod(s, &end);
  std::string unit = s.substr(end);
  double scale = unit == "ns" ? 1 : unit == "us" || unit == "µs" ? 1e3 : unit == "ms" ? 1e6 : unit == "s" ? 1e9 : -1;
  if (scale < 0) bench::fail("bad -d duration");
  return std::chrono::nanoseconds(static_cast<long long>(v * scale));
}

}  // namespace

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 10'000);
  long k = flags.get("sleeps", 20);
  auto d = parse_duration(flags.get_string("d", "1ms"));
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  return goro::run(
      [=] {
        std::vector<std::chrono::nanoseconds> over(static_cast<std::size_t>(n));
        goro::wait_group wg;
        auto start = std::chrono::steady_clock::now();
        wg.add(static_cast<int>(n));
        for (long i = 0; i < n; ++i) {
          goro::go([&wg, k, d](std::chrono::nanoseconds* slot) {
            std::chrono::nanoseconds sum{0};
            for (long j = 0; j < k; ++j) {
              auto t0 = std::chrono::steady_clock::now();
              goro::sleep(d);
              sum += std::chrono::steady_clock::now() - t0 - d;
            }
            *slot = sum;
            wg.done();
          }, &over[static_cast<std::size_t>(i)]);
        }
        wg.wait();
        double elapsed = bench::seconds_since(start);
        std::chrono::nanoseconds total{0};
        for (auto o : over) total += o;
        double mean_us = static_cast<double>(total.count()) / static_cast<double>(n * k) / 1e3;
        bench::report("timers_total", elapsed * 1e3, "ms", goro::maxprocs(), n);
        bench::report("timers_oversleep", mean_us, "us", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
