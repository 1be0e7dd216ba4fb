/*
 * tftp-c-sender: a minimal TFTP read server in C, one transfer at a time, to compare ways of moving a
 * file's blocks into datagrams (bench.mjs --c-senders). Grants the blksize and windowsize asked for
 * (windowsize at most 64), no jail beyond refusing "/" and "..": a benchmark tool for loopback only.
 *
 *   pread     pread(2) each block into a buffer, then send(2) it with its header
 *   mmap      map the file once; sendmsg(2) the header and the mapped block (one copy, in the kernel)
 *   sendfile  send(2) the header with MSG_MORE, then sendfile(2) the block (page references, no copy
 *             on this side; the receiver copies out of page-cache pages)
 *   thread    a second thread reads the file ahead in chunks of 16 blocks (one preadv(2) each, two
 *             chunk buffers) while the first sends from them: @boottorrent/tftp's design in C
 *
 *   gcc -O2 -pthread -o tftp-c-sender c-sender.c && ./tftp-c-sender pread 127.0.0.1 16999 /srv/tftp
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum mode { PREAD, MMAP, SENDFILE, THREAD };

static unsigned char buf[65536 + 4];

/* thread mode: chunk c of the file is read into chunk_buf[c % 2] by the reader thread. */
#define CHUNK_BLOCKS 16
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned char *chunk_buf[2];
static long chunk_want = -1, chunk_have[2] = {-1, -1}, chunk_cur = -1;
static int chunk_fd = -1, chunk_busy;
static unsigned chunk_blksize;

static void *reader(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (chunk_want < 0) pthread_cond_wait(&cv, &mu);
    long c = chunk_want;
    chunk_want = -1;
    chunk_busy = 1;
    int fd = chunk_fd;
    unsigned b = chunk_blksize;
    pthread_mutex_unlock(&mu);
    struct iovec io[CHUNK_BLOCKS];
    for (int i = 0; i < CHUNK_BLOCKS; i++) {
      io[i].iov_base = chunk_buf[c & 1] + i * (b + 4) + 4;
      io[i].iov_len = b;
    }
    preadv(fd, io, CHUNK_BLOCKS, (off_t)c * CHUNK_BLOCKS * b); /* a short read only past EOF */
    pthread_mutex_lock(&mu);
    chunk_have[c & 1] = c;
    chunk_busy = 0;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

/* Waits for chunk c, then has the reader start on c + 1 in the other buffer. */
static unsigned char *next_chunk(long c) {
  pthread_mutex_lock(&mu);
  if (chunk_have[c & 1] != c && chunk_want != c) {
    chunk_want = c;
    pthread_cond_broadcast(&cv);
  }
  while (chunk_have[c & 1] != c) pthread_cond_wait(&cv, &mu);
  chunk_have[(c + 1) & 1] = -1;
  chunk_want = c + 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  chunk_cur = c;
  return chunk_buf[c & 1];
}

static void send_error(int s, const char *msg) {
  unsigned char e[128] = {0, 5, 0, 0};
  size_t n = strlen(msg) + 1;
  if (n > sizeof e - 4) n = sizeof e - 4;
  memcpy(e + 4, msg, n);
  send(s, e, n + 4, 0);
}

/* Sends block k (1-based) of the file; returns 0, or -1 on a short read (the file changed). */
static int send_block(enum mode mode, int s, int fd, const unsigned char *map, off_t size,
                      unsigned blksize, unsigned long k) {
  unsigned char h[4] = {0, 3, (k >> 8) & 0xff, k & 0xff};
  off_t off = (off_t)(k - 1) * blksize;
  size_t len = off + blksize <= size ? blksize : (size_t)(size - off);
  long c = (long)((k - 1) / CHUNK_BLOCKS);
  if (mode == THREAD && (c == chunk_cur || c == chunk_cur + 1)) {
    unsigned char *chunk = c == chunk_cur ? chunk_buf[c & 1] : next_chunk(c);
    unsigned char *p = chunk + ((k - 1) % CHUNK_BLOCKS) * (blksize + 4);
    memcpy(p, h, 4);
    return send(s, p, len + 4, 0) < 0 ? -1 : 0;
  }
  if (mode == PREAD || mode == THREAD) { /* thread: a block behind the chunks read (a resend) */
    memcpy(buf, h, 4);
    if (len && pread(fd, buf + 4, len, off) != (ssize_t)len) return -1;
    return send(s, buf, len + 4, 0) < 0 ? -1 : 0;
  }
  if (mode == MMAP || len == 0) {
    struct iovec io[2] = {{h, 4}, {(void *)(map ? map + off : h), len}};
    struct msghdr m = {.msg_iov = io, .msg_iovlen = 2};
    return sendmsg(s, &m, 0) < 0 ? -1 : 0;
  }
  if (send(s, h, 4, MSG_MORE) < 0) return -1;
  return sendfile(s, fd, &off, len) == (ssize_t)len ? 0 : -1;
}

static void serve(enum mode mode, const struct sockaddr_in *local, const char *root,
                  const struct sockaddr_in *client, const unsigned char *req, size_t reqlen) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = *local;
  a.sin_port = 0;
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
      connect(s, (const struct sockaddr *)client, sizeof *client) < 0)
    goto out_sock;
  /* RRQ: | 0 1 | filename 0 | mode 0 | (option 0 value 0)* */
  const char *name = (const char *)req + 2, *end = (const char *)req + reqlen;
  if (reqlen < 4 || req[1] != 1 || !memchr(name, 0, end - name)) goto out_sock;
  unsigned blksize = 512, window = 1;
  const char *p = name + strlen(name) + 1;
  if (p < end) p += strnlen(p, end - p) + 1; /* transfer mode: octet assumed */
  while (p < end) {
    const char *opt = p, *val = opt + strnlen(opt, end - opt) + 1;
    if (val >= end) break;
    if (!strcasecmp(opt, "blksize")) blksize = atoi(val);
    if (!strcasecmp(opt, "windowsize")) window = atoi(val);
    p = val + strnlen(val, end - val) + 1;
  }
  if (blksize < 8 || blksize > 65464) blksize = 512;
  if (window < 1 || window > 64) window = 1;
  char path[4096];
  if (name[0] == '/' || strstr(name, "..") ||
      snprintf(path, sizeof path, "%s/%s", root, name) >= (int)sizeof path) {
    send_error(s, "refused");
    goto out_sock;
  }
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    send_error(s, "not found");
    goto out_sock;
  }
  if (mode == THREAD) {
    pthread_mutex_lock(&mu);
    chunk_fd = fd;
    chunk_blksize = blksize;
    chunk_have[0] = chunk_have[1] = -1;
    chunk_cur = -1;
    pthread_mutex_unlock(&mu);
  }
  unsigned char *map = NULL;
  if (mode == MMAP && st.st_size > 0) {
    map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) goto out_fd;
  }
  char oack[64];
  int n = 2;
  oack[0] = 0, oack[1] = 6;
  n += sprintf(oack + n, "blksize") + 1;
  n += sprintf(oack + n, "%u", blksize) + 1;
  n += sprintf(oack + n, "windowsize") + 1;
  n += sprintf(oack + n, "%u", window) + 1;
  send(s, oack, n, 0);
  unsigned long total = st.st_size / blksize + 1, acked = 0;
  int tries = 0;
  struct pollfd pfd = {.fd = s, .events = POLLIN};
  for (;;) {
    if (poll(&pfd, 1, 1000) == 0) {
      if (++tries > 5) break;
      if (acked == 0) send(s, oack, n, 0);
      else
        for (unsigned long k = acked + 1; k <= acked + window && k <= total; k++)
          send_block(mode, s, fd, map, st.st_size, blksize, k);
      continue;
    }
    unsigned char ack[516];
    ssize_t r = recv(s, ack, sizeof ack, 0);
    if (r < 4 || ack[1] != 4) {
      if (r >= 2 && ack[1] == 5) break; /* the client gave up */
      continue;
    }
    tries = 0;
    unsigned long b = (acked & ~0xffffUL) | ((ack[2] << 8) | ack[3]); /* across rollover */
    if (b < acked) b += 0x10000;
    if (b > acked + window) continue; /* not one of ours */
    acked = b;
    if (acked >= total) break;
    for (unsigned long k = acked + 1; k <= acked + window && k <= total; k++)
      if (send_block(mode, s, fd, map, st.st_size, blksize, k) < 0) {
        send_error(s, "read failed");
        goto out_map;
      }
  }
out_map:
  if (map) munmap(map, st.st_size);
out_fd:
  if (mode == THREAD) { /* the reader may still be reading ahead from fd */
    pthread_mutex_lock(&mu);
    chunk_want = -1;
    while (chunk_busy) pthread_cond_wait(&cv, &mu);
    chunk_fd = -1;
    pthread_mutex_unlock(&mu);
  }
  close(fd);
out_sock:
  if (s >= 0) close(s);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s pread|mmap|sendfile|thread ADDRESS PORT ROOT\n", argv[0]);
    return 2;
  }
  enum mode mode = !strcmp(argv[1], "mmap")       ? MMAP
                   : !strcmp(argv[1], "sendfile") ? SENDFILE
                   : !strcmp(argv[1], "thread")   ? THREAD
                                                  : PREAD;
  if (mode == PREAD && strcmp(argv[1], "pread")) {
    fprintf(stderr, "%s: unknown mode '%s' (pread, mmap, sendfile or thread)\n", argv[0], argv[1]);
    return 2;
  }
  if (mode == THREAD) {
    pthread_t t;
    chunk_buf[0] = malloc(CHUNK_BLOCKS * (65464 + 4));
    chunk_buf[1] = malloc(CHUNK_BLOCKS * (65464 + 4));
    if (!chunk_buf[0] || !chunk_buf[1] || pthread_create(&t, NULL, reader, NULL) != 0) {
      perror("tftp-c-sender: reader thread");
      return 1;
    }
  }
  struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
  int ls = socket(AF_INET, SOCK_DGRAM, 0);
  if (inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 || ls < 0 ||
      bind(ls, (struct sockaddr *)&local, sizeof local) < 0) {
    perror("tftp-c-sender: bind");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    struct sockaddr_in client;
    socklen_t cl = sizeof client;
    ssize_t r = recvfrom(ls, buf, sizeof buf - 1, 0, (struct sockaddr *)&client, &cl);
    if (r < 0) continue;
    buf[r] = 0;
    serve(mode, &local, argv[4], &client, buf, r);
  }
}
