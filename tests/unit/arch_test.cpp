// Raw context switch (src/arch), without the scheduler: make_context on an
// mmap'd or heap stack, switching back and forth, callee-saved registers,
// stack alignment at entry, per-context floating-point control state, and
// resuming a context on another thread than the one it was suspended on.
//
// The sanitizer fiber annotations of src/debug/sanitizer.hpp are used around
// every raw switch, as the scheduler does, so this also runs under ASan/TSan.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/mman.h>

#include <atomic>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "arch/context.hpp"
#include "debug/sanitizer.hpp"
#include "test_util.hpp"

namespace arch = goro::detail::arch;
namespace san = goro::detail::sanitizer;

// tests/unit/arch_pattern_<arch>.S: loads a pattern derived from `seed` into
// every callee-saved register (x86-64: rbx rbp r12-r15; aarch64: x19-x28,
// d8-d15), calls goro_context_switch(save_sp, load_sp), and when resumed
// stores those registers to out[] (6 values on x86-64, 18 on aarch64).
extern "C" void goro_test_switch_pattern(void** save_sp, void* load_sp, std::uint64_t seed,
                                         std::uint64_t* out);

namespace {

#if defined(__x86_64__)
constexpr int pattern_regs = 6;
#elif defined(__aarch64__)
constexpr int pattern_regs = 18;
#endif

struct context {
  void* sp = nullptr;
  san::fiber_state fiber;
};

// The calling thread's own stack as a context.
void adopt_current_thread(context& c) {
  pthread_attr_t attr;
  void* addr = nullptr;
  std::size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
  }
  san::adopt_thread(c.fiber, addr, size);
}

void switch_context(context& from, context& to, bool from_dies = false) {
  san::before_switch(from.fiber, from_dies, to.fiber);
  arch::goro_context_switch(&from.sp, to.sp);
  san::after_switch(from.fiber);
}

void switch_with_pattern(context& from, context& to, std::uint64_t seed, std::uint64_t* out) {
  san::before_switch(from.fiber, false, to.fiber);
  goro_test_switch_pattern(&from.sp, to.sp, seed, out);
  san::after_switch(from.fiber);
}

enum class stack_kind { mmap, heap };

// A context with its own stack running body(self) until it finishes.
class coroutine {
 public:
  using body_fn = void (*)(coroutine&);

  // `top_offset`: how many bytes below the end of the memory make_context is
  // told the stack ends (a misaligned top must still give an aligned entry).
  explicit coroutine(body_fn body, stack_kind kind = stack_kind::mmap,
                     std::size_t size = 256 * 1024, std::size_t top_offset = 0)
      : body_(body), kind_(kind), size_(size) {
    if (kind == stack_kind::mmap) {
      void* m = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) std::abort();
      mem_ = static_cast<char*>(m);
    } else {
      mem_ = static_cast<char*>(std::malloc(size));
      if (mem_ == nullptr) std::abort();
    }
    char* top = mem_ + size - top_offset;
    self_.sp = arch::make_context(top, &entry, this);
    san::create(self_.fiber, mem_, size - top_offset);
  }
  coroutine(const coroutine&) = delete;
  coroutine& operator=(const coroutine&) = delete;
  ~coroutine() {
    san::destroy(self_.fiber);
    san::unpoison_stack(mem_, size_);
    if (kind_ == stack_kind::mmap) {
      ::munmap(mem_, size_);
    } else {
      std::free(mem_);
    }
  }

  // Runs the coroutine until it suspends or finishes; `caller` is the
  // running context (it is where suspend() returns to).
  void resume(context& caller) {
    caller_ = &caller;
    switch_context(caller, self_);
  }
  void resume_with_pattern(context& caller, std::uint64_t seed, std::uint64_t* out) {
    caller_ = &caller;
    switch_with_pattern(caller, self_, seed, out);
  }
  // From inside the coroutine: back to whoever resumed it.
  void suspend() { switch_context(self_, *caller_); }
  void suspend_with_pattern(std::uint64_t seed, std::uint64_t* out) {
    switch_with_pattern(self_, *caller_, seed, out);
  }

  void set_caller(context& caller) { caller_ = &caller; }
  bool done() const { return done_; }
  const char* stack_lo() const { return mem_; }
  const char* stack_hi() const { return mem_ + size_; }
  context& self() { return self_; }

  void* user = nullptr;

 private:
  static void entry(void* arg) {
    auto* self = static_cast<coroutine*>(arg);
    san::after_switch(self->self_.fiber);
    self->body_(*self);
    self->done_ = true;
    switch_context(self->self_, *self->caller_, /*from_dies=*/true);
    std::abort();  // a finished coroutine is never resumed
  }

  body_fn body_;
  stack_kind kind_;
  std::size_t size_;
  char* mem_ = nullptr;
  context self_;
  context* caller_ = nullptr;
  bool done_ = false;
};

// Values passed between contexts through globals.
int g_in = 0;
int g_out = 0;
double g_dout = 0;

[[gnu::noinline]] double opaque(double x) {
  asm volatile("" : "+m"(x));
  return x;
}

// ---------------------------------------------------------------------------

void ping_pong_body(coroutine& self) {
  // Locals live across switches (in registers when optimised).
  double acc = opaque(0.25);
  long sum = 0;
  for (int i = 0; i < 10; ++i) {
    sum += g_in;
    acc = acc * 1.5 + opaque(static_cast<double>(g_in));
    g_out = g_in * 2 + 1;
    g_dout = acc;
    self.suspend();
  }
  g_out = static_cast<int>(sum);
}

TEST(ArchContext, SwitchBackAndForthPassingValues) {
  for (stack_kind kind : {stack_kind::mmap, stack_kind::heap}) {
    context main_ctx;
    adopt_current_thread(main_ctx);
    coroutine co(&ping_pong_body, kind);
    double mine = opaque(1.0);
    double expect_acc = 0.25;
    long expect_sum = 0;
    for (int i = 0; i < 10; ++i) {
      g_in = 100 + i;
      mine = mine * 3.0 - opaque(0.5);
      co.resume(main_ctx);
      expect_sum += 100 + i;
      expect_acc = expect_acc * 1.5 + (100 + i);
      EXPECT_EQ(g_out, (100 + i) * 2 + 1);
      EXPECT_EQ(g_dout, expect_acc);
      EXPECT_FALSE(co.done());
    }
    co.resume(main_ctx);
    EXPECT_TRUE(co.done());
    EXPECT_EQ(g_out, expect_sum);
    double expect_mine = 1.0;
    for (int i = 0; i < 10; ++i) expect_mine = expect_mine * 3.0 - 0.5;
    EXPECT_EQ(mine, expect_mine);
  }
}

// ---------------------------------------------------------------------------

std::uint64_t g_pattern_out[pattern_regs];
int g_pattern_errors = 0;

bool pattern_matches(const std::uint64_t* out, std::uint64_t seed) {
  for (int i = 0; i < pattern_regs; ++i)
    if (out[i] != seed + static_cast<std::uint64_t>(i)) return false;
  return true;
}

void pattern_body(coroutine& self) {
  for (std::uint64_t round = 0; round < 8; ++round) {
    std::uint64_t seed = 0xC0C0'0000'0000'0000ULL + round * 0x100;
    self.suspend_with_pattern(seed, g_pattern_out);
    if (!pattern_matches(g_pattern_out, seed)) ++g_pattern_errors;
  }
}

TEST(ArchContext, CalleeSavedRegistersSurviveSwitches) {
  context main_ctx;
  adopt_current_thread(main_ctx);
  coroutine co(&pattern_body);
  std::uint64_t out[pattern_regs];
  for (std::uint64_t round = 0; round < 8; ++round) {
    std::uint64_t seed = 0x5A5A'0000'0000'0000ULL + round * 0x100;
    std::memset(out, 0, sizeof out);
    co.resume_with_pattern(main_ctx, seed, out);
    for (int i = 0; i < pattern_regs; ++i)
      EXPECT_EQ(out[i], seed + static_cast<std::uint64_t>(i)) << "round " << round << " reg " << i;
  }
  co.resume(main_ctx);
  EXPECT_TRUE(co.done());
  EXPECT_EQ(g_pattern_errors, 0) << "the coroutine saw its registers changed across a switch";
}

// ---------------------------------------------------------------------------

std::uintptr_t g_entry_frame = 0;
std::uintptr_t g_callee_frame = 0;
std::uintptr_t g_aligned_local = 0;

[[gnu::noinline]] void record_callee_frame() {
  g_callee_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  asm volatile("" ::: "memory");
}

void alignment_body(coroutine&) {
  g_entry_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  alignas(16) volatile unsigned char local[16] = {};
  local[0] = 1;
  g_aligned_local = reinterpret_cast<std::uintptr_t>(&local[0]);
  record_callee_frame();
}

TEST(ArchContext, EntrySeesAlignedStack) {
  context main_ctx;
  adopt_current_thread(main_ctx);
  for (stack_kind kind : {stack_kind::mmap, stack_kind::heap}) {
    // A stack top that is not 16-byte aligned must be aligned down.
    for (std::size_t top_offset : {0, 1, 3, 8, 12, 15, 24}) {
      coroutine co(&alignment_body, kind, 64 * 1024, top_offset);
      g_entry_frame = g_callee_frame = g_aligned_local = 0;
      co.resume(main_ctx);
      ASSERT_TRUE(co.done());
      // With the ABI's alignment at the call, the frame pointer (x86-64: the
      // address of the saved rbp; aarch64: sp after the frame record) is 16-byte aligned.
      EXPECT_EQ(g_entry_frame % 16, 0u) << "top_offset " << top_offset;
      EXPECT_EQ(g_callee_frame % 16, 0u) << "top_offset " << top_offset;
      EXPECT_EQ(g_aligned_local % 16, 0u) << "top_offset " << top_offset;
      // And the frames are on the coroutine's stack.
      auto lo = reinterpret_cast<std::uintptr_t>(co.stack_lo());
      auto hi = reinterpret_cast<std::uintptr_t>(co.stack_hi()) - top_offset;
      EXPECT_GT(g_entry_frame, lo);
      EXPECT_LT(g_entry_frame, hi);
      EXPECT_LT(g_callee_frame, g_entry_frame);
    }
  }
}

// ---------------------------------------------------------------------------

int g_round_at_entry = -1;
int g_round_after_first = -1;
int g_round_after_second = -1;
double g_up_quotient = 0;

void rounding_body(coroutine& self) {
  g_round_at_entry = std::fegetround();
  std::fesetround(FE_UPWARD);
  self.suspend();
  g_round_after_first = std::fegetround();
  g_up_quotient = opaque(1.0) / opaque(3.0);
  self.suspend();
  g_round_after_second = std::fegetround();
  std::fesetround(FE_TONEAREST);
}

struct restore_rounding {
  ~restore_rounding() { std::fesetround(FE_TONEAREST); }
};

TEST(ArchContext, RoundingModeIsPerContext) {
  restore_rounding restore;
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  context main_ctx;
  adopt_current_thread(main_ctx);
  // A fresh context starts with the default (round to nearest), whatever
  // the context that starts it has set.
  std::fesetround(FE_DOWNWARD);
  coroutine co(&rounding_body);
  co.resume(main_ctx);
  EXPECT_EQ(g_round_at_entry, FE_TONEAREST);
  EXPECT_EQ(std::fegetround(), FE_DOWNWARD) << "the coroutine's FE_UPWARD leaked into main";
  std::fesetround(FE_TONEAREST);
  double nearest = opaque(1.0) / opaque(3.0);
  co.resume(main_ctx);
  EXPECT_EQ(g_round_after_first, FE_UPWARD) << "main's mode leaked into the coroutine";
  EXPECT_GT(g_up_quotient, nearest) << "1/3 rounded upward must exceed 1/3 rounded to nearest";
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
  std::fesetround(FE_TOWARDZERO);
  co.resume(main_ctx);
  EXPECT_EQ(g_round_after_second, FE_UPWARD);
  EXPECT_TRUE(co.done());
  EXPECT_EQ(std::fegetround(), FE_TOWARDZERO);
}

// ---------------------------------------------------------------------------
// Migration: a context suspended on one thread is resumed on another.

thread_local int tls_marker = 0;

[[gnu::noinline]] int read_tls_marker() {
  asm volatile("" ::: "memory");
  return tls_marker;
}

struct migration_record {
  std::thread::id seen[4];
  int tls_seen[4] = {};
  double checksum = 0;
};

void migration_body(coroutine& self) {
  auto* rec = static_cast<migration_record*>(self.user);
  double acc = opaque(2.0);
  long n = 7;
  for (int i = 0; i < 4; ++i) {
    rec->seen[i] = goro_test::this_thread_id();
    rec->tls_seen[i] = read_tls_marker();
    acc = acc * 1.25 + static_cast<double>(n);
    n = n * 3 + i;
    if (i < 3) self.suspend();
  }
  rec->checksum = acc + static_cast<double>(n);
}

TEST(ArchContext, ResumeOnAnotherThread) {
  for (stack_kind kind : {stack_kind::mmap, stack_kind::heap}) {
    migration_record rec;
    coroutine co(&migration_body, kind);
    co.user = &rec;
    std::thread::id ids[4];
    // Each step on a new thread; the thread's context is adopted afresh.
    for (int step = 0; step < 4; ++step) {
      std::thread t([&, step] {
        tls_marker = 1000 + step;
        ids[step] = goro_test::this_thread_id();
        context here;
        adopt_current_thread(here);
        co.resume(here);
      });
      t.join();
    }
    EXPECT_TRUE(co.done());
    double acc = 2.0;
    long n = 7;
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(rec.seen[i], ids[i]) << "step " << i;
      EXPECT_EQ(rec.tls_seen[i], 1000 + i) << "a resumed context must see its new thread's TLS";
      acc = acc * 1.25 + static_cast<double>(n);
      n = n * 3 + i;
    }
    EXPECT_EQ(rec.checksum, acc + static_cast<double>(n));
  }
}

// Two threads alternately resume the same context many times, so every
// resume happens on the other thread than the previous suspend.
struct relay {
  std::atomic<int> turn{0};  // who resumes next: 0 or 1; 2: finished
  int resumes = 0;
  int migrations = 0;
  std::thread::id last;
};

void relay_body(coroutine& self) {
  auto* r = static_cast<relay*>(self.user);
  std::uint64_t out[pattern_regs];
  for (int i = 0; i < 200; ++i) {
    std::thread::id now = goro_test::this_thread_id();
    if (i > 0 && now != r->last) ++r->migrations;
    r->last = now;
    ++r->resumes;
    std::uint64_t seed = 0x1000 + static_cast<std::uint64_t>(i) * 32;
    self.suspend_with_pattern(seed, out);
    if (!pattern_matches(out, seed)) ++g_pattern_errors;
  }
}

TEST(ArchContext, AlternateThreadsResumeOneContext) {
  g_pattern_errors = 0;
  relay r;
  coroutine co(&relay_body);
  co.user = &r;
  auto worker = [&](int me) {
    context here;
    adopt_current_thread(here);
    for (;;) {
      int t;
      while ((t = r.turn.load(std::memory_order_acquire)) != me && t != 2) std::this_thread::yield();
      if (t == 2) return;
      co.resume(here);
      r.turn.store(co.done() ? 2 : 1 - me, std::memory_order_release);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_TRUE(co.done());
  EXPECT_EQ(r.resumes, 200);
  EXPECT_EQ(r.migrations, 199);
  EXPECT_EQ(g_pattern_errors, 0);
}

// ---------------------------------------------------------------------------
// Contexts switching directly to each other (not through the creator).

constexpr int ring_size = 8;
coroutine* g_ring[ring_size];
std::vector<int> g_ring_trace;

void ring_body(coroutine& self) {
  int me = static_cast<int>(reinterpret_cast<std::intptr_t>(self.user));
  for (int lap = 0; lap < 3; ++lap) {
    g_ring_trace.push_back(lap * 100 + me);
    if (me + 1 < ring_size) {
      coroutine& next = *g_ring[me + 1];
      // Hand over directly; `next` returns to whoever resumed us (main).
      switch_context(self.self(), next.self());
    } else {
      self.suspend();
    }
  }
}

TEST(ArchContext, DirectSwitchBetweenCoroutines) {
  g_ring_trace.clear();
  context main_ctx;
  adopt_current_thread(main_ctx);
  std::vector<std::unique_ptr<coroutine>> ring;
  for (int i = 0; i < ring_size; ++i) {
    ring.push_back(std::make_unique<coroutine>(&ring_body, i % 2 ? stack_kind::heap : stack_kind::mmap,
                                               64 * 1024));
    ring.back()->user = reinterpret_cast<void*>(static_cast<std::intptr_t>(i));
    ring.back()->set_caller(main_ctx);
    g_ring[i] = ring.back().get();
  }
  for (int lap = 0; lap < 3; ++lap) {
    // Coroutine 0 hands over to 1, ..., 7 suspends back to main.
    ring[0]->resume(main_ctx);
    ASSERT_EQ(g_ring_trace.size(), static_cast<std::size_t>((lap + 1) * ring_size));
    for (int i = 0; i < ring_size; ++i)
      EXPECT_EQ(g_ring_trace[static_cast<std::size_t>(lap * ring_size + i)], lap * 100 + i);
  }
  for (auto& c : ring) {
    EXPECT_FALSE(c->done());
    c->resume(main_ctx);
    EXPECT_TRUE(c->done());
  }
}

}  // namespace
