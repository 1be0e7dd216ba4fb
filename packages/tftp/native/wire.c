/*
 * tftp_wire: the datagram wire of one TFTP transfer, a UDP socket connected to the client, without
 * node:dgram's per-datagram costs (a 64 KiB malloc per recvmsg including the one that returns EAGAIN,
 * an `rinfo` object with its address formatted, a SendWrap and a Buffer per send).
 *
 * Per datagram: one epoll wake (libuv uv_poll on Node's own loop), recv(2) into one receive Buffer
 * made once per socket, one call into JavaScript with the length, and send(2) synchronously from a
 * view of the caller's Buffer. The kernel drops datagrams from any other address or port (the socket
 * is connected, RFC 1350 §4). A datagram longer than the receive Buffer is cut to its length
 * (MSG_TRUNC tells the real size; the tail is dropped). A send that finds the socket buffer full
 * (EAGAIN) is copied into a bounded queue and flushed, in order, when the socket is writable again,
 * as libuv does for node:dgram. Socket errors (ECONNREFUSED from an ICMP port unreachable, ...) reach
 * JavaScript by name: through onError from the poll, as the return value of send().
 *
 * JavaScript API (internal to @boottorrent/tftp, see src/native-wire.ts):
 *   open(local, remote, remotePort, rxBytes, onMessage(length), onError(code))
 *       → { rx: Buffer, address: string, port: number }   (throws Error with .code on failure)
 *   send(handle, buffer) → undefined | error code string
 *   close(handle)        idempotent; no callback runs after it
 *
 * Lifetime: the C state lives until both the handle object is collected and libuv has closed the
 * poll handle; an async cleanup hook closes a socket still open when the environment goes away.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Datagrams delivered per wake. One: a lock-step peer sends one ACK per round trip, so draining until
 * EAGAIN would cost a second recv(2) per round trip; epoll is level-triggered, so a datagram left
 * in the socket wakes the loop again at once. */
#define MAX_BATCH 1
#define MAX_QUEUED_BYTES (8u << 20)  /* sends held while the socket buffer is full; past it: dropped */

typedef struct queued {
  struct queued *next;
  size_t len;
  unsigned char data[];
} queued_t;

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t *poll;
  int poll_events;
  napi_ref on_message;
  napi_ref on_error;
  napi_ref rx;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  queued_t *qhead, *qtail;
  size_t qbytes;
  int closing;       /* close() ran: no more callbacks, no more sends */
  int handle_closed; /* libuv's close callback ran */
  int finalized;     /* the handle object was collected */
} wire_t;

static void wire_free(wire_t *w) {
  free(w->poll);
  free(w);
}

static void on_handle_closed(uv_handle_t *h) {
  wire_t *w = h->data;
  w->handle_closed = 1;
  if (w->cleanup) napi_remove_async_cleanup_hook(w->cleanup);
  w->cleanup = NULL;
  if (w->finalized) wire_free(w);
}

static void wire_close(wire_t *w) {
  if (w->closing) return;
  w->closing = 1;
  uv_poll_stop(w->poll);
  close(w->fd);
  w->fd = -1;
  for (queued_t *q = w->qhead, *next; q; q = next) {
    next = q->next;
    free(q);
  }
  w->qhead = w->qtail = NULL;
  w->qbytes = 0;
  napi_delete_reference(w->env, w->on_message);
  napi_delete_reference(w->env, w->on_error);
  napi_delete_reference(w->env, w->rx);
  napi_async_destroy(w->env, w->actx);
  uv_close((uv_handle_t *)w->poll, on_handle_closed);
}

static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  wire_close(arg); /* on_handle_closed removes the hook, which tells Node we are done */
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  wire_t *w = data;
  w->finalized = 1;
  wire_close(w);
  if (w->handle_closed) wire_free(w);
}

/* Calls a stored callback with one argument; an exception goes to process 'uncaughtException'. */
static void call_js(wire_t *w, napi_ref fn_ref, napi_value arg) {
  napi_env env = w->env;
  napi_value fn, global, result;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &global);
  if (napi_make_callback(env, w->actx, global, fn, 1, &arg, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

static void report_error(wire_t *w, int sys_errno) {
  napi_value code;
  napi_create_string_utf8(w->env, uv_err_name(uv_translate_sys_error(sys_errno)), NAPI_AUTO_LENGTH, &code);
  call_js(w, w->on_error, code);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void watch(wire_t *w, int events) {
  if (w->closing || events == w->poll_events) return;
  w->poll_events = events;
  uv_poll_start(w->poll, events, on_poll);
}

/* Sends what the queue holds, in order, until it is empty or the socket buffer is full again. */
static int flush_queue(wire_t *w) {
  while (w->qhead) {
    queued_t *q = w->qhead;
    ssize_t n = send(w->fd, q->data, q->len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    w->qhead = q->next;
    if (!w->qhead) w->qtail = NULL;
    w->qbytes -= q->len;
    free(q);
    if (n < 0) return errno;
  }
  return 0;
}

static int enqueue(wire_t *w, const void *data, size_t len) {
  if (w->qbytes + len > MAX_QUEUED_BYTES) return 0; /* dropped, as a full socket buffer would */
  queued_t *q = malloc(sizeof *q + len);
  if (!q) return ENOMEM;
  q->next = NULL;
  q->len = len;
  memcpy(q->data, data, len);
  if (w->qtail) w->qtail->next = q;
  else w->qhead = q;
  w->qtail = q;
  w->qbytes += len;
  watch(w, UV_READABLE | UV_WRITABLE);
  return 0;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  wire_t *w = h->data;
  if (w->closing) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  if (status < 0) {
    /* libuv stops the poll on POLLERR and says EBADF: the socket's own error (ECONNREFUSED after an
     * ICMP port unreachable) is in SO_ERROR, which reading clears; then the socket is usable again. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) err = -status;
    int events = w->qhead ? UV_READABLE | UV_WRITABLE : UV_READABLE;
    w->poll_events = 0;
    watch(w, events);
    report_error(w, err);
  } else {
    if (events & UV_WRITABLE) {
      int err = flush_queue(w);
      if (!w->qhead) watch(w, UV_READABLE);
      if (err) report_error(w, err);
    }
    for (int i = 0; i < MAX_BATCH && !w->closing && (events & UV_READABLE); i++) {
      napi_value rx, len;
      void *data;
      size_t cap;
      if (napi_get_reference_value(w->env, w->rx, &rx) != napi_ok ||
          napi_get_buffer_info(w->env, rx, &data, &cap) != napi_ok)
        break;
      ssize_t n = recv(w->fd, data, cap, MSG_TRUNC);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) report_error(w, errno);
        break;
      }
      napi_create_uint32(w->env, (size_t)n > cap ? (uint32_t)cap : (uint32_t)n, &len);
      call_js(w, w->on_message, len);
    }
  }
  napi_close_handle_scope(w->env, scope);
}

static void throw_errno(napi_env env, const char *what, int sys_errno) {
  const char *code = uv_err_name(uv_translate_sys_error(sys_errno));
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, strerror(sys_errno), code);
  napi_throw_error(env, code, msg);
}

/* Parses "a.b.c.d" or an IPv6 address with an optional "%scope" into a sockaddr. */
static int parse_addr(const char *s, unsigned port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *len = sizeof *a4;
    return 0;
  }
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  snprintf(host, sizeof host, "%s", s);
  char *scope = strchr(host, '%');
  if (scope) *scope++ = '\0';
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) return -1;
  a6->sin6_family = AF_INET6;
  a6->sin6_port = htons(port);
  if (scope) {
    char *end;
    unsigned long id = strtoul(scope, &end, 10);
    a6->sin6_scope_id = *end == '\0' && end != scope ? (uint32_t)id : if_nametoindex(scope);
  }
  *len = sizeof *a6;
  return 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t n;
  return napi_get_value_string_utf8(env, v, buf, size, &n) == napi_ok && n < size - 1 ? 0 : -1;
}

static napi_value w_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char local[80], remote[80];
  uint32_t port, rx_bytes;
  napi_valuetype t4, t5;
  if (argc < 6 || get_string(env, argv[0], local, sizeof local) || get_string(env, argv[1], remote, sizeof remote) ||
      napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535 ||
      napi_get_value_uint32(env, argv[3], &rx_bytes) != napi_ok || rx_bytes < 4 || rx_bytes > 65536 ||
      napi_typeof(env, argv[4], &t4) != napi_ok || t4 != napi_function || napi_typeof(env, argv[5], &t5) != napi_ok ||
      t5 != napi_function) {
    napi_throw_type_error(env, "EINVAL", "open(local, remote, remotePort, rxBytes, onMessage, onError)");
    return NULL;
  }
  struct sockaddr_storage la, ra;
  socklen_t llen, rlen;
  if (parse_addr(local, 0, &la, &llen) || parse_addr(remote, port, &ra, &rlen) || la.ss_family != ra.ss_family) {
    napi_throw_error(env, "EINVAL", "tftp wire: local and remote must be addresses of one family");
    return NULL;
  }
  int fd = socket(la.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "tftp wire: socket", errno);
    return NULL;
  }
  if (bind(fd, (struct sockaddr *)&la, llen) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "tftp wire: bind", e);
    return NULL;
  }
  if (connect(fd, (struct sockaddr *)&ra, rlen) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "tftp wire: connect", e);
    return NULL;
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  char name[INET6_ADDRSTRLEN] = "";
  unsigned bound_port = 0;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
    if (bound.ss_family == AF_INET) {
      struct sockaddr_in *b = (struct sockaddr_in *)&bound;
      inet_ntop(AF_INET, &b->sin_addr, name, sizeof name);
      bound_port = ntohs(b->sin_port);
    } else {
      struct sockaddr_in6 *b = (struct sockaddr_in6 *)&bound;
      inet_ntop(AF_INET6, &b->sin6_addr, name, sizeof name);
      bound_port = ntohs(b->sin6_port);
    }
  }

  uv_loop_t *loop;
  wire_t *w = calloc(1, sizeof *w);
  uv_poll_t *poll = malloc(uv_handle_size(UV_POLL)); /* the running libuv's size, not the header's */
  if (!w || !poll || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, poll, fd) != 0) {
    free(w);
    free(poll);
    close(fd);
    napi_throw_error(env, "ENOMEM", "tftp wire: cannot set up the poll handle");
    return NULL;
  }
  w->env = env;
  w->fd = fd;
  w->poll = poll;
  poll->data = w;

  napi_value handle, rx, address, port_value, resource_name;
  void *rx_data;
  napi_create_object(env, &handle);
  napi_create_buffer(env, rx_bytes, &rx_data, &rx);
  memset(rx_data, 0, rx_bytes);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &address);
  napi_create_uint32(env, bound_port, &port_value);
  napi_set_named_property(env, handle, "rx", rx);
  napi_set_named_property(env, handle, "address", address);
  napi_set_named_property(env, handle, "port", port_value);
  napi_create_reference(env, rx, 1, &w->rx);
  napi_create_reference(env, argv[4], 1, &w->on_message);
  napi_create_reference(env, argv[5], 1, &w->on_error);
  napi_create_string_utf8(env, "TFTPWIRE", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, handle, resource_name, &w->actx);
  napi_add_async_cleanup_hook(env, on_env_cleanup, w, &w->cleanup);
  if (napi_wrap(env, handle, w, on_finalize, NULL, NULL) != napi_ok) {
    wire_close(w); /* frees w once libuv has closed the handle: mark it finalized first */
    w->finalized = 1;
    napi_throw_error(env, "EINVAL", "tftp wire: cannot wrap the handle");
    return NULL;
  }
  watch(w, UV_READABLE);
  return handle;
}

static wire_t *unwrap(napi_env env, napi_value handle) {
  void *w = NULL;
  if (napi_unwrap(env, handle, &w) != napi_ok || w == NULL) {
    napi_throw_type_error(env, "EINVAL", "tftp wire: not a wire handle");
    return NULL;
  }
  return w;
}

static napi_value w_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  wire_t *w = argc == 2 ? unwrap(env, argv[0]) : NULL;
  if (!w) return NULL;
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "tftp wire: send() takes a Buffer");
    return NULL;
  }
  if (w->closing) return NULL; /* like a datagram lost on the wire; the transfer is over anyway */
  int err = 0;
  if (w->qhead) {
    err = enqueue(w, data, len); /* keep the order */
  } else {
    ssize_t n;
    do n = send(w->fd, data, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) err = errno == EAGAIN || errno == EWOULDBLOCK ? enqueue(w, data, len) : errno;
  }
  if (!err) return NULL;
  napi_value code;
  napi_create_string_utf8(env, uv_err_name(uv_translate_sys_error(err)), NAPI_AUTO_LENGTH, &code);
  return code;
}

static napi_value w_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  wire_t *w = argc == 1 ? unwrap(env, argv[0]) : NULL;
  if (w) wire_close(w);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, w_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, w_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, w_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
