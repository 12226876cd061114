// tests/net/scale_client.cpp — the client half of net_scale_test, run as its
// own process so that each side needs only one descriptor per connection
// (RLIMIT_NOFILE's hard limit may be 20,000 and not raisable).
//
//   net_scale_client <address> <connections> <procs>
//
// Opens <connections> connections to <address>, one goroutine each; every
// goroutine sends 8 bytes, checks the echo, and keeps its connection open
// until a byte (or end of file) arrives on standard input. Then all close.
// Exit status 0 if every round trip succeeded; messages go to stderr.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "goro/goro.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <address> <connections> <procs>\n", argv[0]);
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
  if (::getppid() == 1) return 4;      // the test is already gone
  const std::string addr = argv[1];
  const int n = std::atoi(argv[2]);
  const int procs = std::atoi(argv[3]);
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < static_cast<rlim_t>(n) + 256) {
    lim.rlim_cur = std::max<rlim_t>(lim.rlim_max, static_cast<rlim_t>(n) + 256);
    lim.rlim_max = std::max(lim.rlim_max, lim.rlim_cur);
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      std::fprintf(stderr, "scale client: cannot raise RLIMIT_NOFILE to %d\n", n + 256);
      return 3;
    }
  }
  std::atomic<int> failures{0};
  goro::run(
      [&] {
        const auto deadline = goro::clock::now() + std::chrono::seconds(60);
        // At most 512 dials in flight: the listen backlog is the kernel's
        // somaxconn, and a burst of 10,000 SYNs would mostly wait for SYN
        // retransmission, seconds later.
        auto dial_slots = goro::make_chan<int>(512);
        auto release = goro::make_chan<int>();  // closed when stdin says so
        goro::wait_group clients;
        clients.add(n);
        for (int i = 0; i < n; ++i)
          goro::go([&, i] {
            goro::net::conn c;
            try {
              dial_slots.send(1);
              c = goro::net::dial("tcp", addr);
              dial_slots.recv();
              c.set_deadline(deadline);
              std::uint64_t id = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
              char out[8], in[8];
              std::memcpy(out, &id, 8);
              c.write(std::string_view(out, 8));
              if (!c.read_full(std::span<char>(in)) || std::memcmp(in, out, 8) != 0) {
                if (failures.fetch_add(1) < 5) std::fprintf(stderr, "scale client %d: wrong echo\n", i);
              }
            } catch (const std::system_error& e) {
              if (failures.fetch_add(1) < 5) std::fprintf(stderr, "scale client %d: %s\n", i, e.what());
            }
            release.recv();  // every connection stays open until the server has seen them all
            if (c) c.close();
            clients.done();
          });
        goro::go([&] {
          char b;
          goro::blocking([&] { return ::read(STDIN_FILENO, &b, 1); });
          release.close();
        });
        clients.wait();
      },
      goro::config{.procs = procs});
  std::fflush(stderr);
  return failures.load() == 0 ? 0 : 1;
}
