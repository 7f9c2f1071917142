/* test-kiosk-link.c: the kiosk's WebSocket link against an in-process server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-kiosk-error.h"
#include "lk-kiosk-link.h"
#include "lk-kiosk-test-util.h"
#include "lk-test-kiosk-server.h"

#define SN "K-TEST-01"
#define SECRET "s3cret-for-tests"

typedef struct
{
  LkTestKioskServer *server;
  LkKioskConfig     *config;
  LkKioskStore      *store;
  LkKioskLink       *link;
  guint              n_codes_changed;
  guint              n_acks;
} Fixture;

static void
on_codes_changed_cb (LkKioskLink *link,
                     Fixture     *f)
{
  f->n_codes_changed++;
}

static void
on_report_acknowledged_cb (LkKioskLink *link,
                           const char  *report_id,
                           Fixture     *f)
{
  f->n_acks++;
}

static void
make_link (Fixture    *f,
           const char *secret)
{
  LkKioskLinkTiming timing = {
    .backoff_min_ms = 20,
    .backoff_max_ms = 200,
    .heartbeat_interval_ms = 100,
    .heartbeat_deadline_ms = 400,
    .status_interval_ms = 60000,
  };

  f->config = lk_kiosk_config_new ();
  lk_kiosk_config_set_server_url (f->config, lk_test_kiosk_server_get_url (f->server));
  lk_kiosk_config_set_credentials (f->config, SN, secret);
  f->link = lk_kiosk_link_new (f->config, f->store);
  lk_kiosk_link_set_timing (f->link, &timing);
  g_signal_connect (f->link, "codes-changed", G_CALLBACK (on_codes_changed_cb), f);
  g_signal_connect (f->link, "report-acknowledged", G_CALLBACK (on_report_acknowledged_cb), f);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->server = lk_test_kiosk_server_new (SN, SECRET, LK_DIGEST_PBKDF2_SHA256);
  f->store = lk_kiosk_store_open (":memory:", &error);
  g_assert_no_error (error);
  make_link (f, data != NULL ? data : SECRET);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  lk_kiosk_link_stop (f->link);
  g_clear_object (&f->link);
  g_clear_object (&f->store);
  g_clear_object (&f->config);
  g_clear_pointer (&f->server, lk_test_kiosk_server_free);
  /* Let the closed connections' sources run down. */
  while (g_main_context_iteration (NULL, FALSE));
}

static LkKioskCode *
lookup (Fixture    *f,
        const char *code)
{
  g_autoptr(GError) error = NULL;
  LkKioskCode *found = lk_kiosk_store_lookup_code (f->store, code, &error);

  g_assert_no_error (error);
  return found;
}

static void
test_snapshot (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *a = lk_test_make_code ("1234567");
  g_autofree char *b = lk_test_make_code ("2345678");
  g_autoptr(LkKioskCode) found = NULL;

  lk_test_kiosk_server_add_code (f->server, a, "张小明", "三年级(2)班", "2023001");
  lk_kiosk_link_start (f->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));
  g_assert_cmpuint (lk_kiosk_store_count_codes (f->store), ==, 1);
  found = lookup (f, a);
  g_assert_nonnull (found);
  /* The kiosk only ever holds the masked name. */
  g_assert_cmpstr (found->name, ==, "张*明");
  g_assert_cmpstr (found->klass, ==, "三年级(2)班");

  /* Pushed while connected. */
  lk_test_kiosk_server_add_code (f->server, b, "李四", "一年级(1)班", "2023002");
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_count_codes (f->store) == 2, 5000));
  g_clear_pointer (&found, lk_kiosk_code_free);
  found = lookup (f, b);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->name, ==, "李*");

  lk_test_kiosk_server_remove_code (f->server, 1);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_count_codes (f->store) == 1, 5000));
  g_clear_pointer (&found, lk_kiosk_code_free);
  found = lookup (f, a);
  g_assert_null (found);
  g_assert_cmpuint (f->n_codes_changed, >=, 3);
}

static void
test_wrong_secret (Fixture       *f,
                   gconstpointer  data)
{
  lk_kiosk_link_start (f->link);
  /* It keeps trying, with backoff, and never gets in. */
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_auth_failures (f->server) >= 2, 5000));
  g_assert_false (lk_kiosk_link_get_connected (f->link));
  g_assert_cmpuint (lk_test_kiosk_server_get_n_connections (f->server), ==, 0);
  g_assert_cmpuint (lk_kiosk_link_get_n_connects (f->link), ==, 0);
}

static void
test_reconnect_resync (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *a = lk_test_make_code ("1111111");
  g_autofree char *b = lk_test_make_code ("2222222");
  g_autoptr(LkKioskCode) found = NULL;
  guint first;

  first = lk_test_kiosk_server_add_code (f->server, a, "王五", "二年级(3)班", "2023003");
  lk_kiosk_link_start (f->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));

  /* The network goes; the server refuses for a while; meanwhile the codes change. */
  lk_test_kiosk_server_set_refusing (f->server, TRUE);
  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (!lk_kiosk_link_get_connected (f->link), 5000));
  lk_test_kiosk_server_remove_code (f->server, first);
  lk_test_kiosk_server_add_code (f->server, b, "赵六", "二年级(3)班", "2023004");
  /* Still the old table while offline. */
  found = lookup (f, a);
  g_assert_nonnull (found);
  g_clear_pointer (&found, lk_kiosk_code_free);

  lk_test_kiosk_server_set_refusing (f->server, FALSE);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));
  g_assert_cmpuint (lk_kiosk_link_get_n_connects (f->link), ==, 2);
  /* The snapshot on reconnect replaced the table. */
  g_assert_null (lookup (f, a));
  found = lookup (f, b);
  g_assert_nonnull (found);
  g_assert_cmpuint (lk_kiosk_store_count_codes (f->store), ==, 1);
}

static char *
journal_claim (Fixture    *f,
               const char *claim_id,
               gboolean    completed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) id = json_from_string (claim_id, &error);
  g_autofree char *id_text = lk_kiosk_json_id_to_string (id);
  char *report_id;

  g_assert_true (lk_kiosk_store_journal_authorize (f->store, id, "1",
                                                   "{\"school_id\":7,\"student_no\":\"2023001\","
                                                   "\"name\":\"张小明\",\"class\":\"三年级(2)班\","
                                                   "\"issue_date\":\"2026-11-26\",\"issue_seq\":1}",
                                                   &error));
  g_assert_true (lk_kiosk_store_journal_advance (f->store, id_text, LK_JOURNAL_CARD_READ,
                                                 "DEADBEEF", &error));
  report_id = lk_kiosk_store_journal_finish (f->store, id_text, completed, LK_FAIL_WRITE_FAILED,
                                             NULL, NULL, &error);
  g_assert_no_error (error);
  return report_id;
}

static void
on_claim_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_resend_until_ack (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkJournalEntry) entry = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autofree char *code = lk_test_make_code ("5555555");
  g_autofree char *report_id = NULL;
  g_autofree char *claim_id = NULL;

  lk_test_kiosk_server_add_code (f->server, code, "张小明", "三年级(2)班", "2023001");
  lk_test_kiosk_server_set_drop_acks (f->server, TRUE);
  lk_kiosk_link_start (f->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));

  /* A real claim, so that the server settles it. */
  lk_kiosk_link_claim_async (f->link, code, 5000, NULL, on_claim_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 5000));
  answer = lk_kiosk_link_claim_finish (f->link, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (answer, "type"), ==, "claim.authorized");
  claim_id = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (answer, "claim_id"));

  report_id = journal_claim (f, claim_id, TRUE);
  lk_kiosk_link_flush_reports (f->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_report_messages (f->server) == 1, 5000));
  /* Flushing again on the same connection does not repeat it. */
  lk_kiosk_link_flush_reports (f->link);

  /* No ack came: after the reconnect it is sent again, with the same id. */
  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_report_messages (f->server) == 2, 5000));
  g_assert_cmpuint (lk_test_kiosk_server_get_n_reports (f->server), ==, 1);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_completed (f->server), ==, 1);
  g_assert_cmpstr (lk_test_kiosk_server_get_card_no (f->server, 1), ==, "DEADBEEF");
  entry = lk_kiosk_store_journal_get (f->store, claim_id, &error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_COMPLETED);
  g_clear_pointer (&entry, lk_journal_entry_free);

  /* Acks flow again: the next connect's resend is acknowledged, and that is the end of it. */
  lk_test_kiosk_server_set_drop_acks (f->server, FALSE);
  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (f->n_acks == 1, 5000));
  entry = lk_kiosk_store_journal_get (f->store, claim_id, &error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_ACKNOWLEDGED);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_report_messages (f->server), ==, 3);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_completed (f->server), ==, 1);

  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_n_connects (f->link) == 4 &&
                                     lk_kiosk_link_get_connected (f->link), 5000));
  /* Connected again, and the acknowledged report was not sent again. */
  g_assert_cmpuint (lk_test_kiosk_server_get_n_report_messages (f->server), ==, 3);
}

static void
test_claims (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *code = lk_test_make_code ("7777777");
  g_autofree char *unknown = lk_test_make_code ("8888888");
  GAsyncResult *result = NULL;
  JsonObject *answer;

  /* Offline: refused at once. */
  lk_kiosk_link_claim_async (f->link, code, 5000, NULL, on_claim_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 5000));
  answer = lk_kiosk_link_claim_finish (f->link, result, &error);
  g_assert_null (answer);
  g_assert_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_OFFLINE);
  g_clear_error (&error);
  g_clear_object (&result);

  lk_test_kiosk_server_add_code (f->server, code, "张小明", "三年级(2)班", "2023001");
  lk_kiosk_link_start (f->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));

  lk_kiosk_link_claim_async (f->link, code, 5000, NULL, on_claim_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 5000));
  answer = lk_kiosk_link_claim_finish (f->link, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (answer, "type"), ==, "claim.authorized");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (answer, "card_data"),
                                                  "student_no"), ==, "2023001");
  json_object_unref (answer);
  g_clear_object (&result);

  /* The same code again: already issued (reserved for the first claim). */
  lk_kiosk_link_claim_async (f->link, code, 5000, NULL, on_claim_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 5000));
  answer = lk_kiosk_link_claim_finish (f->link, result, &error);
  g_assert_cmpstr (json_object_get_string_member (answer, "type"), ==, "claim.rejected");
  g_assert_cmpstr (json_object_get_string_member (answer, "reason"), ==, "already_issued");
  json_object_unref (answer);
  g_clear_object (&result);

  lk_kiosk_link_claim_async (f->link, unknown, 5000, NULL, on_claim_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 5000));
  answer = lk_kiosk_link_claim_finish (f->link, result, &error);
  g_assert_cmpstr (json_object_get_string_member (answer, "reason"), ==, "invalid");
  json_object_unref (answer);
  g_clear_object (&result);
}

static void
test_claim_timeout_orphan (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *code = lk_test_make_code ("3333333");
  g_autoptr(GAsyncResult) result = NULL;
  JsonObject *answer;

  lk_test_kiosk_server_add_code (f->server, code, "张小明", "三年级(2)班", "2023001");
  lk_kiosk_link_start (f->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));

  lk_test_kiosk_server_set_hold_claims (f->server, TRUE);
  lk_kiosk_link_claim_async (f->link, code, 150, NULL, on_claim_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 5000));
  answer = lk_kiosk_link_claim_finish (f->link, result, &error);
  g_assert_null (answer);
  g_assert_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_TIMEOUT);

  /* The server answers on the next connect: the late authorization is cancelled through the
   * journal, so the code is usable again and nobody holds a reserved claim. */
  lk_test_kiosk_server_set_hold_claims (f->server, FALSE);
  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_failed (f->server) == 1, 5000));
  g_assert_cmpstr (lk_test_kiosk_server_get_fail_reason (f->server, 1), ==, "cancelled");
  g_assert_true (LK_TEST_WAIT_UNTIL (f->n_acks == 1, 5000));
  g_assert_cmpuint (lk_kiosk_store_journal_count (f->store, LK_JOURNAL_ACKNOWLEDGED), ==, 1);
}

static void
test_heartbeat (Fixture       *f,
                gconstpointer  data)
{
  lk_kiosk_link_start (f->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));

  /* A peer that stops answering is noticed by the deadline, not by TCP. */
  lk_test_kiosk_server_set_silent (f->server, TRUE);
  g_assert_true (LK_TEST_WAIT_UNTIL (!lk_kiosk_link_get_connected (f->link), 5000));
  lk_test_kiosk_server_set_silent (f->server, FALSE);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->link), 5000));
  g_assert_cmpuint (lk_kiosk_link_get_n_connects (f->link), >=, 2);
}

static void
test_status (Fixture       *f,
             gconstpointer  data)
{
  const char *jam[] = { "jam", NULL };

  lk_kiosk_link_set_status (f->link, "low", NULL);
  lk_kiosk_link_start (f->link);
  /* Sent on connect. */
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_status (f->server) == 1, 5000));
  g_assert_cmpstr (lk_test_kiosk_server_get_stock (f->server), ==, "low");
  g_assert_cmpstr (lk_test_kiosk_server_get_faults (f->server), ==, "");

  /* On change. */
  lk_kiosk_link_set_status (f->link, "low", jam);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_status (f->server) == 2, 5000));
  g_assert_cmpstr (lk_test_kiosk_server_get_faults (f->server), ==, "jam");
  /* No change, nothing sent; the next change is. */
  lk_kiosk_link_set_status (f->link, "low", jam);
  lk_kiosk_link_set_status (f->link, "empty", NULL);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_status (f->server) == 3, 5000));
  g_assert_cmpstr (lk_test_kiosk_server_get_stock (f->server), ==, "empty");
  g_assert_cmpuint (lk_test_kiosk_server_get_n_status (f->server), ==, 3);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/kiosk/link/snapshot", Fixture, NULL, fixture_setup, test_snapshot, fixture_teardown);
  g_test_add ("/kiosk/link/wrong-secret", Fixture, "not-the-secret",
              fixture_setup, test_wrong_secret, fixture_teardown);
  g_test_add ("/kiosk/link/reconnect-resync", Fixture, NULL,
              fixture_setup, test_reconnect_resync, fixture_teardown);
  g_test_add ("/kiosk/link/resend-until-ack", Fixture, NULL,
              fixture_setup, test_resend_until_ack, fixture_teardown);
  g_test_add ("/kiosk/link/claims", Fixture, NULL, fixture_setup, test_claims, fixture_teardown);
  g_test_add ("/kiosk/link/claim-timeout-orphan", Fixture, NULL,
              fixture_setup, test_claim_timeout_orphan, fixture_teardown);
  g_test_add ("/kiosk/link/heartbeat", Fixture, NULL, fixture_setup, test_heartbeat, fixture_teardown);
  g_test_add ("/kiosk/link/status", Fixture, NULL, fixture_setup, test_status, fixture_teardown);

  return g_test_run ();
}
