/* bench-ws-claims: claim round trips over kiosk WebSockets, with p50/p99
 *
 * Each active connection is a kiosk (HTTP Basic SN:secret) with one claim code of its school.
 * It loops: claim.request → claim.authorized, then claim.failed (cancelled) → ack, which
 * reopens the code for the next turn. The figure is the claim round trip (request → answer);
 * the report round trip (failed → ack) is printed beside it. Against the constant-answer
 * server the answer is a fixed claim.rejected, and the loop simply asks again.
 *
 * --idle M first opens M idle WebSockets (kiosks and application event sockets, from
 * --idle-file) on worker threads of their own, at most 8 handshakes at a time (MEASURED.md,
 * pitfall 5), and keeps them alive with application pings while the active kiosks run.
 *
 * Loopback only, bounded in connections and time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#define MAX_CONNECTIONS 1000
#define MAX_IDLE 20000
#define MAX_HANDSHAKES 8
#define PING_PERIOD_S 15

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

typedef struct
{
  gboolean                 is_kiosk;
  char                    *who;      /* SN, or application id */
  char                    *secret;   /* kiosk secret, or application token */
  SoupWebsocketConnection *connection;
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

  /* idle connections: each owned by its worker thread */
  GPtrArray    *idles;
  GPtrArray    *idle_workers;
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

/* --- idle sockets, on worker threads of their own --- */

/* The client has pitfall 2 too: thousands of sockets on one context make every handshake and
 * every ping slow. The idle sockets are spread over IDLE_WORKERS threads, each with its own
 * context and session, one handshake in flight each (MAX_HANDSHAKES in all). */
#define IDLE_WORKERS MAX_HANDSHAKES

typedef struct
{
  Bench        *bench;
  GPtrArray    *idles;        /* this worker's slice (borrowed Idle) */
  GMainContext *context;
  GMainLoop    *loop;
  SoupSession  *session;
  GThread      *thread;
  guint         next;
  guint         in_flight;
  guint         ping_cursor;
  guint64       ping_seq;
  gboolean      done;
} IdleWorker;

static void idle_connect_next (IdleWorker *worker);

static void
idle_worker_done (IdleWorker *worker)
{
  Bench *bench = worker->bench;

  g_mutex_lock (&bench->idle_mutex);
  if (!worker->done)
    {
      worker->done = TRUE;
      bench->idle_workers_done++;
    }
  g_cond_broadcast (&bench->idle_cond);
  g_mutex_unlock (&bench->idle_mutex);
}

typedef struct
{
  IdleWorker *worker;
  Idle       *idle;
} IdleConnect;

static void
on_idle_connected_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  g_autofree IdleConnect *ic = data;
  IdleWorker *worker = ic->worker;
  Bench *bench = worker->bench;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *connection;

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  worker->in_flight--;
  g_mutex_lock (&bench->idle_mutex);
  if (connection == NULL)
    {
      if (bench->idle_failed < 5)
        g_printerr ("bench-ws-claims: idle %s: %s\n", ic->idle->who, error->message);
      bench->idle_failed++;
    }
  else
    {
      /* Messages (snapshots, events, the server's pings) are not read into anything: the
       * worker's own pings keep the server's deadline. */
      ic->idle->connection = connection;
      bench->idle_connected++;
    }
  g_mutex_unlock (&bench->idle_mutex);
  idle_connect_next (worker);
}

static void
idle_connect_next (IdleWorker *worker)
{
  Bench *bench = worker->bench;

  while (worker->in_flight < 1 && worker->next < worker->idles->len)
    {
      Idle *idle = g_ptr_array_index (worker->idles, worker->next++);
      g_autofree char *url = NULL;
      g_autofree char *auth = NULL;
      g_autoptr(SoupMessage) msg = NULL;
      IdleConnect *ic = g_new0 (IdleConnect, 1);

      if (idle->is_kiosk)
        {
          url = g_strdup_printf ("%s/api/v1/kiosk/ws", bench->base_url);
          auth = basic_auth (idle->who, idle->secret);
        }
      else
        {
          url = g_strdup_printf ("%s/api/v1/applications/%s/events", bench->base_url, idle->who);
          auth = g_strdup_printf ("Bearer %s", idle->secret);
        }
      msg = soup_message_new ("GET", url);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
      ic->worker = worker;
      ic->idle = idle;
      worker->in_flight++;
      soup_session_websocket_connect_async (worker->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                            NULL, on_idle_connected_cb, ic);
    }

  if (worker->in_flight == 0 && worker->next >= worker->idles->len)
    idle_worker_done (worker);
}

/* Every second, ping the next slice so that each socket is pinged every PING_PERIOD_S. */
static gboolean
on_idle_ping_cb (gpointer data)
{
  IdleWorker *worker = data;
  guint n = worker->idles->len;
  guint slice = (n + PING_PERIOD_S - 1) / PING_PERIOD_S;

  for (guint i = 0; i < slice && n > 0; i++)
    {
      Idle *idle = g_ptr_array_index (worker->idles, worker->ping_cursor);

      worker->ping_cursor = (worker->ping_cursor + 1) % n;
      if (idle->connection != NULL
          && soup_websocket_connection_get_state (idle->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          g_autofree char *ping = g_strdup_printf ("{\"type\":\"ping\",\"id\":\"i%" G_GUINT64_FORMAT "\"}",
                                                   ++worker->ping_seq);
          soup_websocket_connection_send_text (idle->connection, ping);
        }
    }
  return G_SOURCE_CONTINUE;
}

static gpointer
idle_thread (gpointer data)
{
  IdleWorker *worker = data;
  g_autoptr(GSource) ping = NULL;

  g_main_context_push_thread_default (worker->context);
  worker->session = soup_session_new_with_options ("max-conns", 16, "max-conns-per-host", 16,
                                                   "timeout", 30, NULL);
  idle_connect_next (worker);

  ping = g_timeout_source_new_seconds (1);
  g_source_set_callback (ping, on_idle_ping_cb, worker, NULL);
  g_source_attach (ping, worker->context);

  g_main_loop_run (worker->loop);

  g_source_destroy (ping);
  for (guint i = 0; i < worker->idles->len; i++)
    {
      Idle *idle = g_ptr_array_index (worker->idles, i);

      if (idle->connection != NULL)
        {
          soup_websocket_connection_close (idle->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
          g_clear_object (&idle->connection);
        }
    }
  g_clear_object (&worker->session);
  g_main_context_pop_thread_default (worker->context);
  return NULL;
}

static gboolean
quit_idle_loop_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
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
          g_ptr_array_add (bench.idles, idle);
        }

      bench.idle_workers = g_ptr_array_new ();
      for (guint w = 0; w < IDLE_WORKERS; w++)
        {
          IdleWorker *worker = g_new0 (IdleWorker, 1);

          worker->bench = &bench;
          worker->idles = g_ptr_array_new ();
          for (guint i = w; i < bench.idles->len; i += IDLE_WORKERS)
            g_ptr_array_add (worker->idles, g_ptr_array_index (bench.idles, i));
          worker->context = g_main_context_new ();
          worker->loop = g_main_loop_new (worker->context, FALSE);
          g_ptr_array_add (bench.idle_workers, worker);
        }
      deadline = g_get_monotonic_time () + 180 * G_USEC_PER_SEC;
      for (guint w = 0; w < IDLE_WORKERS; w++)
        {
          IdleWorker *worker = g_ptr_array_index (bench.idle_workers, w);

          worker->thread = g_thread_new ("idle", idle_thread, worker);
        }

      g_mutex_lock (&bench.idle_mutex);
      while (bench.idle_workers_done < IDLE_WORKERS)
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
  for (guint w = 0; bench.idle_workers != NULL && w < bench.idle_workers->len; w++)
    {
      IdleWorker *worker = g_ptr_array_index (bench.idle_workers, w);

      g_main_context_invoke (worker->context, quit_idle_loop_cb, worker->loop);
      g_thread_join (worker->thread);
    }

  return bench.closed_early == 0 && bench.errors == 0 ? 0 : 1;
}
