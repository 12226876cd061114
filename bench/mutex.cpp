// bench/mutex.cpp — the `mutex` workload (../shared/anchors/go/mutex): g
// goroutines (8) each increment one shared counter n/g times, taking a
// goro::mutex around every increment. Reports wall time per increment, in
// ns, and checks that the final counter equals n.
#include <goro/goro.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 10'000'000);
  long g = flags.get("g", 8);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  if (g <= 0 || n % g != 0) bench::fail("-n must be a multiple of -g");
  const long per = n / g;
  return goro::run(
      [n, g, per] {
        goro::mutex mu;
        long counter = 0;
        goro::wait_group wg;
        auto start = std::chrono::steady_clock::now();
        wg.add(static_cast<int>(g));
        for (long i = 0; i < g; ++i) {
          goro::go([&] {
            for (long j = 0; j < per; ++j) {
              mu.lock();
              ++counter;
              mu.unlock();
            }
            wg.done();
          });
        }
        wg.wait();
        double elapsed = bench::seconds_since(start);
        if (counter != n) bench::fail("mutex: wrong final counter");
        bench::report("mutex", elapsed * 1e9 / static_cast<double>(n), "ns/op", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
