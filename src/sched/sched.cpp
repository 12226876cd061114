// sched/sched.cpp — the scheduler (see sched.hpp for the model, the
// spinning protocol and the lock order).
#include "sched/sched.hpp"

#include <dirent.h>
#include <pthread.h>
#include <sys/prctl.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cxxabi.h>
#include <algorithm>
#include <bit>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "arch/context.hpp"
#include "debug/crash.hpp"
#include "debug/trace.hpp"
#include "goro/trace.hpp"
#include "debug/dump.hpp"
#include "os/futex.hpp"
#include "os/membarrier.hpp"
#include "netpoll/netpoll.hpp"

namespace goro::detail {
namespace {

thread_local M* tls_m = nullptr;
std::atomic<runtime*> running_runtime{nullptr};

// Goroutine ids are handed to Ps in batches, like Go's goidcache.
constexpr std::uint64_t goid_batch = 16;
// P-local free G records kept before half move to the global list.
constexpr std::int32_t gfree_local_max = 64;
constexpr int g_chunk_size = 256;
// Go looks at the global queue first on every 61st schedule tick.
constexpr std::uint32_t global_fairness_tick = 61;
constexpr int steal_rounds = 4;
// How long a spinning M keeps looking for work before it parks (see spin_for_work).
constexpr std::chrono::microseconds spin_budget{50};
// A local queue at least this long has goroutines whose stacks went cold
// (see prefetch_saved_context).
constexpr std::uint32_t prefetch_min_queued = 16;
// sysmon (Go's): ticks every 20 us, backing off to 10 ms while it finds
// nothing to do; takes a P stuck in goro::blocking for one tick, or stuck in
// user code for 10 ms, while work waits.
constexpr std::int64_t sysmon_min_delay_ns = 20'000;
constexpr std::int64_t sysmon_max_delay_ns = 10'000'000;
constexpr int sysmon_idle_ticks_before_backoff = 50;
constexpr std::int64_t blocking_retake_ns = 20'000;
constexpr std::int64_t running_retake_ns = 10'000'000;
constexpr std::int64_t sysmon_poll_after_ns = 10'000'000;
// sysmon returns the pages of spare stacks (stack.hpp) unused for this long.
constexpr std::int64_t stack_scavenge_period_ns = 250'000'000;

int resolve_procs(int requested) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("GOMAXPROCS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= 1 << 16) return static_cast<int>(n);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

std::uint32_t fastrand(M* m) {
  // xorshift32: per-M state, no sharing.
  std::uint32_t x = m->rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  m->rng = x;
  return x;
}

void goroutine_entry(void* arg);

}  // namespace

// ---------------------------------------------------------------------------
// Thread-local access. Never inlined: see sched.hpp.

[[gnu::noinline]] M* this_m() noexcept {
  asm volatile("" ::: "memory");
  return tls_m;
}

G* current_g() noexcept {
  M* m = this_m();
  if (m == nullptr || m->curg == nullptr || m->curg->is_g0) return nullptr;
  return m->curg;
}

std::uint32_t cheap_rand() noexcept {
  static thread_local std::uint32_t state = 0;
  std::uint32_t x = state;
  if (x == 0) {
    x = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&state) >> 4) ^
        static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    if (x == 0) x = 0x9E3779B9u;
  }
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state = x;
  return x;
}

runtime* current_runtime() noexcept { return running_runtime.load(std::memory_order_acquire); }

runtime* set_current_runtime(runtime* rt) noexcept {
  return running_runtime.exchange(rt, std::memory_order_acq_rel);
}

void random_order::reset(std::uint32_t n) {
  n_ = n;
  coprimes_.clear();
  for (std::uint32_t i = 1; i <= n; ++i)
    if (std::gcd(i, n) == 1) coprimes_.push_back(i);
}

// ---------------------------------------------------------------------------
// Construction, run, teardown.

namespace {
std::atomic<std::uint64_t> runtimes_made{0};
}  // namespace

runtime::runtime(const config& cfg)
    : cfg_(cfg), id_(runtimes_made.fetch_add(1, std::memory_order_relaxed) + 1), stacks_(cfg.stack_size ? cfg.stack_size : default_stack_size) {
  int procs = resolve_procs(cfg.procs);
  cfg_.procs = procs;
  os::membarrier_init();
  steal_order_.reset(static_cast<std::uint32_t>(procs));
  idle_ms_.reserve(static_cast<std::size_t>(procs));
  for (int i = 0; i < procs; ++i) {
    auto p = std::make_unique<P>();
    p->id = i;
    auto m = std::make_unique<M>();
    m->rt = this;
    m->p = p.get();
    m->rng = 0x9E3779B9u * static_cast<std::uint32_t>(i + 1);
    m->g0.is_g0 = true;
    p->m.store(m.get(), std::memory_order_relaxed);
    ps_.push_back(std::move(p));
    ms_.push_back(std::move(m));
  }
}

runtime::~runtime() {
  for (auto& p : ps_) p->timers.discard_all();
  // Waiter records of goroutines still blocked live on stacks freed below, but
  // are linked into structures that outlive this runtime (semaphore buckets,
  // channels the program still holds): unlink them first. That includes a
  // goroutine woken but not resumed (runnable, unlink_wait still set): a
  // select's losing waiters stay queued until it runs. The unlink hooks
  // skip records their waker already took out.
  for (auto& chunk : g_chunks_)
    for (int i = 0; i < g_chunk_size; ++i) {
      G& g = chunk[static_cast<std::size_t>(i)];
      gstatus status = g.status.load(std::memory_order_relaxed);
      if (g.unlink_wait != nullptr && (status == gstatus::waiting || status == gstatus::runnable))
        g.unlink_wait(g.unlink_arg);
    }
  // Every M has exited. Goroutines still alive are discarded (see run() in
  // goro/runtime.hpp).
  for (auto& chunk : g_chunks_) {
    for (int i = 0; i < g_chunk_size; ++i) {
      G& g = chunk[static_cast<std::size_t>(i)];
      // A goroutine discarded before it finished (or started) never runs
      // again: destroy its callable and bound arguments (what they own is
      // released), though not the objects on its stack.
      if (g.ops != nullptr) g.ops->destroy(g.closure);
      if (g.closure_on_heap()) ::operator delete(g.closure, g.closure_alignment());
      if (g.stk && (g.stk.flags & stack_flag_custom)) stack_pool::unmap_custom(g.stk);
      sanitizer::destroy(g.fiber);
    }
  }
}

void runtime::main_invoke(void* self) {
  runtime* rt = *static_cast<runtime**>(self);
  rt->exit_code_ = rt->main_body_(rt->main_arg_);
  // Like Go's exit: from now on no goroutine starts or resumes (every M stops
  // at its next scheduling point), before run()'s caller even wakes up.
  rt->stopping_.store(true, std::memory_order_seq_cst);
  rt->main_done_.store(1, std::memory_order_release);
  os::futex_wake(&rt->main_done_);
}

int runtime::run(int (*body)(void*), void* arg) {
  static constexpr closure_ops main_ops{&runtime::main_invoke, [](void*) noexcept {}};
  main_body_ = body;
  main_arg_ = arg;
  install_crash_handlers();

  G* main_g = new_g(sizeof(runtime*), alignof(runtime*), &main_ops, nullptr, nullptr);
  *static_cast<runtime**>(main_g->closure) = this;
  foreign_created_.fetch_add(1, std::memory_order_relaxed);
  main_g->status.store(gstatus::runnable, std::memory_order_relaxed);
  ps_[0]->runnext.store(main_g, std::memory_order_release);

  // sysmon first (check_dead counts it among the runtime's threads); it may
  // add Ms from then on, so the first ones are listed before.
  std::vector<M*> first_ms;
  for (auto& m : ms_) first_ms.push_back(m.get());
  // SIGQUIT (Go's dump-and-exit) before any goroutine can run: sysmon does the dump.
  bool sigquit = install_sigquit_handler(&sysmon_stop_);
  sysmon_thread_ = std::thread([this] { sysmon(); });
  {
    // Under ms_mutex_, as in start_m: an M may retire (detach its own
    // std::thread) as soon as it runs, and must find the handle assigned.
    std::lock_guard lock(ms_mutex_);
    for (M* mp : first_ms) mp->thread = std::thread([this, mp] { mstart(mp); });
  }
  while (main_done_.load(std::memory_order_acquire) == 0) os::futex_wait(&main_done_, 0);
  if (sigquit) remove_sigquit_handler();

  stopping_.store(true, std::memory_order_seq_cst);
  sysmon_stop_.store(1, std::memory_order_release);
  os::futex_wake(&sysmon_stop_);
  sysmon_thread_.join();
  // start_m makes no M once stopping_ is set (checked under ms_mutex_), so
  // the list is final now. (Not joined under ms_mutex_: an M may still take
  // it, in check_dead.)
  // Retired Ms detached their ended threads before stopping_ (ms_mutex_).
  std::vector<M*> all;
  {
    std::lock_guard lock(ms_mutex_);
    for (auto& m : ms_)
      if (m->thread.joinable()) all.push_back(m.get());
  }
  for (M* m : all) wake_m(m);
  for (M* m : all) m->thread.join();
  return exit_code_;
}

std::int64_t runtime::goroutines() const {
  std::int64_t n = foreign_created_.load(std::memory_order_relaxed);
  for (const auto& p : ps_)
    n += p->created.load(std::memory_order_relaxed) - p->exited.load(std::memory_order_relaxed);
  return n;
}

std::uint32_t runtime::seconds_now() const {
  return static_cast<std::uint32_t>((nanotime() - start_ns_) / 1'000'000'000);
}

void runtime::mstart(M* m) {
  tls_m = m;
  tr::name_thread("M");
  m->eh_globals = reinterpret_cast<eh_state*>(abi::__cxa_get_globals());
  pthread_attr_t attr;
  void* stack_addr = nullptr;
  std::size_t stack_size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &stack_addr, &stack_size);
    pthread_attr_destroy(&attr);
  }
  m->g0.stk.lo = static_cast<char*>(stack_addr);
  m->g0.stk.size = static_cast<std::uint32_t>(stack_size);
  sanitizer::adopt_thread(m->g0.fiber, stack_addr, stack_size);
  m->g0.status.store(gstatus::running, std::memory_order_relaxed);
  m->curg = &m->g0;
  m->signal_stack = install_signal_stack();
  // An idle M sleeps until the next timer: the default 50 us slack of a
  // timed sleep would be added to every timer that fires while all are idle.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);

  for (;;) {
    if (G* found = std::exchange(m->handoff_g, nullptr)) handoff_locked(m, found);
    if (m->retired) break;
    G* g = m->locked_g != nullptr ? wait_locked(m) : find_runnable(m);
    if (g == nullptr) break;
    if (g->locked_m != nullptr && g->locked_m != m) [[unlikely]] {
      handoff_locked(m, g);
      continue;
    }
    prepare_first_run(m->p, g);
    switch_to(m, &m->g0, g, false);
  }

  remove_signal_stack(m->signal_stack);
  tls_m = nullptr;
  if (m->retired) retire(m);  // last: the thread ends right after
}

// ---------------------------------------------------------------------------
// Goroutine records.

g_list runtime::new_g_chunk() {
  // Allocated (and page-faulted in) outside the lock.
  auto chunk = std::make_unique<G[]>(g_chunk_size);
  g_list batch;
  for (int i = 0; i < g_chunk_size; ++i) batch.push_back(&chunk[static_cast<std::size_t>(i)]);
  std::lock_guard lock(gfree_lock_);
  g_chunks_.push_back(std::move(chunk));
  return batch;
}

// Free G records move between a P and the global pool a whole list at a time
// (O(1) under the lock): walking a list of records last touched by another
// core would cost a cache miss per record inside the lock.
G* runtime::gfget(P* p) {
  if (p != nullptr && p->gfree.size > 0) return p->gfree.pop_front();  // the common case: no lock
  g_list batch;
  {
    std::lock_guard lock(gfree_lock_);
    batch = gfree_.pop_batch(p == nullptr);
  }
  if (p == nullptr) {
    if (batch.size == 0) batch = new_g_chunk();
    G* g = batch.pop_front();
    if (batch.size > 0) {
      std::lock_guard lock(gfree_lock_);
      gfree_.push_batch(batch);
    }
    return g;
  }
  p->gfree = batch.size > 0 ? batch : new_g_chunk();
  return p->gfree.pop_front();
}

void runtime::gfput(P* p, G* g) {
  if (p == nullptr) {
    g_list one;
    one.push_back(g);
    std::lock_guard lock(gfree_lock_);
    gfree_.push_batch(one);
    return;
  }
  p->gfree.push_back(g);
  if (p->gfree.size >= gfree_local_max) {
    std::lock_guard lock(gfree_lock_);
    gfree_.push_batch(p->gfree);
  }
}

std::uint64_t runtime::next_goid(P* p) {
  if (p == nullptr) return goid_gen_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (p->goid_next == p->goid_end) {
    p->goid_next = goid_gen_.fetch_add(goid_batch, std::memory_order_relaxed) + 1;
    p->goid_end = p->goid_next + goid_batch;
  }
  return p->goid_next++;
}

G* runtime::new_g(std::size_t closure_size, std::size_t closure_align, const closure_ops* ops,
                  const go_options* opts, const void* site) {
  M* m = enter_runtime(true);
  P* p = m != nullptr ? m->p : nullptr;
  G* g = gfget(p);
  g->id.store(next_goid(p), std::memory_order_relaxed);
  G* parent = m != nullptr && !m->curg->is_g0 ? m->curg : nullptr;
  g->parent_id.store(parent != nullptr ? parent->id.load(std::memory_order_relaxed) : 0,
                     std::memory_order_relaxed);
  g->created_at.store(site, std::memory_order_relaxed);
  leave_runtime(m);
  g->ops = ops;
  if (closure_size <= G::inline_closure_size && closure_align <= alignof(std::max_align_t)) {
    g->closure = g->inline_closure;
  } else {
    g->closure_align_log2 = static_cast<std::uint8_t>(
        std::countr_zero(std::max(closure_align, alignof(std::max_align_t))));
    g->closure = ::operator new(closure_size, g->closure_alignment());
  }
  std::size_t custom = opts != nullptr ? opts->stack_size : 0;
  g->custom_stack_size =
      (custom != 0 && custom != stacks_.stack_size()) ? static_cast<std::uint32_t>(custom) : 0;
  g->status.store(gstatus::idle, std::memory_order_relaxed);
  return g;
}

void runtime::free_unstarted_g(G* g) noexcept {
  if (g->closure_on_heap()) ::operator delete(g->closure, g->closure_alignment());
  g->closure = nullptr;
  g->ops = nullptr;
  g->status.store(gstatus::dead, std::memory_order_relaxed);
  M* m = enter_runtime(true);
  gfput(m != nullptr ? m->p : nullptr, g);
  leave_runtime(m);
}

void runtime::start_g(G* g) {
  tr::go_create(g);
  g->status.store(gstatus::runnable, std::memory_order_relaxed);
  M* m = enter_runtime(true);
  if (P* p = m != nullptr ? m->p : nullptr) {
    owner_increment(p->created);
    runqput(p, g, true);
  } else {
    foreign_created_.fetch_add(1, std::memory_order_relaxed);
    globalq_.push(g);
  }
  leave_runtime(m);
  wakep();
}

void runtime::release_g(P* p, G* g) noexcept {
  if (g->stk) p->stacks.release(stacks_, g->stk);
  g->stk = {};
  g->sp = nullptr;
  sanitizer::destroy(g->fiber);
  if (g->closure_on_heap()) ::operator delete(g->closure, g->closure_alignment());
  g->closure = nullptr;
  g->ops = nullptr;
  g->eh = {};
  g->saved_errno = 0;
  g->wait_reason = nullptr;
  gfput(p, g);
}

void runtime::prepare_first_run(P* p, G* g) {
  if (g->sp != nullptr || g->is_g0) return;
  g->stk = g->custom_stack_size ? stack_pool::map_custom(g->custom_stack_size)
                                : p->stacks.acquire(stacks_);
  g->sp = arch::make_context(g->stk.hi(), &goroutine_entry, g);
  sanitizer::create(g->fiber, g->stk.lo, g->stk.size);
}

// ---------------------------------------------------------------------------
// Switching.

[[gnu::always_inline]] inline M* runtime::switch_to(M* m, G* from, G* to, bool from_dies) {
  if (!from->is_g0 && !from_dies && !stack_intact(from->stk, __builtin_frame_address(0)))
    stack_overflow(from);
  tr::go_switch(m, from, to);
  if (P* p = m->p) owner_increment(p->switches);
  m->curg = to;
  if (!to->is_g0) {
    to->status.store(gstatus::running, std::memory_order_relaxed);
    // A goroutine dump may be reading to's stack (see g.hpp: scan). The
    // dump's side is os::heavy_barrier(); without membarrier(2) a dump walks
    // no stack of a running world (debug/dump.cpp), so a compiler barrier
    // suffices here (TSan: a fence it understands).
#if GORO_TSAN
    std::atomic_thread_fence(std::memory_order_seq_cst);
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
    if (to->scan.load(std::memory_order_acquire) != 0) [[unlikely]] wait_for_scan(to);
  }
  // The C++ exception state and errno belong to the goroutine, not the thread.
  eh_state* eh = m->eh_globals;
  from->eh = *eh;
  *eh = to->eh;
  from->saved_errno = errno;
  errno = to->saved_errno;
  sanitizer::before_switch(from->fiber, from_dies, to->fiber);
  arch::goro_context_switch(&from->sp, to->sp);
  // Resumed, possibly on another thread: everything thread-local is re-read.
  M* now = this_m();
  sanitizer::after_switch(now->curg->fiber);
  now->rt->run_post_switch(now);
  return now;
}

void runtime::run_post_switch(M* m) {
  post_switch ps = m->post;
  m->post = {};
  switch (ps.what) {
    case post_switch::kind::none:
      break;
    case post_switch::kind::park:
      // Off its stack now: from here a dump may read it (see g.hpp).
      ps.prev->status.store(gstatus::waiting, std::memory_order_release);
      if (ps.commit != nullptr && !ps.commit(ps.arg, ps.prev)) ready(ps.prev);
      break;
    case post_switch::kind::yield:
      ps.prev->status.store(gstatus::runnable, std::memory_order_relaxed);
      globalq_.push(ps.prev);
      if (m->p == nullptr) wakep();  // this M is about to go spare
      break;
    case post_switch::kind::yield_local:
      ps.prev->status.store(gstatus::runnable, std::memory_order_relaxed);
      if (m->p != nullptr) {
        runqput(m->p, ps.prev, false);
      } else {  // its P was taken meanwhile: this M goes spare
        globalq_.push(ps.prev);
        wakep();
      }
      break;
    case post_switch::kind::exit:
      release_g(m->p, ps.prev);
      break;
  }
  if (ps.timers_due_at != 0 && m->p != nullptr) run_timers_of(m->p, ps.timers_due_at);
}

namespace {

void goroutine_entry(void* arg) {
  G* g = static_cast<G*>(arg);
  M* m = this_m();
  sanitizer::after_switch(g->fiber);
  runtime* rt = m->rt;
  rt->run_post_switch(m);
  runtime::leave_runtime(m);
  // No catch here: an exception nobody catches ends in std::terminate with
  // the throwing frames intact, where crash.cpp reports Go's panic.
  g->ops->invoke(g->closure);
  g->ops->destroy(g->closure);
  rt->exit_current();
}

// Starts fetching the saved registers of the G likely to run after the one
// being switched to: a goroutine parked for long has them on a cold stack
// page (a TLB and a cache miss; 10,000 sleepers in bench/timers: total
// -5 %, oversleep -15 %), and the next goroutine's run hides the fetch.
// A hint: g->sp is read racily (a thief may take and run g meanwhile), so
// not under TSan; G records are never unmapped and prefetches never fault.
void prefetch_saved_context([[maybe_unused]] const G* g) {
#if !GORO_TSAN
  if (g == nullptr) return;
  const char* sp = static_cast<const char*>(__atomic_load_n(&g->sp, __ATOMIC_RELAXED));
  if (sp == nullptr) return;
  __builtin_prefetch(sp);
  __builtin_prefetch(sp + 64);
#endif
}

}  // namespace

// The context a goroutine that stops running hands its M to: the next local
// G, else g0. Due timers run right after the switch, on the next context's
// stack (never on the parking goroutine's: it may still hold channel locks).
G* runtime::next_after_current(M* m, std::int64_t now) {
  // Its P was taken (the M goes spare), or the M is wired to the G that
  // stops (wait_locked) or retires: g0 decides.
  if (m->p == nullptr || m->locked_g != nullptr || m->retired) [[unlikely]] return &m->g0;
  m->post.timers_due_at = own_timers_due(m->p, now);
  G* next = next_local(m->p);
  if (next == nullptr) return &m->g0;
  // Only behind a backlog: a short queue's goroutines ran a moment ago.
  prefetch_saved_context(m->p->runq.peek_if_deeper(prefetch_min_queued));
  if (next->locked_m != nullptr) [[unlikely]] {  // g0 hands it, and the P, to its M
    m->handoff_g = next;
    return &m->g0;
  }
  prepare_first_run(m->p, next);
  return next;
}

void runtime::park(bool (*commit)(void*, G*), void* arg, const char* reason, std::int64_t now) {
  // No yield on entry: the caller may hold the locks that commit releases.
  M* m = enter_runtime(false);
  G* g = m->curg;
  g->wait_reason = reason;
  g->wait_since = coarse_seconds_.load(std::memory_order_relaxed);
  m->post = {post_switch::kind::park, g, commit, arg, 0};
  leave_runtime(switch_to(m, g, next_after_current(m, now), false));
}

void runtime::yield_current() {
  M* m = enter_runtime(false);
  G* g = m->curg;
  m->post = {post_switch::kind::yield, g, nullptr, nullptr, 0};
  leave_runtime(switch_to(m, g, next_after_current(m), false));
}

void runtime::yield_local() {
  M* m = enter_runtime(false);
  G* g = m->curg;
  m->post = {post_switch::kind::yield_local, g, nullptr, nullptr, 0};
  leave_runtime(switch_to(m, g, next_after_current(m), false));
}

void runtime::lock_os_thread() {
  M* m = enter_runtime(true);
  if (m == nullptr || m->curg->is_g0) return leave_runtime(m);
  if (m->locked_count == UINT32_MAX) fatal("LockOSThread nesting overflow");
  if (m->locked_count++ == 0) {
    m->locked_g = m->curg;
    m->curg->locked_m = m;
  }
  leave_runtime(m);
}

void runtime::unlock_os_thread() {
  M* m = enter_runtime(true);
  if (m != nullptr && !m->curg->is_g0 && m->locked_count > 0 && --m->locked_count == 0) {
    m->curg->locked_m = nullptr;
    m->locked_g = nullptr;
  }
  leave_runtime(m);
}

// On g0 of an M whose locked G stopped running: its P goes to another M
// (Go's stoplockedm) and this M sleeps until a picker hands it one with the
// G. Null at shutdown.
G* runtime::wait_locked(M* m) {
  G* g = m->locked_g;
  if (P* p = m->p) {
    // Readied straight back into our runnext (a commit that declined to
    // park, a quick ready): run it without the round trip.
    G* next = p->runnext.load(std::memory_order_relaxed);
    if (next == g && p->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acquire))
      return g;
  }
  {
    // Counted asleep before our P goes, so the M given it sees us asleep if
    // it checks for deadlock; not if a P for us is already on its way.
    std::lock_guard lock(idle_mutex_);
    if (m->next_p == nullptr) {
      m->locked_waiting = true;
      ++locked_waiting_ms_;
    }
  }
  if (P* p = std::exchange(m->p, nullptr)) start_m(p, /*may_create_here=*/false);
  for (;;) {
    {
      std::lock_guard lock(idle_mutex_);
      if (m->next_p != nullptr) {  // handoff_locked took us off the count
        m->p = std::exchange(m->next_p, nullptr);
        return g;
      }
      if (stopping_.load(std::memory_order_relaxed)) {
        m->locked_waiting = false;
        --locked_waiting_ms_;
        return nullptr;
      }
    }
    if (m->wake_word.exchange(0, std::memory_order_acquire) == 0)
      os::futex_wait(&m->wake_word, 0);
  }
}

// m dequeued g, which is locked to another M: that M gets m's P (Go's
// startlockedm); m goes spare.
void runtime::handoff_locked(M* m, G* g) {
  M* owner = g->locked_m;
  P* p = std::exchange(m->p, nullptr);
  p->m.store(owner, std::memory_order_release);
  {
    // Off the asleep count at once (like wakep's idle M), so the G in
    // transit is never taken for a deadlock.
    std::lock_guard lock(idle_mutex_);
    owner->next_p = p;
    if (owner->locked_waiting) {
      owner->locked_waiting = false;
      --locked_waiting_ms_;
    }
  }
  wake_m(owner);
}

// The M of a goroutine that exited locked (Go ends such a thread, whose
// state the goroutine may have changed): gives its P away and lets the
// thread end, detached, so it no longer counts. At shutdown run() joins it
// instead (the detach and run()'s list of threads to join are both under
// ms_mutex_). Runs last in mstart: nothing of the runtime is touched after.
void runtime::retire(M* m) {
  if (P* p = std::exchange(m->p, nullptr)) start_m(p, /*may_create_here=*/false);
  std::lock_guard lock(ms_mutex_);
  if (stopping_.load(std::memory_order_relaxed)) return;
  m->thread.detach();
  retired_ms_.fetch_add(1, std::memory_order_relaxed);
}

bool runtime::sync_can_spin(int iter) const {
  constexpr int active_spin = 4;  // Go's active_spin
  static const bool multicore = std::thread::hardware_concurrency() > 1;
  if (iter >= active_spin || !multicore) return false;
  const std::int32_t nprocs = static_cast<std::int32_t>(ps_.size());
  // Another P must be running: the holder may be there, about to unlock.
  // Unlike Go, a non-empty local run queue does not stop the spin: the
  // goroutines there are mostly this mutex's own woken waiters (the
  // semaphore readies them onto the unlocker's P), and a park and wake-up
  // costs more here than the spin's bound (4 x 30 pauses, about 3 us on
  // this project's AMD VM). Measured at procs=2: the `mutex` workload
  // 12.9 -> 8.2 ns per increment, BenchmarkMutexSlack 16.3 -> 8.4 ns,
  // MutexWork unchanged. What other local goroutines lose is that bound.
  return nprocs > npidle_.load(std::memory_order_relaxed) +
                      nmspinning_.load(std::memory_order_relaxed) + 1;
}

void runtime::exit_current() {
  M* m = enter_runtime(true);
  G* g = m->curg;
  P* p = m->p;
  if (m->locked_g == g) {  // exiting locked: the thread runs nothing else (Go ends it)
    m->locked_g = nullptr;
    m->locked_count = 0;
    g->locked_m = nullptr;
    m->retired = true;
  }
  owner_increment(p->exited);
  g->status.store(gstatus::dead, std::memory_order_relaxed);
  m->post = {post_switch::kind::exit, g, nullptr, nullptr, 0};
  switch_to(m, g, next_after_current(m), true);
  __builtin_unreachable();
}

void runtime::ready(G* g) {
  tr::go_ready(g);
  g->status.store(gstatus::runnable, std::memory_order_relaxed);
  M* m = enter_runtime(true);
  if (P* p = m != nullptr ? m->p : nullptr) {
    runqput(p, g, true);
  } else {
    globalq_.push(g);
  }
  leave_runtime(m);
  wakep();
}

// ---------------------------------------------------------------------------
// The runtime boundary and retake (see sched.hpp).

// enter_runtime's slow path: sysmon is taking (or took) the P.
M* runtime::enter_without_p(M* m, bool may_yield) {
  std::uint32_t state;
  while ((state = m->retake.load(std::memory_order_acquire)) == 1) cpu_relax();
  if (state == 2) {
    m->p = nullptr;
    m->retake.store(0, std::memory_order_relaxed);
  }
  if (m->p == nullptr && may_yield) m = yield_without_p(m);  // resumed where there is a P
  return m;
}

M* runtime::yield_without_p(M* m) {
  G* g = m->curg;
  m->post = {post_switch::kind::yield, g, nullptr, nullptr, 0};
  return switch_to(m, g, &m->g0, false);
}

void runtime::blocking_enter() noexcept {
  if (M* m = this_m(); m != nullptr && m->rt == this && !m->curg->is_g0) {
    tr::blocking(true);
    m->in_blocking.store(true, std::memory_order_relaxed);
  }
}

void runtime::blocking_exit() noexcept {
  M* m = this_m();
  if (m == nullptr || m->rt != this || m->curg->is_g0) return;
  m->in_blocking.store(false, std::memory_order_relaxed);
  leave_runtime(enter_runtime(true));  // continue only where there is a P
  tr::blocking(false);
}

bool runtime::has_waiting_work(P* p, std::int64_t now) {
  return !p->runq.empty_with(p->runnext) || !globalq_.empty() || p->timers.due(now);
}

// On sysmon's thread: takes p from m if m is still in user code.
bool runtime::try_retake(P* p, M* m) {
  m->retake.store(1, std::memory_order_seq_cst);
  os::heavy_barrier();
  if (m->in_runtime.load(std::memory_order_acquire) != 0) {
    m->retake.store(0, std::memory_order_release);
    return false;
  }
  tr::retake(p, m);
  m->retake.store(2, std::memory_order_release);
  start_m(p);
  return true;
}

void runtime::wake_m(M* m) {
  m->wake_word.store(1, std::memory_order_seq_cst);
  if (m->polling.load(std::memory_order_seq_cst)) netpoll_break();
  else os::futex_wake(&m->wake_word);
}

// Sleeps an idle M until woken or for timeout_ns (< 0: no timer): in the
// network poller if goroutines wait on descriptors and nobody polls yet,
// else on its futex.
void runtime::sleep_idle(M* m, std::int64_t timeout_ns) {
  M* none = nullptr;
  if (netpoll_waiters() > 0 && poller_.compare_exchange_strong(none, m, std::memory_order_acq_rel)) {
    m->polling.store(true, std::memory_order_seq_cst);
    g_list readied;
    if (m->wake_word.exchange(0, std::memory_order_seq_cst) == 0) netpoll(timeout_ns, readied);
    m->polling.store(false, std::memory_order_relaxed);
    poller_.store(nullptr, std::memory_order_release);
    inject(readied);
    return;
  }
  if (m->wake_word.exchange(0, std::memory_order_acquire) == 0)
    os::futex_wait(&m->wake_word, 0, timeout_ns);
}

// A non-blocking poll (Go's findrunnable before stealing): readied
// goroutines land in this P's queue.
G* runtime::poll_network(P* p) {
  if (netpoll_waiters() == 0 || poller_.load(std::memory_order_relaxed) != nullptr) return nullptr;
  g_list readied;
  netpoll(0, readied);
  G* first = readied.pop_front();
  if (first == nullptr) return next_local(p);
  tr::go_ready(first);
  first->status.store(gstatus::runnable, std::memory_order_relaxed);
  inject(readied);
  return first;
}

// Go's injectglist: makes a batch of readied Gs runnable at once. As many as
// there are idle Ms go to the global queue, each with an idle M woken for
// it; the rest to the caller's local queue (all to the global queue from a
// thread without a P, e.g. sysmon).
void runtime::inject(g_list& batch) {
  if (batch.size == 0) return;
  for (G* g = batch.head; g != nullptr; g = g->schedlink) {
    tr::go_ready(g);
    g->status.store(gstatus::runnable, std::memory_order_relaxed);
  }
  M* m = enter_runtime(false);
  P* p = m != nullptr ? m->p : nullptr;
  std::int32_t to_global = batch.size;
  if (p != nullptr) to_global = std::min(to_global, npidle_.load(std::memory_order_seq_cst));
  if (to_global > 0) {
    g_list global;
    for (std::int32_t i = 0; i < to_global; ++i) global.push_back(batch.pop_front());
    globalq_.push_batch(global);
  }
  while (G* g = batch.pop_front()) runqput(p, g, false);
  leave_runtime(m);
  for (std::int32_t i = 0; i < to_global && wake_idle_m(); ++i) {
  }
}

// Takes one M off the idle list and wakes it (not spinning: it just looks at
// the queues again). False if none is idle.
bool runtime::wake_idle_m() {
  M* m = nullptr;
  {
    std::lock_guard lock(idle_mutex_);
    if (idle_ms_.empty()) return false;
    m = idle_ms_.back();
    idle_ms_.pop_back();
    m->idle = false;
    npidle_.fetch_sub(1, std::memory_order_seq_cst);
  }
  wake_m(m);
  return true;
}

// Hands p to a spare M, or to a new one. A new thread copies its creator's
// signal mask, affinity, namespaces...: a locked thread (whose goroutine may
// have changed them) passes may_create_here = false, and sysmon, a clean
// thread, makes the M instead (Go's template thread).
void runtime::start_m(P* p, bool may_create_here) {
  M* m = nullptr;
  {
    std::lock_guard lock(idle_mutex_);
    if (!spare_ms_.empty()) {
      m = spare_ms_.back();
      spare_ms_.pop_back();
      m->spare = false;
      m->p = p;
    }
  }
  if (m != nullptr) {
    p->m.store(m, std::memory_order_release);
    wake_m(m);
    return;
  }
  std::lock_guard lock(ms_mutex_);
  // At shutdown run() joins the Ms listed after stopping_ was set: make none.
  if (stopping_.load(std::memory_order_relaxed)) return;
  if (!may_create_here) {
    p->m.store(nullptr, std::memory_order_release);
    ps_for_new_ms_.push_back(p);
    os::futex_wake(&sysmon_stop_);
    return;
  }
  if (static_cast<long>(ms_.size() - retired_ms_.load(std::memory_order_relaxed)) >= cfg_.max_threads)
    fatal("thread exhaustion");
  auto fresh = std::make_unique<M>();
  m = fresh.get();
  m->rt = this;
  m->p = p;
  m->rng = 0x9E3779B9u * static_cast<std::uint32_t>(ms_.size() + 1);
  m->g0.is_g0 = true;
  p->m.store(m, std::memory_order_release);
  ms_.push_back(std::move(fresh));
  m->thread = std::thread([this, m] { mstart(m); });
}

// On sysmon's thread: makes the Ms that locked threads asked for (start_m).
void runtime::start_requested_ms() {
  std::vector<P*> ps;
  {
    std::lock_guard lock(ms_mutex_);
    if (ps_for_new_ms_.empty()) return;
    ps.swap(ps_for_new_ms_);
  }
  for (P* p : ps) start_m(p);
}

// An M without a P waits on the spare list; false at shutdown.
bool runtime::wait_for_p(M* m) {
  {
    std::lock_guard lock(idle_mutex_);
    if (stopping_.load(std::memory_order_relaxed)) return false;
    m->spare = true;
    spare_ms_.push_back(m);
  }
  tr::spare(true);
  for (;;) {
    if (m->wake_word.exchange(0, std::memory_order_acquire) == 0)
      os::futex_wait(&m->wake_word, 0);
    std::lock_guard lock(idle_mutex_);
    if (!m->spare) {  // start_m gave it a P
      tr::spare(false);
      return true;
    }
    if (stopping_.load(std::memory_order_relaxed)) {
      std::erase(spare_ms_, m);
      m->spare = false;
      tr::spare(false);
      return false;
    }
  }
}

void runtime::sysmon() {
  struct watch {
    M* m = nullptr;
    std::uint64_t switches = 0;
    std::int64_t since = 0;
  };
  tr::name_thread("sysmon");
  std::vector<watch> seen(ps_.size());
  std::int64_t delay = sysmon_min_delay_ns;
  int quiet_ticks = 0;
  const std::int64_t started = nanotime();
  std::int64_t next_schedtrace = started + schedtrace_ns_;
  std::int64_t next_scavenge = started + stack_scavenge_period_ns;
  while (sysmon_stop_.load(std::memory_order_acquire) == 0) {
    // GORO_SCHEDTRACE: never sleep past the next line.
    std::int64_t wait = delay;
    if (schedtrace_ns_ > 0) wait = std::clamp(next_schedtrace - nanotime(), std::int64_t{1000}, delay);
    os::futex_wait(&sysmon_stop_, 0, wait);
    std::int64_t now = nanotime();
    if (schedtrace_ns_ > 0 && now >= next_schedtrace) {
      schedtrace(now - started);
      next_schedtrace = now + schedtrace_ns_;
    }
    // The coarse clock parks read for wait_since: sysmon never sleeps more
    // than sysmon_max_delay_ns, so it lags by at most that.
    // Stored only when it changes: parks read it, every tick would bounce
    // its cache line.
    auto seconds = static_cast<std::uint32_t>((now - start_ns_) / 1'000'000'000);
    if (coarse_seconds_.load(std::memory_order_relaxed) != seconds)
      coarse_seconds_.store(seconds, std::memory_order_relaxed);
    if (sigquit_pending()) dump_on_sigquit(*this);  // does not return
    start_requested_ms();
    if (now >= next_scavenge) {
      stacks_.scavenge();
      next_scavenge = now + stack_scavenge_period_ns;
    }
    bool retook = false;
    for (std::size_t i = 0; i < ps_.size(); ++i) {
      P* p = ps_[i].get();
      watch& w = seen[i];
      M* m = p->m.load(std::memory_order_acquire);
      std::uint64_t switches = p->switches.load(std::memory_order_relaxed);
      if (m == nullptr) {  // waiting for the M start_requested_ms makes
        w = {};
        continue;
      }
      if (m != w.m || switches != w.switches || m->in_runtime.load(std::memory_order_relaxed) != 0) {
        w = {m, switches, now};
        continue;
      }
      std::int64_t limit = m->in_blocking.load(std::memory_order_relaxed) ? blocking_retake_ns
                                                                           : running_retake_ns;
      if (now - w.since < limit || !has_waiting_work(p, now)) continue;
      if (try_retake(p, m)) {
        retook = true;
        w = {p->m.load(std::memory_order_acquire), switches, now};
      }
    }
    if (netpoll_waiters() > 0 && now - netpoll_last_poll() > sysmon_poll_after_ns) {
      g_list readied;
      netpoll(0, readied);
      inject(readied);
    }
    if (retook) {
      delay = sysmon_min_delay_ns;
      quiet_ticks = 0;
    } else if (++quiet_ticks > sysmon_idle_ticks_before_backoff) {
      delay = std::min(delay * 2, sysmon_max_delay_ns);
    }
  }
}

// ---------------------------------------------------------------------------
// Run queues.

void runtime::runqput(P* p, G* g, bool next) {
  if (next) {
    owner_increment(p->runnext_puts);
    g = p->runnext.exchange(g, std::memory_order_acq_rel);
    if (g == nullptr) return;
  }
  g_list overflow;
  if (p->runq.push(g, overflow)) globalq_.push_batch(overflow);
}

G* runtime::global_get(P* p, bool just_one) {
  g_list batch = globalq_.pop_batch(just_one);
  G* g = batch.pop_front();
  g_list overflow;
  while (G* extra = batch.pop_front())
    if (p->runq.push(extra, overflow)) globalq_.push_batch(overflow);
  return g;
}

G* runtime::next_local(P* p) {
  if (stopping_.load(std::memory_order_relaxed)) return nullptr;
  if (p->schedtick % global_fairness_tick == 0 && !globalq_.empty()) {
    if (G* g = global_get(p, true)) {
      ++p->schedtick;
      return g;
    }
  }
  // runnext inherits the time slice: it does not advance schedtick.
  G* next = p->runnext.load(std::memory_order_relaxed);
  if (next != nullptr && p->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acquire))
    return next;
  if (G* g = p->runq.pop()) {
    ++p->schedtick;
    return g;
  }
  if (!globalq_.empty()) {
    if (G* g = global_get(p, false)) {
      ++p->schedtick;
      return g;
    }
  }
  return nullptr;
}

G* runtime::steal_work(M* m) {
  P* self = m->p;
  std::uint32_t n = steal_order_.count();
  for (int round = 0; round < steal_rounds; ++round) {
    bool last_round = round == steal_rounds - 1;
    std::uint32_t seed = fastrand(m);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (stopping_.load(std::memory_order_relaxed)) return nullptr;
      P* victim = ps_[steal_order_.at(seed, i)].get();
      if (victim == self) continue;
      if (G* g = self->runq.steal_from(victim->runq)) {
        tr::steal(self, victim, false);
        return g;
      }
      if (!last_round) continue;
      // The victim probably runs its runnext very soon (a hand-off in
      // progress): give it a moment before taking it. Asleep, as Go's
      // usleep(3) (with the Ms' 1 us timer slack, wake-up latency makes it
      // some 5-40 us on this project's VM), not by watching the line: a
      // communicating pair writes runnext at every hand-off, and a watcher
      // made each write a cross-core miss (select2 at procs=2: 160 -> 100
      // ns per item).
      std::uint32_t puts = victim->runnext_puts.load(std::memory_order_relaxed);
      G* next = victim->runnext.load(std::memory_order_relaxed);
      if (next == nullptr) continue;
      std::this_thread::sleep_for(std::chrono::microseconds(3));
      if (stopping_.load(std::memory_order_relaxed)) return nullptr;
      // Put there again meanwhile (perhaps the same G, run and readied
      // anew: the CAS alone would not see it): the victim is running its
      // hand-offs, not holding this one back, so leave it. A heuristic only
      // (the count may lag the slot); taking the G is always correct.
      // RWMutexWrite100 at procs=2: runnext steals 77,000 -> 33,000 per
      // run, 5.2 -> 4.9 ns per operation.
      if (victim->runnext_puts.load(std::memory_order_relaxed) != puts) continue;
      if (victim->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acquire)) {
        tr::steal(self, victim, true);
        return next;
      }
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// Timers.

void runtime::add_timer(timer* t) {
  M* m = enter_runtime(true);
  P* p = m != nullptr ? m->p : nullptr;
  (p ? p->timers : ps_[0]->timers).add(t);
  leave_runtime(m);
  if (p != nullptr) return;  // our M is running and will see it
  // From a plain thread: an idle M may be sleeping past this timer; wake one
  // to recompute its deadline (an M that goes idle later reads the heaps
  // after registering, under the same lock).
  M* idle = nullptr;
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_ms_.empty()) idle = idle_ms_.back();
  }
  if (idle != nullptr) wake_m(idle);
}

bool runtime::del_timer(timer* t) {
  timer_heap* h = t->heap.load(std::memory_order_relaxed);
  return h != nullptr && h->remove(t);
}

std::int64_t runtime::own_timers_due(P* p, std::int64_t now) const {
  std::int64_t when = p->timers.next_when.load(std::memory_order_relaxed);
  if (when == 0) return 0;
  if (now == 0) now = nanotime();
  return when <= now ? now : 0;
}

// Runs the due timers of every P (a P whose thread is busy in a long
// goroutine must not hold its timers back).
void runtime::run_timers(std::int64_t now) {
  for (auto& p : ps_) run_timers_of(p.get(), now);
}

// Runs p's due timers; true if some ran.
bool runtime::run_timers_of(P* p, std::int64_t& now) {
  if (p->timers.next_when.load(std::memory_order_relaxed) == 0) return false;
  if (now == 0) now = nanotime();
  if (!p->timers.due(now)) return false;
  p->timers.run_due(now);
  return true;
}

// How long an idle M may sleep: until the earliest timer of any P (-1: no timer).
std::int64_t runtime::idle_timeout_ns() const {
  std::int64_t earliest = 0;
  for (const auto& p : ps_) {
    std::int64_t w = p->timers.next_when.load(std::memory_order_acquire);
    if (w != 0 && (earliest == 0 || w < earliest)) earliest = w;
  }
  if (earliest == 0) return -1;
  std::int64_t d = earliest - nanotime();
  return d > 0 ? d : 0;
}

// ---------------------------------------------------------------------------
// Deadlock detection (see sched.hpp).

namespace {

std::size_t process_thread_count() {
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(dir))
      if (e->d_name[0] != '.') ++n;
    ::closedir(dir);
  }
  return n;
}

}  // namespace

void runtime::for_each_g(void (*fn)(const G& g, void* arg), void* arg) {
  std::lock_guard lock(gfree_lock_);
  for (auto& chunk : g_chunks_)
    for (int i = 0; i < g_chunk_size; ++i) fn(chunk[static_cast<std::size_t>(i)], arg);
}

bool runtime::all_asleep() {
  std::size_t asleep, total;
  {
    std::lock_guard lock(idle_mutex_);
    asleep = idle_ms_.size() + spare_ms_.size() + locked_waiting_ms_;
  }
  {
    std::lock_guard lock(ms_mutex_);
    if (!ps_for_new_ms_.empty()) return false;  // an M is on its way
    total = ms_.size() - retired_ms_.load(std::memory_order_relaxed);
  }
  if (asleep != total || !globalq_.empty()) return false;
  for (const auto& p : ps_)
    if (!p->runq.empty_with(p->runnext)) return false;
  return idle_timeout_ns() < 0 && netpoll_waiters() == 0 &&
         !stopping_.load(std::memory_order_relaxed);
}

void runtime::check_dead() {
  if (!all_asleep()) return;  // the cheap test first: this runs whenever an M idles
  // No thread but ours? Then whatever another thread did before it exited
  // (readied a goroutine, woke an M) is visible to the second look.
  // Ms, sysmon, run()'s caller, and a trace's writer thread.
  auto threads_known = [this] {
    std::lock_guard lock(ms_mutex_);
    return ms_.size() - retired_ms_.load(std::memory_order_relaxed) + 2 + (goro::trace::active() ? 1 : 0);
  };
  std::size_t known = threads_known();
  if (process_thread_count() != known || !all_asleep()) return;
  // Two Ms going idle at once may both get here: one reports.
  if (threads_known() == known && !deadlock_reported_.exchange(true)) report_deadlock(*this);
}

// ---------------------------------------------------------------------------
// Spinning, idling and waking Ms.

G* runtime::spin_for_work(M* m) {
  // Go makes 4 stealing passes and then parks the thread. Waking a parked
  // thread costs the waker a futex syscall and the sleeper a few microseconds,
  // which is more than a burst of goroutine creation takes to refill a queue;
  // so a spinning M keeps looking for a short while (bounded: at most half the
  // Ps spin, and only for spin_budget) before it gives up.
  using clock = std::chrono::steady_clock;
  auto deadline = clock::time_point{};
  for (;;) {
    if (G* g = steal_work(m)) return g;
    if (G* g = next_local(m->p)) return g;  // the global queue, or a ready()
    if (stopping_.load(std::memory_order_relaxed)) return nullptr;
    auto now = clock::now();
    if (deadline == clock::time_point{}) deadline = now + spin_budget;
    else if (now >= deadline) return nullptr;
    for (int i = 0; i < 32; ++i) cpu_relax();
  }
}

void runtime::wakep() {
  if (npidle_.load(std::memory_order_seq_cst) == 0) return;
  if (nmspinning_.load(std::memory_order_seq_cst) != 0) return;
  std::int32_t zero = 0;
  if (!nmspinning_.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return;
  M* m = nullptr;
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_ms_.empty()) {
      m = idle_ms_.back();
      idle_ms_.pop_back();
      m->idle = false;
      m->spinning = true;  // it inherits our nmspinning increment
      npidle_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
  if (m == nullptr) {
    nmspinning_.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  wake_m(m);
}

void runtime::reset_spinning(M* m) {
  m->spinning = false;
  // The last spinner to find work starts another, in case there is more.
  if (nmspinning_.fetch_sub(1, std::memory_order_seq_cst) == 1) wakep();
}

bool runtime::work_visible() {
  // Under the queue's lock: a producer that pushed there before our
  // nmspinning decrement is seen, one after it sees the decrement.
  if (!globalq_.if_empty_locked([] {})) return true;
  for (const auto& p : ps_)
    if (!p->runq.empty_with(p->runnext)) return true;
  return false;
}

G* runtime::find_runnable(M* m) {
  const std::int32_t nprocs = procs();
  for (;;) {
    if (stopping_.load(std::memory_order_relaxed)) return nullptr;
    if (m->p == nullptr && !wait_for_p(m)) return nullptr;
    P* p = m->p;
    // Its own P's timers first (Go's checkTimers); the other Ps' only when
    // it has nothing else to do (Go steals timers with work), so two Ms do
    // not both drain every heap while each has work of its own.
    std::int64_t now = 0;
    run_timers_of(p, now);
    if (G* g = next_local(p)) {
      if (m->spinning) reset_spinning(m);
      return g;
    }
    run_timers(now);
    if (G* g = next_local(p)) {
      if (m->spinning) reset_spinning(m);
      return g;
    }
    if (G* g = poll_network(p)) {
      if (m->spinning) reset_spinning(m);
      return g;
    }
    if (nprocs > 1 &&
        (m->spinning || 2 * nmspinning_.load(std::memory_order_relaxed) <
                            nprocs - npidle_.load(std::memory_order_relaxed))) {
      if (!m->spinning) {
        m->spinning = true;
        nmspinning_.fetch_add(1, std::memory_order_seq_cst);
      }
      if (G* g = spin_for_work(m)) {
        reset_spinning(m);
        return g;
      }
    }
    // Nothing found: go idle. The global queue is checked under its lock, so
    // a foreign producer either sees us idle (and wakes us) or we see its G.
    // m->spinning is only written under idle_mutex_ while we may be listed:
    // a waker writes it too.
    bool was_spinning = false;
    {
      std::lock_guard lock(idle_mutex_);
      if (stopping_.load(std::memory_order_relaxed)) continue;
      bool went_idle = globalq_.if_empty_locked([&] {
        was_spinning = m->spinning;
        m->spinning = false;
        m->idle = true;
        idle_ms_.push_back(m);
        npidle_.fetch_add(1, std::memory_order_seq_cst);
      });
      if (!went_idle) continue;
    }
    if (was_spinning) {
      // Drop spinning first, then look again: a producer that saw us spinning
      // did not wake anyone (see sched.hpp).
      nmspinning_.fetch_sub(1, std::memory_order_seq_cst);
      if (work_visible()) {
        std::lock_guard lock(idle_mutex_);
        if (m->idle) {
          std::erase(idle_ms_, m);
          m->idle = false;
          npidle_.fetch_sub(1, std::memory_order_seq_cst);
          m->spinning = true;
          nmspinning_.fetch_add(1, std::memory_order_seq_cst);
          continue;
        }
        // A waker already took us off the idle list: its wake-up is pending.
      }
    }
    // Sleep until woken or until the next timer; the heaps are read after
    // registering as idle (see add_timer).
    std::int64_t timeout = idle_timeout_ns();
    if (timeout < 0) check_dead();
    if (timeout != 0) {
      tr::idle(true);
      sleep_idle(m, timeout);
      tr::idle(false);
    }
    m->wake_word.store(0, std::memory_order_relaxed);
    // Woken by wakep() (spinning == true, nmspinning counted) or by shutdown.
    std::lock_guard lock(idle_mutex_);
    if (m->idle) {  // shutdown wake-up: still listed
      std::erase(idle_ms_, m);
      m->idle = false;
      npidle_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
}

}  // namespace goro::detail
