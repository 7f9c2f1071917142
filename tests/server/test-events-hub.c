/* test-events-hub.c: the hub delivers on each connection's own context, in order, to the right
 * subscribers only, from several publishing threads at once, and forgets closed connections.
 *
 * The connections are real WebSockets over socket pairs: the "server" end (the server's own
 * LkWebsocket) is subscribed to the hub, the "client" end (libsoup's) records what arrives.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <sys/socket.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "lk-hub.h"

#define N_OWNERS 3
#define N_PUBLISHERS 4
#define N_MESSAGES 250
#define DEADLINE_S 30

/* What each owner thread subscribes; the same on every owner. */
typedef enum
{
  CONN_KIOSK_SCHOOL_1,     /* kiosk, school 1, SN "K1-<owner>" */
  CONN_KIOSK_SCHOOL_2,     /* kiosk, school 2, SN "K2-<owner>" */
  CONN_TEACHER_SCHOOL_1,   /* staff, school 1 */
  CONN_OPERATOR,           /* staff, school 0 */
  CONN_APPLICATION,        /* application "app-1" */
  N_CONNS
} ConnKind;

typedef struct
{
  LkWebsocket             *server;
  SoupWebsocketConnection *client;
  ConnKind                 kind;
  guint                    subscription;
  guint                    received;
  gint                     last_seq[N_PUBLISHERS];  /* per publisher, per channel mixed */
  gboolean                 out_of_order;
  gboolean                 wrong_route;
} Conn;

typedef struct
{
  LkHub        *hub;
  guint         index;
  GMainContext *context;
  Conn          conns[N_CONNS];
  guint         expected[N_CONNS];
  gboolean      done;
  gboolean      timed_out;
  gboolean      unsubscribed_on_close;
} Owner;

static gint ready_owners;
static gint go;

static void
make_pair (LkWebsocket             **server,
           SoupWebsocketConnection **client)
{
  int fds[2];
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) s0 = NULL;
  g_autoptr(GSocket) s1 = NULL;
  g_autoptr(GSocketConnection) c0 = NULL;
  g_autoptr(GSocketConnection) c1 = NULL;
  g_autoptr(GUri) uri = g_uri_parse ("ws://127.0.0.1/test", G_URI_FLAGS_NONE, NULL);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  s0 = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  s1 = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  c0 = g_socket_connection_factory_create_connection (s0);
  c1 = g_socket_connection_factory_create_connection (s1);

  *server = lk_websocket_new (G_IO_STREAM (c0), s0);
  *client = soup_websocket_connection_new (G_IO_STREAM (c1), uri,
                                           SOUP_WEBSOCKET_CONNECTION_CLIENT,
                                           NULL, NULL, NULL);
}

static gboolean
route_allowed (ConnKind    kind,
               const char *to)
{
  if (g_strcmp0 (to, "marker") == 0)
    return TRUE;

  switch (kind)
    {
    case CONN_KIOSK_SCHOOL_1:
      return g_strcmp0 (to, "kiosks-1") == 0;
    case CONN_KIOSK_SCHOOL_2:
      return g_strcmp0 (to, "kiosk-K2-0") == 0;
    case CONN_TEACHER_SCHOOL_1:
      return g_strcmp0 (to, "staff-1") == 0;
    case CONN_OPERATOR:
      return g_strcmp0 (to, "staff-1") == 0 || g_strcmp0 (to, "staff-2") == 0;
    case CONN_APPLICATION:
      return g_strcmp0 (to, "app-1") == 0;
    case N_CONNS:
    default:
      return FALSE;
    }
}

/* Messages look like {"p": publisher, "n": seq, "to": kind}. */
static void
on_client_message_cb (SoupWebsocketConnection *client,
                      SoupWebsocketDataType    type,
                      GBytes                  *message,
                      gpointer                 data)
{
  Conn *conn = data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *text = g_bytes_get_data (message, &len);
  JsonObject *object;
  gint p, n;
  const char *to;

  g_assert_true (json_parser_load_from_data (parser, text, len, NULL));
  object = json_node_get_object (json_parser_get_root (parser));
  p = json_object_get_int_member (object, "p");
  n = json_object_get_int_member (object, "n");
  to = json_object_get_string_member (object, "to");

  g_assert_cmpint (p, >=, 0);
  g_assert_cmpint (p, <, N_PUBLISHERS);
  if (n <= conn->last_seq[p])
    conn->out_of_order = TRUE;
  conn->last_seq[p] = n;
  conn->received++;
  if (!route_allowed (conn->kind, to))
    conn->wrong_route = TRUE;
}

static gboolean
on_deadline_cb (gpointer data)
{
  Owner *owner = data;

  owner->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
owner_all_received (Owner *owner)
{
  for (guint i = 0; i < N_CONNS; i++)
    if (owner->conns[i].received < owner->expected[i])
      return FALSE;
  return TRUE;
}

static gpointer
owner_thread (gpointer data)
{
  Owner *owner = data;
  g_autoptr(GSource) deadline = NULL;
  g_autofree char *k1 = g_strdup_printf ("K1-%u", owner->index);
  g_autofree char *k2 = g_strdup_printf ("K2-%u", owner->index);
  guint before_close;

  owner->context = g_main_context_new ();
  g_main_context_push_thread_default (owner->context);

  for (guint i = 0; i < N_CONNS; i++)
    {
      Conn *conn = &owner->conns[i];

      make_pair (&conn->server, &conn->client);
      conn->kind = i;
      for (guint p = 0; p < N_PUBLISHERS; p++)
        conn->last_seq[p] = -1;
      g_signal_connect (conn->client, "message", G_CALLBACK (on_client_message_cb), conn);
    }

  owner->conns[CONN_KIOSK_SCHOOL_1].subscription =
    lk_hub_subscribe (owner->hub, owner->conns[CONN_KIOSK_SCHOOL_1].server, LK_HUB_KIOSK, 1, k1);
  owner->conns[CONN_KIOSK_SCHOOL_2].subscription =
    lk_hub_subscribe (owner->hub, owner->conns[CONN_KIOSK_SCHOOL_2].server, LK_HUB_KIOSK, 2, k2);
  owner->conns[CONN_TEACHER_SCHOOL_1].subscription =
    lk_hub_subscribe (owner->hub, owner->conns[CONN_TEACHER_SCHOOL_1].server, LK_HUB_STAFF, 1, NULL);
  owner->conns[CONN_OPERATOR].subscription =
    lk_hub_subscribe (owner->hub, owner->conns[CONN_OPERATOR].server, LK_HUB_STAFF, 0, NULL);
  owner->conns[CONN_APPLICATION].subscription =
    lk_hub_subscribe (owner->hub, owner->conns[CONN_APPLICATION].server, LK_HUB_APPLICATION, 0, "app-1");

  for (guint i = 0; i < N_CONNS; i++)
    g_assert_cmpuint (owner->conns[i].subscription, >, 0);

  deadline = g_timeout_source_new_seconds (DEADLINE_S);
  g_source_set_callback (deadline, on_deadline_cb, owner, NULL);
  g_source_attach (deadline, owner->context);

  g_atomic_int_inc (&ready_owners);

  while (!owner_all_received (owner) && !owner->timed_out)
    g_main_context_iteration (owner->context, TRUE);

  /* Give late, wrongly routed messages no chance to hide: anything already queued for this
   * context is dispatched before counting. */
  while (g_main_context_iteration (owner->context, FALSE))
    ;

  /* Closing the peer closes the subscribed end, which must leave the hub by itself. */
  before_close = lk_hub_count (owner->hub, LK_HUB_APPLICATION);
  soup_websocket_connection_close (owner->conns[CONN_APPLICATION].client,
                                   SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  while (lk_websocket_get_state (owner->conns[CONN_APPLICATION].server)
         != SOUP_WEBSOCKET_STATE_CLOSED && !owner->timed_out)
    g_main_context_iteration (owner->context, TRUE);
  owner->unsubscribed_on_close = lk_hub_count (owner->hub, LK_HUB_APPLICATION) < before_close;

  g_source_destroy (deadline);

  for (guint i = 0; i < N_CONNS; i++)
    {
      if (soup_websocket_connection_get_state (owner->conns[i].client) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (owner->conns[i].client, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  for (guint i = 0; i < N_CONNS; i++)
    {
      gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      while (lk_websocket_get_state (owner->conns[i].server)
             != SOUP_WEBSOCKET_STATE_CLOSED && g_get_monotonic_time () < until)
        g_main_context_iteration (owner->context, FALSE);
    }

  g_main_context_pop_thread_default (owner->context);
  owner->done = TRUE;
  return NULL;
}

typedef struct
{
  LkHub *hub;
  guint  index;
} Publisher;

static gpointer
publisher_thread (gpointer data)
{
  Publisher *pub = data;

  while (!g_atomic_int_get (&go))
    g_thread_yield ();

  for (guint n = 0; n < N_MESSAGES; n++)
    {
      g_autofree char *json = NULL;

      switch (n % 5)
        {
        case 0:
          json = g_strdup_printf ("{\"p\":%u,\"n\":%u,\"to\":\"kiosks-1\"}", pub->index, n);
          lk_hub_publish_to_kiosks (pub->hub, 1, json);
          break;
        case 1:
          json = g_strdup_printf ("{\"p\":%u,\"n\":%u,\"to\":\"staff-1\"}", pub->index, n);
          lk_hub_publish_to_staff (pub->hub, 1, json);
          break;
        case 2:
          json = g_strdup_printf ("{\"p\":%u,\"n\":%u,\"to\":\"app-1\"}", pub->index, n);
          lk_hub_publish_to_application (pub->hub, "app-1", json);
          break;
        case 3:
          json = g_strdup_printf ("{\"p\":%u,\"n\":%u,\"to\":\"kiosk-K2-0\"}", pub->index, n);
          lk_hub_publish_to_kiosk (pub->hub, "K2-0", json);
          break;
        case 4:
          json = g_strdup_printf ("{\"p\":%u,\"n\":%u,\"to\":\"staff-2\"}", pub->index, n);
          lk_hub_publish_to_staff (pub->hub, 2, json);
          /* Nobody listens to these; they must go nowhere. */
          lk_hub_publish_to_application (pub->hub, "app-none", json);
          lk_hub_publish_to_kiosks (pub->hub, 3, json);
          break;
        default:
          g_assert_not_reached ();
        }
    }

  return NULL;
}

static void
test_hub_threads (void)
{
  g_autoptr(LkHub) hub = lk_hub_new ();
  Owner owners[N_OWNERS] = { 0 };
  Publisher pubs[N_PUBLISHERS];
  GThread *owner_threads[N_OWNERS];
  GThread *pub_threads[N_PUBLISHERS];
  guint per_kind = N_PUBLISHERS * (N_MESSAGES / 5);

  g_atomic_int_set (&ready_owners, 0);
  g_atomic_int_set (&go, 0);

  for (guint i = 0; i < N_OWNERS; i++)
    {
      owners[i].hub = hub;
      owners[i].index = i;
      /* kiosks-1 reaches school 1's kiosks; kiosk-K2-0 only the school 2 kiosk on owner 0;
       * staff-1 the teacher and the operator; staff-2 only the operator. */
      owners[i].expected[CONN_KIOSK_SCHOOL_1] = per_kind;
      owners[i].expected[CONN_KIOSK_SCHOOL_2] = i == 0 ? per_kind : 0;
      owners[i].expected[CONN_TEACHER_SCHOOL_1] = per_kind;
      owners[i].expected[CONN_OPERATOR] = 2 * per_kind;
      owners[i].expected[CONN_APPLICATION] = per_kind;
      owner_threads[i] = g_thread_new ("owner", owner_thread, &owners[i]);
    }

  {
    gint64 until = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;

    while (g_atomic_int_get (&ready_owners) < N_OWNERS && g_get_monotonic_time () < until)
      g_thread_yield ();
    g_assert_cmpint (g_atomic_int_get (&ready_owners), ==, N_OWNERS);
  }

  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_KIOSK), ==, 2 * N_OWNERS);
  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_STAFF), ==, 2 * N_OWNERS);
  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_APPLICATION), ==, N_OWNERS);

  for (guint i = 0; i < N_PUBLISHERS; i++)
    {
      pubs[i].hub = hub;
      pubs[i].index = i;
      pub_threads[i] = g_thread_new ("publisher", publisher_thread, &pubs[i]);
    }
  g_atomic_int_set (&go, 1);

  for (guint i = 0; i < N_PUBLISHERS; i++)
    g_thread_join (pub_threads[i]);
  for (guint i = 0; i < N_OWNERS; i++)
    g_thread_join (owner_threads[i]);

  for (guint i = 0; i < N_OWNERS; i++)
    {
      g_assert_false (owners[i].timed_out);
      g_assert_true (owners[i].unsubscribed_on_close);
      for (guint k = 0; k < N_CONNS; k++)
        {
          g_assert_cmpuint (owners[i].conns[k].received, ==, owners[i].expected[k]);
          g_assert_false (owners[i].conns[k].out_of_order);
          g_assert_false (owners[i].conns[k].wrong_route);
        }
    }

  /* Every connection closed: the hub holds nothing. */
  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_KIOSK), ==, 0);
  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_STAFF), ==, 0);
  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_APPLICATION), ==, 0);

  for (guint i = 0; i < N_OWNERS; i++)
    {
      for (guint k = 0; k < N_CONNS; k++)
        {
          g_clear_object (&owners[i].conns[k].server);
          g_clear_object (&owners[i].conns[k].client);
        }
      g_main_context_unref (owners[i].context);
    }
}

/* Explicit unsubscribe stops delivery; a publish while nobody listens is harmless. */
static void
test_hub_unsubscribe (void)
{
  g_autoptr(LkHub) hub = lk_hub_new ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  LkWebsocket *server;
  SoupWebsocketConnection *client;
  Conn conn = { 0 };
  guint id;
  gint64 until;

  g_main_context_push_thread_default (context);
  make_pair (&server, &client);
  conn.server = server;
  conn.client = client;
  conn.kind = CONN_TEACHER_SCHOOL_1;
  for (guint p = 0; p < N_PUBLISHERS; p++)
    conn.last_seq[p] = -1;
  g_signal_connect (client, "message", G_CALLBACK (on_client_message_cb), &conn);

  id = lk_hub_subscribe (hub, server, LK_HUB_STAFF, 7, NULL);
  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_STAFF), ==, 1);

  lk_hub_publish_to_staff (hub, 7, "{\"p\":0,\"n\":0,\"to\":\"staff-1\"}");
  /* Not delivered in place: the publisher's stack never writes the connection. */
  g_assert_cmpuint (conn.received, ==, 0);
  until = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  while (conn.received < 1 && g_get_monotonic_time () < until)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (conn.received, ==, 1);

  /* Published, then unsubscribed before the flush ran: dropped. */
  lk_hub_publish_to_staff (hub, 7, "{\"p\":0,\"n\":1,\"to\":\"staff-7\"}");
  lk_hub_unsubscribe (hub, id);
  lk_hub_unsubscribe (hub, id);
  g_assert_cmpuint (lk_hub_count (hub, LK_HUB_STAFF), ==, 0);
  lk_hub_publish_to_staff (hub, 7, "{\"p\":0,\"n\":2,\"to\":\"staff-7\"}");

  /* Let the flush that was already scheduled run, then send a marker straight on the
   * connection: once it arrives, anything the hub had sent would have arrived before it. */
  while (g_main_context_iteration (context, FALSE))
    ;
  lk_websocket_send_text (server, "{\"p\":1,\"n\":0,\"to\":\"marker\"}");
  until = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  while (conn.last_seq[1] < 0 && g_get_monotonic_time () < until)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpint (conn.last_seq[1], ==, 0);
  g_assert_cmpuint (conn.received, ==, 2);
  g_assert_cmpint (conn.last_seq[0], ==, 0);

  soup_websocket_connection_close (client, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  until = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  while (lk_websocket_get_state (server) != SOUP_WEBSOCKET_STATE_CLOSED
         && g_get_monotonic_time () < until)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpint (lk_websocket_get_state (server), ==, SOUP_WEBSOCKET_STATE_CLOSED);

  g_main_context_pop_thread_default (context);
  g_object_unref (server);
  g_object_unref (client);
}

/* A connection that outlives the hub: closing it later must not touch the freed hub. */
static void
test_hub_outlived (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  LkWebsocket *server;
  SoupWebsocketConnection *client;
  LkHub *hub = lk_hub_new ();
  gint64 until;

  g_main_context_push_thread_default (context);
  make_pair (&server, &client);
  lk_hub_subscribe (hub, server, LK_HUB_KIOSK, 1, "K-1");
  lk_hub_publish_to_kiosk (hub, "K-1", "{}");
  g_object_unref (hub);

  soup_websocket_connection_close (client, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  until = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  while (lk_websocket_get_state (server) != SOUP_WEBSOCKET_STATE_CLOSED
         && g_get_monotonic_time () < until)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpint (lk_websocket_get_state (server), ==, SOUP_WEBSOCKET_STATE_CLOSED);

  g_main_context_pop_thread_default (context);
  g_object_unref (server);
  g_object_unref (client);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/hub/threads", test_hub_threads);
  g_test_add_func ("/server/hub/unsubscribe", test_hub_unsubscribe);
  g_test_add_func ("/server/hub/outlived", test_hub_outlived);

  return g_test_run ();
}
