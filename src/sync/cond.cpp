// sync/cond.cpp — goro::cond (Go's sync/cond.go) on the semaphore room's
// notify list (src/sema/notify_list.cpp).
//
// Owns nothing beyond the ordering of a wait: the ticket is taken while the
// caller still holds the lock, before unlocking, so a signal() that follows
// the caller's unlock (in the lock's order) is sure to count this waiter,
// and one that came before is sure not to.
//
// Lock order: the user's lock is never held by this code while it parks.
#include "goro/sync.hpp"
#include "sema/sema.hpp"

namespace goro {

void cond::wait() {
  detail::notify_list* l = detail::as_notify_list(&list_);
  const std::uint32_t ticket = detail::notify_list_add(l);
  unlock_fn_(lock_);
  detail::notify_list_wait(l, ticket, "sync.Cond.Wait");
  lock_fn_(lock_);
}

void cond::signal() noexcept { detail::notify_list_notify_one(detail::as_notify_list(&list_)); }

void cond::broadcast() noexcept { detail::notify_list_notify_all(detail::as_notify_list(&list_)); }

}  // namespace goro
