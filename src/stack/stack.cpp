// stack/stack.cpp — see stack.hpp for the design.
#include "stack/stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "goro/runtime.hpp"
#include "debug/sanitizer.hpp"
#include "os/madvise.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace goro::detail {
namespace {

constexpr int stacks_per_slab = 64;

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// Mappings we allow mprotect guards to consume in mprotect_guard mode.
std::atomic<long> mprotect_guard_budget{0};

long read_max_map_count() {
  long value = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    if (std::fscanf(f, "%ld", &value) != 1) value = 65530;
    std::fclose(f);
  }
  return value;
}

// True if reading `p` faults, found out without faulting: write(2) from it
// into a pipe fails with EFAULT.
bool unreadable(const void* p) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  bool faults = write(fds[1], p, 1) < 0 && errno == EFAULT;
  close(fds[0]);
  close(fds[1]);
  return faults;
}

guard_mode probe_guard_mode() {
  std::size_t page = page_size();
  void* probe = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (probe == MAP_FAILED) return guard_mode::canary_only;
  // Success is not enough: qemu-user accepts any advice and does nothing.
  bool ok = madvise(probe, page, MADV_GUARD_INSTALL) == 0 && unreadable(probe);
  munmap(probe, 2 * page);
  if (ok) return guard_mode::madvise_guard;
  // Each guard splits a mapping; leave most of the map count to everyone else.
  mprotect_guard_budget.store(std::max(0L, read_max_map_count() / 4));
  return guard_mode::mprotect_guard;
}

// Protects the guard_bytes at `base` (the low end of a stack slot). Returns
// the flags the stack gets (canary when it could not be guarded).
std::uint32_t protect_guard(char* base) {
  switch (stack_guard_mode()) {
    case guard_mode::madvise_guard:
      if (madvise(base, guard_bytes, MADV_GUARD_INSTALL) == 0) return 0;
      break;
    case guard_mode::mprotect_guard:
      if (mprotect_guard_budget.fetch_sub(2) > 0 &&
          mprotect(base, guard_bytes, PROT_NONE) == 0)
        return 0;
      break;
    case guard_mode::canary_only:
      break;
  }
  return stack_flag_canary;
}

// A stack in the slot at `slot`; `guarded`: its guard is already installed.
stack carve(char* slot, std::size_t slot_size, bool guarded = false) {
  stack s;
  s.lo = slot + guard_bytes;
  s.size = static_cast<std::uint32_t>(slot_size - guard_bytes);
  s.flags = guarded ? 0 : protect_guard(slot);
  if (s.flags & stack_flag_canary)
    *reinterpret_cast<std::uint64_t*>(s.lo) = stack_canary_value;
  return s;
}

[[noreturn]] void out_of_memory(const char* what) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "out of memory: %s (%s)", what, std::strerror(errno));
  fatal(buf);
}

}  // namespace

guard_mode stack_guard_mode() {
  static const guard_mode mode = probe_guard_mode();
  return mode;
}

stack_pool::stack_pool(std::size_t stack_size)
    : stack_size_((std::max(stack_size, min_stack_size) + page_size() - 1) & ~(page_size() - 1)) {}

stack_pool::~stack_pool() {
  for (const slab& s : slabs_) {
    // Goroutines discarded while blocked leave ASan poison in their frames;
    // the address range may be reused by the next mapping.
    sanitizer::unpoison_stack(s.base, s.bytes);
    munmap(s.base, s.bytes);
  }
}

void stack_pool::grow_locked() {
  std::size_t bytes = stack_size_ * stacks_per_slab;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) out_of_memory("cannot reserve goroutine stacks");
  auto* base = static_cast<char*>(mem);
  slabs_.push_back({base, bytes});
  // All the slab's guards in one system call where the kernel allows it;
  // else (or if that fails) stack by stack, each falling back on its own.
  bool guarded = false;
  if (stack_guard_mode() == guard_mode::madvise_guard) {
    iovec guards[stacks_per_slab];
    for (int i = 0; i < stacks_per_slab; ++i)
      guards[i] = {base + static_cast<std::size_t>(i) * stack_size_, guard_bytes};
    guarded = os::madvise_ranges(guards, stacks_per_slab, MADV_GUARD_INSTALL) == 0;
  }
  // Highest slot first, so that stacks are handed out in address order.
  for (int i = stacks_per_slab - 1; i >= 0; --i)
    cold_.push_back(carve(base + static_cast<std::size_t>(i) * stack_size_, stack_size_, guarded));
}

int stack_pool::get_batch(stack* out, int max) {
  std::lock_guard lock(mutex_);
  int n = 0;
  while (n < max) {
    // Warmest first: the most recently freed are likeliest still in cache.
    std::vector<stack>* from = !warm_.empty()        ? &warm_
                               : !spare_young_.empty() ? &spare_young_
                               : !spare_old_.empty()   ? &spare_old_
                                                       : &cold_;
    if (from->empty()) grow_locked();
    out[n++] = from->back();
    from->pop_back();
  }
  return n;
}

void stack_pool::put_batch(const stack* in, int n) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < n; ++i) {
    if (warm_.size() < warm_cap) warm_.push_back(in[i]);
    else spare_young_.push_back(in[i]);
  }
}

// Gives the pages of the spare stacks that stayed unused for a whole period
// back to the kernel, keeping their address ranges (and guards: guard
// markers survive MADV_DONTNEED). Neighbouring stacks are released as one
// range and all ranges in as few calls as the kernel allows: each call costs
// a TLB shoot-down on every CPU running this process. The system calls run
// outside the lock, so goroutines starting meanwhile are not held up.
std::size_t stack_pool::scavenge() {
  std::vector<stack> releasing;
  {
    std::lock_guard lock(mutex_);
    releasing.swap(spare_old_);
    spare_old_.swap(spare_young_);
  }
  if (releasing.empty()) return 0;
  std::sort(releasing.begin(), releasing.end(),
            [](const stack& a, const stack& b) { return a.lo < b.lo; });
  std::vector<iovec> ranges;
  std::size_t i = 0;
  while (i < releasing.size()) {
    std::size_t j = i + 1;
    while (j < releasing.size() && releasing[j].lo == releasing[j - 1].hi() + guard_bytes) ++j;
    char* lo = releasing[i].lo;
    ranges.push_back({lo, static_cast<std::size_t>(releasing[j - 1].hi() - lo)});
    i = j;
  }
  os::madvise_ranges(ranges.data(), ranges.size(), MADV_DONTNEED);
  for (stack& s : releasing)
    if (s.flags & stack_flag_canary) *reinterpret_cast<std::uint64_t*>(s.lo) = stack_canary_value;
  std::lock_guard lock(mutex_);
  cold_.insert(cold_.end(), releasing.begin(), releasing.end());
  return releasing.size();
}

std::size_t stack_pool::reserved_bytes() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const slab& s : slabs_) total += s.bytes;
  return total;
}

stack stack_pool::map_custom(std::size_t total_size) {
  std::size_t page = page_size();
  total_size = (std::max(total_size, min_stack_size) + page - 1) & ~(page - 1);
  void* mem = mmap(nullptr, total_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) out_of_memory("cannot map a goroutine stack");
  stack s = carve(static_cast<char*>(mem), total_size);
  s.flags |= stack_flag_custom;
  return s;
}

void stack_pool::unmap_custom(const stack& s) noexcept {
  sanitizer::unpoison_stack(s.lo, s.size);
  munmap(s.lo - guard_bytes, s.size + guard_bytes);
}

stack stack_cache::acquire(stack_pool& pool) {
  if (count_ == 0) count_ = pool.get_batch(items_, capacity / 2);
  return items_[--count_];
}

void stack_cache::release(stack_pool& pool, const stack& s) {
  sanitizer::unpoison_stack(s.lo, s.size);  // frames of the dead goroutine
  if (s.flags & stack_flag_custom) {
    stack_pool::unmap_custom(s);
    return;
  }
  if (count_ == capacity) {
    pool.put_batch(items_ + capacity / 2, capacity / 2);
    count_ = capacity / 2;
  }
  items_[count_++] = s;
}

void stack_cache::drain(stack_pool& pool) {
  pool.put_batch(items_, count_);
  count_ = 0;
}

}  // namespace goro::detail
