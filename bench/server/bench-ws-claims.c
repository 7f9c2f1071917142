/* bench-ws-claims: claim round trips over kiosk WebSockets, with p50/p99
 *
 * Each active connection is a kiosk (HTTP Basic SN:secret) with one claim code of its school.
 * It loops: claim.request → claim.authorized, then claim.failed (cancelled) → ack, which
 * reopens the code for the next turn. The figure is the claim round trip (request → answer);
 * the report round trip (failed → ack) is printed beside it. Against the constant-answer
 * server the answer is a fixed claim.rejected, and the loop simply asks again.
 *
 * The client shares the machine with the server under test, and every cycle it spends is taken
 * from the server: with libsoup and a JSON parser, the active kiosks alone cost ~60 µs of CPU a
 * round trip (each of which also brings ~5 pushes), a quarter of a 2-CPU machine. So there is
 * no libsoup and no JSON parser here. The active kiosks are plain non-blocking sockets on one
 * epoll thread ("active"), which writes the upgrade by hand, reads the server's frames in
 * place, skips the pushes after one string search, and finds the few members it needs in the
 * answers by scanning the server's compact JSON. That thread keeps every figure to itself; the
 * main thread reads them once it has ended.
 *
 * --idle M first opens M idle WebSockets (kiosks and application event sockets, from
 * --idle-file), at most 8 handshakes at a time (MEASURED.md, pitfall 5), and keeps them alive
 * with application pings while the active kiosks run. They are held by a couple of epoll
 * threads of their own, with the same connect, upgrade and framing code as the active kiosks.
 *
 * Loopback only, bounded in connections and time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE                     /* memmem */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>

#define MAX_CONNECTIONS 1000
#define MAX_IDLE 20000
#define MAX_HANDSHAKES 8
#define PING_PERIOD_S 15
#define PING_TICK_MS 20
#define CONNECT_TIMEOUT_S 60            /* for all the active kiosks */
#define HANDSHAKE_TIMEOUT_S 30          /* for one upgrade */
#define HANDSHAKE_MAX 4096
#define DRAIN_TIMEOUT_S 5
#define ACTIVE_EVENTS 64
#define ACTIVE_READ_SIZE (64 * 1024)
/* The largest frame taken from the server, as the libsoup client allowed. */
#define MAX_PAYLOAD (16 * 1024 * 1024)

/* RFC 6455 §1.3: the server proves it read our key by hashing it with this. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* A client frame's header at most: 2 bytes, a 64-bit length and the masking key (§5.2). */
#define WS_HEADER_MAX 14

enum
{
  WS_CONTINUATION = 0x0,
  WS_TEXT = 0x1,
  WS_BINARY = 0x2,
  WS_CLOSE = 0x8,
  WS_PING = 0x9,
  WS_PONG = 0xA,
};

typedef enum
{
  WAIT_NOTHING,
  WAIT_CLAIM,
  WAIT_ACK,
} Waiting;

typedef struct _Bench Bench;

/* An upgrade in flight, for an active kiosk or an idle socket alike. */
typedef struct
{
  char  *request;
  gsize  request_len;
  gsize  sent;
  char  *accept;                        /* the Sec-WebSocket-Accept the server must send */
  gint64 deadline;
  gsize  head_len;                      /* once the response head is in: its length */
  gsize  response_len;
  char   response[HANDSHAKE_MAX + 1];
} Handshake;

/* An active kiosk: owned by the active thread once that is started. */
typedef struct
{
  Bench      *bench;
  guint       index;
  char       *sn;
  char       *secret;
  char       *code;
  int         fd;                       /* -1 until connecting, and once failed or lost */
  Handshake  *handshake;                /* while the upgrade is in flight */
  guint8     *in;                       /* read, not yet handled: a frame's start, at most */
  gsize       in_len;
  gsize       in_size;
  GByteArray *out;                      /* what send() did not take, for EPOLLOUT */
  gsize       out_sent;
  Waiting     waiting;
  gint64      sent_at;
  gint64      cycle_started;
  gint64      next_claim_at;            /* paced: when the next claim is due; 0 if none is */
  guint64     seq;
  gint64      last_claim_id;            /* claim ids only grow: a smaller one is a replay */
  guint       measured_claims;          /* answers to this kiosk's claims while measuring */
} Active;

typedef struct
{
  gboolean   is_kiosk;
  char      *who;        /* SN, or application id */
  char      *secret;     /* kiosk secret, or application token */
  int        fd;         /* -1 until connected, and once failed or closed */
  Handshake *handshake;  /* while the upgrade is in flight */
} Idle;

struct _Bench
{
  /* the server, from --url */
  char         *base_url;
  struct sockaddr_storage addr;
  socklen_t     addr_len;
  char         *host;          /* the Host header */
  char         *path;          /* the path of --url, before /api */

  /* the active kiosks: owned by the active thread until it has ended */
  GPtrArray    *actives;
  GThread      *active_thread;
  GRand        *active_rand;
  int           active_epoll_fd;
  guint         next_to_connect;
  guint         in_flight;
  guint         connected;
  guint         connect_failed;
  gboolean      measuring;
  gboolean      stopping;
  gint64        started_at;
  gint64        stopped_at;
  GArray       *claim_us;
  GArray       *report_us;
  guint64       authorized;
  GHashTable   *rejections;    /* reason → guint * count */
  guint64       errors;
  guint64       replayed;               /* answers to an id of an earlier run (must stay 0) */
  guint64       closed_early;

  /* idle connections: each owned by its holder thread */
  GPtrArray    *idles;
  GPtrArray    *idle_workers;  /* IdleHolder */
  GMutex        idle_mutex;
  GCond         idle_cond;
  guint         idle_workers_done;
  guint         idle_connected;
  guint         idle_failed;
};

static char *opt_url = NULL;
static char *opt_kiosks = NULL;
static char *opt_idle_file = NULL;
static int opt_connections = 50;
static int opt_idle = 0;
static double opt_duration = 10.0;
static double opt_warmup = 1.0;
static int opt_pace_ms = 0;

static GOptionEntry entries[] = {
  { "url", 'u', 0, G_OPTION_ARG_STRING, &opt_url, "Server base URL (loopback)", "http://127.0.0.1:PORT" },
  { "kiosks", 'k', 0, G_OPTION_ARG_FILENAME, &opt_kiosks, "Active kiosks: lines \"SN SECRET CODE\"", "FILE" },
  { "connections", 'c', 0, G_OPTION_ARG_INT, &opt_connections, "Active kiosk connections", "N" },
  { "idle", 'i', 0, G_OPTION_ARG_INT, &opt_idle, "Idle WebSockets to hold open first", "M" },
  { "idle-file", 'f', 0, G_OPTION_ARG_FILENAME, &opt_idle_file,
    "Idle sockets: lines \"kiosk SN SECRET\" or \"app ID TOKEN\"", "FILE" },
  { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &opt_duration, "Measured seconds", "S" },
  { "warmup", 'w', 0, G_OPTION_ARG_DOUBLE, &opt_warmup, "Unmeasured seconds first", "S" },
  { "pace", 'p', 0, G_OPTION_ARG_INT, &opt_pace_ms,
    "Each kiosk starts a claim every MS milliseconds (0: as fast as answers come)", "MS" },
  { NULL }
};

static gint
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint
compare_guint (gconstpointer a,
               gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

/* How evenly the server shared itself out: claims answered per kiosk. In a closed loop, a kiosk
 * whose connection waits behind busier ones gets fewer turns, and its claims are the tail. */
static void
print_fairness (Bench *bench)
{
  g_autoptr(GArray) counts = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < bench->actives->len; i++)
    {
      const Active *active = g_ptr_array_index (bench->actives, i);

      g_array_append_val (counts, active->measured_claims);
    }
  if (counts->len == 0)
    return;
  g_array_sort (counts, compare_guint);
  g_print ("fairness: claims per kiosk min=%u p10=%u p50=%u p90=%u max=%u\n",
           g_array_index (counts, guint, 0),
           g_array_index (counts, guint, counts->len / 10),
           g_array_index (counts, guint, counts->len / 2),
           g_array_index (counts, guint, counts->len * 9 / 10),
           g_array_index (counts, guint, counts->len - 1));
}

static double
percentile_ms (GArray *samples,
               double  p)
{
  gsize i;

  if (samples->len == 0)
    return 0.0;
  i = (gsize) (p * (samples->len - 1) + 0.5);
  return g_array_index (samples, gint64, i) / 1000.0;
}

static char *
basic_auth (const char *user,
            const char *password)
{
  g_autofree char *pair = g_strdup_printf ("%s:%s", user, password);
  g_autofree char *b64 = g_base64_encode ((const guchar *) pair, strlen (pair));

  return g_strdup_printf ("Basic %s", b64);
}

/* --- WebSocket client pieces, shared by the active kiosks and the idle sockets --- */

/* The server's address and the Host header and path prefix, from --url: there is no libsoup
 * to resolve it, so it is resolved once here. An IPv4 address is preferred, as libsoup would
 * find one for "localhost" too. */
static gboolean
resolve_server (Bench   *bench,
                GError **error)
{
  g_autoptr(GUri) uri = g_uri_parse (bench->base_url, G_URI_FLAGS_NONE, error);
  struct addrinfo hints = { 0 };
  struct addrinfo *found = NULL;
  struct addrinfo *chosen;
  g_autofree char *port = NULL;
  const char *host;
  int rc;

  if (uri == NULL)
    return FALSE;
  host = g_uri_get_host (uri);
  port = g_strdup_printf ("%d", g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 80);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  rc = getaddrinfo (host, port, &hints, &found);
  if (rc != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", host, gai_strerror (rc));
      return FALSE;
    }
  chosen = found;
  for (struct addrinfo *a = found; a != NULL; a = a->ai_next)
    if (a->ai_family == AF_INET)
      {
        chosen = a;
        break;
      }
  memcpy (&bench->addr, chosen->ai_addr, chosen->ai_addrlen);
  bench->addr_len = chosen->ai_addrlen;
  freeaddrinfo (found);

  bench->host = strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%s", host, port)
                                           : g_strdup_printf ("%s:%s", host, port);
  bench->path = g_strdup (g_uri_get_path (uri));
  return TRUE;
}

static char *
websocket_accept (const char *key)
{
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) WS_GUID, -1);
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

/* The value of header NAME in the NUL-terminated response head, or NULL. */
static char *
header_value (const char *head,
              const char *name)
{
  gsize name_len = strlen (name);

  for (const char *line = strstr (head, "\r\n"); line != NULL; line = strstr (line, "\r\n"))
    {
      line += 2;
      if (g_ascii_strncasecmp (line, name, name_len) == 0 && line[name_len] == ':')
        {
          const char *value = line + name_len + 1;

          return g_strstrip (g_strndup (value, strcspn (value, "\r\n")));
        }
    }
  return NULL;
}

static void
handshake_free (Handshake *hs)
{
  g_free (hs->request);
  g_free (hs->accept);
  g_free (hs);
}

/* Starts a non-blocking connection to the server, registered in EPOLL_FD for EPOLLOUT (with
 * DATA), and the upgrade request to send once it is connected: a kiosk's WebSocket (HTTP Basic
 * WHO:SECRET), or an application's event socket (Bearer SECRET). A failure message, or NULL. */
static char *
ws_open (Bench      *bench,
         GRand      *rand,
         int         epoll_fd,
         gpointer    data,
         gboolean    is_kiosk,
         const char *who,
         const char *secret,
         int        *fd_out,
         Handshake **hs_out)
{
  struct epoll_event event = { 0 };
  guint32 key[4];
  g_autofree char *key64 = NULL;
  g_autofree char *path = NULL;
  g_autofree char *auth = NULL;
  Handshake *hs;
  int one = 1;
  int fd;

  fd = socket (bench->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return g_strdup_printf ("socket: %s", g_strerror (errno));
  /* Every frame is written whole: Nagle could only hold one back behind an unacked one. */
  if (setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
    {
      int saved = errno;

      close (fd);
      return g_strdup_printf ("TCP_NODELAY: %s", g_strerror (saved));
    }
  if (connect (fd, (struct sockaddr *) &bench->addr, bench->addr_len) < 0 && errno != EINPROGRESS)
    {
      int saved = errno;

      close (fd);
      return g_strdup_printf ("connect: %s", g_strerror (saved));
    }
  /* Writable once connected (or at once, if connect finished already). */
  event.events = EPOLLOUT;
  event.data.ptr = data;
  if (epoll_ctl (epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
    {
      int saved = errno;

      close (fd);
      return g_strdup_printf ("epoll_ctl: %s", g_strerror (saved));
    }

  for (guint i = 0; i < G_N_ELEMENTS (key); i++)
    key[i] = g_rand_int (rand);
  key64 = g_base64_encode ((const guchar *) key, sizeof key);
  if (is_kiosk)
    {
      path = g_strdup_printf ("%s/api/v1/kiosk/ws", bench->path);
      auth = basic_auth (who, secret);
    }
  else
    {
      path = g_strdup_printf ("%s/api/v1/applications/%s/events", bench->path, who);
      auth = g_strdup_printf ("Bearer %s", secret);
    }

  /* The headers the libsoup 3.2 client sent: no Origin, subprotocol or extension (so no
   * permessage-deflate: frames come uncompressed), and its content decoder's Accept-Encoding,
   * which the server ignores on an upgrade but a real libsoup kiosk sends too. */
  hs = g_new0 (Handshake, 1);
  hs->request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                                 "Host: %s\r\n"
                                 "Authorization: %s\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: %s\r\n"
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "Accept-Encoding: gzip, deflate\r\n"
                                 "\r\n", path, bench->host, auth, key64);
  hs->request_len = strlen (hs->request);
  hs->accept = websocket_accept (key64);
  hs->deadline = g_get_monotonic_time () + HANDSHAKE_TIMEOUT_S * G_USEC_PER_SEC;
  *fd_out = fd;
  *hs_out = hs;
  return NULL;
}

/* Connected (or refused): sends what is left of the request, and once it is all out, waits
 * for the response (EPOLLIN, with DATA). A failure message, or NULL. */
static char *
handshake_write (Handshake *hs,
                 int        fd,
                 int        epoll_fd,
                 gpointer   data)
{
  ssize_t n;

  if (hs->sent == 0)
    {
      int error = 0;
      socklen_t len = sizeof error;

      if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        error = errno;
      if (error != 0)
        return g_strdup_printf ("connect: %s", g_strerror (error));
    }

  n = send (fd, hs->request + hs->sent, hs->request_len - hs->sent, MSG_NOSIGNAL);
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? NULL : g_strdup_printf ("send: %s", g_strerror (errno));
  hs->sent += n;
  if (hs->sent == hs->request_len)
    {
      struct epoll_event event = { 0 };

      event.events = EPOLLIN;
      event.data.ptr = data;
      if (epoll_ctl (epoll_fd, EPOLL_CTL_MOD, fd, &event) < 0)
        return g_strdup_printf ("epoll_ctl: %s", g_strerror (errno));
    }
  return NULL;
}

/* Reads the response head; *DONE once a valid 101 with the right Sec-WebSocket-Accept is in.
 * A failure message, or NULL. What came after the head (the server's first frames) is left in
 * the response, from head_len to response_len. */
static char *
handshake_read (Handshake *hs,
                int        fd,
                gboolean  *done)
{
  g_autofree char *accept = NULL;
  char *end;
  ssize_t n;

  n = recv (fd, hs->response + hs->response_len, HANDSHAKE_MAX - hs->response_len, 0);
  if (n == 0)
    return g_strdup ("closed during the handshake");
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? NULL : g_strdup_printf ("recv: %s", g_strerror (errno));
  hs->response_len += n;
  hs->response[hs->response_len] = '\0';

  /* The head has no NUL; frames after it may, which only stops the search past the head. */
  end = strstr (hs->response, "\r\n\r\n");
  if (end == NULL)
    return hs->response_len == HANDSHAKE_MAX ? g_strdup ("response head too long") : NULL;
  hs->head_len = end + 4 - hs->response;
  end[2] = '\0';

  if (strncmp (hs->response, "HTTP/1.1 101", 12) != 0
      || (hs->response[12] != ' ' && hs->response[12] != '\r'))
    return g_strndup (hs->response, strcspn (hs->response, "\r\n"));
  accept = header_value (hs->response, "Sec-WebSocket-Accept");
  if (accept == NULL || !g_str_equal (accept, hs->accept))
    return g_strdup ("101 without the right Sec-WebSocket-Accept");
  *done = TRUE;
  return NULL;
}

/* Writes a client frame into FRAME (room for LEN + WS_HEADER_MAX bytes): FIN, OPCODE and the
 * payload, masked with a fresh random key, as a client must mask every frame (RFC 6455 §5.3).
 * Returns the frame's length. */
static gsize
ws_frame_encode (GRand       *rand,
                 guint8       opcode,
                 const void  *payload,
                 gsize        len,
                 guint8      *frame)
{
  const guint8 *in = payload;
  guint32 key = g_rand_int (rand);
  guint8 *mask;
  gsize header;

  frame[0] = 0x80 | opcode;
  if (len < 126)
    {
      frame[1] = 0x80 | len;
      header = 2;
    }
  else if (len <= G_MAXUINT16)
    {
      frame[1] = 0x80 | 126;
      frame[2] = len >> 8;
      frame[3] = len & 0xff;
      header = 4;
    }
  else
    {
      frame[1] = 0x80 | 127;
      for (guint i = 0; i < 8; i++)
        frame[2 + i] = (guint64) len >> (56 - 8 * i);
      header = 10;
    }
  mask = frame + header;
  memcpy (mask, &key, 4);
  for (gsize i = 0; i < len; i++)
    frame[header + 4 + i] = in[i] ^ mask[i % 4];
  return header + 4 + len;
}

typedef struct
{
  gboolean      fin;
  guint8        opcode;
  const guint8 *payload;
  gsize         len;
} WsFrame;

/* The server's frame at the start of DATA (LEN bytes read so far), in place. Returns its whole
 * length once all of it is in; 0 while it is not, with *NEEDED its whole length once the
 * header is in (0 before); -1 if it is no frame a server may send: masked (§5.1), with RSV
 * bits (no extension was negotiated), or bigger than MAX_PAYLOAD. */
static gssize
ws_frame_parse (const guint8 *data,
                gsize         len,
                WsFrame      *frame,
                gsize        *needed)
{
  guint64 payload_len;
  gsize header = 2;

  *needed = 0;
  if (len < 2)
    return 0;
  if ((data[0] & 0x70) != 0 || (data[1] & 0x80) != 0)
    return -1;
  payload_len = data[1] & 0x7f;
  if (payload_len == 126)
    {
      header = 4;
      if (len < header)
        return 0;
      payload_len = (guint64) data[2] << 8 | data[3];
    }
  else if (payload_len == 127)
    {
      header = 10;
      if (len < header)
        return 0;
      payload_len = 0;
      for (guint i = 0; i < 8; i++)
        payload_len = payload_len << 8 | data[2 + i];
    }
  if (payload_len > MAX_PAYLOAD)
    return -1;
  *needed = header + payload_len;
  if (len < *needed)
    return 0;
  frame->fin = (data[0] & 0x80) != 0;
  frame->opcode = data[0] & 0x0f;
  frame->payload = data + header;
  frame->len = payload_len;
  return *needed;
}

/* --- the server's messages, scanned rather than parsed --- */

/* The messages are the server's own json-glib output: compact, no blanks, and "type" always
 * the first member. Where the value of member KEY (given as "\"name\":") starts in TEXT, or
 * NULL. The first match is the top-level member for every key looked up here: "type" comes
 * first, "re", "claim_id" and "reason" before any nested object, and no push (codes.snapshot,
 * code.added, code.removed) has a member "re" at any depth. A string holds '"' only as '\"',
 * so "name": cannot match inside a string value. */
static const char *
json_member (const char *text,
             gsize       len,
             const char *key)
{
  gsize key_len = strlen (key);
  const char *at = memmem (text, len, key, key_len);

  return at != NULL ? at + key_len : NULL;
}

/* The string value of member KEY, without its quotes (and escapes left as they are). */
static gboolean
json_string_member (const char  *text,
                    gsize        len,
                    const char  *key,
                    const char **value,
                    gsize       *value_len)
{
  const char *end = text + len;
  const char *start = json_member (text, len, key);
  const char *p;

  if (start == NULL || start >= end || *start != '"')
    return FALSE;
  for (p = start + 1; p < end && *p != '"'; p++)
    if (*p == '\\')
      p++;
  if (p >= end)
    return FALSE;
  *value = start + 1;
  *value_len = p - start - 1;
  return TRUE;
}

static gboolean
json_int_member (const char *text,
                 gsize       len,
                 const char *key,
                 gint64     *value)
{
  const char *end = text + len;
  const char *p = json_member (text, len, key);
  gboolean negative;
  guint64 n = 0;

  if (p == NULL)
    return FALSE;
  negative = p < end && *p == '-';
  if (negative)
    p++;
  if (p >= end || !g_ascii_isdigit (*p))
    return FALSE;
  for (; p < end && g_ascii_isdigit (*p); p++)
    n = n * 10 + (*p - '0');
  *value = negative ? -(gint64) n : (gint64) n;
  return TRUE;
}

static inline gboolean
span_is (const char *span,
         gsize       len,
         const char *s)
{
  return len == strlen (s) && memcmp (span, s, len) == 0;
}

/* --- active kiosks, on one epoll thread --- */

/* The connection is over (the server closed it, or a read or write failed): counted as closed
 * early unless the run is stopping. WHY is borrowed. */
static void
active_lost (Active     *active,
             const char *why)
{
  Bench *bench = active->bench;

  if (active->fd < 0)
    return;
  if (!bench->stopping)
    {
      if (bench->closed_early < 5)
        g_printerr ("bench-ws-claims: kiosk %s: %s\n", active->sn, why);
      bench->closed_early++;
    }
  /* Closing the descriptor also takes it out of the epoll set. */
  close (active->fd);
  active->fd = -1;
  active->waiting = WAIT_NOTHING;
  active->next_claim_at = 0;
  active->in_len = 0;
  g_byte_array_set_size (active->out, 0);
  active->out_sent = 0;
}

static void
active_lost_errno (Active     *active,
                   const char *what)
{
  g_autofree char *why = g_strdup_printf ("%s: %s", what, g_strerror (errno));

  active_lost (active, why);
}

static gboolean
active_watch (Active  *active,
              guint32  events)
{
  struct epoll_event event = { 0 };

  event.events = events;
  event.data.ptr = active;
  if (epoll_ctl (active->bench->active_epoll_fd, EPOLL_CTL_MOD, active->fd, &event) < 0)
    {
      active_lost_errno (active, "epoll_ctl");
      return FALSE;
    }
  return TRUE;
}

/* Sends one frame, whole: what the socket does not take now (rare: the server reads all the
 * time) is queued, and written on EPOLLOUT before anything later. *SENT_AT, if given, is set
 * just before send(), where the round trip starts. */
static void
active_send (Active      *active,
             guint8       opcode,
             const char  *payload,
             gsize        len,
             gint64      *sent_at)
{
  guint8 stack[512];
  g_autofree guint8 *heap = NULL;
  guint8 *frame = stack;
  gsize frame_len;
  gsize sent = 0;

  if (active->fd < 0)
    return;
  if (len + WS_HEADER_MAX > sizeof stack)
    frame = heap = g_malloc (len + WS_HEADER_MAX);
  frame_len = ws_frame_encode (active->bench->active_rand, opcode, payload, len, frame);

  if (sent_at != NULL)
    *sent_at = g_get_monotonic_time ();
  if (active->out->len == 0)
    {
      ssize_t n = send (active->fd, frame, frame_len, MSG_NOSIGNAL);

      if (n == (ssize_t) frame_len)
        return;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        {
          active_lost_errno (active, "send");
          return;
        }
      sent = MAX (n, 0);
      if (!active_watch (active, EPOLLIN | EPOLLOUT))
        return;
    }
  g_byte_array_append (active->out, frame + sent, frame_len - sent);
}

/* EPOLLOUT: writes what is queued; once it is all out, back to reading only. */
static void
active_flush (Active *active)
{
  ssize_t n = send (active->fd, active->out->data + active->out_sent,
                    active->out->len - active->out_sent, MSG_NOSIGNAL);

  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        active_lost_errno (active, "send");
      return;
    }
  active->out_sent += n;
  if (active->out_sent == active->out->len)
    {
      g_byte_array_set_size (active->out, 0);
      active->out_sent = 0;
      active_watch (active, EPOLLIN);
    }
}

static void
active_send_text (Active     *active,
                  const char *json,
                  gint64     *sent_at)
{
  active_send (active, WS_TEXT, json, strlen (json), sent_at);
}

/* Message ids must differ from one run to the next against the same server: the same id again is
 * a resend, which the server answers from what it stored, without doing the claim again
 * (DESIGN.md). Set once at start. */
static guint32 run_tag;

static void
active_send_request (Active *active)
{
  g_autofree char *json = NULL;

  active->cycle_started = g_get_monotonic_time ();
  active->seq++;
  json = g_strdup_printf ("{\"type\":\"claim.request\",\"id\":\"b%08x-%u-%" G_GUINT64_FORMAT "\","
                          "\"code\":\"%s\"}", run_tag, active->index, active->seq, active->code);
  active->waiting = WAIT_CLAIM;
  active_send_text (active, json, &active->sent_at);
}

static void
active_send_failed (Active *active,
                    gint64  claim_id)
{
  g_autofree char *json = NULL;

  active->seq++;
  json = g_strdup_printf ("{\"type\":\"claim.failed\",\"id\":\"b%08x-%u-%" G_GUINT64_FORMAT "\","
                          "\"claim_id\":%" G_GINT64_FORMAT ",\"reason\":\"cancelled\","
                          "\"card_no\":null}", run_tag, active->index, active->seq, claim_id);
  active->waiting = WAIT_ACK;
  active_send_text (active, json, &active->sent_at);
}

/* The rejection table is keyed by the reason: looked up with a copy on the stack, so that a
 * rejection (every answer of the constant server) allocates nothing but the first time. */
static void
count_rejection (Bench      *bench,
                 const char *text,
                 gsize       len)
{
  const char *reason = "?";
  gsize reason_len = 1;
  char key[64];
  guint *count;

  json_string_member (text, len, "\"reason\":", &reason, &reason_len);
  reason_len = MIN (reason_len, sizeof key - 1);
  memcpy (key, reason, reason_len);
  key[reason_len] = '\0';
  count = g_hash_table_lookup (bench->rejections, key);
  if (count == NULL)
    {
      count = g_new0 (guint, 1);
      g_hash_table_insert (bench->rejections, g_strdup (key), count);
    }
  (*count)++;
}

/* A whole text message, at NOW (just after its frame was parsed). */
static void
active_on_message (Active     *active,
                   const char *text,
                   gsize       len,
                   gint64      now)
{
  Bench *bench = active->bench;
  gint64 elapsed = now - active->sent_at;
  const char *type;
  gsize type_len;

  /* Most messages are the school's pushes (code.added, code.removed), which the loop ignores:
   * one search skips them. Every answer has "re", and nothing else the server sends does; a
   * heartbeat ping (the server's, should the kiosk be quiet for long) is answered. */
  if (json_member (text, len, "\"re\":") == NULL)
    {
      const char *id = "";
      gsize id_len = 0;

      if (json_string_member (text, len, "\"type\":", &type, &type_len)
          && span_is (type, type_len, "ping"))
        {
          g_autofree char *pong = NULL;

          json_string_member (text, len, "\"id\":", &id, &id_len);
          pong = g_strdup_printf ("{\"type\":\"pong\",\"re\":\"%.*s\"}", (int) id_len, id);
          active_send_text (active, pong, NULL);
        }
      return;
    }
  /* An answer with no type is as broken as one that does not parse. */
  if (!json_string_member (text, len, "\"type\":", &type, &type_len))
    {
      bench->errors++;
      return;
    }

  switch (active->waiting)
    {
    case WAIT_CLAIM:
      if (bench->measuring)
        {
          g_array_append_val (bench->claim_us, elapsed);
          active->measured_claims++;
        }

      if (span_is (type, type_len, "claim.authorized"))
        {
          gint64 claim_id = 0;

          if (bench->measuring)
            bench->authorized++;
          /* Released even while stopping: a code left reserved would answer already_issued to
           * this kiosk in every later run against the same server. */
          json_int_member (text, len, "\"claim_id\":", &claim_id);
          if (claim_id <= active->last_claim_id && bench->measuring)
            bench->replayed++;
          active->last_claim_id = MAX (claim_id, active->last_claim_id);
          active_send_failed (active, claim_id);
          return;
        }
      else if (span_is (type, type_len, "claim.rejected"))
        {
          if (bench->measuring)
            count_rejection (bench, text, len);
        }
      else if (bench->measuring)
        bench->errors++;
      break;

    case WAIT_ACK:
      if (bench->measuring)
        {
          if (span_is (type, type_len, "ack"))
            g_array_append_val (bench->report_us, elapsed);
          else
            bench->errors++;
        }
      break;

    case WAIT_NOTHING:
    default:
      /* An answer to nothing asked: none is expected, and it is no turn to start a claim. */
      return;
    }

  active->waiting = WAIT_NOTHING;
  if (bench->stopping)
    return;
  if (opt_pace_ms > 0)
    {
      /* Paced: the next claim starts one period after this one did (at once if overdue). */
      active->next_claim_at = active->cycle_started + (gint64) opt_pace_ms * 1000;
    }
  else
    active_send_request (active);
}

static void
active_on_frame (Active        *active,
                 const WsFrame *frame)
{
  switch (frame->opcode)
    {
    case WS_TEXT:
    case WS_BINARY:
      /* libsoup never fragments what it sends: a fragmented message is not reassembled but
       * ends the connection, to be seen in closed_early rather than stall a kiosk. */
      if (!frame->fin)
        active_lost (active, "fragmented message");
      else
        active_on_message (active, (const char *) frame->payload, frame->len,
                           g_get_monotonic_time ());
      break;

    case WS_PING:
      active_send (active, WS_PONG, (const char *) frame->payload, frame->len, NULL);
      break;

    case WS_PONG:
      break;

    case WS_CLOSE:
      /* Echo the status code (RFC 6455 §5.5.1); the connection is over either way. */
      active_send (active, WS_CLOSE, (const char *) frame->payload, MIN (frame->len, 2), NULL);
      active_lost (active, "closed by the server");
      break;

    case WS_CONTINUATION:
    default:
      active_lost (active, "unexpected frame");
      break;
    }
}

/* Handles every whole frame read so far, in place. A frame not all in yet stays at the start
 * of the buffer, which grows if the frame is bigger than it. */
static void
active_parse (Active *active)
{
  gsize pos = 0;
  gsize needed = 0;

  while (active->fd >= 0)
    {
      WsFrame frame;
      gssize n = ws_frame_parse (active->in + pos, active->in_len - pos, &frame, &needed);

      if (n < 0)
        {
          active_lost (active, "not a server frame");
          return;
        }
      if (n == 0)
        break;
      active_on_frame (active, &frame);
      pos += n;
    }
  if (active->fd < 0)
    return;

  if (pos > 0)
    {
      memmove (active->in, active->in + pos, active->in_len - pos);
      active->in_len -= pos;
    }
  if (needed > active->in_size)
    {
      active->in = g_realloc (active->in, needed);
      active->in_size = needed;
    }
}

/* One read a wake-up: the epoll set is level-triggered, so what is left wakes the next wait. */
static void
active_on_readable (Active *active)
{
  ssize_t n = recv (active->fd, active->in + active->in_len, active->in_size - active->in_len, 0);

  if (n == 0)
    {
      active_lost (active, "connection closed by the server");
      return;
    }
  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        active_lost_errno (active, "recv");
      return;
    }
  active->in_len += n;
  active_parse (active);
}

/* Counts the upgrade as connected (FAILURE NULL) or failed (taking FAILURE), and frees it. */
static void
active_handshake_end (Active *active,
                      char   *failure)
{
  Bench *bench = active->bench;
  Handshake *hs = g_steal_pointer (&active->handshake);

  bench->in_flight--;
  if (failure != NULL)
    {
      g_printerr ("bench-ws-claims: kiosk %s: %s\n", active->sn, failure);
      bench->connect_failed++;
      close (active->fd);
      active->fd = -1;
    }
  else
    {
      /* The server's first frames (the codes snapshot) may have come with the head. */
      active->in_len = hs->response_len - hs->head_len;
      memcpy (active->in, hs->response + hs->head_len, active->in_len);
      bench->connected++;
    }
  handshake_free (hs);
  g_free (failure);
  if (active->fd >= 0 && active->in_len > 0)
    active_parse (active);
}

/* MAX_HANDSHAKES upgrades in flight at most (MEASURED.md, pitfall 5). */
static void
active_connect_next (Bench *bench)
{
  while (bench->in_flight < MAX_HANDSHAKES && bench->next_to_connect < bench->actives->len)
    {
      Active *active = g_ptr_array_index (bench->actives, bench->next_to_connect++);
      g_autofree char *failure = ws_open (bench, bench->active_rand, bench->active_epoll_fd,
                                          active, TRUE, active->sn, active->secret,
                                          &active->fd, &active->handshake);

      if (failure != NULL)
        {
          g_printerr ("bench-ws-claims: kiosk %s: %s\n", active->sn, failure);
          bench->connect_failed++;
          continue;
        }
      active->in_size = ACTIVE_READ_SIZE;
      active->in = g_malloc (active->in_size);
      active->out = g_byte_array_new ();
      bench->in_flight++;
    }
}

static void
active_dispatch (Active  *active,
                 guint32  events)
{
  Bench *bench = active->bench;

  if (active->fd < 0)
    return;

  if (active->handshake != NULL)
    {
      Handshake *hs = active->handshake;
      gboolean done = FALSE;
      char *failure;

      if (hs->sent < hs->request_len)
        failure = handshake_write (hs, active->fd, bench->active_epoll_fd, active);
      else
        failure = handshake_read (hs, active->fd, &done);
      if (failure != NULL || done)
        active_handshake_end (active, failure);
      return;
    }

  if ((events & EPOLLOUT) && active->out->len > 0)
    active_flush (active);
  if (active->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
    active_on_readable (active);
}

/* Waits for events until WAKE (monotonic µs) at the latest, and handles them. The wait is to
 * the microsecond (epoll_pwait2): with epoll_wait's milliseconds, a paced kiosk would start
 * each claim up to a millisecond late, and as each period counts from the claim before, the
 * delays would add up to a lower rate than offered. */
static void
active_wait (Bench              *bench,
             struct epoll_event *events,
             gint64              wake)
{
  static gboolean no_pwait2 = FALSE;    /* before Linux 5.11 (or under valgrind) */
  /* Read the clock once: MAX() evaluates its arguments twice, and a second, later reading
   * could make a wait of a few microseconds negative, which epoll_pwait2 refuses (EINVAL). */
  gint64 until = wake - g_get_monotonic_time ();
  gint64 wait = MAX (0, until);
  struct timespec timeout = { wait / G_USEC_PER_SEC, (wait % G_USEC_PER_SEC) * 1000 };
  int n = -1;

  if (!no_pwait2)
    {
      n = epoll_pwait2 (bench->active_epoll_fd, events, ACTIVE_EVENTS, &timeout, NULL);
      no_pwait2 = n < 0 && errno == ENOSYS;
    }
  if (no_pwait2)
    n = epoll_wait (bench->active_epoll_fd, events, ACTIVE_EVENTS, (int) ((wait + 999) / 1000));
  if (n < 0 && errno != EINTR)
    g_error ("epoll_wait: %s", g_strerror (errno));
  for (int i = 0; i < n; i++)
    active_dispatch (events[i].data.ptr, events[i].events);
}

/* The active thread: connects the kiosks, runs the warm-up and the measured loop, lets the last
 * answers arrive, and closes. Every figure is counted here alone; the main thread reads them
 * after g_thread_join(). */
static gpointer
active_thread (gpointer data)
{
  Bench *bench = data;
  struct epoll_event events[ACTIVE_EVENTS];
  gint64 now = g_get_monotonic_time ();
  gint64 deadline = now + CONNECT_TIMEOUT_S * G_USEC_PER_SEC;
  gint64 measure_at, stop_at, drain_until = 0;

  /* 1. connect */
  active_connect_next (bench);
  while (bench->connected + bench->connect_failed < bench->actives->len && now < deadline)
    {
      gint64 wake = deadline;

      for (guint i = 0; i < bench->actives->len; i++)
        {
          Active *active = g_ptr_array_index (bench->actives, i);

          if (active->handshake != NULL)
            wake = MIN (wake, active->handshake->deadline);
        }
      active_wait (bench, events, wake);

      now = g_get_monotonic_time ();
      for (guint i = 0; i < bench->actives->len; i++)
        {
          Active *active = g_ptr_array_index (bench->actives, i);

          if (active->handshake != NULL && now >= active->handshake->deadline)
            active_handshake_end (active, g_strdup ("handshake timed out"));
        }
      active_connect_next (bench);
    }
  if (bench->connected < bench->actives->len)
    goto out;

  /* 2. warm up, measure, stop */
  now = g_get_monotonic_time ();
  measure_at = now + (gint64) (opt_warmup * G_USEC_PER_SEC);
  stop_at = measure_at + (gint64) (opt_duration * G_USEC_PER_SEC);
  if (opt_warmup <= 0)
    {
      bench->measuring = TRUE;
      bench->started_at = now;
    }
  for (guint i = 0; i < bench->actives->len; i++)
    {
      Active *active = g_ptr_array_index (bench->actives, i);

      /* Paced kiosks start at random phases, as people arrive at kiosks, not in lockstep. */
      if (opt_pace_ms > 0)
        active->next_claim_at = now + g_rand_int_range (bench->active_rand, 0, opt_pace_ms * 1000);
      else
        active_send_request (active);
    }

  for (;;)
    {
      gint64 wake;

      if (bench->stopping)
        wake = drain_until;
      else
        {
          wake = bench->measuring ? stop_at : measure_at;
          /* 50 deadlines or so: a scan costs less than keeping a heap in order. */
          for (guint i = 0; i < bench->actives->len && opt_pace_ms > 0; i++)
            {
              Active *active = g_ptr_array_index (bench->actives, i);

              if (active->next_claim_at != 0)
                wake = MIN (wake, active->next_claim_at);
            }
        }
      active_wait (bench, events, wake);

      now = g_get_monotonic_time ();
      if (!bench->stopping && !bench->measuring && now >= measure_at)
        {
          bench->measuring = TRUE;
          bench->started_at = now;
        }
      if (!bench->stopping && now >= stop_at)
        {
          bench->measuring = FALSE;
          bench->stopping = TRUE;
          bench->stopped_at = now;
          /* Let the last answers arrive, bounded. */
          drain_until = now + DRAIN_TIMEOUT_S * G_USEC_PER_SEC;
        }

      if (!bench->stopping)
        {
          for (guint i = 0; i < bench->actives->len && opt_pace_ms > 0; i++)
            {
              Active *active = g_ptr_array_index (bench->actives, i);

              if (active->next_claim_at != 0 && now >= active->next_claim_at)
                {
                  active->next_claim_at = 0;
                  active_send_request (active);
                }
            }
        }
      else
        {
          gboolean busy = FALSE;

          for (guint i = 0; i < bench->actives->len; i++)
            if (((Active *) g_ptr_array_index (bench->actives, i))->waiting != WAIT_NOTHING)
              busy = TRUE;
          if (!busy || now >= drain_until)
            break;
        }
    }

out:
  /* 3. close: a Close frame (1001, going away) if the socket takes it, then the socket. */
  for (guint i = 0; i < bench->actives->len; i++)
    {
      Active *active = g_ptr_array_index (bench->actives, i);

      if (active->fd >= 0 && active->handshake == NULL)
        active_send (active, WS_CLOSE, "\x03\xe9", 2, NULL);
      if (active->handshake != NULL)
        g_clear_pointer (&active->handshake, handshake_free);
      if (active->fd >= 0)
        {
          close (active->fd);
          active->fd = -1;
        }
    }
  close (bench->active_epoll_fd);
  bench->active_epoll_fd = -1;
  return NULL;
}

/* --- idle sockets, held by a few epoll threads --- */

/* Idle sockets are load on the server, not on the client, and on a small machine every cycle
 * the client spends on them is taken from the server under test. With a libsoup connection
 * (a GSource or two) per socket, every main-context iteration checked every source of its
 * context: with 5000 idle sockets on 2 cores, g_main_context_check, g_source_ref and
 * g_socket_is_closed of the idle workers were ~30% of all CPU. So the idle sockets are plain
 * non-blocking sockets held by IDLE_HOLDERS threads with an epoll set each: the handshake is
 * the active kiosks' (ws_open, handshake_write, handshake_read), whatever the server sends is
 * read and dropped unparsed (no frame is of any use to them, and parsing would need a buffer
 * per socket), and the only thing sent is a masked ping text frame every PING_PERIOD_S. A
 * holder only pays for the sockets that have something to say. */
#define IDLE_HOLDERS 2
#define HOLDER_HANDSHAKES (MAX_HANDSHAKES / IDLE_HOLDERS)
#define IDLE_EVENTS 256
#define IDLE_READ_SIZE (64 * 1024)

G_STATIC_ASSERT (HOLDER_HANDSHAKES >= 1);

typedef struct
{
  Bench     *bench;
  GPtrArray *idles;                     /* this holder's slice (borrowed Idle) */
  GThread   *thread;
  GRand     *rand;
  int        epoll_fd;
  guint      index;
  guint      next;                      /* the next of the slice to connect */
  guint      in_flight;
  Idle      *handshaking[HOLDER_HANDSHAKES];
  guint      ping_cursor;
  guint      ping_carry;
  guint64    ping_seq;
  guint64    pings_skipped;
  guint      closed;                    /* after the handshake, by the server or a broken write */
  gboolean   done;
  gint       stop;                      /* atomic; set by the main thread */
} IdleHolder;

static void
idle_holder_done (IdleHolder *holder)
{
  Bench *bench = holder->bench;

  g_mutex_lock (&bench->idle_mutex);
  if (!holder->done)
    {
      holder->done = TRUE;
      bench->idle_workers_done++;
    }
  g_cond_broadcast (&bench->idle_cond);
  g_mutex_unlock (&bench->idle_mutex);
}

/* Counts the handshake as connected (FAILURE NULL) or failed, and frees it. */
static void
idle_handshake_end (IdleHolder *holder,
                    Idle       *idle,
                    char       *failure)
{
  Bench *bench = holder->bench;

  for (guint i = 0; i < HOLDER_HANDSHAKES; i++)
    if (holder->handshaking[i] == idle)
      holder->handshaking[i] = NULL;
  g_clear_pointer (&idle->handshake, handshake_free);
  holder->in_flight--;

  /* Closing the descriptor also takes it out of the epoll set. */
  if (failure != NULL)
    {
      close (idle->fd);
      idle->fd = -1;
    }

  g_mutex_lock (&bench->idle_mutex);
  if (failure != NULL)
    {
      if (bench->idle_failed < 5)
        g_printerr ("bench-ws-claims: idle %s: %s\n", idle->who, failure);
      bench->idle_failed++;
    }
  else
    bench->idle_connected++;
  g_mutex_unlock (&bench->idle_mutex);
  g_free (failure);
}

/* Starts the connection and queues the upgrade request; a failure message, or NULL. */
static char *
idle_start (IdleHolder *holder,
            Idle       *idle)
{
  char *failure = ws_open (holder->bench, holder->rand, holder->epoll_fd, idle, idle->is_kiosk,
                           idle->who, idle->secret, &idle->fd, &idle->handshake);

  if (failure != NULL)
    return failure;
  for (guint i = 0; i < HOLDER_HANDSHAKES; i++)
    if (holder->handshaking[i] == NULL)
      {
        holder->handshaking[i] = idle;
        break;
      }
  holder->in_flight++;
  return NULL;
}

/* Each holder keeps MAX_HANDSHAKES / IDLE_HOLDERS handshakes in flight, MAX_HANDSHAKES in all:
 * the server's accept path is sensitive to bursts (MEASURED.md, pitfall 5). */
static void
idle_connect_next (IdleHolder *holder)
{
  while (holder->in_flight < HOLDER_HANDSHAKES && holder->next < holder->idles->len)
    {
      Idle *idle = g_ptr_array_index (holder->idles, holder->next++);
      char *failure = idle_start (holder, idle);

      if (failure != NULL)
        {
          Bench *bench = holder->bench;

          g_mutex_lock (&bench->idle_mutex);
          if (bench->idle_failed < 5)
            g_printerr ("bench-ws-claims: idle %s: %s\n", idle->who, failure);
          bench->idle_failed++;
          g_mutex_unlock (&bench->idle_mutex);
          g_free (failure);
        }
    }

  if (!holder->done && holder->in_flight == 0 && holder->next >= holder->idles->len)
    idle_holder_done (holder);
}

static void
idle_closed (IdleHolder *holder,
             Idle       *idle)
{
  close (idle->fd);
  idle->fd = -1;
  holder->closed++;
}

/* The payload is far below 126 bytes, so the frame is small and written at once. */
static void
idle_ping (IdleHolder *holder,
           Idle       *idle)
{
  guint8 frame[WS_HEADER_MAX + 125];
  char payload[126];
  gsize frame_len;
  int len;
  ssize_t n;

  len = g_snprintf (payload, sizeof payload, "{\"type\":\"ping\",\"id\":\"i%" G_GUINT64_FORMAT "\"}",
                    ++holder->ping_seq);
  g_assert (len <= 125);
  frame_len = ws_frame_encode (holder->rand, WS_TEXT, payload, len, frame);

  n = send (idle->fd, frame, frame_len, MSG_NOSIGNAL);
  if (n == (ssize_t) frame_len)
    return;
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    {
      /* The server reads nothing: the next ping may get through. */
      holder->pings_skipped++;
      return;
    }
  /* An error, or half a frame on the wire: the stream is no use any more. */
  idle_closed (holder, idle);
}

/* Every PING_TICK_MS, ping the next slice so that each socket is pinged every PING_PERIOD_S.
 * Real clients ping at independent phases: a whole second's pings sent at once would be a
 * burst every second that no real deployment sees. */
static void
idle_tick (IdleHolder *holder,
           gint64      now)
{
  guint n = holder->idles->len;
  guint ticks = PING_PERIOD_S * 1000 / PING_TICK_MS;
  guint slice = (n + holder->ping_carry) / ticks;

  holder->ping_carry = (n + holder->ping_carry) % ticks;
  for (guint i = 0; i < slice && n > 0; i++)
    {
      Idle *idle = g_ptr_array_index (holder->idles, holder->ping_cursor);

      holder->ping_cursor = (holder->ping_cursor + 1) % n;
      if (idle->fd >= 0 && idle->handshake == NULL)
        idle_ping (holder, idle);
    }

  for (guint i = 0; i < HOLDER_HANDSHAKES; i++)
    {
      Idle *idle = holder->handshaking[i];

      if (idle != NULL && now >= idle->handshake->deadline)
        idle_handshake_end (holder, idle, g_strdup ("handshake timed out"));
    }
}

static void
idle_dispatch (IdleHolder *holder,
               Idle       *idle,
               char       *buffer)
{
  g_autofree char *failure = NULL;
  gboolean done = FALSE;
  ssize_t n;

  if (idle->fd < 0)
    return;

  if (idle->handshake != NULL)
    {
      /* What follows the head (a snapshot, already) is dropped like everything later. */
      if (idle->handshake->sent < idle->handshake->request_len)
        failure = handshake_write (idle->handshake, idle->fd, holder->epoll_fd, idle);
      else
        failure = handshake_read (idle->handshake, idle->fd, &done);
      if (failure != NULL || done)
        idle_handshake_end (holder, idle, g_steal_pointer (&failure));
      return;
    }

  /* Open: drain and drop. Level-triggered, so one read each wake-up is enough; a socket with
   * more to read wakes the next epoll_wait again. */
  n = recv (idle->fd, buffer, IDLE_READ_SIZE, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    idle_closed (holder, idle);
}

static gpointer
idle_holder_thread (gpointer data)
{
  IdleHolder *holder = data;
  struct epoll_event events[IDLE_EVENTS];
  g_autofree char *buffer = g_malloc (IDLE_READ_SIZE);
  /* The holders tick at different phases of PING_TICK_MS, not together. */
  gint64 next_tick = g_get_monotonic_time ()
                     + (gint64) PING_TICK_MS * 1000 * (holder->index + 1) / IDLE_HOLDERS;

  idle_connect_next (holder);
  while (!g_atomic_int_get (&holder->stop))
    {
      gint64 now = g_get_monotonic_time ();
      int timeout = next_tick > now ? (int) ((next_tick - now + 999) / 1000) : 0;
      int n = epoll_wait (holder->epoll_fd, events, G_N_ELEMENTS (events), timeout);

      if (n < 0 && errno != EINTR)
        g_error ("epoll_wait: %s", g_strerror (errno));
      for (int i = 0; i < n; i++)
        idle_dispatch (holder, events[i].data.ptr, buffer);

      /* A holder that fell far behind (starved) resumes from now rather than sending the
       * missed ticks in one burst; the ring of sockets is only delayed, none is skipped. */
      now = g_get_monotonic_time ();
      if (now - next_tick > G_USEC_PER_SEC)
        next_tick = now;
      while (now >= next_tick)
        {
          idle_tick (holder, now);
          next_tick += PING_TICK_MS * 1000;
        }
      idle_connect_next (holder);
    }

  for (guint i = 0; i < holder->idles->len; i++)
    {
      Idle *idle = g_ptr_array_index (holder->idles, i);

      g_clear_pointer (&idle->handshake, handshake_free);
      if (idle->fd >= 0)
        {
          close (idle->fd);
          idle->fd = -1;
        }
    }
  close (holder->epoll_fd);
  holder->epoll_fd = -1;
  return NULL;
}

/* --- files --- */

static gboolean
read_lines (const char  *path,
            guint        min_fields,
            GPtrArray  **out,
            GError     **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;

      g_strstrip (lines[i]);
      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      fields = g_strsplit_set (lines[i], " \t", -1);
      if (g_strv_length (fields) < min_fields)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%u: expected %u fields",
                       path, i + 1, min_fields);
          return FALSE;
        }
      g_ptr_array_add (rows, g_steal_pointer (&fields));
    }
  *out = g_steal_pointer (&rows);
  return TRUE;
}

static gboolean
is_loopback_url (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *host;

  if (uri == NULL)
    return FALSE;
  host = g_uri_get_host (uri);
  return host != NULL && (g_str_has_prefix (host, "127.") || g_str_equal (host, "localhost")
                          || g_str_equal (host, "::1"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) kiosk_rows = NULL;
  g_autoptr(GPtrArray) idle_rows = NULL;
  Bench bench = { 0 };
  gint64 deadline;
  double seconds;
  guint64 round_trips;
  GHashTableIter iter;
  gpointer key, value;

  option_context = g_option_context_new ("— claim round trips over kiosk WebSockets");
  g_option_context_add_main_entries (option_context, entries, NULL);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  run_tag = g_random_int ();
  if (opt_url == NULL || opt_kiosks == NULL || !is_loopback_url (opt_url))
    {
      g_printerr ("bench-ws-claims: --url (a loopback address) and --kiosks are required\n");
      return 2;
    }
  if (opt_connections < 1 || opt_connections > MAX_CONNECTIONS || opt_idle < 0
      || opt_idle > MAX_IDLE || opt_duration <= 0 || opt_duration > 600
      || opt_warmup < 0 || opt_warmup > 60 || opt_pace_ms < 0 || opt_pace_ms > 60000)
    {
      g_printerr ("bench-ws-claims: out of bounds (connections 1…%d, idle 0…%d, "
                  "duration ≤ 600 s, warmup ≤ 60 s)\n", MAX_CONNECTIONS, MAX_IDLE);
      return 2;
    }

  if (!read_lines (opt_kiosks, 3, &kiosk_rows, &error))
    {
      g_printerr ("bench-ws-claims: %s\n", error->message);
      return 1;
    }
  if (kiosk_rows->len < (guint) opt_connections)
    {
      g_printerr ("bench-ws-claims: %u kiosks in %s, %d connections asked\n",
                  kiosk_rows->len, opt_kiosks, opt_connections);
      return 1;
    }

  bench.base_url = g_strdup (opt_url);
  g_strchomp (bench.base_url);
  if (g_str_has_suffix (bench.base_url, "/"))
    bench.base_url[strlen (bench.base_url) - 1] = '\0';
  if (!resolve_server (&bench, &error))
    {
      g_printerr ("bench-ws-claims: %s\n", error->message);
      return 1;
    }
  bench.claim_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.report_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.rejections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  bench.actives = g_ptr_array_new ();
  bench.idles = g_ptr_array_new ();
  g_mutex_init (&bench.idle_mutex);
  g_cond_init (&bench.idle_cond);

  for (int i = 0; i < opt_connections; i++)
    {
      GStrv f = g_ptr_array_index (kiosk_rows, i);
      Active *active = g_new0 (Active, 1);

      active->bench = &bench;
      active->index = i;
      active->sn = g_strdup (f[0]);
      active->secret = g_strdup (f[1]);
      active->code = g_strdup (f[2]);
      active->fd = -1;
      g_ptr_array_add (bench.actives, active);
    }

  /* 1. the idle sockets, on their own threads */
  if (opt_idle > 0)
    {
      if (opt_idle_file == NULL || !read_lines (opt_idle_file, 3, &idle_rows, &error))
        {
          g_printerr ("bench-ws-claims: --idle needs --idle-file: %s\n",
                      error != NULL ? error->message : "missing");
          return 1;
        }
      if (idle_rows->len < (guint) opt_idle)
        {
          g_printerr ("bench-ws-claims: %u idle sockets in %s, %d asked\n",
                      idle_rows->len, opt_idle_file, opt_idle);
          return 1;
        }
      for (int i = 0; i < opt_idle; i++)
        {
          GStrv f = g_ptr_array_index (idle_rows, i);
          Idle *idle = g_new0 (Idle, 1);

          idle->is_kiosk = g_str_equal (f[0], "kiosk");
          idle->who = g_strdup (f[1]);
          idle->secret = g_strdup (f[2]);
          idle->fd = -1;
          g_ptr_array_add (bench.idles, idle);
        }

      bench.idle_workers = g_ptr_array_new ();
      for (guint h = 0; h < IDLE_HOLDERS; h++)
        {
          IdleHolder *holder = g_new0 (IdleHolder, 1);

          holder->bench = &bench;
          holder->index = h;
          holder->idles = g_ptr_array_new ();
          for (guint i = h; i < bench.idles->len; i += IDLE_HOLDERS)
            g_ptr_array_add (holder->idles, g_ptr_array_index (bench.idles, i));
          holder->rand = g_rand_new ();
          holder->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
          if (holder->epoll_fd < 0)
            {
              g_printerr ("bench-ws-claims: epoll_create1: %s\n", g_strerror (errno));
              return 1;
            }
          g_ptr_array_add (bench.idle_workers, holder);
        }
      deadline = g_get_monotonic_time () + 180 * G_USEC_PER_SEC;
      for (guint h = 0; h < IDLE_HOLDERS; h++)
        {
          IdleHolder *holder = g_ptr_array_index (bench.idle_workers, h);

          holder->thread = g_thread_new ("idle", idle_holder_thread, holder);
        }

      g_mutex_lock (&bench.idle_mutex);
      while (bench.idle_workers_done < IDLE_HOLDERS)
        if (!g_cond_wait_until (&bench.idle_cond, &bench.idle_mutex, deadline))
          break;
      g_print ("idle: %u of %d connected (%u failed)\n", bench.idle_connected, opt_idle,
               bench.idle_failed);
      g_mutex_unlock (&bench.idle_mutex);
      if (bench.idle_connected < (guint) opt_idle)
        {
          g_printerr ("bench-ws-claims: not every idle socket connected; giving up\n");
          return 1;
        }
    }

  /* 2. the active kiosks, on their own thread, from the connection to the last answer */
  bench.active_rand = g_rand_new ();
  bench.active_epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (bench.active_epoll_fd < 0)
    {
      g_printerr ("bench-ws-claims: epoll_create1: %s\n", g_strerror (errno));
      return 1;
    }
  bench.active_thread = g_thread_new ("active", active_thread, &bench);
  g_thread_join (bench.active_thread);
  if (bench.connected < bench.actives->len)
    {
      g_printerr ("bench-ws-claims: %u of %u kiosks connected\n", bench.connected, bench.actives->len);
      return 1;
    }

  seconds = (bench.stopped_at - bench.started_at) / (double) G_USEC_PER_SEC;
  g_array_sort (bench.claim_us, compare_gint64);
  g_array_sort (bench.report_us, compare_gint64);
  round_trips = bench.claim_us->len + bench.report_us->len;

  if (opt_pace_ms > 0)
    g_print ("paced: a claim every %d ms per kiosk (%.0f claims/s offered)\n", opt_pace_ms,
             opt_connections * 1000.0 / opt_pace_ms);
  g_print ("claim: connections=%d idle=%d seconds=%.2f requests=%u rate=%.0f/s "
           "p50=%.3fms p99=%.3fms max=%.3fms authorized=%" G_GUINT64_FORMAT "\n",
           opt_connections, opt_idle, seconds, bench.claim_us->len,
           bench.claim_us->len / seconds, percentile_ms (bench.claim_us, 0.50),
           percentile_ms (bench.claim_us, 0.99),
           bench.claim_us->len ? g_array_index (bench.claim_us, gint64, bench.claim_us->len - 1) / 1000.0 : 0.0,
           bench.authorized);
  print_fairness (&bench);
  g_print ("report: requests=%u rate=%.0f/s p50=%.3fms p99=%.3fms\n",
           bench.report_us->len, bench.report_us->len / seconds,
           percentile_ms (bench.report_us, 0.50), percentile_ms (bench.report_us, 0.99));
  g_print ("roundtrips: total=%" G_GUINT64_FORMAT " rate=%.0f/s errors=%" G_GUINT64_FORMAT
           " closed_early=%" G_GUINT64_FORMAT " replayed=%" G_GUINT64_FORMAT "\n",
           round_trips, round_trips / seconds, bench.errors, bench.closed_early, bench.replayed);
  g_hash_table_iter_init (&iter, bench.rejections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_print ("rejected: %s=%u\n", (const char *) key, *(guint *) value);

  if (bench.idle_workers != NULL)
    {
      guint closed = 0;
      guint64 pings = 0, skipped = 0;

      for (guint h = 0; h < bench.idle_workers->len; h++)
        {
          IdleHolder *holder = g_ptr_array_index (bench.idle_workers, h);

          g_atomic_int_set (&holder->stop, TRUE);
          g_thread_join (holder->thread);
          closed += holder->closed;
          pings += holder->ping_seq;
          skipped += holder->pings_skipped;
        }
      /* Sockets the server dropped were not held for the whole run. */
      g_print ("idle: closed_early=%u pings=%" G_GUINT64_FORMAT " pings_skipped=%" G_GUINT64_FORMAT "\n",
               closed, pings - skipped, skipped);
    }

  return bench.closed_early == 0 && bench.errors == 0 && bench.replayed == 0 ? 0 : 1;
}
