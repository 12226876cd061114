// examples/http_hello — a minimal HTTP/1.1 server: a goroutine per
// connection, keep-alive, "Hello, World!\n" for every request. Enough for
// wrk (bench/http_compare.sh runs it beside a Go net/http server).
//
//   http_hello [address]           (default 127.0.0.1:8080; GOMAXPROCS=N sets the processors)
//   curl -v http://127.0.0.1:8080/
//   wrk -t2 -c256 -d10s http://127.0.0.1:8080/
//
// What it does per connection: reads until a request head is complete
// (request line and headers, ended by an empty line: CRLFCRLF), skips a
// body announced by Content-Length, answers, and repeats while the
// connection is kept alive. HTTP/1.1 keeps it alive unless the request says
// "Connection: close"; HTTP/1.0 only if it says "Connection: keep-alive".
// Requests that arrive together (pipelining) get their answers in one write.
// An idle connection is closed after 60 s (a read deadline). Not a general
// HTTP server: no chunked request bodies (400), no Expect: 100-continue,
// heads up to 16 KiB (431), bodies up to 1 MiB (413).
#include <goro/goro.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view body = "Hello, World!\n";
constexpr std::size_t max_head = 16 * 1024;         // request line and headers
constexpr std::size_t max_body = 1024 * 1024;       // a request body is read and dropped
constexpr auto idle_timeout = std::chrono::seconds(60);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does a comma-separated header value contain `token` (case-insensitive)?
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// The Date header's value, formatted once per second per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char cached[64];
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return cached;
}

struct request {
  bool keep_alive = true;
  bool http10 = false;
  bool head = false;            // HEAD: no body in the answer
  std::size_t body_length = 0;  // Content-Length of the request
  bool bad = false;
};

// Parses a request head (without the final CRLFCRLF).
request parse(std::string_view head) {
  request r;
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    r.bad = true;
    return r;
  }
  std::string_view method = line.substr(0, sp1), version = line.substr(sp2 + 1);
  r.head = method == "HEAD";
  r.http10 = version == "HTTP/1.0";
  if (r.http10) r.keep_alive = false;
  else if (version != "HTTP/1.1") r.bad = true;
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!rest.empty()) {
    std::size_t end = rest.find("\r\n");
    std::string_view h = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    std::size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = h.substr(0, colon), value = trim(h.substr(colon + 1));
    if (iequals(name, "Connection")) {
      if (has_token(value, "close")) r.keep_alive = false;
      else if (has_token(value, "keep-alive")) r.keep_alive = true;
    } else if (iequals(name, "Content-Length")) {
      r.body_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (iequals(name, "Transfer-Encoding")) {
      r.bad = true;  // chunked request bodies are not supported here
    }
  }
  return r;
}

void answer(std::string& out, const request& r) {
  if (r.bad) {
    out += "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    return;
  }
  out += "HTTP/1.1 200 OK\r\nDate: ";
  out += http_date();
  out += "\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += "\r\nContent-Type: text/plain; charset=utf-8\r\n";
  if (!r.keep_alive) out += "Connection: close\r\n";
  else if (r.http10) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  if (!r.head) out += body;
}

void serve(goro::net::conn c) {
  std::string in, out;
  std::array<char, 8192> buf;
  try {
    for (;;) {
      c.set_read_deadline(goro::clock::now() + idle_timeout);
      std::size_t n = c.read(buf);
      if (n == 0) break;  // the client closed
      in.append(buf.data(), n);
      bool close_after = false;
      std::size_t pos = 0;
      for (;;) {  // every complete request in the buffer
        std::size_t end = in.find("\r\n\r\n", pos);
        if (end == std::string::npos) break;
        std::string_view head(in.data() + pos, end - pos);
        request r = parse(head);
        std::size_t next = end + 4 + r.body_length;
        if (next > in.size() && !r.bad) break;  // the body is not all here yet
        answer(out, r);
        pos = r.bad ? in.size() : next;
        if (!r.keep_alive || r.bad) {
          close_after = true;
          break;
        }
      }
      in.erase(0, pos);
      if (!out.empty()) {
        c.write(out);
        out.clear();
      }
      if (close_after) break;
      std::size_t head_end = in.find("\r\n\r\n");
      if (head_end == std::string::npos && in.size() > max_head) {
        c.write("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        break;
      }
      if (head_end != std::string::npos && in.size() > max_body) {  // a body still arriving
        c.write("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        break;
      }
    }
  } catch (const std::system_error&) {
    // reset by the client, idle timeout: the connection is done
  }
  c.close();
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = argc > 1 ? argv[1] : "127.0.0.1:8080";
  return goro::run([&]() -> int {
    goro::net::listener ln;
    try {
      ln = goro::net::listen("tcp", address);
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "http_hello: %s\n", e.what());
      return 1;
    }
    std::printf("http_hello: serving http://%s/ on %d processor(s)\n", ln.addr().c_str(),
                goro::maxprocs());
    std::fflush(stdout);
    for (;;) {
      goro::net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error& e) {
        std::fprintf(stderr, "http_hello: accept: %s\n", e.what());
        if (e.code() == goro::errc::closed) return 1;
        continue;
      }
      goro::go(serve, std::move(c));
    }
  });
}
