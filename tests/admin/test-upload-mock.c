/* test-upload-mock.c: a small in-process libsoup server that speaks the import contract
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lingka-common.h"
#include "test-upload-mock.h"

static void
reply_json (SoupServerMessage *msg,
            guint              status,
            JsonNode          *node)
{
  g_autofree char *text = lk_json_to_string (node);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
reply_error (SoupServerMessage *msg,
             guint              status,
             const char        *code,
             const char        *message,
             GPtrArray         *rows)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  if (rows != NULL)
    {
      json_builder_set_member_name (builder, "rows");
      json_builder_begin_array (builder);
      for (guint i = 0; i < rows->len; i++)
        {
          LkRowError *e = g_ptr_array_index (rows, i);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "seq");
          json_builder_add_int_value (builder, e->seq);
          json_builder_set_member_name (builder, "field");
          json_builder_add_string_value (builder, e->field);
          json_builder_set_member_name (builder, "message");
          json_builder_add_string_value (builder, e->message);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  reply_json (msg, status, node);
}

static JsonNode *
parse_body (SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                   (gssize) g_bytes_get_size (bytes), NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

static gboolean
authorized (MockServer        *mock,
            SoupServerMessage *msg)
{
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Authorization");

  g_free (mock->last_authorization);
  mock->last_authorization = g_strdup (auth);
  if (!mock->reject_all && g_strcmp0 (auth, "Bearer " MOCK_TOKEN) == 0)
    return TRUE;

  reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized", "Log in first", NULL);
  return FALSE;
}

static void
handle_login (MockServer        *mock,
              SoupServerMessage *msg)
{
  g_autoptr(JsonNode) body = parse_body (msg);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) answer = NULL;
  JsonObject *object = body && JSON_NODE_HOLDS_OBJECT (body) ? json_node_get_object (body) : NULL;

  mock->logins++;
  if (object == NULL ||
      g_strcmp0 (json_object_get_string_member_with_default (object, "username", ""), MOCK_USER) != 0 ||
      g_strcmp0 (json_object_get_string_member_with_default (object, "password", ""), MOCK_PASSWORD) != 0)
    {
      reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials",
                   "Wrong user name or password", NULL);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, MOCK_TOKEN);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, "teacher");
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, 7);
  json_builder_set_member_name (builder, "expires_at");
  json_builder_add_string_value (builder, "2030-01-01T00:00:00Z");
  json_builder_end_object (builder);
  answer = json_builder_get_root (builder);
  reply_json (msg, SOUP_STATUS_OK, answer);
}

static void
handle_frame (MockServer        *mock,
              SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(JsonNode) echo = NULL;
  g_autofree char *checksum = NULL;
  const char *content_type;
  gboolean echo_corrupted;

  mock->frames++;
  content_type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  g_assert_cmpstr (content_type, ==, LK_IMPORT_FRAME_CONTENT_TYPE);

  if (mock->drop_connection > 0)
    {
      GIOStream *stream;

      mock->drop_connection--;
      stream = soup_server_message_steal_connection (msg);
      g_io_stream_close (stream, NULL, NULL);
      g_object_unref (stream);
      return;
    }
  if (mock->fail_500 > 0)
    {
      mock->fail_500--;
      reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "The database is busy", NULL);
      return;
    }

  rows = lk_import_frame_parse (bytes, &error);
  if (rows == NULL)
    {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, "bad_frame", error->message, NULL);
      return;
    }
  errors = lk_import_rows_validate (rows);
  if (errors->len > 0)
    {
      reply_error (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "invalid_rows", "Some rows are invalid", errors);
      return;
    }

  checksum = lk_import_rows_checksum (rows);
  g_ptr_array_add (mock->batches, g_ptr_array_ref (rows));

  echo_corrupted = mock->corrupt_echo > 0;
  if (echo_corrupted)
    {
      /* as if a row had been mangled on the way or in storage */
      g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);

      mock->corrupt_echo--;
      for (guint i = 0; i < rows->len; i++)
        g_ptr_array_add (changed, lk_import_row_copy (g_ptr_array_index (rows, i)));
      g_free (((LkImportRow *) changed->pdata[0])->name);
      ((LkImportRow *) changed->pdata[0])->name = g_strdup ("乱码");
      echo = lk_import_rows_to_json (changed);
    }
  else
    echo = lk_import_rows_to_json (rows);
  /* one misbehaviour per frame */
  if (mock->corrupt_checksum > 0 && !echo_corrupted)
    {
      mock->corrupt_checksum--;
      checksum[0] = checksum[0] == '0' ? '1' : '0';
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "batch_id");
  json_builder_add_int_value (builder, mock->batches->len);
  json_builder_set_member_name (builder, "rows");
  json_builder_add_value (builder, g_steal_pointer (&echo));
  json_builder_set_member_name (builder, "checksum");
  json_builder_add_string_value (builder, checksum);
  json_builder_end_object (builder);
  answer = json_builder_get_root (builder);
  reply_json (msg, SOUP_STATUS_CREATED, answer);
}

static void
handle_commit (MockServer        *mock,
               SoupServerMessage *msg,
               guint64            batch_id)
{
  g_autoptr(JsonNode) body = parse_body (msg);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *checksum = NULL;
  GPtrArray *rows;
  gint64 inserted = 0, updated = 0, unchanged = 0;

  if (mock->fail_commit_500 > 0)
    {
      mock->fail_commit_500--;
      reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "The database is busy", NULL);
      return;
    }
  if (batch_id == 0 || batch_id > mock->batches->len)
    {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", "No such batch", NULL);
      return;
    }
  rows = g_ptr_array_index (mock->batches, batch_id - 1);
  checksum = lk_import_rows_checksum (rows);
  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body) ||
      g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (body), "checksum", ""),
                 checksum) != 0)
    {
      reply_error (msg, SOUP_STATUS_CONFLICT, "checksum_mismatch", "The checksum does not match", NULL);
      return;
    }

  mock->commits++;
  for (guint i = 0; i < rows->len; i++)
    {
      LkImportRow *row = g_ptr_array_index (rows, i);
      LkImportRow *old = g_hash_table_lookup (mock->students, row->student_no);

      if (old == NULL)
        inserted++;
      else if (lk_import_row_equal (old, row))
        unchanged++;
      else
        updated++;
      g_hash_table_replace (mock->students, g_strdup (row->student_no), lk_import_row_copy (row));
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "inserted");
  json_builder_add_int_value (builder, inserted);
  json_builder_set_member_name (builder, "updated");
  json_builder_add_int_value (builder, updated);
  json_builder_set_member_name (builder, "unchanged");
  json_builder_add_int_value (builder, unchanged);
  json_builder_end_object (builder);
  answer = json_builder_get_root (builder);
  reply_json (msg, SOUP_STATUS_OK, answer);
}

static void
on_request_cb (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  MockServer *mock = user_data;
  const char *method = soup_server_message_get_method (msg);
  guint64 batch_id = 0;

  if (g_str_equal (path, "/api/v1/auth/login") && g_str_equal (method, "POST"))
    handle_login (mock, msg);
  else if (!authorized (mock, msg))
    return;
  else if (g_str_equal (path, "/api/v1/imports") && g_str_equal (method, "POST"))
    handle_frame (mock, msg);
  else if (sscanf (path, "/api/v1/imports/%" G_GUINT64_FORMAT "/commit", &batch_id) == 1 &&
           g_str_equal (method, "POST"))
    handle_commit (mock, msg, batch_id);
  else if (g_str_equal (path, "/api/v1/students") && g_str_equal (method, "GET"))
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);

      json_node_take_array (node, json_array_new ());
      reply_json (msg, SOUP_STATUS_OK, node);
    }
  else
    reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", "No such resource", NULL);
}

static void
on_events_cb (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  soup_websocket_connection_send_text (connection, "{\"type\":\"card.issued\",\"at\":1}");
}

static void
on_events_auth_cb (SoupServer        *server,
                   SoupServerMessage *msg,
                   const char        *path,
                   GHashTable        *query,
                   gpointer           user_data)
{
  /* the token must come in the Authorization header */
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Authorization");

  /* a status set here skips the WebSocket handler: no upgrade */
  if (g_strcmp0 (auth, "Bearer " MOCK_TOKEN) != 0)
    soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
}

MockServer *
mock_server_new (void)
{
  MockServer *mock = g_new0 (MockServer, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  mock->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  mock->students = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) lk_import_row_free);
  mock->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (mock->server, "/api/v1", on_request_cb, mock, NULL);
  soup_server_add_early_handler (mock->server, LK_ADMIN_EVENTS_PATH,
                                 on_events_auth_cb, mock, NULL);
  soup_server_add_websocket_handler (mock->server, LK_ADMIN_EVENTS_PATH, NULL, NULL,
                                     on_events_cb, mock, NULL);
  soup_server_listen_local (mock->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (mock->server);
  g_assert_nonnull (uris);
  mock->base_url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  return mock;
}

void
mock_server_free (MockServer *mock)
{
  soup_server_disconnect (mock->server);
  g_clear_object (&mock->server);
  g_clear_pointer (&mock->base_url, g_free);
  g_clear_pointer (&mock->batches, g_ptr_array_unref);
  g_clear_pointer (&mock->students, g_hash_table_unref);
  g_clear_pointer (&mock->last_authorization, g_free);
  g_free (mock);
}
