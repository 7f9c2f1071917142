/* bench-ws-claims: claim round trips over kiosk WebSockets, with p50/p99
 *
 * Each active connection is a kiosk (HTTP Basic SN:secret) with one claim code of its school.
 * It loops: claim.request → claim.authorized, then claim.failed (cancelled) → ack, which
 * reopens the code for the next turn. The figure is the claim round trip (request → answer);
 * the report round trip (failed → ack) is printed beside it. Against the constant-answer
 * server the answer is a fixed claim.rejected, and the loop simply asks again.
 *
 * --idle M first opens M idle WebSockets (kiosks and application event sockets, from
 * --idle-file), at most 8 handshakes at a time (MEASURED.md, pitfall 5), and keeps them alive
 * with application pings while the active kiosks run. They are held without libsoup, by a
 * couple of epoll threads, so that holding them costs the client next to nothing.
 *
 * Loopback only, bounded in connections and time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#define MAX_CONNECTIONS 1000
#define MAX_IDLE 20000
#define MAX_HANDSHAKES 8
#define PING_PERIOD_S 15
#define PING_TICK_MS 20

typedef enum
{
  WAIT_NOTHING,
  WAIT_CLAIM,
  WAIT_ACK,
} Waiting;

typedef struct _Bench Bench;

typedef struct
{
  Bench                   *bench;
  guint                    index;
  char                    *sn;
  char                    *secret;
  char                    *code;
  SoupWebsocketConnection *connection;
  Waiting                  waiting;
  gint64                   sent_at;
  gint64                   cycle_started;
  guint                    pace_source;
  guint64                  seq;
} Active;

typedef struct _Handshake Handshake;

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
  char         *base_url;
  GMainContext *context;
  SoupSession  *session;
  GPtrArray    *actives;
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
  GHashTable   *rejections;    /* reason → count */
  guint64       errors;
  guint64       closed_early;

  /* idle connections: each owned by its holder thread */
  struct sockaddr_storage idle_addr;
  socklen_t     idle_addr_len;
  char         *idle_host;     /* the Host header */
  char         *idle_path;     /* the path of --url, before /api */
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

/* --- active kiosks --- */

static void
active_send_request (Active *active)
{
  g_autofree char *json = NULL;

  active->cycle_started = g_get_monotonic_time ();
  active->seq++;
  json = g_strdup_printf ("{\"type\":\"claim.request\",\"id\":\"b%u-%" G_GUINT64_FORMAT "\","
                          "\"code\":\"%s\"}", active->index, active->seq, active->code);
  active->waiting = WAIT_CLAIM;
  active->sent_at = g_get_monotonic_time ();
  soup_websocket_connection_send_text (active->connection, json);
}

static void
active_send_failed (Active *active,
                    gint64  claim_id)
{
  g_autofree char *json = NULL;

  active->seq++;
  json = g_strdup_printf ("{\"type\":\"claim.failed\",\"id\":\"b%u-%" G_GUINT64_FORMAT "\","
                          "\"claim_id\":%" G_GINT64_FORMAT ",\"reason\":\"cancelled\","
                          "\"card_no\":null}", active->index, active->seq, claim_id);
  active->waiting = WAIT_ACK;
  active->sent_at = g_get_monotonic_time ();
  soup_websocket_connection_send_text (active->connection, json);
}

static gboolean
on_pace_cb (gpointer data)
{
  Active *active = data;

  active->pace_source = 0;
  if (!active->bench->stopping)
    active_send_request (active);
  return G_SOURCE_REMOVE;
}

static void
on_active_message_cb (SoupWebsocketConnection *connection,
                      SoupWebsocketDataType    type,
                      GBytes                  *message,
                      gpointer                 data)
{
  Active *active = data;
  Bench *bench = active->bench;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gint64 now = g_get_monotonic_time ();
  gint64 elapsed = now - active->sent_at;
  JsonObject *object;
  const char *msg_type;
  gsize len;
  const char *text = g_bytes_get_data (message, &len);

  if (!json_parser_load_from_data (parser, text, len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      bench->errors++;
      return;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  msg_type = json_object_get_string_member_with_default (object, "type", "");

  /* Pushes (snapshot, added, removed) and heartbeats are not answers. */
  if (!json_object_has_member (object, "re"))
    {
      if (g_str_equal (msg_type, "ping"))
        {
          g_autofree char *pong = g_strdup_printf ("{\"type\":\"pong\",\"re\":\"%s\"}",
                                                   json_object_get_string_member_with_default (object, "id", ""));
          soup_websocket_connection_send_text (connection, pong);
        }
      return;
    }

  if (active->waiting == WAIT_CLAIM)
    {
      if (bench->measuring)
        g_array_append_val (bench->claim_us, elapsed);

      if (g_str_equal (msg_type, "claim.authorized"))
        {
          if (bench->measuring)
            bench->authorized++;
          if (!bench->stopping)
            active_send_failed (active, json_object_get_int_member_with_default (object, "claim_id", 0));
          else
            active->waiting = WAIT_NOTHING;
          return;
        }
      else if (g_str_equal (msg_type, "claim.rejected"))
        {
          const char *reason = json_object_get_string_member_with_default (object, "reason", "?");

          if (bench->measuring)
            {
              gpointer n = g_hash_table_lookup (bench->rejections, reason);
              g_hash_table_insert (bench->rejections, g_strdup (reason),
                                   GUINT_TO_POINTER (GPOINTER_TO_UINT (n) + 1));
            }
        }
      else if (bench->measuring)
        bench->errors++;
    }
  else if (active->waiting == WAIT_ACK)
    {
      if (bench->measuring)
        {
          if (g_str_equal (msg_type, "ack"))
            g_array_append_val (bench->report_us, elapsed);
          else
            bench->errors++;
        }
    }

  active->waiting = WAIT_NOTHING;
  if (bench->stopping)
    return;
  if (opt_pace_ms > 0)
    {
      /* Paced: the next claim starts one period after this one did. */
      gint64 next = active->cycle_started + (gint64) opt_pace_ms * 1000;
      gint64 wait_ms = MAX (0, (next - now) / 1000);

      active->pace_source = g_timeout_add (wait_ms, on_pace_cb, active);
    }
  else
    active_send_request (active);
}

static void
on_active_closed_cb (SoupWebsocketConnection *connection,
                     gpointer                 data)
{
  Active *active = data;

  if (!active->bench->stopping)
    active->bench->closed_early++;
}

static void connect_next_actives (Bench *bench);

static void
on_active_connected_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      data)
{
  Active *active = data;
  Bench *bench = active->bench;
  g_autoptr(GError) error = NULL;

  bench->in_flight--;
  active->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (active->connection == NULL)
    {
      g_printerr ("bench-ws-claims: kiosk %s: %s\n", active->sn, error->message);
      bench->connect_failed++;
    }
  else
    {
      /* No libsoup keepalive: the benchmark traffic itself keeps the kiosk alive. */
      soup_websocket_connection_set_max_incoming_payload_size (active->connection, 16 * 1024 * 1024);
      g_signal_connect (active->connection, "message", G_CALLBACK (on_active_message_cb), active);
      g_signal_connect (active->connection, "closed", G_CALLBACK (on_active_closed_cb), active);
      bench->connected++;
    }
  connect_next_actives (bench);
}

static void
connect_next_actives (Bench *bench)
{
  while (bench->in_flight < MAX_HANDSHAKES && bench->next_to_connect < bench->actives->len)
    {
      Active *active = g_ptr_array_index (bench->actives, bench->next_to_connect++);
      g_autofree char *url = g_strdup_printf ("%s/api/v1/kiosk/ws", bench->base_url);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
      g_autofree char *auth = basic_auth (active->sn, active->secret);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
      bench->in_flight++;
      soup_session_websocket_connect_async (bench->session, msg, NULL, NULL,
                                            G_PRIORITY_DEFAULT, NULL,
                                            on_active_connected_cb, active);
    }
}

/* --- idle sockets, held by a few epoll threads --- */

/* Idle sockets are load on the server, not on the client, and on a small machine every cycle
 * the client spends on them is taken from the server under test. With a libsoup connection
 * (a GSource or two) per socket, every main-context iteration checked every source of its
 * context: with 5000 idle sockets on 2 cores, g_main_context_check, g_source_ref and
 * g_socket_is_closed of the idle workers were ~30% of all CPU. So the idle sockets are plain
 * non-blocking sockets held by IDLE_HOLDERS threads with an epoll set each: the handshake is
 * written and read by hand, whatever the server sends is read and dropped unparsed, and the
 * only thing sent is a masked ping text frame every PING_PERIOD_S. A holder only pays for the
 * sockets that have something to say. */
#define IDLE_HOLDERS 2
#define HOLDER_HANDSHAKES (MAX_HANDSHAKES / IDLE_HOLDERS)
#define HANDSHAKE_TIMEOUT_S 30
#define HANDSHAKE_MAX 4096
#define IDLE_EVENTS 256
#define IDLE_READ_SIZE (64 * 1024)

/* RFC 6455 §1.3: the server proves it read our key by hashing it with this. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

G_STATIC_ASSERT (HOLDER_HANDSHAKES >= 1);

struct _Handshake
{
  char  *request;
  gsize  request_len;
  gsize  sent;
  char  *accept;                        /* the Sec-WebSocket-Accept the server must send */
  gint64 deadline;
  gsize  response_len;
  char   response[HANDSHAKE_MAX + 1];
};

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

/* The server's address and the Host header and path prefix, from --url: the idle sockets do
 * not go through libsoup, so they resolve it once themselves. An IPv4 address is preferred,
 * as libsoup would find one for "localhost" too. */
static gboolean
idle_resolve (Bench   *bench,
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
  memcpy (&bench->idle_addr, chosen->ai_addr, chosen->ai_addrlen);
  bench->idle_addr_len = chosen->ai_addrlen;
  freeaddrinfo (found);

  bench->idle_host = strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%s", host, port)
                                                : g_strdup_printf ("%s:%s", host, port);
  bench->idle_path = g_strdup (g_uri_get_path (uri));
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
  Handshake *hs = idle->handshake;

  for (guint i = 0; i < HOLDER_HANDSHAKES; i++)
    if (holder->handshaking[i] == idle)
      holder->handshaking[i] = NULL;
  idle->handshake = NULL;
  g_free (hs->request);
  g_free (hs->accept);
  g_free (hs);
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
  Bench *bench = holder->bench;
  struct epoll_event event = { 0 };
  guint32 key[4];
  g_autofree char *key64 = NULL;
  g_autofree char *path = NULL;
  g_autofree char *auth = NULL;
  Handshake *hs;
  int fd;

  fd = socket (bench->idle_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return g_strdup_printf ("socket: %s", g_strerror (errno));
  if (connect (fd, (struct sockaddr *) &bench->idle_addr, bench->idle_addr_len) < 0
      && errno != EINPROGRESS)
    {
      int saved = errno;

      close (fd);
      return g_strdup_printf ("connect: %s", g_strerror (saved));
    }
  /* Writable once connected (or at once, if connect finished already). */
  event.events = EPOLLOUT;
  event.data.ptr = idle;
  if (epoll_ctl (holder->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
    {
      int saved = errno;

      close (fd);
      return g_strdup_printf ("epoll_ctl: %s", g_strerror (saved));
    }

  for (guint i = 0; i < G_N_ELEMENTS (key); i++)
    key[i] = g_rand_int (holder->rand);
  key64 = g_base64_encode ((const guchar *) key, sizeof key);
  if (idle->is_kiosk)
    {
      path = g_strdup_printf ("%s/api/v1/kiosk/ws", bench->idle_path);
      auth = basic_auth (idle->who, idle->secret);
    }
  else
    {
      path = g_strdup_printf ("%s/api/v1/applications/%s/events", bench->idle_path, idle->who);
      auth = g_strdup_printf ("Bearer %s", idle->secret);
    }

  hs = g_new0 (Handshake, 1);
  hs->request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                                 "Host: %s\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: %s\r\n"
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "Authorization: %s\r\n"
                                 "\r\n", path, bench->idle_host, key64, auth);
  hs->request_len = strlen (hs->request);
  hs->accept = websocket_accept (key64);
  hs->deadline = g_get_monotonic_time () + HANDSHAKE_TIMEOUT_S * G_USEC_PER_SEC;
  idle->fd = fd;
  idle->handshake = hs;
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

/* Connected (or refused): sends what is left of the request. A failure message, or NULL. */
static char *
idle_on_writable (IdleHolder *holder,
                  Idle       *idle)
{
  Handshake *hs = idle->handshake;
  ssize_t n;

  if (hs->sent == 0)
    {
      int error = 0;
      socklen_t len = sizeof error;

      if (getsockopt (idle->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        error = errno;
      if (error != 0)
        return g_strdup_printf ("connect: %s", g_strerror (error));
    }

  n = send (idle->fd, hs->request + hs->sent, hs->request_len - hs->sent, MSG_NOSIGNAL);
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? NULL : g_strdup_printf ("send: %s", g_strerror (errno));
  hs->sent += n;
  if (hs->sent == hs->request_len)
    {
      struct epoll_event event = { 0 };

      event.events = EPOLLIN;
      event.data.ptr = idle;
      if (epoll_ctl (holder->epoll_fd, EPOLL_CTL_MOD, idle->fd, &event) < 0)
        return g_strdup_printf ("epoll_ctl: %s", g_strerror (errno));
    }
  return NULL;
}

/* Reads the response head; *DONE once a valid 101 is in. A failure message, or NULL. Whatever
 * follows the head (a snapshot, already) is dropped like everything the server sends later. */
static char *
idle_on_handshake_readable (Idle     *idle,
                            gboolean *done)
{
  Handshake *hs = idle->handshake;
  g_autofree char *accept = NULL;
  char *end;
  ssize_t n;

  n = recv (idle->fd, hs->response + hs->response_len, HANDSHAKE_MAX - hs->response_len, 0);
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

static void
idle_closed (IdleHolder *holder,
             Idle       *idle)
{
  close (idle->fd);
  idle->fd = -1;
  holder->closed++;
}

/* Client frames must be masked (RFC 6455 §5.3); the payload is far below 126 bytes, so the
 * header is two bytes and the masking key. */
static void
idle_ping (IdleHolder *holder,
           Idle       *idle)
{
  guint8 frame[2 + 4 + 125];
  char payload[126];
  guint32 mask = g_rand_int (holder->rand);
  int len;
  ssize_t n;

  len = g_snprintf (payload, sizeof payload, "{\"type\":\"ping\",\"id\":\"i%" G_GUINT64_FORMAT "\"}",
                    ++holder->ping_seq);
  g_assert (len <= 125);
  frame[0] = 0x81;                      /* FIN, text */
  frame[1] = 0x80 | len;                /* masked, 7-bit length */
  memcpy (frame + 2, &mask, 4);
  for (int i = 0; i < len; i++)
    frame[6 + i] = payload[i] ^ frame[2 + i % 4];

  n = send (idle->fd, frame, 6 + len, MSG_NOSIGNAL);
  if (n == 6 + len)
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
      if (idle->handshake->sent < idle->handshake->request_len)
        failure = idle_on_writable (holder, idle);
      else
        failure = idle_on_handshake_readable (idle, &done);
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

      if (idle->handshake != NULL)
        {
          g_free (idle->handshake->request);
          g_free (idle->handshake->accept);
          g_clear_pointer (&idle->handshake, g_free);
        }
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

static gboolean
on_stop_cb (gpointer data)
{
  Bench *bench = data;

  bench->measuring = FALSE;
  bench->stopping = TRUE;
  bench->stopped_at = g_get_monotonic_time ();
  return G_SOURCE_REMOVE;
}

static gboolean
on_measure_cb (gpointer data)
{
  Bench *bench = data;

  bench->measuring = TRUE;
  bench->started_at = g_get_monotonic_time ();
  return G_SOURCE_REMOVE;
}

static gboolean
wait_flag (Bench    *bench,
           gboolean *flag,
           double    seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (!*flag && g_get_monotonic_time () < until)
    g_main_context_iteration (bench->context, TRUE);
  return *flag;
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
  gboolean all_connected = FALSE;
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
  bench.context = g_main_context_default ();
  bench.claim_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.report_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.rejections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
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
      g_ptr_array_add (bench.actives, active);
    }

  /* 1. the idle sockets, on their own thread */
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

      if (!idle_resolve (&bench, &error))
        {
          g_printerr ("bench-ws-claims: %s\n", error->message);
          return 1;
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

  /* 2. the active kiosks */
  bench.session = soup_session_new_with_options ("max-conns", 64, "max-conns-per-host", 64,
                                                 "timeout", 30, NULL);
  connect_next_actives (&bench);
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (bench.connected + bench.connect_failed < bench.actives->len
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (bench.context, TRUE);
  all_connected = bench.connected == bench.actives->len;
  if (!all_connected)
    {
      g_printerr ("bench-ws-claims: %u of %u kiosks connected\n", bench.connected, bench.actives->len);
      return 1;
    }

  /* 3. warm up, measure, stop */
  for (guint i = 0; i < bench.actives->len; i++)
    {
      Active *active = g_ptr_array_index (bench.actives, i);

      /* Paced kiosks start at random phases, as people arrive at kiosks, not in lockstep. */
      if (opt_pace_ms > 0)
        active->pace_source = g_timeout_add (g_random_int_range (0, opt_pace_ms), on_pace_cb, active);
      else
        active_send_request (active);
    }
  if (opt_warmup > 0)
    g_timeout_add ((guint) (opt_warmup * 1000), on_measure_cb, &bench);
  else
    on_measure_cb (&bench);
  g_timeout_add ((guint) ((opt_warmup + opt_duration) * 1000), on_stop_cb, &bench);
  wait_flag (&bench, &bench.stopping, opt_warmup + opt_duration + 30);

  /* Let the last answers arrive, bounded. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  for (;;)
    {
      gboolean busy = FALSE;

      for (guint i = 0; i < bench.actives->len; i++)
        if (((Active *) g_ptr_array_index (bench.actives, i))->waiting != WAIT_NOTHING)
          busy = TRUE;
      if (!busy || g_get_monotonic_time () >= deadline)
        break;
      g_main_context_iteration (bench.context, TRUE);
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
  g_print ("report: requests=%u rate=%.0f/s p50=%.3fms p99=%.3fms\n",
           bench.report_us->len, bench.report_us->len / seconds,
           percentile_ms (bench.report_us, 0.50), percentile_ms (bench.report_us, 0.99));
  g_print ("roundtrips: total=%" G_GUINT64_FORMAT " rate=%.0f/s errors=%" G_GUINT64_FORMAT
           " closed_early=%" G_GUINT64_FORMAT "\n",
           round_trips, round_trips / seconds, bench.errors, bench.closed_early);
  g_hash_table_iter_init (&iter, bench.rejections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_print ("rejected: %s=%u\n", (const char *) key, GPOINTER_TO_UINT (value));

  for (guint i = 0; i < bench.actives->len; i++)
    {
      Active *active = g_ptr_array_index (bench.actives, i);

      if (active->connection != NULL)
        soup_websocket_connection_close (active->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
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

  return bench.closed_early == 0 && bench.errors == 0 ? 0 : 1;
}
