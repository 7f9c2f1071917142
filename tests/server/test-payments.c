/* test-payments.c: step 3 and 4 over HTTP: sandbox payment → claimable, the claim code, exactly
 * once under repeated and concurrent notices, forged notices, and the SMS outbox
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-claim-codes.h"
#include "lk-test-server.h"

#define N_NOTIFIERS 8

static const char *roster[][6] = {
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", NULL },
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华", "2023002", NULL },
};

typedef struct
{
  LkTestServer *ts;
  char         *id;
  char         *token;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->ts = lk_test_server_new (0, NULL);
  lk_test_server_import (f->ts, f->ts->operator_token, roster, G_N_ELEMENTS (roster));
  f->id = lk_test_server_apply (f->ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                "2023001", &f->token);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  lk_test_server_free (f->ts);
  g_free (f->id);
  g_free (f->token);
}

static char *
create_order (Fixture *f)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/applications/%s/payment", f->id);
  g_autoptr(JsonNode) reply = NULL;
  JsonObject *object;
  g_autofree char *pay_url = NULL;

  g_assert_cmpuint (lk_test_json (f->ts, "POST", path, f->token, "{\"channel\": \"sandbox\"}", &reply), ==, 201);
  object = json_node_get_object (reply);
  g_assert_cmpint (json_object_get_int_member (object, "amount_fen"), ==, LK_DEFAULT_FEE_FEN);
  pay_url = g_strdup_printf ("/api/v1/sandbox/pay/%s", json_object_get_string_member (object, "order_no"));
  g_assert_cmpstr (json_object_get_string_member (object, "pay_url"), ==, pay_url);
  return g_strdup (json_object_get_string_member (object, "order_no"));
}

static gboolean
sms_sent (gpointer user_data)
{
  Fixture *f = user_data;

  return lk_store_debug_count (lk_server_get_store (f->ts->server), "sms_outbox", "status = 'sent'") == 1;
}

static void
test_pay (Fixture       *f,
          gconstpointer  data)
{
  LkStore *store = lk_server_get_store (f->ts->server);
  g_autofree char *order_no = create_order (f);
  g_autofree char *pay_path = g_strdup_printf ("/api/v1/sandbox/pay/%s", order_no);
  g_autofree char *app_path = g_strdup_printf ("/api/v1/applications/%s", f->id);
  g_autoptr(JsonNode) paid = NULL;
  g_autoptr(JsonNode) app = NULL;
  g_autoptr(LkApplicationRecord) record = NULL;
  g_autofree char *lookup = NULL;
  g_autofree char *where = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *digest_where = NULL;
  LkDigestParams params;
  const char *code;
  JsonObject *object;

  g_assert_cmpuint (lk_test_json (f->ts, "POST", pay_path, NULL, NULL, &paid), ==, 200);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (paid), "applied"));

  g_assert_cmpuint (lk_test_json (f->ts, "GET", app_path, f->token, NULL, &app), ==, 200);
  object = json_node_get_object (app);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "claimable");
  code = json_object_get_string_member (object, "claim_code");
  g_assert_true (lk_claim_code_is_valid (code));

  /* The code is the derived one: its lookup and its kiosk digest are what the store holds. */
  lookup = lk_claim_code_lookup (f->ts->server, code);
  where = g_strdup_printf ("lookup = '%s' AND status = 'open'", lookup);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", where), ==, 1);
  g_assert_true (lk_store_school_digest (store, f->ts->school_id, &params, NULL));
  g_assert_cmpint (params.alg, ==, LK_DIGEST_PBKDF2_SHA256);
  digest = lk_claim_code_digest (&params, code);
  digest_where = g_strdup_printf ("kiosk_digest = '%s'", digest);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", digest_where), ==, 1);
  record = lk_store_application_get (store, f->id, NULL);
  g_assert_cmpint (record->code_attempt, ==, 0);

  /* The code is never stored in clear. */
  {
    g_autofree char *clear = g_strdup_printf ("lookup = '%s' OR kiosk_digest = '%s'", code, code);
    g_assert_cmpint (lk_store_debug_count (store, "claim_codes", clear), ==, 0);
    g_assert_cmpint (lk_store_debug_count (store, "sms_outbox", "template = 'claim_code'"), ==, 1);
  }

  /* The logging sender sends it. */
  g_assert_true (lk_test_wait_until (NULL, 15000, sms_sent, f));
  g_assert_cmpuint (lk_log_sms_sender_get_sent (LK_LOG_SMS_SENDER (lk_server_get_sms_sender (f->ts->server))), ==, 1);
}

static void
test_exactly_once (Fixture       *f,
                   gconstpointer  data)
{
  LkStore *store = lk_server_get_store (f->ts->server);
  g_autofree char *order_no = create_order (f);
  g_autofree char *pay_path = g_strdup_printf ("/api/v1/sandbox/pay/%s", order_no);
  guint applied = 0;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(JsonNode) reply = NULL;

      g_assert_cmpuint (lk_test_json (f->ts, "POST", pay_path, NULL, NULL, &reply), ==, 200);
      applied += json_object_get_boolean_member (json_node_get_object (reply), "applied");
    }
  g_assert_cmpuint (applied, ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", NULL), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "sms_outbox", NULL), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "payments", "status = 'paid'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "applications", "status = 'claimable'"), ==, 1);

  /* A paid application takes no second order. */
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/applications/%s/payment", f->id);
    g_autoptr(JsonNode) reply = NULL;

    g_assert_cmpuint (lk_test_json (f->ts, "POST", path, f->token, "{\"channel\": \"sandbox\"}", &reply), ==, 409);
    lk_test_assert_error (reply, "not_payable", NULL);
  }
}

typedef struct
{
  LkTestServer *ts;
  GBytes       *notice;
  GMutex        lock;
  GCond         cond;
  guint         waiting;
  gboolean      go;
  guint         applied;
  guint         ok;
} Race;

static gpointer
notifier_thread (gpointer data)
{
  Race *race = data;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("%s/api/v1/payments/notify/sandbox", race->ts->base_url);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  soup_message_set_request_body_from_bytes (msg, "application/json", race->notice);
  g_mutex_lock (&race->lock);
  race->waiting++;
  g_cond_broadcast (&race->cond);
  while (!race->go)
    g_cond_wait (&race->cond, &race->lock);
  g_mutex_unlock (&race->lock);

  body = soup_session_send_and_read (session, msg, NULL, NULL);
  if (soup_message_get_status (msg) == 200
      && json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL))
    {
      gboolean applied = json_object_get_boolean_member (json_node_get_object (json_parser_get_root (parser)), "applied");

      g_mutex_lock (&race->lock);
      race->ok++;
      race->applied += applied;
      g_mutex_unlock (&race->lock);
    }
  return NULL;
}

static void
test_concurrent_notices (Fixture       *f,
                         gconstpointer  data)
{
  LkStore *store = lk_server_get_store (f->ts->server);
  LkPaymentProvider *sandbox = lk_server_get_payment_provider (f->ts->server, "sandbox");
  g_autofree char *order_no = create_order (f);
  GThread *threads[N_NOTIFIERS];
  Race race = { 0 };

  race.ts = f->ts;
  race.notice = lk_sandbox_payment_sign_notice (LK_SANDBOX_PAYMENT (sandbox), order_no,
                                                LK_DEFAULT_FEE_FEN, "TXN-RACE-1");
  g_mutex_init (&race.lock);
  g_cond_init (&race.cond);
  for (guint i = 0; i < N_NOTIFIERS; i++)
    threads[i] = g_thread_new ("notifier", notifier_thread, &race);
  g_mutex_lock (&race.lock);
  while (race.waiting < N_NOTIFIERS)
    g_cond_wait (&race.cond, &race.lock);
  race.go = TRUE;
  g_cond_broadcast (&race.cond);
  g_mutex_unlock (&race.lock);
  for (guint i = 0; i < N_NOTIFIERS; i++)
    g_thread_join (threads[i]);

  g_assert_cmpuint (race.ok, ==, N_NOTIFIERS);
  g_assert_cmpuint (race.applied, ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", NULL), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "sms_outbox", NULL), ==, 1);
  g_bytes_unref (race.notice);
  g_mutex_clear (&race.lock);
  g_cond_clear (&race.cond);
}

static void
test_forged_notices (Fixture       *f,
                     gconstpointer  data)
{
  LkStore *store = lk_server_get_store (f->ts->server);
  LkPaymentProvider *sandbox = lk_server_get_payment_provider (f->ts->server, "sandbox");
  g_autofree char *order_no = create_order (f);
  g_autofree char *before = lk_store_debug_checksum (store, NULL);
  g_autofree char *forged = g_strdup_printf ("{\"order_no\":\"%s\",\"amount_fen\":%d,\"txn\":\"T1\","
                                             "\"status\":\"paid\",\"signature\":\"%064d\"}",
                                             order_no, LK_DEFAULT_FEE_FEN, 0);
  g_autoptr(GBytes) genuine = lk_sandbox_payment_sign_notice (LK_SANDBOX_PAYMENT (sandbox), order_no,
                                                              LK_DEFAULT_FEE_FEN, "T2");
  g_autoptr(GBytes) cheap = lk_sandbox_payment_sign_notice (LK_SANDBOX_PAYMENT (sandbox), order_no, 1, "T3");
  g_autoptr(GBytes) unknown = lk_sandbox_payment_sign_notice (LK_SANDBOX_PAYMENT (sandbox), "LK000", 2000, "T4");
  g_autofree char *tampered = NULL;
  g_autofree char *after = NULL;
  g_autoptr(JsonNode) r1 = NULL;
  g_autoptr(JsonNode) r2 = NULL;
  g_autoptr(JsonNode) r3 = NULL;
  g_autoptr(JsonNode) r4 = NULL;
  g_autoptr(JsonNode) r5 = NULL;
  g_autoptr(JsonNode) r6 = NULL;
  char *amount;

  g_assert_cmpuint (lk_test_json (f->ts, "POST", "/api/v1/payments/notify/sandbox", NULL, forged, &r1), ==, 400);
  lk_test_assert_error (r1, "bad_signature", NULL);

  /* A genuine notice with the amount changed afterwards. */
  tampered = g_strndup (g_bytes_get_data (genuine, NULL), g_bytes_get_size (genuine));
  amount = strstr (tampered, "\"amount_fen\":2000");
  g_assert_nonnull (amount);
  amount[strlen ("\"amount_fen\":")] = '1';
  g_assert_cmpuint (lk_test_json (f->ts, "POST", "/api/v1/payments/notify/sandbox", NULL, tampered, &r2), ==, 400);
  lk_test_assert_error (r2, "bad_signature", NULL);

  /* Signed, but for another amount or an unknown order. */
  g_assert_cmpuint (lk_test_request (f->ts, "POST", "/api/v1/payments/notify/sandbox", NULL, "application/json",
                                     g_bytes_get_data (cheap, NULL), g_bytes_get_size (cheap), &r3), ==, 400);
  lk_test_assert_error (r3, "amount_mismatch", NULL);
  g_assert_cmpuint (lk_test_request (f->ts, "POST", "/api/v1/payments/notify/sandbox", NULL, "application/json",
                                     g_bytes_get_data (unknown, NULL), g_bytes_get_size (unknown), &r4), ==, 404);
  lk_test_assert_error (r4, "unknown_order", NULL);

  /* No real provider is configured, and the channel list says so. */
  {
    g_autoptr(JsonNode) channels = NULL;
    JsonArray *list;

    g_assert_cmpuint (lk_test_json (f->ts, "GET", "/api/v1/payment/channels", NULL, NULL, &channels), ==, 200);
    list = json_object_get_array_member (json_node_get_object (channels), "channels");
    g_assert_cmpuint (json_array_get_length (list), ==, 1);
    g_assert_cmpstr (json_array_get_string_element (list, 0), ==, "sandbox");
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (channels), "fee_fen"), ==, LK_DEFAULT_FEE_FEN);
  }
  g_assert_cmpuint (lk_test_json (f->ts, "POST", "/api/v1/payments/notify/wechat", NULL, forged, &r5), ==, 503);
  lk_test_assert_error (r5, "payment_unavailable", NULL);
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/applications/%s/payment", f->id);
    g_assert_cmpuint (lk_test_json (f->ts, "POST", path, f->token, "{\"channel\": \"alipay\"}", &r6), ==, 503);
    lk_test_assert_error (r6, "payment_unavailable", "channel");
  }

  after = lk_store_debug_checksum (store, NULL);
  g_assert_cmpstr (before, ==, after);
}

static gboolean
sms_sent_after_retries (gpointer user_data)
{
  Fixture *f = user_data;

  return lk_store_debug_count (lk_server_get_store (f->ts->server), "sms_outbox",
                               "status = 'sent' AND attempts = 3") == 1;
}

static gboolean
sms_failed_once (gpointer user_data)
{
  Fixture *f = user_data;

  return lk_store_debug_count (lk_server_get_store (f->ts->server), "sms_outbox",
                               "status = 'pending' AND attempts >= 1") == 1;
}

static void
test_sms_retries (Fixture       *f,
                  gconstpointer  data)
{
  LkLogSmsSender *sender = LK_LOG_SMS_SENDER (lk_server_get_sms_sender (f->ts->server));
  g_autofree char *code = NULL;

  lk_log_sms_sender_fail_next (sender, 2);
  code = lk_test_server_pay (f->ts, f->id, f->token);
  g_assert_true (lk_claim_code_is_valid (code));
  g_assert_true (lk_test_wait_until (NULL, 20000, sms_sent_after_retries, f));
  g_assert_cmpuint (lk_log_sms_sender_get_sent (sender), ==, 1);
}

static void
test_sms_survives_restart (Fixture       *f,
                           gconstpointer  data)
{
  LkLogSmsSender *sender = LK_LOG_SMS_SENDER (lk_server_get_sms_sender (f->ts->server));
  g_autofree char *code = NULL;

  /* The gateway is down; the server stops with the message unsent. */
  lk_log_sms_sender_fail_next (sender, 1000);
  code = lk_test_server_pay (f->ts, f->id, f->token);
  g_assert_true (lk_test_wait_until (NULL, 10000, sms_failed_once, f));
  lk_test_server_restart (f->ts);

  /* The new process sends it. */
  g_assert_true (lk_test_wait_until (NULL, 20000, sms_sent, f));
  sender = LK_LOG_SMS_SENDER (lk_server_get_sms_sender (f->ts->server));
  g_assert_cmpuint (lk_log_sms_sender_get_sent (sender), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init ("en");

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/server/payments/sandbox-pay", test_pay);
  ADD ("/server/payments/exactly-once", test_exactly_once);
  ADD ("/server/payments/concurrent-notices", test_concurrent_notices);
  ADD ("/server/payments/forged-notices", test_forged_notices);
  ADD ("/server/payments/sms-retries", test_sms_retries);
  ADD ("/server/payments/sms-survives-restart", test_sms_survives_restart);
#undef ADD
  return g_test_run ();
}
