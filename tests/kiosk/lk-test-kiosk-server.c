/* lk-test-kiosk-server.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-test-kiosk-server.h"

typedef enum
{
  CODE_OPEN,
  CODE_RESERVED,
  CODE_ISSUED,
  CODE_REVOKED,
  CODE_REMOVED,
} CodeState;

typedef struct
{
  guint      code_id;
  char      *code;
  char      *digest;
  char      *name;         /* full name: the card data carries it; the snapshot masks it */
  char      *klass;
  char      *student_no;
  CodeState  state;
  guint      claim_id;     /* current claim, 0 none */
  char      *card_no;
  char      *fail_reason;
} Code;

struct _LkTestKioskServer
{
  SoupServer     *server;
  char           *url;
  char           *sn;
  char           *secret;
  LkDigestParams  params;
  GPtrArray      *codes;          /* Code* */
  GPtrArray      *conns;          /* SoupWebsocketConnection* (refs) */
  GHashTable     *answers;        /* request id → answer JSON (same id, same answer) */
  GHashTable     *reports;        /* report id → count */
  guint           next_claim_id;
  gboolean        refusing;
  gboolean        silent;
  gboolean        drop_acks;
  gboolean        hold_claims;
  guint           n_connections;
  guint           n_claim_requests;
  guint           n_auth_failures;
  guint           n_report_messages;
  guint           n_completed;
  guint           n_failed;
  guint           n_status;
  char           *stock;
  char           *faults;
};

static void
code_free (Code *code)
{
  g_free (code->code);
  g_free (code->digest);
  g_free (code->name);
  g_free (code->klass);
  g_free (code->student_no);
  g_free (code->card_no);
  g_free (code->fail_reason);
  g_free (code);
}

static Code *
find_code_by_id (LkTestKioskServer *self,
                 guint              code_id)
{
  for (guint i = 0; i < self->codes->len; i++)
    {
      Code *code = g_ptr_array_index (self->codes, i);
      if (code->code_id == code_id)
        return code;
    }
  return NULL;
}

static Code *
find_code_by_claim (LkTestKioskServer *self,
                    guint              claim_id)
{
  for (guint i = 0; i < self->codes->len; i++)
    {
      Code *code = g_ptr_array_index (self->codes, i);
      if (code->claim_id == claim_id)
        return code;
    }
  return NULL;
}

static void
add_code_json (JsonBuilder *builder,
               Code        *code)
{
  g_autofree char *masked = lk_mask_name (code->name);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code_id");
  json_builder_add_int_value (builder, code->code_id);
  json_builder_set_member_name (builder, "digest");
  json_builder_add_string_value (builder, code->digest);
  json_builder_set_member_name (builder, "student");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, masked);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, code->klass);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

static void
broadcast (LkTestKioskServer *self,
           const char        *text)
{
  for (guint i = 0; i < self->conns->len; i++)
    {
      SoupWebsocketConnection *conn = g_ptr_array_index (self->conns, i);

      if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text (conn, text);
    }
}

static void
send_snapshot (LkTestKioskServer       *self,
               SoupWebsocketConnection *conn)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_CODES_SNAPSHOT);
  g_autofree char *salt = lk_digest_params_salt_hex (&self->params);
  g_autofree char *text = NULL;

  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, 7);
  json_builder_set_member_name (builder, "digest");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "alg");
  json_builder_add_string_value (builder, lk_digest_alg_to_string (self->params.alg));
  json_builder_set_member_name (builder, "salt");
  json_builder_add_string_value (builder, salt);
  json_builder_set_member_name (builder, "iterations");
  json_builder_add_int_value (builder, self->params.iterations);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "codes");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->codes->len; i++)
    {
      Code *code = g_ptr_array_index (self->codes, i);
      if (code->state == CODE_OPEN || code->state == CODE_REVOKED)
        add_code_json (builder, code);
    }
  json_builder_end_array (builder);
  text = lk_message_finish (builder);
  soup_websocket_connection_send_text (conn, text);
}

static char *
answer_claim (LkTestKioskServer *self,
              const char        *id,
              const char        *code_text)
{
  g_autoptr(JsonBuilder) builder = NULL;
  Code *code = NULL;
  const char *reason = NULL;

  for (guint i = 0; i < self->codes->len; i++)
    {
      Code *c = g_ptr_array_index (self->codes, i);
      if (g_strcmp0 (c->code, code_text) == 0 && c->state != CODE_REMOVED)
        code = c;
    }

  if (code == NULL)
    reason = LK_REJECT_INVALID;
  else if (code->state == CODE_REVOKED)
    reason = LK_REJECT_REVOKED;
  else if (code->state != CODE_OPEN)
    reason = LK_REJECT_ALREADY_ISSUED;

  if (reason != NULL)
    {
      builder = lk_message_begin (LK_MSG_CLAIM_REJECTED);
      json_builder_set_member_name (builder, "re");
      json_builder_add_string_value (builder, id);
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, reason);
      return lk_message_finish (builder);
    }

  code->state = CODE_RESERVED;
  code->claim_id = ++self->next_claim_id;
  builder = lk_message_begin (LK_MSG_CLAIM_AUTHORIZED);
  json_builder_set_member_name (builder, "re");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "claim_id");
  json_builder_add_int_value (builder, code->claim_id);
  json_builder_set_member_name (builder, "card_data");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, 7);
  json_builder_set_member_name (builder, "student_no");
  json_builder_add_string_value (builder, code->student_no);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, code->name);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, code->klass);
  json_builder_set_member_name (builder, "issue_date");
  json_builder_add_string_value (builder, "2026-11-26");
  json_builder_set_member_name (builder, "issue_seq");
  json_builder_add_int_value (builder, code->claim_id);
  json_builder_end_object (builder);
  return lk_message_finish (builder);
}

static void
handle_report (LkTestKioskServer *self,
               const char        *type,
               JsonObject        *msg)
{
  const char *id = json_object_get_string_member_with_default (msg, "id", NULL);
  gint64 claim_id = json_object_get_int_member_with_default (msg, "claim_id", 0);
  guint count;
  Code *code;

  if (id == NULL)
    return;
  self->n_report_messages++;
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->reports, id));
  g_hash_table_insert (self->reports, g_strdup (id), GUINT_TO_POINTER (count + 1));

  /* Exactly once in effect: a claim is settled by its first report only. */
  code = find_code_by_claim (self, (guint) claim_id);
  if (count == 0 && code != NULL && code->state == CODE_RESERVED)
    {
      const char *card_no = json_object_get_member (msg, "card_no") != NULL &&
                            !json_object_get_null_member (msg, "card_no")
                            ? json_object_get_string_member (msg, "card_no") : NULL;

      if (g_str_equal (type, LK_MSG_CLAIM_COMPLETED))
        {
          code->state = CODE_ISSUED;
          g_free (code->card_no);
          code->card_no = g_strdup (card_no);
          self->n_completed++;
        }
      else
        {
          code->state = CODE_OPEN;
          code->claim_id = 0;
          g_free (code->fail_reason);
          code->fail_reason = g_strdup (json_object_get_string_member_with_default (msg, "reason", ""));
          self->n_failed++;
          /* The code is usable again: every kiosk of the school gets it back. */
          {
            g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_CODE_ADDED);
            g_autofree char *text = NULL;

            json_builder_set_member_name (builder, "code");
            add_code_json (builder, code);
            text = lk_message_finish (builder);
            broadcast (self, text);
          }
        }
    }
}

static void
send_ack (SoupWebsocketConnection *conn,
          const char              *id)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_ACK);
  g_autofree char *text = NULL;

  json_builder_set_member_name (builder, "re");
  json_builder_add_string_value (builder, id);
  text = lk_message_finish (builder);
  soup_websocket_connection_send_text (conn, text);
}

static void
on_message_cb (SoupWebsocketConnection *conn,
               SoupWebsocketDataType    data_type,
               GBytes                  *message,
               gpointer                 user_data)
{
  LkTestKioskServer *self = user_data;
  g_autoptr(JsonObject) msg = NULL;
  const char *type = NULL;
  const char *id;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  if (self->silent || !(msg = lk_message_parse (data, len, &type, NULL)))
    return;
  id = json_object_get_string_member_with_default (msg, "id", NULL);

  if (g_str_equal (type, LK_MSG_CLAIM_REQUEST) && id != NULL)
    {
      const char *answer;

      self->n_claim_requests++;
      if (self->hold_claims)
        return;
      if (!(answer = g_hash_table_lookup (self->answers, id)))
        {
          answer = answer_claim (self, id,
                                 json_object_get_string_member_with_default (msg, "code", ""));
          g_hash_table_insert (self->answers, g_strdup (id), (char *) answer);
        }
      soup_websocket_connection_send_text (conn, answer);
    }
  else if (g_str_equal (type, LK_MSG_CLAIM_COMPLETED) || g_str_equal (type, LK_MSG_CLAIM_FAILED))
    {
      handle_report (self, type, msg);
      if (!self->drop_acks)
        send_ack (conn, id);
    }
  else if (g_str_equal (type, LK_MSG_STATUS) && id != NULL)
    {
      JsonArray *faults = json_object_get_array_member (msg, "faults");
      g_autoptr(GString) list = g_string_new (NULL);

      for (guint i = 0; faults != NULL && i < json_array_get_length (faults); i++)
        g_string_append_printf (list, "%s%s", i ? "," : "", json_array_get_string_element (faults, i));
      g_free (self->stock);
      self->stock = g_strdup (json_object_get_string_member_with_default (msg, "stock", ""));
      g_free (self->faults);
      self->faults = g_string_free (g_steal_pointer (&list), FALSE);
      self->n_status++;
      send_ack (conn, id);
    }
  else if (g_str_equal (type, LK_MSG_PING))
    {
      g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_PONG);
      g_autofree char *text = NULL;

      if (id != NULL)
        {
          json_builder_set_member_name (builder, "re");
          json_builder_add_string_value (builder, id);
        }
      text = lk_message_finish (builder);
      soup_websocket_connection_send_text (conn, text);
    }
}

static void
on_closed_cb (SoupWebsocketConnection *conn,
              gpointer                 user_data)
{
  LkTestKioskServer *self = user_data;

  g_signal_handlers_disconnect_by_data (conn, self);
  g_ptr_array_remove (self->conns, conn);
}

static void
on_websocket_cb (SoupServer              *server,
                 SoupServerMessage       *msg,
                 const char              *path,
                 SoupWebsocketConnection *conn,
                 gpointer                 user_data)
{
  LkTestKioskServer *self = user_data;

  self->n_connections++;
  g_ptr_array_add (self->conns, g_object_ref (conn));
  soup_websocket_connection_set_keepalive_interval (conn, 0);
  g_signal_connect (conn, "message", G_CALLBACK (on_message_cb), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed_cb), self);
  send_snapshot (self, conn);
}

static gboolean
on_auth_cb (SoupAuthDomain    *domain,
            SoupServerMessage *msg,
            const char        *username,
            const char        *password,
            gpointer           user_data)
{
  LkTestKioskServer *self = user_data;
  gboolean ok = g_strcmp0 (username, self->sn) == 0 && g_strcmp0 (password, self->secret) == 0;

  /* An unreachable server: no upgrade (libsoup's websocket handler ignores a status set by an
   * early handler, so the refusal is made here). */
  if (self->refusing)
    return FALSE;

  if (!ok)
    self->n_auth_failures++;
  return ok;
}

LkTestKioskServer *
lk_test_kiosk_server_new (const char  *sn,
                          const char  *secret,
                          LkDigestAlg  alg)
{
  LkTestKioskServer *self = g_new0 (LkTestKioskServer, 1);
  g_autoptr(SoupAuthDomain) domain = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  GSList *uris;
  g_autofree char *salt = lk_random_hex (LK_DIGEST_SALT_LEN);

  self->sn = g_strdup (sn);
  self->secret = g_strdup (secret);
  self->params.alg = alg;
  self->params.iterations = 1000;
  g_assert_true (lk_digest_params_set_salt_hex (&self->params, salt));
  self->codes = g_ptr_array_new_with_free_func ((GDestroyNotify) code_free);
  self->conns = g_ptr_array_new_with_free_func (g_object_unref);
  self->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->reports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  self->server = soup_server_new (NULL, NULL);
  domain = soup_auth_domain_basic_new ("realm", "lingka-kiosk", NULL);
  soup_auth_domain_basic_set_auth_callback (domain, on_auth_cb, self, NULL);
  soup_auth_domain_add_path (domain, LK_KIOSK_WS_PATH);
  soup_server_add_auth_domain (self->server, domain);
  soup_server_add_websocket_handler (self->server, LK_KIOSK_WS_PATH, NULL, NULL,
                                     on_websocket_cb, self, NULL);
  soup_server_listen (self->server, address, 0, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (self->server);
  self->url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return self;
}

void
lk_test_kiosk_server_free (LkTestKioskServer *self)
{
  lk_test_kiosk_server_disconnect_all (self);
  soup_server_disconnect (self->server);
  g_object_unref (self->server);
  g_ptr_array_unref (self->codes);
  g_ptr_array_unref (self->conns);
  g_hash_table_unref (self->answers);
  g_hash_table_unref (self->reports);
  g_free (self->url);
  g_free (self->sn);
  g_free (self->secret);
  g_free (self->stock);
  g_free (self->faults);
  g_free (self);
}

const char *
lk_test_kiosk_server_get_url (LkTestKioskServer *self)
{
  return self->url;
}

guint
lk_test_kiosk_server_add_code (LkTestKioskServer *self,
                               const char        *code_text,
                               const char        *name,
                               const char        *klass,
                               const char        *student_no)
{
  Code *code = g_new0 (Code, 1);
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_CODE_ADDED);
  g_autofree char *text = NULL;

  code->code_id = self->codes->len + 1;
  code->code = g_strdup (code_text);
  code->digest = lk_claim_code_digest (&self->params, code_text);
  code->name = g_strdup (name);
  code->klass = g_strdup (klass);
  code->student_no = g_strdup (student_no);
  code->state = CODE_OPEN;
  g_ptr_array_add (self->codes, code);

  json_builder_set_member_name (builder, "code");
  add_code_json (builder, code);
  text = lk_message_finish (builder);
  broadcast (self, text);
  return code->code_id;
}

void
lk_test_kiosk_server_remove_code (LkTestKioskServer *self,
                                  guint              code_id)
{
  Code *code = find_code_by_id (self, code_id);
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_CODE_REMOVED);
  g_autofree char *text = NULL;

  g_assert_nonnull (code);
  code->state = CODE_REMOVED;
  json_builder_set_member_name (builder, "code_id");
  json_builder_add_int_value (builder, code_id);
  text = lk_message_finish (builder);
  broadcast (self, text);
}

void
lk_test_kiosk_server_revoke_code (LkTestKioskServer *self,
                                  guint              code_id)
{
  Code *code = find_code_by_id (self, code_id);

  g_assert_nonnull (code);
  code->state = CODE_REVOKED;
}

void
lk_test_kiosk_server_disconnect_all (LkTestKioskServer *self)
{
  while (self->conns->len > 0)
    {
      g_autoptr(SoupWebsocketConnection) conn = g_object_ref (g_ptr_array_index (self->conns, 0));

      g_signal_handlers_disconnect_by_data (conn, self);
      g_ptr_array_remove_index (self->conns, 0);
      /* A cut cable: no close handshake. */
      g_io_stream_close (soup_websocket_connection_get_io_stream (conn), NULL, NULL);
    }
}

void
lk_test_kiosk_server_set_refusing (LkTestKioskServer *self,
                                   gboolean           refusing)
{
  self->refusing = refusing;
}

void
lk_test_kiosk_server_set_silent (LkTestKioskServer *self,
                                 gboolean           silent)
{
  self->silent = silent;
}

void
lk_test_kiosk_server_set_drop_acks (LkTestKioskServer *self,
                                    gboolean           drop)
{
  self->drop_acks = drop;
}

void
lk_test_kiosk_server_set_hold_claims (LkTestKioskServer *self,
                                      gboolean           hold)
{
  self->hold_claims = hold;
}

guint
lk_test_kiosk_server_get_n_connections (LkTestKioskServer *self)
{
  return self->n_connections;
}

guint
lk_test_kiosk_server_get_n_open (LkTestKioskServer *self)
{
  return self->conns->len;
}

guint
lk_test_kiosk_server_get_n_claim_requests (LkTestKioskServer *self)
{
  return self->n_claim_requests;
}

guint
lk_test_kiosk_server_get_n_auth_failures (LkTestKioskServer *self)
{
  return self->n_auth_failures;
}

guint
lk_test_kiosk_server_get_n_reports (LkTestKioskServer *self)
{
  return g_hash_table_size (self->reports);
}

guint
lk_test_kiosk_server_get_n_report_messages (LkTestKioskServer *self)
{
  return self->n_report_messages;
}

guint
lk_test_kiosk_server_get_n_completed (LkTestKioskServer *self)
{
  return self->n_completed;
}

guint
lk_test_kiosk_server_get_n_failed (LkTestKioskServer *self)
{
  return self->n_failed;
}

const char *
lk_test_kiosk_server_get_card_no (LkTestKioskServer *self,
                                  guint              code_id)
{
  Code *code = find_code_by_id (self, code_id);

  return code != NULL && code->card_no != NULL ? code->card_no : "";
}

const char *
lk_test_kiosk_server_get_fail_reason (LkTestKioskServer *self,
                                      guint              code_id)
{
  Code *code = find_code_by_id (self, code_id);

  return code != NULL && code->fail_reason != NULL ? code->fail_reason : "";
}

const char *
lk_test_kiosk_server_get_stock (LkTestKioskServer *self)
{
  return self->stock;
}

const char *
lk_test_kiosk_server_get_faults (LkTestKioskServer *self)
{
  return self->faults;
}

guint
lk_test_kiosk_server_get_n_status (LkTestKioskServer *self)
{
  return self->n_status;
}
