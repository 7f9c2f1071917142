/* test-flow.c: the six steps end to end over real HTTP and WebSockets
 *
 * import → verification (each of the five mismatching fields) → sandbox payment → the code
 * pushed to two kiosks (the digest checked against the shared library's) and the SMS queued →
 * a claim on one kiosk → the other gets already_issued → completion → the card bound, the
 * history row written, the teacher and the parent notified, the application issued.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-claims.h"
#include "test-kiosk-client.h"

#define WAIT_MS 10000
#define KLASS "三年级(2)班"

static const char *roster[][6] = {
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, KLASS, "张小明", "2023001", NULL },
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, KLASS, "李小红", "2023002", NULL },
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(3)班", "王大伟", "2023003", NULL },
};

static gboolean
staff_subscribed (gpointer user_data)
{
  LkTestServer *ts = user_data;

  return lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_STAFF) == 1;
}

static void
assert_mismatch (LkTestServer *ts,
                 const char   *province,
                 const char   *school,
                 const char   *klass,
                 const char   *name,
                 const char   *student_no,
                 const char   *field)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *text = NULL;

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

  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, text, &reply), ==, 422);
  lk_test_assert_error (reply, "verification_failed", field);
}

static void
test_six_steps (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autofree char *s1 = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *s2 = lk_test_server_register_kiosk (ts, "K-02", ts->school_id);
  g_autofree char *app_id = NULL;
  g_autofree char *app_token = NULL;
  g_autofree char *app_path = NULL;
  g_autofree char *events_header = NULL;
  g_autofree char *events_path = NULL;
  g_autofree char *code = NULL;
  g_autofree char *expected_digest = NULL;
  g_autofree char *request = NULL;
  g_autofree char *completed = NULL;
  g_autofree char *today = NULL;
  g_autofree char *where = NULL;
  g_autoptr(LkTestWs) k1 = NULL;
  g_autoptr(LkTestWs) k2 = NULL;
  g_autoptr(LkTestWs) teacher = NULL;
  g_autoptr(LkTestWs) parent = NULL;
  g_autoptr(LkTestWsMessage) snapshot = NULL;
  g_autoptr(LkTestWsMessage) added1 = NULL;
  g_autoptr(LkTestWsMessage) added2 = NULL;
  g_autoptr(LkTestWsMessage) authorized = NULL;
  g_autoptr(LkTestWsMessage) removed = NULL;
  g_autoptr(LkTestWsMessage) refused = NULL;
  g_autoptr(LkTestWsMessage) ack = NULL;
  g_autoptr(LkTestWsMessage) issued = NULL;
  g_autoptr(LkTestWsMessage) status = NULL;
  g_autoptr(JsonNode) app = NULL;
  LkDigestParams params;
  JsonObject *item, *card_data, *object;
  gint64 code_id, claim_id;

  /* Step 1: the roster. */
  lk_test_server_import (ts, ts->teacher_token, roster, G_N_ELEMENTS (roster));
  g_assert_cmpint (lk_store_debug_count (store, "students", NULL), ==, G_N_ELEMENTS (roster));

  /* Step 2: verification names the first mismatching field, in order. */
  assert_mismatch (ts, "江苏省", LK_TEST_SCHOOL, KLASS, "张小明", "2023001", "province");
  assert_mismatch (ts, LK_TEST_PROVINCE, "杭州市不存在小学", KLASS, "张小明", "2023001", "school");
  assert_mismatch (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "九年级(9)班", "张小明", "2023001", "class");
  assert_mismatch (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, KLASS, "张大明", "2023001", "name");
  assert_mismatch (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, KLASS, "张小明", "2023099", "student_no");
  g_assert_cmpint (lk_store_debug_count (store, "applications", NULL), ==, 0);

  app_id = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, KLASS, "张小明", "2023001",
                                 &app_token);

  /* Two kiosks of the school, the teacher's and the parent's event sockets, all before paying. */
  k1 = lk_test_kiosk_connect (ts, "K-01", s1);
  k2 = lk_test_kiosk_connect (ts, "K-02", s2);
  g_assert_nonnull (k1->connection);
  g_assert_nonnull (k2->connection);
  snapshot = lk_test_ws_wait (k1, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS);
  g_assert_nonnull (snapshot);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (snapshot->object, "codes")), ==, 0);
  lk_test_ws_expect (lk_test_ws_wait (k2, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  events_header = g_strdup_printf ("Bearer %s", ts->teacher_token);
  teacher = lk_test_ws_connect (ts, LK_ADMIN_EVENTS_PATH, events_header);
  g_assert_nonnull (teacher->connection);
  /* The client sees the 101 before the server's thread has subscribed it. */
  g_assert_true (lk_test_wait_until (NULL, WAIT_MS, staff_subscribed, ts));
  events_path = g_strdup_printf ("/api/v1/applications/%s/events", app_id);
  g_free (events_header);
  events_header = g_strdup_printf ("Bearer %s", app_token);
  parent = lk_test_ws_connect (ts, events_path, events_header);
  g_assert_nonnull (parent->connection);
  status = lk_test_ws_wait (parent, LK_EVENT_STATUS_CHANGED, NULL, WAIT_MS);
  g_assert_nonnull (status);
  g_assert_cmpstr (json_object_get_string_member (status->object, "status"), ==, LK_APP_VERIFIED);
  g_clear_pointer (&status, lk_test_ws_message_free);

  /* Step 3 and 4: pay; the code goes to both kiosks as a digest, and to the parent by SMS. */
  code = lk_test_server_pay (ts, app_id, app_token);
  g_assert_true (lk_claim_code_is_valid (code));
  added1 = lk_test_ws_wait (k1, LK_MSG_CODE_ADDED, NULL, WAIT_MS);
  added2 = lk_test_ws_wait (k2, LK_MSG_CODE_ADDED, NULL, WAIT_MS);
  g_assert_nonnull (added1);
  g_assert_nonnull (added2);
  g_assert_cmpstr (added1->text, ==, added2->text);
  g_assert_true (lk_store_school_digest (store, ts->school_id, &params, NULL));
  expected_digest = lk_claim_code_digest (&params, code);
  item = json_object_get_object_member (added1->object, "code");
  g_assert_cmpstr (json_object_get_string_member (item, "digest"), ==, expected_digest);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (item, "student"), "name"), ==,
                   "张*明");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (item, "student"), "class"), ==,
                   KLASS);
  code_id = json_object_get_int_member (item, "code_id");
  /* The code itself never reaches a kiosk. */
  g_assert_null (strstr (added1->text, code));
  where = g_strdup_printf ("template = 'claim_code' AND application_id = '%s'", app_id);
  g_assert_cmpint (lk_store_debug_count (store, "sms_outbox", where), ==, 1);
  g_clear_pointer (&where, g_free);

  /* Step 5: the student types the code at K-01. */
  request = lk_test_claim_request ("c-1", code);
  authorized = lk_test_ws_request (k1, request, "c-1", WAIT_MS);
  g_assert_nonnull (authorized);
  g_assert_cmpstr (json_object_get_string_member (authorized->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);
  claim_id = json_object_get_int_member (authorized->object, "claim_id");
  card_data = json_object_get_object_member (authorized->object, "card_data");
  today = lk_claims_issue_date (g_get_real_time () / G_USEC_PER_SEC);
  g_assert_cmpint (json_object_get_int_member (card_data, "school_id"), ==, ts->school_id);
  g_assert_cmpstr (json_object_get_string_member (card_data, "student_no"), ==, "2023001");
  g_assert_cmpstr (json_object_get_string_member (card_data, "name"), ==, "张小明");
  g_assert_cmpstr (json_object_get_string_member (card_data, "class"), ==, KLASS);
  g_assert_cmpstr (json_object_get_string_member (card_data, "issue_date"), ==, today);
  g_assert_cmpint (json_object_get_int_member (card_data, "issue_seq"), ==, claim_id);

  /* K-02 drops the code, and the same code typed there is already issued. */
  removed = lk_test_ws_wait (k2, LK_MSG_CODE_REMOVED, NULL, WAIT_MS);
  g_assert_nonnull (removed);
  g_assert_cmpint (json_object_get_int_member (removed->object, "code_id"), ==, code_id);
  g_clear_pointer (&removed, lk_test_ws_message_free);
  g_free (request);
  request = lk_test_claim_request ("c-2", code);
  refused = lk_test_ws_request (k2, request, "c-2", WAIT_MS);
  g_assert_nonnull (refused);
  g_assert_cmpstr (json_object_get_string_member (refused->object, "type"), ==, LK_MSG_CLAIM_REJECTED);
  g_assert_cmpstr (json_object_get_string_member (refused->object, "reason"), ==, LK_REJECT_ALREADY_ISSUED);

  /* Step 6: K-01 reports the card it wrote. */
  {
    g_autofree char *written = lk_json_to_string (json_object_get_member (authorized->object, "card_data"));

    completed = g_strdup_printf ("{\"type\": \"claim.completed\", \"id\": \"d-1\", \"claim_id\": %" G_GINT64_FORMAT
                                 ", \"card_no\": \"04A1B2C3\", \"card_data\": %s}", claim_id, written);
  }
  ack = lk_test_ws_request (k1, completed, "d-1", WAIT_MS);
  g_assert_nonnull (ack);
  g_assert_cmpstr (json_object_get_string_member (ack->object, "type"), ==, LK_MSG_ACK);

  /* The previous version backed up, then the card bound. */
  g_assert_cmpint (lk_store_debug_count (store, "student_history",
                                         "reason = 'card_bound' AND student_no = '2023001' "
                                         "AND card_no IS NULL AND version = 1"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "students",
                                         "student_no = '2023001' AND card_no = '04A1B2C3' AND version = 2"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "claims", "status = 'completed' AND card_no = '04A1B2C3'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", "status = 'used'"), ==, 1);
  where = g_strdup_printf ("template = 'card_issued' AND application_id = '%s'", app_id);
  g_assert_cmpint (lk_store_debug_count (store, "sms_outbox", where), ==, 1);

  /* The teacher hears of it (masked), and the parent. */
  issued = lk_test_ws_wait (teacher, LK_EVENT_CARD_ISSUED, NULL, WAIT_MS);
  g_assert_nonnull (issued);
  object = json_object_get_object_member (issued->object, "student");
  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, "张*明");
  g_assert_cmpstr (json_object_get_string_member (object, "class"), ==, KLASS);
  g_assert_cmpstr (json_object_get_string_member (issued->object, "kiosk_sn"), ==, "K-01");
  g_assert_null (strstr (issued->text, "张小明"));
  status = lk_test_ws_wait (parent, LK_EVENT_STATUS_CHANGED, NULL, WAIT_MS);
  g_assert_nonnull (status);
  /* (the parent may first hear the payment's own status changes) */
  while (status != NULL && g_strcmp0 (json_object_get_string_member (status->object, "status"), LK_APP_ISSUED) != 0)
    {
      g_clear_pointer (&status, lk_test_ws_message_free);
      status = lk_test_ws_wait (parent, LK_EVENT_STATUS_CHANGED, NULL, WAIT_MS);
    }
  g_assert_nonnull (status);
  g_assert_cmpstr (json_object_get_string_member (status->object, "card_no"), ==, "04A1B2C3");

  app_path = g_strdup_printf ("/api/v1/applications/%s", app_id);
  g_assert_cmpuint (lk_test_json (ts, "GET", app_path, app_token, NULL, &app), ==, 200);
  object = json_node_get_object (app);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, LK_APP_ISSUED);
  g_assert_cmpstr (json_object_get_string_member (object, "card_no"), ==, "04A1B2C3");
  g_assert_false (json_object_get_null_member (object, "issued_at"));

  g_clear_pointer (&k1, lk_test_ws_free);
  g_clear_pointer (&k2, lk_test_ws_free);
  g_clear_pointer (&teacher, lk_test_ws_free);
  g_clear_pointer (&parent, lk_test_ws_free);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/flow/six-steps", test_six_steps);

  return g_test_run ();
}
