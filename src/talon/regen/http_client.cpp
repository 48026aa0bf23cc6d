#include "talon/regen/http_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

#include "talon/util/error.h"

namespace talon::regen {
namespace {

using Clock = std::chrono::steady_clock;

// A connected socket, closed on scope exit.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes.
void wait_for(int fd, short events, Clock::time_point deadline, const std::string& where) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) fail("{}: no answer within the timeout", where);
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (ready > 0) return;
    if (ready < 0 && errno != EINTR) fail("{}: poll failed: {}", where, std::strerror(errno));
  }
}

int connect_to(const Url& url, Clock::time_point deadline, const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &found); rc != 0) {
    fail("{}: cannot resolve host: {}", where, ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      int error = ETIMEDOUT;
      socklen_t size = sizeof error;
      if (left > 0 && ::poll(&p, 1, static_cast<int>(left)) > 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error == 0) {
        ::freeaddrinfo(found);
        return fd;
      }
      last_error = std::strerror(error);
    } else {
      last_error = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  fail("{}: cannot connect: {}", where, last_error);
}

void send_all(int fd, const std::string& data, Clock::time_point deadline, const std::string& where) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    wait_for(fd, POLLOUT, deadline, where);
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) fail("{}: send failed: {}", where, std::strerror(errno));
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The body of a chunked transfer (hex size, CRLF, data, CRLF, ..., 0), or
// nullopt while it is incomplete.
std::optional<std::string> unchunk(const std::string& raw, const std::string& where) {
  std::string body;
  std::size_t at = 0;
  while (true) {
    const std::size_t end = raw.find("\r\n", at);
    if (end == std::string::npos || end == at) return std::nullopt;
    char* digits_end = nullptr;
    const std::size_t size = std::strtoul(raw.c_str() + at, &digits_end, 16);
    if (digits_end == raw.c_str() + at) fail("{}: the chunked response has a bad chunk size", where);
    if (size == 0) return body;
    if (end + 2 + size + 2 > raw.size()) return std::nullopt;
    body.append(raw, end + 2, size);
    at = end + 2 + size + 2;
  }
}

// The response in `raw` once it is whole (its Content-Length, or its last
// chunk, has arrived; without either, when the server has closed).
std::optional<HttpResponse> parse_response(const std::string& raw, bool closed, const std::string& where) {
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (closed) fail("{}: the answer is not an HTTP response ({} bytes)", where, raw.size());
    return std::nullopt;
  }
  if (raw.rfind("HTTP/1.", 0) != 0) fail("{}: the answer is not an HTTP response", where);
  HttpResponse response;
  response.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  const std::string head = lower(raw.substr(0, head_end));
  std::string body = raw.substr(head_end + 4);
  const std::size_t encoding = head.find("\r\ntransfer-encoding:");
  if (encoding != std::string::npos &&
      head.substr(encoding, head.find("\r\n", encoding + 2) - encoding).find("chunked") != std::string::npos) {
    std::optional<std::string> whole = unchunk(body, where);
    if (!whole && closed) fail("{}: the chunked response ends early", where);
    if (!whole) return std::nullopt;
    body = std::move(*whole);
  } else if (const std::size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
    const std::size_t length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
    if (body.size() < length && closed) fail("{}: the response ends after {} of {} bytes", where, body.size(), length);
    if (body.size() < length) return std::nullopt;
    body.resize(length);
  } else if (!closed) {
    return std::nullopt;
  }
  response.body = std::move(body);
  return response;
}

HttpResponse receive_response(int fd, Clock::time_point deadline, const std::string& where) {
  std::string data;
  char buffer[16384];
  while (true) {
    wait_for(fd, POLLIN, deadline, where);
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno != EAGAIN && errno != EINTR) fail("{}: receive failed: {}", where, std::strerror(errno));
    if (n > 0) data.append(buffer, static_cast<std::size_t>(n));
    if (n < 0) continue;
    if (std::optional<HttpResponse> response = parse_response(data, n == 0, where)) return *response;
  }
}

}  // namespace

Url Url::parse(const std::string& address) {
  auto bad = [&](const std::string& reason) {
    fail("\"{}\": {}; expected [http://]host[:port][/path]", address, reason);
  };
  std::string rest = address;
  if (const std::size_t scheme = rest.find("://"); scheme != std::string::npos) {
    const std::string name = lower(rest.substr(0, scheme));
    if (name == "https") bad("https is not supported; inference servers serve plain http");
    if (name != "http") bad(fmt::format("the scheme {} is not http", rest.substr(0, scheme)));
    rest = rest.substr(scheme + 3);
  }
  // The address is a base that /chat/completions is appended to.
  if (const std::size_t at = rest.find_first_of("?#"); at != std::string::npos) {
    bad(fmt::format("it has a {} ({}), which cannot precede the request path", rest[at] == '?' ? "query" : "fragment",
                    rest.substr(at)));
  }
  Url url;
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) url.base = rest.substr(slash);
  while (!url.base.empty() && url.base.back() == '/') url.base.pop_back();
  // "http//host:port" reads as host "http" and path "//host:port".
  if (url.base.find("//") != std::string::npos) {
    bad(fmt::format("the path {} has an empty segment (is a ':' missing after http?)", url.base));
  }
  std::string port_text = url.port;  // the default unless the address has one
  if (!authority.empty() && authority.front() == '[') {  // [IPv6][:port]
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) bad("the IPv6 host has no closing ']'");
    url.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') bad(fmt::format("{} follows the IPv6 host", after));
    if (!after.empty()) port_text = after.substr(1);
    if (url.host.empty() || url.host.find_first_not_of("0123456789abcdefABCDEF:.%") != std::string::npos) {
      bad(fmt::format("[{}] is not an IPv6 address", url.host));
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
    if (url.host.empty()) bad("the host is empty");
    const std::size_t odd = url.host.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
    if (odd != std::string::npos) bad(fmt::format("the host {} has a '{}'", url.host, url.host[odd]));
  }
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) < 1 || std::stoi(port_text) > 65535) {
    bad(fmt::format("the port {} is not a number in [1, 65535]", port_text.empty() ? "''" : port_text));
  }
  url.port = std::to_string(std::stoi(port_text));
  return url;
}

HttpResponse http_post_json(const Url& url, const std::string& path, const std::string& body,
                            std::chrono::milliseconds timeout) {
  const std::string target = url.base + path;
  const std::string where = "http://" + url.host + ":" + url.port + target;
  const Clock::time_point deadline = Clock::now() + timeout;
  Socket socket(connect_to(url, deadline, where));
  const std::string host = url.host.find(':') == std::string::npos ? url.host : "[" + url.host + "]";  // IPv6
  const std::string request = "POST " + target + " HTTP/1.1\r\nHost: " + host + ":" + url.port +
                              "\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
                              "Connection: close\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  send_all(socket.fd(), request, deadline, where);
  return receive_response(socket.fd(), deadline, where);
}

}  // namespace talon::regen
