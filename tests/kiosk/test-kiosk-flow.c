/* test-kiosk-flow.c: the claim flow with the real store, link and driver, the simulator on a
 * real pty, and an in-process kiosk server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"


#include "lk-kiosk-test-rig.h"
#include "lk-kiosk-test-util.h"
#include "lk-test-kiosk-server.h"

#define SN "K-FLOW-01"
#define SECRET "flow-secret"

typedef struct
{
  LkTestKioskServer *server;
  LkKioskRig        *rig;
  guint              n_typos;
  guint              last_typo;
  guint              n_finished;
} Fixture;

static void
on_typo_cb (LkKioskFlow *flow,
            guint        typo,
            Fixture     *f)
{
  f->n_typos++;
  f->last_typo = typo;
}

static void
on_finished_cb (LkKioskFlow *flow,
                gboolean     ok,
                guint        reason,
                Fixture     *f)
{
  f->n_finished++;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->server = lk_test_kiosk_server_new (SN, SECRET, LK_DIGEST_PBKDF2_SHA256);
  f->rig = lk_kiosk_rig_new (lk_test_kiosk_server_get_url (f->server), SN, SECRET, NULL, 5);
  g_signal_connect (f->rig->flow, "typo", G_CALLBACK (on_typo_cb), f);
  g_signal_connect (f->rig->flow, "claim-finished", G_CALLBACK (on_finished_cb), f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_pointer (&f->rig, lk_kiosk_rig_free);
  g_clear_pointer (&f->server, lk_test_kiosk_server_free);
}

static guint
add_code (Fixture    *f,
          const char *seven,
          char      **code)
{
  *code = lk_test_make_code (seven);
  return lk_test_kiosk_server_add_code (f->server, *code, "张小明", "三年级(2)班", "2023001234");
}

static void
test_issue (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *code = NULL;
  g_autofree char *card_no = NULL;
  guint code_id = add_code (f, "1234567", &code);
  guint8 block[16];
  LkKioskFlow *flow = f->rig->flow;

  lk_kiosk_rig_start (f->rig);
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  /* Whose card it is: the masked name only. */
  g_assert_cmpstr (lk_kiosk_flow_get_student_name (flow), ==, "张*明");
  g_assert_cmpstr (lk_kiosk_flow_get_student_class (flow), ==, "三年级(2)班");

  lk_kiosk_flow_accept (flow);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_DONE, 10000);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (f->rig->sim), ==, 1);

  /* The server bound the UID the dispenser read, and the journal got its ack. */
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_completed (f->server) == 1, 5000));
  card_no = g_strdup (lk_test_kiosk_server_get_card_no (f->server, code_id));
  g_assert_cmpuint (strlen (card_no), ==, 8);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_journal_count (f->rig->store,
                                                                   LK_JOURNAL_ACKNOWLEDGED) == 1,
                                     5000));
  /* The card carries the student number (block 5). */
  g_assert_true (lk_dispenser_sim_get_block (f->rig->sim, card_no, 5, block));
  g_assert_cmpstr ((const char *) block, ==, "2023001234");

  /* The screen returns to idle when the student is done. */
  lk_kiosk_flow_go_idle (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_IDLE);
  g_assert_cmpstr (lk_kiosk_flow_get_digits (flow), ==, "");

  /* The same code again, now that it is used: "IC卡已完成发卡". */
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (flow);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_ALREADY_ISSUED, 10000);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (f->rig->sim), ==, 1);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_completed (f->server), ==, 1);
}

static void
test_typo (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *code = NULL;
  g_autofree char *typo = NULL;
  LkKioskFlow *flow = f->rig->flow;

  add_code (f, "7654321", &code);
  lk_kiosk_rig_start (f->rig);

  lk_kiosk_flow_start_entry (flow);
  lk_kiosk_flow_press_digit (flow, 7);
  lk_kiosk_flow_submit (flow);
  g_assert_cmpuint (f->n_typos, ==, 1);
  g_assert_cmpuint (f->last_typo, ==, LK_KIOSK_TYPO_INCOMPLETE);
  lk_kiosk_flow_clear (flow);
  g_assert_cmpstr (lk_kiosk_flow_get_digits (flow), ==, "");

  /* Swap two neighbouring digits: the check digit catches it, nothing leaves the kiosk. */
  typo = g_strdup (code);
  typo[2] = code[3];
  typo[3] = code[2];
  g_assert_cmpstr (typo, !=, code);
  lk_kiosk_rig_type_code (f->rig, typo);
  g_assert_cmpuint (f->n_typos, ==, 2);
  g_assert_cmpuint (f->last_typo, ==, LK_KIOSK_TYPO_CHECK_DIGIT);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_ENTRY);
  /* The code stays for correction. */
  g_assert_cmpstr (lk_kiosk_flow_get_digits (flow), ==, typo);
  lk_kiosk_flow_backspace (flow);
  g_assert_cmpuint (strlen (lk_kiosk_flow_get_digits (flow)), ==, 7);
  lk_kiosk_flow_press_digit (flow, (guint) (typo[7] - '0'));
  /* Only 8 digits fit. */
  lk_kiosk_flow_press_digit (flow, 1);
  g_assert_cmpuint (strlen (lk_kiosk_flow_get_digits (flow)), ==, 8);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_claim_requests (f->server), ==, 0);
}

static void
test_invalid_and_lockout (Fixture       *f,
                          gconstpointer  data)
{
  LkKioskFlowTiming timing = *lk_kiosk_flow_get_timing (f->rig->flow);
  LkKioskFlow *flow = f->rig->flow;
  const char *sevens[] = { "1000001", "1000002", "1000003" };

  timing.max_wrong_codes = 3;
  timing.lockout_ms = 1500;
  lk_kiosk_flow_set_timing (flow, &timing);
  lk_kiosk_rig_start (f->rig);

  for (guint i = 0; i < G_N_ELEMENTS (sevens); i++)
    {
      g_autofree char *code = lk_test_make_code (sevens[i]);

      lk_kiosk_rig_type_code (f->rig, code);
      if (i + 1 < G_N_ELEMENTS (sevens))
        {
          /* "取卡注册码无效", decided on the kiosk: the server never sees the code. */
          lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_INVALID, 10000);
          lk_kiosk_flow_retry (flow);
          g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_ENTRY);
        }
    }
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_LOCKED, 10000);
  g_assert_cmpuint (lk_kiosk_flow_get_countdown (flow), >=, 1);
  g_assert_cmpuint (lk_kiosk_flow_get_countdown (flow), <=, 2);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_claim_requests (f->server), ==, 0);

  /* Locked: a touch does not open the keypad; the lockout ends by itself. */
  lk_kiosk_flow_go_idle (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_LOCKED);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_IDLE, 5000);
  lk_kiosk_flow_start_entry (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_ENTRY);
}

static void
test_timeouts (Fixture       *f,
               gconstpointer  data)
{
  LkKioskFlowTiming timing = *lk_kiosk_flow_get_timing (f->rig->flow);
  LkKioskFlow *flow = f->rig->flow;
  g_autofree char *code = lk_test_make_code ("1000009");
  gint64 start;

  timing.notice_timeout_ms = 300;
  timing.entry_timeout_ms = 300;
  lk_kiosk_flow_set_timing (flow, &timing);
  lk_kiosk_rig_start (f->rig);

  /* An abandoned keypad goes back to idle, and forgets what was typed. */
  lk_kiosk_flow_start_entry (flow);
  lk_kiosk_flow_press_digit (flow, 4);
  start = g_get_monotonic_time ();
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_IDLE, 5000);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 250 * 1000);
  g_assert_cmpstr (lk_kiosk_flow_get_digits (flow), ==, "");

  /* So does a notice. */
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_INVALID, 5000);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_IDLE, 5000);
}

static void
test_second_kiosk_already_issued (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(LkKioskRig) second = NULL;
  g_autofree char *code = NULL;

  add_code (f, "2468024", &code);
  second = lk_kiosk_rig_new (lk_test_kiosk_server_get_url (f->server), SN, SECRET, NULL, 5);
  lk_kiosk_rig_start (f->rig);
  lk_kiosk_rig_start (second);

  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (f->rig->flow);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_DONE, 10000);

  lk_kiosk_rig_type_code (second, code);
  lk_kiosk_rig_wait_screen (second, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (second->flow);
  lk_kiosk_rig_wait_screen (second, LK_KIOSK_SCREEN_ALREADY_ISSUED, 10000);
  g_assert_cmpuint (lk_dispenser_sim_get_executed (second->sim), >, 0);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (second->sim), ==, 0);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_completed (f->server), ==, 1);
}

static void
test_not_taken (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *code = NULL;
  guint code_id = add_code (f, "1357913", &code);

  lk_kiosk_rig_start (f->rig);
  lk_kiosk_rig_sim (f->rig, "untaken");
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (f->rig->flow);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_TAKE_CARD, 10000);
  g_assert_cmpuint (lk_kiosk_flow_get_countdown (f->rig->flow), >=, 1);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_NOT_TAKEN, 10000);

  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (f->rig->sim), ==, 1);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_failed (f->server) == 1, 5000));
  g_assert_cmpstr (lk_test_kiosk_server_get_fail_reason (f->server, code_id), ==, "not_taken");

  /* The code is usable again. */
  lk_kiosk_flow_retry (f->rig->flow);
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (f->rig->flow);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_DONE, 10000);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_completed (f->server) == 1, 5000));
}

static void
test_jam_out_of_service (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *code = NULL;
  LkKioskFlow *flow = f->rig->flow;

  add_code (f, "8642086", &code);
  lk_kiosk_rig_start (f->rig);

  /* A jam found by the status poll takes the kiosk out of service, and tells the server. */
  lk_kiosk_rig_sim (f->rig, "jam");
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_OUT_OF_SERVICE, 5000);
  g_assert_true (LK_TEST_WAIT_UNTIL (g_strcmp0 (lk_test_kiosk_server_get_faults (f->server),
                                                "jam") == 0, 5000));
  lk_kiosk_flow_start_entry (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_OUT_OF_SERVICE);

  /* No longer than the jam lasts. */
  lk_kiosk_rig_sim (f->rig, "clear");
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_IDLE, 5000);
  g_assert_true (LK_TEST_WAIT_UNTIL (g_strcmp0 (lk_test_kiosk_server_get_faults (f->server),
                                                "") == 0, 5000));

  /* A write failure captures the card and asks for the code again. */
  lk_kiosk_rig_sim (f->rig, "fail-write");
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (flow);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_ISSUE_FAILED, 10000);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (f->rig->sim), ==, 1);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_failed (f->server) == 1, 5000));
  g_assert_cmpstr (lk_test_kiosk_server_get_fail_reason (f->server, 1), ==, "write_failed");
}

static void
test_empty (Fixture       *f,
            gconstpointer  data)
{
  lk_kiosk_rig_start (f->rig);
  lk_kiosk_rig_sim (f->rig, "empty");
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_OUT_OF_SERVICE, 5000);
  g_assert_true (LK_TEST_WAIT_UNTIL (g_strcmp0 (lk_test_kiosk_server_get_stock (f->server),
                                                "empty") == 0, 5000));
  lk_kiosk_rig_sim (f->rig, "fill 2");
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_IDLE, 5000);
  /* Two cards is below the pre-empty mark: idle shows that few are left. */
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_flow_get_stock_low (f->rig->flow), 5000));
  g_assert_true (LK_TEST_WAIT_UNTIL (g_strcmp0 (lk_test_kiosk_server_get_stock (f->server),
                                                "low") == 0, 5000));
}

static void
test_offline (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *code = NULL;

  add_code (f, "9753197", &code);
  lk_kiosk_rig_start (f->rig);

  lk_test_kiosk_server_set_refusing (f->server, TRUE);
  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (!lk_kiosk_link_get_connected (f->rig->link), 5000));

  /* The code matches locally, but it is never accepted offline. */
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (f->rig->flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (f->rig->flow), ==, LK_KIOSK_SCREEN_OFFLINE);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (f->rig->sim), ==, 0);

  /* A server that takes the request but never answers: offline too, after the deadline. */
  lk_test_kiosk_server_set_refusing (f->server, FALSE);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->rig->link), 5000));
  lk_test_kiosk_server_set_hold_claims (f->server, TRUE);
  {
    LkKioskFlowTiming timing = *lk_kiosk_flow_get_timing (f->rig->flow);
    timing.claim_timeout_ms = 200;
    lk_kiosk_flow_set_timing (f->rig->flow, &timing);
  }
  lk_kiosk_flow_retry (f->rig->flow);
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (f->rig->flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (f->rig->flow), ==, LK_KIOSK_SCREEN_WAITING);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_OFFLINE, 5000);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (f->rig->sim), ==, 0);
}

static void
test_revoked (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *code = NULL;
  guint id = add_code (f, "1122334", &code);
  guint stock;

  lk_test_kiosk_server_revoke_code (f->server, id);
  lk_kiosk_rig_start (f->rig);
  stock = lk_dispenser_sim_get_stock (f->rig->sim);
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (f->rig->flow);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_REVOKED, 5000);

  /* A revoked code never moves a card. */
  g_assert_cmpuint (lk_dispenser_sim_get_stock (f->rig->sim), ==, stock);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (f->rig->sim), ==, 0);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (f->rig->sim), ==, 0);
}

static void
on_progress_cut_cb (LkKioskFlow *flow,
                    guint        stage,
                    const char  *card_no,
                    Fixture     *f)
{
  if (stage == LK_ISSUE_STAGE_DISPENSING)
    {
      lk_test_kiosk_server_set_refusing (f->server, TRUE);
      lk_test_kiosk_server_disconnect_all (f->server);
    }
}

static void
test_network_cut_while_dispensing (Fixture       *f,
                                   gconstpointer  data)
{
  g_autofree char *code = NULL;
  guint code_id = add_code (f, "5566778", &code);

  lk_kiosk_rig_start (f->rig);
  g_signal_connect (f->rig->flow, "issue-progress", G_CALLBACK (on_progress_cut_cb), f);
  lk_kiosk_rig_type_code (f->rig, code);
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (f->rig->flow);

  /* The card is issued all the same; the report waits in the journal. */
  lk_kiosk_rig_wait_screen (f->rig, LK_KIOSK_SCREEN_DONE, 10000);
  g_assert_true (LK_TEST_WAIT_UNTIL (!lk_kiosk_link_get_connected (f->rig->link), 5000));
  g_assert_cmpuint (lk_kiosk_store_journal_count (f->rig->store, LK_JOURNAL_COMPLETED), ==, 1);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_reports (f->server), ==, 0);

  /* The network comes back: the report arrives, once. */
  lk_test_kiosk_server_set_refusing (f->server, FALSE);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_journal_count (f->rig->store,
                                                                   LK_JOURNAL_ACKNOWLEDGED) == 1,
                                     10000));
  g_assert_cmpuint (lk_test_kiosk_server_get_n_reports (f->server), ==, 1);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_completed (f->server), ==, 1);
  g_assert_cmpstr (lk_test_kiosk_server_get_card_no (f->server, code_id), !=, "");

  /* Later connects do not send it again. */
  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_n_connects (f->rig->link) == 2 &&
                                     lk_kiosk_link_get_connected (f->rig->link), 10000));
  g_assert_cmpuint (lk_test_kiosk_server_get_n_report_messages (f->server), ==, 1);
}

static void
test_service (Fixture       *f,
              gconstpointer  data)
{
  LkKioskFlow *flow = f->rig->flow;
  const char *pin = LK_TEST_SERVICE_PIN;
  guint rejects;

  lk_kiosk_rig_start (f->rig);

  /* A wrong PIN goes back to idle. */
  lk_kiosk_flow_request_service (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_SERVICE_PIN);
  lk_kiosk_flow_press_pin_digit (flow, 1);
  g_assert_cmpuint (lk_kiosk_flow_get_pin_length (flow), ==, 1);
  lk_kiosk_flow_submit_pin (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_IDLE);

  lk_kiosk_flow_request_service (flow);
  for (const char *p = pin; *p; p++)
    lk_kiosk_flow_press_pin_digit (flow, (guint) (*p - '0'));
  lk_kiosk_flow_submit_pin (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_SERVICE);
  g_assert_nonnull (strstr (lk_kiosk_flow_get_service_text (flow), "pty:"));

  rejects = lk_dispenser_sim_get_reject_count (f->rig->sim);
  lk_kiosk_flow_service_test_issue (flow);
  g_assert_true (lk_kiosk_flow_get_busy (flow));
  g_assert_true (LK_TEST_WAIT_UNTIL (!lk_kiosk_flow_get_busy (flow), 10000));
  /* The test card ends in the reject box. */
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (f->rig->sim), ==, rejects + 1);
  g_assert_nonnull (strstr (lk_kiosk_flow_get_service_text (flow), "Test issue passed"));

  lk_kiosk_flow_go_idle (flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (flow), ==, LK_KIOSK_SCREEN_IDLE);
}

/* The crash test: the kiosk logic runs in a child process, which is killed with SIGKILL as
 * soon as the journal says that the card has moved (lk_kiosk_rig_crash_child()). */

static void
test_crash_recovery (Fixture       *f,
                     gconstpointer  data)
{
  const char *kill_at = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(LkKioskRig) restarted = NULL;
  g_autoptr(LkDispenserSim) sim = NULL;
  LkDispenserSimOptions options;
  guint warnings;
  guint code_id;

  code_id = add_code (f, "3141592", &code);
  dir = g_dir_make_tmp (NULL, &error);
  g_assert_no_error (error);

  /* The child kiosk drives this process's simulator: the card moves; the power goes. */
  lk_dispenser_sim_options_init (&options);
  options.motion_ms = 150;
  /* Nobody takes a card: wherever the kill leaves it, it stays in the channel. */
  options.auto_take_ms = -1;
  options.gap_ms = 0;
  sim = lk_dispenser_sim_new (&options, &error);
  g_assert_no_error (error);
  lk_kiosk_rig_crash_child (lk_test_kiosk_server_get_url (f->server), SN, SECRET, dir, code,
                            kill_at, sim);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (sim), ==, 0);
  g_assert_cmpuint (lk_test_kiosk_server_get_n_reports (f->server), ==, 0);

  /* On restart the card left in the channel goes to the reject box before any code is
   * taken, the journal reports the claim, and the code can be used (once). */
  restarted = lk_kiosk_rig_new_with_sim (lk_test_kiosk_server_get_url (f->server), SN, SECRET,
                                         dir, sim);
  warnings = lk_kiosk_rig_get_left_card_warnings ();
  lk_kiosk_rig_start_expecting_left_card (restarted);
  g_assert_cmpuint (lk_kiosk_rig_get_left_card_warnings (), ==, warnings + 1);
  {
    g_autofree char *position = lk_dispenser_sim_get_position (sim);

    g_assert_cmpstr (position, ==, "none");
    g_assert_cmpuint (lk_dispenser_sim_get_reject_count (sim), ==, 1);
    g_assert_cmpuint (lk_dispenser_sim_get_taken_count (sim), ==, 0);
  }
  lk_kiosk_rig_sim (restarted, "motion-ms 5");
  lk_kiosk_rig_sim (restarted, "auto-take 20");
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_failed (f->server) == 1, 10000));
  g_assert_cmpstr (lk_test_kiosk_server_get_fail_reason (f->server, code_id), ==, "cancelled");
  g_assert_cmpuint (lk_test_kiosk_server_get_n_completed (f->server), ==, 0);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_journal_count (restarted->store,
                                                                   LK_JOURNAL_ACKNOWLEDGED) == 1,
                                     10000));

  lk_kiosk_rig_type_code (restarted, code);
  lk_kiosk_rig_wait_screen (restarted, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (restarted->flow);
  lk_kiosk_rig_wait_screen (restarted, LK_KIOSK_SCREEN_DONE, 10000);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_completed (f->server) == 1, 5000));

  lk_kiosk_flow_go_idle (restarted->flow);
  lk_kiosk_rig_type_code (restarted, code);
  lk_kiosk_rig_wait_screen (restarted, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (restarted->flow);
  lk_kiosk_rig_wait_screen (restarted, LK_KIOSK_SCREEN_ALREADY_ISSUED, 10000);
  /* Never issued twice. */
  g_assert_cmpuint (lk_test_kiosk_server_get_n_completed (f->server), ==, 1);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (restarted->sim), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 9 && g_str_equal (argv[1], "--child"))
    return lk_kiosk_rig_child_main (argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], argv[8]);

  g_test_init (&argc, &argv, NULL);
  lk_kiosk_rig_watch_left_card_warnings ();

  g_test_add ("/kiosk/flow/issue", Fixture, NULL, fixture_setup, test_issue, fixture_teardown);
  g_test_add ("/kiosk/flow/typo", Fixture, NULL, fixture_setup, test_typo, fixture_teardown);
  g_test_add ("/kiosk/flow/invalid-lockout", Fixture, NULL,
              fixture_setup, test_invalid_and_lockout, fixture_teardown);
  g_test_add ("/kiosk/flow/timeouts", Fixture, NULL, fixture_setup, test_timeouts, fixture_teardown);
  g_test_add ("/kiosk/flow/second-kiosk", Fixture, NULL,
              fixture_setup, test_second_kiosk_already_issued, fixture_teardown);
  g_test_add ("/kiosk/flow/not-taken", Fixture, NULL, fixture_setup, test_not_taken, fixture_teardown);
  g_test_add ("/kiosk/flow/jam", Fixture, NULL, fixture_setup, test_jam_out_of_service, fixture_teardown);
  g_test_add ("/kiosk/flow/empty", Fixture, NULL, fixture_setup, test_empty, fixture_teardown);
  g_test_add ("/kiosk/flow/offline", Fixture, NULL, fixture_setup, test_offline, fixture_teardown);
  g_test_add ("/kiosk/flow/revoked", Fixture, NULL, fixture_setup, test_revoked, fixture_teardown);
  g_test_add ("/kiosk/flow/network-cut-while-dispensing", Fixture, NULL,
              fixture_setup, test_network_cut_while_dispensing, fixture_teardown);
  g_test_add ("/kiosk/flow/service", Fixture, NULL, fixture_setup, test_service, fixture_teardown);
  g_test_add ("/kiosk/flow/crash/dispensing", Fixture, "dispensing",
              fixture_setup, test_crash_recovery, fixture_teardown);
  g_test_add ("/kiosk/flow/crash/card-read", Fixture, "card_read",
              fixture_setup, test_crash_recovery, fixture_teardown);

  return g_test_run ();
}
