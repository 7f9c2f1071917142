/* bench-kiosk-issue.c: the kiosk's software share of an issue
 *
 * The real kiosk logic (store, link, flow, dispenser driver) against lingka-server in-process
 * (on its own listener threads, as a remote server would be) and the simulator on a real pty
 * answering at once (no mechanical time: motion-ms 0, the card taken the moment it is
 * ejected). For each of N issues it measures, from the student's "是，领取" (the code
 * confirmed):
 *   - to the dispense command sent (FC7 on the wire: the claim.request round trip, the
 *     journal writes and the driver's pre-check);
 *   - to the card reported (claim.completed journaled and sent);
 *   - to the server's ack of that report.
 * and prints p50, p99 and max of each.
 *
 *   bench-kiosk-issue [N]      (default 200)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>

#include "lk-kiosk-test-rig.h"
#include "lk-kiosk-test-util.h"
#include "lk-test-server.h"

#define N_STAGES (LK_ISSUE_STAGE_CAPTURED + 1)

typedef struct
{
  gint64 t_confirm;
  gint64 t_dispense;
  gint64 t_reported;
  gint64 t_acked;
  gint64 t_stage[N_STAGES];
} Sample;

static void
on_progress_cb (LkKioskFlow *flow,
                guint        stage,
                const char  *card_no,
                Sample      *sample)
{
  gint64 now = g_get_monotonic_time ();

  if (stage == LK_ISSUE_STAGE_DISPENSING && sample->t_dispense == 0)
    sample->t_dispense = now;
  if (stage < N_STAGES && sample->t_stage[stage] == 0)
    sample->t_stage[stage] = now;
}

static void
on_finished_cb (LkKioskFlow *flow,
                gboolean     ok,
                guint        reason,
                Sample      *sample)
{
  if (!ok)
    g_error ("an issue failed: %s", lk_fail_reason_to_string (reason));
  sample->t_reported = g_get_monotonic_time ();
}

static void
on_acked_cb (LkKioskLink *link,
             const char  *report_id,
             Sample      *sample)
{
  sample->t_acked = g_get_monotonic_time ();
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
print_stats (const char *what,
             GArray     *values)
{
  guint n = values->len;
  gint64 *v = (gint64 *) (gpointer) values->data;
  guint p50, p99;

  g_array_sort (values, compare_gint64);
  p50 = (n - 1) * 50 / 100;
  p99 = (n - 1) * 99 / 100;
  printf ("  %-38s p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", what,
          v[p50] / 1000.0, v[p99] / 1000.0, v[n - 1] / 1000.0);
}

int
main (int   argc,
      char *argv[])
{
  guint n = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 200;
  g_autoptr(GPtrArray) codes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) to_dispense = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) to_report = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) to_ack = g_array_new (FALSE, FALSE, sizeof (gint64));
  /* Where the time goes: from one progress stage to the next. */
  static const struct { LkIssueStage from, to; const char *what; } phases[] = {
    { LK_ISSUE_STAGE_DISPENSING, LK_ISSUE_STAGE_READING, "  FC7, position polls, search, UID" },
    { LK_ISSUE_STAGE_READING, LK_ISSUE_STAGE_WRITING, "  key check" },
    { LK_ISSUE_STAGE_WRITING, LK_ISSUE_STAGE_VERIFYING, "  write the blocks" },
    { LK_ISSUE_STAGE_VERIFYING, LK_ISSUE_STAGE_PRESENTED, "  read back, compare, FC0" },
    { LK_ISSUE_STAGE_PRESENTED, LK_ISSUE_STAGE_TAKEN, "  card taken seen by polling" },
  };
  GArray *phase_times[G_N_ELEMENTS (phases) + 1];
  g_autofree char *secret = NULL;
  LkKioskFlowTiming timing;
  LkTestServer *ts;
  LkKioskRig *rig;
  Sample sample;
  gint64 t_setup;
  guint fill;

  if (n == 0 || n > 5000)
    {
      fprintf (stderr, "usage: bench-kiosk-issue [N]   (1..5000 issues, default 200)\n");
      return 2;
    }
  g_log_set_writer_func (g_log_writer_default, NULL, NULL);
  g_setenv ("G_MESSAGES_DEBUG", "", TRUE);

  /* The school: N students, each applied for and paid (sandbox), each with a claim code. */
  t_setup = g_get_monotonic_time ();
  ts = lk_test_server_new (0, NULL);
  {
    typedef const char *Row[6];
    g_autofree Row *rows = g_malloc0_n (n, sizeof (Row));
    g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);

    for (guint i = 0; i < n; i++)
      {
        char *name = g_strdup_printf ("学生%u", i);
        char *number = g_strdup_printf ("2026%06u", i);

        g_ptr_array_add (strings, name);
        g_ptr_array_add (strings, number);
        rows[i][0] = LK_TEST_PROVINCE;
        rows[i][1] = LK_TEST_SCHOOL;
        rows[i][2] = "三年级(2)班";
        rows[i][3] = name;
        rows[i][4] = number;
        rows[i][5] = NULL;
      }
    lk_test_server_import (ts, ts->operator_token, rows, n);
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *token = NULL;
        g_autofree char *app = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL,
                                                     "三年级(2)班", rows[i][3], rows[i][4],
                                                     &token);

        g_ptr_array_add (codes, lk_test_server_pay (ts, app, token));
      }
  }
  secret = lk_test_server_register_kiosk (ts, "K-BENCH-01", ts->school_id);

  /* The kiosk, with a dispenser that answers at once. */
  rig = lk_kiosk_rig_new (ts->base_url, "K-BENCH-01", secret, NULL, 0);
  lk_kiosk_rig_sim (rig, "auto-take 0");
  fill = n + 10;
  {
    g_autofree char *cmd = g_strdup_printf ("fill %u", fill);
    lk_kiosk_rig_sim (rig, cmd);
  }
  lk_dispenser_set_poll_interval_ms (rig->dispenser, 1);
  timing = *lk_kiosk_flow_get_timing (rig->flow);
  /* A status poll would share the port with the issues: keep it out of the way. */
  timing.status_poll_ms = 600000;
  lk_kiosk_flow_set_timing (rig->flow, &timing);
  lk_kiosk_rig_start (rig);
  if (!LK_TEST_WAIT_UNTIL (lk_kiosk_store_count_codes (rig->store) == n, 30000))
    g_error ("the kiosk has %u of %u codes", lk_kiosk_store_count_codes (rig->store), n);

  printf ("machine: %u CPUs; setup (%u students applied and paid): %.1f s\n",
          g_get_num_processors (), n, (g_get_monotonic_time () - t_setup) / 1e6);
  printf ("%u issues, simulator answering at once, driver poll 1 ms, "
          "journal synchronous=FULL\n", n);

  for (guint p = 0; p < G_N_ELEMENTS (phase_times); p++)
    phase_times[p] = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_signal_connect (rig->flow, "issue-progress", G_CALLBACK (on_progress_cb), &sample);
  g_signal_connect (rig->flow, "claim-finished", G_CALLBACK (on_finished_cb), &sample);
  g_signal_connect (rig->link, "report-acknowledged", G_CALLBACK (on_acked_cb), &sample);

  for (guint i = 0; i < n; i++)
    {
      gint64 d;

      memset (&sample, 0, sizeof sample);
      lk_kiosk_rig_type_code (rig, g_ptr_array_index (codes, i));
      lk_kiosk_rig_wait_screen (rig, LK_KIOSK_SCREEN_CONFIRM, 10000);

      sample.t_confirm = g_get_monotonic_time ();
      lk_kiosk_flow_accept (rig->flow);
      lk_kiosk_rig_wait_screen (rig, LK_KIOSK_SCREEN_DONE, 10000);
      if (!LK_TEST_WAIT_UNTIL (sample.t_acked != 0, 10000))
        g_error ("issue %u: no ack", i);

      d = sample.t_dispense - sample.t_confirm;
      g_array_append_val (to_dispense, d);
      d = sample.t_reported - sample.t_confirm;
      g_array_append_val (to_report, d);
      d = sample.t_acked - sample.t_confirm;
      g_array_append_val (to_ack, d);
      for (guint p = 0; p < G_N_ELEMENTS (phases); p++)
        {
          d = sample.t_stage[phases[p].to] - sample.t_stage[phases[p].from];
          g_array_append_val (phase_times[p], d);
        }
      d = sample.t_reported - sample.t_stage[LK_ISSUE_STAGE_TAKEN];
      g_array_append_val (phase_times[G_N_ELEMENTS (phases)], d);
      lk_kiosk_flow_go_idle (rig->flow);
    }

  print_stats ("confirmed → dispense command sent", to_dispense);
  print_stats ("confirmed → card reported (sent)", to_report);
  print_stats ("confirmed → report acknowledged", to_ack);
  printf ("dispense command sent → card reported, by step:\n");
  for (guint p = 0; p < G_N_ELEMENTS (phases); p++)
    print_stats (phases[p].what, phase_times[p]);
  print_stats ("  journal, report sent", phase_times[G_N_ELEMENTS (phases)]);
  for (guint p = 0; p < G_N_ELEMENTS (phase_times); p++)
    g_array_unref (phase_times[p]);
  printf ("cards taken: %u; journal rows acknowledged: %u\n",
          lk_dispenser_sim_get_taken_count (rig->sim),
          lk_kiosk_store_journal_count (rig->store, LK_JOURNAL_ACKNOWLEDGED));

  lk_kiosk_rig_free (rig);
  lk_test_server_free (ts);
  return 0;
}
