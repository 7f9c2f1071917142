/* test-upload.c: the API client and the framed double handshake, against a server that
 * misbehaves on purpose (test-upload-mock.c)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lingka-common.h"
#include "lk-api-client.h"
#include "lk-import-upload.h"
#include "test-upload-mock.h"

#define DEADLINE_S 20

typedef struct
{
  MockServer  *mock;
  LkApiClient *client;
  GPtrArray   *rows;
} Fixture;

static GPtrArray *
make_rows (guint n)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);

  for (guint i = 1; i <= n; i++)
    {
      LkImportRow *row = lk_import_row_new ();

      row->seq = i;
      row->province = g_strdup ("浙江省");
      row->school = g_strdup ("杭州市文三街小学");
      row->klass = g_strdup_printf ("三年级(%u)班", 1 + i % 3);
      row->name = g_strdup_printf ("学生%u", i);
      row->student_no = g_strdup_printf ("2023%04u", i);
      row->card_no = i % 2 ? NULL : g_strdup_printf ("%08X", 0xA0000000u + i);
      g_ptr_array_add (rows, row);
    }

  return rows;
}

static void
on_ready_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Waits for an async call with a deadline; returns its result. */
static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);

  return *slot;
}

static void
login (Fixture *f)
{
  GAsyncResult *result = NULL;
  g_autoptr(GError) error = NULL;

  lk_api_client_login_async (f->client, MOCK_USER, MOCK_PASSWORD, NULL, on_ready_cb, &result);
  g_assert_true (lk_api_client_login_finish (f->client, wait_result (&result), &error));
  g_assert_no_error (error);
  g_object_unref (result);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->mock = mock_server_new ();
  f->client = lk_api_client_new (f->mock->base_url);
  f->rows = make_rows (GPOINTER_TO_UINT (data) ? GPOINTER_TO_UINT (data) : 20);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->client);
  g_clear_pointer (&f->rows, g_ptr_array_unref);
  g_clear_pointer (&f->mock, mock_server_free);
}

typedef struct
{
  GArray    *fractions;
  GPtrArray *stages;
} Progress;

static void
on_progress_cb (LkImportUpload *upload,
                double          fraction,
                const char     *stage,
                gpointer        user_data)
{
  Progress *progress = user_data;

  g_array_append_val (progress->fractions, fraction);
  g_ptr_array_add (progress->stages, g_strdup (stage));
}

static gboolean
run_upload (Fixture         *f,
            LkImportUpload  *upload,
            LkImportResult  *out,
            GError         **error)
{
  GAsyncResult *result = NULL;
  gboolean ok;

  lk_import_upload_run_async (upload, NULL, on_ready_cb, &result);
  ok = lk_import_upload_run_finish (upload, wait_result (&result), out, error);
  g_object_unref (result);

  return ok;
}

/* The mock holds exactly the rows that were sent. */
static void
assert_server_holds (Fixture *f)
{
  g_assert_cmpuint (g_hash_table_size (f->mock->students), ==, f->rows->len);
  for (guint i = 0; i < f->rows->len; i++)
    {
      LkImportRow *row = g_ptr_array_index (f->rows, i);
      LkImportRow *stored = g_hash_table_lookup (f->mock->students, row->student_no);

      g_assert_nonnull (stored);
      g_assert_true (lk_import_row_equal (row, stored));
    }
}

static void
on_notify_count_cb (GObject    *object,
                    GParamSpec *pspec,
                    gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
test_login (Fixture       *f,
            gconstpointer  data)
{
  GAsyncResult *result = NULL;
  g_autoptr(GError) error = NULL;
  guint notified = 0;

  g_signal_connect (f->client, "notify::token", G_CALLBACK (on_notify_count_cb), &notified);
  g_assert_false (lk_api_client_is_logged_in (f->client));

  /* wrong password: the server's own message and code */
  lk_api_client_login_async (f->client, MOCK_USER, "wrong", NULL, on_ready_cb, &result);
  g_assert_false (lk_api_client_login_finish (f->client, wait_result (&result), &error));
  g_clear_object (&result);
  g_assert_error (error, LK_API_ERROR, LK_API_ERROR_UNAUTHORIZED);
  g_assert_cmpstr (error->message, ==, "Wrong user name or password");
  g_assert_cmpstr (lk_api_error_get_code (error), ==, "invalid_credentials");
  g_assert_cmpuint (lk_api_error_get_status (error), ==, 401);
  g_assert_false (lk_api_client_is_logged_in (f->client));
  g_clear_error (&error);

  login (f);
  g_assert_true (lk_api_client_is_logged_in (f->client));
  g_assert_cmpstr (lk_api_client_get_token (f->client), ==, MOCK_TOKEN);
  g_assert_cmpstr (lk_api_client_get_role (f->client), ==, "teacher");
  g_assert_cmpstr (lk_api_client_get_username (f->client), ==, MOCK_USER);
  g_assert_false (lk_api_client_is_operator (f->client));
  g_assert_cmpint (lk_api_client_get_school_id (f->client), ==, 7);
  g_assert_cmpint (lk_api_client_get_expires_at (f->client), ==, 1893456000);
  g_assert_cmpuint (f->mock->logins, ==, 2);
  /* notified once, on the real change only */
  g_assert_cmpuint (notified, ==, 1);
}

static void
on_session_expired_cb (LkApiClient *client,
                       gpointer     user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
}

static void
test_request_errors (Fixture       *f,
                     gconstpointer  data)
{
  GAsyncResult *result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  gboolean expired = FALSE;
  guint status = 0;

  login (f);

  /* a 2xx JSON answer, with the Bearer token sent */
  lk_api_client_request_async (f->client, "GET", "/api/v1/students?q=%E5%BC%A0", NULL, NULL,
                               on_ready_cb, &result);
  node = lk_api_client_request_finish (f->client, wait_result (&result), &status, &error);
  g_clear_object (&result);
  g_assert_no_error (error);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  g_assert_cmpstr (f->mock->last_authorization, ==, "Bearer " MOCK_TOKEN);
  g_clear_pointer (&node, json_node_unref);

  /* 404: the error code and the server's message */
  lk_api_client_request_async (f->client, "GET", "/api/v1/nothing", NULL, NULL, on_ready_cb, &result);
  node = lk_api_client_request_finish (f->client, wait_result (&result), &status, &error);
  g_clear_object (&result);
  g_assert_null (node);
  g_assert_cmpuint (status, ==, 404);
  g_assert_error (error, LK_API_ERROR, LK_API_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "No such resource");
  g_clear_error (&error);

  /* 401 on a call: the session is dropped and the app is told */
  g_signal_connect (f->client, "session-expired", G_CALLBACK (on_session_expired_cb), &expired);
  f->mock->reject_all = TRUE;
  lk_api_client_request_async (f->client, "GET", "/api/v1/students", NULL, NULL, on_ready_cb, &result);
  node = lk_api_client_request_finish (f->client, wait_result (&result), &status, &error);
  g_clear_object (&result);
  g_assert_error (error, LK_API_ERROR, LK_API_ERROR_UNAUTHORIZED);
  g_assert_true (expired);
  g_assert_false (lk_api_client_is_logged_in (f->client));
  g_clear_error (&error);

  /* nobody listening: a transport error, not a crash */
  {
    g_autoptr(LkApiClient) dead = lk_api_client_new ("http://127.0.0.1:1");

    lk_api_client_request_async (dead, "GET", "/api/v1/stats", NULL, NULL, on_ready_cb, &result);
    node = lk_api_client_request_finish (dead, wait_result (&result), &status, &error);
    g_clear_object (&result);
    g_assert_null (node);
    g_assert_cmpuint (status, ==, 0);
    g_assert_error (error, LK_API_ERROR, LK_API_ERROR_TRANSPORT);
  }
}

static void
on_ws_message_cb (SoupWebsocketConnection *connection,
                  int                      type,
                  GBytes                  *message,
                  gpointer                 user_data)
{
  char **text = user_data;

  *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
}

static void
test_events (Fixture       *f,
             gconstpointer  data)
{
  GAsyncResult *result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autofree char *text = NULL;
  gint64 deadline;

  /* without a token: refused, no upgrade */
  lk_api_client_connect_events_async (f->client, NULL, on_ready_cb, &result);
  connection = lk_api_client_connect_events_finish (f->client, wait_result (&result), &error);
  g_clear_object (&result);
  g_assert_null (connection);
  g_assert_error (error, LK_API_ERROR, LK_API_ERROR_UNAUTHORIZED);
  g_clear_error (&error);

  login (f);
  lk_api_client_connect_events_async (f->client, NULL, on_ready_cb, &result);
  connection = lk_api_client_connect_events_finish (f->client, wait_result (&result), &error);
  g_clear_object (&result);
  g_assert_no_error (error);
  g_signal_connect (connection, "message", G_CALLBACK (on_ws_message_cb), &text);

  deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  while (text == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (text, ==, "{\"type\":\"card.issued\",\"at\":1}");
  soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

static void
test_upload_success (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GError) error = NULL;
  LkImportResult result = { 0 };
  Progress progress = { g_array_new (FALSE, FALSE, sizeof (double)),
                        g_ptr_array_new_with_free_func (g_free) };

  login (f);
  upload = lk_import_upload_new (f->client, f->rows);
  g_signal_connect (upload, "progress", G_CALLBACK (on_progress_cb), &progress);
  g_assert_true (run_upload (f, upload, &result, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (result.attempts, ==, 1);
  g_assert_cmpint (result.inserted, ==, f->rows->len);
  g_assert_cmpint (result.updated, ==, 0);
  g_assert_cmpint (result.unchanged, ==, 0);
  g_assert_cmpint (result.batch_id, ==, 1);
  g_assert_cmpuint (f->mock->frames, ==, 1);
  g_assert_cmpuint (f->mock->commits, ==, 1);
  assert_server_holds (f);

  /* the bar moves forward and ends on the success message (zh_CN first) */
  g_assert_cmpuint (progress.fractions->len, >=, 4);
  for (guint i = 1; i < progress.fractions->len; i++)
    g_assert_cmpfloat (g_array_index (progress.fractions, double, i), >=,
                       g_array_index (progress.fractions, double, i - 1));
  g_assert_cmpfloat (g_array_index (progress.fractions, double, progress.fractions->len - 1), ==, 1.0);
  g_assert_cmpstr (g_ptr_array_index (progress.stages, progress.stages->len - 1), ==, "上传成功");

  /* the same file again changes nothing */
  g_clear_object (&upload);
  upload = lk_import_upload_new (f->client, f->rows);
  g_assert_true (run_upload (f, upload, &result, &error));
  g_assert_cmpint (result.inserted, ==, 0);
  g_assert_cmpint (result.unchanged, ==, f->rows->len);
  g_assert_cmpint (result.batch_id, ==, 2);

  g_array_unref (progress.fractions);
  g_ptr_array_unref (progress.stages);
}

static void
test_upload_echo_mismatch_retry (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GError) error = NULL;
  LkImportResult result = { 0 };

  login (f);
  /* first a changed row (with the right checksum claimed), then a wrong checksum */
  f->mock->corrupt_echo = 1;
  f->mock->corrupt_checksum = 1;
  upload = lk_import_upload_new (f->client, f->rows);
  g_assert_true (run_upload (f, upload, &result, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (result.attempts, ==, 3);
  g_assert_cmpuint (f->mock->frames, ==, 3);
  g_assert_cmpuint (f->mock->commits, ==, 1);
  /* the batch that was committed is the third one; the mismatched ones stay unapplied */
  g_assert_cmpint (result.batch_id, ==, 3);
  assert_server_holds (f);
}

static void
test_upload_three_failures (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GError) error = NULL;
  LkImportResult result = { 0 };

  login (f);
  f->mock->corrupt_echo = 5;
  upload = lk_import_upload_new (f->client, f->rows);
  g_assert_false (run_upload (f, upload, &result, &error));
  g_assert_error (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "上传失败"));
  g_assert_cmpuint (lk_import_upload_get_attempt (upload), ==, 3);
  g_assert_cmpuint (f->mock->frames, ==, 3);
  g_assert_cmpuint (f->mock->commits, ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->mock->students), ==, 0);
}

static void
test_upload_transport_errors (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GError) error = NULL;
  LkImportResult result = { 0 };

  login (f);
  /* a dropped connection, then a 500: both retried */
  f->mock->drop_connection = 1;
  f->mock->fail_500 = 1;
  upload = lk_import_upload_new (f->client, f->rows);
  g_assert_true (run_upload (f, upload, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result.attempts, ==, 3);
  g_assert_cmpuint (f->mock->frames, ==, 3);
  assert_server_holds (f);

  /* a commit that fails is retried as a whole */
  g_hash_table_remove_all (f->mock->students);
  f->mock->fail_commit_500 = 1;
  g_clear_object (&upload);
  upload = lk_import_upload_new (f->client, f->rows);
  g_assert_true (run_upload (f, upload, &result, &error));
  g_assert_cmpuint (result.attempts, ==, 2);
  assert_server_holds (f);
}

static void
test_upload_invalid_rows (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GError) error = NULL;
  LkImportResult result = { 0 };
  LkImportRow *row;
  GPtrArray *errors;

  login (f);
  /* A row the server refuses: the student number has a space in it. */
  row = g_ptr_array_index (f->rows, 4);
  g_free (row->student_no);
  row->student_no = g_strdup ("2023 5");

  upload = lk_import_upload_new (f->client, f->rows);
  g_assert_false (run_upload (f, upload, &result, &error));
  g_assert_error (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_INVALID_ROWS);
  g_assert_true (g_str_has_prefix (error->message, "上传失败"));
  /* not retried: the rows are wrong */
  g_assert_cmpuint (f->mock->frames, ==, 1);
  g_assert_cmpuint (f->mock->commits, ==, 0);

  errors = lk_import_upload_get_row_errors (upload);
  g_assert_nonnull (errors);
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_cmpint (((LkRowError *) errors->pdata[0])->seq, ==, 5);
  g_assert_cmpstr (((LkRowError *) errors->pdata[0])->field, ==, "student_no");
}

static void
test_upload_unauthorized (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GError) error = NULL;

  /* not logged in: 401 is not retried */
  upload = lk_import_upload_new (f->client, f->rows);
  g_assert_false (run_upload (f, upload, NULL, &error));
  g_assert_error (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_REJECTED);
  g_assert_cmpuint (f->mock->frames, ==, 0);
  g_assert_cmpuint (lk_import_upload_get_attempt (upload), ==, 1);
}

static void
on_progress_cancel_cb (LkImportUpload *upload,
                       double          fraction,
                       const char     *stage,
                       gpointer        user_data)
{
  if (g_str_has_prefix (stage, "正在重新发送"))
    g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
test_upload_cancel (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;

  login (f);
  f->mock->corrupt_echo = 1;
  upload = lk_import_upload_new (f->client, f->rows);
  /* cancel while the first attempt's retry is pending */
  g_signal_connect (upload, "progress", G_CALLBACK (on_progress_cancel_cb), cancellable);
  lk_import_upload_run_async (upload, cancellable, on_ready_cb, &result);
  g_assert_false (lk_import_upload_run_finish (upload, wait_result (&result), NULL, &error));
  g_object_unref (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (f->mock->frames, ==, 1);
  g_assert_cmpuint (f->mock->commits, ==, 0);
}

static void
test_upload_empty (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GError) error = NULL;

  login (f);
  upload = lk_import_upload_new (f->client, none);
  g_assert_false (run_upload (f, upload, NULL, &error));
  g_assert_error (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_EMPTY);
  g_assert_cmpuint (f->mock->frames, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init (NULL);

#define ADD(path, func, n) \
  g_test_add ("/admin/" path, Fixture, GUINT_TO_POINTER (n), fixture_setup, func, fixture_teardown)

  ADD ("api/login", test_login, 0);
  ADD ("api/request-errors", test_request_errors, 0);
  ADD ("api/events", test_events, 0);
  ADD ("upload/success", test_upload_success, 0);
  ADD ("upload/large", test_upload_success, 5000);
  ADD ("upload/echo-mismatch-retry", test_upload_echo_mismatch_retry, 0);
  ADD ("upload/three-failures", test_upload_three_failures, 0);
  ADD ("upload/transport-errors", test_upload_transport_errors, 0);
  ADD ("upload/invalid-rows", test_upload_invalid_rows, 0);
  ADD ("upload/unauthorized", test_upload_unauthorized, 0);
  ADD ("upload/cancel", test_upload_cancel, 0);
  ADD ("upload/empty", test_upload_empty, 0);

  return g_test_run ();
}
