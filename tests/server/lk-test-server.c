/* lk-test-server.c: lingka-server in-process for tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdarg.h>

#include <glib/gstdio.h>

#include "lingka-common.h"
#include "lk-password.h"
#include "lk-test-server.h"

static void
start (LkTestServer *ts)
{
  g_autoptr(GError) error = NULL;

  ts->server = lk_server_new (ts->config, &error);
  g_assert_no_error (error);
  lk_server_start (ts->server, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ts->base_url, g_free);
  ts->base_url = lk_server_get_base_url (ts->server);
}

static gboolean
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        g_unlink (child);
    }
  return g_rmdir (path) == 0;
}

LkTestServer *
lk_test_server_new (guint   threads,
                    void  (*configure) (LkConfig *config))
{
  LkTestServer *ts = g_new0 (LkTestServer, 1);
  g_autoptr(GError) error = NULL;

  ts->data_dir = g_dir_make_tmp ("lingka-test-XXXXXX", &error);
  g_assert_no_error (error);

  ts->config = lk_config_new ();
  lk_config_set_data_dir (ts->config, ts->data_dir);
  lk_config_set_listen (ts->config, "127.0.0.1");
  lk_config_set_port (ts->config, 0);
  lk_config_set_threads (ts->config, threads > 0 ? threads : 2);
  lk_config_set_sandbox (ts->config, TRUE);
  lk_config_set_sms_retry_s (ts->config, 1);
  if (configure != NULL)
    configure (ts->config);
  start (ts);

  ts->session = soup_session_new_with_options ("timeout", 60, "max-conns", 64,
                                               "max-conns-per-host", 64, NULL);

  ts->school_id = lk_test_server_add_school (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL);
  {
    g_autofree char *hash = lk_password_hash (LK_TEST_PASSWORD, LK_DEFAULT_PASSWORD_ITERATIONS);
    gint64 id = lk_store_user_create (lk_server_get_store (ts->server), "operator", hash,
                                      "operator", 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (id, >, 0);
  }
  lk_test_server_add_teacher (ts, "teacher", ts->school_id);
  ts->operator_token = lk_test_server_login (ts, "operator", LK_TEST_PASSWORD);
  ts->teacher_token = lk_test_server_login (ts, "teacher", LK_TEST_PASSWORD);
  return ts;
}

void
lk_test_server_restart (LkTestServer *ts)
{
  lk_server_stop (ts->server);
  g_clear_object (&ts->server);
  start (ts);
}

void
lk_test_server_free (LkTestServer *ts)
{
  if (ts == NULL)
    return;
  if (ts->session != NULL)
    soup_session_abort (ts->session);
  g_clear_object (&ts->session);
  if (ts->server != NULL)
    lk_server_stop (ts->server);
  g_clear_object (&ts->server);
  g_clear_object (&ts->config);
  rm_rf (ts->data_dir);
  g_free (ts->data_dir);
  g_free (ts->base_url);
  g_free (ts->operator_token);
  g_free (ts->teacher_token);
  g_free (ts);
}

gint64
lk_test_server_add_school (LkTestServer *ts,
                           const char   *province,
                           const char   *school)
{
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = lk_store_school_ensure (lk_server_get_store (ts->server), province, school,
                               lk_config_get_digest_alg (ts->config),
                               lk_config_get_digest_iterations (ts->config), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

void
lk_test_server_add_teacher (LkTestServer *ts,
                            const char   *username,
                            gint64        school_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = lk_password_hash (LK_TEST_PASSWORD, LK_DEFAULT_PASSWORD_ITERATIONS);
  gint64 id;

  id = lk_store_user_create (lk_server_get_store (ts->server), username, hash, "teacher",
                             school_id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
}

char *
lk_test_server_login (LkTestServer *ts,
                      const char   *username,
                      const char   *password)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *text = NULL;
  guint status;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  text = lk_json_to_string (body);

  status = lk_test_json (ts, "POST", "/api/v1/auth/login", NULL, text, &reply);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (reply);
  return g_strdup (json_object_get_string_member (json_node_get_object (reply), "token"));
}

char *
lk_test_server_register_kiosk (LkTestServer *ts,
                               const char   *sn,
                               gint64        school_id)
{
  g_autoptr(GError) error = NULL;
  char *secret = lk_random_hex (24);
  g_autofree char *hash = lk_sha256_hex (secret, strlen (secret));
  gint64 id;

  id = lk_store_kiosk_register (lk_server_get_store (ts->server), sn, school_id, hash, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return secret;
}

static gboolean
on_accept_certificate_cb (SoupMessage          *msg,
                          GTlsCertificate      *certificate,
                          GTlsCertificateFlags  errors,
                          gpointer              user_data)
{
  LkTestServer *ts = user_data;
  g_autoptr(GTlsCertificate) ours = NULL;

  /* A test server's certificate is self-signed: accept exactly that one. */
  ours = g_tls_certificate_new_from_file (lk_config_get_tls_cert (ts->config), NULL);
  return ours != NULL && g_tls_certificate_is_same (certificate, ours);
}

static guint
request_va (LkTestServer        *ts,
            const char          *method,
            const char          *path,
            const void          *body,
            gsize                body_len,
            GBytes             **reply_body,
            SoupMessageHeaders **reply_headers,
            va_list              args)
{
  g_autofree char *url = g_strconcat (ts->base_url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *name;
  const char *content_type = NULL;

  g_assert_nonnull (msg);
  if (lk_config_get_tls_cert (ts->config) != NULL)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_accept_certificate_cb), ts);
  while ((name = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);

      if (g_ascii_strcasecmp (name, "Content-Type") == 0)
        content_type = value;
      else if (value != NULL)
        soup_message_headers_replace (soup_message_get_request_headers (msg), name, value);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (body, body_len);

      soup_message_set_request_body_from_bytes (msg, content_type, request);
    }
  else if (content_type != NULL)
    soup_message_headers_set_content_type (soup_message_get_request_headers (msg), content_type, NULL);

  bytes = soup_session_send_and_read (ts->session, msg, NULL, &error);
  g_assert_no_error (error);
  if (reply_body != NULL)
    *reply_body = g_steal_pointer (&bytes);
  if (reply_headers != NULL)
    *reply_headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  return soup_message_get_status (msg);
}

guint
lk_test_request_full (LkTestServer        *ts,
                      const char          *method,
                      const char          *path,
                      const void          *body,
                      gsize                body_len,
                      GBytes             **reply_body,
                      SoupMessageHeaders **reply_headers,
                      ...)
{
  va_list args;
  guint status;

  va_start (args, reply_headers);
  status = request_va (ts, method, path, body, body_len, reply_body, reply_headers, args);
  va_end (args);
  return status;
}

guint
lk_test_request (LkTestServer  *ts,
                 const char    *method,
                 const char    *path,
                 const char    *token,
                 const char    *content_type,
                 const void    *body,
                 gsize          body_len,
                 JsonNode     **reply)
{
  g_autofree char *auth = token != NULL ? g_strconcat ("Bearer ", token, NULL) : NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint status;

  status = lk_test_request_full (ts, method, path, body, body_len, &bytes, NULL,
                                 "Content-Type", content_type,
                                 "Authorization", auth,
                                 NULL);
  if (reply != NULL)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);

      *reply = NULL;
      if (len > 0 && json_parser_load_from_data (parser, data, len, NULL))
        *reply = json_node_copy (json_parser_get_root (parser));
    }
  return status;
}

guint
lk_test_json (LkTestServer  *ts,
              const char    *method,
              const char    *path,
              const char    *token,
              const char    *json,
              JsonNode     **reply)
{
  return lk_test_request (ts, method, path, token, json != NULL ? "application/json" : NULL,
                          json, json != NULL ? strlen (json) : 0, reply);
}

void
lk_test_assert_error (JsonNode   *reply,
                      const char *code,
                      const char *field)
{
  JsonObject *object, *error;
  g_autoptr(GList) members = NULL;

  g_assert_nonnull (reply);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (reply));
  object = json_node_get_object (reply);
  g_assert_cmpuint (json_object_get_size (object), ==, 1);
  g_assert_true (json_object_has_member (object, "error"));
  error = json_object_get_object_member (object, "error");
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member_with_default (error, "code", NULL), ==, code);
  g_assert_nonnull (json_object_get_string_member_with_default (error, "message", NULL));
  if (field != NULL)
    g_assert_cmpstr (json_object_get_string_member_with_default (error, "field", NULL), ==, field);
  members = json_object_get_members (error);
  for (GList *l = members; l != NULL; l = l->next)
    g_assert_true (g_str_equal (l->data, "code") || g_str_equal (l->data, "message")
                   || g_str_equal (l->data, "field") || g_str_equal (l->data, "rows"));
}

gint64
lk_test_server_import (LkTestServer  *ts,
                       const char    *token,
                       const char    *(*rows)[6],
                       guint          n_rows)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) committed = NULL;
  g_autofree char *path = NULL;
  g_autofree char *body = NULL;
  const char *checksum;
  gint64 batch_id;
  guint status;

  for (guint i = 0; i < n_rows; i++)
    {
      LkImportRow *row = lk_import_row_new ();

      row->seq = i + 1;
      row->province = g_strdup (rows[i][0]);
      row->school = g_strdup (rows[i][1]);
      row->klass = g_strdup (rows[i][2]);
      row->name = g_strdup (rows[i][3]);
      row->student_no = g_strdup (rows[i][4]);
      row->card_no = g_strdup (rows[i][5]);
      g_ptr_array_add (list, row);
    }
  frame = lk_import_frame_build (list);
  status = lk_test_request (ts, "POST", "/api/v1/imports", token, LK_IMPORT_FRAME_CONTENT_TYPE,
                            g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), &reply);
  g_assert_cmpuint (status, ==, 201);
  batch_id = json_object_get_int_member (json_node_get_object (reply), "batch_id");
  checksum = json_object_get_string_member (json_node_get_object (reply), "checksum");
  path = g_strdup_printf ("/api/v1/imports/%" G_GINT64_FORMAT "/commit", batch_id);
  body = g_strdup_printf ("{\"checksum\": \"%s\"}", checksum);
  status = lk_test_json (ts, "POST", path, token, body, &committed);
  g_assert_cmpuint (status, ==, 200);
  return batch_id;
}

char *
lk_test_server_apply (LkTestServer  *ts,
                      const char    *province,
                      const char    *school,
                      const char    *klass,
                      const char    *name,
                      const char    *student_no,
                      char         **app_token)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *text = NULL;
  JsonObject *object;
  guint status;

  json_builder_begin_object (builder);
#define MEMBER(k, v) json_builder_set_member_name (builder, k); json_builder_add_string_value (builder, v)
  MEMBER ("province", province);
  MEMBER ("school", school);
  MEMBER ("class", klass);
  MEMBER ("name", name);
  MEMBER ("student_no", student_no);
  MEMBER ("phone", "13812345678");
#undef MEMBER
  json_builder_set_member_name (builder, "consent");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  text = lk_json_to_string (body);

  status = lk_test_json (ts, "POST", "/api/v1/applications", NULL, text, &reply);
  g_assert_cmpuint (status, ==, 201);
  object = json_node_get_object (reply);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "verified");
  if (app_token != NULL)
    *app_token = g_strdup (json_object_get_string_member (object, "token"));
  return g_strdup (json_object_get_string_member (object, "id"));
}

char *
lk_test_server_pay (LkTestServer *ts,
                    const char   *application_id,
                    const char   *app_token)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/applications/%s/payment", application_id);
  g_autofree char *app_path = g_strdup_printf ("/api/v1/applications/%s", application_id);
  g_autofree char *pay_path = NULL;
  g_autoptr(JsonNode) order = NULL;
  g_autoptr(JsonNode) paid = NULL;
  g_autoptr(JsonNode) app = NULL;
  JsonObject *object;
  guint status;

  status = lk_test_json (ts, "POST", path, app_token, "{\"channel\": \"sandbox\"}", &order);
  g_assert_cmpuint (status, ==, 201);
  pay_path = g_strdup_printf ("/api/v1/sandbox/pay/%s",
                              json_object_get_string_member (json_node_get_object (order), "order_no"));
  status = lk_test_json (ts, "POST", pay_path, NULL, NULL, &paid);
  g_assert_cmpuint (status, ==, 200);

  status = lk_test_json (ts, "GET", app_path, app_token, NULL, &app);
  g_assert_cmpuint (status, ==, 200);
  object = json_node_get_object (app);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "claimable");
  return g_strdup (json_object_get_string_member (object, "claim_code"));
}

static gboolean
on_tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
lk_test_wait_until (GMainContext  *context,
                    guint          timeout_ms,
                    gboolean     (*condition) (gpointer user_data),
                    gpointer       user_data)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr(GSource) tick = NULL;
  gboolean done;

  if (context == NULL)
    context = g_main_context_get_thread_default ();
  if (context == NULL)
    context = g_main_context_default ();

  /* A tick bounds each blocking iteration, so conditions changed by other threads (the
   * server's) are seen and the deadline holds. */
  tick = g_timeout_source_new (10);
  g_source_set_callback (tick, on_tick_cb, NULL, NULL);
  g_source_attach (tick, context);
  while (!(done = condition (user_data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (tick);
  return done;
}

gint64
lk_test_server_student_id (LkTestServer *ts,
                           const char   *token,
                           const char   *student_no)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/students?q=%s", student_no);
  g_autoptr(JsonNode) reply = NULL;
  JsonArray *students;

  g_assert_cmpuint (lk_test_json (ts, "GET", path, token, NULL, &reply), ==, 200);
  students = json_object_get_array_member (json_node_get_object (reply), "students");
  g_assert_cmpuint (json_array_get_length (students), ==, 1);
  return json_object_get_int_member (json_array_get_object_element (students, 0), "id");
}
