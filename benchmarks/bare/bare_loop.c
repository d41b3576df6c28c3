/* bare_loop: file -> TCP loopback with nothing but the syscalls.
 *
 *   bare_loop FILE [SIZE_MIB [RUNS [CHUNK_KIB [RECV_KIB [SENDER_CPU RECEIVER_CPU]]]]]
 *
 * Techniques, interleaved round by round exactly like `nocopy bench transfer`:
 *   send        send() from one reused 1 MiB buffer (no file)
 *   sendfile    sendfile(sock, file) for the whole remaining range per call
 *   splice      file -> pipe (1 MiB, F_SETPIPE_SZ) -> socket
 *   splice:64K  the same with the default 64 KiB pipe
 *   read_write  pread(CHUNK) + send() of it
 *   mmap_write  one mmap of the range, send() of CHUNK-sized pieces of it
 * The receiver is a thread pinned to RECEIVER_CPU draining into a reused
 * RECV_KIB buffer; the sender is the main thread pinned to SENDER_CPU. The
 * clock runs from the first send to the last byte received. Prints, per
 * technique, median [min-max] GB/s and CPU s/GiB of sender and receiver.
 * FILE should be in the page cache (the default run reads it once first).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * 1024.0 * 1024.0)
#define MAX_RUNS 64

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) die("getrusage");
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void pin(int cpu) {
  cpu_set_t set;
  if (cpu < 0) return;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) fprintf(stderr, "cannot pin to %d\n", cpu);
}

struct receiver {
  int sock;
  int cpu;
  size_t buf_size;
  unsigned char *buf;
  uint64_t bytes;
  double last_byte;
  double cpu_s;
  pthread_barrier_t *ready;
};

static void *receive(void *arg) {
  struct receiver *r = arg;
  double c0;
  pin(r->cpu);
  c0 = thread_cpu();
  pthread_barrier_wait(r->ready);
  for (;;) {
    ssize_t n = recv(r->sock, r->buf, r->buf_size, 0);
    if (n > 0) {
      r->bytes += (uint64_t)n;
      r->last_byte = now_s();
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    die("recv");
  }
  r->cpu_s = thread_cpu() - c0;
  return NULL;
}

static void socket_pair(int *snd, int *rcv) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) die("socket");
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0) die("bind/listen");
  if (getsockname(l, (struct sockaddr *)&a, &len) != 0) die("getsockname");
  *snd = socket(AF_INET, SOCK_STREAM, 0);
  if (*snd < 0 || connect(*snd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
  *rcv = accept(l, NULL, NULL);
  if (*rcv < 0) die("accept");
  close(l);
}

static void send_all(int sock, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("send");
    }
    p += w;
    n -= (size_t)w;
  }
}

enum tech { T_SEND, T_SENDFILE, T_SPLICE, T_SPLICE64, T_READ_WRITE, T_MMAP_WRITE, T_COUNT };
static const char *names[T_COUNT] = {"send", "sendfile", "splice", "splice:64K", "read_write", "mmap_write"};

struct config {
  int fd;
  uint64_t size;
  size_t chunk;
  unsigned char *buf; /* chunk or 1 MiB, whichever is larger */
};

static void run_sender(enum tech t, const struct config *c, int sock) {
  uint64_t left = c->size;
  off_t off = 0;
  switch (t) {
    case T_SEND:
      while (left > 0) {
        size_t n = left < (1u << 20) ? (size_t)left : (1u << 20);
        send_all(sock, c->buf, n);
        left -= n;
      }
      break;
    case T_SENDFILE:
      while (left > 0) {
        ssize_t n = sendfile(sock, c->fd, &off, left < 0x7ffff000u ? (size_t)left : 0x7ffff000u);
        if (n < 0) {
          if (errno == EINTR) continue;
          die("sendfile");
        }
        if (n == 0) die("sendfile returned 0");
        left -= (uint64_t)n;
      }
      break;
    case T_SPLICE:
    case T_SPLICE64: {
      int p[2];
      size_t psz;
      if (pipe(p) != 0) die("pipe");
      if (t == T_SPLICE && fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) die("F_SETPIPE_SZ");
      psz = (size_t)fcntl(p[1], F_GETPIPE_SZ);
      while (left > 0) {
        ssize_t n = splice(c->fd, &off, p[1], NULL, left < psz ? (size_t)left : psz, SPLICE_F_MORE);
        if (n < 0) {
          if (errno == EINTR) continue;
          die("splice in");
        }
        if (n == 0) die("splice returned 0");
        left -= (uint64_t)n;
        while (n > 0) {
          ssize_t m = splice(p[0], NULL, sock, NULL, (size_t)n, SPLICE_F_MORE);
          if (m < 0) {
            if (errno == EINTR) continue;
            die("splice out");
          }
          n -= m;
        }
      }
      close(p[0]);
      close(p[1]);
      break;
    }
    case T_READ_WRITE:
      while (left > 0) {
        ssize_t n = pread(c->fd, c->buf, left < c->chunk ? (size_t)left : c->chunk, off);
        if (n < 0) {
          if (errno == EINTR) continue;
          die("pread");
        }
        if (n == 0) die("pread returned 0");
        send_all(sock, c->buf, (size_t)n);
        off += n;
        left -= (uint64_t)n;
      }
      break;
    case T_MMAP_WRITE: {
      unsigned char *m = mmap(NULL, c->size, PROT_READ, MAP_SHARED, c->fd, 0);
      if (m == MAP_FAILED) die("mmap");
      while (left > 0) {
        size_t n = left < c->chunk ? (size_t)left : c->chunk;
        send_all(sock, m + off, n);
        off += (off_t)n;
        left -= n;
      }
      munmap(m, c->size);
      break;
    }
    default:
      break;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  struct config c;
  struct stat st;
  int runs = 9, scpu = 0, rcpu = 1, run, t;
  size_t recv_size = 256u << 10;
  unsigned char *rbuf;
  double gbps[T_COUNT][MAX_RUNS], scpu_s[T_COUNT][MAX_RUNS], rcpu_s[T_COUNT][MAX_RUNS];

  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [SIZE_MIB [RUNS [CHUNK_KIB [RECV_KIB [SENDER_CPU RECEIVER_CPU]]]]]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  c.fd = open(argv[1], O_RDONLY);
  if (c.fd < 0 || fstat(c.fd, &st) != 0) die(argv[1]);
  c.size = (uint64_t)st.st_size;
  if (argc > 2) c.size = (uint64_t)strtoull(argv[2], NULL, 10) << 20;
  if (argc > 3) runs = atoi(argv[3]);
  c.chunk = 64u << 10;
  if (argc > 4) c.chunk = (size_t)strtoul(argv[4], NULL, 10) << 10;
  if (argc > 5) recv_size = (size_t)strtoul(argv[5], NULL, 10) << 10;
  if (argc > 7) {
    scpu = atoi(argv[6]);
    rcpu = atoi(argv[7]);
  }
  if (runs < 1 || runs > MAX_RUNS || c.size == 0 || c.size > (uint64_t)st.st_size || c.chunk == 0) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  /* Page-aligned buffers: malloc() of >= 128 KiB returns mmap()+16 bytes,
   * and copies to/from a buffer 16 bytes off a cache line cost more. */
  if (posix_memalign((void **)&c.buf, 4096, c.chunk > (1u << 20) ? c.chunk : (1u << 20)) != 0 ||
      posix_memalign((void **)&rbuf, 4096, recv_size) != 0)
    die("posix_memalign");
  memset(c.buf, 0x5a, c.chunk > (1u << 20) ? c.chunk : (1u << 20));
  memset(rbuf, 0, recv_size);
  {
    /* warm the page cache */
    off_t off = 0;
    ssize_t n;
    while ((uint64_t)off < c.size && (n = pread(c.fd, c.buf, c.chunk, off)) > 0) off += n;
  }
  pin(scpu);
  for (run = 0; run < runs; ++run) {
    for (t = 0; t < T_COUNT; ++t) {
      struct receiver r;
      pthread_barrier_t ready;
      pthread_t th;
      int snd, rcv;
      double t0, c0;
      socket_pair(&snd, &rcv);
      memset(&r, 0, sizeof r);
      r.sock = rcv;
      r.cpu = rcpu;
      r.buf = rbuf;
      r.buf_size = recv_size;
      r.ready = &ready;
      pthread_barrier_init(&ready, NULL, 2);
      if (pthread_create(&th, NULL, receive, &r) != 0) die("pthread_create");
      pthread_barrier_wait(&ready); /* receiver pinned and about to recv */
      c0 = thread_cpu();
      t0 = now_s();
      run_sender((enum tech)t, &c, snd);
      scpu_s[t][run] = thread_cpu() - c0;
      shutdown(snd, SHUT_WR);
      pthread_join(th, NULL);
      pthread_barrier_destroy(&ready);
      close(snd);
      close(rcv);
      if (r.bytes != c.size) {
        fprintf(stderr, "%s: received %llu of %llu\n", names[t], (unsigned long long)r.bytes,
                (unsigned long long)c.size);
        return 1;
      }
      gbps[t][run] = (double)c.size / (r.last_byte - t0) / 1e9;
      rcpu_s[t][run] = r.cpu_s;
    }
  }
  printf("bare_loop: %.0f MiB, %d interleaved runs, chunk %zu KiB, recv buffer %zu KiB, CPUs %d/%d\n",
         (double)c.size / MIB, runs, c.chunk >> 10, recv_size >> 10, scpu, rcpu);
  printf("%-12s %22s %14s %14s\n", "technique", "GB/s median [min-max]", "snd CPU s/GiB", "rcv CPU s/GiB");
  for (t = 0; t < T_COUNT; ++t) {
    double lo, hi, m, sc, rc;
    m = median(gbps[t], runs);
    lo = gbps[t][0];
    hi = gbps[t][runs - 1];
    sc = median(scpu_s[t], runs) / ((double)c.size / GIB);
    rc = median(rcpu_s[t], runs) / ((double)c.size / GIB);
    printf("%-12s %8.2f [%5.2f-%5.2f] %14.3f %14.3f\n", names[t], m, lo, hi, sc, rc);
  }
  return 0;
}
