// bench/sieve.cpp — the `sieve` workload (../shared/anchors/go/sieve): the
// concurrent prime sieve; a generator and one filter goroutine per prime,
// chained by unbuffered channels, until the n-th prime. Reports ms. As in the
// original, the generator and filters are left blocked when main returns.
#include <goro/goro.hpp>

#include <vector>

#include "bench_common.hpp"

namespace {

long nth_prime(long n) {
  std::vector<long> primes;
  for (long c = 2;; ++c) {
    bool is_prime = true;
    for (long p : primes) {
      if (p * p > c) break;
      if (c % p == 0) {
        is_prime = false;
        break;
      }
    }
    if (is_prime) {
      primes.push_back(c);
      if (static_cast<long>(primes.size()) == n) return c;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 3'000);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  long want = nth_prime(n);
  return goro::run(
      [n, want] {
        auto start = std::chrono::steady_clock::now();
        auto ch = goro::make_chan<long>();
        goro::go([](goro::send_chan<long> out) {
          for (long i = 2;; ++i) out.send(i);
        }, goro::send_chan<long>(ch));
        long prime = 0;
        for (long i = 0; i < n; ++i) {
          prime = *ch.recv();
          auto next = goro::make_chan<long>();
          goro::go([prime](goro::recv_chan<long> in, goro::send_chan<long> out) {
            for (;;) {
              long v = *in.recv();
              if (v % prime != 0) out.send(v);
            }
          }, goro::recv_chan<long>(ch), goro::send_chan<long>(next));
          ch = next;
        }
        double elapsed = bench::seconds_since(start);
        if (prime != want) bench::fail("sieve: wrong prime");
        bench::report("sieve", elapsed * 1e3, "ms", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
