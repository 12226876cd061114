// The stack pool (src/stack) without the scheduler: every stack of a slab is
// guarded (the guards of a slab are installed in one batch where the kernel
// allows), freed stacks are reused warmest first, and scavenge() returns the
// pages of spare stacks only after they stayed unused for a whole period.
#include <gtest/gtest.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "stack/stack.hpp"

namespace {

using goro::detail::guard_bytes;
using goro::detail::stack;
using goro::detail::stack_flag_canary;
using goro::detail::stack_pool;

constexpr std::size_t slot_size = 64 * 1024;  // guard included
constexpr int warm_cap = static_cast<int>(goro::detail::warm_cap);  // never scavenged

sigjmp_buf probe_jump;

void on_probe_fault(int) { siglongjmp(probe_jump, 1); }

// True if reading `p` faults (a guard page), with our own handlers in place.
bool faults(const char* p) {
  struct sigaction action {}, old_segv {}, old_bus {};
  action.sa_handler = on_probe_fault;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &old_segv);
  sigaction(SIGBUS, &action, &old_bus);
  // volatile: a local changed between sigsetjmp and the siglongjmp is
  // indeterminate after it otherwise (-O3 stored `false` before the read).
  volatile bool faulted = true;
  if (sigsetjmp(probe_jump, 1) == 0) {
    *static_cast<const volatile char*>(p);
    faulted = false;
  }
  sigaction(SIGSEGV, &old_segv, nullptr);
  sigaction(SIGBUS, &old_bus, nullptr);
  return faulted;
}

// Whether the page holding `p` is resident.
bool resident(const char* p) {
  long page = sysconf(_SC_PAGESIZE);
  auto* base = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) & ~(page - 1));
  unsigned char in_core = 0;
  EXPECT_EQ(mincore(base, static_cast<std::size_t>(page), &in_core), 0);
  return (in_core & 1) != 0;
}

std::vector<stack> take(stack_pool& pool, int n) {
  std::vector<stack> out(static_cast<std::size_t>(n));
  int got = 0;
  while (got < n) got += pool.get_batch(out.data() + got, std::min(16, n - got));
  return out;
}

void touch_top_page(const stack& s) { s.hi()[-1] = 1; }

TEST(StackPool, EveryStackOfASlabIsGuardedOrHasACanary) {
  stack_pool pool(slot_size);
  std::vector<stack> stacks = take(pool, 130);  // three slabs
  for (const stack& s : stacks) {
    ASSERT_EQ(s.size, slot_size - guard_bytes);
    if (s.flags & stack_flag_canary) continue;  // an old kernel past its mapping budget
    EXPECT_TRUE(faults(s.lo - 1)) << "no guard below the stack at " << static_cast<void*>(s.lo);
    EXPECT_TRUE(faults(s.lo - guard_bytes)) << "guard too short at " << static_cast<void*>(s.lo);
    EXPECT_FALSE(faults(s.lo));
  }
  pool.put_batch(stacks.data(), static_cast<int>(stacks.size()));
}

TEST(StackPool, FreedStacksAreReusedWarmestFirst) {
  stack_pool pool(slot_size);
  std::vector<stack> first = take(pool, 8);
  pool.put_batch(first.data(), 8);
  std::vector<stack> again = take(pool, 8);
  std::vector<char*> a, b;
  for (const stack& s : first) a.push_back(s.lo);
  for (const stack& s : again) b.push_back(s.lo);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);  // not fresh stacks from the slab
  pool.put_batch(again.data(), 8);
}

TEST(StackPool, ScavengeReturnsSpareStacksOnlyAfterAWholePeriod) {
  stack_pool pool(slot_size);
  constexpr int spare = 100;
  std::vector<stack> stacks = take(pool, warm_cap + spare);
  for (const stack& s : stacks) touch_top_page(s);
  pool.put_batch(stacks.data(), warm_cap);  // fills the warm stacks
  pool.put_batch(stacks.data() + warm_cap, spare);
  const stack* spares = stacks.data() + warm_cap;

  EXPECT_EQ(pool.scavenge(), 0U);  // freed during this period: kept
  for (int i = 0; i < spare; ++i) EXPECT_TRUE(resident(spares[i].hi() - 1));

  // One spare is reused in between: it is not scavenged.
  std::vector<stack> reused = take(pool, warm_cap + 1);
  pool.put_batch(reused.data(), warm_cap);  // the warm ones go back first
  EXPECT_EQ(pool.scavenge(), static_cast<std::size_t>(spare - 1));
  int released = 0;
  for (int i = 0; i < spare; ++i) {
    bool is_reused = spares[i].lo == reused[warm_cap].lo;
    EXPECT_EQ(resident(spares[i].hi() - 1), is_reused) << "spare " << i;
    released += !is_reused;
  }
  EXPECT_EQ(released, spare - 1);
  for (int i = 0; i < warm_cap; ++i) EXPECT_TRUE(resident(stacks[static_cast<std::size_t>(i)].hi() - 1));
  EXPECT_EQ(pool.scavenge(), 0U);

  // Scavenged stacks keep their guards and are handed out again.
  pool.put_batch(reused.data() + warm_cap, 1);
  std::vector<stack> all = take(pool, warm_cap + spare);
  for (const stack& s : all) {
    if (!(s.flags & stack_flag_canary)) {
      EXPECT_TRUE(faults(s.lo - 1));
    }
  }
  pool.put_batch(all.data(), static_cast<int>(all.size()));
}

}  // namespace
