// goro/select.hpp — Go's select statement.
//
//   int i = goro::select(
//       goro::recv_case(results, [&](std::optional<int> v) { ... }),  // v: nullopt if closed
//       goro::send_case(out, 42, [&] { ... }),
//       goro::recv_case(goro::after(1s), [&](auto) { ... }),
//       goro::default_case([&] { ... }));                             // optional
//
// Like Go: if several cases are ready one is chosen uniformly at random; the
// default case runs only when none is ready; without one, select blocks until
// a case can proceed. Channels and send values are evaluated once, when the
// cases are built (C++ leaves the order of function arguments unspecified:
// build cases in separate statements if that order matters); only the chosen
// case's handler
// runs (after the communication) and select returns that case's argument
// index. Nil channels never proceed; the same channel may appear in several
// cases; a select never communicates with itself. A send case on a closed
// channel throws goro::panic_error("send on closed channel"). select() with
// no cases blocks forever.
//
// Handlers are optional; a receive handler may take std::optional<T> or
// nothing. Cases hold raw references to channels given as lvalues, so build
// them inside the select call (a channel given as a temporary is kept alive
// by its case).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/chan.hpp"
#include "goro/export.hpp"

namespace goro {
namespace detail {

enum class case_kind : std::uint8_t { recv, send };

// One channel case as the runtime sees it. The runtime keeps its waiter
// record for the case inside waiter_storage, so select never allocates.
struct select_case_desc {
  chan_core* c;
  void* elem;           // send: the value to move from; recv: storage to construct in
  case_kind kind;
  bool received;        // out: a recv case got a value (false: closed)
  alignas(8) unsigned char waiter_storage[80];
};

// Runs the select over cases[0..n): returns the index of the case that
// proceeded, or -1 (only when may_default) if none could at once.
// scratch holds 2n entries.
GORO_EXPORT int select_run(select_case_desc* cases, std::uint16_t* scratch, int n,
                           bool may_default);

struct no_handler {};

template <class F, class T>
void call_recv_handler(F& fn, std::optional<T>&& v) {
  if constexpr (std::is_same_v<F, no_handler>) {
  } else if constexpr (std::is_invocable_v<F&, std::optional<T>&&>) {
    fn(std::move(v));
  } else {
    fn();
  }
}

template <class Ch>
using chan_value_t = typename std::remove_cvref_t<Ch>::value_type;

// Keeps a channel given as a temporary alive for the case's lifetime.
template <class Ch, bool Owned>
struct chan_ref {
  explicit chan_ref(const chan_handle& h) : core(h.core()) {}
  chan_core* core;
};
template <class Ch>
struct chan_ref<Ch, true> {
  explicit chan_ref(chan_handle h) : handle(std::move(h)), core(handle.core()) {}
  chan_handle handle;
  chan_core* core;
};

}  // namespace detail

template <class T, class F, bool Owned>
class recv_case_t {
 public:
  recv_case_t(const detail::chan_handle& ch, F fn) : ref_(ch), fn_(std::move(fn)) {}
  void describe(detail::select_case_desc& d) {
    d.c = ref_.core;
    d.elem = slot_.get();
    d.kind = detail::case_kind::recv;
  }
  void fire(const detail::select_case_desc& d) {
    std::optional<T> v;
    if (d.received) {
      v.emplace(slot_.take());
      slot_.destroy();
    }
    detail::call_recv_handler(fn_, std::move(v));
  }

 private:
  detail::chan_ref<T, Owned> ref_;
  detail::slot<T> slot_;
  F fn_;
};

template <class T, class F, bool Owned>
class send_case_t {
 public:
  template <class V>
  send_case_t(const detail::chan_handle& ch, V&& v, F fn)
      : ref_(ch), value_(std::forward<V>(v)), fn_(std::move(fn)) {}
  void describe(detail::select_case_desc& d) {
    d.c = ref_.core;
    d.elem = &value_;
    d.kind = detail::case_kind::send;
  }
  void fire(const detail::select_case_desc&) {
    if constexpr (!std::is_same_v<F, detail::no_handler>) fn_();
  }

 private:
  detail::chan_ref<T, Owned> ref_;
  T value_;
  F fn_;
};

template <class F>
class default_case_t {
 public:
  explicit default_case_t(F fn) : fn_(std::move(fn)) {}
  void fire() {
    if constexpr (!std::is_same_v<F, detail::no_handler>) fn_();
  }

 private:
  F fn_;
};

namespace detail {

template <class Ch>
concept receivable = requires { typename std::remove_cvref_t<Ch>::value_type; } &&
                     (std::same_as<std::remove_cvref_t<Ch>, chan<chan_value_t<Ch>>> ||
                      std::same_as<std::remove_cvref_t<Ch>, recv_chan<chan_value_t<Ch>>>);
template <class Ch>
concept sendable = requires { typename std::remove_cvref_t<Ch>::value_type; } &&
                   (std::same_as<std::remove_cvref_t<Ch>, chan<chan_value_t<Ch>>> ||
                    std::same_as<std::remove_cvref_t<Ch>, send_chan<chan_value_t<Ch>>>);

}  // namespace detail

// A receive case on a chan<T> or recv_chan<T> (not on a send_chan<T>).
template <class Ch, class F = detail::no_handler>
  requires detail::receivable<Ch>
auto recv_case(Ch&& ch, F fn = {}) {
  return recv_case_t<detail::chan_value_t<Ch>, F, !std::is_lvalue_reference_v<Ch>>(ch, std::move(fn));
}

// A send case on a chan<T> or send_chan<T>; v is evaluated (copied or moved
// into the case) now, and moved into the channel only if this case is chosen.
template <class Ch, class V, class F = detail::no_handler>
  requires detail::sendable<Ch>
auto send_case(Ch&& ch, V&& v, F fn = {}) {
  return send_case_t<detail::chan_value_t<Ch>, F, !std::is_lvalue_reference_v<Ch>>(
      ch, std::forward<V>(v), std::move(fn));
}

template <class F = detail::no_handler>
auto default_case(F fn = {}) {
  return default_case_t<F>(std::move(fn));
}

namespace detail {

template <class C>
inline constexpr bool is_default_case_v = false;
template <class F>
inline constexpr bool is_default_case_v<default_case_t<F>> = true;

}  // namespace detail

namespace detail {
template <class... Cases>
int select_cases(Cases&... cases);
}  // namespace detail

// Go's select: see the top of this file.
template <class... Cases>
int select(Cases&&... cases) {
  if constexpr (sizeof...(Cases) == 0) {
    detail::select_run(nullptr, nullptr, 0, false);  // Go's select {}: blocks forever
    return -1;
  } else {
    return detail::select_cases(cases...);
  }
}

namespace detail {

template <class... Cases>
int select_cases(Cases&... cases) {
  constexpr int n_default = (0 + ... + (is_default_case_v<std::remove_cvref_t<Cases>> ? 1 : 0));
  static_assert(n_default <= 1, "a select has at most one default case");
  constexpr int n = static_cast<int>(sizeof...(Cases)) - n_default;
  std::array<select_case_desc, n == 0 ? 1 : n> descs;
  std::array<std::uint16_t, n == 0 ? 2 : 2 * n> scratch;
  // Channel cases get consecutive descriptor slots in argument order.
  int next = 0;
  auto describe = [&](auto& c) {
    if constexpr (!is_default_case_v<std::remove_cvref_t<decltype(c)>>) c.describe(descs[next++]);
  };
  (describe(cases), ...);
  int chosen = select_run(descs.data(), scratch.data(), n, n_default != 0);
  // Map the chosen descriptor (or -1: default) back to its argument.
  int arg = 0, desc = 0, result = -1;
  auto fire = [&](auto& c) {
    if constexpr (is_default_case_v<std::remove_cvref_t<decltype(c)>>) {
      if (chosen < 0) {
        c.fire();
        result = arg;
      }
    } else {
      if (desc == chosen) {
        c.fire(descs[desc]);
        result = arg;
      }
      ++desc;
    }
    ++arg;
  };
  (fire(cases), ...);
  return result;
}

}  // namespace detail

// The dynamic form, for a number of channels known only at run time (fan-in):
//
//   goro::recv_select<int> sel(inputs);          // a std::span of recv_chan<int>
//   while (auto [i, v] = sel.recv(); v) use(i, *v);
//
// recv() waits until one of the channels can be received from (chosen at
// random among those ready, like select) and returns its index and the value,
// or nullopt as the value if that channel is closed. try_recv() returns -1 as
// the index if none is ready. Nil channels are never chosen. The object keeps
// its buffers, so a recv() allocates nothing.
template <class T>
class recv_select {
 public:
  explicit recv_select(std::span<const recv_chan<T>> chans)
      : chans_(chans.begin(), chans.end()), descs_(chans_.size()), scratch_(2 * chans_.size()) {}

  std::pair<int, std::optional<T>> recv() { return run(false); }
  std::pair<int, std::optional<T>> try_recv() { return run(true); }
  std::size_t size() const { return chans_.size(); }

 private:
  std::pair<int, std::optional<T>> run(bool may_default) {
    // Only one case ever completes, so all can share one slot.
    detail::slot<T> slot;
    for (std::size_t i = 0; i < chans_.size(); ++i)
      descs_[i] = {chans_[i].core(), slot.get(), detail::case_kind::recv, false, {}};
    int chosen = detail::select_run(descs_.data(), scratch_.data(), static_cast<int>(descs_.size()),
                                    may_default);
    std::pair<int, std::optional<T>> out{chosen, std::nullopt};
    if (chosen >= 0 && descs_[static_cast<std::size_t>(chosen)].received) {
      out.second.emplace(slot.take());
      slot.destroy();
    }
    return out;
  }

  std::vector<recv_chan<T>> chans_;
  std::vector<detail::select_case_desc> descs_;
  std::vector<std::uint16_t> scratch_;
};

}  // namespace goro
