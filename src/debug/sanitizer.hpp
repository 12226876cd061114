// debug/sanitizer.hpp — telling ASan and TSan about goroutine switches.
//
// Owns: the fiber annotations of both sanitizers. Every context switch goes
// through sched's switch_to(), which calls these around the raw switch, so
// both sanitizers always know which stack is running:
//   ASan: start_switch(dest stack) before, finish_switch() after, in the
//         context that resumes; a dying context passes no fake-stack slot.
//   TSan: one fiber per goroutine (made on first run, destroyed after its
//         exit); switch_to_fiber() right before the raw switch. The switch
//         synchronises the two fibers (flag 0), which is what the scheduler's
//         hand-over of the M's post-switch action relies on.
// In builds without a sanitizer every function is an empty inline.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define GORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORO_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define GORO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORO_TSAN 1
#endif
#endif

#if GORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if GORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace goro::detail::sanitizer {

// Per-context state the sanitizers need; lives in each G (and each M's g0).
struct fiber_state {
#if GORO_ASAN
  void* asan_fake_stack = nullptr;
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
#endif
#if GORO_TSAN
  void* tsan_fiber = nullptr;
#endif
};

// The thread's own stack becomes a context (an M's g0).
inline void adopt_thread(fiber_state& f, const void* bottom, std::size_t size) {
#if GORO_ASAN
  f.stack_bottom = bottom;
  f.stack_size = size;
#else
  (void)bottom, (void)size;
#endif
#if GORO_TSAN
  f.tsan_fiber = __tsan_get_current_fiber();
#endif
  (void)f;
}

// A goroutine context is about to run for the first time on [bottom, bottom+size).
inline void create(fiber_state& f, const void* bottom, std::size_t size) {
#if GORO_ASAN
  f.asan_fake_stack = nullptr;
  f.stack_bottom = bottom;
  f.stack_size = size;
#else
  (void)bottom, (void)size;
#endif
#if GORO_TSAN
  f.tsan_fiber = __tsan_create_fiber(0);
#endif
  (void)f;
}

// The goroutine is gone and the current context is another one.
inline void destroy(fiber_state& f) {
#if GORO_TSAN
  if (f.tsan_fiber) __tsan_destroy_fiber(f.tsan_fiber);
  f.tsan_fiber = nullptr;
#endif
  (void)f;
}

// Right before the raw switch from `from` (null fake-stack slot when it dies) to `to`.
inline void before_switch(fiber_state& from, bool from_dies, fiber_state& to) {
#if GORO_ASAN
  __sanitizer_start_switch_fiber(from_dies ? nullptr : &from.asan_fake_stack,
                                 to.stack_bottom, to.stack_size);
#endif
#if GORO_TSAN
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
  (void)from, (void)from_dies, (void)to;
}

// First thing a context does when it (re)gains the CPU.
inline void after_switch(fiber_state& self) {
#if GORO_ASAN
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, nullptr, nullptr);
#endif
  (void)self;
}

// Clears ASan's poison left by the frames of a goroutine that will not return.
inline void unpoison_stack(void* lo, std::size_t size) {
#if GORO_ASAN
  __asan_unpoison_memory_region(lo, size);
#endif
  (void)lo, (void)size;
}

}  // namespace goro::detail::sanitizer
