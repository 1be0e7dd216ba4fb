/*
 * tftp-loopback-ref: what this machine's loopback moves in TFTP's pattern with no work on either side,
 * a reference to read the table against. A sender sends `window` datagrams of blksize + 4 bytes
 * from a buffer that stays in cache (no file, nothing read from memory), waits for a 4-byte "ACK", and
 * repeats; a receiver (a child process, as the client is) receives and discards them (no checksum) and
 * acknowledges each window, with tftp-fetch's 4 MiB receive buffer. Prints MiB/s of payload.
 * Not a strict bound: a receiver with nothing to do sleeps at once, and an idle vCPU wakes more
 * slowly than a busy one, so a real server can beat it in lock-step.
 *
 *   gcc -O2 -o tftp-loopback-ref loopback-ref.c && ./tftp-loopback-ref 65464 3 52428800
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int udp_on_loopback(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval t = {.tv_sec = 2}; /* a lost datagram ends the run instead of hanging it */
  int rcv = 4 << 20;
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) exit(1);
  return s;
}

static void connect_to(int s, int peer) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  getsockname(peer, (struct sockaddr *)&a, &len);
  if (connect(s, (struct sockaddr *)&a, len) < 0) exit(1);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s BLKSIZE WINDOW BYTES\n", argv[0]);
    return 2;
  }
  size_t blksize = strtoul(argv[1], 0, 10), window = strtoul(argv[2], 0, 10);
  size_t blocks = (strtoul(argv[3], 0, 10) + blksize - 1) / blksize;
  if (blksize < 8 || blksize > 65464 || window < 1) return 2;
  blocks = (blocks + window - 1) / window * window; /* whole windows */
  int tx = udp_on_loopback(), rx = udp_on_loopback();
  connect_to(tx, rx);
  connect_to(rx, tx);
  static char buf[65536];
  struct timespec t0, t1;
  pid_t child = fork(); /* the receiving socket exists already: datagrams wait for the child */
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (child == 0) {
    for (size_t i = 1; i <= blocks; i++) {
      if (recv(rx, buf, sizeof buf, 0) < 0) _exit(1);
      if (i % window == 0 && send(rx, buf, 4, 0) < 0) _exit(1);
    }
    _exit(0);
  }
  for (size_t i = 0; i < blocks; i += window) {
    for (size_t k = 0; k < window; k++)
      if (send(tx, buf, blksize + 4, 0) < 0) return 1;
    if (recv(tx, buf, 4, 0) < 0) {
      fprintf(stderr, "no ACK after block %zu\n", i + window);
      return 1;
    }
  }
  int status;
  waitpid(child, &status, 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("%.1f\n", blocks * blksize / s / 1048576);
  return 0;
}
