// bench/prodcons.cpp — the `prodcons` workload (../shared/anchors/go/prodcons,
// Go's BenchmarkChanProdCons with localWork = 0): p producers and p consumers
// share one channel; producers claim batches of 1000 items from an atomic
// counter and send 1 per item, then a 0 sentinel each. Reports wall time per
// item, in ns, as prodcons_cap<capacity>, for each capacity.
#include <goro/goro.hpp>

#include <atomic>
#include <sstream>
#include <string>

#include "bench_common.hpp"

namespace {

constexpr long batch = 1000;

double run_once(long n, int p, std::size_t capacity) {
  std::atomic<long> batches{n / batch};
  auto ch = goro::make_chan<int>(capacity);
  auto received = goro::make_chan<long>(static_cast<std::size_t>(p));
  auto finished = goro::make_chan<bool>(static_cast<std::size_t>(p));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < p; ++i) {
    goro::go([&batches, ch, finished] {
      while (batches.fetch_sub(1) - 1 >= 0)
        for (long j = 0; j < batch; ++j) ch.send(1);
      ch.send(0);
      finished.send(true);
    });
    goro::go([ch, received] {
      long count = 0;
      while (*ch.recv() != 0) ++count;
      received.send(count);
    });
  }
  long total = 0;
  for (int i = 0; i < p; ++i) {
    finished.recv();
    total += *received.recv();
  }
  double elapsed = bench::seconds_since(start);
  if (total != n) bench::fail("prodcons: consumers received the wrong number of items");
  return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 10'000'000);
  int p = static_cast<int>(flags.get("p", 4));
  std::string caps = flags.get_string("caps", "0,10,100");
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  if (n % batch != 0) bench::fail("-n must be a multiple of 1000");
  return goro::run(
      [&] {
        std::stringstream list(caps);
        std::string item;
        while (std::getline(list, item, ',')) {
          long capacity = std::stol(item);
          double elapsed = run_once(n, p, static_cast<std::size_t>(capacity));
          std::string name = "prodcons_cap" + item;
          bench::report(name.c_str(), elapsed * 1e9 / static_cast<double>(n), "ns/op",
                        goro::maxprocs(), n);
        }
        return 0;
      },
      goro::config{.procs = procs});
}
