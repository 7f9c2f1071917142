/* lk-events-ws.c: the staff and application event WebSockets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-events-ws"

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-events-ws.h"
#include "lk-http.h"

#define APPLICATIONS_PREFIX "/api/v1/applications/"
#define EVENTS_SUFFIX "/events"
#define MAX_MESSAGE_BYTES 4096
#define MAX_TOKEN_CHARS 256
#define MAX_APPLICATION_ID_CHARS 64

typedef struct
{
  LkWebsocket             *connection;   /* our own reference until "closed" (pitfall 4) */
  char                    *what;         /* for the log: "staff:12", "application" */
} EventConnection;

/* This listener thread's event sockets, to close when the server stops. */
static GPrivate open_private = G_PRIVATE_INIT ((GDestroyNotify) g_hash_table_unref);

static GHashTable *
open_connections (void)
{
  GHashTable *open = g_private_get (&open_private);

  if (open == NULL)
    {
      open = g_hash_table_new (NULL, NULL);
      g_private_set (&open_private, open);
    }
  return open;
}

static void
event_connection_free (EventConnection *ec)
{
  g_hash_table_remove (open_connections (), ec);
  g_clear_object (&ec->connection);
  g_free (ec->what);
  g_free (ec);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Dead peers (a phone that left the network) are found by the kernel: keepalive probes after
 * 30 s of silence, and unacknowledged data given up after 45 s. */
static void
set_keepalive (SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket == NULL || g_socket_get_family (socket) == G_SOCKET_FAMILY_UNIX)
    return;
  g_socket_set_keepalive (socket, TRUE);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPIDLE, 30, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPINTVL, 10, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPCNT, 3, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_USER_TIMEOUT, 45000, NULL);
}

/* The token from "Authorization: Bearer …", else from ?token=. */
static const char *
request_token (SoupServerMessage *msg,
               GHashTable        *query)
{
  const char *token = lk_http_bearer_token (msg);

  if (token == NULL && query != NULL)
    token = g_hash_table_lookup (query, "token");
  if (token != NULL && (*token == '\0' || strlen (token) > MAX_TOKEN_CHARS))
    return NULL;
  return token;
}

static gboolean
is_upgrade (SoupServerMessage *msg)
{
  return soup_message_headers_header_contains (soup_server_message_get_request_headers (msg),
                                               "Upgrade", "websocket");
}

static void
on_message_cb (LkWebsocket             *connection,
               SoupWebsocketDataType    type,
               GBytes                  *message,
               gpointer                 user_data)
{
  g_autoptr(JsonObject) object = NULL;
  const char *msg_type = NULL;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  /* The only thing a client says here is ping; anything else is ignored, not fatal. */
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  object = lk_message_parse (data, len, &msg_type, NULL);
  if (object != NULL && g_str_equal (msg_type, LK_MSG_PING))
    {
      g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_PONG);
      g_autofree char *json = NULL;
      JsonNode *id = json_object_get_member (object, "id");

      json_builder_set_member_name (builder, "re");
      if (id != NULL && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING
          && strlen (json_node_get_string (id)) <= 64)
        json_builder_add_string_value (builder, json_node_get_string (id));
      else
        json_builder_add_null_value (builder);
      json = lk_message_finish (builder);
      lk_websocket_send_text (connection, json);
    }
}

static void
on_closed_cb (LkWebsocket             *connection,
              gpointer                 user_data)
{
  EventConnection *ec = user_data;

  g_debug ("Event socket %s closed", ec->what);
  g_signal_handlers_disconnect_by_data (connection, ec);
  event_connection_free (ec);
}

/* Takes our reference on @connection and keeps it until it closes. */
static void
watch_connection (LkWebsocket             *connection,
                  char                    *what)
{
  EventConnection *ec = g_new0 (EventConnection, 1);

  ec->connection = g_object_ref (connection);
  ec->what = what;
  g_hash_table_add (open_connections (), ec);
  lk_websocket_set_max_incoming_payload_size (connection, MAX_MESSAGE_BYTES);
  g_signal_connect (connection, "message", G_CALLBACK (on_message_cb), ec);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed_cb), ec);
}

/* --- staff: /api/v1/admin/events --- */

typedef struct
{
  LkServer      *server;
  LkAuthContext  auth;
} StaffUpgrade;

/* The 101 is written and the stream is ours. */
static void
staff_accepted_cb (SoupServerMessage *msg,
                   LkWebsocket       *connection,
                   gpointer           user_data)
{
  StaffUpgrade *upgrade = user_data;
  LkAuthContext *auth = &upgrade->auth;

  watch_connection (connection, g_strdup_printf ("staff:%" G_GINT64_FORMAT, auth->user_id));
  lk_hub_subscribe (lk_server_get_hub (upgrade->server), connection, LK_HUB_STAFF,
                    auth->operator ? 0 : auth->school_id, NULL);
  g_debug ("Staff events for user %" G_GINT64_FORMAT " (%s)", auth->user_id,
           auth->operator ? "every school" : "own school");
}

static void
staff_http_cb (SoupServer        *soup,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  LkServer *server = user_data;
  const char *token;
  g_autofree StaffUpgrade *upgrade = NULL;

  if (!g_str_equal (path, LK_ADMIN_EVENTS_PATH))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "GET", NULL))
    return;

  /* A query token is checked exactly like a header token. */
  token = request_token (msg, query);
  if (token != NULL && lk_http_bearer_token (msg) == NULL)
    {
      g_autofree char *header = g_strdup_printf ("Bearer %s", token);

      soup_message_headers_replace (soup_server_message_get_request_headers (msg),
                                    "Authorization", header);
    }

  upgrade = g_new0 (StaffUpgrade, 1);
  upgrade->server = server;
  if (!lk_http_require_staff (server, msg, &upgrade->auth))
    return;
  if (!is_upgrade (msg))
    {
      lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "websocket_required",
                           _("This address only accepts a WebSocket upgrade"), NULL);
      return;
    }

  set_keepalive (msg);
  /* On a bad handshake this sets the status (400) itself. */
  lk_websocket_accept (msg, staff_accepted_cb, g_steal_pointer (&upgrade), g_free);
}

/* --- parents: /api/v1/applications/{id}/events --- */

/* The application id of an events path, or NULL. */
static char *
application_events_id (const char *path)
{
  gsize len = strlen (path);
  gsize prefix = strlen (APPLICATIONS_PREFIX);
  gsize suffix = strlen (EVENTS_SUFFIX);
  g_autofree char *id = NULL;

  if (len <= prefix + suffix || !g_str_has_prefix (path, APPLICATIONS_PREFIX)
      || !g_str_has_suffix (path, EVENTS_SUFFIX))
    return NULL;
  id = g_strndup (path + prefix, len - prefix - suffix);
  if (*id == '\0' || strlen (id) > MAX_APPLICATION_ID_CHARS)
    return NULL;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return NULL;
  return g_steal_pointer (&id);
}

char *
lk_events_status_json (const char *application_id,
                       const char *status,
                       gint64      at,
                       const char *card_no,
                       gint64      issued_at,
                       const char *kiosk_sn)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_EVENT_STATUS_CHANGED);

  json_builder_set_member_name (builder, "at");
  json_builder_add_int_value (builder, at);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, application_id);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, status);
  json_builder_set_member_name (builder, "card_no");
  if (card_no != NULL)
    json_builder_add_string_value (builder, card_no);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "issued_at");
  if (issued_at > 0)
    json_builder_add_int_value (builder, issued_at);
  else
    json_builder_add_null_value (builder);
  if (kiosk_sn != NULL)
    {
      json_builder_set_member_name (builder, "kiosk_sn");
      json_builder_add_string_value (builder, kiosk_sn);
    }
  return lk_message_finish (builder);
}

void
lk_events_publish_status (LkServer   *server,
                          const char *application_id,
                          const char *status,
                          const char *card_no,
                          gint64      issued_at,
                          const char *kiosk_sn)
{
  g_autofree char *json = lk_events_status_json (application_id, status, now_seconds (), card_no,
                                                 issued_at, kiosk_sn);

  lk_hub_publish_to_application (lk_server_get_hub (server), application_id, json);
}

static char *
application_status_json (const LkApplicationRecord *application)
{
  return lk_events_status_json (application->id, application->status, now_seconds (),
                                application->card_no, application->issued_at, NULL);
}

typedef struct
{
  LkServer *server;
  char     *application_id;
  char     *status_json;
} PendingUpgrade;

static void
pending_upgrade_free (PendingUpgrade *pending)
{
  g_free (pending->application_id);
  g_free (pending->status_json);
  g_free (pending);
}

/* The 101 is written and the stream is ours. */
static void
application_accepted_cb (SoupServerMessage *msg,
                         LkWebsocket       *connection,
                         gpointer           user_data)
{
  PendingUpgrade *pending = user_data;

  watch_connection (connection, g_strdup ("application"));
  lk_hub_subscribe (lk_server_get_hub (pending->server), connection, LK_HUB_APPLICATION, 0,
                    pending->application_id);
  /* The current status first, so that the page starts in step. */
  lk_websocket_send_text (connection, pending->status_json);
}

static void
application_refuse (SoupServerMessage *msg)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "WWW-Authenticate", "Bearer");
  lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                       _("The application token is missing or wrong"), NULL);
}

static void
on_request_read_cb (SoupServer        *soup,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  LkServer *server = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  g_autofree char *application_id = NULL;
  g_autoptr(GHashTable) query = NULL;
  g_autoptr(LkApplicationRecord) application = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token_hash = NULL;
  PendingUpgrade *pending;
  const char *token;

  if (soup_server_message_get_status (msg) != 0 || uri == NULL)
    return;
  application_id = application_events_id (g_uri_get_path (uri));
  if (application_id == NULL)
    return;

  if (!lk_http_allow_methods (msg, "GET", NULL))
    return;
  if (g_uri_get_query (uri) != NULL)
    query = soup_form_decode (g_uri_get_query (uri));
  token = request_token (msg, query);
  if (token == NULL)
    {
      application_refuse (msg);
      return;
    }

  application = lk_store_application_get (lk_server_get_store (server), application_id, &error);
  if (application == NULL && !g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  /* An unknown id and a wrong token look the same from outside. */
  token_hash = lk_sha256_hex (token, strlen (token));
  if (!lk_secure_str_equal (application != NULL ? application->token_hash : "", token_hash)
      || application == NULL)
    {
      g_message ("Application events refused from %s", lk_http_client_address (msg));
      application_refuse (msg);
      return;
    }

  if (!is_upgrade (msg))
    {
      lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "websocket_required",
                           _("This address only accepts a WebSocket upgrade"), NULL);
      return;
    }
  set_keepalive (msg);
  pending = g_new0 (PendingUpgrade, 1);
  pending->server = server;
  pending->application_id = g_steal_pointer (&application_id);
  pending->status_json = application_status_json (application);
  /* On a bad handshake this sets the status (400) itself. */
  lk_websocket_accept (msg, application_accepted_cb, pending, (GDestroyNotify) pending_upgrade_free);
}

/* Emitted on each listener thread as the server stops. */
static void
on_server_stopping_cb (LkServer *server,
                       gpointer  user_data)
{
  GHashTable *open = g_private_get (&open_private);
  g_autoptr(GPtrArray) list = NULL;
  GHashTableIter iter;
  gpointer key;

  if (open == NULL)
    return;
  list = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, open);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (list, key);
  for (guint i = 0; i < list->len; i++)
    {
      EventConnection *ec = g_ptr_array_index (list, i);

      if (g_hash_table_contains (open, ec)
          && lk_websocket_get_state (ec->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        lk_websocket_close (ec->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                            "server stopping");
    }
}

G_LOCK_DEFINE_STATIC (stopping_connect);

void
lk_events_ws_register (LkServer   *server,
                       SoupServer *soup)
{
  G_LOCK (stopping_connect);
  if (g_object_get_data (G_OBJECT (server), "lk-events-ws-stopping") == NULL)
    {
      g_object_set_data (G_OBJECT (server), "lk-events-ws-stopping", GINT_TO_POINTER (TRUE));
      g_signal_connect (server, "stopping", G_CALLBACK (on_server_stopping_cb), NULL);
    }
  G_UNLOCK (stopping_connect);

  soup_server_add_handler (soup, LK_ADMIN_EVENTS_PATH, staff_http_cb, server, NULL);
  g_signal_connect (soup, "request-read", G_CALLBACK (on_request_read_cb), server);
}
