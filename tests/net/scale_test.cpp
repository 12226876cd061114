// 10,000 concurrent connections on loopback through one listener: a
// goroutine per connection, every connection open at once, each doing a
// round trip. The clients run in a child process (tests/net/scale_client.cpp,
// also goroutines) so that each process needs one descriptor per connection:
// RLIMIT_NOFILE's hard limit may be 20,000 and not raisable, and both ends in
// one process would need 20,000. The test raises its soft limit.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <cstring>

#include "net_test.hpp"

extern char** environ;

namespace {

using namespace net_test;
namespace net = goro::net;
using goro::clock;

constexpr int n = 10'000;

class Scale : public Procs {};

TEST_P(Scale, TenThousandConnections) {
  if (!raise_nofile(n + 512)) {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    GTEST_SKIP() << "RLIMIT_NOFILE cannot be raised to " << n + 512 << " (hard limit "
                 << lim.rlim_max << ")";
  }
  const int procs = GetParam();
  // Bounded by the test's own 90 s wait (which reports what it saw) and by
  // the watchdog at 200 s.
  conformance::run(procs, [procs] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    const auto deadline = clock::now() + 90s;  // every connection carries it: no hang

    std::atomic<int> open_conns{0}, echoed{0};
    goro::wait_group server, all_echoed;
    all_echoed.add(n);
    server.add(1);
    goro::go([&] {  // accept loop: a goroutine per connection echoes 8 bytes, then waits for EOF
      goro::wait_group conns;
      for (;;) {
        net::conn c;
        try {
          c = ln.accept();
        } catch (const std::system_error& e) {
          EXPECT_EQ(e.code(), goro::errc::closed) << e.what();
          break;
        }
        conns.add(1);
        goro::go([&, c]() mutable {
          open_conns.fetch_add(1);
          try {
            c.set_deadline(deadline);
            std::array<char, 8> msg;
            if (c.read_full(msg)) c.write(std::string_view(msg.data(), msg.size()));
            if (echoed.fetch_add(1) < n) all_echoed.done();
            std::array<char, 1> rest;
            EXPECT_EQ(c.read(rest), 0u);  // the client closes only when released
          } catch (const std::system_error& e) {
            ADD_FAILURE() << "server side: " << e.what();
          }
          open_conns.fetch_sub(1);
          c.close();
          conns.done();
        });
      }
      conns.wait();
      server.done();
    });

    // The client process; its stdin is the release pipe.
    int release[2];
    ASSERT_EQ(::pipe2(release, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, release[0], STDIN_FILENO);
    std::string path = GORO_NET_SCALE_CLIENT, count = std::to_string(n), p = std::to_string(procs);
    std::string addr = ln.addr();
    char* argv[] = {path.data(), addr.data(), count.data(), p.data(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(release[0]);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << path << ": " << std::strerror(rc);
      ::close(release[1]);
      ln.close();
      server.wait();
      return;
    }
    auto child_exit = goro::make_chan<int>(1);
    goro::go([&] {
      int status = 0;
      goro::blocking([&] { return ::waitpid(pid, &status, 0); });
      child_exit.send(status);
    });
    auto echoed_all = goro::make_chan<int>(1);
    goro::go([&] {
      all_echoed.wait();
      echoed_all.send(1);
    });

    std::optional<int> status;
    bool all = false;
    goro::select(goro::recv_case(echoed_all, [&](auto) { all = true; }),
                 goro::recv_case(child_exit, [&](auto s) { status = *s; }),
                 goro::recv_case(goro::after(90s), [](auto) {}));
    if (all) {
      // Every connection has done its round trip and none has closed yet.
      EXPECT_EQ(open_conns.load(), n) << "not every connection was open at once";
    } else {
      ADD_FAILURE() << "only " << echoed.load() << " of " << n << " connections did a round trip ("
                    << open_conns.load() << " open on the server side)"
                    << (status ? " before the client process exited" : " within 90 s");
      if (!status) ::kill(pid, SIGKILL);
    }
    char go_ahead = 'x';
    EXPECT_EQ(::write(release[1], &go_ahead, 1), 1);
    ::close(release[1]);
    if (!status) status = *child_exit.recv();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "client process status " << *status << " (see its messages above)";
    ln.close();
    server.wait();
    EXPECT_EQ(open_conns.load(), 0);
    if (!all) all_echoed.add(-(n - std::min(echoed.load(), n)));  // let the helper goroutine end
  }, std::chrono::seconds(200));
}

NET_PROCS(Scale, 1, 2);

}  // namespace
