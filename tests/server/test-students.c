/* test-students.c: staff search, create and edit students (with history), the audit log,
 * teacher scope, and the statistics
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-test-server.h"

static const char *roster[][6] = {
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", NULL },
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(3)班", "李华", "2023002", NULL },
  { LK_TEST_PROVINCE, "杭州市学军小学", "一年级(1)班", "王芳", "X0001", NULL },
};

static JsonObject *
search (LkTestServer *ts,
        const char   *token,
        const char   *query,
        JsonNode    **holder)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/students%s", query);

  g_assert_cmpuint (lk_test_json (ts, "GET", path, token, NULL, holder), ==, 200);
  return json_node_get_object (*holder);
}

static void
test_search (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autoptr(JsonNode) all = NULL;
  g_autoptr(JsonNode) own = NULL;
  g_autoptr(JsonNode) by_name = NULL;
  g_autoptr(JsonNode) by_class = NULL;
  g_autoptr(JsonNode) by_class_text = NULL;
  g_autoptr(JsonNode) by_status = NULL;
  g_autoptr(JsonNode) far_page = NULL;
  g_autofree char *q = NULL;
  g_autofree char *klass = NULL;
  JsonObject *object, *student;

  lk_test_server_import (ts, ts->operator_token, roster, G_N_ELEMENTS (roster));

  object = search (ts, ts->operator_token, "", &all);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (object, "page"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (object, "per_page"), ==, 50);

  object = search (ts, ts->teacher_token, "", &own);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 2);
  student = json_array_get_object_element (json_object_get_array_member (object, "students"), 0);
  g_assert_cmpint (json_object_get_int_member (student, "school_id"), ==, ts->school_id);
  g_assert_cmpstr (json_object_get_string_member (student, "name"), ==, "张小明");
  g_assert_cmpstr (json_object_get_string_member (student, "status"), ==, "not_applied");
  g_assert_true (json_object_get_null_member (student, "card_no"));
  g_assert_cmpint (json_object_get_int_member (student, "updated_at"), >, 0);

  q = g_strdup_printf ("?q=%s", "%E5%B0%8F%E6%98%8E");  /* 小明 */
  object = search (ts, ts->teacher_token, q, &by_name);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 1);

  klass = g_strdup_printf ("?class=%s", "%E4%B8%89%E5%B9%B4%E7%BA%A7(3)%E7%8F%AD");  /* 三年级(3)班 */
  object = search (ts, ts->teacher_token, klass, &by_class);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 1);

  /* what a teacher types in the search box also finds a class by part of its name */
  object = search (ts, ts->teacher_token, "?q=%E5%B9%B4%E7%BA%A7(3)", &by_class_text);  /* 年级(3) */
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 1);

  object = search (ts, ts->teacher_token, "?status=applied", &by_status);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 0);

  object = search (ts, ts->operator_token, "?page=9", &far_page);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "students")), ==, 0);

  /* Every staff read is in the audit log, without the search text. */
  g_assert_cmpint (lk_store_debug_count (store, "audit_log", "action = 'students.search'"), ==, 7);
  g_assert_cmpint (lk_store_debug_count (store, "audit_log", "detail LIKE '%小明%'"), ==, 0);
  lk_test_server_free (ts);
}

static void
test_create_and_edit (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autoptr(JsonNode) created = NULL;
  g_autoptr(JsonNode) duplicate = NULL;
  g_autoptr(JsonNode) edited = NULL;
  g_autoptr(JsonNode) unchanged = NULL;
  g_autoptr(JsonNode) carded = NULL;
  g_autoptr(JsonNode) cleared = NULL;
  g_autoptr(JsonNode) history = NULL;
  g_autofree char *path = NULL;
  g_autofree char *history_path = NULL;
  JsonArray *items;
  JsonObject *entry;
  gint64 id;

  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/students", ts->teacher_token,
                                  "{\"class\": \"三年级(2)班\", \"name\": \" 张小明 \", \"student_no\": \"2023001\"}",
                                  &created), ==, 201);
  id = json_object_get_int_member (json_node_get_object (created), "id");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (created), "name"), ==, "张小明");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (created), "school_id"), ==, ts->school_id);

  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/students", ts->teacher_token,
                                  "{\"class\": \"三年级(2)班\", \"name\": \"别人\", \"student_no\": \"2023001\"}",
                                  &duplicate), ==, 409);
  lk_test_assert_error (duplicate, "student_exists", "student_no");

  path = g_strdup_printf ("/api/v1/students/%" G_GINT64_FORMAT, id);
  g_assert_cmpuint (lk_test_json (ts, "PATCH", path, ts->teacher_token, "{\"name\": \"张晓明\"}", &edited), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (edited), "name"), ==, "张晓明");
  /* Nothing changes: no history row. */
  g_assert_cmpuint (lk_test_json (ts, "PATCH", path, ts->teacher_token, "{\"name\": \"张晓明\"}", &unchanged), ==, 200);
  /* Card numbers are kept in upper case. */
  g_assert_cmpuint (lk_test_json (ts, "PATCH", path, ts->operator_token, "{\"card_no\": \"a1b2c3d4\"}", &carded), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (carded), "card_no"), ==, "A1B2C3D4");
  g_clear_pointer (&carded, json_node_unref);
  g_assert_cmpuint (lk_test_json (ts, "PATCH", path, ts->operator_token, "{\"card_no\": \"A1B2C3D4\"}", &carded), ==, 200);
  g_assert_cmpuint (lk_test_json (ts, "PATCH", path, ts->operator_token, "{\"card_no\": null}", &cleared), ==, 200);
  g_assert_true (json_object_get_null_member (json_node_get_object (cleared), "card_no"));

  history_path = g_strdup_printf ("/api/v1/students/%" G_GINT64_FORMAT "/history", id);
  g_assert_cmpuint (lk_test_json (ts, "GET", history_path, ts->teacher_token, NULL, &history), ==, 200);
  items = json_object_get_array_member (json_node_get_object (history), "history");
  g_assert_cmpuint (json_array_get_length (items), ==, 3);
  /* Newest first: before the card was cleared, before it was set, before the rename. */
  entry = json_array_get_object_element (items, 0);
  g_assert_cmpint (json_object_get_int_member (entry, "version"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (entry, "card_no"), ==, "A1B2C3D4");
  entry = json_array_get_object_element (items, 2);
  g_assert_cmpint (json_object_get_int_member (entry, "version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (entry, "name"), ==, "张小明");
  g_assert_cmpstr (json_object_get_string_member (entry, "reason"), ==, "edit");
  g_assert_false (json_object_get_null_member (entry, "changed_by"));

  g_assert_cmpint (lk_store_debug_count (store, "audit_log", "action = 'students.create'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "audit_log", "action = 'students.update'"), ==, 3);
  g_assert_cmpint (lk_store_debug_count (store, "audit_log", "action = 'students.history'"), ==, 1);
  lk_test_server_free (ts);
}

static void
test_stats (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autoptr(JsonNode) operator_stats = NULL;
  g_autoptr(JsonNode) teacher_stats = NULL;
  g_autofree char *token = NULL;
  g_autofree char *id = NULL;
  g_autofree char *code = NULL;
  JsonArray *by_school, *by_class, *by_day;
  JsonObject *school;

  lk_test_server_import (ts, ts->operator_token, roster, G_N_ELEMENTS (roster));
  id = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", &token);
  code = lk_test_server_pay (ts, id, token);
  {
    g_autofree char *other_token = NULL;
    g_autofree char *other = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(3)班", "李华",
                                                   "2023002", &other_token);
  }

  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/stats", ts->operator_token, NULL, &operator_stats), ==, 200);
  by_school = json_object_get_array_member (json_node_get_object (operator_stats), "by_school");
  g_assert_cmpuint (json_array_get_length (by_school), ==, 2);
  school = json_array_get_object_element (by_school, 0);
  g_assert_cmpint (json_object_get_int_member (school, "school_id"), ==, ts->school_id);
  g_assert_cmpint (json_object_get_int_member (school, "students"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (school, "applications"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (school, "paid"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (school, "issued"), ==, 0);
  by_day = json_object_get_array_member (json_node_get_object (operator_stats), "by_day");
  g_assert_cmpuint (json_array_get_length (by_day), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (by_day, 0), "applications"), ==, 2);

  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/stats", ts->teacher_token, NULL, &teacher_stats), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (teacher_stats),
                                                                          "by_school")), ==, 1);
  by_class = json_object_get_array_member (json_node_get_object (teacher_stats), "by_class");
  g_assert_cmpuint (json_array_get_length (by_class), ==, 2);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init ("en");

  g_test_add_func ("/server/students/search", test_search);
  g_test_add_func ("/server/students/create-and-edit", test_create_and_edit);
  g_test_add_func ("/server/students/stats", test_stats);
  return g_test_run ();
}
