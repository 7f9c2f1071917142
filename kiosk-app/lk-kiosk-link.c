/* lk-kiosk-link.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <libsoup/soup.h>

#include "lingka-common.h"
#include "lk-kiosk-error.h"
#include "lk-kiosk-link.h"

/* A snapshot of a big school (a few thousand codes) is far above libsoup's 128 KiB default. */
#define MAX_INCOMING_PAYLOAD (64 * 1024 * 1024)

struct _LkKioskLink
{
  GObject                  parent_instance;

  LkKioskConfig           *config;
  LkKioskStore            *store;
  LkKioskLinkTiming        timing;

  SoupSession             *session;
  SoupWebsocketConnection *conn;
  GCancellable            *connect_cancellable;
  gboolean                 running;
  gboolean                 connected;
  guint                    n_connects;
  guint                    attempts;
  guint                    reconnect_id;
  guint                    heartbeat_id;
  guint                    status_id;
  gint64                   last_rx;

  GHashTable              *pending_claims;   /* request id → GTask */
  GHashTable              *orphan_claims;    /* request id → code (unanswered, to ask again) */
  GHashTable              *sent_reports;     /* report ids sent on this connection */

  char                    *stock;
  GStrv                    faults;
};

G_DEFINE_FINAL_TYPE (LkKioskLink, lk_kiosk_link, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONNECTED,
  N_PROPS
};

enum {
  CODES_CHANGED,
  REPORT_ACKNOWLEDGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

typedef struct
{
  char  *id;
  char  *code;
  guint  timeout_id;
} ClaimRequest;

static void connect_now (LkKioskLink *self);
static void drop_connection (LkKioskLink *self, gboolean reconnect);

static void
claim_request_free (ClaimRequest *request)
{
  g_clear_handle_id (&request->timeout_id, g_source_remove);
  g_free (request->id);
  if (request->code != NULL)
    explicit_bzero (request->code, strlen (request->code));
  g_free (request->code);
  g_free (request);
}

static void
wipe_free (gpointer data)
{
  char *str = data;

  if (str != NULL)
    explicit_bzero (str, strlen (str));
  g_free (str);
}

static void
set_connected (LkKioskLink *self,
               gboolean     connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
}

static void
send_text (LkKioskLink *self,
           const char  *text)
{
  if (self->conn == NULL ||
      soup_websocket_connection_get_state (self->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  soup_websocket_connection_send_text (self->conn, text);
}

static void
send_status (LkKioskLink *self)
{
  JsonBuilder *builder;
  g_autoptr(JsonBuilder) owned = NULL;
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;

  if (self->stock == NULL || self->conn == NULL)
    return;

  owned = builder = lk_message_begin (LK_MSG_STATUS);
  id = lk_random_hex (8);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "stock");
  json_builder_add_string_value (builder, self->stock);
  json_builder_set_member_name (builder, "faults");
  json_builder_begin_array (builder);
  for (guint i = 0; self->faults != NULL && self->faults[i] != NULL; i++)
    json_builder_add_string_value (builder, self->faults[i]);
  json_builder_end_array (builder);
  text = lk_message_finish (builder);
  send_text (self, text);
}

static void
send_claim_request (LkKioskLink *self,
                    const char  *id,
                    const char  *code)
{
  JsonBuilder *builder;
  g_autoptr(JsonBuilder) owned = NULL;
  g_autofree char *text = NULL;

  owned = builder = lk_message_begin (LK_MSG_CLAIM_REQUEST);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  text = lk_message_finish (builder);
  send_text (self, text);
  explicit_bzero (text, strlen (text));
}

static void
fail_pending_claims (LkKioskLink *self)
{
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

  g_hash_table_iter_init (&iter, self->pending_claims);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GTask *task = value;
      ClaimRequest *request = g_task_get_task_data (task);

      /* Ask again on the next connect: the server may have authorized it already. */
      g_hash_table_insert (self->orphan_claims, g_strdup (request->id), g_strdup (request->code));
      g_ptr_array_add (tasks, g_object_ref (task));
      g_hash_table_iter_remove (&iter);
    }
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_new_error (g_ptr_array_index (tasks, i), LK_KIOSK_ERROR, LK_KIOSK_ERROR_OFFLINE,
                             "the connection to the server was lost");
}

static void
schedule_reconnect (LkKioskLink *self);

static gboolean
on_reconnect_timeout_cb (gpointer user_data)
{
  LkKioskLink *self = user_data;

  self->reconnect_id = 0;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (LkKioskLink *self)
{
  guint64 delay;

  if (!self->running || self->reconnect_id != 0 || self->connect_cancellable != NULL)
    return;

  delay = self->timing.backoff_min_ms;
  for (guint i = 0; i < self->attempts && delay < self->timing.backoff_max_ms; i++)
    delay *= 2;
  delay = MIN (delay, self->timing.backoff_max_ms);
  /* Jitter: half fixed, half random, so that a school's kiosks do not all come back at once
   * after a network blip (MEASURED.md, pitfall 1). */
  delay = delay / 2 + g_random_int_range (0, (gint32) MAX (delay / 2, 1));
  self->attempts++;
  g_debug ("link: reconnecting in %" G_GUINT64_FORMAT " ms", delay);
  self->reconnect_id = g_timeout_add ((guint) delay, on_reconnect_timeout_cb, self);
}

static void
drop_connection (LkKioskLink *self,
                 gboolean     reconnect)
{
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_clear_handle_id (&self->status_id, g_source_remove);
  if (self->conn != NULL)
    {
      g_autoptr(SoupWebsocketConnection) conn = g_steal_pointer (&self->conn);

      g_signal_handlers_disconnect_by_data (conn, self);
      if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      /* A dead peer never answers the close: do not wait for it. */
      g_io_stream_close (soup_websocket_connection_get_io_stream (conn), NULL, NULL);
    }
  g_hash_table_remove_all (self->sent_reports);
  set_connected (self, FALSE);
  fail_pending_claims (self);
  if (reconnect)
    schedule_reconnect (self);
}

static void
handle_snapshot (LkKioskLink *self,
                 JsonObject  *msg)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) codes = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_kiosk_code_free);
  LkDigestParams params = { 0 };
  JsonObject *digest;
  JsonArray *array;
  const char *alg;
  const char *salt;
  gint64 school_id;

  if (!json_object_has_member (msg, "digest") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (msg, "digest")) ||
      !json_object_has_member (msg, "codes") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (msg, "codes")))
    goto bad;
  digest = json_object_get_object_member (msg, "digest");
  array = json_object_get_array_member (msg, "codes");
  alg = json_object_get_string_member_with_default (digest, "alg", NULL);
  salt = json_object_get_string_member_with_default (digest, "salt", NULL);
  school_id = json_object_get_int_member_with_default (msg, "school_id", 0);
  if (alg == NULL || salt == NULL ||
      !lk_digest_alg_from_string (alg, &params.alg) ||
      !lk_digest_params_set_salt_hex (&params, salt))
    goto bad;
  params.iterations = (guint) json_object_get_int_member_with_default (digest, "iterations",
                                                                       LK_DIGEST_DEFAULT_ITERATIONS);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      LkKioskCode *code;

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          !(code = lk_kiosk_code_from_json (json_node_get_object (node), &error)))
        goto bad;
      g_ptr_array_add (codes, code);
    }

  if (!lk_kiosk_store_replace_codes (self->store, school_id, &params, codes, &error))
    {
      g_warning ("link: cannot store the code snapshot: %s", error->message);
      return;
    }
  g_debug ("link: snapshot of %u codes", codes->len);
  g_signal_emit (self, signals[CODES_CHANGED], 0);
  set_connected (self, TRUE);
  return;

bad:
  g_warning ("link: malformed codes.snapshot%s%s", error ? ": " : "", error ? error->message : "");
}

static void
handle_added (LkKioskLink *self,
              JsonObject  *msg)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkKioskCode) code = NULL;
  JsonNode *node = json_object_get_member (msg, "code");

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !(code = lk_kiosk_code_from_json (json_node_get_object (node), &error)))
    {
      g_warning ("link: malformed code.added%s%s", error ? ": " : "", error ? error->message : "");
      return;
    }
  if (!lk_kiosk_store_add_code (self->store, code, &error))
    g_warning ("link: cannot store a code: %s", error->message);
  else
    g_signal_emit (self, signals[CODES_CHANGED], 0);
}

static void
handle_removed (LkKioskLink *self,
                JsonObject  *msg)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *code_id = lk_kiosk_json_id_to_string (json_object_get_member (msg, "code_id"));

  if (code_id == NULL)
    {
      g_warning ("link: malformed code.removed");
      return;
    }
  if (!lk_kiosk_store_remove_code (self->store, code_id, &error))
    g_warning ("link: cannot remove a code: %s", error->message);
  else
    g_signal_emit (self, signals[CODES_CHANGED], 0);
}

/* An answer to a request that nobody waits for any more: if it authorized a claim, the card
 * never moved, so the claim is journaled and reported failed at once. */
static void
handle_orphan_answer (LkKioskLink *self,
                      const char  *type,
                      JsonObject  *msg)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *claim_id = NULL;
  g_autofree char *report_id = NULL;

  if (g_strcmp0 (type, LK_MSG_CLAIM_AUTHORIZED) != 0)
    return;
  claim_id = lk_kiosk_json_id_to_string (json_object_get_member (msg, "claim_id"));
  if (claim_id == NULL)
    return;
  g_message ("link: claim %s was authorized after its student left; cancelling it", claim_id);
  if (!lk_kiosk_store_journal_authorize (self->store, json_object_get_member (msg, "claim_id"),
                                         NULL, NULL, &error) ||
      !(report_id = lk_kiosk_store_journal_finish (self->store, claim_id, FALSE,
                                                   LK_FAIL_CANCELLED, NULL, NULL, &error)))
    {
      g_warning ("link: cannot journal claim %s: %s", claim_id, error->message);
      return;
    }
  lk_kiosk_link_flush_reports (self);
}

static void
handle_claim_answer (LkKioskLink *self,
                     const char  *type,
                     JsonObject  *msg)
{
  const char *re = json_object_get_string_member_with_default (msg, "re", NULL);
  GTask *task;

  if (re == NULL)
    return;
  if (g_hash_table_contains (self->orphan_claims, re))
    {
      g_hash_table_remove (self->orphan_claims, re);
      handle_orphan_answer (self, type, msg);
      return;
    }
  if ((task = g_hash_table_lookup (self->pending_claims, re)) == NULL)
    return;
  g_object_ref (task);
  g_hash_table_remove (self->pending_claims, re);
  g_task_return_pointer (task, json_object_ref (msg), (GDestroyNotify) json_object_unref);
  g_object_unref (task);
}

static void
handle_ack (LkKioskLink *self,
            JsonObject  *msg)
{
  g_autoptr(GError) error = NULL;
  const char *re = json_object_get_string_member_with_default (msg, "re", NULL);

  if (re == NULL)
    return;
  if (lk_kiosk_store_journal_acknowledge (self->store, re, &error))
    {
      g_debug ("link: report %s acknowledged", re);
      g_signal_emit (self, signals[REPORT_ACKNOWLEDGED], 0, re);
    }
  else if (error != NULL)
    g_warning ("link: cannot record an ack: %s", error->message);
}

static void
on_message_cb (SoupWebsocketConnection *conn,
               SoupWebsocketDataType    data_type,
               GBytes                  *message,
               gpointer                 user_data)
{
  LkKioskLink *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) msg = NULL;
  const char *type = NULL;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  self->last_rx = g_get_monotonic_time ();

  if (!(msg = lk_message_parse (data, len, &type, &error)))
    {
      g_warning ("link: unreadable message: %s", error->message);
      return;
    }

  if (g_str_equal (type, LK_MSG_CODES_SNAPSHOT))
    handle_snapshot (self, msg);
  else if (g_str_equal (type, LK_MSG_CODE_ADDED))
    handle_added (self, msg);
  else if (g_str_equal (type, LK_MSG_CODE_REMOVED))
    handle_removed (self, msg);
  else if (g_str_equal (type, LK_MSG_CLAIM_AUTHORIZED) ||
           g_str_equal (type, LK_MSG_CLAIM_REJECTED))
    handle_claim_answer (self, type, msg);
  else if (g_str_equal (type, LK_MSG_ACK))
    handle_ack (self, msg);
  else if (g_str_equal (type, LK_MSG_PING))
    {
      JsonBuilder *builder;
      g_autoptr(JsonBuilder) owned = NULL;
      g_autofree char *text = NULL;
      const char *id = json_object_get_string_member_with_default (msg, "id", NULL);

      owned = builder = lk_message_begin (LK_MSG_PONG);
      if (id != NULL)
        {
          json_builder_set_member_name (builder, "re");
          json_builder_add_string_value (builder, id);
        }
      text = lk_message_finish (builder);
      send_text (self, text);
    }
  else if (g_str_equal (type, LK_MSG_ERROR))
    {
      JsonObject *err = json_object_get_member (msg, "error") != NULL &&
                        JSON_NODE_HOLDS_OBJECT (json_object_get_member (msg, "error"))
                        ? json_object_get_object_member (msg, "error") : msg;

      g_warning ("link: the server reports an error: %s",
                 json_object_get_string_member_with_default (err, "code", "unknown"));
    }
  /* pong and unknown types only count as a sign of life */
}

static void
on_closed_cb (SoupWebsocketConnection *conn,
              gpointer                 user_data)
{
  LkKioskLink *self = user_data;

  g_message ("link: connection closed (code %u)", soup_websocket_connection_get_close_code (conn));
  drop_connection (self, TRUE);
}

static void
on_error_cb (SoupWebsocketConnection *conn,
             GError                  *error,
             gpointer                 user_data)
{
  g_message ("link: %s", error->message);
}

static gboolean
on_heartbeat_cb (gpointer user_data)
{
  LkKioskLink *self = user_data;
  g_autofree char *text = NULL;
  g_autofree char *id = NULL;
  JsonBuilder *builder;
  g_autoptr(JsonBuilder) owned = NULL;
  gint64 silent_ms = (g_get_monotonic_time () - self->last_rx) / 1000;

  if (silent_ms >= self->timing.heartbeat_deadline_ms)
    {
      g_message ("link: nothing from the server for %" G_GINT64_FORMAT " ms; reconnecting",
                 silent_ms);
      self->heartbeat_id = 0;
      drop_connection (self, TRUE);
      return G_SOURCE_REMOVE;
    }

  owned = builder = lk_message_begin (LK_MSG_PING);
  id = lk_random_hex (8);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  text = lk_message_finish (builder);
  send_text (self, text);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_status_timer_cb (gpointer user_data)
{
  send_status (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_connected_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(LkKioskLink) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) conn = NULL;
  GHashTableIter iter;
  gpointer key, value;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_clear_object (&self->connect_cancellable);

  if (conn == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_message ("link: cannot connect: %s", error->message);
          schedule_reconnect (self);
        }
      return;
    }
  if (!self->running)
    {
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      return;
    }

  self->conn = g_steal_pointer (&conn);
  self->attempts = 0;
  self->n_connects++;
  self->last_rx = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (self->conn, MAX_INCOMING_PAYLOAD);
  /* libsoup's own keepalive only pings; the deadline is ours (MEASURED.md, pitfall 3). */
  soup_websocket_connection_set_keepalive_interval (self->conn, 0);
  g_signal_connect (self->conn, "message", G_CALLBACK (on_message_cb), self);
  g_signal_connect (self->conn, "closed", G_CALLBACK (on_closed_cb), self);
  g_signal_connect (self->conn, "error", G_CALLBACK (on_error_cb), self);
  g_message ("link: connected (%u)", self->n_connects);

  self->heartbeat_id = g_timeout_add (self->timing.heartbeat_interval_ms, on_heartbeat_cb, self);
  self->status_id = g_timeout_add (self->timing.status_interval_ms, on_status_timer_cb, self);

  lk_kiosk_link_flush_reports (self);
  send_status (self);
  g_hash_table_iter_init (&iter, self->orphan_claims);
  while (g_hash_table_iter_next (&iter, &key, &value))
    send_claim_request (self, key, value);
}

static void
connect_now (LkKioskLink *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *base = g_strdup (lk_kiosk_config_get_server_url (self->config));
  g_autofree char *url = NULL;
  g_autofree char *credentials = NULL;
  g_autofree char *basic = NULL;
  g_autofree char *header = NULL;
  gsize len;

  if (!self->running || self->conn != NULL || self->connect_cancellable != NULL || base == NULL)
    return;

  len = strlen (base);
  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';
  url = g_strconcat (base, LK_KIOSK_WS_PATH, NULL);
  if (!(msg = soup_message_new ("GET", url)))
    {
      g_warning ("link: server_url is not a valid URL");
      return;
    }
  credentials = g_strdup_printf ("%s:%s", lk_kiosk_config_get_sn (self->config),
                                 lk_kiosk_config_get_secret (self->config));
  basic = g_base64_encode ((const guchar *) credentials, strlen (credentials));
  header = g_strconcat ("Basic ", basic, NULL);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", header);
  explicit_bzero (credentials, strlen (credentials));
  explicit_bzero (basic, strlen (basic));
  explicit_bzero (header, strlen (header));

  self->connect_cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->connect_cancellable, on_connected_cb,
                                        g_object_ref (self));
}

static gboolean
on_claim_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  ClaimRequest *request = g_task_get_task_data (task);
  LkKioskLink *self = g_task_get_source_object (task);

  request->timeout_id = 0;
  g_hash_table_insert (self->orphan_claims, g_strdup (request->id), g_strdup (request->code));
  g_object_ref (task);
  g_hash_table_remove (self->pending_claims, request->id);
  g_task_return_new_error (task, LK_KIOSK_ERROR, LK_KIOSK_ERROR_TIMEOUT,
                           "the server did not answer in time");
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
lk_kiosk_link_dispose (GObject *object)
{
  LkKioskLink *self = (LkKioskLink *) object;

  self->running = FALSE;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  if (self->connect_cancellable != NULL)
    g_cancellable_cancel (self->connect_cancellable);
  g_clear_object (&self->connect_cancellable);
  if (self->conn != NULL || self->pending_claims != NULL)
    drop_connection (self, FALSE);
  g_clear_object (&self->session);
  g_clear_object (&self->store);
  g_clear_object (&self->config);

  G_OBJECT_CLASS (lk_kiosk_link_parent_class)->dispose (object);
}

static void
lk_kiosk_link_finalize (GObject *object)
{
  LkKioskLink *self = (LkKioskLink *) object;

  g_clear_pointer (&self->pending_claims, g_hash_table_unref);
  g_clear_pointer (&self->orphan_claims, g_hash_table_unref);
  g_clear_pointer (&self->sent_reports, g_hash_table_unref);
  g_clear_pointer (&self->stock, g_free);
  g_clear_pointer (&self->faults, g_strfreev);

  G_OBJECT_CLASS (lk_kiosk_link_parent_class)->finalize (object);
}

static void
lk_kiosk_link_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  LkKioskLink *self = LK_KIOSK_LINK (object);

  switch (prop_id)
    {
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_kiosk_link_class_init (LkKioskLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lk_kiosk_link_dispose;
  object_class->finalize = lk_kiosk_link_finalize;
  object_class->get_property = lk_kiosk_link_get_property;

  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CODES_CHANGED] =
    g_signal_new ("codes-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[REPORT_ACKNOWLEDGED] =
    g_signal_new ("report-acknowledged", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
lk_kiosk_link_init (LkKioskLink *self)
{
  self->timing.backoff_min_ms = 500;
  self->timing.backoff_max_ms = 60000;
  self->timing.heartbeat_interval_ms = LK_HEARTBEAT_INTERVAL_S * 1000;
  self->timing.heartbeat_deadline_ms = LK_HEARTBEAT_DEADLINE_S * 1000;
  self->timing.status_interval_ms = 300000;
  self->pending_claims = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->orphan_claims = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, wipe_free);
  self->sent_reports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

LkKioskLink *
lk_kiosk_link_new (LkKioskConfig *config,
                   LkKioskStore  *store)
{
  LkKioskLink *self;

  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (config), NULL);
  g_return_val_if_fail (LK_IS_KIOSK_STORE (store), NULL);

  self = g_object_new (LK_TYPE_KIOSK_LINK, NULL);
  self->config = g_object_ref (config);
  self->store = g_object_ref (store);
  self->session = soup_session_new_with_options ("user-agent", "lingka-kiosk/" PACKAGE_VERSION,
                                                 "timeout", 30,
                                                 NULL);
  return self;
}

void
lk_kiosk_link_set_timing (LkKioskLink             *self,
                          const LkKioskLinkTiming *timing)
{
  g_return_if_fail (LK_IS_KIOSK_LINK (self));
  g_return_if_fail (timing != NULL);
  g_return_if_fail (timing->backoff_min_ms > 0 && timing->heartbeat_interval_ms > 0 &&
                    timing->status_interval_ms > 0);

  self->timing = *timing;
}

void
lk_kiosk_link_start (LkKioskLink *self)
{
  g_return_if_fail (LK_IS_KIOSK_LINK (self));

  if (self->running)
    return;
  self->running = TRUE;
  self->attempts = 0;
  connect_now (self);
}

void
lk_kiosk_link_stop (LkKioskLink *self)
{
  g_return_if_fail (LK_IS_KIOSK_LINK (self));

  self->running = FALSE;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  if (self->connect_cancellable != NULL)
    g_cancellable_cancel (self->connect_cancellable);
  drop_connection (self, FALSE);
}

void
lk_kiosk_link_drop (LkKioskLink *self)
{
  g_return_if_fail (LK_IS_KIOSK_LINK (self));

  drop_connection (self, TRUE);
}

gboolean
lk_kiosk_link_get_connected (LkKioskLink *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_LINK (self), FALSE);
  return self->connected;
}

guint
lk_kiosk_link_get_n_connects (LkKioskLink *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_LINK (self), 0);
  return self->n_connects;
}

void
lk_kiosk_link_claim_async (LkKioskLink         *self,
                           const char          *code,
                           guint                timeout_ms,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ClaimRequest *request;

  g_return_if_fail (LK_IS_KIOSK_LINK (self));
  g_return_if_fail (code != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_kiosk_link_claim_async);

  if (!self->connected)
    {
      g_task_return_new_error (task, LK_KIOSK_ERROR, LK_KIOSK_ERROR_OFFLINE,
                               "not connected to the server");
      return;
    }

  request = g_new0 (ClaimRequest, 1);
  request->id = lk_random_hex (12);
  request->code = g_strdup (code);
  g_task_set_task_data (task, request, (GDestroyNotify) claim_request_free);
  request->timeout_id = g_timeout_add (timeout_ms, on_claim_timeout_cb, task);
  g_hash_table_insert (self->pending_claims, g_strdup (request->id), g_object_ref (task));
  send_claim_request (self, request->id, code);
}

JsonObject *
lk_kiosk_link_claim_finish (LkKioskLink   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  GTask *task = G_TASK (result);
  ClaimRequest *request;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  request = g_task_get_task_data (task);
  if (request != NULL)
    {
      g_clear_handle_id (&request->timeout_id, g_source_remove);
    }
  return g_task_propagate_pointer (task, error);
}

void
lk_kiosk_link_flush_reports (LkKioskLink *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) pending = NULL;

  g_return_if_fail (LK_IS_KIOSK_LINK (self));

  if (self->conn == NULL)
    return;
  if (!(pending = lk_kiosk_store_journal_pending (self->store, &error)))
    {
      g_warning ("link: cannot read the journal: %s", error->message);
      return;
    }
  for (guint i = 0; i < pending->len; i++)
    {
      LkJournalEntry *entry = g_ptr_array_index (pending, i);

      if (entry->report == NULL || g_hash_table_contains (self->sent_reports, entry->report_id))
        continue;
      g_debug ("link: sending report %s (claim %s)", entry->report_id, entry->claim_id);
      g_hash_table_add (self->sent_reports, g_strdup (entry->report_id));
      send_text (self, entry->report);
    }
}

void
lk_kiosk_link_set_status (LkKioskLink        *self,
                          const char         *stock,
                          const char * const *faults)
{
  const char * const empty[] = { NULL };

  g_return_if_fail (LK_IS_KIOSK_LINK (self));
  g_return_if_fail (stock != NULL);

  if (faults == NULL)
    faults = empty;
  if (g_strcmp0 (self->stock, stock) == 0 && self->faults != NULL &&
      g_strv_equal ((const char * const *) self->faults, faults))
    return;
  g_free (self->stock);
  self->stock = g_strdup (stock);
  g_strfreev (self->faults);
  self->faults = g_strdupv ((char **) faults);
  send_status (self);
}
