#include "bench/technique.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "bench/units.h"

namespace nocopy::bench {

namespace {

bool is_socket_strategy(io::Strategy s) {
  const auto list = io::socket_strategies();
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_copy_strategy(io::Strategy s) {
  const auto list = io::file_copy_strategies();
  return std::find(list.begin(), list.end(), s) != list.end();
}

Technique strategy_row(io::Strategy s, std::size_t pipe) {
  Technique t;
  t.kind = Technique::Kind::strategy;
  t.strategy = s;
  t.pipe_size = pipe;
  t.name = std::string(io::to_string(s));
  return t;
}

std::string valid_names(Workload w) {
  std::string out = "all";
  if (w != Workload::copy) out += ", memcpy, send";
  const auto list = (w == Workload::copy) ? io::file_copy_strategies() : io::socket_strategies();
  for (auto s : list) out += fmt::format(", {}", io::to_string(s));
  out += ", splice:<pipe size>";
  return out;
}

}  // namespace

std::string workload_name(Workload w) {
  switch (w) {
    case Workload::transfer: return "transfer";
    case Workload::copy: return "copy";
    case Workload::small: return "small";
  }
  return "?";
}

std::vector<Technique> default_techniques(Workload w, std::size_t default_pipe_size) {
  std::vector<Technique> out;
  if (w != Workload::copy) {
    out.push_back({Technique::Kind::memcpy_ref, io::Strategy::read_write, 0, "memcpy"});
    out.push_back({Technique::Kind::send_ref, io::Strategy::read_write, 0, "send"});
  }
  const auto list = (w == Workload::copy) ? io::file_copy_strategies() : io::socket_strategies();
  for (auto s : list) {
    out.push_back(strategy_row(s, default_pipe_size));
    // The seeds' splice TODO: the pipe size is the first thing to look at.
    if (s == io::Strategy::splice && w == Workload::transfer && default_pipe_size != (64u << 10)) {
      Technique small_pipe = strategy_row(s, 64u << 10);
      small_pipe.name = "splice:64K";
      out.push_back(small_pipe);
    }
  }
  return out;
}

std::vector<Technique> parse_techniques(std::string_view text, Workload w, std::size_t default_pipe_size) {
  std::vector<Technique> out;
  auto add = [&out](Technique t) {
    const bool dup = std::any_of(out.begin(), out.end(), [&](const Technique& o) { return o.name == t.name; });
    if (!dup) out.push_back(std::move(t));
  };
  std::string_view rest = text;
  if (rest.find_first_not_of(" ,") == std::string_view::npos) {
    throw std::invalid_argument("empty strategy list (valid: " + valid_names(w) + ")");
  }
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = (comma == std::string_view::npos) ? std::string_view{} : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    if (item == "all") {
      for (auto& t : default_techniques(w, default_pipe_size)) add(std::move(t));
      continue;
    }
    if (w != Workload::copy && item == "memcpy") {
      add({Technique::Kind::memcpy_ref, io::Strategy::read_write, 0, "memcpy"});
      continue;
    }
    if (w != Workload::copy && item == "send") {
      add({Technique::Kind::send_ref, io::Strategy::read_write, 0, "send"});
      continue;
    }
    std::string_view name = item;
    std::size_t pipe = default_pipe_size;
    bool explicit_pipe = false;
    if (const auto colon = item.find(':'); colon != std::string_view::npos) {
      name = item.substr(0, colon);
      const auto p = parse_size(item.substr(colon + 1));
      if (!p || *p == 0 || *p > (1u << 30)) {
        throw std::invalid_argument(fmt::format("bad pipe size in '{}' (expected e.g. splice:64K)", item));
      }
      pipe = static_cast<std::size_t>(*p);
      explicit_pipe = true;
    }
    const auto s = io::parse_strategy(name);
    const bool valid = s && ((w == Workload::copy) ? is_copy_strategy(*s) : is_socket_strategy(*s));
    if (!valid) {
      throw std::invalid_argument(
          fmt::format("unknown strategy '{}' for bench {} (valid: {})", item, workload_name(w), valid_names(w)));
    }
    if (explicit_pipe && *s != io::Strategy::splice && *s != io::Strategy::uring_splice) {
      throw std::invalid_argument(fmt::format("'{}': only splice and uring_splice take a pipe size", item));
    }
    Technique t = strategy_row(*s, pipe);
    if (explicit_pipe) t.name = fmt::format("{}:{}", name, format_size(pipe));
    add(std::move(t));
  }
  if (out.empty()) throw std::invalid_argument("empty strategy list (valid: " + valid_names(w) + ")");
  return out;
}

SeedTheory seed_theory(const Technique& t) {
  if (t.kind != Technique::Kind::strategy) return {};
  switch (t.strategy) {
    case io::Strategy::read_write: return {"2", "2", "4", "read+write"};
    case io::Strategy::mmap_write: return {"1", "2", "4", "mmap+write"};
    case io::Strategy::sendfile: return {"1 (0 w/ DMA gather)", "2", "2", "sendfile"};
    case io::Strategy::splice: return {"0", "2", "2", "splice"};
    default: return {};
  }
}

}  // namespace nocopy::bench
