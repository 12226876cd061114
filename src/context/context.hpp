// context/context.hpp — the nodes of the context tree (Go's
// context/context.go) and the hook other rooms use to hear of a
// cancellation (the weighted semaphore's acquire).
//
// Owns: every context node, its children list, its done channel, its error
// and cause, its deadline timer.
//
// Nodes: background/todo (immortal roots, never canceled), value (a key and
// a value), without_cancel (a root for cancellation, its parent's values),
// cancel (with_cancel, with_cancel_cause, with_deadline). Every node holds a
// reference to its parent; `scope` is the nearest cancel node at or above it
// (null: it can never be canceled), fixed at creation, so done/err/cause/
// deadline never walk the tree; value() walks up.
//
// Cancellation (Go's cancelCtx.cancel): a cancel node registers a canceler
// in its scope's children list at creation (or is canceled at once if the
// scope already is). Cancelers are child cancel nodes, after_func records
// and hooks. cancel() sets err and cause under the node's lock, closes done,
// notifies the leaf cancelers (after_func records, hooks) under that lock,
// detaches its child nodes and, after unlocking, cancels them in turn, from
// a work list instead of by recursion (a chain of a thousand contexts must
// not need a thousand stack frames on a goroutine's fixed-size stack). All
// of the subtree is canceled before cancel() returns.
//
// Ownership: a registered child is referenced by its parent's list, and
// holds a reference to its parent, like Go's map of children; the cycle ends
// when either is canceled. Every cancel node can be canceled by a cancel
// function whose last copy cancels it when destroyed (goro/context.hpp), so
// no registration outlives the last way to cancel it.
//
// Invariants: err is set once, under mu, after cause; done is created once
// (lazily, or as the shared closed channel at cancellation) and published
// with done_ready; a canceler's owner is the node whose list holds it (null
// once notified, detached or removed), read and written under that node's mu.
//
// Lock order: a node's mu before its children's (cancel never holds a
// child's lock while taking its parent's: removal from the parent happens
// after the child's own lock is released) -> the weighted semaphore's mutex
// (hooks) -> timer state and heap locks -> channel locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <system_error>

#include "goro/context.hpp"
#include "goro/sync.hpp"
#include "goro/time.hpp"

namespace goro::detail {

struct cancel_node;

// An entry in a cancel node's children list (Go's canceler).
struct canceler {
  canceler* prev = nullptr;
  canceler* next = nullptr;           // also links the work list of cancel()
  cancel_node* owner = nullptr;       // the list it is in; guarded by owner->mu
  cancel_node* registered_in = nullptr;  // where it registered; never changes after

  // A leaf canceler (not a node) is told of the cancellation under its
  // owner's lock, after it has been taken off the list.
  virtual void notify(errc err, std::error_code cause) = 0;
  virtual cancel_node* as_node() noexcept { return nullptr; }

 protected:
  ~canceler() = default;
};

enum class ctx_kind : std::uint8_t { background, todo, value, without_cancel, cancel };

// The common part of every node; destroyed by ctx_release according to kind
// (no virtual destructor: a value node is one allocation with its key and
// value, freed with its own size and alignment).
struct ctx_node {
  explicit ctx_node(ctx_kind k) noexcept : kind(k) {}
  ctx_node(const ctx_node&) = delete;
  ctx_node& operator=(const ctx_node&) = delete;

  std::atomic<std::int32_t> refs{1};
  const ctx_kind kind;
  bool immortal = false;            // background/todo: never counted, never freed
  ctx_node* parent = nullptr;       // a counted reference; null for roots
  cancel_node* scope = nullptr;     // the nearest cancel node at or above; not counted
};

struct value_node final : ctx_node {
  value_node() noexcept : ctx_node(ctx_kind::value) {}
  const ctx_value_ops* ops = nullptr;  // null until key and value are constructed
  void* key = nullptr;                 // inside this allocation
  void* value = nullptr;               // inside this allocation
  std::size_t align = 0;               // of this allocation
};

struct cancel_node final : ctx_node, canceler {
  cancel_node() noexcept : ctx_node(ctx_kind::cancel) {}
  void notify(errc, std::error_code) override {}  // nodes go through the work list
  cancel_node* as_node() noexcept override { return this; }

  goro::mutex mu;
  std::atomic<std::uint8_t> err{0};       // errc, 0 while not canceled; set once under mu
  std::error_code cause;                  // written under mu before err
  std::atomic<bool> done_ready{false};    // done is set and will not change
  chan<std::monostate> done;              // guarded by mu until done_ready
  canceler* children = nullptr;           // guarded by mu
  std::optional<clock::time_point> deadline;  // fixed at creation
  std::optional<goro::timer> timer;       // guarded by mu: with_deadline's timer
  std::atomic<std::int32_t> cancel_refs{0};  // copies of its cancel function
};

// A canceler that runs fn(this) when its context is canceled (under the
// canceling node's lock: fn must not block on anything that could take a
// context lock). It lives wherever its owner puts it (a goroutine's stack).
struct ctx_hook final : canceler {
  void (*fn)(ctx_hook* self) = nullptr;
  void* arg = nullptr;
  void notify(errc, std::error_code) override { fn(this); }
};

// Registers h with the cancel scope of ctx. Returns false, without
// registering, if ctx is already canceled; a ctx that can never be canceled
// registers nothing and returns true.
bool ctx_hook_add(const context& ctx, ctx_hook* h);
// Takes h off its list; after it returns, h's fn is not running and never
// will. No-op if h was notified or never registered.
void ctx_hook_remove(ctx_hook* h);

// How many cancelers are registered in ctx's own children list (0 unless
// ctx is a cancel node): for tests of the bookkeeping (Go's tests read
// cancelCtx.children).
std::size_t ctx_child_count(const context& ctx);

}  // namespace goro::detail
