// bench/select2.cpp — the `select2` workload (../shared/anchors/go/select2):
// two producers send n/2 ints each on their own unbuffered channel; one
// consumer receives all n with a two-case select. Reports ns per item.
#include <goro/goro.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 2'000'000);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  if (n % 2 != 0) bench::fail("-n must be even");
  return goro::run(
      [n] {
        long half = n / 2;
        auto a = goro::make_chan<long>(), b = goro::make_chan<long>();
        auto start = std::chrono::steady_clock::now();
        auto producer = [half](goro::send_chan<long> ch) {
          for (long i = 1; i <= half; ++i) ch.send(i);
        };
        goro::go(producer, a);
        goro::go(producer, b);
        long sum_a = 0, sum_b = 0, count_a = 0, count_b = 0;
        for (long i = 0; i < n; ++i) {
          goro::select(goro::recv_case(a, [&](std::optional<long> v) { sum_a += *v; ++count_a; }),
                       goro::recv_case(b, [&](std::optional<long> v) { sum_b += *v; ++count_b; }));
        }
        double elapsed = bench::seconds_since(start);
        long want = half * (half + 1) / 2;
        if (count_a != half || count_b != half || sum_a != want || sum_b != want)
          bench::fail("select2: wrong counts or sums");
        bench::report("select2", elapsed * 1e9 / static_cast<double>(n), "ns/op", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
