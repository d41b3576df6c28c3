// HttpSession: the net::ConnectionHandler of one HTTP/1.1 connection.
//
// Per request head (parse_request): answer GET/HEAD from the served
// directory, queue the response on the connection in request order
// (pipelining), keep the connection alive unless the client or an error says
// otherwise. Errors in the request head (400/414/431/505) are answered and
// the connection closed after the answer is flushed.
//
// Header-read timeout (slowloris): from the first byte of a request head
// until it is complete at most ServeOptions::header_timeout may pass, however
// slowly the bytes trickle in; then the connection is closed. Idle keep-alive
// connections are closed by the Connection's idle timeout.
//
// Thread-safety: loop thread only, like its Connection.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <span>
#include <string>

#include "net/connection.h"
#include "serve/file_server.h"
#include "serve/http_request.h"

namespace nocopy::serve {

class HttpSession final : public net::ConnectionHandler {
 public:
  HttpSession(const ServeOptions& opts, int root_fd, FileServer::ThreadState& ts)
      : opts_(opts), root_fd_(root_fd), ts_(ts) {}
  ~HttpSession() override;

  std::size_t on_data(net::Connection& conn, std::span<std::byte> data) override;
  void on_close(net::Connection& conn, net::CloseReason reason) override;

 private:
  struct Reply;
  void handle(net::Connection& conn, const HttpRequest& req);
  void serve_file(net::Connection& conn, const HttpRequest& req, int fd, const struct stat& st, const std::string& name);
  void serve_listing(net::Connection& conn, const HttpRequest& req, int dir_fd, const std::string& shown_path);
  void send_error(net::Connection& conn, const HttpRequest* req, int status, bool close,
                  const std::string& extra_headers = {});
  void send_head_only(net::Connection& conn, const HttpRequest& req, int status, const std::string& headers,
                      std::string body);
  std::string common_headers(int status, bool keep_alive);
  void log(net::Connection& conn, const std::string& request_line, int status, std::uint64_t body);
  void arm_header_timer(net::Connection& conn);
  void cancel_header_timer(net::Connection& conn);

  const ServeOptions& opts_;
  int root_fd_;
  FileServer::ThreadState& ts_;
  net::EventLoop* loop_ = nullptr;
  net::EventLoop::TimerId header_timer_ = 0;
  std::string peer_ip_;
};

}  // namespace nocopy::serve
