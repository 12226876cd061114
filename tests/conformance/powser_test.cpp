// Ports of golang/go test/chan/powser1.go and powser2.go: McIlroy's power
// series as demand-driven networks of goroutines. A series is a pair of
// channels: a consumer sends a request on `req` and receives the next
// coefficient (an exact rational) on `dat`. Split feeds two consumers that
// read at different rates, serving whichever asks first (select, with its
// cases disabled and re-enabled by nil channels). The first ten
// coefficients of several series are checked (Ones, Diff, Integ, Cmul, Mul,
// Exp, and ATan through MonSubst and Integ).
//
// powser2 is the same network carrying dynamically typed items (Go: an
// interface holding *rat, taken apart with type assertions); here
// std::any holding a pointer to an immutable rat.
//
// As in Go, the network's goroutines are still blocked when the check ends;
// they reach their channels through pointers into arenas that outlive the
// runtime, so they own nothing when goro discards them (conformance.hpp).
#include <any>
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "conformance.hpp"

namespace {

using conformance::keep;
using conformance::Procs;
using conformance::recv;
using goro::chan;

struct rat {
  std::int64_t num, den;
  bool operator==(const rat&) const = default;
};

std::int64_t gcd(std::int64_t u, std::int64_t v) {
  if (u < 0) return gcd(-u, v);
  if (u == 0) return v;
  return gcd(v % u, u);
}

rat i2tor(std::int64_t u, std::int64_t v) {
  std::int64_t g = gcd(u, v);
  if (v > 0) return {u / g, v / g};
  return {-u / g, -v / g};
}
rat itor(std::int64_t u) { return i2tor(u, 1); }

const rat zero = itor(0);
const rat one = itor(1);
const rat finis = i2tor(1, 0);  // the end mark

bool end(const rat& u) { return u.den == 0; }

rat add(rat u, rat v) {
  std::int64_t g = gcd(u.den, v.den);
  return i2tor(u.num * (v.den / g) + v.num * (u.den / g), u.den * (v.den / g));
}
rat mul(rat u, rat v) {
  std::int64_t g1 = gcd(u.num, v.den);
  std::int64_t g2 = gcd(u.den, v.num);
  return {(u.num / g1) * (v.num / g2), (u.den / g2) * (v.den / g1)};
}
rat neg(rat u) { return i2tor(-u.num, u.den); }

std::string str(const rat& r) {
  return r.den == 1 ? std::to_string(r.num) : std::to_string(r.num) + "/" + std::to_string(r.den);
}

// powser1: the channels carry rats.
struct static_items {
  using item = rat;
  item wrap(rat r) { return r; }
  static rat unwrap(const item& i) { return i; }
};

// powser2: the channels carry dynamically typed items.
struct dynamic_items {
  using item = std::any;
  keep<rat> rats;  // the values items point to
  item wrap(rat r) { return std::any(static_cast<const rat*>(rats.make(r))); }
  static rat unwrap(const item& i) {
    const rat* const* p = std::any_cast<const rat*>(&i);  // Go's type assertion
    EXPECT_NE(p, nullptr) << "item is not a *rat";
    return p ? **p : finis;
  }
};

template <class Items>
struct powser {
  using item = typename Items::item;

  struct dch {
    chan<int> req;
    chan<item> dat;
  };
  using dch2 = std::array<dch*, 2>;
  using PS = dch*;

  Items items;
  keep<dch> dchs;
  keep<dch2> pairs;
  keep<chan<int>> releases;
  const chan<int> nil_req{};
  const chan<item> nil_dat{};
  std::atomic<int> seqno{0};
  PS Ones = nullptr;
  PS Twos = nullptr;

  PS mkdch() { return dchs.make(dch{goro::make_chan<int>(), goro::make_chan<item>()}); }
  dch2* mkdch2() { return pairs.make(dch2{mkdch(), mkdch()}); }

  void put(rat r, PS out) {
    recv(out->req);
    out->dat.send(items.wrap(r));
  }
  rat get(PS in) {
    in->req.send(++seqno);
    return Items::unwrap(*recv(in->dat));
  }

  // One coefficient from each of two series, asking both at once and taking
  // the answers in whatever order they come.
  std::array<rat, 2> get2(PS in0, PS in1) {
    std::array<PS, 2> in{in0, in1};
    std::array<const chan<int>*, 2> req{&in0->req, &in1->req};
    std::array<const chan<item>*, 2> dat{&nil_dat, &nil_dat};
    std::array<rat, 2> out{};
    for (int n = 4; n > 0; --n) {
      int seq = ++seqno;
      goro::select(goro::send_case(*req[0], seq,
                                   [&] {
                                     dat[0] = &in[0]->dat;
                                     req[0] = &nil_req;
                                   }),
                   goro::send_case(*req[1], seq,
                                   [&] {
                                     dat[1] = &in[1]->dat;
                                     req[1] = &nil_req;
                                   }),
                   goro::recv_case(*dat[0],
                                   [&](std::optional<item> it) {
                                     out[0] = Items::unwrap(*it);
                                     dat[0] = &nil_dat;
                                   }),
                   goro::recv_case(*dat[1], [&](std::optional<item> it) {
                     out[1] = Items::unwrap(*it);
                     dat[1] = &nil_dat;
                   }));
    }
    return out;
  }

  void copy(PS in, PS out) {
    for (;;) {
      recv(out->req);
      out->dat.send(items.wrap(get(in)));
    }
  }

  // Split: the newest generation serves requests on out[0]; older ones hold
  // a value already sent on out[0] and wait their turn (the release chain)
  // to send it on out[1].
  void dosplit(PS in, dch2* out, chan<int>* wait) {
    bool both = false;  // serving both outputs
    goro::select(goro::recv_case((*out)[0]->req),
                 goro::recv_case(*wait, [&](auto) {
                   both = true;
                   goro::select(goro::recv_case((*out)[0]->req),
                                goro::recv_case((*out)[1]->req,
                                                [&](auto) { std::swap((*out)[0], (*out)[1]); }));
                 }));
    in->req.send(++seqno);
    chan<int>* release = releases.make(goro::make_chan<int>());
    goro::go([this](PS in, dch2* out, chan<int>* release) { dosplit(in, out, release); }, in, out,
             release);
    rat dat = Items::unwrap(*recv(in->dat));
    (*out)[0]->dat.send(items.wrap(dat));
    if (!both) recv(*wait);
    recv((*out)[1]->req);
    (*out)[1]->dat.send(items.wrap(dat));
    release->send(0);
  }

  void split(PS in, dch2* out) {
    chan<int>* release = releases.make(goro::make_chan<int>());
    goro::go([this](PS in, dch2* out, chan<int>* release) { dosplit(in, out, release); }, in, out,
             release);
    release->send(0);
  }

  dch2* Split(PS U) {
    dch2* UU = mkdch2();
    goro::go([this](PS U, dch2* UU) { split(U, UU); }, U, UU);
    return UU;
  }

  PS Add(PS U, PS V) {
    PS Z = mkdch();
    goro::go(
        [this](PS U, PS V, PS Z) {
          for (;;) {
            recv(Z->req);
            auto uv = get2(U, V);
            switch ((end(uv[0]) ? 1 : 0) + 2 * (end(uv[1]) ? 1 : 0)) {
              case 0:
                Z->dat.send(items.wrap(add(uv[0], uv[1])));
                break;
              case 1:
                Z->dat.send(items.wrap(uv[1]));
                copy(V, Z);
                break;
              case 2:
                Z->dat.send(items.wrap(uv[0]));
                copy(U, Z);
                break;
              case 3:
                Z->dat.send(items.wrap(finis));
                break;
            }
          }
        },
        U, V, Z);
    return Z;
  }

  PS Cmul(rat c, PS U) {
    PS Z = mkdch();
    goro::go(
        [this](rat c, PS U, PS Z) {
          for (bool done = false; !done;) {
            recv(Z->req);
            rat u = get(U);
            if (end(u)) {
              done = true;
            } else {
              Z->dat.send(items.wrap(mul(c, u)));
            }
          }
          Z->dat.send(items.wrap(finis));
        },
        c, U, Z);
    return Z;
  }

  PS Sub(PS U, PS V) { return Add(U, Cmul(neg(one), V)); }

  PS Rep(rat c) {
    PS Z = mkdch();
    goro::go(
        [this](rat c, PS Z) {
          for (;;) put(c, Z);
        },
        c, Z);
    return Z;
  }

  // UV = u*v + x*(u*VV + v*UU) + x*x*UU*VV
  PS Mul(PS U, PS V) {
    PS Z = mkdch();
    goro::go(
        [this](PS U, PS V, PS Z) {
          recv(Z->req);
          auto uv = get2(U, V);
          if (end(uv[0]) || end(uv[1])) {
            Z->dat.send(items.wrap(finis));
            return;
          }
          Z->dat.send(items.wrap(mul(uv[0], uv[1])));
          dch2* UU = Split(U);
          dch2* VV = Split(V);
          PS W = Add(Cmul(uv[0], (*VV)[0]), Cmul(uv[1], (*UU)[0]));
          recv(Z->req);
          Z->dat.send(items.wrap(get(W)));
          copy(Add(W, Mul((*UU)[1], (*VV)[1])), Z);
        },
        U, V, Z);
    return Z;
  }

  PS Diff(PS U) {
    PS Z = mkdch();
    goro::go(
        [this](PS U, PS Z) {
          recv(Z->req);
          rat u = get(U);
          if (!end(u)) {
            for (std::int64_t i = 1;; ++i) {
              u = get(U);
              if (end(u)) break;
              Z->dat.send(items.wrap(mul(itor(i), u)));
              recv(Z->req);
            }
          }
          Z->dat.send(items.wrap(finis));
        },
        U, Z);
    return Z;
  }

  PS Integ(rat c, PS U) {
    PS Z = mkdch();
    goro::go(
        [this](rat c, PS U, PS Z) {
          put(c, Z);
          for (std::int64_t i = 1, done = 0; !done; ++i) {
            recv(Z->req);
            rat u = get(U);
            if (end(u)) done = 1;
            Z->dat.send(items.wrap(mul(i2tor(1, i), u)));
          }
          Z->dat.send(items.wrap(finis));
        },
        c, U, Z);
    return Z;
  }

  // Z = exp(U), U with constant term 0: DZ = Z*DU, integrated.
  PS Exp(PS U) {
    dch2* ZZ = mkdch2();
    split(Integ(one, Mul((*ZZ)[0], Diff(U))), ZZ);
    return (*ZZ)[1];
  }

  // U(c0 x^n): each Ui multiplied by c0^i and followed by n-1 zeros.
  PS MonSubst(PS U, rat c0, int n) {
    PS Z = mkdch();
    goro::go(
        [this](PS U, rat c0, int n, PS Z) {
          rat c = one;
          for (;;) {
            recv(Z->req);
            rat u = get(U);
            Z->dat.send(items.wrap(mul(u, c)));
            c = mul(c, c0);
            if (end(u)) {
              Z->dat.send(items.wrap(finis));
              break;
            }
            for (int i = 1; i < n; ++i) {
              recv(Z->req);
              Z->dat.send(items.wrap(zero));
            }
          }
        },
        U, c0, n, Z);
    return Z;
  }

  void init() {
    Ones = Rep(one);
    Twos = Rep(itor(2));
  }

  void check(PS U, rat c, int count, const char* name) {
    for (int i = 0; i < count; ++i) {
      rat r = get(U);
      EXPECT_EQ(r, c) << name << ": got " << str(r) << ", should get " << str(c);
    }
  }

  static constexpr int N = 10;
  void checka(PS U, const std::array<rat, N>& a, const char* name) {
    for (int i = 0; i < N; ++i) check(U, a[static_cast<std::size_t>(i)], 1, name);
  }

  void run_checks() {
    init();
    check(Ones, one, 5, "Ones");
    check(Add(Ones, Ones), itor(2), 0, "Add Ones Ones");
    check(Add(Ones, Twos), itor(3), 0, "Add Ones Twos");
    std::array<rat, N> a{};
    PS d = Diff(Ones);
    for (int i = 0; i < N; ++i) a[static_cast<std::size_t>(i)] = itor(i + 1);
    checka(d, a, "Diff");  // 1 2 3 4 5
    PS in = Integ(zero, Ones);
    a[0] = zero;  // the integration constant
    for (int i = 1; i < N; ++i) a[static_cast<std::size_t>(i)] = i2tor(1, i);
    checka(in, a, "Integ");  // 0 1 1/2 1/3 1/4
    check(Cmul(neg(one), Twos), itor(-2), 10, "CMul");
    check(Sub(Ones, Twos), itor(-1), 0, "Sub Ones Twos");
    PS m = Mul(Ones, Ones);
    for (int i = 0; i < N; ++i) a[static_cast<std::size_t>(i)] = itor(i + 1);
    checka(m, a, "Mul");  // 1 2 3 4 5
    PS e = Exp(Ones);
    a = {itor(1),           i2tor(1, 1),        i2tor(3, 2),         i2tor(13, 6),
         i2tor(73, 24),     i2tor(167, 40),     i2tor(4051, 720),    i2tor(37633, 5040),
         i2tor(43817, 4480), i2tor(4596553, 362880)};
    checka(e, a, "Exp");  // 1 1 3/2 13/6 73/24
    PS at = Integ(zero, MonSubst(Ones, neg(one), 2));
    for (int c = 1, i = 0; i < N; ++i) {
      if (i % 2 == 0) {
        a[static_cast<std::size_t>(i)] = zero;
      } else {
        a[static_cast<std::size_t>(i)] = i2tor(c, i);
        c *= -1;
      }
    }
    checka(at, a, "ATan");  // 0 1 0 -1/3 0 1/5
  }
};

class PowSer : public Procs {};
CONFORMANCE_PROCS(PowSer, 1, 2, 4);

TEST_P(PowSer, Powser1) {
  powser<static_items> ps;  // outlives the runtime: its goroutines are discarded blocked
  go_run_discarding([&ps] { ps.run_checks(); });
}

TEST_P(PowSer, Powser2) {
  powser<dynamic_items> ps;
  go_run_discarding([&ps] { ps.run_checks(); });
}

}  // namespace
