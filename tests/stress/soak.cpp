// The soak test: every part of goro at once, for a while, with invariants.
//
//   soak [--seconds=N] [--procs=1,2,16] [--stall=S] [--seed=X]
//        (or SOAK_SECONDS, SOAK_PROCS, SOAK_STALL in the environment)
//
// For each procs value (default 1, 2 and 16) it runs a fresh runtime for
// N / (number of procs values) seconds (default N = 30). Each runtime runs
// rounds until its time is up; a round runs these workloads concurrently and
// waits for all of them:
//   spawn      goroutines that count themselves (count checked)
//   pipeline   producers -> channel (cap 0, 1 or 16) -> consumers, closed by
//              the last producer (sum and count of values checked)
//   select     sends and receives through select with time.After timeouts
//              (every value received exactly once)
//   timers     after_func (some stopped: fired + stopped == started), a
//              timer reset and stopped, a ticker
//   sync       goro::mutex, shared_mutex (readers check the writers' pair
//              invariant), cond (a bounded queue), wait_group, semaphore
//              (never over its size), once, goro::blocking
//   context    goroutines parked on ctx.done() of a tree canceled at its
//              root, and on a with_timeout deadline (all of them wake)
//   errgroup   a limited group where one task fails and the others see
//              their context canceled
//   net        a goroutine-per-connection echo server on loopback and
//              clients checking what comes back; half of them close with a
//              reset (SO_LINGER 0), the listener is closed under accept
// A watchdog thread (a plain std::thread, so a stuck scheduler cannot stop
// it) ends the process with exit status 3 and a message naming the procs
// value, the round, the goroutine count and the workloads that have not
// finished if none makes progress for S seconds (default 30): a lost wakeup
// or a hang. A failed invariant exits with 1.
// Leaks are LSan's job (scripts/stress.sh runs this under ASan). Exit 0 when
// everything held.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include "goro/goro.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::atomic<std::uint64_t> g_progress{0};    // bumped by every workload step
std::atomic<int> g_procs{0};
std::atomic<long> g_round{0};
std::atomic<unsigned> g_unfinished{0};       // bit i: workload i of the round still runs
constexpr const char* workload_names[] = {"spawn", "pipeline", "select", "timers",
                                          "sync", "context", "errgroup", "net", "locked"};
std::atomic<std::uint32_t> g_seed{1};

void progress() { g_progress.fetch_add(1, std::memory_order_relaxed); }

// String building without operator+ chains (g++ 12's -Wrestrict false
// positive on them at -O3, PR 105329).
inline void cat_one(std::string& s, std::string_view v) { s.append(v); }
template <class I>
  requires std::is_arithmetic_v<I>
void cat_one(std::string& s, I v) {
  s.append(std::to_string(v));
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "soak: FAILED at procs=%d round %ld: %s\n", g_procs.load(), g_round.load(),
               what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

template <class... M>
void check(bool ok, const M&... what) {
  if (ok) return;
  std::string s;
  (cat_one(s, what), ...);
  fail(s);
}

std::mt19937 rng() { return std::mt19937(g_seed.fetch_add(0x9e3779b9u)); }

// --- workloads ---------------------------------------------------------------

void spawn_workload() {
  constexpr int n = 300;
  std::atomic<int> count{0};
  goro::wait_group wg;
  for (int i = 0; i < n; ++i) {
    wg.add(1);
    goro::go([&] {
      if (count.fetch_add(1) % 7 == 0) goro::yield();
      wg.done();
    });
  }
  wg.wait();
  check(count.load() == n, "spawn: ", count.load(), " of ", n);
  progress();
}

void pipeline_workload() {
  auto r = rng();
  const std::size_t caps[] = {0, 1, 16};
  const std::size_t cap = caps[r() % 3];
  constexpr int producers = 4, consumers = 3, per_producer = 500;
  auto ch = goro::make_chan<std::uint64_t>(cap);
  std::atomic<int> producers_left{producers};
  std::atomic<std::uint64_t> sum{0};
  std::atomic<long> received{0};
  goro::wait_group wg;
  for (int p = 0; p < producers; ++p) {
    wg.add(1);
    goro::go([&, p] {
      for (int i = 0; i < per_producer; ++i) ch.send(static_cast<std::uint64_t>(p) * 1'000'000 + i);
      if (producers_left.fetch_sub(1) == 1) ch.close();
      progress();
      wg.done();
    });
  }
  for (int c = 0; c < consumers; ++c) {
    wg.add(1);
    goro::go([&] {
      for (std::uint64_t v : ch) {
        sum.fetch_add(v, std::memory_order_relaxed);
        received.fetch_add(1, std::memory_order_relaxed);
      }
      wg.done();
    });
  }
  wg.wait();
  std::uint64_t want = 0;
  for (int p = 0; p < producers; ++p)
    for (int i = 0; i < per_producer; ++i) want += static_cast<std::uint64_t>(p) * 1'000'000 + i;
  check(received.load() == long{producers} * per_producer,
        "pipeline cap ", cap, ": received ", received.load());
  check(sum.load() == want, "pipeline cap ", cap, ": wrong sum");
  progress();
}

void select_workload() {
  constexpr int n = 200;
  auto data = goro::make_chan<int>();
  auto done = goro::make_chan<int>();
  std::vector<int> seen(n, 0);
  goro::wait_group wg;
  wg.add(2);
  goro::go([&] {  // sender: retries a send until it goes, with a timeout case
    for (int i = 0; i < n; ++i) {
      for (;;) {
        int k = goro::select(goro::send_case(data, i), goro::recv_case(goro::after(200us)));
        if (k == 0) break;
      }
      progress();
    }
    wg.done();
  });
  goro::go([&] {  // receiver: select with a timeout and a second, idle channel
    int got = 0;
    while (got < n) {
      goro::select(goro::recv_case(data, [&](std::optional<int> v) {
                     check(v.has_value(), "select: data closed");
                     ++seen[static_cast<std::size_t>(*v)];
                     ++got;
                   }),
                   goro::recv_case(done), goro::recv_case(goro::after(300us)));
    }
    wg.done();
  });
  wg.wait();
  for (int i = 0; i < n; ++i)
    check(seen[static_cast<std::size_t>(i)] == 1,
          "select: value ", i, " received ", seen[static_cast<std::size_t>(i)], " times");
  progress();
}

void timers_workload() {
  auto r = rng();
  constexpr int n = 64;
  std::atomic<int> fired{0};
  goro::wait_group wg;
  std::vector<goro::timer> timers;
  timers.reserve(n);
  for (int i = 0; i < n; ++i) {
    wg.add(1);
    timers.push_back(goro::after_func(std::chrono::microseconds(r() % 2000), [&] {
      fired.fetch_add(1);
      wg.done();
    }));
  }
  int stopped = 0;
  for (int i = 0; i < n; i += 3) {
    if (timers[static_cast<std::size_t>(i)].stop()) {
      ++stopped;
      wg.done();
    }
  }
  wg.wait();
  check(fired.load() + stopped == n, "after_func: fired ", fired.load(), " + stopped ",
                                         stopped, " != ", n);
  progress();

  goro::timer t(1h);
  check(t.reset(std::chrono::microseconds(100 + r() % 500)), "timer: reset of a pending timer said not pending");
  check(t.c().recv().has_value(), "timer: no value");
  check(!t.stop(), "timer: stop after it fired said pending");
  goro::timer t2(1h);
  check(t2.stop(), "timer: stop of a pending timer said not pending");
  check(!t2.c().try_recv(), "timer: a stopped timer delivered");

  goro::ticker tk(200us);
  for (int i = 0; i < 5; ++i) check(tk.c().recv().has_value(), "ticker: no tick");
  tk.reset(300us);
  for (int i = 0; i < 3; ++i) check(tk.c().recv().has_value(), "ticker: no tick after reset");
  tk.stop();
  progress();
}

void sync_workload() {
  goro::mutex mu;
  long a = 0, b = 0;
  goro::shared_mutex rw;
  long x = 0, y = 0;
  goro::wait_group wg;
  constexpr int writers = 6, iters = 300;
  for (int w = 0; w < writers; ++w) {
    wg.add(2);
    goro::go([&] {
      for (int i = 0; i < iters; ++i) {
        {
          std::lock_guard lock(mu);
          ++a;
          if (i % 16 == 0) goro::yield();  // switch while holding the lock
          ++b;
        }
        {
          std::lock_guard lock(rw);
          ++x;
          ++y;
        }
      }
      progress();
      wg.done();
    });
    goro::go([&] {
      for (int i = 0; i < iters; ++i) {
        std::shared_lock lock(rw);
        check(x == y, "shared_mutex: a reader saw a half-done write");
      }
      wg.done();
    });
  }
  wg.wait();
  check(a == long{writers} * iters && b == a, "mutex: lost increments");
  check(x == long{writers} * iters && y == x, "shared_mutex: lost increments");

  // cond: a bounded queue (capacity 4) between producers and consumers.
  goro::mutex qmu;
  goro::cond not_empty(qmu), not_full(qmu);
  std::vector<int> q;
  constexpr int items = 400, qp = 3, qc = 3;
  long produced_sum = 0, consumed_sum = 0;
  int consumed = 0;
  goro::wait_group cwg;
  for (int p = 0; p < qp; ++p) {
    cwg.add(1);
    goro::go([&, p] {
      for (int i = 0; i < items; ++i) {
        std::unique_lock lock(qmu);
        not_full.wait([&] { return q.size() < 4; });
        q.push_back(p * items + i);
        produced_sum += p * items + i;
        not_empty.signal();
      }
      cwg.done();
    });
  }
  for (int c = 0; c < qc; ++c) {
    cwg.add(1);
    goro::go([&] {
      for (;;) {
        std::unique_lock lock(qmu);
        not_empty.wait([&] { return !q.empty() || consumed == qp * items; });
        if (q.empty()) break;
        consumed_sum += q.back();
        q.pop_back();
        if (++consumed == qp * items) not_empty.broadcast();
        not_full.signal();
      }
      cwg.done();
    });
  }
  cwg.wait();
  check(consumed == qp * items && consumed_sum == produced_sum, "cond: queue lost items");
  progress();

  // semaphore (weights 1 and 2 of 3: never more than 3 held), once, and
  // goro::blocking (a short blocking call that may hand the P off).
  goro::semaphore sem(3);
  goro::once init;
  std::atomic<int> held{0}, inits{0}, max_held{0};
  goro::wait_group swg;
  for (int i = 0; i < 8; ++i) {
    swg.add(1);
    goro::go([&, i] {
      init.call([&] { inits.fetch_add(1); });
      const int w = 1 + i % 2;
      for (int k = 0; k < 50; ++k) {
        sem.acquire(w);
        int now = held.fetch_add(w) + w;
        int seen = max_held.load();
        while (now > seen && !max_held.compare_exchange_weak(seen, now)) {
        }
        if (k % 10 == 0) goro::blocking([] { std::this_thread::sleep_for(std::chrono::microseconds(50)); });
        else goro::yield();
        held.fetch_sub(w);
        sem.release(w);
      }
      swg.done();
    });
  }
  swg.wait();
  check(inits.load() == 1, "once: ran ", inits.load(), " times");
  check(max_held.load() <= 3, "semaphore: ", max_held.load(), " held at once (size 3)");
  progress();
}

void context_workload() {
  auto [root, cancel] = goro::with_cancel(goro::background());
  constexpr int n = 40;
  std::atomic<int> woke{0};
  goro::wait_group wg;
  std::vector<std::pair<goro::context, goro::cancel_func>> kids;
  for (int i = 0; i < 4; ++i) kids.push_back(goro::with_cancel(root));
  for (int i = 0; i < n; ++i) {
    wg.add(1);
    goro::context ctx = kids[static_cast<std::size_t>(i % 4)].first;
    goro::go([&woke, &wg, ctx] {
      // No timeout: only the cancellation wakes it (the watchdog catches a lost one).
      ctx.done().recv();
      if (ctx.err() == goro::errc::canceled) woke.fetch_add(1);
      wg.done();
    });
  }
  goro::yield();
  cancel();
  wg.wait();
  check(woke.load() == n, "context: ", woke.load(), " of ", n, " saw canceled");

  auto [tctx, tcancel] = goro::with_timeout(goro::background(), 500us);
  tctx.done().recv();
  check(tctx.err() == goro::errc::deadline_exceeded, "context: deadline not exceeded");
  progress();
}

void errgroup_workload() {
  goro::errgroup g(goro::background());
  g.set_limit(4);
  std::atomic<int> saw_cancel{0};
  constexpr int n = 16;
  for (int i = 0; i < n; ++i) {
    g.go([i, &saw_cancel](const goro::context& ctx) -> std::error_code {
      if (i == 5) return std::make_error_code(std::errc::io_error);
      if (i > 5) {
        ctx.done().recv();  // canceled by task 5's error
        saw_cancel.fetch_add(1);
      }
      return {};
    });
  }
  std::exception_ptr e = g.wait();
  check(e != nullptr, "errgroup: no error");
  check(saw_cancel.load() == n - 6, "errgroup: ", saw_cancel.load(), " saw the cancel");
  progress();
}

void net_workload() {
  goro::net::listener ln = goro::net::listen("tcp", "127.0.0.1:0");
  goro::wait_group server;
  server.add(1);
  goro::go([&] {
    goro::wait_group conns;
    for (;;) {
      goro::net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error&) {
        break;  // the listener was closed
      }
      conns.add(1);
      goro::go([&conns, c]() mutable {
        std::array<char, 2048> buf;
        try {
          while (std::size_t n = c.read(buf)) c.write(std::string_view(buf.data(), n));
        } catch (const std::system_error&) {
        }
        c.close();
        conns.done();
      });
    }
    conns.wait();
    server.done();
  });
  const std::string addr = ln.addr();
  goro::wait_group clients;
  constexpr int nclients = 4, msgs = 20;
  for (int k = 0; k < nclients; ++k) {
    clients.add(1);
    goro::go([&, k] {
      auto r = rng();
      goro::net::conn c = goro::net::dial("tcp", addr);
      for (int m = 0; m < msgs; ++m) {
        std::string out(1 + r() % 3000, '\0');
        for (char& ch : out) ch = static_cast<char>('a' + r() % 26);
        c.write(out);
        std::string in(out.size(), '\0');
        check(c.read_full(std::span<char>(in.data(), in.size())), "net: EOF before the echo");
        check(in == out, "net: the echo differs");
        progress();
      }
      if (k % 2 == 1) {
        // Half the clients reset their connection (SO_LINGER 0): the server's
        // read fails with ECONNRESET, and no TIME_WAIT is left behind.
        ::linger lg{1, 0};
        check(::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0,
              "net: setsockopt(SO_LINGER)");
      }
      c.close();
      clients.done();
    });
  }
  clients.wait();
  ln.close();
  server.wait();
}

// The calling thread's id, read afresh after a switch point (pthread_self
// is "const" to the compiler).
[[gnu::noinline]] std::thread::id current_thread() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

// lock_os_thread: a locked goroutine stays on its thread through channel
// waits, sleeps and blocking calls while the others churn around it; one
// round in 64 it returns locked (its thread is retired: kept asleep until
// run() returns, so rarely, or a long soak would pile up threads).
void locked_workload() {
  auto r = rng();
  const bool exit_locked = r() % 64 == 0;
  auto ping = goro::make_chan<int>(), pong = goro::make_chan<int>();
  goro::wait_group wg;
  wg.add(2);
  goro::go([&] {
    for (int v : ping) pong.send(v + 1);
    wg.done();
  });
  goro::go([&] {
    goro::lock_os_thread();
    const std::thread::id home = current_thread();
    for (int i = 0; i < 100; ++i) {
      ping.send(i);
      check(pong.recv() == i + 1, "locked: wrong reply");
      if (i % 10 == 0) goro::sleep(50us);
      if (i % 25 == 0) goro::blocking([] { std::this_thread::sleep_for(100us); });
      check(current_thread() == home, "locked: goroutine left its thread at step ", i);
      progress();
    }
    ping.close();
    if (!exit_locked) goro::unlock_os_thread();
    wg.done();
  });
  wg.wait();
}

void round() {
  goro::wait_group wg;
  unsigned bit = 1;
  auto start = [&](void (*f)()) {
    wg.add(1);
    g_unfinished.fetch_or(bit);
    goro::go([&wg, f, bit] {
      f();
      g_unfinished.fetch_and(~bit);
      wg.done();
    });
    bit <<= 1;
  };
  // In the order of workload_names.
  start(spawn_workload);
  start(pipeline_workload);
  start(select_workload);
  start(timers_workload);
  start(sync_workload);
  start(context_workload);
  start(errgroup_workload);
  start(net_workload);
  start(locked_workload);
  wg.wait();
}

// --- main ----------------------------------------------------------------------

long arg_long(int argc, char** argv, const char* name, const char* env, long def) {
  std::string prefix = "--";
  prefix.append(name).append("=");
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return std::atol(argv[i] + prefix.size());
  if (const char* e = std::getenv(env)) return std::atol(e);
  return def;
}

std::vector<int> arg_procs(int argc, char** argv) {
  std::string s = "1,2,16";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--procs=", 8) == 0) s = argv[i] + 8;
  if (const char* e = std::getenv("SOAK_PROCS"); e && std::none_of(argv + 1, argv + argc, [](const char* a) {
        return std::strncmp(a, "--procs=", 8) == 0;
      }))
    s = e;
  std::vector<int> out;
  for (std::size_t pos = 0; pos <= s.size();) {
    std::size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    if (comma > pos) out.push_back(std::atoi(s.substr(pos, comma - pos).c_str()));
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const long seconds = arg_long(argc, argv, "seconds", "SOAK_SECONDS", 30);
  const long stall = arg_long(argc, argv, "stall", "SOAK_STALL", 30);
  g_seed.store(static_cast<std::uint32_t>(arg_long(argc, argv, "seed", "SOAK_SEED", 1)));
  const std::vector<int> procs = arg_procs(argc, argv);
  if (seconds <= 0 || stall <= 0 || procs.empty() ||
      std::any_of(procs.begin(), procs.end(), [](int p) { return p <= 0; })) {
    std::fprintf(stderr, "usage: %s [--seconds=N] [--procs=1,2,16] [--stall=S] [--seed=X]\n", argv[0]);
    return 2;
  }

  // The watchdog: a plain thread, so it runs whatever the scheduler does.
  std::mutex wmu;
  std::condition_variable wcv;
  bool finished = false;
  std::thread watchdog([&] {
    std::uint64_t last = g_progress.load();
    auto last_change = steady::now();
    std::unique_lock lock(wmu);
    while (!wcv.wait_for(lock, 1s, [&] { return finished; })) {
      std::uint64_t now = g_progress.load();
      if (now != last) {
        last = now;
        last_change = steady::now();
      } else if (steady::now() - last_change > std::chrono::seconds(stall)) {
        std::string unfinished;
        for (unsigned i = 0; i < std::size(workload_names); ++i)
          if (g_unfinished.load() & (1u << i)) unfinished.append(" ").append(workload_names[i]);
        std::fprintf(stderr,
                     "soak: NO PROGRESS for %lds at procs=%d round %ld: a lost wakeup or a hang; "
                     "%lld goroutines; unfinished workloads:%s\n",
                     stall, g_procs.load(), g_round.load(), static_cast<long long>(goro::num_goroutine()),
                     unfinished.empty() ? " none" : unfinished.c_str());
        std::fflush(stderr);
        std::_Exit(3);
      }
    }
  });

  const auto slice = std::chrono::milliseconds(seconds * 1000 / static_cast<long>(procs.size()));
  for (int p : procs) {
    g_procs.store(p);
    g_round.store(0);
    const auto t0 = steady::now();
    const std::uint64_t p0 = g_progress.load();
    int rc = goro::run(
        [&] {
          while (steady::now() - t0 < slice) {
            g_round.fetch_add(1);
            round();
          }
          // Every workload has returned; the last goroutines (after wg.done(),
          // after_func bodies) are finishing.
          auto deadline = steady::now() + 10s;
          while (goro::num_goroutine() != 1 && steady::now() < deadline) goro::yield();
          check(goro::num_goroutine() == 1,
                "goroutines left after the last round: ", goro::num_goroutine());
          return 0;
        },
        goro::config{.procs = p});
    if (rc != 0) return rc;
    std::printf("soak: procs=%-2d %5ld rounds, %9llu steps in %.1fs: ok\n", p, g_round.load(),
                static_cast<unsigned long long>(g_progress.load() - p0),
                std::chrono::duration<double>(steady::now() - t0).count());
    std::fflush(stdout);
  }
  {
    std::lock_guard lock(wmu);
    finished = true;
  }
  wcv.notify_one();
  watchdog.join();
  return 0;
}
