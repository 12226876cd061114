// netpoll/netpoll_epoll.cpp — the epoll backend (Go's netpoll_epoll.go).
//
// One epoll instance per process, created on first use and kept for the
// life of the process (descriptors and events may outlive a runtime). Every
// fd is registered once, edge-triggered, for EPOLLIN | EPOLLOUT | EPOLLRDHUP.
// An eventfd, level-triggered, interrupts a blocked epoll_wait; netpoll_break
// writes it at most once until the poller has drained it (break_pending).
// Timeouts use epoll_pwait2 (nanoseconds, Linux 5.11) when the kernel has
// it, else epoll_wait rounded up to whole milliseconds.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <mutex>
#include <system_error>

#include "debug/sanitizer.hpp"  // GORO_TSAN
#include "debug/trace.hpp"
#include "netpoll/backend.hpp"
#include "netpoll/netpoll.hpp"

namespace goro::detail {
namespace {

int epfd = -1;
int break_fd = -1;
std::atomic<bool> break_pending{false};
std::atomic<bool> have_pwait2{true};
std::atomic<std::int64_t> last_poll{0};

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

int wait_for_events(epoll_event* events, int max, std::int64_t delay_ns) {
  if (delay_ns > 0 && have_pwait2.load(std::memory_order_relaxed)) {
    timespec ts{static_cast<time_t>(delay_ns / 1'000'000'000),
                static_cast<long>(delay_ns % 1'000'000'000)};
    long n = ::syscall(SYS_epoll_pwait2, epfd, events, max, &ts, nullptr, 0);
    if (n >= 0 || errno != ENOSYS) return static_cast<int>(n);
    have_pwait2.store(false, std::memory_order_relaxed);
  }
  int ms;
  if (delay_ns < 0) ms = -1;
  else if (delay_ns == 0) ms = 0;
  else if (delay_ns > std::int64_t{1'000'000} * 1'000'000'000) ms = 1'000'000'000;
  else ms = static_cast<int>((delay_ns + 999'999) / 1'000'000);
  return ::epoll_wait(epfd, events, max, ms);
}

}  // namespace

void backend_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    epfd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    break_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (break_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the break fd
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, break_fd, &ev) != 0)
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  });
}

int backend_open(int fd, poll_desc* pd) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = pd;
#if GORO_TSAN
  // The kernel orders this registration before any event that carries pd:
  // tell TSan (backend_poll acquires).
  __tsan_release(pd);
#endif
  return ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void backend_close(int fd) noexcept {
  epoll_event ev{};
  ::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

void backend_break() noexcept {
  if (epfd < 0 || break_pending.exchange(true, std::memory_order_acq_rel)) return;
  std::uint64_t one = 1;
  while (::write(break_fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

bool backend_poll(std::int64_t delay_ns, g_list& readied) {
  if (epfd < 0) return true;
  epoll_event events[128];
  int n = wait_for_events(events, 128, delay_ns);
  last_poll.store(nanotime(), std::memory_order_relaxed);
  if (n < 0) return false;  // EINTR
  if (n > 0) tr::netpoll(n, delay_ns);
  bool interrupted = false;
  for (int i = 0; i < n; ++i) {
    auto* pd = static_cast<poll_desc*>(events[i].data.ptr);
    std::uint32_t ev = events[i].events;
    if (pd == nullptr) {
      // Only a blocking poll consumes a break (Go does the same): a
      // non-blocking one would swallow the wake-up meant for the poller
      // blocked in epoll_wait, which then sleeps on.
      if (delay_ns != 0) {
        std::uint64_t drained;
        while (::read(break_fd, &drained, sizeof drained) < 0 && errno == EINTR) {
        }
        break_pending.store(false, std::memory_order_release);
        interrupted = true;
      }
      continue;
    }
    bool readable = ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    bool writable = ev & (EPOLLOUT | EPOLLHUP | EPOLLERR);
#if GORO_TSAN
    __tsan_acquire(pd);
#endif
    pd->notify(readable, writable, readied);
  }
  return !interrupted;
}

std::int64_t netpoll_last_poll() noexcept { return last_poll.load(std::memory_order_relaxed); }
bool netpoll(std::int64_t delay_ns, g_list& readied) { return backend_poll(delay_ns, readied); }
void netpoll_break() { backend_break(); }

}  // namespace goro::detail
