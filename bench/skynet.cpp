// bench/skynet.cpp — the `skynet` workload (../shared/anchors/go/skynet): a
// 10-ary tree of goroutines of depth 6; every inner node makes one unbuffered
// channel, spawns 10 children that send their result on it, sums them and
// sends the sum up. Reports wall time in ms.
#include <goro/goro.hpp>

#include "bench_common.hpp"

namespace {

void skynet(goro::send_chan<long> out, long num, long size, long div) {
  if (size == 1) {
    out.send(num);
    return;
  }
  auto rc = goro::make_chan<long>();
  for (long i = 0; i < div; ++i) goro::go(skynet, goro::send_chan<long>(rc), num + i * (size / div), size / div, div);
  long sum = 0;
  for (long i = 0; i < div; ++i) sum += *rc.recv();
  out.send(sum);
}

}  // namespace

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 1'000'000);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  for (long p = n; p > 1; p /= 10)
    if (p % 10 != 0) bench::fail("-n must be a power of 10");
  return goro::run(
      [n] {
        auto start = std::chrono::steady_clock::now();
        auto c = goro::make_chan<long>();
        goro::go(skynet, goro::send_chan<long>(c), 0L, n, 10L);
        long sum = *c.recv();
        double elapsed = bench::seconds_since(start);
        if (sum != n * (n - 1) / 2) bench::fail("skynet: wrong sum");
        bench::report("skynet", elapsed * 1e3, "ms", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
