/* test-kiosk-e2e.c: end to end with the real lingka-server in-process, the real kiosk logic
 * (store, link, flow, driver) and the simulator on a real pty
 *
 *   code typed → card issued → the server bound the UID;
 *   a second kiosk, same code → "IC卡已完成发卡";
 *   a wrong code → "取卡注册码无效";
 *   the network cut during dispensing → the report arrives after reconnect, once;
 *   the kiosk process killed right after the card moved → on restart the journal reports
 *   it, and no code is ever issued twice.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-kiosk-test-rig.h"
#include "lk-kiosk-test-util.h"
#include "lk-test-server.h"

typedef struct
{
  LkTestServer *ts;
  char         *app_id;
  char         *app_token;
  char         *code;
  char         *secret1;
  char         *secret2;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  const char *rows[][6] = {
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001234", NULL },
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李小红", "2023001235", NULL },
  };

  f->ts = lk_test_server_new (0, NULL);
  lk_test_server_import (f->ts, f->ts->operator_token, rows, G_N_ELEMENTS (rows));
  f->app_id = lk_test_server_apply (f->ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班",
                                    "张小明", "2023001234", &f->app_token);
  f->code = lk_test_server_pay (f->ts, f->app_id, f->app_token);
  g_assert_true (lk_claim_code_is_valid (f->code));
  f->secret1 = lk_test_server_register_kiosk (f->ts, "K-E2E-01", f->ts->school_id);
  f->secret2 = lk_test_server_register_kiosk (f->ts, "K-E2E-02", f->ts->school_id);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_pointer (&f->ts, lk_test_server_free);
  g_free (f->app_id);
  g_free (f->app_token);
  g_free (f->code);
  g_free (f->secret1);
  g_free (f->secret2);
}

/* The application as its parent sees it: status and card number. */
static char *
application_status (Fixture  *f,
                    char    **card_no)
{
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/applications/%s", f->app_id);
  JsonObject *object;

  g_assert_cmpuint (lk_test_json (f->ts, "GET", path, f->app_token, NULL, &reply), ==, 200);
  object = json_node_get_object (reply);
  if (card_no != NULL)
    *card_no = g_strdup (json_object_get_string_member_with_default (object, "card_no", NULL));
  return g_strdup (json_object_get_string_member (object, "status"));
}

static gboolean
application_issued (Fixture *f)
{
  g_autofree char *status = application_status (f, NULL);

  return g_strcmp0 (status, "issued") == 0;
}

static void
claim (LkKioskRig *rig,
       const char *code)
{
  lk_kiosk_rig_type_code (rig, code);
  lk_kiosk_rig_wait_screen (rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (rig->flow);
}

static void
test_issue_and_second_kiosk (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(LkKioskRig) kiosk1 = lk_kiosk_rig_new (f->ts->base_url, "K-E2E-01", f->secret1, NULL, 5);
  g_autoptr(LkKioskRig) kiosk2 = lk_kiosk_rig_new (f->ts->base_url, "K-E2E-02", f->secret2, NULL, 5);
  g_autofree char *status = NULL;
  g_autofree char *card_no = NULL;
  guint8 block[16];

  lk_kiosk_rig_start (kiosk1);
  lk_kiosk_rig_start (kiosk2);
  /* The paid code reached both kiosks of the school, as a digest. */
  g_assert_cmpuint (lk_kiosk_store_count_codes (kiosk1->store), ==, 1);
  g_assert_cmpuint (lk_kiosk_store_count_codes (kiosk2->store), ==, 1);

  claim (kiosk1, f->code);
  g_assert_cmpstr (lk_kiosk_flow_get_student_name (kiosk1->flow), ==, "张*明");
  lk_kiosk_rig_wait_screen (kiosk1, LK_KIOSK_SCREEN_DONE, 10000);

  /* The server bound the UID the dispenser read, and the card carries the record. */
  g_assert_true (LK_TEST_WAIT_UNTIL (application_issued (f), 10000));
  status = application_status (f, &card_no);
  g_assert_nonnull (card_no);
  g_assert_cmpuint (strlen (card_no), ==, 8);
  g_assert_true (lk_dispenser_sim_get_block (kiosk1->sim, card_no, 5, block));
  g_assert_cmpstr ((const char *) block, ==, "2023001234");
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_journal_count (kiosk1->store,
                                                                   LK_JOURNAL_ACKNOWLEDGED) == 1,
                                     10000));

  /* The second kiosk: "IC卡已完成发卡" (if the code is still in its table), or, once the
   * server has withdrawn it, "取卡注册码无效". No card moves either way. */
  lk_kiosk_rig_type_code (kiosk2, f->code);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_flow_get_screen (kiosk2->flow) == LK_KIOSK_SCREEN_CONFIRM ||
                                     lk_kiosk_flow_get_screen (kiosk2->flow) == LK_KIOSK_SCREEN_INVALID,
                                     10000));
  if (lk_kiosk_flow_get_screen (kiosk2->flow) == LK_KIOSK_SCREEN_CONFIRM)
    {
      lk_kiosk_flow_accept (kiosk2->flow);
      lk_kiosk_rig_wait_screen (kiosk2, LK_KIOSK_SCREEN_ALREADY_ISSUED, 10000);
    }
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (kiosk2->sim), ==, 0);
}

static void
test_already_issued_race (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(LkKioskRig) kiosk1 = lk_kiosk_rig_new (f->ts->base_url, "K-E2E-01", f->secret1, NULL, 150);
  g_autoptr(LkKioskRig) kiosk2 = lk_kiosk_rig_new (f->ts->base_url, "K-E2E-02", f->secret2, NULL, 5);

  lk_kiosk_rig_start (kiosk1);
  lk_kiosk_rig_start (kiosk2);

  /* Both students stand at the confirm screen with the same code; the first one's card is
   * still being made when the second one says yes: "IC卡已完成发卡". */
  lk_kiosk_rig_type_code (kiosk1, f->code);
  lk_kiosk_rig_type_code (kiosk2, f->code);
  lk_kiosk_rig_wait_screen (kiosk1, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_rig_wait_screen (kiosk2, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (kiosk1->flow);
  lk_kiosk_rig_wait_screen (kiosk1, LK_KIOSK_SCREEN_PREPARING, 10000);
  lk_kiosk_flow_accept (kiosk2->flow);
  lk_kiosk_rig_wait_screen (kiosk2, LK_KIOSK_SCREEN_ALREADY_ISSUED, 10000);
  lk_kiosk_rig_wait_screen (kiosk1, LK_KIOSK_SCREEN_DONE, 10000);
  g_assert_true (LK_TEST_WAIT_UNTIL (application_issued (f), 10000));
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (kiosk1->sim), ==, 1);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (kiosk2->sim), ==, 0);
}

static void
test_wrong_code (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(LkKioskRig) kiosk = lk_kiosk_rig_new (f->ts->base_url, "K-E2E-01", f->secret1, NULL, 5);
  g_autofree char *wrong = NULL;
  char seven[8];

  lk_kiosk_rig_start (kiosk);
  /* A valid-looking code (right check digit) that was never issued. */
  memcpy (seven, f->code, 7);
  seven[7] = '\0';
  seven[0] = seven[0] == '9' ? '1' : (char) (seven[0] + 1);
  wrong = lk_test_make_code (seven);
  lk_kiosk_rig_type_code (kiosk, wrong);
  lk_kiosk_rig_wait_screen (kiosk, LK_KIOSK_SCREEN_INVALID, 10000);
  g_assert_cmpuint (lk_dispenser_sim_get_executed (kiosk->sim), >, 0);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (kiosk->sim), ==, 0);
  {
    g_autofree char *status = application_status (f, NULL);
    g_assert_cmpstr (status, ==, "claimable");
  }
}

static void
on_progress_cut_cb (LkKioskFlow *flow,
                    guint        stage,
                    const char  *card_no,
                    LkKioskRig  *rig)
{
  /* The network goes as the card starts to move. */
  if (stage == LK_ISSUE_STAGE_DISPENSING)
    lk_kiosk_link_stop (rig->link);
}

static void
test_network_cut (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(LkKioskRig) kiosk = lk_kiosk_rig_new (f->ts->base_url, "K-E2E-01", f->secret1, NULL, 5);
  g_autofree char *status = NULL;
  g_autofree char *card_no = NULL;

  lk_kiosk_rig_start (kiosk);
  g_signal_connect (kiosk->flow, "issue-progress", G_CALLBACK (on_progress_cut_cb), kiosk);
  claim (kiosk, f->code);
  lk_kiosk_rig_wait_screen (kiosk, LK_KIOSK_SCREEN_DONE, 10000);
  g_assert_false (lk_kiosk_link_get_connected (kiosk->link));
  g_assert_cmpuint (lk_kiosk_store_journal_count (kiosk->store, LK_JOURNAL_COMPLETED), ==, 1);
  status = application_status (f, NULL);
  g_assert_cmpstr (status, !=, "issued");
  g_clear_pointer (&status, g_free);

  /* The network comes back: the report arrives and is acknowledged. */
  lk_kiosk_link_start (kiosk->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_journal_count (kiosk->store,
                                                                   LK_JOURNAL_ACKNOWLEDGED) == 1,
                                     10000));
  status = application_status (f, &card_no);
  g_assert_cmpstr (status, ==, "issued");
  g_assert_cmpuint (strlen (card_no), ==, 8);

  /* Once: the journal holds nothing more to send, and the same report sent again (as after
   * a lost ack) changes nothing on the server. */
  {
    g_autoptr(GPtrArray) pending = lk_kiosk_store_journal_pending (kiosk->store, NULL);

    g_assert_cmpuint (pending->len, ==, 0);
  }
  lk_kiosk_link_drop (kiosk->link);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_n_connects (kiosk->link) == 3 &&
                                     lk_kiosk_link_get_connected (kiosk->link), 10000));
  g_clear_pointer (&card_no, g_free);
  g_clear_pointer (&status, g_free);
  status = application_status (f, &card_no);
  g_assert_cmpstr (status, ==, "issued");
}

static void
test_crash (Fixture       *f,
            gconstpointer  data)
{
  const char *kill_at = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LkKioskRig) restarted = NULL;
  g_autoptr(LkKioskRig) other = NULL;
  g_autoptr(LkDispenserSim) sim = NULL;
  LkDispenserSimOptions options;
  guint warnings;
  g_autofree char *dir = g_dir_make_tmp (NULL, &error);
  g_autofree char *status = NULL;
  g_autofree char *card_no = NULL;

  g_assert_no_error (error);
  lk_dispenser_sim_options_init (&options);
  options.motion_ms = 150;
  /* Nobody takes a card: wherever the kill leaves it, it stays in the channel. */
  options.auto_take_ms = -1;
  options.gap_ms = 0;
  sim = lk_dispenser_sim_new (&options, &error);
  g_assert_no_error (error);
  lk_kiosk_rig_crash_child (f->ts->base_url, "K-E2E-01", f->secret1, dir, f->code, kill_at,
                            sim);
  /* Reserved for the dead kiosk: nobody else can take it meanwhile. */
  other = lk_kiosk_rig_new (f->ts->base_url, "K-E2E-02", f->secret2, NULL, 5);
  lk_kiosk_rig_start (other);
  status = application_status (f, NULL);
  g_assert_cmpstr (status, !=, "issued");
  g_clear_pointer (&status, g_free);

  /* The kiosk restarts on the same disk: the journal reports the claim. */
  restarted = lk_kiosk_rig_new_with_sim (f->ts->base_url, "K-E2E-01", f->secret1, dir, sim);
  warnings = lk_kiosk_rig_get_left_card_warnings ();
  lk_kiosk_rig_start_expecting_left_card (restarted);
  /* The card the kill left in the channel went to the reject box first. */
  g_assert_cmpuint (lk_kiosk_rig_get_left_card_warnings (), ==, warnings + 1);
  {
    g_autofree char *position = lk_dispenser_sim_get_position (sim);

    g_assert_cmpstr (position, ==, "none");
    g_assert_cmpuint (lk_dispenser_sim_get_reject_count (sim), ==, 1);
    g_assert_cmpuint (lk_dispenser_sim_get_taken_count (sim), ==, 0);
  }
  lk_kiosk_rig_sim (restarted, "motion-ms 5");
  lk_kiosk_rig_sim (restarted, "auto-take 20");
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_journal_count (restarted->store,
                                                                   LK_JOURNAL_ACKNOWLEDGED) == 1,
                                     10000));
  /* The card never reached the student: the code is usable again, and comes back to the
   * kiosks' tables. */
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_store_count_codes (restarted->store) == 1, 10000));
  claim (restarted, f->code);
  lk_kiosk_rig_wait_screen (restarted, LK_KIOSK_SCREEN_DONE, 10000);
  g_assert_true (LK_TEST_WAIT_UNTIL (application_issued (f), 10000));
  status = application_status (f, &card_no);
  g_assert_cmpuint (strlen (card_no), ==, 8);

  /* Never twice: the other kiosk cannot issue it again. */
  lk_kiosk_rig_type_code (other, f->code);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_flow_get_screen (other->flow) == LK_KIOSK_SCREEN_CONFIRM ||
                                     lk_kiosk_flow_get_screen (other->flow) == LK_KIOSK_SCREEN_INVALID,
                                     10000));
  if (lk_kiosk_flow_get_screen (other->flow) == LK_KIOSK_SCREEN_CONFIRM)
    {
      lk_kiosk_flow_accept (other->flow);
      lk_kiosk_rig_wait_screen (other, LK_KIOSK_SCREEN_ALREADY_ISSUED, 10000);
    }
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (other->sim), ==, 0);
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

  g_test_add ("/kiosk/e2e/issue-second-kiosk", Fixture, NULL,
              fixture_setup, test_issue_and_second_kiosk, fixture_teardown);
  g_test_add ("/kiosk/e2e/already-issued-race", Fixture, NULL,
              fixture_setup, test_already_issued_race, fixture_teardown);
  g_test_add ("/kiosk/e2e/wrong-code", Fixture, NULL, fixture_setup, test_wrong_code, fixture_teardown);
  g_test_add ("/kiosk/e2e/network-cut", Fixture, NULL, fixture_setup, test_network_cut, fixture_teardown);
  g_test_add ("/kiosk/e2e/crash/dispensing", Fixture, "dispensing",
              fixture_setup, test_crash, fixture_teardown);
  g_test_add ("/kiosk/e2e/crash/card-read", Fixture, "card_read",
              fixture_setup, test_crash, fixture_teardown);

  return g_test_run ();
}
