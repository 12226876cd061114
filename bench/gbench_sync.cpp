// bench/gbench_sync.cpp — Google Benchmark mirrors of Go's sync and context
// benchmarks (sync/mutex_test.go, rwmutex_test.go, waitgroup_test.go,
// once_test.go, cond_test.go; context/benchmark_test.go), same workloads and
// names, run at each processor count like `go test -bench ... -cpu 1,2`:
//
//   build/release/bench/gbench_sync                       # procs 1 and 2
//   build/release/bench/gbench_sync --procs=2 --benchmark_filter=Mutex
//
// Every benchmark runs on goroutines: the whole benchmark runner runs as the
// main goroutine of a goro::run per processor count. Go's b.RunParallel is
// mirrored by run_parallel (procs x parallelism goroutines share the
// iterations in grains, like testing.PB). The time is wall time per
// operation (Google Benchmark's "Time" column, UseRealTime), as Go reports.
// Names carry Go's "-<procs>" suffix.
#include <benchmark/benchmark.h>
#include <goro/goro.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

// Go's testing.PB: iterations handed out in grains from a shared counter.
class pb {
 public:
  pb(std::atomic<long>* taken, long total, long grain) : taken_(taken), total_(total), grain_(grain) {}
  bool next() {
    if (cache_ > 0) {
      --cache_;
      return true;
    }
    long n = taken_->fetch_add(grain_, std::memory_order_relaxed) + grain_;
    if (n <= total_) cache_ = grain_;
    else if (n < total_ + grain_) cache_ = total_ + grain_ - n;
    else return false;
    --cache_;
    return true;
  }

 private:
  std::atomic<long>* taken_;
  long total_, grain_;
  long cache_ = 0;
};

// Go's b.RunParallel with b.SetParallelism(parallelism).
template <class Body>
void run_parallel(benchmark::State& state, int parallelism, Body body) {
  const long n = static_cast<long>(state.max_iterations);
  const int workers = goro::maxprocs() * parallelism;
  const long grain = std::clamp<long>(n / (100L * workers), 1, 10000);
  while (state.KeepRunningBatch(state.max_iterations)) {
    std::atomic<long> taken{0};
    goro::wait_group wg;
    wg.add(workers);
    for (int w = 0; w < workers; ++w) {
      goro::go([&] {
        pb p(&taken, n, grain);
        body(p);
        wg.done();
      });
    }
    wg.wait();
  }
}

// Go's work loop, `for i := 0; i < 100; i++ { foo *= 2; foo /= 2 }`: foo
// is dead (`_ = foo`), so Go's compiler drops the arithmetic and runs an
// empty counted loop (go tool objdump: INCQ; CMPQ $0x64; JL). The same
// loop here, kept by an empty asm.
inline void local_work(int iterations) {
  for (int i = 0; i < iterations; ++i) asm volatile("");
}

// --- sync/mutex_test.go --------------------------------------------------------

void mutex_bench(benchmark::State& state, bool slack, bool work) {
  goro::mutex mu;
  run_parallel(state, slack ? 10 : 1, [&](pb& p) {
    while (p.next()) {
      mu.lock();
      mu.unlock();
      if (work) local_work(100);
    }
  });
}
void BM_Mutex(benchmark::State& s) { mutex_bench(s, false, false); }
void BM_MutexSlack(benchmark::State& s) { mutex_bench(s, true, false); }
void BM_MutexWork(benchmark::State& s) { mutex_bench(s, false, true); }

// --- sync/rwmutex_test.go -------------------------------------------------------

void rwmutex_bench(benchmark::State& state, int local, int write_ratio) {
  goro::shared_mutex rwm;
  run_parallel(state, 1, [&](pb& p) {
    int foo = 0;
    while (p.next()) {
      ++foo;
      if (foo % write_ratio == 0) {
        rwm.lock();
        rwm.unlock();
      } else {
        rwm.lock_shared();
        local_work(local);
        rwm.unlock_shared();
      }
    }
  });
}
void BM_RWMutexWrite100(benchmark::State& s) { rwmutex_bench(s, 0, 100); }
void BM_RWMutexWrite10(benchmark::State& s) { rwmutex_bench(s, 0, 10); }

// --- sync/waitgroup_test.go ------------------------------------------------------

void BM_WaitGroupUncontended(benchmark::State& state) {
  struct padded {
    goro::wait_group wg;
    char pad[128];
  };
  run_parallel(state, 1, [](pb& p) {
    padded w;
    while (p.next()) {
      w.wg.add(1);
      w.wg.done();
      w.wg.wait();
    }
  });
}

void BM_WaitGroupAddDone(benchmark::State& state) {
  goro::wait_group wg;
  run_parallel(state, 1, [&](pb& p) {
    while (p.next()) {
      wg.add(1);
      wg.done();
    }
  });
}

// --- sync/once_test.go ------------------------------------------------------------

void BM_Once(benchmark::State& state) {
  goro::once once;
  auto f = [] {};
  run_parallel(state, 1, [&](pb& p) {
    while (p.next()) once.call(f);
  });
}

// --- sync/cond_test.go ------------------------------------------------------------

// waiters+1 goroutines meet at a barrier b.N times; the last to arrive
// broadcasts.
void cond_bench(benchmark::State& state, int waiters) {
  const long n = static_cast<long>(state.max_iterations);
  while (state.KeepRunningBatch(state.max_iterations)) {
    goro::mutex m;
    goro::cond c(m);
    int id = 0;
    goro::wait_group done;
    done.add(waiters + 1);
    for (int r = 0; r < waiters + 1; ++r) {
      goro::go([&] {
        for (long i = 0; i < n; ++i) {
          m.lock();
          if (id == -1) {
            m.unlock();
            break;
          }
          ++id;
          if (id == waiters + 1) {
            id = 0;
            c.broadcast();
          } else {
            c.wait();
          }
          m.unlock();
        }
        m.lock();
        id = -1;
        c.broadcast();
        m.unlock();
        done.done();
      });
    }
    done.wait();
  }
}
void BM_Cond1(benchmark::State& s) { cond_bench(s, 1); }
void BM_Cond8(benchmark::State& s) { cond_bench(s, 8); }
void BM_Cond32(benchmark::State& s) { cond_bench(s, 32); }

// --- context/benchmark_test.go ----------------------------------------------------

// Go's buildContextTree: a chain of `depth` WithCancel below root. Go
// discards the cancel functions; a goro cancel function cancels when its
// last copy goes (goro/context.hpp), so they are kept until the iteration
// ends and then dropped innermost first, as deferred cancels would run.
void build_tree(const goro::context& root, int depth, std::vector<goro::cancel_func>& keep) {
  goro::context c = root;
  for (int d = 0; d < depth; ++d) {
    auto [child, cancel] = goro::with_cancel(c);
    c = std::move(child);
    keep.push_back(std::move(cancel));
  }
}

void drop_innermost_first(std::vector<goro::cancel_func>& keep) {
  while (!keep.empty()) keep.pop_back();
}

enum class root_kind { background, open_canceler, closed_canceler };

void BM_CancelTree(benchmark::State& state, int depth, root_kind root) {
  std::vector<goro::cancel_func> keep;
  keep.reserve(static_cast<std::size_t>(depth));
  for (auto _ : state) {
    switch (root) {
      case root_kind::background:
        build_tree(goro::background(), depth, keep);
        break;
      case root_kind::open_canceler: {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        build_tree(ctx, depth, keep);
        cancel();
        break;
      }
      case root_kind::closed_canceler: {
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        cancel();
        build_tree(ctx, depth, keep);
        break;
      }
    }
    drop_innermost_first(keep);
  }
}

// `concurrency` live one-hour timeout contexts (made on every processor),
// while each worker makes and cancels 10 at a time.
void BM_WithTimeout(benchmark::State& state, int concurrency) {
  const int procs = goro::maxprocs();
  const int per_p = concurrency / procs;
  goro::context root = goro::background();
  std::vector<std::vector<goro::cancel_func>> live(static_cast<std::size_t>(procs));
  goro::wait_group made;
  made.add(procs);
  for (int i = 0; i < procs; ++i) {
    goro::go([&, i] {
      auto& cf = live[static_cast<std::size_t>(i)];
      cf.reserve(static_cast<std::size_t>(per_p));
      for (int j = 0; j < per_p; ++j) cf.push_back(goro::with_timeout(root, std::chrono::hours(1)).second);
      made.done();
    });
  }
  made.wait();
  run_parallel(state, 1, [&](pb& p) {
    std::vector<goro::cancel_func> wcf(10);
    while (p.next()) {
      for (auto& f : wcf) f = goro::with_timeout(root, std::chrono::hours(1)).second;
      for (auto& f : wcf) f();
    }
  });
  for (auto& cf : live)
    for (auto& f : cf) f();
}

// --- registration and main -----------------------------------------------------------

// "<go name><sub>-<procs>", like go test's names (built with snprintf:
// g++ 12 -O3 warns falsely about string concatenation, -Wrestrict).
std::string bench_name(const char* go_name, const char* sub, int procs) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s%s-%d", go_name, sub, procs);
  return buf;
}

void register_all(int procs) {
  auto reg = [&](const char* go_name, auto fn, const char* sub = "") {
    benchmark::RegisterBenchmark(bench_name(go_name, sub, procs).c_str(), fn)->UseRealTime();
  };
  reg("BenchmarkMutex", BM_Mutex);
  reg("BenchmarkMutexSlack", BM_MutexSlack);
  reg("BenchmarkMutexWork", BM_MutexWork);
  reg("BenchmarkRWMutexWrite100", BM_RWMutexWrite100);
  reg("BenchmarkRWMutexWrite10", BM_RWMutexWrite10);
  reg("BenchmarkWaitGroupUncontended", BM_WaitGroupUncontended);
  reg("BenchmarkWaitGroupAddDone", BM_WaitGroupAddDone);
  reg("BenchmarkOnce", BM_Once);
  reg("BenchmarkCond1", BM_Cond1);
  reg("BenchmarkCond8", BM_Cond8);
  reg("BenchmarkCond32", BM_Cond32);
  for (const auto& [sub, concurrency] :
       {std::pair{"/concurrency=40", 40}, {"/concurrency=4000", 4000}, {"/concurrency=400000", 400000}}) {
    reg("BenchmarkWithTimeout", [c = concurrency](benchmark::State& s) { BM_WithTimeout(s, c); }, sub);
  }
  const std::pair<const char*, root_kind> roots[] = {{"/Root=Background", root_kind::background},
                                                     {"/Root=OpenCanceler", root_kind::open_canceler},
                                                     {"/Root=ClosedCanceler", root_kind::closed_canceler}};
  for (const auto& [depth_name, depth] :
       {std::pair{"/depth=1", 1}, {"/depth=10", 10}, {"/depth=100", 100}, {"/depth=1000", 1000}}) {
    for (const auto& [root_name, root] : roots) {
      std::string sub = std::string(depth_name) + root_name;
      reg("BenchmarkCancelTree",
          [d = depth, r = root](benchmark::State& s) { BM_CancelTree(s, d, r); }, sub.c_str());
    }
  }
}

// --procs=1,2 (like go test -cpu); the other arguments go to Google Benchmark.
std::vector<int> take_procs_flag(int& argc, char** argv) {
  std::vector<int> procs;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--procs=", 8) == 0) {
      for (const char* p = argv[i] + 8; *p != '\0';) {
        char* end = nullptr;
        long v = std::strtol(p, &end, 10);
        if (end == p || v <= 0) {
          std::fprintf(stderr, "bad --procs: %s\n", argv[i]);
          std::exit(2);
        }
        procs.push_back(static_cast<int>(v));
        p = *end == ',' ? end + 1 : end;
      }
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  if (procs.empty()) procs = {1, 2};
  return procs;
}

}  // namespace

// Google Benchmark's runner is not meant to run twice in one process (the
// second RunSpecifiedBenchmarks crashes in libbenchmark 1.7), so each
// processor count runs in a child process, one after the other.
int main(int argc, char** argv) {
  std::vector<int> procs = take_procs_flag(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  int status = 0;
  for (int p : procs) {
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      register_all(p);
      goro::run([] { benchmark::RunSpecifiedBenchmarks(); }, goro::config{.procs = p});
      benchmark::Shutdown();
      std::fflush(stdout);
      std::_Exit(0);
    }
    int child = 0;
    if (waitpid(pid, &child, 0) < 0 || !WIFEXITED(child) || WEXITSTATUS(child) != 0) status = 1;
  }
  return status;
}
