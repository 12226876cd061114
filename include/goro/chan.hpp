// goro/chan.hpp — Go's channels.
//
//   auto ch = goro::make_chan<int>(16);   // buffered; make_chan<int>() is unbuffered
//   goro::go([ch] { for (int i = 0; i < 3; ++i) ch.send(i); ch.close(); });
//   for (int v : ch) use(v);              // receives until closed and drained
//
// chan<T> is a cheap, copyable handle (reference counted); a default-constructed
// chan<T> is the nil channel, on which send and recv block forever. Go's
// panics throw goro::panic_error with Go's messages: "send on closed channel"
// (also thrown in senders blocked when the channel is closed), "close of
// closed channel", "close of nil channel".
//
// send_chan<T> and recv_chan<T> are the direction-restricted views (Go's
// chan<- T and <-chan T); a chan<T> converts to either, and the operations
// a view does not have do not compile.
//
// Any move-constructible T works, move-only types included. Operations from
// a plain thread (not a goroutine) block that thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "goro/export.hpp"

namespace goro {

// What a non-blocking receive found.
enum class recv_status : std::uint8_t {
  ok,      // a value was received
  empty,   // nothing to receive now (the channel is open)
  closed,  // the channel is closed and drained
};

namespace detail {

struct chan_core;

// How the type-erased core moves and destroys elements of one type.
struct elem_ops {
  std::size_t size;
  std::size_t align;
  void (*move_construct)(void* dst, void* src) noexcept;
  void (*destroy)(void* p) noexcept;
};

template <class T>
inline constexpr elem_ops elem_ops_for{
    sizeof(T), alignof(T),
    [](void* dst, void* src) noexcept { ::new (dst) T(std::move(*static_cast<T*>(src))); },
    [](void* p) noexcept { static_cast<T*>(p)->~T(); }};

GORO_EXPORT chan_core* chan_make(const elem_ops* ops, std::size_t cap);
GORO_EXPORT void chan_retain(chan_core* c) noexcept;
GORO_EXPORT void chan_release(chan_core* c) noexcept;
// Moves *src into the channel; blocks while it cannot. src is moved from only
// on success (try: returns false without touching it).
GORO_EXPORT void chan_send(chan_core* c, void* src);
GORO_EXPORT bool chan_try_send(chan_core* c, void* src);
// Move-constructs the received value at dst (raw storage) and returns true,
// or returns false (dst untouched) if the channel is closed and drained.
GORO_EXPORT bool chan_recv(chan_core* c, void* dst);
GORO_EXPORT recv_status chan_try_recv(chan_core* c, void* dst);
GORO_EXPORT void chan_close(chan_core* c);
GORO_EXPORT std::size_t chan_len(const chan_core* c) noexcept;
GORO_EXPORT std::size_t chan_cap(const chan_core* c) noexcept;

// Raw, suitably aligned storage for one T, destroyed only if engaged.
template <class T>
struct slot {
  alignas(T) unsigned char bytes[sizeof(T)];
  void* get() { return bytes; }
  T&& take() { return std::move(*std::launder(reinterpret_cast<T*>(bytes))); }
  void destroy() { std::launder(reinterpret_cast<T*>(bytes))->~T(); }
};

template <class T>
std::optional<T> recv_into_optional(chan_core* c) {
  slot<T> s;
  if (!chan_recv(c, s.get())) return std::nullopt;
  std::optional<T> out(s.take());
  s.destroy();
  return out;
}

// The shared handle: reference counting and the operations both directions have.
class chan_handle {
 public:
  chan_handle() noexcept = default;
  explicit chan_handle(chan_core* c) noexcept : c_(c) {}  // adopts a reference
  chan_handle(const chan_handle& o) noexcept : c_(o.c_) {
    if (c_) chan_retain(c_);
  }
  chan_handle(chan_handle&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  chan_handle& operator=(chan_handle o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~chan_handle() {
    if (c_) chan_release(c_);
  }

  std::size_t len() const noexcept { return c_ ? chan_len(c_) : 0; }
  std::size_t cap() const noexcept { return c_ ? chan_cap(c_) : 0; }
  explicit operator bool() const noexcept { return c_ != nullptr; }  // false: nil channel
  chan_core* core() const noexcept { return c_; }
  friend bool operator==(const chan_handle& a, const chan_handle& b) noexcept {
    return a.c_ == b.c_;
  }

 protected:
  chan_core* c_ = nullptr;
};

}  // namespace detail

template <class T>
class chan;

// The result of try_recv: the status and, when ok, the value.
template <class T>
struct try_recv_result {
  recv_status status;
  std::optional<T> value;
  explicit operator bool() const noexcept { return status == recv_status::ok; }
};

namespace detail {
template <class T>
try_recv_result<T> try_recv_from(chan_core* c) {
  slot<T> s;
  recv_status st = chan_try_recv(c, s.get());
  if (st != recv_status::ok) return {st, std::nullopt};
  try_recv_result<T> out{st, std::optional<T>(s.take())};
  s.destroy();
  return out;
}
}  // namespace detail

// Go's chan<- T: send and close only.
template <class T>
class send_chan : public detail::chan_handle {
 public:
  using value_type = T;
  send_chan() noexcept = default;

  void send(T v) const { detail::chan_send(c_, &v); }
  // Go's select with a default: sends only if that cannot block. v is moved
  // from only when it returns true.
  bool try_send(T& v) const { return detail::chan_try_send(c_, &v); }
  bool try_send(T&& v) const { return detail::chan_try_send(c_, &v); }
  void close() const { detail::chan_close(c_); }

 private:
  friend class chan<T>;
  explicit send_chan(const detail::chan_handle& h) : detail::chan_handle(h) {}
};

// Go's <-chan T: receive only.
template <class T>
class recv_chan : public detail::chan_handle {
 public:
  using value_type = T;
  recv_chan() noexcept = default;

  // The next value, or nullopt once the channel is closed and drained.
  std::optional<T> recv() const { return detail::recv_into_optional<T>(c_); }
  try_recv_result<T> try_recv() const { return detail::try_recv_from<T>(c_); }

  // for (T v : ch) receives until the channel is closed and drained.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(detail::chan_core* c) : c_(c) { ++*this; }
    T& operator*() { return *v_; }
    iterator& operator++() {
      v_ = detail::recv_into_optional<T>(c_);
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return !it.v_; }

   private:
    detail::chan_core* c_ = nullptr;
    std::optional<T> v_;
  };
  iterator begin() const { return iterator(c_); }
  std::default_sentinel_t end() const { return {}; }

 private:
  friend class chan<T>;
  explicit recv_chan(const detail::chan_handle& h) : detail::chan_handle(h) {}
};

// Go's chan T: both directions.
template <class T>
class chan : public detail::chan_handle {
  static_assert(std::is_move_constructible_v<T>, "channel elements must be move-constructible");

 public:
  using value_type = T;
  chan() noexcept = default;  // the nil channel

  void send(T v) const { detail::chan_send(c_, &v); }
  bool try_send(T& v) const { return detail::chan_try_send(c_, &v); }
  bool try_send(T&& v) const { return detail::chan_try_send(c_, &v); }
  std::optional<T> recv() const { return detail::recv_into_optional<T>(c_); }
  try_recv_result<T> try_recv() const { return detail::try_recv_from<T>(c_); }
  void close() const { detail::chan_close(c_); }

  typename recv_chan<T>::iterator begin() const { return typename recv_chan<T>::iterator(c_); }
  std::default_sentinel_t end() const { return {}; }

  operator send_chan<T>() const { return as_send(); }  // NOLINT: implicit like Go
  operator recv_chan<T>() const { return as_recv(); }  // NOLINT: implicit like Go
  recv_chan<T> as_recv() const { return recv_chan<T>(handle()); }
  send_chan<T> as_send() const { return send_chan<T>(handle()); }

  template <class U>
  friend chan<U> make_chan(std::size_t cap);

 private:
  const detail::chan_handle& handle() const { return *this; }
  explicit chan(detail::chan_core* c) noexcept : detail::chan_handle(c) {}
};

// Go's make(chan T, cap): cap 0 is unbuffered.
template <class T>
chan<T> make_chan(std::size_t cap = 0) {
  return chan<T>(detail::chan_make(&detail::elem_ops_for<T>, cap));
}

}  // namespace goro
