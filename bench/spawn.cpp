// bench/spawn.cpp — the `spawn` workload (../shared/anchors/go/spawn/main.go):
// start N goroutines that each do nothing but wg.done(), then wait for all of
// them. Reports wall time per goroutine (spawn + run + exit), in ns.
#include <goro/goro.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 1'000'000);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();

  return goro::run(
      [n] {
        goro::wait_group wg;
        auto start = std::chrono::steady_clock::now();
        wg.add(static_cast<int>(n));
        for (long i = 0; i < n; ++i) goro::go([&wg] { wg.done(); });
        wg.wait();
        double elapsed = bench::seconds_since(start);
        bench::report("spawn", elapsed * 1e9 / static_cast<double>(n), "ns/op", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
