// stack/stack.hpp — goroutine stacks.
//
// Owns: reserving stack memory, protecting its low end, and recycling it.
//
// Design (measured on this project's machines, see docs/stacks.md):
//  - Stacks of the default size come from slabs: one mmap(MAP_NORESERVE) per
//    64 stacks, so the kernel commits a page only when a goroutine touches it
//    and a parked goroutine that used 4 KiB of stack costs 4 KiB.
//  - vm.max_map_count is 65530 and an mprotect'ed guard splits a mapping in
//    three, so per-stack guards by mprotect cap us near 32k goroutines. Linux
//    6.13+ has MADV_GUARD_INSTALL, which installs guard pages as page-table
//    markers without splitting the mapping: then every stack is guarded.
//    Older kernels get mprotect guards up to a budget of mappings, and stacks
//    beyond it get a canary word at their low end instead.
//  - The scheduler checks the saved stack pointer (and the canary, on canary
//    stacks) at every switch away from a goroutine: an overflow that skipped
//    the guard still ends in "fatal error: stack overflow", never silently.
//  - A goroutine gets a stack when it first runs and gives it back when it
//    exits; stacks are cached per P (no lock), then in the pool (one mutex).
//    Warm stacks (pages already committed) are reused first. Past a cap of
//    warm stacks, freed stacks are spare: still reused first, but sysmon
//    returns the pages of those left unused for a whole scavenge period to
//    the kernel (MADV_DONTNEED, off the goroutines' path, as Go's background
//    scavenger does) and the pool keeps the address range.
//
// Invariants: a stack's usable range is [lo, lo + size); the guard_bytes
// below lo fault on access (unless the stack is a canary stack). A stack is
// in at most one of the pool's lists, and in none while scavenge() returns
// its pages. Slabs are unmapped only when the pool is destroyed, after every
// goroutine is gone and sysmon (scavenge's only caller) has been joined.
//
// Lock order: stack_pool::mutex_ is a leaf lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace goro::detail {

struct stack {
  char* lo = nullptr;         // lowest usable byte
  std::uint32_t size = 0;     // usable bytes
  std::uint32_t flags = 0;    // stack_flag_*

  char* hi() const { return lo + size; }
  explicit operator bool() const { return lo != nullptr; }
};

inline constexpr std::uint32_t stack_flag_canary = 1;  // unguarded: check the canary
inline constexpr std::uint32_t stack_flag_custom = 2;  // own mapping: unmap on release
inline constexpr std::uint64_t stack_canary_value = 0x676f726f2d737461ULL;
inline constexpr std::size_t default_stack_size = 256 * 1024;
inline constexpr std::size_t min_stack_size = 16 * 1024;
inline constexpr std::size_t guard_bytes = 16 * 1024;
// Freed stacks the pool keeps committed for good; beyond them, spare stacks
// are scavenged (stack_pool::scavenge).
inline constexpr std::size_t warm_cap = 1024;

enum class guard_mode { madvise_guard, mprotect_guard, canary_only };

// How this process protects stacks (decided once, on first use).
guard_mode stack_guard_mode();

// True if the stack's canary (when it has one) is intact and `sp` lies inside it.
inline bool stack_intact(const stack& s, const void* sp) {
  auto* p = static_cast<const char*>(sp);
  if (p < s.lo || p > s.hi()) return false;
  if (s.flags & stack_flag_canary)
    return *reinterpret_cast<const std::uint64_t*>(s.lo) == stack_canary_value;
  return true;
}

// The process-wide source of default-size stacks for one runtime.
class stack_pool {
 public:
  explicit stack_pool(std::size_t stack_size);  // total size per stack, guard included
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  std::size_t stack_size() const { return stack_size_; }

  // Fills `out` with up to `max` stacks (warm ones first); returns how many.
  int get_batch(stack* out, int max);
  // Takes back `n` stacks of the default size.
  void put_batch(const stack* in, int n);
  // Sysmon, once per scavenge period: returns the pages of the spare stacks
  // unused since the previous call to the kernel; returns how many.
  std::size_t scavenge();

  // A stack of a non-default size, with its own mapping and guard.
  static stack map_custom(std::size_t total_size);
  static void unmap_custom(const stack& s) noexcept;

  // Bytes of stack address space reserved so far (for tests and stats).
  std::size_t reserved_bytes() const;

 private:
  void grow_locked();

  const std::size_t stack_size_;
  mutable std::mutex mutex_;
  std::vector<stack> warm_;   // pages likely committed: reuse first, kept
  // Past warm_cap: committed too, and reused next, but scavenge() returns
  // the pages of those still here after a whole period (young -> old -> cold).
  std::vector<stack> spare_young_;
  std::vector<stack> spare_old_;
  std::vector<stack> cold_;   // pages returned to the kernel (or never touched)
  struct slab { char* base; std::size_t bytes; };
  std::vector<slab> slabs_;
};

// A P's private cache in front of the pool (no locking: owner P only).
class stack_cache {
 public:
  static constexpr int capacity = 32;
  stack acquire(stack_pool& pool);
  void release(stack_pool& pool, const stack& s);
  void drain(stack_pool& pool);

 private:
  stack items_[capacity];
  int count_ = 0;
};

}  // namespace goro::detail
