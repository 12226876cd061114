// examples/tour — a guided tour of goro: each stop says what a feature does,
// shows it working and how long it took. It grows with every capability.
//
//   scripts/demo.sh            (builds in Release and runs this)
#include <goro/goro.hpp>

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <exception>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

void stop(const char* title, const char* what) {
  std::printf("\n== %s\n   %s\n", title, what);
}

void tour_runtime() {
  stop("goro::run", "runs main as goroutine 1 on an M:N scheduler with GOMAXPROCS processors");
  std::printf("   goid() = %llu, maxprocs() = %d, num_goroutine() = %lld\n",
              static_cast<unsigned long long>(goro::goid()), goro::maxprocs(),
              static_cast<long long>(goro::num_goroutine()));
}

void tour_spawn() {
  stop("goro::go + wait_group",
       "go() starts a goroutine and never blocks; it gets a stack only when it first runs");
  constexpr int n = 1'000'000;
  goro::wait_group wg;
  std::atomic<long> sum{0};
  auto start = clock_type::now();
  wg.add(n);
  for (int i = 0; i < n; ++i)
    goro::go([&wg, &sum](int v) { sum.fetch_add(v, std::memory_order_relaxed); wg.done(); }, i);
  wg.wait();
  double ms = ms_since(start);
  std::printf("   %d goroutines spawned, run and joined in %.1f ms (%.0f ns each); sum = %ld\n", n,
              ms, ms * 1e6 / n, sum.load());
}

void tour_parked() {
  stop("cheap goroutines",
       "parked goroutines keep only the stack pages they touched (typically one 4 KiB page)");
  constexpr int n = 100'000;
  goro::wait_group started, release, finished;
  auto start = clock_type::now();
  started.add(n);
  release.add(1);
  finished.add(n);
  for (int i = 0; i < n; ++i)
    goro::go([&] {
      started.done();
      release.wait();  // parks this goroutine
      finished.done();
    });
  started.wait();
  std::printf("   %d goroutines parked at once after %.1f ms; num_goroutine() = %lld\n", n,
              ms_since(start), static_cast<long long>(goro::num_goroutine()));
  release.done();
  finished.wait();
  std::printf("   all woken and finished after %.1f ms\n", ms_since(start));
}

void tour_migration() {
  stop("M:N scheduling",
       "a goroutine may resume on another OS thread after any switch point; idle threads steal");
  std::mutex mu;
  std::set<std::thread::id> threads;
  goro::wait_group wg;
  constexpr int n = 64;
  wg.add(n);
  for (int i = 0; i < n; ++i)
    goro::go([&] {
      for (int k = 0; k < 200; ++k) {
        {
          std::lock_guard lock(mu);
          threads.insert(std::this_thread::get_id());
        }
        goro::yield();
      }
      wg.done();
    });
  wg.wait();
  std::printf("   %d goroutines x 200 yields ran on %zu OS thread(s)\n", n, threads.size());
}

void tour_foreign_thread() {
  stop("foreign threads", "a plain std::thread may start goroutines and wait on goro primitives");
  goro::wait_group wg;
  wg.add(1);
  std::atomic<std::uint64_t> id{0};
  std::thread t([&] {
    goro::go([&] { id = goro::goid(); wg.done(); });
  });
  wg.wait();
  t.join();
  std::printf("   goroutine %llu was started from a plain thread\n",
              static_cast<unsigned long long>(id.load()));
}

void tour_exceptions() {
  stop("exceptions", "exceptions work inside goroutines, across switches and threads; one that "
                     "escapes a goroutine ends the process like Go's panic (exit status 2)");
  goro::wait_group wg, gate;
  gate.add(1);
  wg.add(1);
  std::string caught;
  goro::go([&] {
    try {
      throw std::runtime_error("thrown before a park");
    } catch (...) {
      gate.wait();  // parks inside the catch block
      try {
        throw;  // the exception is still the current one after resuming
      } catch (const std::exception& e) {
        caught = e.what();
      }
    }
    wg.done();
  });
  gate.done();
  wg.wait();
  std::printf("   rethrown after a park: \"%s\"\n", caught.c_str());
  try {
    goro::wait_group bad;
    bad.add(-1);
  } catch (const goro::panic_error& e) {
    std::printf("   misuse throws goro::panic_error: \"%s\"\n", e.what());
  }
}

void tour_channels() {
  stop("channels", "make_chan<T>(cap): unbuffered hand-off or a buffer; close ends a range-for");
  auto ping = goro::make_chan<int>(), pong = goro::make_chan<int>();
  constexpr int n = 200'000;
  goro::go([=] {
    for (int v : ping) pong.send(v + 1);
    pong.close();
  });
  auto start = clock_type::now();
  int v = 0;
  for (int i = 0; i < n; ++i) {
    ping.send(v);
    v = *pong.recv();
  }
  double ms = ms_since(start);
  ping.close();
  std::printf("   %d ping-pong round trips over unbuffered channels: %.0f ns each; v = %d\n", n,
              ms * 1e6 / n, v);
  std::printf("   after close: recv() gives %s\n", pong.recv() ? "a value" : "nullopt (closed)");
}

void tour_select() {
  stop("select", "waits on several channels; a random ready case wins; after() makes a timeout");
  auto results = goro::make_chan<int>();
  goro::go([=] {
    goro::sleep(std::chrono::milliseconds(5));
    results.send(42);
  });
  for (int round = 0; round < 2; ++round) {
    auto start = clock_type::now();
    goro::select(
        goro::recv_case(results, [&](std::optional<int> r) {
          std::printf("   got %d after %.1f ms\n", *r, ms_since(start));
        }),
        goro::recv_case(goro::after(std::chrono::milliseconds(round == 0 ? 50 : 2)),
                        [&](auto) { std::printf("   timed out after %.1f ms\n", ms_since(start)); }));
  }
}

void tour_pipeline() {
  stop("pipeline", "stages connected by channels: generate -> square -> sum");
  auto numbers = goro::make_chan<long>(64), squares = goro::make_chan<long>(64);
  goro::go([=] {
    for (long i = 1; i <= 100'000; ++i) numbers.send(i);
    numbers.close();
  });
  goro::wait_group squarers;
  squarers.add(4);
  for (int w = 0; w < 4; ++w)
    goro::go([=, &squarers] {
      for (long x : numbers) squares.send(x * x);
      squarers.done();
    });
  goro::go([=, &squarers] {
    squarers.wait();
    squares.close();
  });
  auto start = clock_type::now();
  long sum = 0;
  for (long s : squares) sum += s;
  std::printf("   sum of squares 1..100000 = %ld (4 workers, %.1f ms)\n", sum, ms_since(start));
}

void tour_sieve() {
  stop("prime sieve", "Go's concurrent sieve: one goroutine per prime, chained by channels");
  auto start = clock_type::now();
  auto ch = goro::make_chan<int>();
  goro::go([](goro::send_chan<int> out) { for (int i = 2;; ++i) out.send(i); }, ch.as_send());
  int prime = 0;
  for (int i = 0; i < 1000; ++i) {
    prime = *ch.recv();
    auto next = goro::make_chan<int>();
    goro::go([prime](goro::recv_chan<int> in, goro::send_chan<int> out) {
      for (;;) {
        int v = *in.recv();
        if (v % prime != 0) out.send(v);
      }
    }, ch.as_recv(), next.as_send());
    ch = next;
  }
  std::printf("   the 1000th prime is %d (%.1f ms, 1001 goroutines left parked)\n", prime,
              ms_since(start));
}

void tour_time() {
  stop("time", "sleep parks the goroutine; ticker ticks; after_func runs a goroutine later");
  auto start = clock_type::now();
  goro::sleep(std::chrono::milliseconds(3));
  std::printf("   sleep(3ms) took %.2f ms\n", ms_since(start));
  goro::ticker tick(std::chrono::milliseconds(2));
  start = clock_type::now();
  for (int i = 0; i < 3; ++i) tick.c().recv();
  std::printf("   3 ticks of 2 ms in %.2f ms\n", ms_since(start));
  auto done = goro::make_chan<int>(1);
  auto t = goro::after_func(std::chrono::milliseconds(1), [=] { done.send(1); });
  done.recv();
  std::printf("   after_func ran its function in a new goroutine\n");
}

void tour_sync() {
  stop("sync", "goro::mutex (also shared_mutex, once, cond): Go's sync; waiting parks the "
               "goroutine, and std::lock_guard & co. work");
  goro::mutex mu;
  long counter = 0;
  goro::wait_group wg;
  constexpr int workers = 8, per = 100'000;
  auto start = clock_type::now();
  wg.add(workers);
  for (int w = 0; w < workers; ++w)
    goro::go([&] {
      for (int i = 0; i < per; ++i) {
        std::lock_guard lock(mu);
        ++counter;
      }
      wg.done();
    });
  wg.wait();
  double ms = ms_since(start);
  std::lock_guard lock(mu);
  std::printf("   %d goroutines x %d locked increments: %ld (%.1f ns each)\n", workers, per, counter,
              ms * 1e6 / (workers * per));
}

// One run of the pool: a producer feeds jobs to `workers` workers until the
// jobs run out or the group's context ends; each job "does I/O" for 1 ms
// (a timer), abandoned as soon as the context ends. bad_job throws.
struct pool_result {
  int completed = 0;
  std::exception_ptr error;
};

pool_result run_pool(const goro::context& parent, int jobs, int workers, int bad_job) {
  goro::errgroup g(parent);
  auto queue = goro::make_chan<int>();
  std::atomic<int> completed{0};
  g.go([&](const goro::context& ctx) {  // the producer
    for (int j = 0; j < jobs; ++j) {
      bool sent = false;
      goro::select(goro::send_case(queue, j, [&] { sent = true; }),
                   goro::recv_case(ctx.done(), [](auto) {}));
      if (!sent) break;
    }
    queue.close();
  });
  for (int w = 0; w < workers; ++w) {
    g.go([&](const goro::context& ctx) -> std::error_code {
      for (int job : queue) {
        if (job == bad_job) throw std::runtime_error("job " + std::to_string(job) + ": bad input");
        goro::select(goro::recv_case(goro::after(std::chrono::milliseconds(1)), [](auto) {}),
                     goro::recv_case(ctx.done(), [](auto) {}));
        if (ctx.err()) return ctx.err();  // canceled or past the deadline: give up
        completed.fetch_add(1);
      }
      return {};
    });
  }
  std::exception_ptr e = g.wait();
  return {completed.load(), e};
}

std::string describe(const std::exception_ptr& e) {
  if (!e) return "no error";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

void tour_worker_pool() {
  stop("worker pool: errgroup + context",
       "4 workers share a job queue; a deadline or the first error cancels all of them");
  auto start = clock_type::now();
  pool_result r = run_pool(goro::background(), 40, 4, -1);
  std::printf("   no deadline: %d jobs of 1 ms done by 4 workers in %.1f ms (%s)\n", r.completed,
              ms_since(start), describe(r.error).c_str());
  start = clock_type::now();
  {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), std::chrono::milliseconds(5));
    r = run_pool(ctx, 1000, 4, -1);
  }
  std::printf("   deadline 5 ms: %d of 1000 jobs done, stopped after %.1f ms: \"%s\"\n", r.completed,
              ms_since(start), describe(r.error).c_str());
  start = clock_type::now();
  r = run_pool(goro::background(), 1000, 4, 20);
  std::printf("   a job throws: %d jobs done, the others canceled after %.1f ms: \"%s\"\n",
              r.completed, ms_since(start), describe(r.error).c_str());
}

void tour_net() {
  stop("goro::net", "a goroutine per connection; I/O parks the goroutine on the network poller, "
                    "never the thread");
  auto ln = goro::net::listen("tcp", "127.0.0.1:0");
  goro::wait_group served;
  served.add(1);
  goro::go([&] {  // the server: accepts one connection and upper-cases what it reads
    goro::net::conn c = ln.accept();
    std::array<char, 256> buf;
    while (std::size_t n = c.read(buf)) {  // 0: the client closed
      for (std::size_t i = 0; i < n; ++i)
        buf[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(buf[i])));
      c.write(std::string_view(buf.data(), n));
    }
    served.done();
  });
  goro::net::conn c = goro::net::dial("tcp", ln.addr());
  std::printf("   client %s -> server %s\n", c.local_addr().c_str(), c.remote_addr().c_str());
  std::array<char, 5> reply;
  c.write("hello");
  c.read_full(reply);
  std::printf("   sent \"hello\", got \"%.*s\"\n", 5, reply.data());
  constexpr int n = 20'000;
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i) {
    c.write("ping!");
    c.read_full(reply);
  }
  std::printf("   %d round trips over loopback TCP: %.1f us each\n", n, ms_since(start) * 1e3 / n);
  c.set_read_deadline(goro::clock::now() + std::chrono::milliseconds(10));
  start = clock_type::now();
  try {
    c.read(reply);  // the server has nothing to say: the deadline ends the wait
  } catch (const std::system_error& e) {
    std::printf("   a read with a 10 ms deadline: \"%s\" after %.1f ms\n", e.what(), ms_since(start));
  }
  c.close();
  served.wait();
  ln.close();
}

[[gnu::noinline]] std::thread::id current_thread() {  // read afresh after a switch point
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

void tour_diagnostics() {
  stop("diagnostics", "lock_os_thread pins a goroutine to its thread; goro::dump prints every "
                      "goroutine like Go's traceback; goro::trace records the scheduler");
  // lock_os_thread: 1,000 channel round trips, and the goroutine never moves.
  auto ping = goro::make_chan<int>(), pong = goro::make_chan<int>();
  goro::go([=] {
    for (int v : ping) pong.send(v);
  });
  goro::lock_os_thread();
  const auto home = current_thread();
  bool stayed = true;
  for (int i = 0; i < 1000; ++i) {
    ping.send(i);
    pong.recv();
    stayed = stayed && current_thread() == home;
  }
  goro::unlock_os_thread();
  ping.close();
  std::printf("   locked goroutine, 1000 round trips: %s\n",
              stayed ? "always on the same thread" : "MOVED (bug)");

  // goro::dump: two goroutines parked on a channel nobody sends on.
  auto never = goro::make_chan<int>();
  goro::wait_group parked;
  for (int i = 0; i < 2; ++i) {
    parked.add(1);
    goro::go([never, &parked] {
      never.recv();  // released by close below
      parked.done();
    });
  }
  goro::sleep(std::chrono::milliseconds(1));  // (a demo: time enough for them to park)
  std::ostringstream dump;
  goro::dump(dump);
  never.close();
  parked.wait();
  // Each goroutine is a block: header, frames, "created by". Show ours
  // (the caller, and the two receivers) with their first frame.
  std::istringstream lines(dump.str());
  std::string line, header, first_frame;
  int goroutines = 0;
  auto show = [](const std::string& l) {
    if (l.size() > 96) std::printf("   | %.93s...\n", l.c_str());
    else std::printf("   | %s\n", l.c_str());
  };
  while (std::getline(lines, line)) {
    if (line.rfind("goroutine ", 0) == 0) {
      ++goroutines;
      header = line;
      first_frame.clear();
    } else if (first_frame.empty() && !header.empty() && !line.empty() && line[0] != '\t') {
      first_frame = line;
      if (header.find("[running]") != std::string::npos) show(header), show(first_frame);
    } else if (line.rfind("created by ", 0) == 0 && header.find("[chan receive]") != std::string::npos) {
      show(header), show(first_frame), show(line);
      if (std::getline(lines, line)) show(line);  // the go() call's file:line
    }
  }
  std::printf("   (%d goroutines in the dump: the prime sieve above left its filters blocked in "
              "chan send, as Go's does)\n", goroutines);

  // goro::trace: a Chrome/Perfetto trace of a small ping-pong.
  auto path = (std::filesystem::temp_directory_path() / "goro-tour-trace.json").string();
  goro::trace::start(path);
  auto a = goro::make_chan<int>(), b = goro::make_chan<int>();
  goro::go([=] {
    for (int v : a) b.send(v);
  });
  for (int i = 0; i < 200; ++i) {
    a.send(i);
    b.recv();
  }
  a.close();
  goro::trace::stop();
  std::printf("   trace of 200 round trips: %s (%ju bytes; open it in ui.perfetto.dev)\n", path.c_str(),
              static_cast<std::uintmax_t>(std::filesystem::file_size(path)));
}

}  // namespace

int main() {
  std::printf("goro tour — Go's concurrency runtime in C++20\n");
  return goro::run([] {
    tour_runtime();
    tour_spawn();
    tour_parked();
    tour_migration();
    tour_foreign_thread();
    tour_exceptions();
    tour_channels();
    tour_select();
    tour_pipeline();
    tour_sieve();
    tour_time();
    tour_sync();
    tour_worker_pool();
    tour_net();
    tour_diagnostics();
    std::printf("\nend of tour\n");
    return 0;
  });
}
