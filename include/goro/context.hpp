// goro/context.hpp — Go's context package: cancellation, deadlines and
// request-scoped values, passed down a call tree.
//
//   auto [ctx, cancel] = goro::with_timeout(goro::background(), 100ms);
//   goro::go([ctx] {
//     goro::select(goro::recv_case(work, handle),
//                  goro::recv_case(ctx.done(), [&](auto) { /* give up: ctx.err() */ }));
//   });
//   ...
//   cancel();   // or let it go out of scope (see cancel_func)
//
// A context is a cheap, copyable, immutable handle (a reference-counted
// pointer); derived contexts form a tree. Canceling a context closes its
// done() channel and cancels its whole subtree before cancel() returns, and
// takes it out of its parent's children; canceling a child never affects
// its parent. No goroutine is started per context: a deadline is one timer
// of the runtime (goro/time.hpp) whose function cancels the context.
//
// Errors: err() is empty until done() is closed, then goro::errc::canceled
// ("context canceled") or goro::errc::deadline_exceeded ("context deadline
// exceeded"), never changing again; a child inherits its parent's error (a
// deadline that fires on the parent is deadline_exceeded in the child too).
// cause() is the first cause given to a cancel_cause_func in the chain, else
// err(). Errors are std::error_code (goro/errc.hpp).
//
// A default-constructed context is Go's nil Context: it reads like
// background(), but deriving from it throws goro::panic_error("cannot create
// context from nil parent").
//
// Where Go differs: Go contexts are interfaces a user may implement; a
// goro::context is one concrete type, so propagation never needs a watching
// goroutine (Go's TestCustomContext* have no counterpart). And see
// cancel_func for how cancel functions own their context's registration.
// with_deadline/with_timeout and after_func need a running goro::run (they
// use its timers and goroutines); the rest works on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <system_error>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

#include "goro/chan.hpp"
#include "goro/errc.hpp"
#include "goro/export.hpp"
#include "goro/time.hpp"

namespace goro {

namespace detail {

struct ctx_node;
GORO_EXPORT void ctx_retain(ctx_node* n) noexcept;
GORO_EXPORT void ctx_release(ctx_node* n) noexcept;

// How the library handles the key and value of a with_value node without
// knowing their types (like chan's elem_ops).
struct ctx_value_ops {
  const std::type_info* key_type;
  const std::type_info* value_type;
  bool (*key_equal)(const void* stored, const void* probe);
  void (*destroy)(void* key, void* value) noexcept;
};

template <class K, class V>
inline constexpr ctx_value_ops ctx_value_ops_for{
    &typeid(K), &typeid(V),
    [](const void* a, const void* b) -> bool {
      return static_cast<bool>(*static_cast<const K*>(a) == *static_cast<const K*>(b));
    },
    [](void* k, void* v) noexcept {
      static_cast<K*>(k)->~K();
      static_cast<V*>(v)->~V();
    }};

// Allocates a value node below parent (one allocation, key and value inside)
// and calls construct(key_storage, value_storage, arg) to fill it.
GORO_EXPORT ctx_node* ctx_with_value(ctx_node* parent, const ctx_value_ops* ops,
                                     std::size_t key_size, std::size_t key_align,
                                     std::size_t value_size, std::size_t value_align,
                                     void (*construct)(void* key, void* value, void* arg),
                                     void* arg);
// The value of the nearest binding of a key of type key_type equal to *key,
// and its type; null if there is none.
GORO_EXPORT const void* ctx_find_value(const ctx_node* n, const std::type_info& key_type,
                                       const void* key, const std::type_info** value_type);

// What cancel_func and cancel_cause_func share: a counted reference to the
// context they cancel (see cancel_func).
class GORO_EXPORT cancel_handle {
 public:
  cancel_handle() noexcept = default;
  cancel_handle(const cancel_handle& o) noexcept;
  cancel_handle(cancel_handle&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  cancel_handle& operator=(cancel_handle o) noexcept {
    std::swap(n_, o.n_);
    return *this;
  }
  ~cancel_handle();
  explicit operator bool() const noexcept { return n_ != nullptr; }

 protected:
  explicit cancel_handle(ctx_node* n) noexcept;  // adopts nothing: counts itself
  void cancel(std::error_code cause) const;

 private:
  ctx_node* n_ = nullptr;
};

}  // namespace detail

class context;
class cancel_func;
class cancel_cause_func;
class stop_func;

GORO_EXPORT context background() noexcept;
GORO_EXPORT context todo() noexcept;
GORO_EXPORT std::pair<context, cancel_func> with_cancel(const context& parent);
GORO_EXPORT std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent);
GORO_EXPORT std::pair<context, cancel_func> with_deadline(const context& parent,
                                                          clock::time_point deadline);
GORO_EXPORT std::pair<context, cancel_func> with_deadline_cause(const context& parent,
                                                                clock::time_point deadline,
                                                                std::error_code cause);
GORO_EXPORT std::pair<context, cancel_func> with_timeout(const context& parent,
                                                         std::chrono::nanoseconds timeout);
GORO_EXPORT std::pair<context, cancel_func> with_timeout_cause(const context& parent,
                                                               std::chrono::nanoseconds timeout,
                                                               std::error_code cause);
GORO_EXPORT context without_cancel(const context& parent);
GORO_EXPORT stop_func after_func(const context& ctx, std::function<void()> f);

// Go's context.Context.
class GORO_EXPORT context {
 public:
  context() noexcept = default;  // Go's nil Context (see the top of this file)
  context(const context& o) noexcept : n_(o.n_) {
    if (n_) detail::ctx_retain(n_);
  }
  context(context&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  context& operator=(context o) noexcept {
    std::swap(n_, o.n_);
    return *this;
  }
  ~context() {
    if (n_) detail::ctx_release(n_);
  }
  explicit operator bool() const noexcept { return n_ != nullptr; }  // false: nil

  // Closed when the context is canceled; the nil channel (never ready) for a
  // context that can never be canceled, like background().
  recv_chan<std::monostate> done() const;
  // Empty until done() is closed; then errc::canceled or errc::deadline_exceeded.
  std::error_code err() const noexcept;
  // Go's context.Cause: the cause given to the first cancellation in the
  // chain (cancel_cause_func, with_deadline_cause), else err().
  std::error_code cause() const;
  // The time at which the context will be canceled by a deadline, if any.
  std::optional<clock::time_point> deadline() const noexcept;
  // Go's Value: the value bound to key by the nearest with_value above
  // (keys are equal if they have the same type, after decay, and compare
  // equal), or null if there is none or it is not a T. The pointer is valid
  // while this context, or any context derived from it, exists.
  template <class T, class K>
  const T* value(const K& key) const {
    using key_t = std::decay_t<K>;
    const key_t& k = key;
    const std::type_info* type = nullptr;
    const void* v = detail::ctx_find_value(n_, typeid(key_t), &k, &type);
    return v != nullptr && *type == typeid(T) ? static_cast<const T*>(v) : nullptr;
  }

 private:
  friend class detail::cancel_handle;
  friend struct context_access;
  explicit context(detail::ctx_node* n) noexcept : n_(n) {}  // adopts a reference
  detail::ctx_node* n_ = nullptr;

  template <class K, class V>
  friend context with_value(const context& parent, K key, V value);
};

// The cancel function of with_cancel, with_deadline and with_timeout (Go's
// CancelFunc): calling it cancels the context with errc::canceled (if
// nothing canceled it before) and releases what the context holds in its
// parent; later calls do nothing. Calls from several goroutines are safe.
//
// Copies share one cancel function. When the last copy is destroyed, the
// context is canceled as if it had been called: Go requires every cancel
// function to be called ("go vet" flags one that is not, as a leak) and
// programs typically `defer cancel()`; in C++ the destructor does it, so a
// context never stays registered in its parent after nobody can cancel it.
// Keep the cancel function for as long as the context should live.
class cancel_func : public detail::cancel_handle {
 public:
  cancel_func() noexcept = default;  // does nothing when called
  void operator()() const { cancel({}); }

 private:
  using detail::cancel_handle::cancel_handle;
  friend struct context_access;
};

// The cancel function of with_cancel_cause (Go's CancelCauseFunc): like
// cancel_func, and the first cancellation records `cause` (empty: just
// errc::canceled), which cause() reports for this context and its subtree;
// err() is errc::canceled either way.
class cancel_cause_func : public detail::cancel_handle {
 public:
  cancel_cause_func() noexcept = default;
  void operator()(std::error_code cause = {}) const { cancel(cause); }

 private:
  using detail::cancel_handle::cancel_handle;
  friend struct context_access;
};

// What after_func returns (Go's stop func() bool): stops the call of f if it
// has not started; true if this call stopped it, false if f was already
// started or stopped before. Copies share one registration; destroying
// every copy does not stop f.
class GORO_EXPORT stop_func {
 public:
  stop_func() noexcept = default;
  stop_func(const stop_func& o) noexcept;
  stop_func(stop_func&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  stop_func& operator=(stop_func o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  ~stop_func();
  bool operator()() const;

 private:
  friend struct context_access;
  friend GORO_EXPORT stop_func after_func(const context& ctx, std::function<void()> f);
  struct record;
  explicit stop_func(record* r) noexcept : r_(r) {}  // adopts a reference
  record* r_ = nullptr;
};

// Go's context.WithValue: a context whose value(key) is `value`, and which
// is otherwise its parent. Keys must be comparable with == (checked when
// compiling, as is Go's "nil key": nullptr is not a key). Use a dedicated
// key type, as Go recommends, so that keys of different packages never
// collide:  struct request_id_key {};  with_value(ctx, request_id_key{}, id)
template <class K, class V>
context with_value(const context& parent, K key, V value) {
  static_assert(!std::is_same_v<K, std::nullptr_t>, "nil key");
  static_assert(std::equality_comparable<K>, "key is not comparable");
  struct args {
    K& key;
    V& value;
  } a{key, value};
  detail::ctx_node* n = detail::ctx_with_value(
      parent.n_, &detail::ctx_value_ops_for<K, V>, sizeof(K), alignof(K), sizeof(V), alignof(V),
      [](void* k, void* v, void* p) {
        auto* a = static_cast<args*>(p);
        ::new (k) K(std::move(a->key));
        try {
          ::new (v) V(std::move(a->value));
        } catch (...) {
          static_cast<K*>(k)->~K();
          throw;
        }
      },
      &a);
  return context(n);
}

}  // namespace goro
