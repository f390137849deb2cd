/*
 * loadgen: a small WebSocket (RFC 6455) load generator in C, for
 * bench/echo_scenarios.ts. One process, one thread, non-blocking sockets
 * on epoll: cheap enough that the server under test, not the client, sets
 * the pace (a JavaScript client saturates first).
 *
 *     gcc -O2 -o loadgen bench/loadgen/loadgen.c
 *     loadgen --url ws://127.0.0.1:8080/ws --mode echo --conns 100
 *         --inflight 16 --size 64 [--binary] [--warmup 1] [--seconds 5]
 *         [--server-pid PID]
 *     loadgen --url ... --mode handshake --conns 16 [--warmup 1] [--seconds 5]
 *     loadgen --url ... --mode idle --conns 10000 [--echo]
 *     loadgen --url ... [--url ...] --mode fanout --conns 10000
 *         [--inflight 4 | --rate N] [--size 64] [--seconds 5] [--ready-line]
 *     any mode: [--spin]
 *
 * Modes:
 * - echo: opens --conns sockets, then on each keeps --inflight messages of
 *   --size bytes (text, or binary with --binary) outstanding: every echo
 *   sends one more. Counts echoes over --seconds after --warmup seconds, with each
 *   echo's latency (from the moment its message was queued for writing).
 *   When the window ends it stops sending, waits for the outstanding echoes
 *   and closes every socket with a close handshake.
 * - handshake: --conns workers, each repeating one cycle: TCP connect,
 *   opening handshake, one 64-byte text echo, close handshake (close frame
 *   1000, the server's close frame back), TCP close. Counts cycles.
 * - idle: opens --conns sockets, at most 100 handshakes at a time (with
 *   --echo each first echoes one 64-byte text message), prints its report
 *   line, then holds them, answering pings, until it is killed.
 * - fanout: opens --conns sockets (100 handshakes at a time), the receivers
 *   of one room whose server delivers every message to every member, the
 *   sender included; with several --url, socket i goes to the (i mod
 *   count)-th. Socket 0 publishes: first a "warm-up" text every 500 ms
 *   until every socket got one (every join has landed; 30 s at most), then
 *   for --seconds numbered --size-byte texts ("SEQ NANOS xxx..."), keeping
 *   --inflight outstanding (each copy of its own that comes back sends one
 *   more) or --rate a second. Every socket checks that it gets every
 *   numbered message once and in order (lost, reordered) and times each
 *   delivery from when the message was queued; then it waits (10 s at
 *   most) for the last message to reach every socket. With --ready-line it
 *   prints {"event":"ready"} once warmed up and waits for a line on stdin
 *   before publishing, and after its report waits for stdin to close, so a
 *   parent can take its own measurements at the window's edges.
 *
 * Every echo is checked: it must be one message (fragments allowed) of the
 * type sent, exactly as long, with exactly the bytes sent. A socket cycles
 * through 8 different payloads, so a stale or reordered echo fails too; so
 * does a wrong Sec-WebSocket-Accept. A failing socket is counted and closed,
 * so that a broken server cannot look fast.
 *
 * --spin polls without ever sleeping (epoll_wait with a zero timeout). On
 * loopback the kernel delivers a server's send into the receiving socket on
 * the server's own CPU, and waking a receiver that sleeps in epoll_wait is
 * then part of the send's cost: on a VM, where that wake-up crosses CPUs
 * through the hypervisor, it can be half of it, and it falls hardest on the
 * slower servers, whose receivers sleep more. A server sending to other
 * machines never pays it. With --spin the generator uses its whole core.
 *
 * Prints one JSON line on stdout (see report()); exits 2 on bad arguments.
 * With --server-pid it reads the server's CPU time from /proc at the
 * window's edges, and always its own and the machine's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define VARIANTS 8            /* different payloads a socket cycles through */
#define SMALL_OUT 512         /* handshake request, close and pong frames */
#define HEAD_MAX 4096         /* the server's handshake response */
#define MAX_IOV 64
#define IDLE_HANDSHAKES 100   /* concurrent handshakes in idle mode */
#define HANDSHAKE_PROBE 64    /* the echo of handshake and idle modes, bytes */

static const char *GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- options --------------------------------------------------------------- */

enum mode { MODE_ECHO, MODE_HANDSHAKE, MODE_IDLE, MODE_FANOUT };

#define MAX_URLS 16
struct url {
  char host[64];
  int port;
  char path[256];
};

static struct {
  struct url urls[MAX_URLS];
  int url_count;
  enum mode mode;
  int conns;
  int inflight;
  size_t size;
  int binary;
  double warmup;
  double seconds;
  int server_pid;
  int echo; /* idle mode: one echo before idling */
  double rate;    /* fanout mode: messages a second; 0: --inflight */
  int ready_line; /* fanout mode: wait for the parent at the window's edges */
  int spin;       /* poll without sleeping */
} opt = {.mode = MODE_ECHO, .conns = 1, .inflight = 1, .size = 64, .warmup = 1, .seconds = 5};

/* ---- time, randomness, encodings ------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64: fixed-seed payloads (every server gets the same bytes). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void base64(const uint8_t *in, size_t len, char *out) {
  static const char abc[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < len) v |= in[i + 2];
    out[o++] = abc[(v >> 18) & 63];
    out[o++] = abc[(v >> 12) & 63];
    out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? abc[v & 63] : '=';
  }
  out[o] = 0;
}

/* SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept. */
static void sha1(const uint8_t *msg, size_t len, uint8_t digest[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  uint8_t block[64];
  size_t total = ((len + 8) / 64 + 1) * 64; /* message, 0x80, zeros, length */
  for (size_t off = 0; off < total; off += 64) {
    for (size_t i = 0; i < 64; i++) {
      size_t at = off + i;
      block[i] = at < len ? msg[at] : at == len ? 0x80 : 0;
    }
    if (off + 64 == total) {
      uint64_t bits = (uint64_t)len * 8;
      for (int i = 0; i < 8; i++) block[63 - i] = (uint8_t)(bits >> (8 * i));
    }
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
      w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
             (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) {
      uint32_t x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = x << 1 | x >> 31;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      else f = b ^ c ^ d, k = 0xCA62C1D6;
      uint32_t t = (a << 5 | a >> 27) + f + e + k + w[i];
      e = d, d = c, c = b << 30 | b >> 2, b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  for (int i = 0; i < 20; i++) digest[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ---- latency histogram ------------------------------------------------------- */

/*
 * Log-linear buckets: exact below 64 ns, then 64 buckets per power of two
 * (under 1.6% error), up to hours. Percentiles are bucket midpoints.
 */
#define SUB_BITS 6
#define SUB (1 << SUB_BITS)
#define BUCKETS (SUB * 44)
static int bucket_of(uint64_t ns) {
  if (ns < SUB) return (int)ns;
  int shift = 63 - __builtin_clzll(ns) - SUB_BITS;
  int b = (shift + 1) * SUB + (int)((ns >> shift) - SUB);
  return b < BUCKETS ? b : BUCKETS - 1;
}

static double bucket_middle(int b) {
  if (b < SUB) return b;
  int shift = b / SUB - 1;
  uint64_t low = (uint64_t)(SUB + b % SUB) << shift;
  return (double)low + (double)((uint64_t)1 << shift) / 2;
}

struct hist {
  uint64_t bins[BUCKETS];
  uint64_t count, max;
};
static struct hist latencies; /* every latency measured */

static void hist_add(struct hist *h, uint64_t ns) {
  h->bins[bucket_of(ns)]++;
  h->count++;
  if (ns > h->max) h->max = ns;
}

/* The p-quantile (0 < p <= 1) in µs, or -1 without samples. */
static double hist_quantile_us(const struct hist *h, double p) {
  if (h->count == 0) return -1;
  uint64_t rank = (uint64_t)(p * (double)h->count + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int b = 0; b < BUCKETS; b++) {
    seen += h->bins[b];
    if (seen >= rank) {
      double middle = bucket_middle(b);
      return (middle < (double)h->max ? middle : (double)h->max) / 1000;
    }
  }
  return (double)h->max / 1000;
}

/* ---- CPU time from /proc ------------------------------------------------------- */

/* User + system seconds of a process ("self" or a PID), or -1. */
static double process_cpu(const char *pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long utime, stime;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &utime, &stime) != 2)
    return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy seconds of the whole machine (all cores) since boot, or -1. */
static double machine_cpu(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long v[8];
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                 &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n != 8) return -1;
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* not idle, iowait */
  return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

/* ---- errors ------------------------------------------------------------------------ */

enum error_kind {
  E_CONNECT,     /* TCP connect failed */
  E_HANDSHAKE,   /* no 101, wrong Sec-WebSocket-Accept, head too long */
  E_MISMATCH,    /* an echo of the wrong type, length or bytes */
  E_PROTOCOL,    /* a malformed frame from the server */
  E_CLOSED,      /* the server closed or reset a socket unasked */
  E_UNANSWERED,  /* messages still unechoed 10 s after the window */
  E_TIMEOUT,     /* a handshake, cycle or close handshake that took too long */
  E_KINDS
};
static const char *error_names[E_KINDS] = {
    "connect", "handshake", "mismatch", "protocol", "closed", "unanswered", "timeout"};
static uint64_t errors[E_KINDS];
static char first_error[256];

static void note_error(enum error_kind kind, uint64_t count, const char *fmt, ...) {
  errors[kind] += count;
  if (first_error[0]) return;
  va_list args;
  va_start(args, fmt);
  vsnprintf(first_error, sizeof first_error, fmt, args);
  va_end(args);
}

/* ---- messages ------------------------------------------------------------------------ */

/* One payload and its masked client frame, built once and written by every socket. */
struct variant {
  uint8_t *payload;
  uint8_t *frame;
  size_t frame_len;
};
static struct variant data_variants[VARIANTS];  /* --size, text or binary */
static struct variant probe_variants[VARIANTS]; /* 64 B text: handshake, idle */

/* A masked client frame (FIN set) of `len` payload bytes into `out`; its length. */
static size_t build_frame(uint8_t *out, int opcode, const uint8_t *payload, size_t len) {
  size_t h = 0;
  out[h++] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    out[h++] = (uint8_t)(0x80 | len);
  } else if (len < 65536) {
    out[h++] = 0x80 | 126;
    out[h++] = (uint8_t)(len >> 8);
    out[h++] = (uint8_t)len;
  } else {
    out[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint32_t key = (uint32_t)rng();
  uint8_t mask[4] = {(uint8_t)(key >> 24), (uint8_t)(key >> 16), (uint8_t)(key >> 8), (uint8_t)key};
  memcpy(out + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) out[h + i] = payload[i] ^ mask[i & 3];
  return h + len;
}

static void build_variants(struct variant *v, size_t size, int binary) {
  static const char printable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:;-_";
  for (int i = 0; i < VARIANTS; i++) {
    v[i].payload = malloc(size ? size : 1);
    v[i].frame = malloc(size + 14);
    if (!v[i].payload || !v[i].frame) {
      fprintf(stderr, "out of memory\n");
      exit(1);
    }
    for (size_t j = 0; j < size; j++) {
      uint64_t r = rng();
      /* Text must be valid UTF-8: printable ASCII. Binary: any byte. */
      v[i].payload[j] = binary ? (uint8_t)r : (uint8_t)printable[r % (sizeof printable - 1)];
    }
    v[i].frame_len = build_frame(v[i].frame, binary ? 2 : 1, v[i].payload, size);
  }
}

/* ---- connections ------------------------------------------------------------------------ */

enum state { IDLE, CONNECTING, HANDSHAKING, OPEN, CLOSING, DONE };

struct conn {
  int fd;
  int index;
  int url;              /* which --url */
  enum state state;
  uint64_t started_ns;  /* this connection (handshake mode: this cycle) began */
  char accept[32];      /* the Sec-WebSocket-Accept we expect */
  char head[HEAD_MAX];  /* the response head, while handshaking */
  size_t head_len;

  /* Frame parser: a header, then its payload, arriving in any pieces. */
  uint8_t hdr[14];
  size_t hdr_len, hdr_need;
  int opcode;              /* of the current frame */
  uint64_t frame_len, frame_off;
  uint8_t control[125];    /* a control frame's payload */
  int in_message;          /* a data message has started (fragments allowed) */
  const struct variant *expect; /* what the current message must be */
  size_t expect_len;
  int expect_opcode;
  uint64_t msg_off;

  /* Messages: the n-th sent is variant (index + n) % VARIANTS. */
  uint64_t sent, received, window_received;
  uint64_t *sent_ns;       /* queue time of each outstanding message */

  /* Output: small bytes first (at a frame boundary), then queued data frames. */
  uint8_t *small;          /* SMALL_OUT bytes; the fanout publisher's are more */
  size_t small_len, small_cap;
  const struct variant **outq; /* a ring of data frames to write */
  int out_head, out_count;
  size_t out_off;          /* bytes of the head frame already written */
  int watching_out;        /* EPOLLOUT requested */
  int is_ready;            /* idle and fanout modes: counted in `ready` */

  /* Fanout mode: the message being read, the number expected next. */
  uint8_t text[128];
  uint64_t next_seq;
  int warmed;
};

static int epfd;
static struct conn *conns;
static int measuring;     /* between window start and end: record latencies */
static int sending = 1;   /* echo mode: each echo queues the next message */
static uint64_t completed; /* echoes (echo mode) or cycles (handshake mode) */
static int ready, failed;  /* idle and fanout modes: opened, or failed to */
static int gone;           /* fanout mode: opened, then failed */

static const struct variant *variants_for(void) {
  return opt.mode == MODE_ECHO ? data_variants : probe_variants;
}
static size_t message_size(void) {
  return opt.mode == MODE_ECHO ? opt.size : HANDSHAKE_PROBE;
}
static int message_opcode(void) {
  return opt.mode == MODE_ECHO && opt.binary ? 2 : 1;
}

static void watch(struct conn *c, int out) {
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->watching_out = out;
}

static void drop(struct conn *c) {
  if (c->fd >= 0) close(c->fd); /* closing also removes it from epoll */
  c->fd = -1;
  c->state = DONE;
}

static void fail(struct conn *c, enum error_kind kind, const char *what) {
  note_error(kind, 1, "socket %d: %s", c->index, what);
  if ((opt.mode == MODE_IDLE || opt.mode == MODE_FANOUT) && !c->is_ready) failed++;
  if (opt.mode == MODE_FANOUT && c->is_ready) gone++;
  drop(c);
}

static void queue_small(struct conn *c, const uint8_t *bytes, size_t len) {
  if (c->small_len + len > c->small_cap) {
    fail(c, E_PROTOCOL, opt.mode == MODE_FANOUT && c->index == 0
                            ? "the publisher's socket took no writes (1 MiB waits)"
                            : "too many control frames queued (a ping flood?)");
    return;
  }
  memcpy(c->small + c->small_len, bytes, len);
  c->small_len += len;
}

static void queue_control(struct conn *c, int opcode, const uint8_t *payload, size_t len) {
  uint8_t frame[6 + 125];
  queue_small(c, frame, build_frame(frame, opcode, payload, len));
}

static void queue_message(struct conn *c) {
  const struct variant *v = &variants_for()[(c->index + c->sent) % VARIANTS];
  int cap = opt.mode == MODE_ECHO ? opt.inflight : 1;
  c->outq[(c->out_head + c->out_count) % cap] = v;
  c->out_count++;
  c->sent_ns[c->sent % (uint64_t)cap] = now_ns();
  c->sent++;
}

/*
 * Writes what is queued, in as few calls as it can: the small bytes go out
 * only between data frames, never inside one.
 */
static void flush(struct conn *c) {
  int cap = opt.mode == MODE_ECHO ? opt.inflight : 1;
  while (c->state != DONE && (c->small_len > 0 || c->out_count > 0)) {
    struct iovec iov[MAX_IOV];
    int n = 0, small_at = -1;
    int first = c->out_off > 0; /* a frame half written goes first */
    if (first) {
      const struct variant *v = c->outq[c->out_head];
      iov[n++] = (struct iovec){v->frame + c->out_off, v->frame_len - c->out_off};
    }
    if (c->small_len > 0) {
      small_at = n;
      iov[n++] = (struct iovec){c->small, c->small_len};
    }
    for (int i = first; i < c->out_count && n < MAX_IOV; i++) {
      const struct variant *v = c->outq[(c->out_head + i) % cap];
      iov[n++] = (struct iovec){v->frame, v->frame_len};
    }
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      fail(c, E_CLOSED, strerror(errno));
      return;
    }
    /* Consume w bytes in iov order. */
    size_t left = (size_t)w;
    for (int i = 0; i < n && left > 0; i++) {
      size_t take = left < iov[i].iov_len ? left : iov[i].iov_len;
      left -= take;
      if (i == small_at) {
        memmove(c->small, c->small + take, c->small_len - take);
        c->small_len -= take;
      } else {
        c->out_off += take;
        if (c->out_off == c->outq[c->out_head]->frame_len) {
          c->out_head = (c->out_head + 1) % cap;
          c->out_count--;
          c->out_off = 0;
        }
      }
      if (take < iov[i].iov_len) break;
    }
  }
  if (c->state == DONE) return;
  int pending = c->small_len > 0 || c->out_count > 0;
  if (pending != c->watching_out) watch(c, pending);
}

/* Starts a TCP connection (non-blocking) for connection slot `c`. */
static void start_connect(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  c->state = CONNECTING;
  c->started_ns = now_ns();
  c->head_len = c->small_len = 0;
  c->hdr_len = 0, c->hdr_need = 2, c->in_message = 0;
  c->sent = c->received = 0;
  c->out_head = c->out_count = 0, c->out_off = 0;
  if (c->fd < 0) {
    fail(c, E_CONNECT, strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const struct url *u = &opt.urls[c->url];
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)u->port)};
  inet_pton(AF_INET, u->host, &addr.sin_addr);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  c->watching_out = 1;
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    fail(c, E_CONNECT, strerror(errno));
  }
}

/* The TCP connection is up: send the opening handshake. */
static void send_handshake(struct conn *c) {
  uint8_t nonce[16];
  char key[32], keyed[128];
  uint8_t digest[20];
  for (int i = 0; i < 16; i++) nonce[i] = (uint8_t)rng();
  base64(nonce, 16, key);
  snprintf(keyed, sizeof keyed, "%s%s", key, GUID);
  sha1((const uint8_t *)keyed, strlen(keyed), digest);
  base64(digest, 20, c->accept);
  char request[SMALL_OUT];
  int len = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     opt.urls[c->url].path, opt.urls[c->url].host, opt.urls[c->url].port, key);
  c->state = HANDSHAKING;
  queue_small(c, (const uint8_t *)request, (size_t)len);
}

/* The value of header `name` in a response head (NUL-terminated), or NULL. */
static const char *header_value(const char *head, const char *name, size_t *len) {
  size_t name_len = strlen(name);
  for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
      const char *v = line + name_len + 1;
      while (*v == ' ' || *v == '\t') v++;
      const char *end = strstr(v, "\r\n");
      while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
      *len = (size_t)(end - v);
      return v;
    }
  }
  return NULL;
}

static void on_open(struct conn *c) {
  c->state = OPEN;
  if (opt.mode == MODE_ECHO) {
    return; /* messages start once every socket is open */
  } else if (opt.mode == MODE_HANDSHAKE || (opt.mode == MODE_IDLE && opt.echo)) {
    queue_message(c);
  } else {
    c->is_ready = 1;
    ready++;
  }
}

static void start_close(struct conn *c) {
  static const uint8_t normal[2] = {0x03, 0xe8}; /* 1000 */
  c->state = CLOSING;
  queue_control(c, 8, normal, 2);
}

/* ---- fanout mode ---------------------------------------------------------------------- */

static struct {
  uint64_t published;          /* numbered messages sent */
  uint64_t capacity;           /* of the arrays below */
  uint64_t *sent_ns;           /* when message n was queued */
  uint64_t *last_ns;           /* when its last copy arrived */
  uint32_t *reached;           /* how many sockets got it */
  uint64_t deliveries, lost, reordered;
  uint64_t deadline_ns;        /* publishing stops */
  int warmed;                  /* sockets that got a warm-up message */
  struct hist *per_url;        /* latencies by --url */
} fan;

/* Queues numbered message `fan.published` on the publisher (socket 0). */
static void publish(void) {
  struct conn *p = &conns[0];
  if (p->state != OPEN) return;
  if (fan.published == fan.capacity) {
    fan.capacity = fan.capacity ? fan.capacity * 2 : 4096;
    fan.sent_ns = realloc(fan.sent_ns, fan.capacity * sizeof *fan.sent_ns);
    fan.last_ns = realloc(fan.last_ns, fan.capacity * sizeof *fan.last_ns);
    fan.reached = realloc(fan.reached, fan.capacity * sizeof *fan.reached);
    if (!fan.sent_ns || !fan.last_ns || !fan.reached) {
      fprintf(stderr, "out of memory\n");
      exit(1);
    }
  }
  uint64_t seq = fan.published++;
  uint64_t now = now_ns();
  fan.sent_ns[seq] = now, fan.last_ns[seq] = 0, fan.reached[seq] = 0;
  char text[128];
  int len = snprintf(text, sizeof text, "%llu %llu ", (unsigned long long)seq,
                     (unsigned long long)now);
  memset(text + len, 'x', opt.size - (size_t)len);
  uint8_t frame[6 + 125];
  queue_small(p, frame, build_frame(frame, 1, (const uint8_t *)text, opt.size));
}

static void publish_warm_up(void) {
  static const char text[] = "warm-up";
  uint8_t frame[6 + sizeof text];
  queue_small(&conns[0], frame, build_frame(frame, 1, (const uint8_t *)text, sizeof text - 1));
  flush(&conns[0]);
}

/* A whole text message arrived on a fanout socket. */
static void on_fanout_message(struct conn *c, size_t len) {
  uint64_t now = now_ns();
  if (len > 0 && c->text[0] == 'w') { /* warm-up */
    if (!c->warmed) c->warmed = 1, fan.warmed++;
    return;
  }
  char *end;
  c->text[len < sizeof c->text ? len : sizeof c->text - 1] = 0;
  unsigned long long seq = strtoull((const char *)c->text, &end, 10);
  if (end == (char *)c->text || *end != ' ' || seq >= fan.published) {
    fail(c, E_MISMATCH, "a message that was never published");
    return;
  }
  fan.deliveries++;
  if (seq != c->next_seq) {
    if (seq > c->next_seq) fan.lost += seq - c->next_seq;
    else fan.reordered++;
  }
  if (seq + 1 > c->next_seq) c->next_seq = seq + 1;
  uint64_t latency = now - fan.sent_ns[seq];
  hist_add(&latencies, latency);
  hist_add(&fan.per_url[c->url], latency);
  fan.reached[seq]++;
  fan.last_ns[seq] = now;
  /* The publisher's own copy: one more in flight, while the window lasts. */
  if (c->index == 0 && opt.rate == 0 && sending && now < fan.deadline_ns) publish();
}

/* A whole echo arrived and checked out. */
static void on_message(struct conn *c) {
  uint64_t now = now_ns();
  int cap = opt.mode == MODE_ECHO ? opt.inflight : 1;
  uint64_t sent_at = c->sent_ns[c->received % (uint64_t)cap];
  c->received++;
  if (opt.mode == MODE_ECHO) {
    completed++;
    if (measuring) hist_add(&latencies, now - sent_at);
    if (sending && c->state == OPEN) queue_message(c);
  } else if (opt.mode == MODE_HANDSHAKE) {
    start_close(c);
  } else {
    c->is_ready = 1; /* idle mode with --echo: now it idles */
    ready++;
  }
}

/* The server's close frame arrived. */
static void on_close_frame(struct conn *c) {
  if (c->state != CLOSING) {
    fail(c, E_CLOSED, "the server sent a close frame unasked");
    return;
  }
  if (opt.mode == MODE_HANDSHAKE) {
    completed++;
    if (measuring) hist_add(&latencies, now_ns() - c->started_ns);
    drop(c);
    c->state = IDLE; /* a new cycle starts after this batch of events */
    return;
  }
  drop(c);
}

/*
 * Reads the response head: returns how many of the `n` bytes it took (the
 * rest are frames), 0 when it needs more, -1 when the socket failed.
 */
static ssize_t feed_head(struct conn *c, const uint8_t *data, size_t n) {
  size_t take = n < HEAD_MAX - 1 - c->head_len ? n : HEAD_MAX - 1 - c->head_len;
  size_t before = c->head_len;
  memcpy(c->head + c->head_len, data, take);
  c->head_len += take;
  c->head[c->head_len] = 0;
  char *end = strstr(c->head, "\r\n\r\n");
  if (!end && c->head_len == HEAD_MAX - 1) {
    fail(c, E_HANDSHAKE, "response head too long");
    return -1;
  }
  if (!end) return 0;
  size_t head_end = (size_t)(end - c->head) + 4;
  end[2] = 0; /* keep the last header's CRLF for header_value */
  size_t len;
  const char *accept = header_value(c->head, "Sec-WebSocket-Accept", &len);
  if (strncmp(c->head, "HTTP/1.1 101", 12) != 0) {
    char status[64];
    snprintf(status, sizeof status, "handshake answered %.40s", c->head);
    *strchrnul(status, '\r') = 0;
    fail(c, E_HANDSHAKE, status);
    return -1;
  }
  if (!accept || len != strlen(c->accept) || memcmp(accept, c->accept, len) != 0) {
    fail(c, E_HANDSHAKE, "wrong or missing Sec-WebSocket-Accept");
    return -1;
  }
  on_open(c);
  return (ssize_t)(head_end - before);
}

/* The frame whose header is complete ended (its payload all read). */
static void end_frame(struct conn *c) {
  if (c->opcode >= 8) {
    if (c->opcode == 9) queue_control(c, 10, c->control, c->frame_len); /* ping: pong */
    else if (c->opcode == 8) on_close_frame(c);
  } else if (c->hdr[0] & 0x80) { /* FIN: the message is whole */
    c->in_message = 0;
    if (opt.mode == MODE_FANOUT) {
      on_fanout_message(c, (size_t)c->msg_off);
    } else if (c->msg_off != c->expect_len) {
      fail(c, E_MISMATCH, "an echo shorter than its message");
      return;
    } else {
      on_message(c);
    }
  }
  c->hdr_len = 0, c->hdr_need = 2;
}

/* Checks a complete frame header; returns 0 when the socket failed. */
static int start_frame(struct conn *c) {
  uint8_t b0 = c->hdr[0], b1 = c->hdr[1];
  c->opcode = b0 & 0x0f;
  c->frame_off = 0;
  if (b1 & 0x80) return fail(c, E_PROTOCOL, "a masked server frame"), 0;
  if (b0 & 0x70) return fail(c, E_PROTOCOL, "RSV bits set (no extension agreed)"), 0;
  uint64_t len = b1 & 0x7f;
  if (len == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
  if (len == 127) {
    len = 0;
    for (int i = 2; i < 10; i++) len = len << 8 | c->hdr[i];
  }
  c->frame_len = len;
  if (c->opcode >= 8) {
    if (!(b0 & 0x80) || len > 125) return fail(c, E_PROTOCOL, "a bad control frame"), 0;
    return 1;
  }
  if (c->opcode == 0) {
    if (!c->in_message) return fail(c, E_PROTOCOL, "a continuation without a message"), 0;
  } else {
    if (c->in_message) return fail(c, E_PROTOCOL, "a new message inside a fragmented one"), 0;
    if (c->state != OPEN && c->state != CLOSING)
      return fail(c, E_MISMATCH, "a message nobody asked for"), 0;
    if (opt.mode == MODE_FANOUT) {
      if (c->opcode != 1) return fail(c, E_MISMATCH, "a binary message (only texts are published)"), 0;
      c->in_message = 1;
      c->msg_off = 0;
      c->expect_len = sizeof c->text - 1;
      goto checked;
    }
    if (c->received >= c->sent) return fail(c, E_MISMATCH, "more echoes than messages"), 0;
    if (c->opcode != message_opcode())
      return fail(c, E_MISMATCH, "an echo of the wrong type (text/binary)"), 0;
    c->in_message = 1;
    c->msg_off = 0;
    c->expect = &variants_for()[(c->index + c->received) % VARIANTS];
    c->expect_len = message_size();
  }
checked:
  if (c->msg_off + len > c->expect_len) return fail(c, E_MISMATCH, "an echo longer than its message"), 0;
  return 1;
}

/* Parses `n` bytes from the server: the handshake response, then frames. */
static void feed(struct conn *c, const uint8_t *data, size_t n) {
  while (n > 0 && c->state != DONE && c->state != IDLE) {
    if (c->state == HANDSHAKING) {
      ssize_t used = feed_head(c, data, n);
      if (used <= 0) return;
      data += used, n -= (size_t)used;
      continue;
    }
    if (c->hdr_len < c->hdr_need) { /* the header, byte by byte */
      c->hdr[c->hdr_len++] = *data++, n--;
      if (c->hdr_len == 2) {
        int code = c->hdr[1] & 0x7f;
        c->hdr_need = 2 + (code == 126 ? 2 : code == 127 ? 8 : 0);
      }
      if (c->hdr_len == c->hdr_need) {
        if (!start_frame(c)) return;
        if (c->frame_len == 0) end_frame(c);
      }
      continue;
    }
    size_t take = c->frame_len - c->frame_off < n ? (size_t)(c->frame_len - c->frame_off) : n;
    if (c->opcode >= 8) {
      memcpy(c->control + c->frame_off, data, take);
    } else if (opt.mode == MODE_FANOUT) {
      memcpy(c->text + c->msg_off, data, take);
    } else if (memcmp(data, c->expect->payload + c->msg_off, take) != 0) {
      fail(c, E_MISMATCH, "an echo whose bytes differ from the message");
      return;
    }
    c->frame_off += take, c->msg_off += c->opcode >= 8 ? 0 : take;
    data += take, n -= take;
    if (c->frame_off == c->frame_len) end_frame(c);
  }
}

static uint8_t read_buffer[256 * 1024];

static void on_event(struct conn *c, uint32_t events) {
  if (c->state == DONE || c->state == IDLE) return; /* closed earlier in this batch */
  if (c->state == CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return fail(c, E_CONNECT, strerror(err));
    if (!(events & EPOLLOUT)) return;
    send_handshake(c);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      ssize_t r = read(c->fd, read_buffer, sizeof read_buffer);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EAGAIN) break;
      if (r <= 0) {
        fail(c, E_CLOSED, r == 0 ? "the server closed the connection" : strerror(errno));
        return;
      }
      feed(c, read_buffer, (size_t)r);
      if (c->state == DONE || c->state == IDLE || (size_t)r < sizeof read_buffer) break;
    }
  }
  if (c->state != DONE && c->state != IDLE) flush(c);
}

/* ---- the run ------------------------------------------------------------------------------ */

/* Handles events for up to `ms` milliseconds. */
static void poll_events(int ms) {
  struct epoll_event events[256];
  int n = epoll_wait(epfd, events, 256, opt.spin ? 0 : ms);
  for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
  if (opt.mode == MODE_HANDSHAKE && sending) {
    for (int i = 0; i < opt.conns; i++)
      if (conns[i].state == IDLE || conns[i].state == DONE) start_connect(&conns[i]);
  }
}

/* Runs the event loop until `until_ns`, or until `done()` holds. */
static void run_until(uint64_t until_ns, int (*done)(void)) {
  for (;;) {
    uint64_t now = now_ns();
    if (now >= until_ns || (done && done())) return;
    uint64_t ms = (until_ns - now) / 1000000 + 1;
    poll_events(ms > 100 ? 100 : (int)ms);
  }
}

static int all_open(void) {
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].state == CONNECTING || conns[i].state == HANDSHAKING) return 0;
  return 1;
}

static int all_answered(void) {
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].state == OPEN && conns[i].received < conns[i].sent) return 0;
  return 1;
}

static int all_closed(void) {
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].state != DONE && conns[i].state != IDLE) return 0;
  return 1;
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

static void json_number(const char *name, double value) {
  if (value < 0) printf("\"%s\":null,", name);
  else printf("\"%s\":%.6g,", name, value);
}

struct cpu_mark {
  double self, server, machine;
};

static struct cpu_mark cpu_now(void) {
  char pid[16];
  snprintf(pid, sizeof pid, "%d", opt.server_pid);
  return (struct cpu_mark){process_cpu("self"), opt.server_pid ? process_cpu(pid) : -1,
                           machine_cpu()};
}

/* Ends a report line: the errors, the first error's text. */
static void report_errors(void) {
  printf("\"errors\":{");
  for (int k = 0; k < E_KINDS; k++)
    printf("\"%s\":%llu%s", error_names[k], (unsigned long long)errors[k], k + 1 < E_KINDS ? "," : "");
  printf("},\"firstError\":");
  if (first_error[0]) json_string(first_error);
  else printf("null");
  printf("}\n");
  fflush(stdout);
}

/* One JSON line: what was measured, the errors, the first error's text. */
static void report(uint64_t count, double seconds, struct cpu_mark a, struct cpu_mark b) {
  static const char *modes[] = {"echo", "handshake", "idle"};
  printf("{\"mode\":\"%s\",", modes[opt.mode]);
  if (opt.mode == MODE_IDLE) {
    printf("\"ready\":%d,\"failed\":%d,", ready, failed);
  } else {
    printf("\"roundTrips\":%llu,\"seconds\":%.6f,", (unsigned long long)count, seconds);
    json_number("clientCpuSeconds", a.self < 0 || b.self < 0 ? -1 : b.self - a.self);
    json_number("serverCpuSeconds", a.server < 0 || b.server < 0 ? -1 : b.server - a.server);
    json_number("machineCpuSeconds", a.machine < 0 || b.machine < 0 ? -1 : b.machine - a.machine);
    printf("\"latencyMicros\":{");
    json_number("p50", hist_quantile_us(&latencies, 0.5));
    json_number("p99", hist_quantile_us(&latencies, 0.99));
    json_number("p999", hist_quantile_us(&latencies, 0.999));
    printf("\"max\":%.6g},", (double)latencies.max / 1000);
    if (opt.mode == MODE_ECHO) {
      /* Echoes per socket in the window: a starved socket shows here. */
      uint64_t lo = UINT64_MAX, hi = 0;
      for (int i = 0; i < opt.conns; i++) {
        uint64_t k = conns[i].window_received;
        lo = k < lo ? k : lo, hi = k > hi ? k : hi;
      }
      printf("\"perSocket\":{\"min\":%llu,\"max\":%llu},", (unsigned long long)lo,
             (unsigned long long)hi);
    }
  }
  report_errors();
}

/* Opens every socket, IDLE_HANDSHAKES at a time (120 s at most). */
static void open_all(void) {
  int next = 0;
  uint64_t deadline = now_ns() + 120 * 1000000000ull;
  while (ready + failed < opt.conns && now_ns() < deadline) {
    while (next < opt.conns && next - ready - failed < IDLE_HANDSHAKES)
      start_connect(&conns[next++]);
    poll_events(100);
  }
  if (ready + failed < opt.conns)
    note_error(E_TIMEOUT, (uint64_t)(opt.conns - ready - failed), "sockets still opening after 120 s");
}

static int all_warmed(void) { return fan.warmed >= ready - gone; }

static int publisher_done(void) {
  return conns[0].state != OPEN || conns[0].next_seq >= fan.published;
}

static int last_reached_all(void) {
  return fan.published == 0 || fan.reached[fan.published - 1] >= (uint32_t)(ready - gone);
}

/* With --ready-line: waits for a line on stdin; 0 when it ended instead. */
static int wait_for_parent(void) {
  if (!opt.ready_line) return 1;
  char line[64];
  return fgets(line, sizeof line, stdin) != NULL;
}

static void fanout_report(double seconds, double window) {
  uint64_t within = 0;
  uint64_t limit = 250 * 1000000ull;
  for (uint64_t n = 0; n < fan.published; n++)
    if (fan.reached[n] >= (uint32_t)opt.conns && fan.last_ns[n] - fan.sent_ns[n] <= limit) within++;
  printf("{\"mode\":\"fanout\",\"receivers\":%d,\"published\":%llu,\"deliveries\":%llu,",
         opt.conns, (unsigned long long)fan.published, (unsigned long long)fan.deliveries);
  printf("\"seconds\":%.6f,\"window\":%.6f,\"lost\":%llu,\"reordered\":%llu,", seconds, window,
         (unsigned long long)fan.lost, (unsigned long long)fan.reordered);
  printf("\"within250\":%.6g,\"latencyMillis\":{", fan.published ? (double)within / (double)fan.published : 0);
  json_number("p50", hist_quantile_us(&latencies, 0.5) / 1000);
  json_number("p99", hist_quantile_us(&latencies, 0.99) / 1000);
  printf("\"max\":%.6g},\"perUrl\":[", (double)latencies.max / 1e6);
  for (int u = 0; u < opt.url_count; u++) {
    const struct hist *h = &fan.per_url[u];
    printf("{");
    json_number("p50", hist_quantile_us(h, 0.5) / 1000);
    json_number("p99", hist_quantile_us(h, 0.99) / 1000);
    printf("\"deliveries\":%llu}%s", (unsigned long long)h->count, u + 1 < opt.url_count ? "," : "");
  }
  printf("],");
  report_errors();
}

/* The fanout mode, start to end (see the top of this file). */
static int run_fanout(void) {
  const uint64_t second = 1000000000u;
  fan.per_url = calloc((size_t)opt.url_count, sizeof *fan.per_url);
  open_all();
  if (conns[0].state != OPEN) {
    note_error(E_CONNECT, 0, "the publisher (socket 0) did not open");
  } else {
    uint64_t deadline = now_ns() + 30 * second;
    while (!all_warmed() && now_ns() < deadline) {
      publish_warm_up();
      run_until(now_ns() + second / 2, all_warmed);
    }
    if (!all_warmed())
      note_error(E_TIMEOUT, (uint64_t)(ready - fan.warmed), "%d of %d sockets got no warm-up message within 30 s",
                 ready - fan.warmed, ready);
  }
  if (first_error[0] || conns[0].state != OPEN) {
    fanout_report(0, 0);
    return 1;
  }
  run_until(now_ns() + second / 5, NULL); /* the last warm-up copies drain */
  if (opt.ready_line) {
    printf("{\"event\":\"ready\"}\n");
    fflush(stdout);
  }
  if (!wait_for_parent()) return 1; /* the parent went away: nothing to publish for */
  uint64_t start = now_ns();
  fan.deadline_ns = start + (uint64_t)(opt.seconds * 1e9);
  if (opt.rate == 0) {
    for (int i = 0; i < opt.inflight; i++) publish();
    flush(&conns[0]);
    run_until(fan.deadline_ns, NULL);
    sending = 0;
    run_until(now_ns() + 30 * second, publisher_done);
  } else {
    /* Every millisecond, whatever the clock says is due. */
    for (uint64_t now = start; now < fan.deadline_ns; now = now_ns()) {
      uint64_t due = (uint64_t)((double)(now - start) * opt.rate / 1e9);
      while (fan.published < due && conns[0].state == OPEN) publish();
      flush(&conns[0]);
      poll_events(1);
    }
    sending = 0;
  }
  run_until(now_ns() + 10 * second, last_reached_all);
  uint64_t end = now_ns();
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].state == OPEN && conns[i].next_seq < fan.published) fan.lost += fan.published - conns[i].next_seq;
  uint64_t latest = start;
  for (uint64_t n = 0; n < fan.published; n++)
    if (fan.last_ns[n] > latest) latest = fan.last_ns[n];
  fanout_report((double)(latest - start) / 1e9, (double)(end - start) / 1e9);
  wait_for_parent();
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --url ws://HOST:PORT/PATH [--mode echo|handshake|idle|fanout]\n"
          "  [--conns N] [--inflight N] [--size BYTES] [--binary] [--warmup S]\n"
          "  [--seconds S] [--server-pid PID] [--echo] [--spin]\n"
          "  fanout: [--url ...] (more servers) [--rate N] [--ready-line], --size 48 to 125\n");
  exit(2);
}

static void parse_options(int argc, char **argv) {
  static const struct option options[] = {
      {"url", required_argument, 0, 'u'},     {"mode", required_argument, 0, 'm'},
      {"conns", required_argument, 0, 'c'},   {"inflight", required_argument, 0, 'i'},
      {"size", required_argument, 0, 's'},    {"binary", no_argument, 0, 'b'},
      {"warmup", required_argument, 0, 'w'},  {"seconds", required_argument, 0, 't'},
      {"server-pid", required_argument, 0, 'p'}, {"echo", no_argument, 0, 'e'},
      {"rate", required_argument, 0, 'r'},    {"ready-line", no_argument, 0, 'R'},
      {"spin", no_argument, 0, 'S'},          {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int got_url = 0, o;
  while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (o) {
    case 'u': {
      /* ws://IPv4:PORT/PATH only: the benchmarks use loopback addresses. */
      if (opt.url_count == MAX_URLS) usage();
      struct url *u = &opt.urls[opt.url_count++];
      if (sscanf(optarg, "ws://%63[0-9.]:%d%255s", u->host, &u->port, u->path) < 2)
        usage();
      if (u->path[0] != '/') strcpy(u->path, "/");
      got_url = 1;
      break;
    }
    case 'm':
      if (strcmp(optarg, "echo") == 0) opt.mode = MODE_ECHO;
      else if (strcmp(optarg, "handshake") == 0) opt.mode = MODE_HANDSHAKE;
      else if (strcmp(optarg, "idle") == 0) opt.mode = MODE_IDLE;
      else if (strcmp(optarg, "fanout") == 0) opt.mode = MODE_FANOUT;
      else usage();
      break;
    case 'c': opt.conns = atoi(optarg); break;
    case 'i': opt.inflight = atoi(optarg); break;
    case 's': opt.size = (size_t)strtoull(optarg, NULL, 10); break;
    case 'b': opt.binary = 1; break;
    case 'w': opt.warmup = atof(optarg); break;
    case 't': opt.seconds = atof(optarg); break;
    case 'p': opt.server_pid = atoi(optarg); break;
    case 'e': opt.echo = 1; break;
    case 'r': opt.rate = atof(optarg); break;
    case 'R': opt.ready_line = 1; break;
    case 'S': opt.spin = 1; break;
    default: usage();
    }
  }
  if (!got_url || opt.conns < 1 || opt.inflight < 1 || opt.size < 1 || opt.warmup < 0 ||
      opt.seconds <= 0 || opt.rate < 0 || (opt.url_count > 1 && opt.mode != MODE_FANOUT) ||
      (opt.mode == MODE_FANOUT && (opt.size < 48 || opt.size > 125)))
    usage();
}

/*
 * Raises the open-file limit to its hard limit, and exits 2 (saying so)
 * when even that cannot hold a socket for every connection.
 */
static void allow_sockets(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  rlim_t needed = (rlim_t)opt.conns + 16; /* stdio, epoll, /proc reads */
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    fprintf(stderr, "loadgen: %d connections need %llu open files, the limit is %llu (ulimit -n)\n",
            opt.conns, (unsigned long long)needed, (unsigned long long)limit.rlim_cur);
    exit(2);
  }
}

int main(int argc, char **argv) {
  parse_options(argc, argv);
  allow_sockets();
  signal(SIGPIPE, SIG_IGN);
  build_variants(probe_variants, HANDSHAKE_PROBE, 0);
  if (opt.mode == MODE_ECHO) build_variants(data_variants, opt.size, opt.binary);
  epfd = epoll_create1(0);
  conns = calloc((size_t)opt.conns, sizeof *conns);
  int cap = opt.mode == MODE_ECHO ? opt.inflight : 1;
  for (int i = 0; i < opt.conns; i++) {
    conns[i].fd = -1, conns[i].index = i, conns[i].state = IDLE;
    conns[i].url = i % opt.url_count;
    conns[i].small_cap = opt.mode == MODE_FANOUT && i == 0 ? 1 << 20 : SMALL_OUT;
    conns[i].small = malloc(conns[i].small_cap);
    conns[i].sent_ns = calloc((size_t)cap, sizeof(uint64_t));
    conns[i].outq = calloc((size_t)cap, sizeof(struct variant *));
  }
  const uint64_t second = 1000000000u;

  if (opt.mode == MODE_FANOUT) return run_fanout();

  if (opt.mode == MODE_IDLE) {
    /* Open them all, IDLE_HANDSHAKES at a time, then hold them. */
    open_all();
    struct cpu_mark none = {-1, -1, -1};
    report(0, 0, none, none);
    for (;;) poll_events(1000); /* answer pings until killed */
  }

  if (opt.mode == MODE_ECHO) {
    for (int i = 0; i < opt.conns; i++) start_connect(&conns[i]);
    /*
     * Open them all, then start the messages on every socket at once: the
     * handshakes do not compete with echoes, and no socket starts late.
     */
    run_until(now_ns() + 10 * second, all_open);
    for (int i = 0; i < opt.conns; i++)
      if (conns[i].state == CONNECTING || conns[i].state == HANDSHAKING)
        fail(&conns[i], E_TIMEOUT, "no handshake within 10 s");
    for (int i = 0; i < opt.conns; i++) {
      if (conns[i].state != OPEN) continue;
      for (int k = 0; k < opt.inflight; k++) queue_message(&conns[i]);
      flush(&conns[i]);
    }
  } else {
    for (int i = 0; i < opt.conns; i++) start_connect(&conns[i]);
  }

  run_until(now_ns() + (uint64_t)(opt.warmup * 1e9), NULL);
  uint64_t start_count = completed;
  for (int i = 0; i < opt.conns; i++) conns[i].window_received = conns[i].received;
  struct cpu_mark cpu_start = cpu_now();
  uint64_t start = now_ns();
  measuring = 1;
  run_until(start + (uint64_t)(opt.seconds * 1e9), NULL);
  measuring = 0;
  uint64_t end = now_ns();
  struct cpu_mark cpu_end = cpu_now();
  uint64_t count = completed - start_count;
  for (int i = 0; i < opt.conns; i++) conns[i].window_received = conns[i].received - conns[i].window_received;
  sending = 0;

  if (opt.mode == MODE_ECHO) {
    run_until(end + 10 * second, all_answered);
    for (int i = 0; i < opt.conns; i++) {
      struct conn *c = &conns[i];
      if (c->state != OPEN) continue;
      if (c->received < c->sent)
        note_error(E_UNANSWERED, c->sent - c->received, "%llu message(s) never echoed",
                   (unsigned long long)(c->sent - c->received));
      start_close(c);
      flush(c);
    }
  }
  /* Handshake mode: the cycles under way finish (or time out) too. */
  uint64_t close_start = now_ns();
  run_until(close_start + 5 * second, all_closed);
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].state != DONE && conns[i].state != IDLE)
      fail(&conns[i], E_TIMEOUT, "a socket still open 5 s after the window (no close reply)");

  report(count, (double)(end - start) / 1e9, cpu_start, cpu_end);
  return 0;
}
