/* lk-service.c: the technician's service mode, without GUI or server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-dispenser.h"
#include "lk-service.h"

typedef struct
{
  LkServiceLineFunc  line_func;
  gpointer           line_data;
  GAsyncResult      *result;
  LkIssueStage       stage;
  gboolean           started;
  gboolean           captured_seen;
  char              *card_no;
} Run;

static void
run_line (Run        *run,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static void
run_line (Run        *run,
          const char *format,
          ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);

  if (run->line_func != NULL)
    run->line_func (line, run->line_data);
  else
    g_print ("%s\n", line);
}

static void
run_pass (Run        *run,
          const char *step)
{
  run_line (run, _("[ OK ] %s"), step);
}

static void
run_fail (Run        *run,
          const char *step,
          const char *why)
{
  run_line (run, _("[FAIL] %s: %s"), step, why);
}

static const char *
reason_text (LkFailReason reason)
{
  switch (reason)
    {
    case LK_FAIL_JAM:
      return _("the dispenser is jammed or reports a fault");
    case LK_FAIL_EMPTY:
      return _("the hopper is empty");
    case LK_FAIL_READ_FAILED:
      return _("the card could not be read");
    case LK_FAIL_WRITE_FAILED:
      return _("the card could not be written");
    case LK_FAIL_NOT_TAKEN:
      return _("the card was not taken");
    case LK_FAIL_DISPENSER_SILENT:
      return _("the dispenser does not answer");
    case LK_FAIL_CANCELLED:
    default:
      return _("cancelled");
    }
}

/* The step that a stage starts, as the technician reads it. */
static char *
stage_step (LkIssueStage  stage,
            const char   *card_no)
{
  switch (stage)
    {
    case LK_ISSUE_STAGE_CHECKING:
      return g_strdup (_("Check the dispenser status"));
    case LK_ISSUE_STAGE_DISPENSING:
      return g_strdup (_("Dispense a card to the read/write position"));
    case LK_ISSUE_STAGE_READING:
      return g_strdup_printf (_("Read the card number: %s"), card_no != NULL ? card_no : "-");
    case LK_ISSUE_STAGE_WRITING:
      return g_strdup_printf (_("Write test block %u"), LK_DISPENSER_TEST_BLOCK);
    case LK_ISSUE_STAGE_VERIFYING:
      return g_strdup (_("Read the test block back and compare"));
    case LK_ISSUE_STAGE_CAPTURED:
    case LK_ISSUE_STAGE_PRESENTED:
    case LK_ISSUE_STAGE_TAKEN:
    default:
      return g_strdup (_("Capture the card into the reject box"));
    }
}

static void
on_result_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Run *run = data;

  run->result = g_object_ref (result);
}

/* A stage starting means the one before it passed; CAPTURED also follows a failure, so the
 * step before it is settled only when the result is in. */
static void
on_progress_cb (LkIssueStage  stage,
                const char   *card_no,
                gpointer      data)
{
  Run *run = data;

  if (stage == LK_ISSUE_STAGE_CAPTURED)
    {
      run->captured_seen = TRUE;
      return;
    }

  if (run->started)
    {
      g_autofree char *step = stage_step (run->stage, run->card_no);

      run_pass (run, step);
    }

  g_free (run->card_no);
  run->card_no = g_strdup (card_no);
  run->stage = stage;
  run->started = TRUE;
}

static void
wait_result (Run *run)
{
  GMainContext *context = g_main_context_get_thread_default ();

  while (run->result == NULL)
    g_main_context_iteration (context, TRUE);
}

static int
run_status (Run         *run,
            LkDispenser *dispenser)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *described = NULL;
  g_auto(GStrv) faults = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *fault_list = NULL;
  LkDispenserStatus status;
  const char *stock;

  lk_dispenser_get_status_async (dispenser, NULL, on_result_cb, run);
  wait_result (run);

  if (!lk_dispenser_get_status_finish (dispenser, run->result, &status, &error))
    {
      run_fail (run, _("Read the dispenser status"), error->message);
      return 1;
    }
  run_pass (run, _("Read the dispenser status"));

  run_line (run, _("Status bytes: %s"), status.raw);
  described = lk_dispenser_status_describe (&status);
  lines = g_strsplit (described, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    run_line (run, "  %s", lines[i]);

  stock = lk_dispenser_status_stock (&status);
  if (g_str_equal (stock, "empty"))
    run_line (run, _("Card stock: empty"));
  else if (g_str_equal (stock, "low"))
    run_line (run, _("Card stock: low"));
  else
    run_line (run, _("Card stock: ok"));

  faults = lk_dispenser_status_faults (&status);
  fault_list = g_strjoinv (", ", faults);
  run_line (run, _("Faults: %s"), faults[0] != NULL ? fault_list : _("none"));

  if (!lk_dispenser_status_can_issue (&status))
    {
      run_fail (run, _("Ready to issue cards"), fault_list);
      return 1;
    }
  run_pass (run, _("Ready to issue cards"));
  return 0;
}

static int
run_test_issue (Run          *run,
                LkDispenser  *dispenser,
                const guint8 *card_key,
                gsize         key_len)
{
  g_autoptr(LkIssueResult) result = NULL;
  g_autofree char *step = NULL;
  g_autofree char *why = NULL;

  lk_dispenser_test_issue_async (dispenser, card_key, key_len, on_progress_cb, run, NULL,
                                 on_result_cb, run);
  wait_result (run);
  result = lk_dispenser_test_issue_finish (dispenser, run->result, NULL);

  if (result->ok)
    {
      if (run->started)
        {
          g_autofree char *last = stage_step (run->stage, run->card_no);

          run_pass (run, last);
        }
      run_pass (run, _("Capture the card into the reject box"));
      run_line (run, _("Test issue passed."));
      return 0;
    }

  why = result->detail != NULL
        ? g_strdup_printf ("%s (%s)", reason_text (result->reason), result->detail)
        : g_strdup (reason_text (result->reason));

  if (result->failed_stage == LK_ISSUE_STAGE_CAPTURED)
    {
      /* every step passed but the last: the card did not reach the reject box */
      if (run->started)
        {
          g_autofree char *last = stage_step (run->stage, run->card_no);

          run_pass (run, last);
        }
      run_fail (run, _("Capture the card into the reject box"), why);
    }
  else
    {
      step = stage_step (result->failed_stage,
                         result->failed_stage == run->stage ? run->card_no : result->card_no);
      run_fail (run, step, why);

      /* a card that moved must end in the reject box */
      if (result->captured)
        run_pass (run, _("Capture the card into the reject box"));
      else if (result->failed_stage != LK_ISSUE_STAGE_CHECKING
               && result->reason != LK_FAIL_EMPTY)
        run_fail (run, _("Capture the card into the reject box"),
                  _("the card may still be in the dispenser"));
    }

  run_line (run, _("Test issue failed."));
  return 1;
}

int
lk_service_run_full (const char        *port,
                     guint              address,
                     guint              baud,
                     const guint8      *card_key,
                     gsize              key_len,
                     const char        *mode,
                     LkServiceLineFunc  line_func,
                     gpointer           line_data,
                     GError           **error)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(LkDispenser) dispenser = NULL;
  g_autoptr(GError) open_error = NULL;
  Run run = { line_func, line_data };
  int status;

  g_return_val_if_fail (error == NULL || *error == NULL, 2);

  if (port == NULL || port[0] == '\0')
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_CONFIG,
                   _("No serial port is configured for the dispenser"));
      return 2;
    }
  if (g_strcmp0 (mode, "status") != 0 && g_strcmp0 (mode, "test-issue") != 0)
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_CONFIG,
                   _("Unknown service mode “%s”: use “status” or “test-issue”"),
                   mode != NULL ? mode : "");
      return 2;
    }

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);

  run_line (&run, _("Dispenser on %s, address %u, %u baud"), port, address, baud);

  dispenser = lk_dispenser_new (port, address, baud, &open_error);
  if (dispenser == NULL)
    {
      run_fail (&run, _("Open the serial port"), open_error->message);
      status = 1;
    }
  else
    {
      run_pass (&run, _("Open the serial port"));
      if (g_str_equal (mode, "status"))
        status = run_status (&run, dispenser);
      else
        status = run_test_issue (&run, dispenser, card_key, key_len);
    }

  g_clear_object (&run.result);
  g_clear_pointer (&run.card_no, g_free);
  g_clear_object (&dispenser);
  /* Let the worker's last sources run before the context goes. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  return status;
}

int
lk_service_run (const char   *port,
                guint         address,
                guint         baud,
                const guint8 *card_key,
                gsize         key_len,
                const char   *mode,
                GError      **error)
{
  return lk_service_run_full (port, address, baud, card_key, key_len, mode, NULL, NULL, error);
}
