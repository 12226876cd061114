// os/madvise_linux.cpp — see madvise.hpp.
#include "os/madvise.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace goro::detail::os {
namespace {

// PIDFD_SELF_THREAD: the calling thread, whose memory is the process's. Its
// value has been the same since pidfd self-references appeared (Linux 6.15);
// earlier kernels answer EBADF and we fall back.
constexpr int pidfd_self = -10000;
constexpr std::size_t max_ranges_per_call = 1024;  // UIO_MAXIOV
// The kernel stops a call at about 2 GiB (MAX_RW_COUNT): stay well below.
constexpr std::size_t max_bytes_per_call = std::size_t{1} << 30;

// Cleared the first time the kernel says it cannot do a batch for us (too
// old, or seccomp); other errors fall back for that batch only.
std::atomic<bool> batch_usable{true};

bool advise_batch(const iovec* ranges, std::size_t count, std::size_t bytes, int advice) noexcept {
#ifdef SYS_process_madvise
  long done = syscall(SYS_process_madvise, pidfd_self, ranges, count, advice, 0U);
  if (done == static_cast<long>(bytes)) return true;
  if (done < 0 && (errno == ENOSYS || errno == EBADF || errno == EINVAL || errno == EPERM))
    batch_usable.store(false, std::memory_order_relaxed);
  return false;
#else
  (void)ranges, (void)count, (void)bytes, (void)advice;
  batch_usable.store(false, std::memory_order_relaxed);
  return false;
#endif
}

}  // namespace

std::size_t madvise_ranges(const iovec* ranges, std::size_t count, int advice) noexcept {
  std::size_t failed = 0;
  std::size_t at = 0;
  while (at < count) {
    // The next batch: as many ranges as one call takes.
    std::size_t n = 0, bytes = 0;
    while (at + n < count && n < max_ranges_per_call &&
           (n == 0 || bytes + ranges[at + n].iov_len <= max_bytes_per_call))
      bytes += ranges[at + n++].iov_len;
    if (n == 1 || !batch_usable.load(std::memory_order_relaxed) ||
        !advise_batch(ranges + at, n, bytes, advice)) {
      for (std::size_t i = at; i < at + n; ++i)
        if (madvise(ranges[i].iov_base, ranges[i].iov_len, advice) != 0) ++failed;
    }
    at += n;
  }
  return failed;
}

}  // namespace goro::detail::os
