// errgroup/errgroup.cpp — goro::errgroup (golang.org/x/sync/errgroup); the
// task templates are in goro/errgroup.hpp.
//
// Owns: the group's first error, its limit and its derived context.
// Invariants (as in Go): a goroutine of the group is counted in wg_ from
// before it starts until after it has recorded its error; with a limit, it
// holds one token of sem_ for as long, so len(sem_) is the number active.
// err_ is written once, under err_once_, and read by wait() after wg_.wait(),
// which orders it.
//
// Lock order: none of its own (err_once_'s mutex is a leaf; canceling the
// context under it takes only context locks).
#include "goro/errgroup.hpp"

#include <string>

#include "goro/panic.hpp"

namespace goro {

errgroup::errgroup() noexcept : ctx_(background()) {}

errgroup::errgroup(const context& parent) {
  auto [ctx, cancel] = with_cancel_cause(parent);
  ctx_ = std::move(ctx);
  cancel_ = std::move(cancel);
}

errgroup::~errgroup() { wg_.wait(); }

void errgroup::set_limit(int n) {
  if (n < 0) {
    sem_ = {};
    return;
  }
  if (std::size_t active = sem_.len(); active != 0)
    throw panic_error("errgroup: modify limit while " + std::to_string(active) +
                      " goroutines in the group are still active");
  sem_ = make_chan<std::monostate>(static_cast<std::size_t>(n));
}

namespace {
// The code a context cause can carry for this error, if any.
std::error_code code_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& se) {
    return se.code();
  } catch (...) {
    return {};
  }
}
}  // namespace

void errgroup::record(std::exception_ptr e) {
  err_once_.call([&] {
    err_ = std::move(e);
    if (cancel_) cancel_(code_of(err_));
  });
}

void errgroup::done() {
  if (sem_) sem_.recv();
  wg_.done();
}

std::exception_ptr errgroup::wait() {
  wg_.wait();
  if (cancel_) cancel_(err_ ? code_of(err_) : std::error_code{});  // Go: g.cancel(g.err)
  return err_;
}

}  // namespace goro
