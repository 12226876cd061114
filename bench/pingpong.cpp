// bench/pingpong.cpp — the `pingpong` workload (../shared/anchors/go/pingpong):
// two goroutines pass an int back and forth over two unbuffered channels.
// Reports wall time per round trip (two blocking hand-offs), in ns.
#include <goro/goro.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 1'000'000);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  return goro::run(
      [n] {
        auto ping = goro::make_chan<long>(), pong = goro::make_chan<long>(),
             done = goro::make_chan<long>();
        auto start = std::chrono::steady_clock::now();
        goro::go([=] {
          for (long i = 0; i < n; ++i) pong.send(*ping.recv() + 1);
        });
        goro::go([=] {
          long v = 0;
          for (long i = 0; i < n; ++i) {
            ping.send(v);
            v = *pong.recv();
          }
          done.send(v);
        });
        long v = *done.recv();
        double elapsed = bench::seconds_since(start);
        if (v != n) bench::fail("pingpong: wrong final value");
        bench::report("pingpong", elapsed * 1e9 / static_cast<double>(n), "ns/op", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
