// Port of golang/go test/chan/select5.go: a generator of thousands of
// single-goroutine tests, each doing exactly one real send or receive on a
// 1-buffered channel, phrased as a plain operation or as a select of many
// shapes: a default case before or after the real case (never chosen: the
// real case is ready), extra cases on a channel that is never ready and on
// the nil channel (never chosen), and different receive targets (Go: x, *f(&x),
// y :=, an interface, a map slot; goro: handlers that write those). The order
// variants check that all channel and value operands are evaluated once,
// before the communication, and the receive target only afterwards, in the
// chosen handler; the non-blocking variant checks that with no ready case
// the default runs and no receive handler (target) is ever touched.
//
// Go's generator walks every combination at run time and compiles the
// result; goro's select is a variadic template, so here every combination is
// a template instantiation (shape bits below), enumerated at compile time.
//
// C++ evaluates function arguments in an unspecified order, so the operands
// of one select call cannot have a checked left-to-right order; the order
// variants build the cases in sequenced statements (the same evaluation
// order as Go's) and check that select itself evaluates nothing again and
// writes the target only after the receive.
#include <any>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "conformance.hpp"

namespace {

using conformance::Procs;
using goro::chan;

struct env {
  chan<int> c = goro::make_chan<int>(1);  // buffered: the test is single-goroutine
  chan<int> nilch;
  chan<int> dummy = goro::make_chan<int>();
  int n = 1;
  int x = 0;
  std::any i;
  std::map<int, int> m;
  int order = 0;
  long tests = 0;

  // Successive calls must have increasing o.
  void checkorder(int o) {
    EXPECT_GT(o, order) << "invalid order " << o << " after " << order << " (test " << n << ")";
    order = o;
  }
  chan<int>& fc(chan<int>& ch, int o) {
    checkorder(o);
    return ch;
  }
  int* fp(int* p, int o) {
    checkorder(o);
    return p;
  }
  int fn(int v, int o) {
    checkorder(o);
    return v;
  }
  void finish() {
    EXPECT_EQ(x, n) << "have " << x << " want " << n;
    ++n;
    ++tests;
  }
};

int* f(int* p) { return p; }

// A tuple holding make()'s case, or nothing.
template <bool On, class Make>
auto opt(Make&& make) {
  if constexpr (On) {
    return std::tuple<decltype(make())>(make());
  } else {
    return std::tuple<>();
  }
}

template <class Tuple>
int run_select(Tuple&& cases) {
  return std::apply([](auto&&... cs) { return goro::select(std::forward<decltype(cs)>(cs)...); },
                    std::forward<Tuple>(cases));
}

auto never_default(int n) {
  return goro::default_case([n] { ADD_FAILURE() << "nonblock (test " << n << ")"; });
}

// Shape bits shared by the recv and send families.
constexpr unsigned def_before = 1u << 0;    // default case before the real case
constexpr unsigned def_after = 1u << 1;     // default case after it
constexpr unsigned dummy_send = 1u << 2;    // a send case on a channel never ready
constexpr unsigned dummy_recv = 1u << 3;    // a receive case on a channel never ready
constexpr unsigned nil_send = 1u << 4;      // a send case on the nil channel
constexpr unsigned nil_recv = 1u << 5;      // a receive case on the nil channel
constexpr bool valid_shape(unsigned s) { return (s & def_before) == 0 || (s & def_after) == 0; }

// The extra cases (never chosen), unordered and ordered variants.
template <unsigned S>
auto extras(env& e) {
  auto ds = opt<(S & dummy_send) != 0>([&] {
    return goro::send_case(e.dummy, 1, [] { ADD_FAILURE() << "dummy send"; });
  });
  auto dr = opt<(S & dummy_recv) != 0>([&] {
    return goro::recv_case(e.dummy, [](auto) { ADD_FAILURE() << "dummy receive"; });
  });
  auto ns = opt<(S & nil_send) != 0>([&] {
    return goro::send_case(e.nilch, 1, [] { ADD_FAILURE() << "nilch send"; });
  });
  auto nr = opt<(S & nil_recv) != 0>([&] {
    return goro::recv_case(e.nilch, [](auto) { ADD_FAILURE() << "nilch recv"; });
  });
  return std::tuple_cat(std::move(ds), std::move(dr), std::move(ns), std::move(nr));
}

// Go's order numbers: the real case's operands come first (1, and 2 for a
// send's value), then dummy send (channel, value), dummy receive, nil send
// (channel, value), nil receive, each case's operands evaluated in turn.
template <unsigned S>
auto extras_ordered(env& e, int first) {
  int o = first;
  auto ds = opt<(S & dummy_send) != 0>([&] {
    chan<int>& ch = e.fc(e.dummy, o);
    int v = e.fn(1, o + 1);
    return goro::send_case(ch, v, [] { ADD_FAILURE() << "dummy send"; });
  });
  o += 2;
  auto dr = opt<(S & dummy_recv) != 0>([&] {
    return goro::recv_case(e.fc(e.dummy, o), [](auto) { ADD_FAILURE() << "dummy receive"; });
  });
  o += 1;
  auto ns = opt<(S & nil_send) != 0>([&] {
    chan<int>& ch = e.fc(e.nilch, o);
    int v = e.fn(1, o + 1);
    return goro::send_case(ch, v, [] { ADD_FAILURE() << "nilch send"; });
  });
  o += 2;
  auto nr = opt<(S & nil_recv) != 0>([&] {
    return goro::recv_case(e.fc(e.nilch, o), [](auto) { ADD_FAILURE() << "nilch recv"; });
  });
  return std::tuple_cat(std::move(ds), std::move(dr), std::move(ns), std::move(nr));
}

// --- recv: send n, receive it into x one way or another. -------------------

template <int Target>
auto recv_target(env& e) {
  if constexpr (Target == 0) {  // x = <-c
    return goro::recv_case(e.c, [&e](std::optional<int> v) { e.x = *v; });
  } else if constexpr (Target == 1) {  // *f(&x) = <-c
    return goro::recv_case(e.c, [&e](std::optional<int> v) { *f(&e.x) = *v; });
  } else if constexpr (Target == 2) {  // y := <-c; x = y
    return goro::recv_case(e.c, [&e](auto y) { e.x = y.value(); });
  } else if constexpr (Target == 3) {  // i = <-c; x = i.(int)
    return goro::recv_case(e.c, [&e](std::optional<int> v) {
      e.i = *v;
      e.x = std::any_cast<int>(e.i);
    });
  } else {  // m[13] = <-c; x = m[13]
    return goro::recv_case(e.c, [&e](std::optional<int> v) {
      e.m[13] = *v;
      e.x = e.m[13];
    });
  }
}

template <unsigned S, int Target>
void recv_test(env& e) {
  e.c.send(e.n);
  auto before = opt<(S & def_before) != 0>([&] { return never_default(e.n); });
  auto real = std::tuple(recv_target<Target>(e));
  auto after = opt<(S & def_after) != 0>([&] { return never_default(e.n); });
  int i = run_select(std::tuple_cat(std::move(before), std::move(real), std::move(after), extras<S>(e)));
  EXPECT_EQ(i, (S & def_before) ? 1 : 0) << "select returned the wrong case (test " << e.n << ")";
  e.finish();
}

// --- recvOrder: the same, checking evaluation order. -----------------------

template <int Target>
auto recv_target_ordered(env& e) {
  chan<int>& ch = e.fc(e.c, 1);
  if constexpr (Target == 0) {  // *fp(&x, 100) = <-fc(c, 1)
    return goro::recv_case(ch, [&e](std::optional<int> v) { *e.fp(&e.x, 100) = *v; });
  } else if constexpr (Target == 1) {  // y := <-fc(c, 1); x = y
    return goro::recv_case(ch, [&e](auto y) { e.x = y.value(); });
  } else if constexpr (Target == 2) {  // i = <-fc(c, 1); x = i.(int)
    return goro::recv_case(ch, [&e](std::optional<int> v) {
      e.i = *v;
      e.x = std::any_cast<int>(e.i);
    });
  } else {  // m[fn(13, 100)] = <-fc(c, 1); x = m[13]
    return goro::recv_case(ch, [&e](std::optional<int> v) {
      e.m[e.fn(13, 100)] = *v;
      e.x = e.m[13];
    });
  }
}

template <unsigned S, int Target>
void recv_order_test(env& e) {
  e.order = 0;
  e.c.send(e.n);
  auto before = opt<(S & def_before) != 0>([&] { return never_default(e.n); });
  auto real = std::tuple(recv_target_ordered<Target>(e));
  auto after = opt<(S & def_after) != 0>([&] { return never_default(e.n); });
  auto rest = extras_ordered<S>(e, 2);
  int evaluated = e.order;  // select itself must not evaluate anything again
  int i = run_select(std::tuple_cat(std::move(before), std::move(real), std::move(after), std::move(rest)));
  EXPECT_EQ(i, (S & def_before) ? 1 : 0);
  if constexpr (Target == 0 || Target == 3) {
    EXPECT_EQ(e.order, 100) << "receive target not evaluated after the receive";
  } else {
    EXPECT_EQ(e.order, evaluated);
  }
  e.finish();
}

// --- send: send n one way or another, receive it into x. -------------------

template <unsigned S>
void send_test(env& e) {
  auto before = opt<(S & def_before) != 0>([&] { return never_default(e.n); });
  auto real = std::tuple(goro::send_case(e.c, e.n));
  auto after = opt<(S & def_after) != 0>([&] { return never_default(e.n); });
  int i = run_select(std::tuple_cat(std::move(before), std::move(real), std::move(after), extras<S>(e)));
  EXPECT_EQ(i, (S & def_before) ? 1 : 0);
  e.x = *e.c.recv();
  e.finish();
}

// --- sendOrder: fc(c, 1) <- fn(n, 2), checking evaluation order. -----------

template <unsigned S>
void send_order_test(env& e) {
  e.order = 0;
  auto before = opt<(S & def_before) != 0>([&] { return never_default(e.n); });
  chan<int>& ch = e.fc(e.c, 1);
  int v = e.fn(e.n, 2);
  auto real = std::tuple(goro::send_case(ch, v));
  auto after = opt<(S & def_after) != 0>([&] { return never_default(e.n); });
  auto rest = extras_ordered<S>(e, 3);
  int evaluated = e.order;
  int i = run_select(std::tuple_cat(std::move(before), std::move(real), std::move(after), std::move(rest)));
  EXPECT_EQ(i, (S & def_before) ? 1 : 0);
  EXPECT_EQ(e.order, evaluated) << "select evaluated an operand again";
  e.x = *e.c.recv();
  e.finish();
}

// --- nonblock: no case is ready; the default runs; receive targets (even
// ones that would crash) are never touched. ----------------------------------

constexpr unsigned nb_def_first = 1u << 0;
constexpr unsigned nb_dummy_send = 1u << 1;
constexpr unsigned nb_nil_send = 1u << 2;
constexpr unsigned nb_dummy_recv = 1u << 3;      // <-dummy
constexpr unsigned nb_dummy_recv_x = 1u << 4;    // x = <-dummy
constexpr unsigned nb_dummy_recv_bad = 1u << 5;  // **(**int)(nil) = <-dummy
constexpr unsigned nb_nil_recv = 1u << 6;        // <-nilch
constexpr unsigned nb_nil_recv_x = 1u << 7;      // x = <-nilch
constexpr unsigned nb_nil_recv_bad = 1u << 8;    // **(**int)(nil) = <-nilch

// A receive target that would crash if it were ever evaluated.
template <class T>
void crash_target(std::optional<T> v) {
  int** volatile pp = nullptr;
  **pp = *v;
}

template <unsigned S>
void nonblock_test(env& e) {
  e.x = e.n;
  bool defaulted = false;
  auto def = [&] { return goro::default_case([&] { defaulted = true; }); };
  auto first = opt<(S & nb_def_first) != 0>(def);
  auto ds = opt<(S & nb_dummy_send) != 0>([&] {
    return goro::send_case(e.dummy, 1, [] { ADD_FAILURE() << "dummy <- 1"; });
  });
  auto ns = opt<(S & nb_nil_send) != 0>([&] {
    return goro::send_case(e.nilch, 1, [] { ADD_FAILURE() << "nilch <- 1"; });
  });
  auto dr = opt<(S & nb_dummy_recv) != 0>([&] {
    return goro::recv_case(e.dummy, [](auto) { ADD_FAILURE() << "<-dummy"; });
  });
  auto drx = opt<(S & nb_dummy_recv_x) != 0>([&] {
    return goro::recv_case(e.dummy, [&e](std::optional<int> v) {
      e.x = *v;
      ADD_FAILURE() << "<-dummy x";
    });
  });
  auto drb = opt<(S & nb_dummy_recv_bad) != 0>([&] { return goro::recv_case(e.dummy, crash_target<int>); });
  auto nr = opt<(S & nb_nil_recv) != 0>([&] {
    return goro::recv_case(e.nilch, [](auto) { ADD_FAILURE() << "<-nilch"; });
  });
  auto nrx = opt<(S & nb_nil_recv_x) != 0>([&] {
    return goro::recv_case(e.nilch, [&e](std::optional<int> v) {
      e.x = *v;
      ADD_FAILURE() << "<-nilch x";
    });
  });
  auto nrb = opt<(S & nb_nil_recv_bad) != 0>([&] { return goro::recv_case(e.nilch, crash_target<int>); });
  auto last = opt<(S & nb_def_first) == 0>(def);
  constexpr int ncases = __builtin_popcount(S & ~nb_def_first);
  int i = run_select(std::tuple_cat(std::move(first), std::move(ds), std::move(ns), std::move(dr),
                                    std::move(drx), std::move(drb), std::move(nr), std::move(nrx),
                                    std::move(nrb), std::move(last)));
  EXPECT_TRUE(defaulted);
  EXPECT_EQ(i, (S & nb_def_first) ? 0 : ncases);
  e.finish();
}

// --- enumeration ------------------------------------------------------------
// Go's generator produces every combination (about 2 300 tests). Each
// combination is a separate instantiation here, and compiling them all takes
// minutes, so the shapes are a covering subset: every default position with
// no extra case, each extra case alone, and all of them; receive targets
// rotate over the shapes, and every target is also tried with every extra
// case present. The non-blocking selects have the default first or last,
// with no other case, each other case alone, all of them, and a mix.

constexpr unsigned all_extras = dummy_send | dummy_recv | nil_send | nil_recv;
constexpr unsigned recv_shapes[] = {
    0,          def_before,          def_after,
    dummy_send, dummy_send | def_before, dummy_send | def_after,
    dummy_recv, dummy_recv | def_before, dummy_recv | def_after,
    nil_send,   nil_send | def_before,   nil_send | def_after,
    nil_recv,   nil_recv | def_before,   nil_recv | def_after,
    all_extras, all_extras | def_before, all_extras | def_after,
};
constexpr std::size_t n_recv_shapes = sizeof recv_shapes / sizeof recv_shapes[0];

constexpr unsigned nb_all = nb_dummy_send | nb_nil_send | nb_dummy_recv | nb_dummy_recv_x |
                            nb_dummy_recv_bad | nb_nil_recv | nb_nil_recv_x | nb_nil_recv_bad;
constexpr unsigned nb_mix = nb_dummy_send | nb_dummy_recv_bad | nb_nil_recv_x;
constexpr unsigned nonblock_shapes[] = {
    0,           nb_dummy_send,     nb_nil_send,   nb_dummy_recv, nb_dummy_recv_x,
    nb_dummy_recv_bad, nb_nil_recv, nb_nil_recv_x, nb_nil_recv_bad, nb_all, nb_mix,
};
constexpr std::size_t n_nonblock_shapes = sizeof nonblock_shapes / sizeof nonblock_shapes[0];

template <std::size_t... I>
void all_recv(env& e, std::index_sequence<I...>) {
  auto one = [&]<std::size_t K>(std::integral_constant<std::size_t, K>) {
    constexpr unsigned sh = recv_shapes[K];
    static_assert(valid_shape(sh));
    recv_test<sh, static_cast<int>(K % 5)>(e);
    recv_order_test<sh, static_cast<int>(K % 4)>(e);
    send_test<sh>(e);
    send_order_test<sh>(e);
  };
  (one(std::integral_constant<std::size_t, I>{}), ...);
}

template <unsigned Sh, int... T>
void all_targets(env& e, std::integer_sequence<int, T...>) {
  (recv_test<Sh, T>(e), ...);
  ((T < 4 ? recv_order_test<Sh, T % 4>(e) : void()), ...);
}

template <std::size_t... I>
void all_nonblock(env& e, std::index_sequence<I...>) {
  (nonblock_test<nonblock_shapes[I]>(e), ...);
  (nonblock_test<nonblock_shapes[I] | nb_def_first>(e), ...);
}

void plain_ops(env& e) {
  // x = <-c
  e.c.send(e.n);
  e.x = *e.c.recv();
  e.finish();
  // *fp(&x, 1) = <-fc(c, 2), in Go's order (C++ would evaluate the right
  // side of an assignment first).
  e.order = 0;
  e.c.send(e.n);
  {
    int* p = e.fp(&e.x, 1);
    *p = *e.fc(e.c, 2).recv();
  }
  e.finish();
  // m[fn(13, 1)] = <-fc(c, 2); x = m[13]
  e.order = 0;
  e.c.send(e.n);
  {
    int& slot = e.m[e.fn(13, 1)];
    slot = *e.fc(e.c, 2).recv();
    e.x = e.m[13];
  }
  e.finish();
  // c <- n
  e.c.send(e.n);
  e.x = *e.c.recv();
  e.finish();
  // fc(c, 1) <- fn(n, 2)
  e.order = 0;
  {
    chan<int>& ch = e.fc(e.c, 1);
    ch.send(e.fn(e.n, 2));
  }
  e.x = *e.c.recv();
  e.finish();
}

class Select5 : public Procs {};
CONFORMANCE_PROCS(Select5, 1, 2);

TEST_P(Select5, AllShapes) {
  go_run([] {
    env e;
    plain_ops(e);
    all_recv(e, std::make_index_sequence<n_recv_shapes>{});
    all_targets<all_extras | def_after>(e, std::make_integer_sequence<int, 5>{});
    all_nonblock(e, std::make_index_sequence<n_nonblock_shapes>{});
    EXPECT_EQ(e.tests, static_cast<long>(5 + 4 * n_recv_shapes + 5 + 4 + 2 * n_nonblock_shapes));
  });
}

}  // namespace
