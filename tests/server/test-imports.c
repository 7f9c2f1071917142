/* test-imports.c: step 1 over HTTP: frame → echo → commit, history, per-row errors, scope,
 * and the directory built from the roster
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-test-server.h"

static GBytes *
frame_for_payload (const char *payload,
                   guint       n_rows)
{
  g_autofree char *sum = lk_sha256_hex (payload, strlen (payload));
  char *text = g_strdup_printf ("LKIMPORT/1 %u\n%s\nLKEND %s\n", n_rows, payload, sum);

  return g_bytes_new_take (text, strlen (text));
}

static guint
post_frame (LkTestServer  *ts,
            const char    *token,
            GBytes        *frame,
            JsonNode     **reply)
{
  return lk_test_request (ts, "POST", "/api/v1/imports", token, LK_IMPORT_FRAME_CONTENT_TYPE,
                          g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), reply);
}

static guint
commit (LkTestServer  *ts,
        const char    *token,
        gint64         batch_id,
        const char    *checksum,
        JsonNode     **reply)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/imports/%" G_GINT64_FORMAT "/commit", batch_id);
  g_autofree char *body = g_strdup_printf ("{\"checksum\": \"%s\"}", checksum);

  return lk_test_json (ts, "POST", path, token, body, reply);
}

static GPtrArray *
make_rows (const char *(*rows)[6],
           guint        n)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);

  for (guint i = 0; i < n; i++)
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
  return list;
}

static const char *roster[][6] = {
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", NULL },
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华", "2023002", "A1B2C3D4" },
  { "江苏省", "南京市琅琊路小学", "一年级(1)班", "欧阳小明", "N0001", NULL },
};

static void
test_echo_and_commit (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autoptr(GPtrArray) rows = make_rows (roster, G_N_ELEMENTS (roster));
  g_autoptr(GBytes) frame = lk_import_frame_build (rows);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) provinces_before = NULL;
  g_autoptr(JsonNode) committed = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(JsonNode) provinces = NULL;
  g_autoptr(GPtrArray) echo = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected_checksum = lk_import_rows_checksum (rows);
  JsonObject *object;
  gint64 batch_id;

  g_assert_cmpuint (post_frame (ts, ts->operator_token, frame, &reply), ==, 201);
  object = json_node_get_object (reply);
  batch_id = json_object_get_int_member (object, "batch_id");
  g_assert_cmpint (batch_id, >, 0);
  g_assert_cmpstr (json_object_get_string_member (object, "checksum"), ==, expected_checksum);
  echo = lk_import_rows_from_json (json_object_get_member (object, "rows"), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (echo->len, ==, rows->len);
  for (guint i = 0; i < rows->len; i++)
    g_assert_true (lk_import_row_equal (g_ptr_array_index (echo, i), g_ptr_array_index (rows, i)));

  /* Stored as a backup, not applied. */
  g_assert_cmpint (lk_store_debug_count (store, "students", NULL), ==, 0);
  g_assert_cmpint (lk_store_debug_count (store, "import_batches", "status = 'pending'"), ==, 1);
  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/directory/provinces", NULL, NULL, &provinces_before), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (provinces_before)), ==, 0);

  g_assert_cmpuint (commit (ts, ts->operator_token, batch_id, expected_checksum, &committed), ==, 200);
  object = json_node_get_object (committed);
  g_assert_cmpint (json_object_get_int_member (object, "inserted"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (object, "updated"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (object, "unchanged"), ==, 0);
  g_assert_cmpint (lk_store_debug_count (store, "students", NULL), ==, 3);
  g_assert_cmpint (lk_store_debug_count (store, "audit_log", "action = 'import.commit'"), ==, 1);

  /* The operator's rows created the second province and school. */
  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/directory/provinces", NULL, NULL, &provinces), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (provinces)), ==, 2);

  g_assert_cmpuint (commit (ts, ts->operator_token, batch_id, expected_checksum, &again), ==, 409);
  lk_test_assert_error (again, "batch_not_pending", NULL);
  g_assert_cmpint (lk_store_debug_count (store, "students", NULL), ==, 3);

  lk_test_server_free (ts);
}

static void
test_history (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  const char *second[][6] = {
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(3)班", "张小明", "2023001", NULL },  /* moved class */
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华", "2023002", "A1B2C3D4" }, /* same */
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "王芳", "2023003", NULL },    /* new */
  };
  g_autoptr(GPtrArray) rows = make_rows (second, G_N_ELEMENTS (second));
  g_autoptr(GBytes) frame = lk_import_frame_build (rows);
  g_autofree char *checksum = lk_import_rows_checksum (rows);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) committed = NULL;
  g_autoptr(JsonNode) history = NULL;
  g_autoptr(JsonNode) student = NULL;
  g_autofree char *history_path = NULL;
  g_autofree char *student_path = NULL;
  JsonObject *object, *entry;
  JsonArray *items;
  gint64 batch_id, id;

  lk_test_server_import (ts, ts->operator_token, roster, 2);
  g_assert_cmpuint (post_frame (ts, ts->teacher_token, frame, &reply), ==, 201);
  batch_id = json_object_get_int_member (json_node_get_object (reply), "batch_id");
  g_assert_cmpuint (commit (ts, ts->teacher_token, batch_id, checksum, &committed), ==, 200);
  object = json_node_get_object (committed);
  g_assert_cmpint (json_object_get_int_member (object, "inserted"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (object, "updated"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (object, "unchanged"), ==, 1);

  id = lk_test_server_student_id (ts, ts->operator_token, "2023001");
  history_path = g_strdup_printf ("/api/v1/students/%" G_GINT64_FORMAT "/history", id);
  g_assert_cmpuint (lk_test_json (ts, "GET", history_path, ts->teacher_token, NULL, &history), ==, 200);
  items = json_object_get_array_member (json_node_get_object (history), "history");
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  entry = json_array_get_object_element (items, 0);
  g_assert_cmpstr (json_object_get_string_member (entry, "reason"), ==, "import");
  g_assert_cmpstr (json_object_get_string_member (entry, "class"), ==, "三年级(2)班");
  g_assert_cmpint (json_object_get_int_member (entry, "version"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (entry, "batch_id"), ==, batch_id);

  student_path = g_strdup_printf ("/api/v1/students/%" G_GINT64_FORMAT, id);
  g_assert_cmpuint (lk_test_json (ts, "GET", student_path, ts->teacher_token, NULL, &student), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (student), "class"), ==, "三年级(3)班");

  /* Only the changed student has history. */
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "student_history", NULL), ==, 1);
  lk_test_server_free (ts);
}

static void
test_invalid_rows (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  const char *bad[][6] = {
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", NULL },
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "", "2023002", NULL },
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华", "2023001", NULL },
  };
  g_autoptr(GPtrArray) rows = make_rows (bad, G_N_ELEMENTS (bad));
  g_autoptr(GBytes) frame = lk_import_frame_build (rows);
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *before = lk_store_debug_checksum (lk_server_get_store (ts->server), NULL);
  g_autofree char *after = NULL;
  JsonArray *errors;
  gboolean saw_name = FALSE;

  g_assert_cmpuint (post_frame (ts, ts->operator_token, frame, &reply), ==, 422);
  lk_test_assert_error (reply, "invalid_rows", NULL);
  errors = json_object_get_array_member (json_object_get_object_member (json_node_get_object (reply), "error"), "rows");
  g_assert_cmpuint (json_array_get_length (errors), >=, 2);
  for (guint i = 0; i < json_array_get_length (errors); i++)
    {
      JsonObject *e = json_array_get_object_element (errors, i);

      g_assert_true (json_object_has_member (e, "seq"));
      g_assert_nonnull (json_object_get_string_member (e, "message"));
      if (json_object_get_int_member (e, "seq") == 2)
        {
          g_assert_cmpstr (json_object_get_string_member (e, "field"), ==, "name");
          saw_name = TRUE;
        }
    }
  g_assert_true (saw_name);
  after = lk_store_debug_checksum (lk_server_get_store (ts->server), NULL);
  g_assert_cmpstr (before, ==, after);
  lk_test_server_free (ts);
}

static void
test_normalized_echo (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  /* Full-width spaces, ASCII spaces and full-width digits around the values. */
  const char *payload = "[{\"seq\":1,\"province\":\"\xe3\x80\x80浙江省 \",\"school\":\" 杭州市文三小学\","
                        "\"class\":\"三年级(2)班\xe3\x80\x80\",\"name\":\"张小明\",\"student_no\":\"\xef\xbc\x92\xef\xbc\x90\x32\x33\x30\x30\x31\","
                        "\"card_no\":\"\"}]";
  g_autoptr(GBytes) frame = frame_for_payload (payload, 1);
  g_autoptr(JsonNode) reply = NULL;
  JsonObject *row;

  g_assert_cmpuint (post_frame (ts, ts->teacher_token, frame, &reply), ==, 201);
  row = json_array_get_object_element (json_object_get_array_member (json_node_get_object (reply), "rows"), 0);
  g_assert_cmpstr (json_object_get_string_member (row, "province"), ==, "浙江省");
  g_assert_cmpstr (json_object_get_string_member (row, "school"), ==, "杭州市文三小学");
  g_assert_cmpstr (json_object_get_string_member (row, "class"), ==, "三年级(2)班");
  g_assert_cmpstr (json_object_get_string_member (row, "student_no"), ==, "2023001");
  g_assert_true (json_object_get_null_member (row, "card_no"));
  lk_test_server_free (ts);
}

static void
test_teacher_scope (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autoptr(GPtrArray) rows = make_rows (roster, G_N_ELEMENTS (roster));
  g_autoptr(GBytes) frame = lk_import_frame_build (rows);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) upload = NULL;
  g_autoptr(JsonNode) other_user = NULL;
  g_autoptr(JsonNode) wrong_sum = NULL;
  g_autoptr(GPtrArray) own = make_rows (roster, 2);
  g_autoptr(GBytes) own_frame = lk_import_frame_build (own);
  g_autofree char *before = lk_store_debug_checksum (lk_server_get_store (ts->server), NULL);
  g_autofree char *after = NULL;
  JsonArray *denied;
  gint64 batch_id;

  /* The third row is another school. */
  g_assert_cmpuint (post_frame (ts, ts->teacher_token, frame, &reply), ==, 403);
  lk_test_assert_error (reply, "forbidden", "province");
  denied = json_object_get_array_member (json_object_get_object_member (json_node_get_object (reply), "error"), "rows");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (denied, 0), "seq"), ==, 3);
  after = lk_store_debug_checksum (lk_server_get_store (ts->server), NULL);
  g_assert_cmpstr (before, ==, after);

  g_assert_cmpuint (post_frame (ts, ts->teacher_token, own_frame, &upload), ==, 201);
  batch_id = json_object_get_int_member (json_node_get_object (upload), "batch_id");
  /* Someone else's batch, and a wrong checksum. */
  g_assert_cmpuint (commit (ts, ts->operator_token, batch_id,
                            json_object_get_string_member (json_node_get_object (upload), "checksum"),
                            &other_user), ==, 403);
  lk_test_assert_error (other_user, "forbidden", NULL);
  g_assert_cmpuint (commit (ts, ts->teacher_token, batch_id,
                            "0000000000000000000000000000000000000000000000000000000000000000",
                            &wrong_sum), ==, 422);
  lk_test_assert_error (wrong_sum, "checksum_mismatch", "checksum");
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "students", NULL), ==, 0);
  lk_test_server_free (ts);
}

static void
test_directory (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) not_modified = NULL;
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autoptr(JsonNode) schools = NULL;
  g_autoptr(JsonNode) classes = NULL;
  g_autoptr(JsonNode) missing = NULL;
  g_autofree char *classes_path = NULL;
  g_autofree char *schools_path = NULL;
  g_autofree char *escaped = NULL;
  const char *etag;
  JsonObject *school;

  lk_test_server_import (ts, ts->operator_token, roster, G_N_ELEMENTS (roster));
  /* A school with no students is not listed. */
  lk_test_server_add_school (ts, LK_TEST_PROVINCE, "空学校");

  g_assert_cmpuint (lk_test_request_full (ts, "GET", "/api/v1/directory/provinces", NULL, 0, &body, &headers, NULL), ==, 200);
  etag = soup_message_headers_get_one (headers, "ETag");
  g_assert_nonnull (etag);
  g_assert_cmpuint (lk_test_request_full (ts, "GET", "/api/v1/directory/provinces", NULL, 0, &not_modified, NULL,
                                          "If-None-Match", etag, NULL), ==, 304);

  escaped = g_uri_escape_string (LK_TEST_PROVINCE, NULL, FALSE);
  schools_path = g_strdup_printf ("/api/v1/directory/schools?province=%s", escaped);
  g_assert_cmpuint (lk_test_json (ts, "GET", schools_path, NULL, NULL, &schools), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (schools)), ==, 1);
  school = json_array_get_object_element (json_node_get_array (schools), 0);
  g_assert_cmpstr (json_object_get_string_member (school, "name"), ==, LK_TEST_SCHOOL);
  g_assert_cmpint (json_object_get_int_member (school, "id"), ==, ts->school_id);

  classes_path = g_strdup_printf ("/api/v1/directory/classes?school=%" G_GINT64_FORMAT, ts->school_id);
  g_assert_cmpuint (lk_test_json (ts, "GET", classes_path, NULL, NULL, &classes), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (classes)), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_node_get_array (classes), 0), ==, "三年级(2)班");

  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/directory/classes?school=abc", NULL, NULL, &missing), ==, 422);
  lk_test_assert_error (missing, "invalid_field", "school");
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init ("en");

  g_test_add_func ("/server/imports/echo-and-commit", test_echo_and_commit);
  g_test_add_func ("/server/imports/history", test_history);
  g_test_add_func ("/server/imports/invalid-rows", test_invalid_rows);
  g_test_add_func ("/server/imports/normalized-echo", test_normalized_echo);
  g_test_add_func ("/server/imports/teacher-scope", test_teacher_scope);
  g_test_add_func ("/server/directory/etag-and-scope", test_directory);
  return g_test_run ();
}
