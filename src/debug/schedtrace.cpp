// debug/schedtrace.cpp — GORO_SCHEDTRACE=ms: Go's GODEBUG=schedtrace line.
//
// Owns: parsing the environment variable and formatting the line. sysmon
// (sched.cpp) calls runtime::schedtrace every `ms` milliseconds while the
// runtime runs, and never sleeps past the next line while it is set.
//
//   SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=2 runqueue=0 [0 0]
//
// uptime since the runtime started; gomaxprocs: Ps; idleprocs: Ps whose M
// sleeps for lack of work (goro's idle Ms keep their P); threads: Ms plus
// sysmon; spinningthreads: Ms looking for work; idlethreads: Ms asleep (idle
// with a P, or spare without one); runqueue: the global queue; then each P's
// local queue (runnext not counted, as in Go). The figures are read without
// stopping anything: each is exact, together they are a snapshot in motion.
//
// Lock order: takes ms_mutex_ and idle_mutex_ one at a time (sched.hpp).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "debug/crash.hpp"
#include "sched/sched.hpp"

namespace goro::detail {

std::int64_t runtime::schedtrace_interval_ns() {
  const char* env = std::getenv("GORO_SCHEDTRACE");
  if (env == nullptr || *env == '\0') return 0;
  char* end = nullptr;
  long long ms = std::strtoll(env, &end, 10);
  if (end == env || *end != '\0' || ms <= 0 || ms > 3'600'000) return 0;
  return ms * 1'000'000;
}

void runtime::schedtrace(std::int64_t uptime_ns) {
  std::size_t threads, idle_threads;
  {
    std::lock_guard lock(ms_mutex_);
    threads = ms_.size() + 1;  // the Ms and sysmon
  }
  {
    std::lock_guard lock(idle_mutex_);
    idle_threads = idle_ms_.size() + spare_ms_.size();
  }
  char head[256];
  int n = std::snprintf(head, sizeof head,
                        "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%zu spinningthreads=%d "
                        "idlethreads=%zu runqueue=%d [",
                        static_cast<long long>(uptime_ns / 1'000'000), procs(),
                        static_cast<int>(npidle_.load(std::memory_order_relaxed)), threads,
                        static_cast<int>(nmspinning_.load(std::memory_order_relaxed)), idle_threads,
                        static_cast<int>(globalq_.size()));
  std::string line(head, n > 0 ? static_cast<std::size_t>(n) : 0);
  for (std::size_t i = 0; i < ps_.size(); ++i) {
    if (i != 0) line += ' ';
    line += std::to_string(ps_[i]->runq.size());
  }
  line += "]\n";
  write_stderr(line.data(), line.size());  // one write: no interleaving
}

}  // namespace goro::detail
