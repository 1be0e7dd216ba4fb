/*
 * tftp-fetch: a small, fast TFTP read client for the benchmark, so that the client is not what is
 * measured (atftp spends ~15 µs per packet, which caps any window). RFC 1350 + 2347/2348 + 7440:
 * asks for blksize (and windowsize when > 1), acknowledges each full window, re-acknowledges the last
 * in-order block once on a gap and on each 1 s timeout, follows block-number rollover, discards the
 * data and prints "<bytes> <checksum> <windowsize granted>" (the checksum is position-weighted: a
 * misplaced block changes it).
 *
 *   gcc -O2 -o tftp-fetch fetch.c && ./tftp-fetch 127.0.0.1 69 file 1468 16
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sock;
static unsigned char ack[4] = {0, 4, 0, 0};

static void send_ack(unsigned block) {
  ack[2] = (block >> 8) & 0xff;
  ack[3] = block & 0xff;
  send(sock, ack, 4, 0);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s HOST PORT FILE BLKSIZE WINDOWSIZE\n", argv[0]);
    return 2;
  }
  unsigned blksize = 512, window = 1;
  struct sockaddr_in srv = {0};
  srv.sin_family = AF_INET;
  srv.sin_port = htons(atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &srv.sin_addr);
  sock = socket(AF_INET, SOCK_DGRAM, 0);
  int rcv = 4 << 20;
  setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);

  char req[600];
  int n = 2;
  req[0] = 0, req[1] = 1;
  n += sprintf(req + n, "%s", argv[3]) + 1;
  n += sprintf(req + n, "octet") + 1;
  n += sprintf(req + n, "blksize") + 1;
  n += sprintf(req + n, "%s", argv[4]) + 1;
  if (atoi(argv[5]) > 1) {
    n += sprintf(req + n, "windowsize") + 1;
    n += sprintf(req + n, "%s", argv[5]) + 1;
  }
  sendto(sock, req, n, 0, (struct sockaddr *)&srv, sizeof srv);

  static unsigned char buf[65536 + 4];
  uint64_t total = 0;
  uint32_t sum = 0, weight = 1; /* weight = (offset % 251) + 1, kept incrementally */
  unsigned long expected = 1, inwin = 0;
  int connected = 0, gap_acked = 0, timeouts = 0;
  struct pollfd pfd = {.fd = sock, .events = POLLIN};
  for (;;) {
    if (poll(&pfd, 1, 1000) == 0) {
      if (++timeouts > 10) {
        fprintf(stderr, "timed out at block %lu\n", expected);
        return 1;
      }
      if (connected) send_ack(expected - 1);
      else sendto(sock, req, n, 0, (struct sockaddr *)&srv, sizeof srv);
      continue;
    }
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t len = recvfrom(sock, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (len < 4) continue;
    if (!connected) {
      connect(sock, (struct sockaddr *)&from, fl); /* the server's transfer port from now on */
      connected = 1;
    }
    unsigned op = (buf[0] << 8) | buf[1], block = (buf[2] << 8) | buf[3];
    if (op == 5) {
      fprintf(stderr, "server error %u: %.*s\n", block, (int)(len - 4), buf + 4);
      return 1;
    }
    if (op == 6) { /* OACK: options granted */
      for (unsigned char *p = buf + 2; p < buf + len;) {
        char *name = (char *)p, *val = name + strlen(name) + 1;
        if (!strcasecmp(name, "blksize")) blksize = atoi(val);
        if (!strcasecmp(name, "windowsize")) window = atoi(val);
        p = (unsigned char *)val + strlen(val) + 1;
      }
      send_ack(0);
      continue;
    }
    if (op != 3) continue;
    timeouts = 0;
    if (block != (expected & 0xffff)) {
      if (!gap_acked) {
        gap_acked = 1;
        inwin = 0;
        send_ack(expected - 1);
      }
      continue;
    }
    gap_acked = 0;
    size_t data = len - 4;
    for (size_t i = 0; i < data; i++) {
      sum += buf[4 + i] * weight;
      if (++weight == 252) weight = 1;
    }
    total += data;
    expected++;
    if (data < blksize) {
      send_ack(expected - 1);
      break;
    }
    if (++inwin >= window) {
      inwin = 0;
      send_ack(expected - 1);
    }
  }
  printf("%llu %u %u\n", (unsigned long long)total, sum, window);
  return 0;
}
