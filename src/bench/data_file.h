// The benchmark's source file: created once, reused by every later run.
//
// ensure_data_file(dir, size) returns dir/"nocopy-bench-<size>.dat", creating
// `dir` and writing the file only when it is missing or has the wrong size
// (a half-written file from an interrupted run has the wrong size: the file
// is written under a temporary name and renamed into place when complete).
// The content is a deterministic pseudo-random byte stream (data_byte_at),
// so a receiver can verify what it got without reading the file.
//
// Setup errors throw std::system_error naming the syscall and the path.
#pragma once

#include <cstdint>
#include <filesystem>

namespace nocopy::bench {

// $XDG_CACHE_HOME/nocopy, else $HOME/.cache/nocopy, else /tmp/nocopy-cache.
std::filesystem::path default_data_dir();

struct DataFile {
  std::filesystem::path path;
  bool created = false;  // written by this call (false: reused)
};

DataFile ensure_data_file(const std::filesystem::path& dir, std::uint64_t size);

// Content of the generated files: a function of the offset only.
std::uint64_t data_word_at(std::uint64_t word_index);

// Order-sensitive checksum of a byte stream, fed in arbitrary pieces.
class StreamChecksum {
 public:
  void update(const unsigned char* p, std::size_t n);
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 1469598103934665603ull;
};

// StreamChecksum of the first `len` bytes of a generated file, starting at
// `offset`, computed without reading it.
std::uint64_t expected_checksum(std::uint64_t offset, std::uint64_t len);

}  // namespace nocopy::bench
