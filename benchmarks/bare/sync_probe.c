/* sync_probe: what this disk gives fdatasync, with nothing but the syscalls.
 *
 *   gcc -O2 -pthread -o build/sync_probe benchmarks/bare/sync_probe.c
 *   build/sync_probe DIR [ROUNDS]
 *
 * Part 1, zero fill (the log's LogConfig::sync_zero_fill_bytes): one thread
 * pwrites 1 KiB appends and calls fdatasync after every PER of them, keeping
 * ZF bytes of written zeros ahead of the end (topped up when less than ZF/2
 * is left, in 64 KiB pwrites, so the file grows once per ZF/2 appended).
 * Prints appends/s and the sync latency p50/p99/p99.9 per (ZF, PER).
 *
 * Part 2, group commit without the log: 8 threads each pwrite 1 KiB and wait
 * until it is on disk. "each": one fdatasync per append, serialized by a
 * mutex (the log's sync_each). "group": the 8th pending waiter runs one
 * fdatasync for all 8 and wakes them (pthread condition variable). The file
 * is written with zeros first (no growth, no journal commit). ROUNDS (5)
 * rounds of 0.5 s windows, interleaved; prints the medians and their ratio:
 * the ceiling a group commit reaches here.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void pwrite_all(int fd, const char* p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0) die("pwrite");
    p += w;
    n -= (size_t)w;
    at += w;
  }
}

static char zeros[1 << 16];
static char record[1024];

/* --- part 1 --- */
static void zero_fill(const char* path, long zf, int per, int syncs) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open");
  double* lat = malloc(sizeof(double) * (size_t)syncs);
  long pos = 0, zend = 0;
  double t0 = now();
  for (int i = 0; i < syncs; i++) {
    for (int k = 0; k < per; k++) {
      if (pos + 1024 + zf / 2 > zend) {
        for (long target = pos + 1024 + zf; zend < target; zend += sizeof zeros) pwrite_all(fd, zeros, sizeof zeros, zend);
      }
      pwrite_all(fd, record, sizeof record, pos);
      pos += 1024;
    }
    double s = now();
    if (fdatasync(fd) != 0) die("fdatasync");
    lat[i] = (now() - s) * 1e6;
  }
  double elapsed = now() - t0;
  qsort(lat, (size_t)syncs, sizeof(double), cmp_double);
  printf("zero_fill=%8ld per_sync=%d appends/s=%7.0f sync_us p50=%5.0f p99=%5.0f p99.9=%5.0f\n", zf, per,
         syncs * per / elapsed, lat[syncs / 2], lat[syncs * 99 / 100], lat[syncs * 999 / 1000]);
  free(lat);
  close(fd);
  unlink(path);
}

/* --- part 2 --- */
enum { kThreads = 8 };
static int gfd;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long appended, flushed;
static int pending, group_mode;
static atomic_int stop;
static atomic_long done;

static void* appender(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_mutex_lock(&mu);
    const long my = ++appended;
    const off_t at = (off_t)((my % 65536) * 1024);  /* within the 64 MiB of zeros */
    if (!group_mode) {
      pwrite_all(gfd, record, sizeof record, at);
      if (fdatasync(gfd) != 0) die("fdatasync");
      pthread_mutex_unlock(&mu);
      atomic_fetch_add(&done, 1);
      continue;
    }
    pthread_mutex_unlock(&mu);
    pwrite_all(gfd, record, sizeof record, at);
    pthread_mutex_lock(&mu);
    pending++;
    while (flushed < my) {
      if (pending >= kThreads || atomic_load(&stop)) {
        const long target = appended;
        pending = 0;
        pthread_mutex_unlock(&mu);
        if (fdatasync(gfd) != 0) die("fdatasync");
        pthread_mutex_lock(&mu);
        if (target > flushed) flushed = target;
        pthread_cond_broadcast(&cv);
      } else {
        pthread_cond_wait(&cv, &mu);
      }
    }
    pthread_mutex_unlock(&mu);
    atomic_fetch_add(&done, 1);
  }
  return NULL;
}

static double window(int group) {
  group_mode = group;
  pending = 0;
  atomic_store(&stop, 0);
  atomic_store(&done, 0);
  pthread_t t[kThreads];
  double t0 = now();
  for (int i = 0; i < kThreads; i++) pthread_create(&t[i], NULL, appender, NULL);
  usleep(500000);
  atomic_store(&stop, 1);
  pthread_mutex_lock(&mu);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < kThreads; i++) pthread_join(t[i], NULL);
  return atomic_load(&done) / (now() - t0);
}

static double median(double* v, int n) {
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (rounds < 1 || rounds > 100) {
    fprintf(stderr, "ROUNDS must be 1..100\n");
    return 2;
  }
  memset(record, 'x', sizeof record);
  char path[4096];
  snprintf(path, sizeof path, "%s/sync_probe.%d", argv[1], (int)getpid());

  const long fills[] = {64 << 10, 256 << 10, 1 << 20, 4 << 20};
  for (int f = 0; f < 4; f++) zero_fill(path, fills[f], 1, 4000);
  for (int f = 0; f < 4; f++) zero_fill(path, fills[f], 8, 1500);

  gfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (gfd < 0) die("open");
  for (off_t at = 0; at < (64 << 20) + (1 << 20); at += sizeof zeros) pwrite_all(gfd, zeros, sizeof zeros, at);
  if (fdatasync(gfd) != 0) die("fdatasync");
  double each[100], group[100];
  for (int r = 0; r < rounds; r++) {
    if (r % 2) {
      group[r] = window(1);
      each[r] = window(0);
    } else {
      each[r] = window(0);
      group[r] = window(1);
    }
  }
  const double e = median(each, rounds), g = median(group, rounds);
  printf("group commit, 8 threads, 1 KiB, %d rounds: each %.0f/s, group %.0f/s, ratio %.2f\n", rounds, e, g, g / e);
  close(gfd);
  unlink(path);
  return 0;
}
