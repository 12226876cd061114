// sema/sema.hpp — the semaphore every blocking sync primitive is built on
// (Go's runtime/sema.go).
//
// Owns: address-keyed wait queues. sem_acquire(addr) waits until *addr > 0
// and decrements it; sem_release(addr) increments it and wakes one waiter of
// that address. Goroutines park (the scheduler's park/ready); plain threads
// that are not goroutines block on a futex of their own. Waiters of one
// address are woken in FIFO order.
//
// Design: 251 buckets (Go's semTabSize), each a spin-locked list of waiter
// records that live on the waiters' own stacks, so waiting never allocates.
// Each bucket counts its waiters (nwait) so that a release with nobody waiting
// costs one atomic add and one load.
//
// Invariants: a waiter is in its bucket's list exactly while its owner waits;
// the lock is released by the park commit, after the goroutine is off its
// stack, so a release cannot ready a goroutine that is still running.
//
// Lock order: a bucket lock is a leaf. Waiters are readied only after the
// bucket is unlocked, so no scheduler lock is ever taken under it.
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

void sem_acquire(std::atomic<std::uint32_t>* addr, const char* wait_reason);
// handoff: the woken waiter is given the count directly (Go's handoff),
// so a releaser that immediately re-acquires cannot barge ahead of it.
void sem_release(std::atomic<std::uint32_t>* addr, bool handoff = false);

}  // namespace goro::detail
