/* lk-kiosk-ws.c: GET /api/v1/kiosk/ws, the kiosks' WebSocket
 *
 * libsoup calls the plain handler of a path before its WebSocket handler, and only upgrades
 * when the plain handler left the status unset. The plain handler checks the kiosk's
 * credentials and either refuses (401, no upgrade) or hands the kiosk record to the
 * WebSocket handler through the message.
 *
 * Each claim message is one job of the store's batch writer (group commit): the listener thread
 * goes on serving its other connections meanwhile, and the answer is sent from this thread once
 * the change is committed. Claims stay exactly-once across threads through the database. A
 * connection's messages are answered in the order they came.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-kiosk-ws"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-claims.h"
#include "lk-http.h"
#include "lk-kiosk-ws.h"

#define MAX_MESSAGE_BYTES (64 * 1024)
#define MAX_ID_CHARS 64
#define MAX_SN_CHARS 64
#define MAX_SECRET_CHARS 256
#define MAX_CARD_NO_CHARS 32
#define MAX_FAULTS 16
#define MAX_FAULT_CHARS 32

typedef struct
{
  LkServer                *server;       /* not owned: outlives its listener threads */
  LkClaims                *claims;       /* not owned */
  LkKioskRecord           *kiosk;
  char                    *address;
  LkWebsocket             *connection;   /* our own reference until "closed" (pitfall 4) */
  struct _Heartbeat        *heartbeat;   /* this listener thread's */
  gint64                   last_heard;   /* monotonic µs */
  gint64                   last_sent;    /* monotonic µs: our last answer, pong or ping */
  guint64                  ping_seq;
  guint                    interval_s;
  guint                    deadline_s;
} KioskConnection;

/* One heartbeat timer per listener thread for all its kiosks, rather than a timer per
 * connection: every source of a GMainContext costs on every iteration (MEASURED.md, pitfall
 * 2), and thousands of idle kiosks would otherwise slow the active ones. */
typedef struct _Heartbeat
{
  GSource    *tick;
  GHashTable *connections;   /* KioskConnection set */
} Heartbeat;

static guint heartbeat_interval_s = LK_HEARTBEAT_INTERVAL_S;
static guint heartbeat_deadline_s = LK_HEARTBEAT_DEADLINE_S;

static void
heartbeat_free (gpointer data)
{
  Heartbeat *hb = data;
  GHashTableIter iter;
  gpointer key;

  /* The thread is ending with kiosks still attached: they must not reach back in here. */
  g_hash_table_iter_init (&iter, hb->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    ((KioskConnection *) key)->heartbeat = NULL;
  g_source_destroy (hb->tick);
  g_source_unref (hb->tick);
  g_hash_table_unref (hb->connections);
  g_free (hb);
}

static GPrivate heartbeat_private = G_PRIVATE_INIT (heartbeat_free);

/* A KioskConnection is reference counted (g_rc_box): "closed" drops the connection's own
 * reference, and each message waiting for the store holds one. */
static void
kiosk_connection_clear (KioskConnection *kc)
{
  lk_kiosk_record_free (kc->kiosk);
  g_free (kc->address);
  g_clear_object (&kc->connection);
}

static void
kiosk_connection_unref (KioskConnection *kc)
{
  g_rc_box_release_full (kc, (GDestroyNotify) kiosk_connection_clear);
}

static void
send_error (KioskConnection *kc,
            const char      *re,
            const char      *code,
            const char      *field)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_ERROR);
  g_autofree char *json = NULL;

  if (re != NULL)
    {
      json_builder_set_member_name (builder, "re");
      json_builder_add_string_value (builder, re);
    }
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  if (field != NULL)
    {
      json_builder_set_member_name (builder, "field");
      json_builder_add_string_value (builder, field);
    }
  json = lk_message_finish (builder);
  lk_websocket_send_text (kc->connection, json);
  kc->last_sent = g_get_monotonic_time ();
}

/* A string member of at most @max_chars characters, non-empty; NULL if absent or wrong. */
static const char *
get_string (JsonObject *object,
            const char *name,
            guint       max_chars)
{
  JsonNode *node = json_object_get_member (object, name);
  const char *value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (node);
  if (value == NULL || *value == '\0' || g_utf8_strlen (value, -1) > max_chars)
    return NULL;
  return value;
}

static gboolean
get_int (JsonObject *object,
         const char *name,
         gint64     *value)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return *value > 0;
}

/* Card numbers are the card's UID in hex. */
static gboolean
is_card_no (const char *card_no)
{
  gsize len = strlen (card_no);

  if (len < 8 || len > MAX_CARD_NO_CHARS || len % 2 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (card_no[i]) || g_ascii_islower (card_no[i]))
      return FALSE;
  return TRUE;
}

/* A claim message waiting for the store. */
typedef struct
{
  KioskConnection *kc;
  char            *msg_id;
} PendingReply;

static PendingReply *
pending_reply_new (KioskConnection *kc,
                   const char      *msg_id)
{
  PendingReply *pending = g_new0 (PendingReply, 1);

  pending->kc = g_rc_box_acquire (kc);
  pending->msg_id = g_strdup (msg_id);
  return pending;
}

static void
pending_reply_free (PendingReply *pending)
{
  kiosk_connection_unref (pending->kc);
  g_free (pending->msg_id);
  g_free (pending);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PendingReply, pending_reply_free)

/* GAsyncReadyCallback of every claim message: sends the answer, if the kiosk is still there. */
static void
reply_ready_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(PendingReply) pending = user_data;
  KioskConnection *kc = pending->kc;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

  reply = lk_claims_message_finish (LK_CLAIMS (source), result, &error);
  if (lk_websocket_get_state (kc->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (reply == NULL)
    {
      g_warning ("Kiosk %s: message %s not handled: %s", kc->kiosk->sn, pending->msg_id,
                 error->message);
      send_error (kc, pending->msg_id, "internal_error", NULL);
      return;
    }
  lk_websocket_send_text (kc->connection, reply);
  kc->last_sent = g_get_monotonic_time ();
}

static void
handle_claim_request (KioskConnection *kc,
                      const char      *msg_id,
                      JsonObject      *object)
{
  const char *code = get_string (object, "code", 32);

  if (code == NULL)
    {
      send_error (kc, msg_id, "invalid_field", "code");
      return;
    }
  lk_claims_request_async (kc->claims, kc->kiosk, kc->address, msg_id, code, reply_ready_cb,
                           pending_reply_new (kc, msg_id));
}

static void
handle_claim_completed (KioskConnection *kc,
                        const char      *msg_id,
                        JsonObject      *object)
{
  g_autofree char *card_data = NULL;
  const char *card_no = get_string (object, "card_no", MAX_CARD_NO_CHARS);
  JsonNode *data;
  gint64 claim_id;

  if (!get_int (object, "claim_id", &claim_id))
    {
      send_error (kc, msg_id, "invalid_field", "claim_id");
      return;
    }
  if (card_no == NULL || !is_card_no (card_no))
    {
      send_error (kc, msg_id, "invalid_field", "card_no");
      return;
    }
  data = json_object_get_member (object, "card_data");
  if (data == NULL || !JSON_NODE_HOLDS_OBJECT (data))
    {
      send_error (kc, msg_id, "invalid_field", "card_data");
      return;
    }
  card_data = lk_json_to_string (data);
  lk_claims_complete_async (kc->claims, kc->kiosk, msg_id, claim_id, card_no, card_data,
                            reply_ready_cb, pending_reply_new (kc, msg_id));
}

static void
handle_claim_failed (KioskConnection *kc,
                     const char      *msg_id,
                     JsonObject      *object)
{
  const char *reason = get_string (object, "reason", 32);
  const char *card_no = NULL;
  JsonNode *card_node = json_object_get_member (object, "card_no");
  LkFailReason fail_reason;
  gint64 claim_id;

  if (!get_int (object, "claim_id", &claim_id))
    {
      send_error (kc, msg_id, "invalid_field", "claim_id");
      return;
    }
  if (reason == NULL || !lk_fail_reason_from_string (reason, &fail_reason))
    {
      send_error (kc, msg_id, "invalid_field", "reason");
      return;
    }
  if (card_node != NULL && !JSON_NODE_HOLDS_NULL (card_node))
    {
      card_no = get_string (object, "card_no", MAX_CARD_NO_CHARS);
      if (card_no == NULL || !is_card_no (card_no))
        {
          send_error (kc, msg_id, "invalid_field", "card_no");
          return;
        }
    }
  lk_claims_fail_async (kc->claims, kc->kiosk, msg_id, claim_id, fail_reason, card_no,
                        reply_ready_cb, pending_reply_new (kc, msg_id));
}

static void
handle_status (KioskConnection *kc,
               const char      *msg_id,
               JsonObject      *object)
{
  const char *stock = get_string (object, "stock", 8);
  JsonNode *faults_node = json_object_get_member (object, "faults");
  JsonArray *faults;

  if (stock == NULL || !(g_str_equal (stock, "ok") || g_str_equal (stock, "low")
                         || g_str_equal (stock, "empty")))
    {
      send_error (kc, msg_id, "invalid_field", "stock");
      return;
    }
  if (faults_node == NULL || !JSON_NODE_HOLDS_ARRAY (faults_node))
    {
      send_error (kc, msg_id, "invalid_field", "faults");
      return;
    }
  faults = json_node_get_array (faults_node);
  if (json_array_get_length (faults) > MAX_FAULTS)
    {
      send_error (kc, msg_id, "invalid_field", "faults");
      return;
    }
  for (guint i = 0; i < json_array_get_length (faults); i++)
    {
      JsonNode *item = json_array_get_element (faults, i);

      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING
          || *json_node_get_string (item) == '\0'
          || g_utf8_strlen (json_node_get_string (item), -1) > MAX_FAULT_CHARS)
        {
          send_error (kc, msg_id, "invalid_field", "faults");
          return;
        }
    }
  lk_claims_status_async (kc->claims, kc->kiosk, msg_id, stock, faults, reply_ready_cb,
                          pending_reply_new (kc, msg_id));
}

static void
on_message_cb (LkWebsocket             *connection,
               SoupWebsocketDataType    type,
               GBytes                  *message,
               gpointer                 user_data)
{
  KioskConnection *kc = user_data;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  const char *msg_type = NULL;
  const char *msg_id;
  JsonNode *id_node;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  kc->last_heard = g_get_monotonic_time ();

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      send_error (kc, NULL, "invalid_json", NULL);
      return;
    }
  object = lk_message_parse (data, len, &msg_type, &error);
  if (object == NULL)
    {
      send_error (kc, NULL, "invalid_json", NULL);
      return;
    }

  id_node = json_object_get_member (object, "id");
  msg_id = get_string (object, "id", MAX_ID_CHARS);

  if (g_str_equal (msg_type, LK_MSG_PONG))
    return;
  if (msg_id == NULL)
    {
      /* Echo a usable id back only when it is a string. */
      const char *re = id_node != NULL && JSON_NODE_HOLDS_VALUE (id_node)
                       && json_node_get_value_type (id_node) == G_TYPE_STRING
                       && g_utf8_strlen (json_node_get_string (id_node), -1) <= MAX_ID_CHARS
                       ? json_node_get_string (id_node) : NULL;
      send_error (kc, re, "invalid_field", "id");
      return;
    }

  if (g_str_equal (msg_type, LK_MSG_CLAIM_REQUEST))
    handle_claim_request (kc, msg_id, object);
  else if (g_str_equal (msg_type, LK_MSG_CLAIM_COMPLETED))
    handle_claim_completed (kc, msg_id, object);
  else if (g_str_equal (msg_type, LK_MSG_CLAIM_FAILED))
    handle_claim_failed (kc, msg_id, object);
  else if (g_str_equal (msg_type, LK_MSG_STATUS))
    handle_status (kc, msg_id, object);
  else if (g_str_equal (msg_type, LK_MSG_PING))
    {
      g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_PONG);
      g_autofree char *json = NULL;

      json_builder_set_member_name (builder, "re");
      json_builder_add_string_value (builder, msg_id);
      json = lk_message_finish (builder);
      lk_websocket_send_text (connection, json);
      kc->last_sent = g_get_monotonic_time ();
    }
  else
    send_error (kc, msg_id, "unknown_type", "type");
}

/* One kiosk's turn: drop it if it has been silent too long, else ping it when due. */
static void
heartbeat_check (KioskConnection *kc,
                 gint64           now)
{
  gint64 silent_us = now - kc->last_heard;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *id = NULL;
  g_autofree char *json = NULL;

  if (lk_websocket_get_state (kc->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;

  /* libsoup 3.2 has no pong timeout (MEASURED.md, pitfall 3): a kiosk that says nothing for
   * the deadline is gone, and its claims wait for it to come back. */
  if (silent_us >= (gint64) kc->deadline_s * G_USEC_PER_SEC)
    {
      g_message ("Kiosk %s silent for %u s: dropping the connection", kc->kiosk->sn,
                 (guint) (silent_us / G_USEC_PER_SEC));
      lk_websocket_close (kc->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "heartbeat");
      return;
    }
  /* An answer sent lately serves as well as a ping: a kiosk that pings us gets pongs and
   * needs no pings of ours on top. */
  if (now - kc->last_sent < (gint64) kc->interval_s * G_USEC_PER_SEC)
    return;

  kc->last_sent = now;
  id = g_strdup_printf ("s%" G_GUINT64_FORMAT, ++kc->ping_seq);
  builder = lk_message_begin (LK_MSG_PING);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json = lk_message_finish (builder);
  lk_websocket_send_text (kc->connection, json);
}

static gboolean
on_heartbeat_tick_cb (gpointer user_data)
{
  Heartbeat *hb = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) due = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  /* Closing may emit "closed" at once, which removes from the table: iterate a copy. */
  g_hash_table_iter_init (&iter, hb->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (due, key);
  for (guint i = 0; i < due->len; i++)
    if (g_hash_table_contains (hb->connections, g_ptr_array_index (due, i)))
      heartbeat_check (g_ptr_array_index (due, i), now);
  return G_SOURCE_CONTINUE;
}

/* This listener thread's heartbeat, started on its first kiosk. */
static Heartbeat *
heartbeat_get (void)
{
  Heartbeat *hb = g_private_get (&heartbeat_private);

  if (hb == NULL)
    {
      hb = g_new0 (Heartbeat, 1);
      hb->connections = g_hash_table_new (NULL, NULL);
      hb->tick = g_timeout_source_new_seconds (1);
      g_source_set_callback (hb->tick, on_heartbeat_tick_cb, hb, NULL);
      g_source_set_static_name (hb->tick, "[lingka] kiosk heartbeat");
      g_source_attach (hb->tick, g_main_context_get_thread_default ());
      g_private_set (&heartbeat_private, hb);
    }
  return hb;
}

static void
on_closed_cb (LkWebsocket             *connection,
              gpointer                 user_data)
{
  KioskConnection *kc = user_data;

  g_signal_handlers_disconnect_by_data (connection, kc);
  if (kc->heartbeat != NULL)
    g_hash_table_remove (kc->heartbeat->connections, kc);
  kc->heartbeat = NULL;
  lk_claims_kiosk_disconnected (kc->claims, kc->kiosk);
  kiosk_connection_unref (kc);
}

typedef struct
{
  LkServer      *server;
  LkKioskRecord *kiosk;
} KioskUpgrade;

static void
kiosk_upgrade_free (KioskUpgrade *upgrade)
{
  g_clear_pointer (&upgrade->kiosk, lk_kiosk_record_free);
  g_free (upgrade);
}

/* The 101 is written and the stream is ours. */
static void
kiosk_accepted_cb (SoupServerMessage *msg,
                   LkWebsocket       *connection,
                   gpointer           user_data)
{
  KioskUpgrade *upgrade = user_data;
  LkServer *server = upgrade->server;
  LkKioskRecord *kiosk = g_steal_pointer (&upgrade->kiosk);
  g_autoptr(GError) error = NULL;
  g_autofree char *snapshot = NULL;
  KioskConnection *kc;

  kc = g_rc_box_new0 (KioskConnection);
  kc->server = server;
  kc->claims = lk_claims_get (server);
  kc->kiosk = kiosk;
  kc->address = g_strdup (lk_http_client_address (msg));
  kc->connection = g_object_ref (connection);
  kc->last_heard = kc->last_sent = g_get_monotonic_time ();
  kc->interval_s = g_atomic_int_get (&heartbeat_interval_s);
  kc->deadline_s = g_atomic_int_get (&heartbeat_deadline_s);

  lk_websocket_set_max_incoming_payload_size (connection, MAX_MESSAGE_BYTES);
  g_signal_connect (connection, "message", G_CALLBACK (on_message_cb), kc);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed_cb), kc);

  /* The snapshot goes first; the hub subscription follows at once on this thread, so no
   * change published after the snapshot's read can be missed (at worst one arrives twice,
   * which the kiosk applies idempotently by code_id). */
  lk_hub_subscribe (lk_server_get_hub (server), connection, LK_HUB_KIOSK, kiosk->school_id,
                    kiosk->sn);
  /* Online (and last_seen stored) before the kiosk hears anything; "closed" balances it. */
  lk_claims_kiosk_connected (kc->claims, kiosk);
  snapshot = lk_claims_snapshot (kc->claims, kiosk->school_id, &error);
  if (snapshot == NULL)
    {
      g_warning ("Kiosk %s: no snapshot: %s", kiosk->sn, error->message);
      lk_websocket_close (connection, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, NULL);
      return;
    }
  lk_websocket_send_text (connection, snapshot);

  kc->heartbeat = heartbeat_get ();
  g_hash_table_add (kc->heartbeat->connections, kc);
}

/* "Basic base64(SN:secret)" → SN and secret; FALSE if the header is missing or malformed. */
static gboolean
parse_basic_auth (SoupServerMessage  *msg,
                  char              **sn,
                  char              **secret)
{
  const char *header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                     "Authorization");
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  char *colon;

  if (header == NULL || g_ascii_strncasecmp (header, "Basic ", 6) != 0 || strlen (header) > 1024)
    return FALSE;
  decoded = g_base64_decode (header + 6, &len);
  if (decoded == NULL || len == 0 || memchr (decoded, '\0', len) != NULL)
    return FALSE;
  text = g_strndup ((const char *) decoded, len);
  memset (decoded, 0, len);
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  colon = strchr (text, ':');
  if (colon == NULL || colon == text || colon[1] == '\0')
    return FALSE;
  *colon = '\0';
  if (g_utf8_strlen (text, -1) > MAX_SN_CHARS || strlen (colon + 1) > MAX_SECRET_CHARS)
    return FALSE;
  *sn = g_strdup (text);
  *secret = g_strdup (colon + 1);
  memset (text, 0, strlen (text) + 1 + strlen (colon + 1));
  return TRUE;
}

static void
http_cb (SoupServer        *soup,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  LkServer *server = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *sn = NULL;
  g_autofree char *secret = NULL;
  LkKioskRecord *kiosk;
  KioskUpgrade *upgrade;

  if (!g_str_equal (path, LK_KIOSK_WS_PATH))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "GET", NULL))
    return;

  if (!parse_basic_auth (msg, &sn, &secret))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Basic realm=\"lingka-kiosk\"");
      lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                           _("The kiosk must authenticate with its serial number and secret"), NULL);
      return;
    }

  kiosk = lk_store_kiosk_authenticate (lk_server_get_store (server), sn, secret, &error);
  if (secret != NULL)
    memset (secret, 0, strlen (secret));
  if (kiosk == NULL)
    {
      if (error != NULL)
        {
          lk_http_reply_gerror (msg, error);
          return;
        }
      g_message ("Kiosk authentication refused for SN %s from %s", sn,
                 lk_http_client_address (msg));
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Basic realm=\"lingka-kiosk\"");
      lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                           _("Unknown kiosk or wrong secret"), NULL);
      return;
    }

  if (!soup_message_headers_header_contains (soup_server_message_get_request_headers (msg),
                                             "Upgrade", "websocket"))
    {
      lk_kiosk_record_free (kiosk);
      lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "websocket_required",
                           _("This address only accepts a WebSocket upgrade"), NULL);
      return;
    }

  upgrade = g_new0 (KioskUpgrade, 1);
  upgrade->server = server;
  upgrade->kiosk = kiosk;
  /* On a bad handshake this sets the status (400) itself. */
  lk_websocket_accept (msg, kiosk_accepted_cb, upgrade, (GDestroyNotify) kiosk_upgrade_free);
}

/* Emitted on each listener thread as the server stops: say goodbye to this thread's kiosks,
 * so that they reconnect at once to whatever serves next. */
static void
on_server_stopping_cb (LkServer *server,
                       gpointer  user_data)
{
  Heartbeat *hb = g_private_get (&heartbeat_private);
  g_autoptr(GPtrArray) open = NULL;
  GHashTableIter iter;
  gpointer key;

  if (hb == NULL)
    return;
  open = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, hb->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (open, key);
  for (guint i = 0; i < open->len; i++)
    {
      KioskConnection *kc = g_ptr_array_index (open, i);

      if (g_hash_table_contains (hb->connections, kc)
          && lk_websocket_get_state (kc->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        lk_websocket_close (kc->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                            "server stopping");
    }
}

G_LOCK_DEFINE_STATIC (stopping_connect);

void
lk_kiosk_ws_register (LkServer   *server,
                      SoupServer *soup)
{
  /* Once per server: the handler finds each thread's own kiosks itself. */
  G_LOCK (stopping_connect);
  if (g_object_get_data (G_OBJECT (server), "lk-kiosk-ws-stopping") == NULL)
    {
      g_object_set_data (G_OBJECT (server), "lk-kiosk-ws-stopping", GINT_TO_POINTER (TRUE));
      g_signal_connect (server, "stopping", G_CALLBACK (on_server_stopping_cb), NULL);
    }
  G_UNLOCK (stopping_connect);

  soup_server_add_handler (soup, LK_KIOSK_WS_PATH, http_cb, server, NULL);
}

void
lk_kiosk_ws_set_heartbeat (guint interval_s,
                           guint deadline_s)
{
  g_return_if_fail (interval_s > 0 && deadline_s >= interval_s);

  g_atomic_int_set (&heartbeat_interval_s, interval_s);
  g_atomic_int_set (&heartbeat_deadline_s, deadline_s);
}
