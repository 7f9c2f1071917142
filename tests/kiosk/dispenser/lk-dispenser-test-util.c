/* lk-dispenser-test-util.c: helpers for the driver, simulator and service tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-dispenser-test-util.h"

typedef struct
{
  gboolean expired;
} Deadline;

static gboolean
on_deadline_cb (gpointer data)
{
  Deadline *deadline = data;

  deadline->expired = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
on_recheck_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
lk_test_wait_until (LkTestCondition condition,
                    gpointer        data,
                    guint           timeout_ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  Deadline deadline = { FALSE };
  g_autoptr(GSource) source = g_timeout_source_new (timeout_ms);
  gboolean held;

  g_autoptr(GSource) recheck = g_timeout_source_new (2);

  g_source_set_callback (source, on_deadline_cb, &deadline, NULL);
  g_source_attach (source, context);
  /* Some conditions (the simulator's state) change on other threads without any event on
   * this context: look again every 2 ms. */
  g_source_set_callback (recheck, on_recheck_cb, NULL, NULL);
  g_source_attach (recheck, context);

  while (!(held = condition (data)) && !deadline.expired)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (recheck);
  g_source_destroy (source);
  return held;
}

static gboolean
result_is_set (gpointer data)
{
  GAsyncResult **result = data;

  return *result != NULL;
}

gboolean
lk_test_wait_result (GAsyncResult **result,
                     guint          timeout_ms)
{
  return lk_test_wait_until (result_is_set, result, timeout_ms);
}

void
lk_test_store_result_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

void
lk_test_sim_options (LkDispenserSimOptions *options)
{
  lk_dispenser_sim_options_init (options);
  options->cards = 10;
  options->motion_ms = 20;
  options->auto_take_ms = 30;
}

LkDispenser *
lk_test_dispenser_new (LkDispenserSim *sim)
{
  g_autoptr(GError) error = NULL;
  LkDispenser *dispenser;

  dispenser = lk_dispenser_new (lk_dispenser_sim_get_port (sim), 0, 9600, &error);
  g_assert_no_error (error);
  g_assert_nonnull (dispenser);

  lk_dispenser_set_poll_interval_ms (dispenser, 5);
  lk_dispenser_set_reply_timeout_ms (dispenser, 300);
  lk_dispenser_set_motion_timeout_ms (dispenser, 3000);
  return dispenser;
}

void
lk_test_sim_ok (LkDispenserSim *sim,
                const char     *command)
{
  g_autofree char *answer = lk_dispenser_sim_command (sim, command);

  if (!g_str_has_prefix (answer, "ok"))
    g_error ("simulator command \"%s\" answered \"%s\"", command, answer);
}

LkCardData *
lk_test_card_data (void)
{
  LkCardData *data = lk_card_data_new ();

  data->school_id = 4201;
  data->student_no = g_strdup ("2023001234");
  data->name = g_strdup ("张小明");
  data->klass = g_strdup ("三年级二班");
  data->issue_date = g_strdup ("2026-09-01");
  data->issue_seq = 17;
  return data;
}
