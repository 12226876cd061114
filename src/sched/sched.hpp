// sched/sched.hpp — the scheduler: Gs run by Ms (threads) holding Ps.
//
// Owns: the runtime object, processors (P), machine threads (M), run queues,
// the park/ready primitive, idle parking of threads and goroutine lifetime.
//
// Model (Go's GMP, runtime/proc.go):
//  - procs Ps, each with a local run queue (runq.hpp), a runnext slot, a
//    free list of G records, a stack cache and a goroutine-id cache.
//  - Ms start with one per P; an M runs goroutines only while it holds a P.
//    More Ms are made when sysmon takes a P away from a stuck M (below);
//    Ms without a P wait on the spare list until handed one.
//  - every M has a g0: its own thread stack, where the scheduling loop runs
//    when there is nothing to switch to directly.
//
// Switching: one switch per hand-off. A goroutine that parks, yields or exits
// picks the next G itself (runnext, local queue, global queue) and switches
// straight to it; only when none is found does it switch to g0, which looks
// further (steals) and parks the thread. The switching side leaves a
// post-switch action in its M (what to do with the G it left: commit its
// park, queue it, free it), which the resumed side runs first thing, on its
// own stack. So nothing touches a G's stack after it is published as waiting,
// and a waker can never run a G that is still on its way out (Go's gopark
// commit callback).
//
// Spinning and idle Ms (Go's "delicate dance"): a producer of work first
// publishes the G (local runq, runnext or global queue), then calls wakep(),
// which wakes an idle M only if no M is spinning (nmspinning 0 -> 1 CAS). An M
// that finds nothing puts itself on the idle list (npidle++) while holding the
// global queue's lock and finding it empty; so a producer pushing there later
// sees npidle > 0. Then, if it was spinning, it decrements nmspinning and
// re-checks the global queue (under its lock again) and every local queue
// before sleeping. Work in a local queue is never lost anyway: its owner P is
// running and will take it.
//
// Retake (Go's sysmon retake + entersyscall/exitsyscall, without async
// preemption): each M counts how deep it is in runtime code (in_runtime; 0
// means its goroutine runs user code). A goroutine may touch its P's private
// structures (run queue, free lists, caches) only inside the runtime, and
// entering the runtime from depth 0 checks M::retake. The sysmon thread takes
// the P of an M that has run user code without a switch for 10 ms (20 us
// inside goro::blocking) while other work waits: it sets retake = 1, runs a
// heavy barrier (os/membarrier.hpp), and commits (retake = 2, the P goes to a
// spare or new M) only if in_runtime is still 0; otherwise it backs off
// (retake = 0). The entering M waits while retake == 1, and on 2 forgets its
// P. An M without a P never touches P state: its goroutine yields to the
// global queue at its next runtime entry (or, in park, which may hold
// channel locks, parks straight onto g0), and the M goes spare. The switch
// between user code and the runtime costs two plain stores and a load.
//
// Network poller (netpoll/netpoll.hpp): while any goroutine waits on a
// descriptor, an M without local work polls without blocking before it
// steals, and one idle M blocks in the poller (poller_) instead of its futex
// until the next timer; wake_m interrupts it. sysmon polls if nobody has for
// 10 ms.
//
// Deadlock (Go's checkdead): the last M to go idle with no timer pending
// reports "all goroutines are asleep" if every M is idle or spare, no
// goroutine waits on a descriptor, every run queue is empty, and the process
// has no thread besides the Ms, sysmon and run()'s caller (another thread
// could still wake a goroutine, so its presence suppresses the report).
//
// Locked goroutines (Go's LockOSThread, lockedm/lockedg): a locked G runs
// only on its M, and that M runs nothing else. When the G stops running its
// M switches to g0, hands its P to another M (start_m) and sleeps until a
// P comes back with the G (wait_locked). Any M that dequeues a G locked to
// another M gives it its own P through that M's next_p slot (handoff_locked)
// and goes spare. A G that exits while locked retires its M: as in Go, the
// thread ends (detached; it no longer counts toward max_threads or the
// deadlock check). Locked-waiting Ms count as asleep for the deadlock check.
// A locked thread never creates a thread (a new thread inherits its creator's
// signal mask, affinity, namespaces): when no spare M exists, it leaves its P
// in ps_for_new_ms_ and sysmon makes the M (Go's template thread).
// Goroutine dumps (debug/dump.hpp): park publishes `waiting` in its
// post-switch action (once the G is off its stack), and switch_to, after
// storing `running`, waits while a dump has the G's scan flag set; park
// also stamps G::wait_since from coarse_seconds_, which sysmon refreshes on
// every tick (no clock read on the park path). sysmon performs the SIGQUIT
// dump, and every 250 ms returns the pages of unused spare stacks to the
// kernel (stack_pool::scavenge), off the goroutines' path.
//
// Timers: each P has a timer heap (timer/timer.hpp). Due timers of the M's
// own P run at the top of find_runnable and in the post-switch of the
// goroutine that runs next when the one stopping saw a due timer on its P;
// an M with no local work runs the other Ps' due timers before it steals
// (Go's timer stealing: a P whose M is busy does not hold its timers back);
// an idle M sleeps until the earliest timer of any P.
//
// Lock order: timer heap lock -> channel locks -> idle_mutex -> global_runq
// lock -> G free-list lock -> stack_pool lock; ms_mutex is taken alone
// (never with idle_mutex: start_m, retire and all_asleep take them one after
// the other). Sema bucket and channel locks are released (by the park
// commit) before their waiters are readied. A fatal error ends the process
// under whatever lock it holds, after a dump that takes the G free-list lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "goro/runtime.hpp"
#include "sched/g.hpp"
#include "os/membarrier.hpp"
#include "os/spinlock.hpp"
#include "sched/runq.hpp"
#include "stack/stack.hpp"
#include "timer/timer.hpp"

namespace goro::detail {

struct M;
class runtime;
M* this_m() noexcept;

// Visits 0..n-1 each exactly once, from a random start with a stride
// coprime to n (Go's randomOrder, used by stealing).
class random_order {
 public:
  void reset(std::uint32_t n);
  std::uint32_t count() const { return n_; }
  // The i-th index of the enumeration chosen by `seed`.
  std::uint32_t at(std::uint32_t seed, std::uint32_t i) const {
    std::uint32_t start = seed % n_;
    std::uint32_t stride = coprimes_[(seed / n_) % coprimes_.size()];
    return static_cast<std::uint32_t>((start + std::uint64_t{i} * stride) % n_);
  }

 private:
  std::uint32_t n_ = 0;
  std::vector<std::uint32_t> coprimes_;
};


// What the resumed context must do with the G that switched away.
struct post_switch {
  // yield: to the global queue (Gosched); yield_local: to the tail of the
  // P's own queue (Go's goyield, after a semaphore handoff).
  enum class kind : std::uint8_t { none, park, yield, yield_local, exit };
  kind what = kind::none;
  G* prev = nullptr;
  bool (*commit)(void* arg, G* g) = nullptr;  // park: false = do not park after all
  void* arg = nullptr;
  // Nonzero: timers were due at this time; run them after the action.
  std::int64_t timers_due_at = 0;
};

// One more on a counter that only its owner writes (others only sample
// it): a load and a store, no locked instruction on the owner's path.
template <class T>
inline void owner_increment(std::atomic<T>& counter) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

struct P {
  int id = 0;
  local_runq runq;
  std::atomic<G*> runnext{nullptr};
  // Counts puts into runnext (written by the owner only, with runnext): a
  // stealer that sees it move while it waits knows the slot was run and
  // refilled (see steal_work).
  std::atomic<std::uint32_t> runnext_puts{0};
  std::uint32_t schedtick = 0;
  stack_cache stacks;
  timer_heap timers;
  g_list gfree;                      // free G records (owner only)
  std::uint64_t goid_next = 0, goid_end = 0;
  // Goroutines started on / exited from this P (owner writes; anyone reads).
  std::atomic<std::int64_t> created{0}, exited{0};
  // Goroutine switches made on this P (owner writes; sysmon reads).
  std::atomic<std::uint64_t> switches{0};
  std::atomic<M*> m{nullptr};        // the M holding it (changed by retake)
};

struct M {
  runtime* rt = nullptr;
  P* p = nullptr;
  G g0;                              // the thread's own context
  G* curg = nullptr;                 // running G (&g0 in the scheduling loop)
  post_switch post;
  eh_state* eh_globals = nullptr;    // this thread's __cxa_eh_globals
  std::atomic<std::uint32_t> wake_word{0};  // futex: 1 = wake up
  // Retake handshake (see above). in_runtime: written by the M's thread only.
  std::atomic<std::uint32_t> in_runtime{1};
  std::atomic<std::uint32_t> retake{0};      // 0 none, 1 deciding, 2 P taken
  std::atomic<bool> in_blocking{false};      // inside goro::blocking
  std::atomic<bool> polling{false};          // blocked in the network poller
  bool spinning = false;
  bool idle = false;                 // on the idle list (guarded by idle_mutex)
  bool spare = false;                // on the spare list, no P (idle_mutex)
  // lock_os_thread (see "Locked goroutines" above). locked_g and
  // locked_count are the M's own; next_p and locked_waiting are guarded by
  // idle_mutex (a picker hands this M a P there).
  G* locked_g = nullptr;
  std::uint32_t locked_count = 0;
  bool retired = false;              // its locked G exited locked: the thread ends
  bool locked_waiting = false;       // asleep until next_p
  P* next_p = nullptr;
  G* handoff_g = nullptr;            // found by next_after_current, locked elsewhere
  std::uint32_t rng = 1;
  void* signal_stack = nullptr;
  std::thread thread;
};

class runtime {
 public:
  explicit runtime(const config& cfg);
  ~runtime();

  int run(int (*body)(void*), void* arg);

  int procs() const { return static_cast<int>(ps_.size()); }
  // Distinct for every runtime the process runs (run() may be called again;
  // a new runtime can live at the old one's address).
  std::uint64_t id() const { return id_; }
  std::int64_t goroutines() const;
  stack_pool& stacks() { return stacks_; }

  // --- goroutine lifetime -------------------------------------------------
  G* new_g(std::size_t closure_size, std::size_t closure_align, const closure_ops* ops,
           const go_options* opts, const void* site);
  void free_unstarted_g(G* g) noexcept;
  void start_g(G* g);                     // makes a new G runnable

  // --- park / ready (Go's gopark / goready) ---------------------------------
  // Parks the current goroutine. After it has switched away, commit(arg, g)
  // runs on another stack; if it returns false the G is made runnable again.
  // `now`, if not 0, is a nanotime the caller read just before: the due
  // check of the timers reuses it instead of reading the clock again.
  void park(bool (*commit)(void*, G*), void* arg, const char* reason, std::int64_t now = 0);
  // Makes a waiting G runnable; callable from goroutines, g0 and foreign threads.
  void ready(G* g);
  void yield_current();
  // Go's goyield: the current goroutine goes to the tail of its P's local
  // queue, behind a G just readied into runnext, which therefore runs first.
  void yield_local();
  // Go's sync_runtime_canSpin: may a goroutine blocked on a sync.Mutex spin
  // (iteration `iter`) instead of parking? Only on a multicore machine, with
  // procs > 1, another P running (procs > idle + spinning + 1), and fewer
  // than 4 iterations; unlike Go, also with a non-empty local run queue.
  bool sync_can_spin(int iter) const;
  // Go's LockOSThread / UnlockOSThread (nested counts); no-ops off goroutines.
  void lock_os_thread();
  void unlock_os_thread();

  // --- the runtime boundary (see Retake above) -------------------------------
  // Entering from user code: returns the calling thread's M (null on a plain
  // thread). From depth 0 on a goroutine whose P was taken, may_yield moves
  // the goroutine to an M that has a P first; otherwise M::p may be null.
  M* enter_runtime(bool may_yield) {
    M* m = this_m();
    if (m == nullptr || m->rt != this) return nullptr;
    std::uint32_t depth = m->in_runtime.load(std::memory_order_relaxed);
    m->in_runtime.store(depth + 1, std::memory_order_relaxed);
    if (depth != 0) return m;
    os::light_barrier();
    if (m->retake.load(std::memory_order_acquire) != 0 || m->p == nullptr) [[unlikely]]
      return enter_without_p(m, may_yield);
    return m;
  }
  static void leave_runtime(M* m) noexcept {
    if (m != nullptr)
      m->in_runtime.store(m->in_runtime.load(std::memory_order_relaxed) - 1,
                          std::memory_order_release);
  }
  // goro::blocking: the M's goroutine is about to block in a system call.
  void blocking_enter() noexcept;
  void blocking_exit() noexcept;

  // --- timers (timer/timer.hpp) -------------------------------------------
  // Arms t in the current P's heap (P 0's from a plain thread).
  void add_timer(timer* t);
  // Disarms t; true if it was pending.
  bool del_timer(timer* t);
  [[noreturn]] void exit_current();

  // --- internals used by the loop and by tests ------------------------------
  void mstart(M* m);                       // thread body of an M
  void run_post_switch(M* m);
  G* find_runnable(M* m);                  // blocking: null means "stop"
  G* next_local(P* p);                     // runnext / local queue / global (no stealing)
  G* steal_work(M* m);
  G* spin_for_work(M* m);
  void wakep();
  void runqput(P* p, G* g, bool next);
  // Returns the M the caller resumed on.
  M* switch_to(M* m, G* from, G* to, bool from_dies);
  void sysmon();                           // thread body of sysmon
  void prepare_first_run(P* p, G* g);

  std::vector<std::unique_ptr<P>>& ps() { return ps_; }
  // Calls fn for every G record ever allocated (diagnostics; takes the
  // free-list lock, so fn must not start or free goroutines).
  void for_each_g(void (*fn)(const G& g, void* arg), void* arg);
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  // Whole seconds since run() began, now (fresh) and as sysmon last saw it
  // (what park stores in G::wait_since).
  std::uint32_t seconds_now() const;

 private:
  bool stop_spinning_and_recheck(M* m);
  G* global_get(P* p, bool just_one);
  void reset_spinning(M* m);
  bool work_visible();
  // nanotime if a timer of p is due, else 0; reads the clock if `now` is 0.
  std::int64_t own_timers_due(P* p, std::int64_t now = 0) const;
  void run_timers(std::int64_t now = 0);
  bool run_timers_of(P* p, std::int64_t& now);
  std::int64_t idle_timeout_ns() const;
  G* next_after_current(M* m, std::int64_t now = 0);
  void release_g(P* p, G* g) noexcept;
  G* gfget(P* p);
  void gfput(P* p, G* g);
  g_list new_g_chunk();
  std::uint64_t next_goid(P* p);
  M* enter_without_p(M* m, bool may_yield);
  M* yield_without_p(M* m);
  bool wait_for_p(M* m);
  G* wait_locked(M* m);
  void handoff_locked(M* m, G* g);
  void retire(M* m);
  bool has_waiting_work(P* p, std::int64_t now);
  bool try_retake(P* p, M* m);
  void start_m(P* p, bool may_create_here = true);
  void start_requested_ms();
  static void wake_m(M* m);
  void sleep_idle(M* m, std::int64_t timeout_ns);
  void check_dead();
  bool all_asleep();
  G* poll_network(P* p);
  void inject(g_list& batch);
  bool wake_idle_m();
  // GORO_SCHEDTRACE (debug/schedtrace.cpp): the interval read at
  // construction (0: off), and one line of Go's schedtrace on stderr.
  static std::int64_t schedtrace_interval_ns();
  void schedtrace(std::int64_t uptime_ns);

  config cfg_;
  const std::uint64_t id_;
  const std::int64_t schedtrace_ns_ = schedtrace_interval_ns();
  stack_pool stacks_;
  std::vector<std::unique_ptr<P>> ps_;
  std::mutex ms_mutex_;
  std::vector<std::unique_ptr<M>> ms_;   // grows (sysmon); guarded by ms_mutex_
  std::atomic<std::size_t> retired_ms_{0};  // Ms whose thread ended (retire); written under ms_mutex_
  std::vector<P*> ps_for_new_ms_;        // Ps waiting for sysmon to make an M; ms_mutex_
  std::thread sysmon_thread_;
  std::atomic<std::uint32_t> sysmon_stop_{0};
  std::atomic<M*> poller_{nullptr};      // the M blocked in the network poller
  global_runq globalq_;
  random_order steal_order_;

  std::mutex idle_mutex_;
  std::vector<M*> idle_ms_;              // guarded by idle_mutex_
  std::vector<M*> spare_ms_;             // Ms without a P; guarded by idle_mutex_
  std::size_t locked_waiting_ms_ = 0;    // Ms locked_waiting; guarded by idle_mutex_
  std::atomic<std::int32_t> npidle_{0};
  std::atomic<std::int32_t> nmspinning_{0};

  std::atomic<bool> stopping_{false};
  std::atomic<bool> deadlock_reported_{false};
  std::atomic<std::uint64_t> goid_gen_{0};

  // G records are allocated in chunks and never freed while the runtime
  // lives (Go's allgs): free ones are recycled through P::gfree and gfree_.
  spinlock gfree_lock_;
  batch_stack gfree_;                    // guarded by gfree_lock_
  std::vector<std::unique_ptr<G[]>> g_chunks_;  // guarded by gfree_lock_
  std::atomic<std::int64_t> foreign_created_{0};  // goroutines made off-P

  const std::int64_t start_ns_ = nanotime();        // at construction
  // Read by every park; alone on its line (written about once a second).
  alignas(64) std::atomic<std::uint32_t> coarse_seconds_{0};  // written by sysmon

  std::atomic<std::uint32_t> main_done_{0};
  int exit_code_ = 0;
  int (*main_body_)(void*) = nullptr;
  void* main_arg_ = nullptr;
  static void main_invoke(void* self);
};

// The runtime that is running, or null (set for the duration of run()).
runtime* current_runtime() noexcept;
runtime* set_current_runtime(runtime* rt) noexcept;
// The calling thread's M, or null on a thread that is not a goro thread.
// Never inlined: the thread may change across a switch, and a compiler may
// otherwise reuse a TLS address computed before it.
M* this_m() noexcept;
// The running goroutine, or null on g0 and on foreign threads.
G* current_g() noexcept;
// A fast pseudo-random number (per-thread xorshift; not for cryptography).
std::uint32_t cheap_rand() noexcept;
// A pseudo-random number in [0, n), n > 0, by multiply-shift instead of a
// division (Go's fastrandn; a 32-bit div was a fifth of select's own time).
inline std::uint32_t cheap_rand_below(std::uint32_t n) noexcept {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(cheap_rand()) * n) >> 32);
}

}  // namespace goro::detail
