// Port of golang/go test/chan/select2.go: 100 000 two-case selects (a real
// channel fed by another goroutine, and a channel that is never ready),
// after a warm-up round, must not grow the heap (Go allows ~100 KB). goro
// has no GC, so the check is stronger: no heap allocation at all in steady
// state, counted with a replaced global operator new that counts, while a
// flag is set, the allocations made by goroutines (goro::goid() != 0): the
// runtime's own threads may allocate meanwhile — sysmon starting a thread to
// take over a processor whose thread the OS descheduled for 10 ms — and that
// is not the selects' doing. Also: blocking and non-blocking channel operations, and
// selects with a default, allocate nothing in steady state.
#include <atomic>
#include <cstdlib>
#include <new>

#include "conformance.hpp"

// TSan's runtime defines the global operator new and delete itself (in the
// same object as functions it needs), so they cannot be replaced there: the
// counting tests are skipped under TSan.
#if defined(__SANITIZE_THREAD__)
#define CONFORMANCE_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CONFORMANCE_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef CONFORMANCE_COUNT_ALLOCATIONS
#define CONFORMANCE_COUNT_ALLOCATIONS 1
#endif

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

[[maybe_unused]] void* counted_alloc(std::size_t n, std::size_t align) {
  if (counting.load(std::memory_order_relaxed) && goro::goid() != 0)
    allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(n);
  } else {
    std::size_t rounded = (n + align - 1) / align * align;
    p = std::aligned_alloc(align, rounded);
  }
  return p;
}

}  // namespace

#if CONFORMANCE_COUNT_ALLOCATIONS
// The replacements pair malloc with free; GCC cannot see that the replaced
// operator new is malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n, 0)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#endif

namespace {

using conformance::Procs;
using goro::chan;

// Counts the heap allocations made (by any thread) while f runs; -1 if
// allocations cannot be counted in this build.
template <class F>
long allocations_during(F&& f) {
  if (!CONFORMANCE_COUNT_ALLOCATIONS) {  // run it anyway; nothing to count
    f();
    return -1;
  }
  allocations.store(0);
  counting.store(true);
  f();
  counting.store(false);
  return allocations.load();
}

void sender(chan<int> c, long n, goro::wait_group* wg) {
  for (long i = 0; i < n; ++i) c.send(1);
  wg->done();
}

void receiver(const chan<int>& c, const chan<int>& dummy, long n) {
  for (long i = 0; i < n; ++i) {
    goro::select(goro::recv_case(c), goro::recv_case(dummy, [](auto) { ADD_FAILURE() << "dummy"; }));
  }
}

// The counter itself: it sees plain and aligned allocations (channels are
// allocated with an aligned operator new).
TEST(SelectAllocCounter, Counts) {
  if (!CONFORMANCE_COUNT_ALLOCATIONS) GTEST_SKIP() << "operator new cannot be replaced under TSan";
  goro::run(
      [] {
        EXPECT_EQ(allocations_during([] {
                    int* volatile p = new int(1);  // volatile: the pair cannot be elided
                    delete p;
                  }),
                  1);
        EXPECT_EQ(allocations_during([] { auto c = goro::make_chan<int>(4); }), 1);
      },
      goro::config{.procs = 1});
  // Not a goroutine: not counted.
  EXPECT_EQ(allocations_during([] {
              int* volatile p = new int(1);
              delete p;
            }),
            0);
}

class SelectAlloc : public Procs {};
CONFORMANCE_PROCS(SelectAlloc, 1, 2, 4);

TEST_P(SelectAlloc, Select2NoGrowth) {
  const long n = conformance::scaled(100000, 10);
  go_run([n] {
    auto c = goro::make_chan<int>();
    auto dummy = goro::make_chan<int>();
    goro::wait_group wg;
    // Warm up.
    wg.add(1);
    goro::go(sender, c, n, &wg);
    receiver(c, dummy, n);
    wg.wait();
    // The second round must not allocate (the sender goroutine is started
    // before counting: spawning is not what is measured).
    wg.add(1);
    goro::go(sender, c, n, &wg);
    long a = allocations_during([&] { receiver(c, dummy, n); });
    wg.wait();
    if (a >= 0) {
      EXPECT_EQ(a, 0) << "heap allocations during " << n << " selects";
    }
  });
}

TEST_P(SelectAlloc, SteadyStateOperationsDoNotAllocate) {
  const long n = conformance::scaled(20000, 10);
  go_run([n] {
    auto unbuf = goro::make_chan<int>();
    auto buf = goro::make_chan<int>(8);
    auto never = goro::make_chan<int>();
    auto back = goro::make_chan<int>();
    goro::wait_group wg;
    auto round = [&] {
      // A partner that echoes values back, blocking on both channels.
      wg.add(1);
      goro::go(
          [n](chan<int> in, chan<int> out, goro::wait_group* wg) {
            for (long i = 0; i < n; ++i) out.send(*in.recv());
            wg->done();
          },
          unbuf, back, &wg);
      return allocations_during([&] {
        for (long i = 0; i < n; ++i) {
          // Blocking send and receive, select with and without a default,
          // buffered operations and the non-blocking forms.
          if (i % 2 == 0) {
            unbuf.send(static_cast<int>(i));
          } else {
            goro::select(goro::send_case(unbuf, static_cast<int>(i)), goro::recv_case(never));
          }
          int got = -1;
          goro::select(goro::recv_case(back, [&](std::optional<int> v) { got = *v; }),
                       goro::recv_case(never));
          if (got != static_cast<int>(i)) ADD_FAILURE() << "got " << got << " want " << i;
          buf.send(1);
          (void)buf.try_send(2);
          (void)buf.try_recv();
          (void)buf.recv();
          goro::select(goro::recv_case(never), goro::default_case());
          goro::yield();
        }
      });
    };
    round();  // warm up
    wg.wait();
    long a = round();
    wg.wait();
    if (a >= 0) {
      EXPECT_EQ(a, 0) << "heap allocations during " << n << " rounds of channel operations";
    }
  });
}

}  // namespace
