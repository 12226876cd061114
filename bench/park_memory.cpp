// bench/park_memory.cpp — the `park_memory` workload
// (../shared/anchors/go/park_memory): N goroutines each block receiving on
// their own unbuffered channel; reports the VmRSS growth per parked goroutine
// (its stack pages, G record, channel and waiter), then releases them all.
#include <goro/goro.hpp>

#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "bench_common.hpp"

namespace {

long rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) bench::fail("cannot open /proc/self/status");
  char line[256];
  long kb = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
  std::fclose(f);
  if (kb < 0) bench::fail("VmRSS not found");
  return kb * 1024;
}

}  // namespace

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long n = flags.get("n", 100'000);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  return goro::run(
      [n] {
        // Bookkeeping, allocated and touched before the baseline.
        std::vector<goro::chan<int>> chans(static_cast<std::size_t>(n));
        goro::wait_group parked, exited;
        malloc_trim(0);
        long before = rss_bytes();
        parked.add(static_cast<int>(n));
        exited.add(static_cast<int>(n));
        for (auto& slot : chans) {
          auto ch = goro::make_chan<int>();
          slot = ch;
          goro::go([ch, &parked, &exited] {
            parked.done();
            ch.recv();  // parks here until released
            exited.done();
          });
        }
        parked.wait();
        for (int i = 0; i < 10; ++i) goro::yield();
        malloc_trim(0);
        long after = rss_bytes();
        for (auto& ch : chans) ch.send(1);
        exited.wait();
        bench::report("park_memory", static_cast<double>(after - before) / static_cast<double>(n),
                      "bytes/goroutine", goro::maxprocs(), n);
        return 0;
      },
      goro::config{.procs = procs});
}
