// context/context.cpp — goro/context.hpp on the nodes of context.hpp (see
// there for the tree, cancellation, ownership and lock order).
#include "context/context.hpp"

#include <algorithm>
#include <mutex>
#include <new>
#include <stdexcept>

#include "goro/panic.hpp"
#include "goro/runtime.hpp"
#include "sched/sched.hpp"

namespace goro {

// The library's access to the private parts of the public types.
struct context_access {
  static detail::ctx_node* node(const context& c) noexcept { return c.n_; }
  static context adopt(detail::ctx_node* n) noexcept { return context(n); }
  template <class F>
  static F cancel_for(detail::ctx_node* n) noexcept {
    return F(n);
  }
  static stop_func make_stop(stop_func::record* r) noexcept { return stop_func(r); }
};

// An after_func registration (Go's afterFuncCtx): in its context's children
// list until the context is canceled (then f starts, once) or stop() takes
// it out. References: one per stop_func copy, one while it is in the list;
// it holds one on the context it registered with, so stop() can reach it.
struct stop_func::record final : detail::canceler {
  std::atomic<std::int32_t> refs{1};
  std::atomic<bool> claimed{false};  // by the cancellation (f runs) or by stop()
  std::function<void()> f;
  detail::ctx_node* ctx = nullptr;  // counted; the node registered_in belongs to

  void notify(errc, std::error_code) override {
    if (!claimed.exchange(true, std::memory_order_acq_rel)) start();
    release();  // the list's reference
  }
  void start() {
    // Go: "go a.f()". A runtime that has ended runs nothing any more.
    if (detail::current_runtime() != nullptr) go(std::move(f));
  }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (ctx != nullptr) detail::ctx_release(ctx);
    delete this;
  }
};

namespace detail {
namespace {

cancel_node* scope_of(const ctx_node* n) noexcept { return n != nullptr ? n->scope : nullptr; }

void require_parent(const ctx_node* parent) {
  if (parent == nullptr) throw panic_error("cannot create context from nil parent");
}

// The done channel of every context canceled before anyone asked for one
// (Go's closedchan).
const chan<std::monostate>& closed_chan() {
  static const chan<std::monostate>* c = [] {
    auto* ch = new chan<std::monostate>(make_chan<std::monostate>());
    ch->close();
    return ch;
  }();
  return *c;
}

// --- children lists (p->mu held) ---------------------------------------------

void link_child(cancel_node* p, canceler* c) {
  c->prev = nullptr;
  c->next = p->children;
  if (p->children != nullptr) p->children->prev = c;
  p->children = c;
  c->owner = p;
  c->registered_in = p;
}

void unlink_child(cancel_node* p, canceler* c) {
  (c->prev != nullptr ? c->prev->next : p->children) = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  c->owner = nullptr;
}

// Takes c out of the list it registered in; true if it was still there.
bool remove_child(canceler* c) {
  cancel_node* p = c->registered_in;
  if (p == nullptr) return false;
  std::lock_guard lock(p->mu);
  if (c->owner != p) return false;
  unlink_child(p, c);
  return true;
}

// --- cancellation ------------------------------------------------------------

// Cancels n itself (see context.hpp): false if it already was. Child nodes
// are pushed on `work`, each with the reference its list held.
bool cancel_one(cancel_node* n, errc err, const std::error_code& cause, canceler*& work) {
  std::optional<goro::timer> timer;
  {
    std::lock_guard lock(n->mu);
    if (n->err.load(std::memory_order_relaxed) != 0) return false;
    n->cause = cause;
    n->err.store(static_cast<std::uint8_t>(err), std::memory_order_release);
    if (n->done_ready.load(std::memory_order_relaxed)) {
      n->done.close();
    } else {
      n->done = closed_chan();
      n->done_ready.store(true, std::memory_order_release);
    }
    for (canceler* c = n->children; c != nullptr;) {
      canceler* next = c->next;
      c->owner = nullptr;
      c->prev = nullptr;
      if (c->as_node() != nullptr) {
        c->next = work;
        work = c;
      } else {
        c->next = nullptr;
        c->notify(err, cause);  // may free c
      }
      c = next;
    }
    n->children = nullptr;
    timer = std::move(n->timer);
    n->timer.reset();
  }
  if (timer && current_runtime() != nullptr) timer->stop();
  return true;
}

// Go's cancelCtx.cancel(removeFromParent, err, cause), for the whole subtree.
void cancel(cancel_node* n, bool remove_from_parent, errc err, std::error_code cause) {
  if (!cause) cause = make_error_code(err);
  canceler* work = nullptr;
  if (!cancel_one(n, err, cause, work)) return;
  if (remove_from_parent && remove_child(n)) ctx_release(n);  // the list's reference
  while (work != nullptr) {
    cancel_node* c = work->as_node();
    work = work->next;
    c->next = nullptr;
    cancel_one(c, err, cause, work);
    ctx_release(c);  // the list's reference
  }
}

// Registers the new node n below its parent's scope (Go's propagateCancel),
// or cancels it at once if that scope already is canceled.
void propagate(cancel_node* n) {
  cancel_node* p = scope_of(n->parent);
  if (p == nullptr) return;  // the parent can never be canceled
  errc err;
  std::error_code cause;
  {
    std::lock_guard lock(p->mu);
    err = static_cast<errc>(p->err.load(std::memory_order_relaxed));
    if (err == errc{}) {
      ctx_retain(n);  // the list's reference
      link_child(p, n);
      return;
    }
    cause = p->cause;
  }
  cancel(n, false, err, cause);
}

// A new cancel node below parent (one reference: the caller's).
cancel_node* new_cancel_node(ctx_node* parent) {
  require_parent(parent);
  auto* n = new cancel_node;
  ctx_retain(parent);
  n->parent = parent;
  n->scope = n;
  if (cancel_node* s = scope_of(parent)) n->deadline = s->deadline;
  return n;
}

// A reference to a node, for closures (the deadline timer's).
class node_ref {
 public:
  explicit node_ref(cancel_node* n) noexcept : n_(n) { ctx_retain(n_); }
  node_ref(const node_ref& o) noexcept : n_(o.n_) { ctx_retain(n_); }
  node_ref& operator=(const node_ref&) = delete;
  ~node_ref() { ctx_release(n_); }
  cancel_node* get() const noexcept { return n_; }

 private:
  cancel_node* n_;
};

template <class F>
std::pair<context, F> new_cancel_context(const context& parent) {
  cancel_node* n = new_cancel_node(context_access::node(parent));
  std::pair<context, F> out{context_access::adopt(n), context_access::cancel_for<F>(n)};
  propagate(n);
  return out;
}

ctx_node* make_root(ctx_kind kind) {
  auto* n = new ctx_node(kind);  // never freed
  n->immortal = true;
  return n;
}

// A value node is one allocation with its key and value (ctx_with_value).
void free_value_node(value_node* v) noexcept {
  if (v->ops != nullptr) v->ops->destroy(v->key, v->value);
  std::size_t align = v->align;
  v->~value_node();
  ::operator delete(static_cast<void*>(v), std::align_val_t{align});
}

void destroy_node(ctx_node* n) noexcept {
  switch (n->kind) {
    case ctx_kind::value:
      free_value_node(static_cast<value_node*>(n));
      return;
    case ctx_kind::cancel:
      delete static_cast<cancel_node*>(n);
      return;
    default:
      delete n;
      return;
  }
}

}  // namespace

// --- references -----------------------------------------------------------------

void ctx_retain(ctx_node* n) noexcept {
  if (!n->immortal) n->refs.fetch_add(1, std::memory_order_relaxed);
}

void ctx_release(ctx_node* n) noexcept {
  // Iterative: dropping the last handle of a deep chain frees the chain.
  while (n != nullptr && !n->immortal && n->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    ctx_node* parent = n->parent;
    destroy_node(n);
    n = parent;
  }
}

// --- values -----------------------------------------------------------------------

ctx_node* ctx_with_value(ctx_node* parent, const ctx_value_ops* ops, std::size_t key_size,
                         std::size_t key_align, std::size_t value_size, std::size_t value_align,
                         void (*construct)(void* key, void* value, void* arg), void* arg) {
  require_parent(parent);
  auto round_up = [](std::size_t n, std::size_t a) { return (n + a - 1) / a * a; };
  const std::size_t key_at = round_up(sizeof(value_node), key_align);
  const std::size_t value_at = round_up(key_at + key_size, value_align);
  const std::size_t align = std::max({alignof(value_node), key_align, value_align});
  void* mem = ::operator new(value_at + value_size, std::align_val_t{align});
  auto* n = ::new (mem) value_node;
  n->align = align;
  n->key = static_cast<char*>(mem) + key_at;
  n->value = static_cast<char*>(mem) + value_at;
  try {
    construct(n->key, n->value, arg);
  } catch (...) {
    free_value_node(n);  // ops is still null: key and value are not destroyed
    throw;
  }
  n->ops = ops;
  ctx_retain(parent);
  n->parent = parent;
  n->scope = parent->scope;
  return n;
}

const void* ctx_find_value(const ctx_node* n, const std::type_info& key_type, const void* key,
                           const std::type_info** value_type) {
  for (; n != nullptr; n = n->parent) {
    if (n->kind != ctx_kind::value) continue;
    const auto* v = static_cast<const value_node*>(n);
    if (*v->ops->key_type == key_type && v->ops->key_equal(v->key, key)) {
      *value_type = v->ops->value_type;
      return v->value;
    }
  }
  return nullptr;
}

// --- hooks ------------------------------------------------------------------------

bool ctx_hook_add(const context& ctx, ctx_hook* h) {
  cancel_node* p = scope_of(context_access::node(ctx));
  if (p == nullptr) return true;
  std::lock_guard lock(p->mu);
  if (p->err.load(std::memory_order_relaxed) != 0) return false;
  link_child(p, h);
  return true;
}

void ctx_hook_remove(ctx_hook* h) { remove_child(h); }

std::size_t ctx_child_count(const context& ctx) {
  ctx_node* n = context_access::node(ctx);
  if (n == nullptr || n->kind != ctx_kind::cancel) return 0;
  auto* c = static_cast<cancel_node*>(n);
  std::lock_guard lock(c->mu);
  std::size_t count = 0;
  for (canceler* x = c->children; x != nullptr; x = x->next) ++count;
  return count;
}

// --- cancel functions ---------------------------------------------------------------

cancel_handle::cancel_handle(ctx_node* n) noexcept : n_(n) {
  ctx_retain(n_);
  static_cast<cancel_node*>(n_)->cancel_refs.fetch_add(1, std::memory_order_relaxed);
}

cancel_handle::cancel_handle(const cancel_handle& o) noexcept : n_(o.n_) {
  if (n_ == nullptr) return;
  ctx_retain(n_);
  static_cast<cancel_node*>(n_)->cancel_refs.fetch_add(1, std::memory_order_relaxed);
}

cancel_handle::~cancel_handle() {
  if (n_ == nullptr) return;
  auto* n = static_cast<cancel_node*>(n_);
  // The last copy: nobody can cancel the context any more; do it now (see
  // goro::cancel_func).
  if (n->cancel_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    detail::cancel(n, true, errc::canceled, {});
  ctx_release(n_);
}

void cancel_handle::cancel(std::error_code cause) const {
  if (n_ != nullptr) detail::cancel(static_cast<cancel_node*>(n_), true, errc::canceled, cause);
}

}  // namespace detail

// --- the public API ------------------------------------------------------------------

context background() noexcept {
  static detail::ctx_node* root = detail::make_root(detail::ctx_kind::background);
  return context_access::adopt(root);
}

context todo() noexcept {
  static detail::ctx_node* root = detail::make_root(detail::ctx_kind::todo);
  return context_access::adopt(root);
}

recv_chan<std::monostate> context::done() const {
  detail::cancel_node* s = detail::scope_of(n_);
  if (s == nullptr) return {};
  if (!s->done_ready.load(std::memory_order_acquire)) {
    std::lock_guard lock(s->mu);
    if (!s->done_ready.load(std::memory_order_relaxed)) {
      s->done = make_chan<std::monostate>();
      s->done_ready.store(true, std::memory_order_release);
    }
  }
  return s->done;
}

std::error_code context::err() const noexcept {
  detail::cancel_node* s = detail::scope_of(n_);
  if (s == nullptr) return {};
  auto e = s->err.load(std::memory_order_acquire);
  return e != 0 ? make_error_code(static_cast<errc>(e)) : std::error_code{};
}

std::error_code context::cause() const {
  detail::cancel_node* s = detail::scope_of(n_);
  if (s == nullptr || s->err.load(std::memory_order_acquire) == 0) return {};
  return s->cause;  // written before err, never again
}

std::optional<clock::time_point> context::deadline() const noexcept {
  detail::cancel_node* s = detail::scope_of(n_);
  return s != nullptr ? s->deadline : std::nullopt;
}

std::pair<context, cancel_func> with_cancel(const context& parent) {
  return detail::new_cancel_context<cancel_func>(parent);
}

std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent) {
  return detail::new_cancel_context<cancel_cause_func>(parent);
}

std::pair<context, cancel_func> with_deadline_cause(const context& parent,
                                                    clock::time_point deadline,
                                                    std::error_code cause) {
  detail::require_parent(context_access::node(parent));
  // A parent that ends sooner makes the deadline moot (Go returns WithCancel).
  if (auto current = parent.deadline(); current && *current < deadline) return with_cancel(parent);
  const auto left = deadline - clock::now();
  if (left.count() > 0 && detail::current_runtime() == nullptr)
    throw std::logic_error("goro::with_deadline: timers need a running goro::run");
  detail::cancel_node* n = detail::new_cancel_node(context_access::node(parent));
  n->deadline = deadline;
  std::pair<context, cancel_func> out{context_access::adopt(n),
                                      context_access::cancel_for<cancel_func>(n)};
  detail::propagate(n);
  if (left.count() <= 0) {
    detail::cancel(n, true, errc::deadline_exceeded, cause);  // already passed
    return out;
  }
  std::lock_guard lock(n->mu);
  if (n->err.load(std::memory_order_relaxed) == 0) {
    n->timer.emplace(goro::after_func(left, [ref = detail::node_ref(n), cause] {
      detail::cancel(ref.get(), true, errc::deadline_exceeded, cause);
    }));
  }
  return out;
}

std::pair<context, cancel_func> with_deadline(const context& parent, clock::time_point deadline) {
  return with_deadline_cause(parent, deadline, {});
}

namespace {
// now + timeout, saturated at the end of time.
clock::time_point deadline_after(std::chrono::nanoseconds timeout) {
  const auto now = clock::now();
  const auto room = clock::time_point::max() - now;
  if (timeout >= room) return clock::time_point::max();
  return now + std::chrono::duration_cast<clock::duration>(timeout);
}
}  // namespace

std::pair<context, cancel_func> with_timeout(const context& parent,
                                             std::chrono::nanoseconds timeout) {
  return with_deadline_cause(parent, deadline_after(timeout), {});
}

std::pair<context, cancel_func> with_timeout_cause(const context& parent,
                                                   std::chrono::nanoseconds timeout,
                                                   std::error_code cause) {
  return with_deadline_cause(parent, deadline_after(timeout), cause);
}

context without_cancel(const context& parent) {
  detail::ctx_node* p = context_access::node(parent);
  detail::require_parent(p);
  auto* n = new detail::ctx_node(detail::ctx_kind::without_cancel);
  detail::ctx_retain(p);
  n->parent = p;  // values only: scope stays null
  return context_access::adopt(n);
}

stop_func after_func(const context& ctx, std::function<void()> f) {
  if (!f) detail::fatal("go of nil func value");
  if (detail::current_runtime() == nullptr)
    throw std::logic_error("goro::after_func: needs a running goro::run");
  auto* r = new stop_func::record;
  r->f = std::move(f);
  stop_func stop = context_access::make_stop(r);
  detail::cancel_node* p = detail::scope_of(context_access::node(ctx));
  if (p == nullptr) return stop;  // never canceled: f never runs
  {
    std::lock_guard lock(p->mu);
    if (p->err.load(std::memory_order_relaxed) == 0) {
      detail::ctx_retain(p);
      r->ctx = p;
      r->refs.fetch_add(1, std::memory_order_relaxed);  // the list's reference
      detail::link_child(p, r);
      return stop;
    }
  }
  // Already done: f runs at once, in its own goroutine.
  r->claimed.store(true, std::memory_order_relaxed);
  r->start();
  return stop;
}

stop_func::stop_func(const stop_func& o) noexcept : r_(o.r_) {
  if (r_ != nullptr) r_->refs.fetch_add(1, std::memory_order_relaxed);
}

stop_func::~stop_func() {
  if (r_ != nullptr) r_->release();
}

bool stop_func::operator()() const {
  if (r_ == nullptr || r_->claimed.exchange(true, std::memory_order_acq_rel)) return false;
  if (detail::remove_child(r_)) r_->release();  // the list's reference
  return true;
}

}  // namespace goro
