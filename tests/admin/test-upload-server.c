/* test-upload-server.c: the roster, read from a file, uploaded with the framed double
 * handshake to the real lingka-server in-process; the server then holds exactly the rows
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lingka-common.h"
#include "lk-api-client.h"
#include "lk-import-upload.h"
#include "lk-roster-reader.h"
#include "test-upload-server-harness.h"
#include "test-roster-util.h"

#define DEADLINE_S 60

static void
on_ready_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);

  return *slot;
}

static LkApiClient *
client_for (Harness    *ts,
            const char *user)
{
  LkApiClient *client = lk_api_client_new (harness_base_url (ts));
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;

  lk_api_client_login_async (client, user, harness_password (), NULL, on_ready_cb, &result);
  g_assert_true (lk_api_client_login_finish (client, wait_result (&result), &error));
  g_assert_no_error (error);
  g_object_unref (result);

  return client;
}

static JsonNode *
request (LkApiClient *client,
         const char  *method,
         const char  *path,
         JsonNode    *body)
{
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  JsonNode *node;

  lk_api_client_request_async (client, method, path, body, NULL, on_ready_cb, &result);
  node = lk_api_client_request_finish (client, wait_result (&result), NULL, &error);
  g_object_unref (result);
  g_assert_no_error (error);

  return node;
}

static gboolean
upload (LkApiClient     *client,
        GPtrArray       *rows,
        LkImportResult  *out,
        GError         **error)
{
  g_autoptr(LkImportUpload) upload = lk_import_upload_new (client, rows);
  GAsyncResult *result = NULL;
  gboolean ok;

  lk_import_upload_run_async (upload, NULL, on_ready_cb, &result);
  ok = lk_import_upload_run_finish (upload, wait_result (&result), out, error);
  g_object_unref (result);

  return ok;
}

/* Every student of a school, all pages, as JsonObject. */
static GPtrArray *
all_students (LkApiClient *client,
              gint64       school_id)
{
  GPtrArray *students = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (guint page = 1; ; page++)
    {
      g_autofree char *path = g_strdup_printf ("/api/v1/students?school=%" G_GINT64_FORMAT "&page=%u",
                                               school_id, page);
      g_autoptr(JsonNode) node = request (client, "GET", path, NULL);
      JsonObject *object = json_node_get_object (node);
      JsonArray *array = json_object_get_array_member (object, "students");
      gint64 total = json_object_get_int_member (object, "total");

      for (guint i = 0; i < json_array_get_length (array); i++)
        g_ptr_array_add (students, json_object_ref (json_array_get_object_element (array, i)));
      if (json_array_get_length (array) == 0 || students->len >= total)
        break;
    }

  return students;
}

/* The server holds exactly @rows for the school: same count, same fields. */
static void
assert_server_holds (LkApiClient *client,
                     gint64       school_id,
                     GPtrArray   *rows)
{
  g_autoptr(GPtrArray) students = all_students (client, school_id);
  g_autoptr(GHashTable) by_no = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (students->len, ==, rows->len);
  for (guint i = 0; i < students->len; i++)
    {
      JsonObject *s = g_ptr_array_index (students, i);

      g_hash_table_insert (by_no, (gpointer) json_object_get_string_member (s, "student_no"), s);
    }
  for (guint i = 0; i < rows->len; i++)
    {
      LkImportRow *row = g_ptr_array_index (rows, i);
      JsonObject *s = g_hash_table_lookup (by_no, row->student_no);
      const char *card_no;

      g_assert_nonnull (s);
      g_assert_cmpstr (json_object_get_string_member (s, "name"), ==, row->name);
      g_assert_cmpstr (json_object_get_string_member (s, "class"), ==, row->klass);
      card_no = json_object_get_null_member (s, "card_no") ? NULL
                : json_object_get_string_member (s, "card_no");
      g_assert_cmpstr (card_no, ==, row->card_no);
    }
}

static GPtrArray *
teacher_rows (guint n)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);

  for (guint i = 1; i <= n; i++)
    {
      LkImportRow *row = lk_import_row_new ();

      row->seq = i;
      row->province = g_strdup (harness_province ());
      row->school = g_strdup (harness_school ());
      row->klass = g_strdup_printf ("四年级(%u)班", 1 + i % 2);
      row->name = g_strdup_printf ("测试学生%u", i);
      row->student_no = g_strdup_printf ("00%06u", i);
      row->card_no = i % 3 ? NULL : g_strdup_printf ("%08X", 0xB0000000u + i);
      g_ptr_array_add (rows, row);
    }

  return rows;
}

static void
test_teacher_import (void)
{
  Harness *ts = harness_new ();
  g_autoptr(LkApiClient) client = client_for (ts, "teacher");
  g_autoptr(GPtrArray) rows = teacher_rows (30);
  g_autoptr(GPtrArray) students = NULL;
  g_autoptr(GPtrArray) conflicts = NULL;
  g_autoptr(GError) error = NULL;
  LkImportResult result = { 0 };
  LkImportRow *row;

  g_assert_cmpstr (lk_api_client_get_role (client), ==, "teacher");
  g_assert_cmpint (lk_api_client_get_school_id (client), ==, harness_school_id (ts));

  g_assert_true (upload (client, rows, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.inserted, ==, 30);
  g_assert_cmpint (result.updated, ==, 0);
  g_assert_cmpuint (result.attempts, ==, 1);
  assert_server_holds (client, harness_school_id (ts), rows);

  /* Two students change class: the preview names them before anything is sent. */
  row = g_ptr_array_index (rows, 4);
  g_free (row->klass);
  row->klass = g_strdup ("五年级(1)班");
  row = g_ptr_array_index (rows, 9);
  g_free (row->name);
  row->name = g_strdup ("改名学生");
  students = all_students (client, harness_school_id (ts));
  conflicts = lk_roster_find_conflicts (rows, students);
  g_assert_cmpuint (conflicts->len, ==, 2);
  g_assert_cmpint (((LkRowError *) conflicts->pdata[0])->seq, ==, 5);
  g_assert_cmpstr (((LkRowError *) conflicts->pdata[0])->field, ==, "class");
  g_assert_cmpint (((LkRowError *) conflicts->pdata[1])->seq, ==, 10);
  g_assert_cmpstr (((LkRowError *) conflicts->pdata[1])->field, ==, "name");

  /* Uploading them anyway updates exactly those two. */
  g_assert_true (upload (client, rows, &result, &error));
  g_assert_cmpint (result.inserted, ==, 0);
  g_assert_cmpint (result.updated, ==, 2);
  g_assert_cmpint (result.unchanged, ==, 28);
  assert_server_holds (client, harness_school_id (ts), rows);

  g_clear_object (&client);
  harness_free (ts);
}

static void
test_invalid_rows_from_server (void)
{
  Harness *ts = harness_new ();
  g_autoptr(LkApiClient) client = client_for (ts, "teacher");
  g_autoptr(GPtrArray) rows = teacher_rows (3);
  g_autoptr(LkImportUpload) up = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  LkImportRow *row;
  GPtrArray *errors;

  /* A duplicate student number slips past (the app validates, but a script might not). */
  row = g_ptr_array_index (rows, 2);
  g_free (row->student_no);
  row->student_no = g_strdup (((LkImportRow *) rows->pdata[0])->student_no);

  up = lk_import_upload_new (client, rows);
  lk_import_upload_run_async (up, NULL, on_ready_cb, &result);
  g_assert_false (lk_import_upload_run_finish (up, wait_result (&result), NULL, &error));
  g_object_unref (result);
  g_assert_error (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_INVALID_ROWS);
  g_assert_cmpuint (lk_import_upload_get_attempt (up), ==, 1);
  errors = lk_import_upload_get_row_errors (up);
  g_assert_nonnull (errors);
  g_assert_cmpuint (errors->len, >=, 1);
  g_assert_cmpint (((LkRowError *) errors->pdata[0])->seq, ==, 3);
  g_assert_cmpstr (((LkRowError *) errors->pdata[0])->field, ==, "student_no");

  /* nothing was stored */
  {
    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);

    assert_server_holds (client, harness_school_id (ts), none);
  }

  g_clear_object (&client);
  harness_free (ts);
}

static gint64
school_id_by_name (LkApiClient *client,
                   const char  *province,
                   const char  *school)
{
  g_autofree char *escaped = g_uri_escape_string (province, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/api/v1/directory/schools?province=%s", escaped);
  g_autoptr(JsonNode) node = request (client, "GET", path, NULL);
  JsonArray *array = json_node_get_array (node);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (object, "name"), school) == 0)
        return json_object_get_int_member (object, "id");
    }
  g_assert_not_reached ();
}

/* From the file an office sent to the server: an operator imports opx-1000.xlsx. */
static void
test_operator_import_file (void)
{
  g_autofree char *path = lk_test_fixture ("opx-1000.xlsx");
  g_autoptr(GFile) file = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LkApiClient) client = NULL;
  LkImportResult result = { 0 };
  Harness *ts;

  if (path == NULL)
    return;
  file = g_file_new_for_path (path);
  rows = lk_roster_read_file (file, NULL, NULL, NULL, &errors, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (errors->len, ==, 0);
  g_assert_cmpuint (rows->len, ==, 1000);

  ts = harness_new ();
  client = client_for (ts, "operator");
  g_assert_true (lk_api_client_is_operator (client));
  g_assert_true (upload (client, rows, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.inserted, ==, 1000);
  assert_server_holds (client, school_id_by_name (client, "浙江省", "杭州市天长小学"), rows);

  g_clear_object (&client);
  harness_free (ts);
}

static void
test_events_real_server (void)
{
  Harness *ts = harness_new ();
  g_autoptr(LkApiClient) client = client_for (ts, "teacher");
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;

  lk_api_client_connect_events_async (client, NULL, on_ready_cb, &result);
  connection = lk_api_client_connect_events_finish (client, wait_result (&result), &error);
  g_clear_object (&result);
  g_assert_no_error (error);
  g_assert_cmpint (soup_websocket_connection_get_state (connection), ==, SOUP_WEBSOCKET_STATE_OPEN);
  soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);

  g_clear_object (&connection);
  g_clear_object (&client);
  harness_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  lk_i18n_init (NULL);

  g_test_add_func ("/admin/upload-server/teacher-import", test_teacher_import);
  g_test_add_func ("/admin/upload-server/invalid-rows", test_invalid_rows_from_server);
  g_test_add_func ("/admin/upload-server/operator-import-file", test_operator_import_file);
  g_test_add_func ("/admin/upload-server/events", test_events_real_server);

  ret = g_test_run ();
  lk_test_fixtures_cleanup ();

  return ret;
}
