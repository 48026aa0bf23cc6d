// A small HTTP/1.1 client for talking to an inference server on the local
// network (SGLang and vLLM serve plain HTTP): one POST per connection, a
// deadline over the whole exchange. Plain sockets, so the binary needs no
// HTTP library at run time.
#pragma once

#include <chrono>
#include <string>

namespace talon::regen {

// http://host[:port][/base]; the scheme may be left out.
struct Url {
  std::string host;
  std::string port = "80";
  std::string base;  // path prefix without a trailing '/', e.g. "" or "/v1"

  // Throws talon::Error, quoting the address and the reason, for another
  // scheme, a host that is not a name or a bracketed IPv6 address, a port
  // outside [1, 65535], an empty path segment ("http//host" is host "http"),
  // or a query or fragment (the base precedes the request's path).
  static Url parse(const std::string& address);
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

// POSTs a JSON body to url.base + path. Throws talon::Error naming the
// address when the server cannot be reached, closes early, sends something
// that is not HTTP, or the deadline passes; an HTTP error status is a
// response, not an exception.
HttpResponse http_post_json(const Url& url, const std::string& path, const std::string& body,
                            std::chrono::milliseconds timeout);

}  // namespace talon::regen
