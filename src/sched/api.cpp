// sched/api.cpp — the public entry points of goro/runtime.hpp, on top of the
// scheduler.
#include <sched.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <tuple>

#include "debug/crash.hpp"
#include "debug/trace.hpp"
#include "goro/runtime.hpp"
#include "sched/sched.hpp"

namespace goro {
namespace detail {
namespace {

std::atomic<bool> run_active{false};

runtime& require_runtime() {
  runtime* rt = current_runtime();
  if (rt == nullptr) throw std::logic_error("goro::go: no goro runtime is running (call goro::run first)");
  return *rt;
}

}  // namespace

spawn_slot goroutine_alloc(std::size_t size, std::size_t align, const closure_ops* ops,
                           const go_options* opts, const void* site) {
  G* g = require_runtime().new_g(size, align, ops, opts, site);
  return {g, g->closure};
}

// Call sites of go() compiled without std::source_location: interned once
// each (the runtime keeps a pointer per goroutine), with a per-thread cache
// in front of the table.
const void* intern_site(const char* file, const char* function, unsigned line) noexcept {
  struct site {
    const char* file;
    const char* function;
    unsigned line;
    unsigned column;
  };
  struct cached {
    const char* file;
    const char* function;
    unsigned line;
    const site* s;
  };
  thread_local cached cache[64] = {};
  std::size_t h = (reinterpret_cast<std::uintptr_t>(file) ^ reinterpret_cast<std::uintptr_t>(function) * 31 ^
                   line * 0x9E3779B9u) % 64;
  cached& c = cache[h];
  if (c.s != nullptr && c.file == file && c.function == function && c.line == line) return c.s;
  static std::mutex mu;
  static std::map<std::tuple<const char*, const char*, unsigned>, std::unique_ptr<site>> sites;
  std::lock_guard lock(mu);
  auto& slot = sites[{file, function, line}];
  if (!slot) slot.reset(new site{file, function, line, 0});
  c = {file, function, line, slot.get()};
  return slot.get();
}

void goroutine_discard(spawn_slot slot) noexcept {
  current_runtime()->free_unstarted_g(static_cast<G*>(slot.g));
}

void goroutine_start(spawn_slot slot) { current_runtime()->start_g(static_cast<G*>(slot.g)); }

int run_main(const config& cfg, int (*body)(void*), void* arg) {
  bool expected = false;
  if (!run_active.compare_exchange_strong(expected, true))
    throw std::logic_error("goro::run: a goro runtime is already running in this process");
  struct reset_flag {
    ~reset_flag() { run_active.store(false); }
  } reset;
  runtime rt(cfg);
  set_current_runtime(&rt);
  int code = rt.run(body, arg);
  tr::runtime_ended();  // every thread of rt has exited: their events are in
  set_current_runtime(nullptr);
  return code;
}

void blocking_enter() noexcept {
  if (runtime* rt = current_runtime()) rt->blocking_enter();
}

void blocking_exit() noexcept {
  if (runtime* rt = current_runtime()) rt->blocking_exit();
}

}  // namespace detail

void yield() {
  if (detail::current_g() != nullptr) {
    detail::current_runtime()->yield_current();
  } else {
    ::sched_yield();
  }
}

void lock_os_thread() {
  if (detail::runtime* rt = detail::current_runtime()) rt->lock_os_thread();
}

void unlock_os_thread() {
  if (detail::runtime* rt = detail::current_runtime()) rt->unlock_os_thread();
}

std::int64_t num_goroutine() {
  detail::runtime* rt = detail::current_runtime();
  return rt ? rt->goroutines() : 0;
}

int maxprocs() {
  detail::runtime* rt = detail::current_runtime();
  return rt ? rt->procs() : 0;
}

std::uint64_t goid() {
  detail::G* g = detail::current_g();
  return g ? g->id.load(std::memory_order_relaxed) : 0;
}

}  // namespace goro
