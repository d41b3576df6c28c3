#include "serve/http_session.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "buf/buffer.h"
#include "buf/chain.h"
#include "io/fd.h"
#include "io/file.h"
#include "net/chain_outbound.h"
#include "serve/byte_range.h"
#include "serve/http_date.h"
#include "serve/mime_types.h"
#include "serve/request_path.h"

namespace nocopy::serve {

namespace {

const char* status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// openat2(dirfd, path, O_RDONLY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS):
// the kernel refuses any resolution that leaves dirfd's tree (EXDEV).
int open_beneath(int dirfd, const std::string& rel) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* p = rel.empty() ? "." : rel.c_str();
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, p, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: RESOLVE_CACHED only, or a rename race
    return -1;
  }
}

int status_for_open_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR: return 404;
    case EXDEV:
    case ELOOP:
    case EACCES:
    case EPERM:
    case ENXIO: return 403;
    case ENAMETOOLONG: return 414;
    case EMFILE:
    case ENFILE:
    case ENOMEM: return 503;
    default: return 500;
  }
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string url_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", c);
    }
  }
  return out;
}

// If-None-Match: "*" or a list of (possibly weak) entity tags; weak comparison.
bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    while (!header.empty() && (header.front() == ' ' || header.front() == '\t' || header.front() == ','))
      header.remove_prefix(1);
    if (header.empty()) break;
    if (header.front() == '*') return true;
    if (header.starts_with("W/")) header.remove_prefix(2);
    if (header.empty() || header.front() != '"') return false;
    auto end = header.find('"', 1);
    if (end == std::string_view::npos) return false;
    if (header.substr(0, end + 1) == etag) return true;
    header.remove_prefix(end + 1);
  }
  return false;
}

std::time_t now_seconds() { return std::time(nullptr); }

}  // namespace

HttpSession::~HttpSession() {
  if (header_timer_ && loop_) loop_->cancel(header_timer_);
}

void HttpSession::arm_header_timer(net::Connection& conn) {
  if (header_timer_ || opts_.header_timeout.count() <= 0) return;
  loop_ = &conn.loop();
  std::weak_ptr<net::Connection> w = conn.weak_from_this();
  header_timer_ = conn.loop().run_after(opts_.header_timeout, [this, w] {
    header_timer_ = 0;
    if (auto c = w.lock(); c && c->is_open()) {
      spdlog::debug("serve: {} header timeout, closing", c->peer_string());
      c->close(net::CloseReason::local);
    }
  });
}

void HttpSession::cancel_header_timer(net::Connection& conn) {
  if (header_timer_) {
    conn.loop().cancel(header_timer_);
    header_timer_ = 0;
  }
}

void HttpSession::on_close(net::Connection& conn, net::CloseReason reason) {
  cancel_header_timer(conn);
  if (reason == net::CloseReason::io_error)
    spdlog::warn("serve: {} closed: {}", conn.peer_string(), conn.last_error());
}

std::size_t HttpSession::on_data(net::Connection& conn, std::span<std::byte> data) {
  if (peer_ip_.empty()) {
    peer_ip_ = conn.peer_string();
    if (auto colon = peer_ip_.rfind(':'); colon != std::string::npos) peer_ip_.resize(colon);
    if (peer_ip_.size() > 2 && peer_ip_.front() == '[') peer_ip_ = peer_ip_.substr(1, peer_ip_.size() - 2);
  }
  std::string_view bytes(reinterpret_cast<const char*>(data.data()), data.size());
  ParseResult pr = parse_request(bytes, opts_.limits);
  if (pr.status == ParseResult::Status::incomplete) {
    arm_header_timer(conn);
    return 0;
  }
  cancel_header_timer(conn);
  if (pr.status == ParseResult::Status::error) {
    spdlog::debug("serve: {} bad request: {}", conn.peer_string(), pr.reason);
    send_error(conn, nullptr, pr.http_status, true);
    conn.close_after_flush();
    return data.size();
  }
  ++ts_.requests;
  handle(conn, pr.request);
  if (!pr.request.keep_alive || pr.request.has_body) conn.close_after_flush();
  return pr.consumed;
}

std::string HttpSession::common_headers(int status, bool keep_alive) {
  std::string h;
  h.reserve(320);
  fmt::format_to(std::back_inserter(h), "HTTP/1.1 {} {}\r\nServer: nocopy\r\nDate: {}\r\n", status,
                 status_text(status), ts_.http_date_now());
  h += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  return h;
}

void HttpSession::log(net::Connection&, const std::string& request_line, int status, std::uint64_t body) {
  if (!ts_.log.enabled()) return;
  ts_.log.record(peer_ip_, ts_.date_time >= 0 ? ts_.date_time : now_seconds(), request_line, status, body);
}

void HttpSession::send_head_only(net::Connection& conn, const HttpRequest& req, int status, const std::string& headers,
                                 std::string body) {
  const bool keep = req.keep_alive && !req.has_body;
  std::string h = common_headers(status, keep);
  h += headers;
  fmt::format_to(std::back_inserter(h), "Content-Length: {}\r\n\r\n", body.size());
  const bool head = req.method == "HEAD";
  const std::uint64_t body_len = head ? 0 : body.size();
  if (!head) h += body;
  log(conn, req.request_line(), status, body_len);
  conn.send_bytes(std::move(h));
}

void HttpSession::send_error(net::Connection& conn, const HttpRequest* req, int status, bool close,
                             const std::string& extra_headers) {
  std::string body = fmt::format("<html><head><title>{0} {1}</title></head><body><h1>{0} {1}</h1></body></html>\n",
                                 status, status_text(status));
  std::string h = common_headers(status, !close && req && req->keep_alive && !req->has_body);
  h += "Content-Type: text/html; charset=utf-8\r\n";
  h += extra_headers;
  fmt::format_to(std::back_inserter(h), "Content-Length: {}\r\n\r\n", body.size());
  const bool head = req && req->method == "HEAD";
  if (!head) h += body;
  log(conn, req ? req->request_line() : std::string("-"), status, head ? 0 : body.size());
  conn.send_bytes(std::move(h));
}

void HttpSession::handle(net::Connection& conn, const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    send_error(conn, &req, 405, req.has_body, "Allow: GET, HEAD\r\n");
    return;
  }
  RequestPath path = resolve_target(req.target);
  if (path.status != 0) {
    send_error(conn, &req, path.status, false);
    return;
  }
  io::Fd fd(open_beneath(root_fd_, path.relative));
  if (!fd) {
    const int err = errno;
    if (err == ENOSYS) spdlog::error("serve: openat2 unavailable (kernel < 5.6?)");
    send_error(conn, &req, status_for_open_errno(err), false);
    return;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    send_error(conn, &req, 500, false);
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    if (!path.trailing_slash) {
      // Redirect "/dir" to "/dir/" so relative links in index.html resolve.
      std::string target = req.target.substr(0, req.target.find_first_of("?#"));
      if (target.empty() || target.front() != '/') target = "/" + url_escape(path.relative);
      std::string loc = "Location: " + target + "/\r\n";
      send_error(conn, &req, 301, false, loc);
      return;
    }
    std::string index_rel = path.relative.empty() ? "index.html" : path.relative + "/index.html";
    io::Fd index(open_beneath(root_fd_, index_rel));
    struct stat ist {};
    if (index && ::fstat(index.get(), &ist) == 0 && S_ISREG(ist.st_mode)) {
      serve_file(conn, req, index.release(), ist, "index.html");
      return;
    }
    if (opts_.list) {
      serve_listing(conn, req, fd.get(), path.decoded);
      return;
    }
    send_error(conn, &req, 403, false);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    send_error(conn, &req, 403, false);
    return;
  }
  serve_file(conn, req, fd.release(), st, path.relative);
}

void HttpSession::serve_file(net::Connection& conn, const HttpRequest& req, int raw_fd, const struct stat& st,
                             const std::string& name) {
  io::Fd fd(raw_fd);
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const std::string etag = fmt::format("\"{:x}-{:x}\"", static_cast<std::uint64_t>(st.st_mtim.tv_sec), size);
  const std::string last_modified = format_http_date(st.st_mtim.tv_sec);
  const bool keep = req.keep_alive && !req.has_body;

  // Conditional GET (RFC 9110 13.2.2): If-None-Match wins over If-Modified-Since.
  bool not_modified = false;
  if (!req.if_none_match.empty()) {
    not_modified = etag_matches(req.if_none_match, etag);
  } else if (!req.if_modified_since.empty()) {
    if (auto t = parse_http_date(req.if_modified_since)) not_modified = st.st_mtim.tv_sec <= *t;
  }
  if (not_modified) {
    std::string h = common_headers(304, keep);
    fmt::format_to(std::back_inserter(h), "ETag: {}\r\nLast-Modified: {}\r\n\r\n", etag, last_modified);
    log(conn, req.request_line(), 304, 0);
    conn.send_bytes(std::move(h));
    return;
  }

  ByteRange range;
  if (!req.range.empty()) {
    const bool if_range_ok = req.if_range.empty() || req.if_range == etag || req.if_range == last_modified;
    if (if_range_ok) range = parse_range(req.range, size);
  }
  if (range.kind == ByteRange::Kind::unsatisfiable) {
    std::string h = common_headers(416, keep);
    fmt::format_to(std::back_inserter(h), "Content-Range: bytes */{}\r\nContent-Length: 0\r\n\r\n", size);
    log(conn, req.request_line(), 416, 0);
    conn.send_bytes(std::move(h));
    return;
  }

  int status = 200;
  std::uint64_t first = 0, length = size;
  std::string h;
  if (range.kind == ByteRange::Kind::satisfiable) {
    status = 206;
    first = range.first;
    length = range.length();
    h = common_headers(206, keep);
    fmt::format_to(std::back_inserter(h), "Content-Range: bytes {}-{}/{}\r\n", range.first, range.last, size);
  } else {
    h = common_headers(200, keep);
  }
  fmt::format_to(std::back_inserter(h),
                 "Content-Type: {}\r\nContent-Length: {}\r\nLast-Modified: {}\r\nETag: {}\r\nAccept-Ranges: bytes\r\n\r\n",
                 content_type_for(name), length, last_modified, etag);
  const bool head = req.method == "HEAD";
  log(conn, req.request_line(), status, head ? 0 : length);
  if (head || length == 0) {
    conn.send_bytes(std::move(h));
    return;
  }
  buf::Chain chain;
  chain.append(buf::Buffer::copy_of(std::string_view(h)));  // COPIES the ~250-byte header once
  auto file = std::make_shared<const io::File>(std::move(fd));
  chain.append(buf::FileRegion{std::move(file), first, length});
  conn.send(std::make_unique<net::ChainOutbound>(std::move(chain), *ts_.chain_sender));
}

void HttpSession::serve_listing(net::Connection& conn, const HttpRequest& req, int dir_fd, const std::string& shown) {
  int dup = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) {
    send_error(conn, &req, status_for_open_errno(errno), false);
    return;
  }
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    send_error(conn, &req, 500, false);
    return;
  }
  std::vector<std::pair<std::string, bool>> entries;
  constexpr std::size_t kMaxEntries = 10'000;  // bounded memory per listing
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    bool dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
      struct stat st {};
      dir = ::fstatat(::dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
    }
    entries.emplace_back(std::string(n), dir);
    if (entries.size() >= kMaxEntries) break;
  }
  ::closedir(d);
  std::sort(entries.begin(), entries.end());
  std::string title = html_escape(shown);
  std::string body = fmt::format("<html><head><title>Index of {0}</title></head><body><h1>Index of {0}</h1><pre>\n"
                                 "<a href=\"../\">../</a>\n",
                                 title);
  for (const auto& [name, dir] : entries) {
    std::string shown_name = name + (dir ? "/" : "");
    fmt::format_to(std::back_inserter(body), "<a href=\"{}\">{}</a>\n", html_escape(url_escape(shown_name)),
                   html_escape(shown_name));
  }
  body += "</pre></body></html>\n";
  send_head_only(conn, req, 200, "Content-Type: text/html; charset=utf-8\r\n", std::move(body));
}

}  // namespace nocopy::serve
