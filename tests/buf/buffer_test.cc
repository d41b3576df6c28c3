#include "buf/buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

namespace nocopy::buf {
namespace {

TEST(Buffer, EmptyByDefault) {
  Buffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.use_count(), 0u);
  EXPECT_FALSE(b.unique());
}

TEST(Buffer, CopyOfCopiesAndIsUniqueAndWritable) {
  std::string src = "hello, chain";
  Buffer b = Buffer::copy_of(src);
  EXPECT_EQ(b.view(), src);
  EXPECT_NE(static_cast<const void*>(b.data()), static_cast<const void*>(src.data()));
  EXPECT_TRUE(b.unique());
  EXPECT_TRUE(b.writable());
  b.mutable_data()[0] = std::byte{'J'};
  EXPECT_EQ(b.view(), "Jello, chain");
  EXPECT_EQ(src, "hello, chain");
}

TEST(Buffer, AllocateIsAlignedAndWritable) {
  Buffer b = Buffer::allocate(100);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % alignof(std::max_align_t), 0u);
  std::memset(b.mutable_data(), 'x', b.size());
  EXPECT_EQ(b.view(), std::string(100, 'x'));
}

TEST(Buffer, SliceSharesStorageWithoutCopying) {
  Buffer b = Buffer::copy_of(std::string_view("0123456789"));
  Buffer s = b.slice(3, 4);
  EXPECT_EQ(s.view(), "3456");
  EXPECT_EQ(s.data(), b.data() + 3);
  EXPECT_EQ(b.use_count(), 2u);
  EXPECT_EQ(s.use_count(), 2u);
  Buffer s2 = s.slice(1, 2);
  EXPECT_EQ(s2.view(), "45");
  EXPECT_EQ(b.use_count(), 3u);
  s.reset();
  EXPECT_EQ(b.use_count(), 2u);
  EXPECT_EQ(s2.view(), "45");
}

TEST(Buffer, SliceBoundsAreChecked) {
  Buffer b = Buffer::copy_of(std::string_view("abc"));
  EXPECT_THROW((void)b.slice(4, 0), std::out_of_range);
  EXPECT_THROW((void)b.slice(2, 2), std::out_of_range);
  EXPECT_THROW((void)b.slice(1, SIZE_MAX), std::out_of_range);
  EXPECT_EQ(b.slice(3, 0).size(), 0u);
  EXPECT_EQ(b.slice(0, 3).view(), "abc");
  EXPECT_THROW(b.trim_front(4), std::out_of_range);
  EXPECT_THROW(b.trim_back(4), std::out_of_range);
  b.trim_front(1);
  b.trim_back(1);
  EXPECT_EQ(b.view(), "b");
}

TEST(Buffer, SharedStorageIsReadOnly) {
  Buffer b = Buffer::copy_of(std::string_view("abcdef"));
  Buffer s = b.share();
  EXPECT_FALSE(b.unique());
  EXPECT_THROW((void)b.mutable_data(), std::logic_error);
  EXPECT_THROW((void)s.mutable_data(), std::logic_error);
  // unshare() copies when shared; the other holder is untouched.
  s.unshare();
  EXPECT_TRUE(s.unique());
  EXPECT_NE(s.data(), b.data());
  s.mutable_data()[0] = std::byte{'X'};
  EXPECT_EQ(s.view(), "Xbcdef");
  EXPECT_EQ(b.view(), "abcdef");
  // b is unique again: unshare() is a no-op, no copy.
  const std::byte* before = b.data();
  b.unshare();
  EXPECT_EQ(b.data(), before);
}

TEST(Buffer, CloneCopies) {
  Buffer b = Buffer::copy_of(std::string_view("abcdef"));
  Buffer s = b.slice(2, 3);
  Buffer c = s.clone();
  EXPECT_EQ(c.view(), "cde");
  EXPECT_NE(c.data(), s.data());
  EXPECT_TRUE(c.unique());
  EXPECT_EQ(b.use_count(), 2u);
}

struct DeleterLog {
  int calls = 0;
  std::byte* ptr = nullptr;
  std::size_t size = 0;
};

TEST(Buffer, WrapCallsDeleterOnceAfterLastSlice) {
  DeleterLog log;
  auto* mem = new std::byte[64];
  std::memset(mem, 'a', 64);
  Buffer b = Buffer::wrap(mem, 64, [&log](std::byte* p, std::size_t n) {
    ++log.calls;
    log.ptr = p;
    log.size = n;
    delete[] p;
  });
  EXPECT_EQ(b.data(), mem);  // adopted, not copied
  Buffer s1 = b.slice(10, 5);
  Buffer s2 = s1.share();
  std::vector<Buffer> more;
  for (int i = 0; i < 10; ++i) more.push_back(b.slice(static_cast<std::size_t>(i), 1));
  b.reset();
  EXPECT_EQ(log.calls, 0);
  more.clear();
  EXPECT_EQ(log.calls, 0);
  Buffer moved = std::move(s1);
  EXPECT_EQ(s1.use_count(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  moved.reset();
  EXPECT_EQ(log.calls, 0);
  EXPECT_EQ(s2.view(), "aaaaa");  // the slice kept the memory alive
  s2.reset();
  EXPECT_EQ(log.calls, 1);
  EXPECT_EQ(log.ptr, mem);
  EXPECT_EQ(log.size, 64u);
}

TEST(Buffer, WrapIsWritableWhenUnique) {
  int calls = 0;
  char mem[8] = "abcdefg";
  {
    Buffer b = Buffer::wrap(mem, 7, [&calls](std::byte*, std::size_t) { ++calls; });
    b.mutable_data()[0] = std::byte{'z'};
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(mem[0], 'z');
}

TEST(Buffer, WrapUnownedIsNeverWritable) {
  static const char kData[] = "static bytes";
  Buffer b = Buffer::wrap_unowned(kData, sizeof kData - 1);
  EXPECT_EQ(b.view(), "static bytes");
  EXPECT_TRUE(b.unique());
  EXPECT_FALSE(b.writable());
  EXPECT_THROW((void)b.mutable_data(), std::logic_error);
  b.unshare();  // copies into writable storage
  EXPECT_TRUE(b.writable());
  EXPECT_NE(static_cast<const void*>(b.data()), static_cast<const void*>(kData));
}

TEST(Buffer, AdoptTakesContainerBytesWithoutCopying) {
  std::string s(1000, 'q');
  const char* heap = s.data();
  Buffer b = Buffer::adopt(std::move(s));
  EXPECT_EQ(static_cast<const void*>(b.data()), static_cast<const void*>(heap));
  EXPECT_EQ(b.view(), std::string(1000, 'q'));
  Buffer slice = b.slice(10, 5);
  b.reset();
  EXPECT_EQ(slice.view(), "qqqqq");  // the slice keeps the string alive

  std::vector<std::byte> v(300, std::byte{9});
  const std::byte* vheap = v.data();
  Buffer c = Buffer::adopt(std::move(v));
  EXPECT_EQ(c.data(), vheap);
  EXPECT_EQ(c.size(), 300u);
  c.mutable_data()[0] = std::byte{1};
  EXPECT_EQ(c.bytes()[0], std::byte{1});

  Buffer small = Buffer::adopt(std::string("hi"));
  EXPECT_EQ(small.view(), "hi");
}

TEST(Buffer, MoveAssignReleasesOldStorage) {
  int calls = 0;
  char mem[4] = "abc";
  Buffer a = Buffer::wrap(mem, 3, [&calls](std::byte*, std::size_t) { ++calls; });
  a = Buffer::copy_of(std::string_view("xyz"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(a.view(), "xyz");
}

// Slices destroyed concurrently in several threads: the deleter runs exactly
// once, after every thread is done reading.
TEST(Buffer, ConcurrentReleaseCallsDeleterOnce) {
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> calls{0};
    auto* mem = new std::byte[256];
    std::memset(mem, 7, 256);
    Buffer b = Buffer::wrap(mem, 256, [&calls](std::byte* p, std::size_t) {
      calls.fetch_add(1);
      delete[] p;
    });
    std::vector<std::thread> threads;
    std::atomic<long> sum{0};
    for (int t = 0; t < 4; ++t) {
      std::vector<Buffer> mine;
      for (int i = 0; i < 64; ++i) mine.push_back(b.slice(static_cast<std::size_t>(i), 4));
      threads.emplace_back([mine = std::move(mine), &sum]() mutable {
        long local = 0;
        for (auto& s : mine) {
          for (std::byte x : s.bytes()) local += static_cast<long>(x);
          s.reset();
        }
        sum += local;
      });
    }
    b.reset();
    for (auto& t : threads) t.join();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(sum.load(), 4L * 64 * 4 * 7);
  }
}

}  // namespace
}  // namespace nocopy::buf
