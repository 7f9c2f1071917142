/* test-resend.c: the same claim.request, claim.completed and claim.failed ids sent again after
 * a reconnect get the identical answers and change nothing in the database
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "test-kiosk-client.h"

#define WAIT_MS 10000

static gboolean
no_kiosk_connected (gpointer user_data)
{
  LkTestServer *ts = user_data;

  return lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_KIOSK) == 0;
}

/* Drops the connection (as a network blip would) and connects again. */
static LkTestWs *
reconnect (LkTestServer *ts,
           LkTestWs     *ws,
           const char   *sn,
           const char   *secret)
{
  LkTestWs *fresh;

  lk_test_ws_free (ws);
  g_assert_true (lk_test_wait_until (NULL, WAIT_MS, no_kiosk_connected, ts));
  fresh = lk_test_kiosk_connect (ts, sn, secret);
  g_assert_nonnull (fresh->connection);
  lk_test_ws_expect (lk_test_ws_wait (fresh, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  return fresh;
}

static char *
checksum (LkTestServer *ts)
{
  g_autoptr(GError) error = NULL;
  char *sum = lk_store_debug_checksum (lk_server_get_store (ts->server), &error);

  g_assert_no_error (error);
  return sum;
}

static void
test_resend_request_and_completed (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *code = lk_test_claimable (ts, "三年级(2)班", "张小明", "2023001", NULL, NULL);
  g_autofree char *request = lk_test_claim_request ("req-1", code);
  g_autofree char *completed = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(LkTestWsMessage) first = NULL;
  g_autoptr(LkTestWsMessage) second = NULL;
  g_autoptr(LkTestWsMessage) ack = NULL;
  g_autoptr(LkTestWsMessage) ack_again = NULL;
  g_autoptr(LkTestWsMessage) later = NULL;
  LkTestWs *ws;
  gint64 claim_id;

  ws = lk_test_kiosk_connect (ts, "K-01", secret);
  lk_test_ws_expect (lk_test_ws_wait (ws, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));

  first = lk_test_ws_request (ws, request, "req-1", WAIT_MS);
  g_assert_nonnull (first);
  g_assert_cmpstr (json_object_get_string_member (first->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);
  claim_id = json_object_get_int_member (first->object, "claim_id");

  /* The answer was lost in a blip: the kiosk reconnects and sends the same id again. */
  ws = reconnect (ts, ws, "K-01", secret);
  before = checksum (ts);
  second = lk_test_ws_request (ws, request, "req-1", WAIT_MS);
  g_assert_nonnull (second);
  g_assert_cmpstr (second->text, ==, first->text);
  after = checksum (ts);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (lk_store_debug_count (store, "claims", NULL), ==, 1);
  g_clear_pointer (&before, g_free);
  g_clear_pointer (&after, g_free);

  completed = g_strdup_printf ("{\"type\": \"claim.completed\", \"id\": \"done-1\", \"claim_id\": %"
                               G_GINT64_FORMAT ", \"card_no\": \"04A1B2C3\", \"card_data\": "
                               "{\"student_no\": \"2023001\"}}", claim_id);
  ack = lk_test_ws_request (ws, completed, "done-1", WAIT_MS);
  g_assert_nonnull (ack);
  g_assert_cmpstr (json_object_get_string_member (ack->object, "type"), ==, LK_MSG_ACK);
  g_assert_cmpint (lk_store_debug_count (store, "student_history", "reason = 'card_bound'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "students", "card_no = '04A1B2C3' AND version = 2"), ==, 1);

  /* The ack was lost too: the same completion again binds nothing twice. */
  ws = reconnect (ts, ws, "K-01", secret);
  before = checksum (ts);
  ack_again = lk_test_ws_request (ws, completed, "done-1", WAIT_MS);
  g_assert_nonnull (ack_again);
  g_assert_cmpstr (ack_again->text, ==, ack->text);
  after = checksum (ts);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (lk_store_debug_count (store, "student_history", NULL), >=, 1);
  g_assert_cmpint (lk_store_debug_count (store, "student_history", "reason = 'card_bound'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "sms_outbox", "template = 'card_issued'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "students", "version = 2"), ==, 1);

  /* A new id for the same code is a later try: already issued. */
  g_free (request);
  request = lk_test_claim_request ("req-2", code);
  later = lk_test_ws_request (ws, request, "req-2", WAIT_MS);
  g_assert_nonnull (later);
  g_assert_cmpstr (json_object_get_string_member (later->object, "reason"), ==, LK_REJECT_ALREADY_ISSUED);

  lk_test_ws_free (ws);
  lk_test_server_free (ts);
}

static void
test_resend_failed (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *code = lk_test_claimable (ts, "三年级(2)班", "李四", "2023002", NULL, NULL);
  g_autofree char *request = lk_test_claim_request ("req-1", code);
  g_autofree char *failed = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(LkTestWsMessage) authorized = NULL;
  g_autoptr(LkTestWsMessage) ack = NULL;
  g_autoptr(LkTestWsMessage) ack_again = NULL;
  g_autoptr(LkTestWsMessage) retry = NULL;
  LkTestWs *ws;

  ws = lk_test_kiosk_connect (ts, "K-01", secret);
  lk_test_ws_expect (lk_test_ws_wait (ws, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  authorized = lk_test_ws_request (ws, request, "req-1", WAIT_MS);
  g_assert_nonnull (authorized);
  g_assert_cmpstr (json_object_get_string_member (authorized->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);

  /* The card was read but not taken: the code opens again, the card number is recorded. */
  failed = g_strdup_printf ("{\"type\": \"claim.failed\", \"id\": \"fail-1\", \"claim_id\": %" G_GINT64_FORMAT
                            ", \"reason\": \"not_taken\", \"card_no\": \"0A0B0C0D\"}",
                            json_object_get_int_member (authorized->object, "claim_id"));
  ack = lk_test_ws_request (ws, failed, "fail-1", WAIT_MS);
  g_assert_nonnull (ack);
  g_assert_cmpstr (json_object_get_string_member (ack->object, "type"), ==, LK_MSG_ACK);
  g_assert_cmpint (lk_store_debug_count (store, "claims",
                                         "status = 'failed' AND fail_reason = 'not_taken' AND card_no = '0A0B0C0D'"),
                   ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", "status = 'open'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "students", "card_no IS NULL"), ==, 1);

  ws = reconnect (ts, ws, "K-01", secret);
  before = checksum (ts);
  ack_again = lk_test_ws_request (ws, failed, "fail-1", WAIT_MS);
  g_assert_nonnull (ack_again);
  g_assert_cmpstr (ack_again->text, ==, ack->text);
  after = checksum (ts);
  g_assert_cmpstr (before, ==, after);

  /* The student can try again, under a new id. */
  g_free (request);
  request = lk_test_claim_request ("req-2", code);
  retry = lk_test_ws_request (ws, request, "req-2", WAIT_MS);
  g_assert_nonnull (retry);
  g_assert_cmpstr (json_object_get_string_member (retry->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);
  g_assert_cmpint (json_object_get_int_member (retry->object, "claim_id"), !=,
                   json_object_get_int_member (authorized->object, "claim_id"));

  lk_test_ws_free (ws);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/resend/request-and-completed", test_resend_request_and_completed);
  g_test_add_func ("/server/resend/failed", test_resend_failed);

  return g_test_run ();
}
