/* test-driver.c: LkDispenser against lingka-dispenser-sim, through the real pty bytes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lk-dispenser-test-util.h"
#include "lk-k7x0-frame.h"
#include "lk-k7x0-link.h"
#include "lk-transport.h"

typedef struct
{
  LkDispenserSim *sim;
  LkDispenser    *dispenser;
  GArray         *stages;
  GPtrArray      *card_nos;
  GThread        *main_thread;
  gboolean        progress_off_thread;
  guint           ticks;
} Fixture;

static void
fixture_set_up_with (Fixture                     *fixture,
                     const LkDispenserSimOptions *options)
{
  g_autoptr(GError) error = NULL;

  fixture->sim = lk_dispenser_sim_new (options, &error);
  g_assert_no_error (error);
  fixture->dispenser = lk_test_dispenser_new (fixture->sim);
  fixture->stages = g_array_new (FALSE, FALSE, sizeof (LkIssueStage));
  fixture->card_nos = g_ptr_array_new_with_free_func (g_free);
  fixture->main_thread = g_thread_self ();
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  LkDispenserSimOptions options;

  lk_test_sim_options (&options);
  fixture_set_up_with (fixture, &options);
}

static void
fixture_set_up_reply_motion (Fixture       *fixture,
                             gconstpointer  data)
{
  LkDispenserSimOptions options;

  lk_test_sim_options (&options);
  options.reply_motion = TRUE;
  fixture_set_up_with (fixture, &options);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->dispenser);
  g_clear_object (&fixture->sim);
  g_array_unref (fixture->stages);
  g_ptr_array_unref (fixture->card_nos);
}

static void
on_progress (LkIssueStage  stage,
             const char   *card_no,
             gpointer      data)
{
  Fixture *fixture = data;

  if (g_thread_self () != fixture->main_thread)
    fixture->progress_off_thread = TRUE;
  g_array_append_val (fixture->stages, stage);
  g_ptr_array_add (fixture->card_nos, g_strdup (card_no));
}

static gboolean
on_tick_cb (gpointer data)
{
  Fixture *fixture = data;

  fixture->ticks++;
  return G_SOURCE_CONTINUE;
}

static LkIssueResult *
run_issue (Fixture      *fixture,
           const guint8 *card_key,
           gsize         key_len,
           guint         take_timeout_ms,
           GCancellable *cancellable)
{
  g_autoptr(LkCardData) data = lk_test_card_data ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  LkIssueResult *issue;

  lk_dispenser_issue_async (fixture->dispenser, data, card_key, key_len, take_timeout_ms,
                            on_progress, fixture, cancellable, lk_test_store_result_cb,
                            &result);
  g_assert_true (lk_test_wait_result (&result, 20000));
  issue = lk_dispenser_issue_finish (fixture->dispenser, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (issue);
  g_assert_false (fixture->progress_off_thread);
  return issue;
}

static void
assert_stages (Fixture            *fixture,
               const LkIssueStage *expected,
               guint               n)
{
  g_autoptr(GString) seen = g_string_new (NULL);

  for (guint i = 0; i < fixture->stages->len; i++)
    g_string_append_printf (seen, "%s ",
                            lk_issue_stage_to_string (g_array_index (fixture->stages,
                                                                     LkIssueStage, i)));
  g_test_message ("stages: %s", seen->str);

  g_assert_cmpuint (fixture->stages->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_array_index (fixture->stages, LkIssueStage, i), ==, expected[i]);
}

static gboolean
has_stage (Fixture      *fixture,
           LkIssueStage  stage)
{
  for (guint i = 0; i < fixture->stages->len; i++)
    if (g_array_index (fixture->stages, LkIssueStage, i) == stage)
      return TRUE;
  return FALSE;
}

/* The card in the simulator holds exactly the encoded layout, and it decodes to the data. */
static void
assert_card_holds (Fixture      *fixture,
                   const char   *card_no,
                   const guint8 *card_key,
                   gsize         key_len)
{
  g_autoptr(LkCardData) data = lk_test_card_data ();
  g_autoptr(LkCardData) decoded = NULL;
  g_autoptr(GError) error = NULL;
  guint8 uid[LK_CARD_UID_LEN];
  guint8 expected[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];
  guint8 stored[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];

  g_assert_true (lk_card_uid_from_string (card_no, uid));
  g_assert_true (lk_card_layout_encode (data, uid, card_key, key_len, expected, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < LK_CARD_N_BLOCKS; i++)
    {
      g_assert_true (lk_dispenser_sim_get_block (fixture->sim, card_no,
                                                 lk_card_layout_blocks[i], stored[i]));
      g_assert_cmpmem (stored[i], LK_CARD_BLOCK_LEN, expected[i], LK_CARD_BLOCK_LEN);
    }

  decoded = lk_card_layout_decode ((const guint8 (*)[LK_CARD_BLOCK_LEN]) stored, uid, card_key,
                                   key_len, &error);
  g_assert_no_error (error);
  g_assert_true (lk_card_data_equal (decoded, data));
}

static void
test_status (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) faults = NULL;
  LkDispenserStatus status;

  lk_dispenser_get_status_async (fixture->dispenser, NULL, lk_test_store_result_cb, &result);
  g_assert_true (lk_test_wait_result (&result, 5000));
  g_assert_true (lk_dispenser_get_status_finish (fixture->dispenser, result, &status, &error));
  g_assert_no_error (error);
  g_assert_true (lk_dispenser_status_can_issue (&status));
  g_assert_cmpstr (lk_dispenser_status_stock (&status), ==, "ok");
  g_assert_false (status.card_in_channel);
  g_clear_object (&result);

  lk_test_sim_ok (fixture->sim, "empty");
  lk_test_sim_ok (fixture->sim, "reject-full");
  lk_dispenser_get_status_async (fixture->dispenser, NULL, lk_test_store_result_cb, &result);
  g_assert_true (lk_test_wait_result (&result, 5000));
  g_assert_true (lk_dispenser_get_status_finish (fixture->dispenser, result, &status, &error));
  g_assert_true (status.hopper_empty);
  g_assert_true (status.reject_full);
  g_assert_cmpstr (lk_dispenser_status_stock (&status), ==, "empty");
  faults = lk_dispenser_status_faults (&status);
  g_assert_true (g_strv_contains ((const char * const *) faults, LK_DISPENSER_FAULT_EMPTY));
  g_assert_true (g_strv_contains ((const char * const *) faults,
                                  LK_DISPENSER_FAULT_REJECT_FULL));
}

static void
test_issue_normal (Fixture       *fixture,
                   gconstpointer  data)
{
  static const LkIssueStage expected[] = {
    LK_ISSUE_STAGE_CHECKING, LK_ISSUE_STAGE_DISPENSING, LK_ISSUE_STAGE_READING,
    LK_ISSUE_STAGE_WRITING, LK_ISSUE_STAGE_VERIFYING, LK_ISSUE_STAGE_PRESENTED,
    LK_ISSUE_STAGE_TAKEN,
  };
  g_autoptr(LkIssueResult) issue = NULL;
  g_autoptr(LkCardData) card = lk_test_card_data ();
  g_autoptr(GSource) tick = g_timeout_source_new (1);
  guint stock = lk_dispenser_sim_get_stock (fixture->sim);

  /* The caller's main loop keeps running while the driver works. */
  g_source_set_callback (tick, on_tick_cb, fixture, NULL);
  g_source_attach (tick, NULL);

  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_source_destroy (tick);

  g_assert_true (issue->ok);
  g_assert_cmpstr (issue->card_no, ==, "A1B2C3D4");
  g_assert_nonnull (issue->written);
  g_assert_true (lk_card_data_equal (issue->written, card));
  g_assert_false (issue->captured);
  assert_stages (fixture, expected, G_N_ELEMENTS (expected));

  /* card_no is NULL before the UID is read, and the card's number from READING on */
  g_assert_null (g_ptr_array_index (fixture->card_nos, 0));
  g_assert_null (g_ptr_array_index (fixture->card_nos, 1));
  for (guint i = 2; i < fixture->card_nos->len; i++)
    g_assert_cmpstr (g_ptr_array_index (fixture->card_nos, i), ==, "A1B2C3D4");

  assert_card_holds (fixture, issue->card_no, NULL, 0);
  g_assert_cmpuint (lk_dispenser_sim_get_stock (fixture->sim), ==, stock - 1);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 1);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 0);
  g_assert_cmpuint (fixture->ticks, >, 0);

  /* The next card has another UID. */
  g_array_set_size (fixture->stages, 0);
  g_clear_pointer (&issue, lk_issue_result_free);
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  g_assert_cmpstr (issue->card_no, !=, "A1B2C3D4");
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 2);
}

static void
test_issue_card_key (Fixture       *fixture,
                     gconstpointer  data)
{
  static const guint8 key[] = "school card key of test school";
  g_autoptr(LkIssueResult) issue = NULL;
  guint8 uid[LK_CARD_UID_LEN];
  guint8 sector_key[LK_CARD_KEY_LEN];
  guint8 trailer[LK_CARD_BLOCK_LEN];

  issue = run_issue (fixture, key, sizeof key - 1, 5000, NULL);
  g_assert_true (issue->ok);
  assert_card_holds (fixture, issue->card_no, key, sizeof key - 1);

  /* "one card, one key": the trailers of sectors 1 and 2 carry this card's own key */
  g_assert_true (lk_card_uid_from_string (issue->card_no, uid));
  for (guint sector = 1; sector <= 2; sector++)
    {
      lk_card_sector_key (key, sizeof key - 1, uid, sector, sector_key);
      g_assert_true (lk_dispenser_sim_get_block (fixture->sim, issue->card_no, sector * 4 + 3,
                                                 trailer));
      g_assert_cmpmem (trailer, LK_CARD_KEY_LEN, sector_key, LK_CARD_KEY_LEN);
      g_assert_cmpmem (trailer + 10, LK_CARD_KEY_LEN, sector_key, LK_CARD_KEY_LEN);
      g_assert_cmpmem (trailer + 6, 4, "\xFF\x07\x80\x69", 4);
    }
}

/* A card that was written with its own key, captured, and put back in the hopper: the factory
 * key fails, the card's own key opens it, and it is issued again. */
static void
test_issue_card_key_reissue (Fixture       *fixture,
                             gconstpointer  data)
{
  static const guint8 key[] = "school card key of test school";
  g_autoptr(LkIssueResult) issue = NULL;
  g_autofree char *first = NULL;

  /* the trailers are written, then the read-back fails: captured */
  lk_test_sim_ok (fixture->sim, "fail-read 10");
  issue = run_issue (fixture, key, sizeof key - 1, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_true (issue->captured);
  first = g_strdup (issue->card_no);
  g_clear_pointer (&issue, lk_issue_result_free);

  lk_test_sim_ok (fixture->sim, "reload");
  lk_test_sim_ok (fixture->sim, "clear");
  issue = run_issue (fixture, key, sizeof key - 1, 5000, NULL);
  g_assert_true (issue->ok);
  g_assert_cmpstr (issue->card_no, ==, first);
  assert_card_holds (fixture, issue->card_no, key, sizeof key - 1);
}

static void
test_issue_reply_motion (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = run_issue (fixture, NULL, 0, 5000, NULL);

  g_assert_true (issue->ok);
  assert_card_holds (fixture, issue->card_no, NULL, 0);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 1);
}

static void
test_issue_jam (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;
  guint stock = lk_dispenser_sim_get_stock (fixture->sim);
  g_auto(GStrv) faults = NULL;

  lk_test_sim_ok (fixture->sim, "jam");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_JAM);
  g_assert_null (issue->card_no);
  g_assert_false (issue->captured);
  g_assert_true (issue->status.jam);
  faults = lk_dispenser_status_faults (&issue->status);
  g_assert_true (g_strv_contains ((const char * const *) faults, LK_DISPENSER_FAULT_JAM));
  g_assert_cmpuint (lk_dispenser_sim_get_stock (fixture->sim), ==, stock);
  g_assert_false (has_stage (fixture, LK_ISSUE_STAGE_DISPENSING));

  /* Out of service only as long as the jam lasts. */
  lk_test_sim_ok (fixture->sim, "clear");
  g_clear_pointer (&issue, lk_issue_result_free);
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
}

static gboolean
sim_is_dispensing (gpointer data)
{
  Fixture *fixture = data;
  g_autofree char *answer = lk_dispenser_sim_command (fixture->sim, "status");
  const char *status = strstr (answer, "status=");

  /* the second status character carries "dispensing" (8) */
  return status != NULL && g_ascii_xdigit_value (status[8]) >= 8;
}

static gboolean
card_is_stuck (gpointer data)
{
  Fixture *fixture = data;
  g_autofree char *position = lk_dispenser_sim_get_position (fixture->sim);

  return g_str_equal (position, "stuck");
}

/* A jam while the card moves: the driver stops at once, cannot capture a jammed card, and
 * after the technician clears the jam it resets the dispenser and issues again. */
static void
test_issue_jam_while_dispensing (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(LkCardData) card = lk_test_card_data ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(LkIssueResult) issue = NULL;

  lk_test_sim_ok (fixture->sim, "motion-ms 200");
  g_test_expect_message ("lingka-dispenser", G_LOG_LEVEL_WARNING, "could not capture the card*");
  lk_dispenser_issue_async (fixture->dispenser, card, NULL, 0, 5000, on_progress, fixture,
                            NULL, lk_test_store_result_cb, &result);
  g_assert_true (lk_test_wait_until (sim_is_dispensing, fixture, 5000));
  lk_test_sim_ok (fixture->sim, "jam");
  g_assert_true (lk_test_wait_result (&result, 10000));
  g_test_assert_expected_messages ();
  issue = lk_dispenser_issue_finish (fixture->dispenser, result, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_JAM);
  g_assert_null (issue->card_no);
  g_assert_false (issue->captured);
  g_assert_true (has_stage (fixture, LK_ISSUE_STAGE_DISPENSING));
  g_assert_nonnull (strstr (issue->detail, "capture failed"));
  g_assert_true (lk_test_wait_until (card_is_stuck, fixture, 5000));

  lk_test_sim_ok (fixture->sim, "clear");
  lk_test_sim_ok (fixture->sim, "motion-ms 20");
  g_array_set_size (fixture->stages, 0);
  g_clear_pointer (&issue, lk_issue_result_free);
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  assert_card_holds (fixture, issue->card_no, NULL, 0);
}

/* Garbage on the line before the device's answers: the driver reads past it. */
static void
test_issue_noisy_line (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;

  lk_test_sim_ok (fixture->sim, "noise 40");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  assert_card_holds (fixture, issue->card_no, NULL, 0);
}

/* Replies with a wrong BCC: a command that is not a motion is sent again. */
static void
test_issue_corrupt_replies (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;
  g_autofree char *answer = NULL;

  lk_test_sim_ok (fixture->sim, "corrupt 3");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  assert_card_holds (fixture, issue->card_no, NULL, 0);
  /* all three corrupt frames went out, and the simulator NAKed nothing */
  answer = lk_dispenser_sim_command (fixture->sim, "status");
  g_assert_nonnull (strstr (answer, " corrupt=0"));
  g_assert_cmpuint (lk_dispenser_sim_get_naks_sent (fixture->sim), ==, 0);
}

/* A motion past its deadline: the card is still captured once the mechanism is idle. */
static void
test_issue_motion_timeout (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;

  g_autoptr(LkCardData) card = lk_test_card_data ();
  g_autoptr(GAsyncResult) result = NULL;

  lk_dispenser_set_motion_timeout_ms (fixture->dispenser, 300);
  lk_test_sim_ok (fixture->sim, "motion-ms 600");
  lk_dispenser_issue_async (fixture->dispenser, card, NULL, 0, 5000, on_progress, fixture,
                            NULL, lk_test_store_result_cb, &result);
  /* only the dispense overruns; the capture that follows takes its usual time */
  g_assert_true (lk_test_wait_until (sim_is_dispensing, fixture, 5000));
  lk_test_sim_ok (fixture->sim, "motion-ms 20");
  g_assert_true (lk_test_wait_result (&result, 10000));
  issue = lk_dispenser_issue_finish (fixture->dispenser, result, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_JAM);
  g_assert_cmpint (issue->failed_stage, ==, LK_ISSUE_STAGE_DISPENSING);
  g_assert_nonnull (strstr (issue->detail, "did not finish"));
  g_assert_true (issue->captured);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
}

/* A misfeed: no card moved, so nothing is captured; the next issue resets the error bit and
 * works. */
static void
test_issue_misfeed (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;
  guint stock = lk_dispenser_sim_get_stock (fixture->sim);

  lk_test_sim_ok (fixture->sim, "fail-dispense");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_JAM);
  g_assert_cmpint (issue->failed_stage, ==, LK_ISSUE_STAGE_DISPENSING);
  g_assert_null (issue->card_no);
  g_assert_false (issue->captured);
  g_assert_false (has_stage (fixture, LK_ISSUE_STAGE_CAPTURED));
  g_assert_true (issue->status.dispense_error);
  g_assert_cmpuint (lk_dispenser_sim_get_stock (fixture->sim), ==, stock);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 0);

  g_clear_pointer (&issue, lk_issue_result_free);
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  g_assert_false (issue->status.dispense_error);
}

static void
test_issue_empty (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;

  lk_test_sim_ok (fixture->sim, "empty");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_EMPTY);
  g_assert_null (issue->card_no);
  g_assert_true (issue->status.hopper_empty);
  g_assert_true (issue->low_stock);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 0);

  lk_test_sim_ok (fixture->sim, "fill 2");
  g_clear_pointer (&issue, lk_issue_result_free);
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  /* one card left: the pre-check saw low stock */
  g_assert_true (issue->low_stock);
}

static void
test_issue_reject_full (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;
  guint stock = lk_dispenser_sim_get_stock (fixture->sim);

  lk_test_sim_ok (fixture->sim, "reject-full");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_JAM);
  g_assert_true (issue->status.reject_full);
  g_assert_nonnull (strstr (issue->detail, "reject box"));
  /* No card may move when it could not be taken back. */
  g_assert_cmpuint (lk_dispenser_sim_get_stock (fixture->sim), ==, stock);
}

static void
test_issue_nak_retry (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;

  lk_test_sim_ok (fixture->sim, "nak 2");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  g_assert_cmpuint (lk_dispenser_sim_get_naks_sent (fixture->sim), ==, 2);
  assert_card_holds (fixture, issue->card_no, NULL, 0);
}

static void
test_issue_nak_exhausted (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;

  lk_test_sim_ok (fixture->sim, "nak 50");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_DISPENSER_SILENT);
  /* the first frame and three resends */
  g_assert_cmpuint (lk_dispenser_sim_get_naks_sent (fixture->sim), ==, 1 + LK_K7X0_MAX_RESENDS);
  g_assert_nonnull (strstr (issue->detail, "refused"));
}

static void
test_issue_silent (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;
  gint64 start, elapsed_ms;
  guint reply_ms = lk_dispenser_get_reply_timeout_ms (fixture->dispenser);

  lk_test_sim_ok (fixture->sim, "silent");
  start = g_get_monotonic_time ();
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;

  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_DISPENSER_SILENT);
  g_assert_null (issue->card_no);
  /* every try waits its full deadline, and no longer */
  g_assert_cmpint (elapsed_ms, >=, (gint64) reply_ms * (1 + LK_K7X0_MAX_RESENDS) - 20);
  g_assert_cmpint (elapsed_ms, <, (gint64) reply_ms * (1 + LK_K7X0_MAX_RESENDS) + 2000);

  lk_test_sim_ok (fixture->sim, "talk");
  g_clear_pointer (&issue, lk_issue_result_free);
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
}

static void
test_issue_write_failure (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;

  lk_test_sim_ok (fixture->sim, "fail-write");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_WRITE_FAILED);
  g_assert_cmpstr (issue->card_no, ==, "A1B2C3D4");
  g_assert_null (issue->written);
  g_assert_true (issue->captured);
  g_assert_true (has_stage (fixture, LK_ISSUE_STAGE_CAPTURED));
  g_assert_false (has_stage (fixture, LK_ISSUE_STAGE_PRESENTED));
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 0);
}

static void
test_issue_read_failure (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;

  /* every read-back try fails */
  lk_test_sim_ok (fixture->sim, "fail-read 10");
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_READ_FAILED);
  g_assert_nonnull (issue->card_no);
  g_assert_true (issue->captured);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
}

static void
test_issue_not_taken (Fixture       *fixture,
                      gconstpointer  data)
{
  static const LkIssueStage expected[] = {
    LK_ISSUE_STAGE_CHECKING, LK_ISSUE_STAGE_DISPENSING, LK_ISSUE_STAGE_READING,
    LK_ISSUE_STAGE_WRITING, LK_ISSUE_STAGE_VERIFYING, LK_ISSUE_STAGE_PRESENTED,
    LK_ISSUE_STAGE_CAPTURED,
  };
  g_autoptr(LkIssueResult) issue = NULL;
  g_autofree char *position = NULL;

  lk_test_sim_ok (fixture->sim, "untaken");
  issue = run_issue (fixture, NULL, 0, 300, NULL);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_NOT_TAKEN);
  g_assert_cmpstr (issue->card_no, ==, "A1B2C3D4");
  g_assert_true (issue->captured);
  /* the card exists, written, but nobody has it */
  g_assert_nonnull (issue->written);
  assert_stages (fixture, expected, G_N_ELEMENTS (expected));
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 0);
  position = lk_dispenser_sim_get_position (fixture->sim);
  g_assert_cmpstr (position, ==, "none");
}

static void
test_issue_cancelled (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(LkIssueResult) issue = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint stock = lk_dispenser_sim_get_stock (fixture->sim);

  g_cancellable_cancel (cancellable);
  issue = run_issue (fixture, NULL, 0, 5000, cancellable);
  g_assert_false (issue->ok);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_CANCELLED);
  g_assert_false (issue->captured);
  g_assert_cmpuint (lk_dispenser_sim_get_stock (fixture->sim), ==, stock);
}

static void
on_progress_cancel (LkIssueStage  stage,
                    const char   *card_no,
                    gpointer      data)
{
  if (stage == LK_ISSUE_STAGE_PRESENTED)
    g_cancellable_cancel (data);
}

/* Cancelled while the card waits in the mouth: it goes back in, never left behind. */
static void
test_issue_cancelled_presented (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(LkCardData) card = lk_test_card_data ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(LkIssueResult) issue = NULL;

  lk_test_sim_ok (fixture->sim, "untaken");
  lk_dispenser_issue_async (fixture->dispenser, card, NULL, 0, 10000, on_progress_cancel,
                            cancellable, cancellable, lk_test_store_result_cb, &result);
  g_assert_true (lk_test_wait_result (&result, 8000));
  issue = lk_dispenser_issue_finish (fixture->dispenser, result, NULL);
  g_assert_cmpint (issue->reason, ==, LK_FAIL_CANCELLED);
  g_assert_true (issue->captured);
  g_assert_nonnull (issue->card_no);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
}

/* The simulator goes away (a pulled cable): the driver says so at once instead of waiting out
 * every deadline, and reports the dispenser as silent. */
static void
test_port_lost (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LkIssueResult) issue = NULL;
  LkDispenserStatus status;
  gint64 start;

  lk_dispenser_set_reply_timeout_ms (fixture->dispenser, 5000);
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);
  g_clear_pointer (&issue, lk_issue_result_free);

  g_clear_object (&fixture->sim);
  start = g_get_monotonic_time ();
  lk_dispenser_get_status_async (fixture->dispenser, NULL, lk_test_store_result_cb, &result);
  g_assert_true (lk_test_wait_result (&result, 5000));
  g_assert_false (lk_dispenser_get_status_finish (fixture->dispenser, result, &status, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  /* well before one reply deadline */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
}

static void
test_test_issue (Fixture       *fixture,
                 gconstpointer  data)
{
  static const LkIssueStage expected[] = {
    LK_ISSUE_STAGE_CHECKING, LK_ISSUE_STAGE_DISPENSING, LK_ISSUE_STAGE_READING,
    LK_ISSUE_STAGE_WRITING, LK_ISSUE_STAGE_VERIFYING, LK_ISSUE_STAGE_CAPTURED,
  };
  static const guint8 zeros[LK_CARD_BLOCK_LEN] = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(LkIssueResult) issue = NULL;
  guint8 block[LK_CARD_BLOCK_LEN];

  lk_dispenser_test_issue_async (fixture->dispenser, NULL, 0, on_progress, fixture, NULL,
                                 lk_test_store_result_cb, &result);
  g_assert_true (lk_test_wait_result (&result, 10000));
  issue = lk_dispenser_test_issue_finish (fixture->dispenser, result, NULL);
  g_assert_true (issue->ok);
  g_assert_true (issue->captured);
  g_assert_cmpstr (issue->card_no, ==, "A1B2C3D4");
  assert_stages (fixture, expected, G_N_ELEMENTS (expected));
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 0);
  /* the test block was written, checked and blanked again */
  g_assert_true (lk_dispenser_sim_get_block (fixture->sim, issue->card_no,
                                             LK_DISPENSER_TEST_BLOCK, block));
  g_assert_cmpmem (block, sizeof block, zeros, sizeof zeros);
  g_assert_cmpuint (lk_dispenser_sim_get_executed (fixture->sim), >, 8);
}

static void
test_transport_pick (void)
{
  LkDispenserSimOptions options;
  g_autoptr(LkDispenserSim) sim = NULL;
  g_autoptr(LkTransport) transport = NULL;
  g_autoptr(GError) error = NULL;
  const char *path;
  guint8 status_frame[] = { 0x02, 0x30, 0x30, 0x00, 0x02, 0x41, 0x50, 0x03, 0x12 };
  guint8 buffer[3];
  gssize n;

  lk_test_sim_options (&options);
  sim = lk_dispenser_sim_new (&options, &error);
  g_assert_no_error (error);
  path = lk_dispenser_sim_get_port (sim) + strlen ("pty:");

  /* libserialport refuses a pty; the termios transport takes it */
  transport = lk_transport_open_by_name (path, 9600, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lk_transport_get_name (transport), ==, path);

  /* the worked AP frame gets the device's ACK */
  g_assert_true (lk_transport_write_all (transport, status_frame, sizeof status_frame, &error));
  n = lk_transport_read (transport, buffer, 1, g_get_monotonic_time () + G_USEC_PER_SEC, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpuint (buffer[0], ==, LK_K7X0_ACK);
  g_assert_true (lk_transport_flush_input (transport, &error));

  /* nothing more comes until the ENQ: a read times out at its deadline */
  n = lk_transport_read (transport, buffer, sizeof buffer, g_get_monotonic_time () + 50000,
                         &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  lk_transport_close (transport);
  g_assert_false (lk_transport_write_all (transport, status_frame, 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);

  g_assert_null (lk_transport_open_by_name ("/nonexistent/ttyS9", 9600, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (lk_transport_open_by_name (lk_dispenser_sim_get_port (sim), 1234, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static gboolean
read_ack (LkTransport *transport,
          guint        timeout_ms)
{
  g_autoptr(GError) error = NULL;
  guint8 reply[3];
  gssize n;

  n = lk_transport_read (transport, reply, sizeof reply,
                         g_get_monotonic_time () + timeout_ms * 1000, &error);
  if (n < 0)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
      return FALSE;
    }
  g_assert_cmpuint (reply[0], ==, LK_K7X0_ACK);
  return TRUE;
}

/* The simulator is as strict as the device: a frame with a pause between its characters is
 * void, and a frame for another address gets no answer. */
static void
test_sim_strict (void)
{
  LkDispenserSimOptions options;
  g_autoptr(LkDispenserSim) sim = NULL;
  g_autoptr(LkTransport) transport = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) other = lk_k7x0_frame_build (5, (const guint8 *) "AP", 2);
  const guint8 ap[] = { 0x02, 0x30, 0x30, 0x00, 0x02, 0x41, 0x50, 0x03, 0x12 };

  lk_test_sim_options (&options);
  sim = lk_dispenser_sim_new (&options, &error);
  g_assert_no_error (error);
  transport = lk_transport_open_by_name (lk_dispenser_sim_get_port (sim), 9600, &error);
  g_assert_no_error (error);

  /* a pause of twice the device's limit in the middle of the frame: the pause is the input
   * under test here, not a way to wait for something */
  g_assert_true (lk_transport_write_all (transport, ap, 4, &error));
  g_usleep (2 * options.gap_ms * 1000);
  g_assert_true (lk_transport_write_all (transport, ap + 4, sizeof ap - 4, &error));
  g_assert_false (read_ack (transport, 200));

  g_assert_true (lk_transport_write_all (transport, other->data, other->len, &error));
  g_assert_false (read_ack (transport, 200));

  g_assert_true (lk_transport_write_all (transport, ap, sizeof ap, &error));
  g_assert_true (read_ack (transport, 2000));

  /* EOT instead of ENQ calls the command off: a later ENQ executes nothing */
  {
    const guint8 eot[] = { LK_K7X0_EOT, 0x30, 0x30 };
    const guint8 enq[] = { LK_K7X0_ENQ, 0x30, 0x30 };
    guint executed = lk_dispenser_sim_get_executed (sim);
    guint8 reply[16];

    g_assert_true (lk_transport_write_all (transport, eot, sizeof eot, &error));
    g_assert_true (lk_transport_write_all (transport, enq, sizeof enq, &error));
    g_assert_cmpint (lk_transport_read (transport, reply, sizeof reply,
                                        g_get_monotonic_time () + 200000, &error), ==, -1);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_clear_error (&error);
    g_assert_cmpuint (lk_dispenser_sim_get_executed (sim), ==, executed);

    /* while ENQ after an ACK gets the status frame */
    g_assert_true (lk_transport_write_all (transport, ap, sizeof ap, &error));
    g_assert_true (read_ack (transport, 2000));
    g_assert_true (lk_transport_write_all (transport, enq, sizeof enq, &error));
    g_assert_cmpint (lk_transport_read (transport, reply, 11,
                                        g_get_monotonic_time () + 2 * G_USEC_PER_SEC, &error),
                     >, 0);
    g_assert_no_error (error);
    g_assert_cmpuint (reply[0], ==, LK_K7X0_STX);
    g_assert_cmpuint (lk_dispenser_sim_get_executed (sim), ==, executed + 1);
  }
}

/* Runs one motion command on the simulator behind the driver's back, as a kiosk that crashed
 * mid-issue would have left it. */
static void
raw_motion (LkDispenserSim *sim,
            const char     *command)
{
  g_autoptr(LkTransport) transport = NULL;
  g_autoptr(GByteArray) frame = lk_k7x0_frame_build (0, (const guint8 *) command,
                                                     strlen (command));
  g_autoptr(GError) error = NULL;
  const guint8 enq[] = { LK_K7X0_ENQ, 0x30, 0x30 };

  transport = lk_transport_open_by_name (lk_dispenser_sim_get_port (sim), 9600, &error);
  g_assert_no_error (error);
  g_assert_true (lk_transport_write_all (transport, frame->data, frame->len, &error));
  g_assert_true (read_ack (transport, 2000));
  g_assert_true (lk_transport_write_all (transport, enq, sizeof enq, &error));
}

typedef struct
{
  LkDispenserSim *sim;
  const char     *position;
} PositionWait;

static gboolean
sim_position_is (gpointer data)
{
  PositionWait *wait = data;
  g_autofree char *position = lk_dispenser_sim_get_position (wait->sim);

  return g_str_equal (position, wait->position);
}

static gboolean
run_recover (Fixture   *fixture,
             gboolean  *captured,
             char     **card_no,
             GError   **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  lk_dispenser_recover_async (fixture->dispenser, NULL, lk_test_store_result_cb, &result);
  g_assert_true (lk_test_wait_result (&result, 10000));
  return lk_dispenser_recover_finish (fixture->dispenser, result, captured, card_no, error);
}

/* After a crash: a card at the antenna is read and captured, a card in the mouth captured. */
static void
test_recover (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *card_no = NULL;
  g_autoptr(LkIssueResult) issue = NULL;
  PositionWait at_read = { fixture->sim, "read" };
  PositionWait at_mouth = { fixture->sim, "mouth" };
  gboolean captured = TRUE;

  /* nothing left behind */
  g_assert_true (run_recover (fixture, &captured, &card_no, &error));
  g_assert_no_error (error);
  g_assert_false (captured);
  g_assert_null (card_no);

  raw_motion (fixture->sim, "FC7");
  g_assert_true (lk_test_wait_until (sim_position_is, &at_read, 5000));
  g_test_expect_message ("lingka-dispenser", G_LOG_LEVEL_WARNING, "a card was left*");
  g_assert_true (run_recover (fixture, &captured, &card_no, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_true (captured);
  g_assert_cmpstr (card_no, ==, "A1B2C3D4");
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
  g_clear_pointer (&card_no, g_free);

  lk_test_sim_ok (fixture->sim, "untaken");
  raw_motion (fixture->sim, "FC7");
  g_assert_true (lk_test_wait_until (sim_position_is, &at_read, 5000));
  raw_motion (fixture->sim, "FC0");
  g_assert_true (lk_test_wait_until (sim_position_is, &at_mouth, 5000));
  g_test_expect_message ("lingka-dispenser", G_LOG_LEVEL_WARNING, "a card was left*");
  g_assert_true (run_recover (fixture, &captured, &card_no, &error));
  g_test_assert_expected_messages ();
  g_assert_true (captured);
  g_assert_null (card_no);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 2);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 0);

  /* and the next student gets a card */
  issue = run_issue (fixture, NULL, 0, 5000, NULL);
  g_assert_true (issue->ok);

  /* a jam is for a technician */
  lk_test_sim_ok (fixture->sim, "jam");
  g_assert_false (run_recover (fixture, &captured, &card_no, &error));
  g_assert_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_JAM);
}

#define ADD(path, func, setup) \
  g_test_add (path, Fixture, NULL, setup, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/driver/transport/pick", test_transport_pick);
  g_test_add_func ("/driver/sim/strict", test_sim_strict);
  ADD ("/driver/status", test_status, fixture_set_up);
  ADD ("/driver/issue/normal", test_issue_normal, fixture_set_up);
  ADD ("/driver/issue/card-key", test_issue_card_key, fixture_set_up);
  ADD ("/driver/issue/card-key-reissue", test_issue_card_key_reissue, fixture_set_up);
  ADD ("/driver/issue/reply-motion", test_issue_reply_motion, fixture_set_up_reply_motion);
  ADD ("/driver/issue/jam", test_issue_jam, fixture_set_up);
  ADD ("/driver/issue/jam-while-dispensing", test_issue_jam_while_dispensing, fixture_set_up);
  ADD ("/driver/issue/noisy-line", test_issue_noisy_line, fixture_set_up);
  ADD ("/driver/issue/corrupt-replies", test_issue_corrupt_replies, fixture_set_up);
  ADD ("/driver/issue/motion-timeout", test_issue_motion_timeout, fixture_set_up);
  ADD ("/driver/issue/misfeed", test_issue_misfeed, fixture_set_up);
  ADD ("/driver/issue/misfeed-reply-motion", test_issue_misfeed, fixture_set_up_reply_motion);
  ADD ("/driver/issue/empty", test_issue_empty, fixture_set_up);
  ADD ("/driver/issue/reject-full", test_issue_reject_full, fixture_set_up);
  ADD ("/driver/issue/nak-retry", test_issue_nak_retry, fixture_set_up);
  ADD ("/driver/issue/nak-exhausted", test_issue_nak_exhausted, fixture_set_up);
  ADD ("/driver/issue/silent", test_issue_silent, fixture_set_up);
  ADD ("/driver/issue/write-failure", test_issue_write_failure, fixture_set_up);
  ADD ("/driver/issue/write-failure-reply-motion", test_issue_write_failure,
       fixture_set_up_reply_motion);
  ADD ("/driver/issue/read-failure", test_issue_read_failure, fixture_set_up);
  ADD ("/driver/issue/not-taken", test_issue_not_taken, fixture_set_up);
  ADD ("/driver/issue/not-taken-reply-motion", test_issue_not_taken,
       fixture_set_up_reply_motion);
  ADD ("/driver/issue/cancelled", test_issue_cancelled, fixture_set_up);
  ADD ("/driver/issue/cancelled-presented", test_issue_cancelled_presented, fixture_set_up);
  ADD ("/driver/test-issue", test_test_issue, fixture_set_up);
  ADD ("/driver/port-lost", test_port_lost, fixture_set_up);
  ADD ("/driver/recover", test_recover, fixture_set_up);

  return g_test_run ();
}
