/* test-cancel.c: cancelling an application, and the revoked code at the kiosk
 *
 * A paid application cannot be cancelled by the parent; another school's teacher gets 403; the
 * school's teacher cancels it: both kiosks drop the code, the parent's page hears "cancelled",
 * the refund due is answered and audited, and the code typed at a kiosk is rejected "revoked".
 * The student may then apply again; the parent cancels an unpaid application alone, its order
 * is closed, and a payment that still arrives for it is kept on record without reviving it. A
 * code a kiosk is issuing right now cannot be cancelled under it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "test-kiosk-client.h"

#define WAIT_MS 10000
#define KLASS "三年级(2)班"

static char *
cancel_path (gint64 student_id)
{
  return g_strdup_printf ("/api/v1/students/%" G_GINT64_FORMAT "/application/cancel", student_id);
}

static void
test_cancel (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autofree char *s1 = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *s2 = lk_test_server_register_kiosk (ts, "K-02", ts->school_id);
  g_autofree char *app_id = NULL;
  g_autofree char *app_token = NULL;
  g_autofree char *app_path = NULL;
  g_autofree char *events_path = NULL;
  g_autofree char *events_header = NULL;
  g_autofree char *code = NULL;
  g_autofree char *request = NULL;
  g_autofree char *other_token = NULL;
  g_autofree char *path = NULL;
  g_autofree char *where = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(LkTestWs) k1 = NULL;
  g_autoptr(LkTestWs) k2 = NULL;
  g_autoptr(LkTestWs) parent = NULL;
  g_autoptr(LkTestWsMessage) added = NULL;
  g_autoptr(LkTestWsMessage) removed1 = NULL;
  g_autoptr(LkTestWsMessage) removed2 = NULL;
  g_autoptr(LkTestWsMessage) status = NULL;
  g_autoptr(LkTestWsMessage) refused = NULL;
  g_autoptr(JsonNode) reply = NULL;
  gint64 other_school, student_id, code_id, fee;

  k1 = lk_test_kiosk_connect (ts, "K-01", s1);
  k2 = lk_test_kiosk_connect (ts, "K-02", s2);
  lk_test_ws_expect (lk_test_ws_wait (k1, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  lk_test_ws_expect (lk_test_ws_wait (k2, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));

  code = lk_test_claimable (ts, KLASS, "张小明", "2023001", &app_id, &app_token);
  added = lk_test_ws_wait (k1, LK_MSG_CODE_ADDED, NULL, WAIT_MS);
  g_assert_nonnull (added);
  code_id = json_object_get_int_member (json_object_get_object_member (added->object, "code"), "code_id");
  lk_test_ws_expect (lk_test_ws_wait (k2, LK_MSG_CODE_ADDED, NULL, WAIT_MS));
  student_id = lk_test_server_student_id (ts, ts->teacher_token, "2023001");

  events_path = g_strdup_printf ("/api/v1/applications/%s/events", app_id);
  events_header = g_strdup_printf ("Bearer %s", app_token);
  parent = lk_test_ws_connect (ts, events_path, events_header);
  g_assert_nonnull (parent->connection);
  lk_test_ws_expect (lk_test_ws_wait (parent, LK_EVENT_STATUS_CHANGED, NULL, WAIT_MS));

  /* The parent cannot cancel what is paid (the teacher can); nothing changes. */
  other_school = lk_test_server_add_school (ts, LK_TEST_PROVINCE, "杭州市学军小学");
  lk_test_server_add_teacher (ts, "other-teacher", other_school);
  other_token = lk_test_server_login (ts, "other-teacher", LK_TEST_PASSWORD);
  before = lk_store_debug_checksum (store, NULL);
  path = g_strdup_printf ("/api/v1/applications/%s/cancel", app_id);
  g_assert_cmpuint (lk_test_json (ts, "POST", path, app_token, NULL, &reply), ==, 409);
  lk_test_assert_error (reply, "not_cancellable", NULL);
  g_clear_pointer (&reply, json_node_unref);
  /* Without the token, nothing is said about it. */
  g_assert_cmpuint (lk_test_json (ts, "POST", path, NULL, NULL, &reply), ==, 401);
  g_clear_pointer (&reply, json_node_unref);
  g_clear_pointer (&path, g_free);

  /* Another school's teacher may not. */
  path = cancel_path (student_id);
  g_assert_cmpuint (lk_test_json (ts, "POST", path, other_token, NULL, &reply), ==, 403);
  lk_test_assert_error (reply, "forbidden", NULL);
  g_clear_pointer (&reply, json_node_unref);
  after = lk_store_debug_checksum (store, NULL);
  g_assert_cmpstr (before, ==, after);

  /* The school's teacher cancels it: the refund due is the fee paid. */
  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/payment/channels", NULL, NULL, &reply), ==, 200);
  fee = json_object_get_int_member (json_node_get_object (reply), "fee_fen");
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpuint (lk_test_json (ts, "POST", path, ts->teacher_token, NULL, &reply), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"), ==, LK_APP_CANCELLED);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "id"), ==, app_id);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (reply), "refund_due_fen"), ==, fee);
  g_clear_pointer (&reply, json_node_unref);

  removed1 = lk_test_ws_wait (k1, LK_MSG_CODE_REMOVED, NULL, WAIT_MS);
  removed2 = lk_test_ws_wait (k2, LK_MSG_CODE_REMOVED, NULL, WAIT_MS);
  g_assert_nonnull (removed1);
  g_assert_nonnull (removed2);
  g_assert_cmpint (json_object_get_int_member (removed1->object, "code_id"), ==, code_id);
  g_assert_cmpint (json_object_get_int_member (removed2->object, "code_id"), ==, code_id);
  status = lk_test_ws_wait (parent, LK_EVENT_STATUS_CHANGED, NULL, WAIT_MS);
  g_assert_nonnull (status);
  g_assert_cmpstr (json_object_get_string_member (status->object, "status"), ==, LK_APP_CANCELLED);

  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", "status = 'revoked'"), ==, 1);
  where = g_strdup_printf ("id = '%s' AND status = 'cancelled'", app_id);
  g_assert_cmpint (lk_store_debug_count (store, "applications", where), ==, 1);
  g_clear_pointer (&where, g_free);
  where = g_strdup_printf ("action = 'applications.cancel' AND target = 'application:%s'", app_id);
  g_assert_cmpint (lk_store_debug_count (store, "audit_log", where), ==, 1);
  g_clear_pointer (&where, g_free);

  /* The code typed at a kiosk (one that missed the push) is refused as revoked. */
  request = lk_test_claim_request ("r-1", code);
  refused = lk_test_ws_request (k1, request, "r-1", WAIT_MS);
  g_assert_nonnull (refused);
  g_assert_cmpstr (json_object_get_string_member (refused->object, "type"), ==, LK_MSG_CLAIM_REJECTED);
  g_assert_cmpstr (json_object_get_string_member (refused->object, "reason"), ==, LK_REJECT_REVOKED);
  g_assert_cmpint (lk_store_debug_count (store, "claims", NULL), ==, 0);

  /* Nothing is left to cancel. */
  g_assert_cmpuint (lk_test_json (ts, "POST", path, ts->teacher_token, NULL, &reply), ==, 404);
  lk_test_assert_error (reply, "no_open_application", NULL);
  g_clear_pointer (&reply, json_node_unref);
  g_clear_pointer (&path, g_free);

  /* The student may apply again; the parent cancels the unpaid application alone, and its
   * order is closed. */
  g_clear_pointer (&app_id, g_free);
  g_clear_pointer (&app_token, g_free);
  app_id = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, KLASS, "张小明", "2023001", &app_token);
  path = g_strdup_printf ("/api/v1/applications/%s/payment", app_id);
  g_assert_cmpuint (lk_test_json (ts, "POST", path, app_token, "{\"channel\": \"sandbox\"}", &reply), ==, 201);
  {
    g_autofree char *order_no = g_strdup (json_object_get_string_member (json_node_get_object (reply), "order_no"));

    g_clear_pointer (&reply, json_node_unref);
    g_clear_pointer (&path, g_free);
    path = g_strdup_printf ("/api/v1/applications/%s/cancel", app_id);
    g_assert_cmpuint (lk_test_json (ts, "POST", path, app_token, NULL, &reply), ==, 200);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (reply), "refund_due_fen"), ==, 0);
    g_clear_pointer (&reply, json_node_unref);
    where = g_strdup_printf ("order_no = '%s' AND status = 'closed'", order_no);
    g_assert_cmpint (lk_store_debug_count (store, "payments", where), ==, 1);
    g_clear_pointer (&where, g_free);

    /* The payer paid anyway: the money is on record, the application stays cancelled and no
     * code is made. */
    g_clear_pointer (&path, g_free);
    path = g_strdup_printf ("/api/v1/sandbox/pay/%s", order_no);
    g_assert_cmpuint (lk_test_json (ts, "POST", path, NULL, NULL, &reply), ==, 200);
    g_clear_pointer (&reply, json_node_unref);
    where = g_strdup_printf ("order_no = '%s' AND status = 'paid'", order_no);
    g_assert_cmpint (lk_store_debug_count (store, "payments", where), ==, 1);
    g_clear_pointer (&where, g_free);
  }
  app_path = g_strdup_printf ("/api/v1/applications/%s", app_id);
  g_assert_cmpuint (lk_test_json (ts, "GET", app_path, app_token, NULL, &reply), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"), ==, LK_APP_CANCELLED);
  g_assert_true (json_object_get_null_member (json_node_get_object (reply), "claim_code"));
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", NULL), ==, 1);
  g_clear_pointer (&path, g_free);

  /* A claim a kiosk holds cannot be cancelled under it. */
  {
    g_autofree char *code3 = lk_test_claimable (ts, KLASS, "李小红", "2023002", NULL, NULL);
    g_autoptr(LkTestWsMessage) authorized = NULL;
    g_autofree char *request3 = lk_test_claim_request ("r-3", code3);

    authorized = lk_test_ws_request (k2, request3, "r-3", WAIT_MS);
    g_assert_nonnull (authorized);
    g_assert_cmpstr (json_object_get_string_member (authorized->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);
    path = cancel_path (lk_test_server_student_id (ts, ts->teacher_token, "2023002"));
    g_assert_cmpuint (lk_test_json (ts, "POST", path, ts->operator_token, NULL, &reply), ==, 409);
    lk_test_assert_error (reply, "claim_in_progress", NULL);
    g_clear_pointer (&reply, json_node_unref);
    g_assert_cmpint (lk_store_debug_count (store, "claim_codes", "status = 'reserved'"), ==, 1);
  }

  g_clear_pointer (&k1, lk_test_ws_free);
  g_clear_pointer (&k2, lk_test_ws_free);
  g_clear_pointer (&parent, lk_test_ws_free);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/cancel/revoked", test_cancel);

  return g_test_run ();
}
