/* lk-kiosk-test-rig.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "lk-kiosk-test-rig.h"
#include "lk-kiosk-test-util.h"

static LkKioskRig *
rig_new (const char     *server_url,
         const char     *sn,
         const char     *secret,
         const char     *dir,
         guint           motion_ms,
         LkDispenserSim *sim,
         const char     *port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;
  LkDispenserSimOptions options;
  LkKioskRig *rig = g_new0 (LkKioskRig, 1);
  LkKioskLinkTiming link_timing = {
    .backoff_min_ms = 20,
    .backoff_max_ms = 200,
    .heartbeat_interval_ms = 1000,
    .heartbeat_deadline_ms = 5000,
    .status_interval_ms = 60000,
  };
  LkKioskFlowTiming flow_timing = {
    .entry_timeout_ms = 20000,
    .notice_timeout_ms = 20000,
    .claim_timeout_ms = 5000,
    .take_timeout_ms = 2000,
    .lockout_ms = 60000,
    .max_wrong_codes = 5,
    .status_poll_ms = 100,
    .service_timeout_ms = 20000,
  };

  if (dir != NULL)
    rig->dir = g_strdup (dir);
  else
    {
      rig->dir = g_dir_make_tmp (NULL, &error);
      g_assert_no_error (error);
    }

  if (sim != NULL)
    rig->sim = g_object_ref (sim);
  else if (port == NULL)
    {
      lk_dispenser_sim_options_init (&options);
      options.motion_ms = motion_ms;
      options.auto_take_ms = 20;
      options.gap_ms = 0;
      rig->sim = lk_dispenser_sim_new (&options, &error);
      g_assert_no_error (error);
    }
  if (rig->sim != NULL)
    port = lk_dispenser_sim_get_port (rig->sim);

  rig->dispenser = lk_dispenser_new (port, 0, 9600, &error);
  g_assert_no_error (error);
  lk_dispenser_set_poll_interval_ms (rig->dispenser, 5);
  lk_dispenser_set_reply_timeout_ms (rig->dispenser, 300);
  lk_dispenser_set_motion_timeout_ms (rig->dispenser, 3000);

  rig->config = lk_kiosk_config_new ();
  lk_kiosk_config_set_server_url (rig->config, server_url);
  lk_kiosk_config_set_credentials (rig->config, sn, secret);
  lk_kiosk_config_set_serial_port (rig->config, port);
  lk_kiosk_config_set_data_dir (rig->config, rig->dir);
  lk_kiosk_config_set_school_name (rig->config, "杭州市文三街小学");
  lk_kiosk_config_set_service_pin (rig->config, LK_TEST_SERVICE_PIN);
  g_assert_true (lk_kiosk_config_set_card_key_hex (rig->config, "00112233445566778899aabbccddeeff",
                                                   &error));

  db = g_build_filename (rig->dir, "kiosk.db", NULL);
  rig->store = lk_kiosk_store_open (db, &error);
  g_assert_no_error (error);
  rig->link = lk_kiosk_link_new (rig->config, rig->store);
  lk_kiosk_link_set_timing (rig->link, &link_timing);
  rig->flow = lk_kiosk_flow_new (rig->config, rig->store, rig->link, rig->dispenser);
  lk_kiosk_flow_set_timing (rig->flow, &flow_timing);
  return rig;
}

LkKioskRig *
lk_kiosk_rig_new (const char *server_url,
                  const char *sn,
                  const char *secret,
                  const char *dir,
                  guint       motion_ms)
{
  return rig_new (server_url, sn, secret, dir, motion_ms, NULL, NULL);
}

LkKioskRig *
lk_kiosk_rig_new_with_sim (const char     *server_url,
                           const char     *sn,
                           const char     *secret,
                           const char     *dir,
                           LkDispenserSim *sim)
{
  g_assert_nonnull (sim);
  return rig_new (server_url, sn, secret, dir, 0, sim, NULL);
}

LkKioskRig *
lk_kiosk_rig_new_on_port (const char *server_url,
                          const char *sn,
                          const char *secret,
                          const char *dir,
                          const char *port)
{
  g_assert_nonnull (port);
  return rig_new (server_url, sn, secret, dir, 0, NULL, port);
}

void
lk_kiosk_rig_free (LkKioskRig *rig)
{
  lk_kiosk_flow_stop (rig->flow);
  g_clear_object (&rig->flow);
  g_clear_object (&rig->link);
  g_clear_object (&rig->dispenser);
  g_clear_object (&rig->store);
  g_clear_object (&rig->config);
  g_clear_object (&rig->sim);
  /* Let the cancelled operations and closed sockets run down. */
  while (g_main_context_iteration (NULL, FALSE));
  lk_test_remove_tree (rig->dir);
  g_free (rig->dir);
  g_free (rig);
}

void
lk_kiosk_rig_wait_screen (LkKioskRig    *rig,
                          LkKioskScreen  screen,
                          guint          timeout_ms)
{
  if (!LK_TEST_WAIT_UNTIL (lk_kiosk_flow_get_screen (rig->flow) == screen, timeout_ms))
    g_error ("waited for screen %s, still on %s", lk_kiosk_screen_to_string (screen),
             lk_kiosk_screen_to_string (lk_kiosk_flow_get_screen (rig->flow)));
}

void
lk_kiosk_rig_start (LkKioskRig *rig)
{
  lk_kiosk_flow_start (rig->flow);
  lk_kiosk_rig_wait_screen (rig, LK_KIOSK_SCREEN_IDLE, 10000);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (rig->link), 10000));
}

void
lk_kiosk_rig_type_code (LkKioskRig *rig,
                        const char *code)
{
  if (lk_kiosk_flow_get_screen (rig->flow) == LK_KIOSK_SCREEN_IDLE)
    lk_kiosk_flow_start_entry (rig->flow);
  g_assert_cmpint (lk_kiosk_flow_get_screen (rig->flow), ==, LK_KIOSK_SCREEN_ENTRY);
  for (const char *p = code; *p; p++)
    lk_kiosk_flow_press_digit (rig->flow, (guint) (*p - '0'));
  lk_kiosk_flow_submit (rig->flow);
}

void
lk_kiosk_rig_sim (LkKioskRig *rig,
                  const char *command)
{
  g_autofree char *answer = lk_dispenser_sim_command (rig->sim, command);

  if (!g_str_has_prefix (answer, "ok"))
    g_error ("simulator: %s → %s", command, answer);
}

static void
on_child_progress_cb (LkKioskFlow *flow,
                      guint        stage,
                      const char  *card_no,
                      const char  *kill_at)
{
  /* The flow emits progress after it has journaled the stage. */
  if ((stage == LK_ISSUE_STAGE_DISPENSING && g_str_equal (kill_at, "dispensing")) ||
      (stage == LK_ISSUE_STAGE_READING && g_str_equal (kill_at, "card_read")))
    {
      g_print ("%s\n", kill_at);
      fflush (stdout);
      /* Wait here for the kill: nothing else happens on this kiosk's main loop. */
      for (;;)
        pause ();
    }
}

int
lk_kiosk_rig_child_main (const char *server_url,
                         const char *sn,
                         const char *secret,
                         const char *dir,
                         const char *code,
                         const char *kill_at,
                         const char *port)
{
  /* 150 ms motions: the parent has time to kill before the issue ends. ("-": no port.) */
  g_autoptr(LkKioskRig) rig = g_str_equal (port, "-")
                              ? lk_kiosk_rig_new (server_url, sn, secret, dir, 150)
                              : lk_kiosk_rig_new_on_port (server_url, sn, secret, dir, port);

  g_signal_connect (rig->flow, "issue-progress", G_CALLBACK (on_child_progress_cb),
                    (gpointer) kill_at);
  lk_kiosk_rig_start (rig);
  lk_kiosk_rig_type_code (rig, code);
  lk_kiosk_rig_wait_screen (rig, LK_KIOSK_SCREEN_CONFIRM, 10000);
  lk_kiosk_flow_accept (rig->flow);
  lk_kiosk_rig_wait_screen (rig, LK_KIOSK_SCREEN_DONE, 10000);
  /* Reaching this point means the kill never came. */
  return 1;
}

static gboolean
on_tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
card_has_moved (LkDispenserSim *sim)
{
  g_autofree char *position = lk_dispenser_sim_get_position (sim);

  return g_strcmp0 (position, "none") != 0;
}

static void
on_line_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

void
lk_kiosk_rig_crash_child (const char *server_url,
                          const char *sn,
                          const char *secret,
                          const char *dir,
                          const char     *code,
                          const char     *kill_at,
                          LkDispenserSim *sim)
{
  const char *port = sim != NULL ? lk_dispenser_sim_get_port (sim) : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *self_exe = NULL;
  g_autofree char *line = NULL;

  self_exe = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, self_exe, "--child",
                            server_url, sn, secret, dir, code, kill_at, port ? port : "-",
                            NULL);
  g_assert_no_error (error);

  /* Read the child's line while this process's main loop keeps serving. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, on_line_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 30000));
  line = g_data_input_stream_read_line_finish_utf8 (out, result, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, kill_at);

  /* The journal says the card moves: make sure it has left the hopper before the power goes
   * (the simulator runs on its own thread; re-check every few ms until the deadline). */
  if (sim != NULL)
    {
      guint ticker = g_timeout_add (5, on_tick_cb, NULL);
      gboolean moved = LK_TEST_WAIT_UNTIL (card_has_moved (sim), 10000);

      g_source_remove (ticker);
      g_assert_true (moved);
    }

  g_subprocess_force_exit (child);
  g_subprocess_wait (child, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (child));
  g_assert_cmpint (g_subprocess_get_term_sig (child), ==, SIGKILL);
}

static guint left_card_warnings;

static gboolean
is_left_card_warning (const char     *log_domain,
                      GLogLevelFlags  log_level,
                      const char     *message)
{
  return g_strcmp0 (log_domain, "lingka-dispenser") == 0 &&
         (log_level & G_LOG_LEVEL_WARNING) != 0 &&
         strstr (message, "a card was left in the channel") != NULL;
}

static void
dispenser_warning_handler (const char     *log_domain,
                           GLogLevelFlags  log_level,
                           const char     *message,
                           gpointer        user_data)
{
  if (is_left_card_warning (log_domain, log_level, message))
    {
      g_atomic_int_inc (&left_card_warnings);
      g_test_message ("expected: %s", message);
      return;
    }
  g_log_default_handler (log_domain, log_level, message, NULL);
}

void
lk_kiosk_rig_watch_left_card_warnings (void)
{
  g_log_set_handler ("lingka-dispenser", G_LOG_LEVEL_WARNING | G_LOG_FLAG_FATAL,
                     dispenser_warning_handler, NULL);
}

void
lk_kiosk_rig_start_expecting_left_card (LkKioskRig *rig)
{
  GLogLevelFlags fatal;

  /* The test framework makes every warning fatal, and a fatal warning aborts whatever its
   * handler does; for the start-up recovery, only criticals are. */
  fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  lk_kiosk_rig_start (rig);
  g_log_set_always_fatal (fatal);
}

guint
lk_kiosk_rig_get_left_card_warnings (void)
{
  return g_atomic_int_get (&left_card_warnings);
}
