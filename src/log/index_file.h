// A memory-mapped file of fixed-size entries: the storage under OffsetIndex
// and TimeIndex (Kafka's AbstractIndex).
//
// The file is sized to `capacity_bytes` sparsely (ftruncate, as Kafka does)
// and mapped once. Disk blocks are reserved ahead of the entries in growing
// chunks (posix_fallocate: 4 KiB, doubling up to 1 MiB), so a store into the
// mapping never lands on an unreserved page and can never SIGBUS on a full
// disk, while an idle partition holds 4 KiB per index instead of the whole
// capacity (a 1 GiB segment's full capacity is 2 + 3 MiB: a thousand
// partitions would pin 5 GB). When a reservation fails (ENOSPC), append()
// refuses the entry and the caller skips it: the index is sparse anyway,
// lookups scan on from the entry before. trim() shrinks the file to the
// entries actually written (on roll and on close). The mapping is never
// shrunk or moved while the object lives, so readers may access entries
// [0, entries()) without locks.
//
// Thread-safety: one writer (append/truncate_entries/trim) at a time,
// externally serialized; any number of concurrent readers of entries(),
// entry(). A reader sees an entry only after its bytes are stored
// (release/acquire on the entry count).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "io/file.h"
#include "log/log_error.h"

namespace nocopy::log {

class IndexFile {
 public:
  // Opens or creates `path`. With `reset` the old content is discarded.
  // Otherwise entries() = file size / entry_size (callers validate and call
  // truncate_entries() when the tail is garbage). Throws std::system_error
  // (open, fallocate, mmap) on failure.
  IndexFile(const std::filesystem::path& path, std::size_t entry_size, std::size_t capacity_bytes,
            bool reset);
  ~IndexFile();
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  std::size_t entries() const noexcept { return entries_.load(std::memory_order_acquire); }
  std::size_t max_entries() const noexcept { return max_entries_; }
  bool full() const noexcept { return entries() >= max_entries_; }
  std::size_t entry_size() const noexcept { return entry_size_; }
  // Precondition: i < entries().
  const std::byte* entry(std::size_t i) const noexcept { return base_ + i * entry_size_; }

  // Precondition: !full(). Copies entry_size bytes from `e`. False (nothing
  // stored) when the disk blocks for the entry could not be reserved.
  [[nodiscard]] bool append(const std::byte* e) noexcept;
  // Bytes of the file reserved on disk from offset 0 (>= the entries').
  std::size_t reserved_bytes() const noexcept { return reserved_; }
  // The errno of the last failed reservation (0: none failed).
  int reserve_errno() const noexcept { return reserve_errno_; }
  // Drops entries [n, entries()).
  void truncate_entries(std::size_t n) noexcept;
  // Shrinks the file to entries() * entry_size (the mapping stays).
  LogResult<void> trim();
  // Writes the mapped entries back (msync).
  LogResult<void> flush();
  const std::filesystem::path& path() const noexcept { return file_.path(); }
  // The file's size at open was not a multiple of entry_size (torn or garbage).
  bool had_partial_entry() const noexcept { return had_partial_entry_; }

 private:
  io::File file_;
  std::size_t entry_size_;
  std::byte* base_ = nullptr;
  std::size_t map_len_ = 0;
  std::size_t max_entries_ = 0;
  std::atomic<std::size_t> entries_{0};
  std::size_t reserved_ = 0;
  int reserve_errno_ = 0;

  // Reserves at least up to `end` bytes (rounded up to the next chunk).
  bool reserve(std::size_t end) noexcept;
  bool had_partial_entry_ = false;
};

}  // namespace nocopy::log
