/* lk-dispenser.c: the K7X0 card dispenser, its issue sequence, off the caller's thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "lk-dispenser.h"
#include "lk-k7x0-frame.h"
#include "lk-k7x0-link.h"
#include "lk-transport.h"

struct _LkDispenser
{
  GObject      parent_instance;

  char        *port;
  guint        address;
  guint        baud;

  /* The link is used only by the one worker that holds io_lock. */
  GMutex       io_lock;
  LkTransport *transport;
  LkK7x0Link  *link;

  guint        poll_interval_ms;
  guint        reply_timeout_ms;
  guint        motion_timeout_ms;
};

G_DEFINE_FINAL_TYPE (LkDispenser, lk_dispenser, G_TYPE_OBJECT)

G_DEFINE_QUARK (lk-dispenser-error-quark, lk_dispenser_error)

enum {
  PROP_0,
  PROP_PORT,
  PROP_ADDRESS,
  PROP_BAUD,
  PROP_POLL_INTERVAL_MS,
  PROP_REPLY_TIMEOUT_MS,
  PROP_MOTION_TIMEOUT_MS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef enum
{
  MOTION_DISPENSE,
  MOTION_EJECT,
  MOTION_CAPTURE,
  MOTION_RESET,
} Motion;

/* The sector trailer written with a per-card key: key A, the transport access bits
 * (FF 07 80, user byte 69), key B. */
static const guint8 trailer_access[4] = { 0xFF, 0x07, 0x80, 0x69 };
static const guint8 factory_key[LK_CARD_KEY_LEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };

/* One worker's view: a snapshot of the settings and the progress channel. */
typedef struct
{
  LkDispenser         *self;
  GMainContext        *context;
  GCancellable        *cancellable;
  guint                poll_interval_ms;
  guint                reply_timeout_ms;
  guint                motion_timeout_ms;

  /* issue only */
  LkCardData          *data;
  guint8              *card_key;
  gsize                key_len;
  guint                take_timeout_ms;
  gboolean             test_mode;
  LkIssueProgressFunc  progress;
  gpointer             progress_data;

  LkIssueResult       *result;
  guint8               uid[LK_CARD_UID_LEN];
  gboolean             have_uid;
  LkDispenserStatus    status;
  LkIssueStage         stage;
} Job;

typedef struct
{
  LkIssueProgressFunc  func;
  gpointer             data;
  LkIssueStage         stage;
  char                *card_no;
} ProgressCall;

static void
job_free (Job *job)
{
  g_clear_object (&job->self);
  g_clear_pointer (&job->context, g_main_context_unref);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->data, lk_card_data_free);
  if (job->card_key != NULL)
    {
      memset (job->card_key, 0, job->key_len);
      g_free (job->card_key);
    }
  g_clear_pointer (&job->result, lk_issue_result_free);
  g_free (job);
}

static Job *
job_new (LkDispenser  *self,
         GCancellable *cancellable)
{
  Job *job = g_new0 (Job, 1);

  job->self = g_object_ref (self);
  job->context = g_main_context_ref_thread_default ();
  job->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  job->poll_interval_ms = g_atomic_int_get (&self->poll_interval_ms);
  job->reply_timeout_ms = g_atomic_int_get (&self->reply_timeout_ms);
  job->motion_timeout_ms = g_atomic_int_get (&self->motion_timeout_ms);
  return job;
}

static void
progress_call_free (gpointer data)
{
  ProgressCall *call = data;

  g_free (call->card_no);
  g_free (call);
}

static gboolean
progress_call_dispatch (gpointer data)
{
  ProgressCall *call = data;

  call->func (call->stage, call->card_no, call->data);
  return G_SOURCE_REMOVE;
}

/* Queued on the caller's context at the GTask's own priority, so every stage is seen before
 * the result arrives, and in order. */
static void
job_progress (Job          *job,
              LkIssueStage  stage)
{
  g_autoptr(GSource) source = NULL;
  ProgressCall *call;

  g_debug ("issue stage: %s", lk_issue_stage_to_string (stage));
  if (stage != LK_ISSUE_STAGE_CAPTURED)
    job->stage = stage;

  if (job->progress == NULL)
    return;

  call = g_new0 (ProgressCall, 1);
  call->func = job->progress;
  call->data = job->progress_data;
  call->stage = stage;
  call->card_no = g_strdup (job->result != NULL ? job->result->card_no : NULL);

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, progress_call_dispatch, call, progress_call_free);
  g_source_set_static_name (source, "[lingka] dispenser progress");
  g_source_attach (source, job->context);
}

/* Records the failure of the current stage. @detail is for the technician: no personal data. */
static void
job_fail_literal (Job          *job,
                  LkFailReason  reason,
                  const char   *detail)
{
  LkIssueResult *result = job->result;
  char *detail_copy;

  result->ok = FALSE;
  result->reason = reason;
  result->failed_stage = job->stage;
  /* @detail may be the result's own detail */
  detail_copy = g_strdup (detail);
  g_free (result->detail);
  result->detail = detail_copy;
  g_debug ("issue failed (%s) while %s: %s", lk_fail_reason_to_string (reason),
           lk_issue_stage_to_string (job->stage), detail);
}

static void
job_fail (Job          *job,
          LkFailReason  reason,
          const GError *error,
          const char   *what)
{
  g_autofree char *detail = g_strdup_printf ("%s: %s", what,
                                             error != NULL ? error->message : "failed");

  job_fail_literal (job, reason, detail);
}

/* Sleeps one poll interval; capture and take-wait sleeps do not stop on cancel. */
static void
job_sleep_poll (Job *job)
{
  if (job->poll_interval_ms > 0)
    g_usleep ((gulong) job->poll_interval_ms * 1000);
}

static gboolean
job_status (Job           *job,
            GCancellable  *cancellable,
            GError       **error)
{
  if (!lk_k7x0_link_get_status (job->self->link, &job->status, cancellable, error))
    return FALSE;

  if (job->result != NULL)
    job->result->status = job->status;
  return TRUE;
}

static const char *
motion_payload (Motion motion)
{
  switch (motion)
    {
    case MOTION_DISPENSE:
      return LK_K7X0_CMD_DISPENSE;
    case MOTION_EJECT:
      return LK_K7X0_CMD_EJECT;
    case MOTION_RESET:
      return LK_K7X0_CMD_RESET;
    default:
      return LK_K7X0_CMD_CAPTURE;
    }
}

static const char *
motion_name (Motion motion)
{
  switch (motion)
    {
    case MOTION_DISPENSE:
      return "dispense";
    case MOTION_EJECT:
      return "eject";
    case MOTION_RESET:
      return "reset";
    default:
      return "capture";
    }
}

/* Sends a motion command, then polls AP until it is done, it failed, or the deadline.
 * Capture ignores @cancellable: a card must never be left in the channel because the
 * caller gave up. */
static gboolean
job_motion (Job           *job,
            Motion         motion,
            GError       **error)
{
  GCancellable *cancellable = motion == MOTION_CAPTURE || motion == MOTION_RESET
                              ? NULL : job->cancellable;
  const char *payload = motion_payload (motion);
  gint64 deadline;

  if (!lk_k7x0_link_exchange (job->self->link, (const guint8 *) payload, strlen (payload),
                              NULL, cancellable, error))
    return FALSE;

  deadline = g_get_monotonic_time () + (gint64) job->motion_timeout_ms * 1000;

  for (;;)
    {
      const LkDispenserStatus *st = &job->status;
      gboolean answered, positive, busy;
      guint8 code;

      job_sleep_poll (job);

      /* The motion is running: polling goes on even when the caller cancels. */
      if (!job_status (job, NULL, error))
        return FALSE;

      lk_k7x0_link_take_motion_reply (job->self->link, &answered, &positive, &code);
      busy = st->dispensing || st->capturing;

      if (st->jam || st->cards_overlapped)
        {
          g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_JAM,
                       "Card jam during %s (status %s)", motion_name (motion), st->raw);
          return FALSE;
        }

      if (motion == MOTION_DISPENSE)
        {
          if (!busy && st->card_at_read_position)
            return TRUE;
          if (!busy && st->hopper_empty && !st->card_in_channel)
            {
              g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_EMPTY,
                           "The hopper is empty (status %s)", st->raw);
              return FALSE;
            }
          if (st->dispense_error || (answered && !positive))
            {
              g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_MOTION,
                           "Dispensing failed (status %s%s%s)", st->raw,
                           answered && !positive ? ", " : "",
                           answered && !positive ? lk_k7x0_error_code_to_string (code) : "");
              return FALSE;
            }
        }
      else if (motion == MOTION_EJECT)
        {
          if (!busy && !st->card_at_read_position)
            return TRUE;
          if (st->dispense_error || (answered && !positive))
            {
              g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_MOTION,
                           "Ejecting failed (status %s)", st->raw);
              return FALSE;
            }
        }
      else if (motion == MOTION_RESET)
        {
          if (!busy && !st->cannot_execute && !st->dispense_error && !st->capture_error)
            return TRUE;
        }
      else
        {
          if (!busy && !st->card_in_channel)
            return TRUE;
          if (!busy && st->reject_full)
            {
              g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_REJECT_FULL,
                           "The reject box is full (status %s)", st->raw);
              return FALSE;
            }
          if (st->capture_error || (answered && !positive))
            {
              g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_MOTION,
                           "Capturing failed (status %s)", st->raw);
              return FALSE;
            }
        }

      if (st->cannot_execute && !busy && motion != MOTION_RESET)
        {
          g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_MOTION,
                       "The dispenser cannot execute %s (status %s)", motion_name (motion),
                       st->raw);
          return FALSE;
        }

      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_TIMEOUT,
                       "The %s did not finish within %u ms (status %s)", motion_name (motion),
                       job->motion_timeout_ms, st->raw);
          return FALSE;
        }
    }
}

/* Polls until no motion runs, within one motion deadline. */
static gboolean
job_wait_idle (Job     *job,
               GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) job->motion_timeout_ms * 1000;

  for (;;)
    {
      if (!job_status (job, NULL, error))
        return FALSE;
      if (!job->status.dispensing && !job->status.capturing)
        return TRUE;
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_TIMEOUT,
                       "The dispenser stayed busy for %u ms (status %s)",
                       job->motion_timeout_ms, job->status.raw);
          return FALSE;
        }
      job_sleep_poll (job);
    }
}

/* Captures the card after a failure. The result's reason stays what it was. */
static void
job_capture (Job *job)
{
  g_autoptr(GError) error = NULL;

  /* Nothing to take back when no card left the hopper (a dispense refused at once). */
  if (job_status (job, NULL, &error) && !job->status.card_in_channel
      && !job->status.dispensing && !job->status.capturing)
    {
      g_debug ("no card in the channel: nothing to capture");
      return;
    }
  g_clear_error (&error);

  if (job_motion (job, MOTION_CAPTURE, &error))
    {
      job->result->captured = TRUE;
      job_progress (job, LK_ISSUE_STAGE_CAPTURED);
      return;
    }

  /* A capture refused because the mechanism was still busy (a motion past its deadline)
   * gets one more try after a reset. A jam, a full reject box or silence does not. */
  if (g_error_matches (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_MOTION)
      || g_error_matches (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_TIMEOUT))
    {
      g_debug ("capture failed (%s); resetting and trying again", error->message);
      g_clear_error (&error);
      if (job_wait_idle (job, &error) && job_motion (job, MOTION_RESET, &error)
          && job_motion (job, MOTION_CAPTURE, &error))
        {
          job->result->captured = TRUE;
          job_progress (job, LK_ISSUE_STAGE_CAPTURED);
          return;
        }
    }

  g_warning ("could not capture the card: %s", error->message);
  {
    char *detail = job->result->detail != NULL
                   ? g_strdup_printf ("%s; capture failed: %s", job->result->detail,
                                      error->message)
                   : g_strdup_printf ("capture failed: %s", error->message);

    g_free (job->result->detail);
    job->result->detail = detail;
  }
}

static LkFailReason
reason_for_error (const GError *error,
                  LkFailReason  otherwise)
{
  if (error == NULL || error->domain != LK_DISPENSER_ERROR)
    return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? LK_FAIL_CANCELLED
                                                                     : LK_FAIL_DISPENSER_SILENT;

  switch ((LkDispenserError) error->code)
    {
    case LK_DISPENSER_ERROR_SILENT:
    case LK_DISPENSER_ERROR_NAK:
    case LK_DISPENSER_ERROR_PROTOCOL:
      return LK_FAIL_DISPENSER_SILENT;
    case LK_DISPENSER_ERROR_JAM:
    case LK_DISPENSER_ERROR_MOTION:
    case LK_DISPENSER_ERROR_TIMEOUT:
    case LK_DISPENSER_ERROR_REJECT_FULL:
      return LK_FAIL_JAM;
    case LK_DISPENSER_ERROR_EMPTY:
      return LK_FAIL_EMPTY;
    case LK_DISPENSER_ERROR_CANCELLED:
      return LK_FAIL_CANCELLED;
    default:
      return otherwise;
    }
}

static gboolean
job_search_uid (Job     *job,
                GError **error)
{
  LkK7x0Link *link = job->self->link;
  guint8 uid[8];
  gsize got = 0;

  if (!lk_k7x0_link_mifare (link, LK_K7X0_PM_SEARCH, NULL, 0, NULL, 0, NULL, NULL,
                            job->cancellable, error))
    return FALSE;
  if (!lk_k7x0_link_mifare (link, LK_K7X0_PM_READ_UID, NULL, 0, uid, sizeof uid, &got, NULL,
                            job->cancellable, error))
    return FALSE;
  if (got < LK_CARD_UID_LEN)
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                   "The UID reply has %" G_GSIZE_FORMAT " bytes", got);
      return FALSE;
    }

  if (job->have_uid && memcmp (job->uid, uid, LK_CARD_UID_LEN) != 0)
    {
      /* Another card under the antenna would be a wrong card in a child's hand. */
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                   "The card changed under the antenna");
      return FALSE;
    }

  memcpy (job->uid, uid, LK_CARD_UID_LEN);
  job->have_uid = TRUE;
  return TRUE;
}

static gboolean
job_check_key (Job           *job,
               guint          block,
               const guint8   key[LK_CARD_KEY_LEN],
               gboolean      *wrong_key,
               GError       **error)
{
  guint8 data[2 + LK_CARD_KEY_LEN];
  guint8 code = 0;
  g_autoptr(GError) local_error = NULL;

  data[0] = block;
  data[1] = LK_K7X0_KEY_A;
  memcpy (data + 2, key, LK_CARD_KEY_LEN);

  *wrong_key = FALSE;
  if (lk_k7x0_link_mifare (job->self->link, LK_K7X0_PM_CHECK_KEY, data, sizeof data, NULL, 0,
                           NULL, &code, job->cancellable, &local_error))
    return TRUE;

  *wrong_key = g_error_matches (local_error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_DEVICE)
               && code == LK_K7X0_ERR_KEY_FAILED;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* Authenticates to @sector with the first of the candidate keys that works. A failed key
 * check halts a Mifare card, so it is searched for again before the next key. */
static gboolean
job_authenticate (Job           *job,
                  guint          sector,
                  const guint8   keys[][LK_CARD_KEY_LEN],
                  guint          n_keys,
                  GError       **error)
{
  for (guint i = 0; i < n_keys; i++)
    {
      g_autoptr(GError) local_error = NULL;
      gboolean wrong_key;

      if (job_check_key (job, sector * 4, keys[i], &wrong_key, &local_error))
        return TRUE;

      if (!wrong_key || i + 1 == n_keys)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      if (!job_search_uid (job, error))
        return FALSE;
    }

  g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_DEVICE, "No key to try");
  return FALSE;
}

static gboolean
job_write_block (Job           *job,
                 guint          block,
                 const guint8  *bytes,
                 GError       **error)
{
  guint8 data[1 + LK_CARD_BLOCK_LEN];

  data[0] = block;
  memcpy (data + 1, bytes, LK_CARD_BLOCK_LEN);
  return lk_k7x0_link_mifare (job->self->link, LK_K7X0_PM_WRITE_BLOCK, data, sizeof data, NULL,
                              0, NULL, NULL, job->cancellable, error);
}

static gboolean
job_read_block (Job           *job,
                guint          block,
                guint8         bytes[LK_CARD_BLOCK_LEN],
                GError       **error)
{
  guint8 data[1] = { block };
  guint8 out[LK_CARD_BLOCK_LEN + 1];
  gsize got = 0;

  if (!lk_k7x0_link_mifare (job->self->link, LK_K7X0_PM_READ_BLOCK, data, sizeof data, out,
                            sizeof out, &got, NULL, job->cancellable, error))
    return FALSE;

  /* Firmware answers with the 16 bytes, some with the block address in front of them. */
  if (got == LK_CARD_BLOCK_LEN)
    memcpy (bytes, out, LK_CARD_BLOCK_LEN);
  else if (got == LK_CARD_BLOCK_LEN + 1 && out[0] == block)
    memcpy (bytes, out + 1, LK_CARD_BLOCK_LEN);
  else
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                   "Block %u read gave %" G_GSIZE_FORMAT " bytes", block, got);
      return FALSE;
    }

  return TRUE;
}

/* The keys a card may hold for @sector now: factory first (blank cards), then this card's own
 * key (a card that was issued once and came back). After writing, the card's own key. */
static guint
job_sector_keys (Job     *job,
                 guint    sector,
                 guint8   keys[2][LK_CARD_KEY_LEN])
{
  memcpy (keys[0], factory_key, LK_CARD_KEY_LEN);
  if (job->key_len == 0)
    return 1;

  lk_card_sector_key (job->card_key, job->key_len, job->uid, sector, keys[1]);
  return 2;
}

/* Blocks 4 5 6 | 8 9 sit in sectors 1 and 2. */
static gboolean
job_write_card (Job     *job,
                guint8   blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN],
                GError **error)
{
  for (guint sector = 1; sector <= 2; sector++)
    {
      guint8 keys[2][LK_CARD_KEY_LEN];
      guint n_keys = job_sector_keys (job, sector, keys);

      if (!job_authenticate (job, sector, (const guint8 (*)[LK_CARD_KEY_LEN]) keys, n_keys,
                             error))
        return FALSE;

      for (guint i = 0; i < LK_CARD_N_BLOCKS; i++)
        if (lk_card_layout_blocks[i] / 4 == sector
            && !job_write_block (job, lk_card_layout_blocks[i], blocks[i], error))
          return FALSE;

      if (job->key_len > 0)
        {
          guint8 trailer[LK_CARD_BLOCK_LEN];

          memcpy (trailer, keys[1], LK_CARD_KEY_LEN);
          memcpy (trailer + 6, trailer_access, sizeof trailer_access);
          memcpy (trailer + 10, keys[1], LK_CARD_KEY_LEN);
          if (!job_write_block (job, sector * 4 + 3, trailer, error))
            return FALSE;
        }
    }

  return TRUE;
}

static gboolean
job_verify_card (Job      *job,
                 guint8    blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN],
                 gboolean *mismatch,
                 GError  **error)
{
  *mismatch = FALSE;

  for (guint sector = 1; sector <= 2; sector++)
    {
      guint8 keys[2][LK_CARD_KEY_LEN];
      guint n_keys = job_sector_keys (job, sector, keys);

      /* Only the key the card should have now: this also checks the trailer write. */
      if (!job_authenticate (job, sector,
                             (const guint8 (*)[LK_CARD_KEY_LEN]) &keys[n_keys - 1], 1, error))
        return FALSE;

      for (guint i = 0; i < LK_CARD_N_BLOCKS; i++)
        {
          guint8 back[LK_CARD_BLOCK_LEN];

          if (lk_card_layout_blocks[i] / 4 != sector)
            continue;
          if (!job_read_block (job, lk_card_layout_blocks[i], back, error))
            return FALSE;
          if (memcmp (back, blocks[i], LK_CARD_BLOCK_LEN) != 0)
            {
              *mismatch = TRUE;
              g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_DEVICE,
                           "Block %u reads back different from what was written",
                           lk_card_layout_blocks[i]);
              return FALSE;
            }
        }
    }

  return TRUE;
}

/* The AP pre-check. A card left in the channel (a crash, a power cut) is captured first, so
 * it can never be handed to the next student. Returns FALSE with the result filled in when
 * the sequence must not start. */
static gboolean
job_precheck (Job *job)
{
  g_autoptr(GError) error = NULL;
  const LkDispenserStatus *st = &job->status;

  job_progress (job, LK_ISSUE_STAGE_CHECKING);

  if (!job_status (job, job->cancellable, &error))
    {
      job_fail (job, reason_for_error (error, LK_FAIL_DISPENSER_SILENT), error, "status");
      return FALSE;
    }

  job->result->low_stock = st->low_stock;
  if (st->low_stock)
    g_debug ("card stock is low");

  /* An error bit that outlived its cause (a jam that a technician cleared) stays set until
   * a reset; without one the dispenser would stay out of service after the fault is gone. */
  if (!st->jam && !st->cards_overlapped
      && (st->cannot_execute || st->dispense_error || st->capture_error))
    {
      g_debug ("the dispenser still shows a past error (status %s); resetting it", st->raw);
      if (!job_motion (job, MOTION_RESET, &error))
        {
          job_fail (job, reason_for_error (error, LK_FAIL_JAM), error, "reset");
          return FALSE;
        }
    }

  if (st->card_in_channel && !st->dispensing && !st->capturing && !st->jam)
    {
      g_warning ("a card was left in the channel (status %s); capturing it first", st->raw);
      if (!job_motion (job, MOTION_CAPTURE, &error))
        {
          job_fail (job, reason_for_error (error, LK_FAIL_JAM), error, "capturing a left card");
          return FALSE;
        }
    }

  if (st->jam || st->cards_overlapped)
    error = g_error_new (LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_JAM, "Card jam (status %s)",
                         st->raw);
  else if (st->hopper_empty)
    error = g_error_new (LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_EMPTY,
                         "The hopper is empty (status %s)", st->raw);
  else if (st->reject_full)
    error = g_error_new (LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_REJECT_FULL,
                         "The reject box is full (status %s)", st->raw);
  else if (!lk_dispenser_status_can_issue (st))
    error = g_error_new (LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_MOTION,
                         "The dispenser reports an error (status %s)", st->raw);

  if (error != NULL)
    {
      job_fail (job, reason_for_error (error, LK_FAIL_JAM), error, "pre-check");
      return FALSE;
    }

  if (g_cancellable_is_cancelled (job->cancellable))
    {
      job_fail_literal (job, LK_FAIL_CANCELLED, "cancelled before the card moved");
      return FALSE;
    }

  return TRUE;
}

/* FC7, then search and UID. */
static gboolean
job_dispense_and_read (Job *job)
{
  g_autoptr(GError) error = NULL;

  job_progress (job, LK_ISSUE_STAGE_DISPENSING);
  if (!job_motion (job, MOTION_DISPENSE, &error))
    {
      job_fail (job, reason_for_error (error, LK_FAIL_JAM), error, "dispense");
      /* An empty hopper moved nothing; anything else may have left a card in the way. */
      if (!g_error_matches (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_EMPTY)
          || job->status.card_in_channel)
        job_capture (job);
      return FALSE;
    }

  if (!job_search_uid (job, &error))
    {
      job_fail (job, reason_for_error (error, LK_FAIL_READ_FAILED), error, "read UID");
      if (job->result->reason != LK_FAIL_CANCELLED
          && job->result->reason != LK_FAIL_DISPENSER_SILENT)
        job->result->reason = LK_FAIL_READ_FAILED;
      job_capture (job);
      return FALSE;
    }

  job->result->card_no = lk_card_uid_to_string (job->uid);
  job_progress (job, LK_ISSUE_STAGE_READING);
  return TRUE;
}

static LkFailReason
device_reason (const GError *error,
               LkFailReason  device_failure)
{
  LkFailReason reason = reason_for_error (error, device_failure);

  if (g_error_matches (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_DEVICE))
    return device_failure;
  return reason;
}

static void
run_issue (Job *job)
{
  g_autoptr(GError) error = NULL;
  guint8 blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];
  gboolean mismatch;
  gint64 deadline;

  /* Data that cannot be encoded must fail before a card moves. */
  memset (job->uid, 0, sizeof job->uid);
  if (!lk_card_layout_encode (job->data, job->uid, job->card_key, job->key_len, blocks, &error))
    {
      job_fail (job, LK_FAIL_WRITE_FAILED, error, "encode");
      return;
    }

  if (!job_precheck (job) || !job_dispense_and_read (job))
    return;

  if (!lk_card_layout_encode (job->data, job->uid, job->card_key, job->key_len, blocks, &error))
    {
      job_fail (job, LK_FAIL_WRITE_FAILED, error, "encode");
      job_capture (job);
      return;
    }

  job_progress (job, LK_ISSUE_STAGE_WRITING);
  if (!job_write_card (job, blocks, &error))
    {
      job_fail (job, device_reason (error, LK_FAIL_WRITE_FAILED), error, "write");
      job_capture (job);
      return;
    }

  job_progress (job, LK_ISSUE_STAGE_VERIFYING);
  if (!job_verify_card (job, blocks, &mismatch, &error))
    {
      job_fail (job, mismatch ? LK_FAIL_WRITE_FAILED : device_reason (error, LK_FAIL_READ_FAILED),
                error, "verify");
      job_capture (job);
      return;
    }
  job->result->written = lk_card_data_copy (job->data);

  if (g_cancellable_is_cancelled (job->cancellable))
    {
      job_fail_literal (job, LK_FAIL_CANCELLED, "cancelled before the card was ejected");
      job_capture (job);
      return;
    }

  if (!job_motion (job, MOTION_EJECT, &error))
    {
      job_fail (job, reason_for_error (error, LK_FAIL_JAM), error, "eject");
      job_capture (job);
      return;
    }
  job_progress (job, LK_ISSUE_STAGE_PRESENTED);

  /* The card waits in the mouth. Taken means: no sensor sees it any more. */
  deadline = g_get_monotonic_time () + (gint64) job->take_timeout_ms * 1000;
  for (;;)
    {
      g_clear_error (&error);
      job_sleep_poll (job);
      if (!job_status (job, NULL, &error))
        {
          job_fail (job, LK_FAIL_DISPENSER_SILENT, error, "waiting for the card to be taken");
          return;
        }

      if (!job->status.card_in_channel)
        {
          job->result->ok = TRUE;
          job_progress (job, LK_ISSUE_STAGE_TAKEN);
          return;
        }

      if (g_cancellable_is_cancelled (job->cancellable))
        {
          job_fail_literal (job, LK_FAIL_CANCELLED, "cancelled while the card waited to be taken");
          job_capture (job);
          return;
        }

      if (g_get_monotonic_time () >= deadline)
        {
          g_autofree char *detail = g_strdup_printf ("not taken within %u ms",
                                                     job->take_timeout_ms);

          job_fail_literal (job, LK_FAIL_NOT_TAKEN, detail);
          job_capture (job);
          return;
        }
    }
}

static void
run_test_issue (Job *job)
{
  g_autoptr(GError) error = NULL;
  guint8 keys[2][LK_CARD_KEY_LEN];
  guint8 pattern[LK_CARD_BLOCK_LEN] = { 'L', 'K', '-', 'T', 'E', 'S', 'T', 0 };
  guint8 blank[LK_CARD_BLOCK_LEN] = { 0 };
  guint8 back[LK_CARD_BLOCK_LEN];
  guint sector = LK_DISPENSER_TEST_BLOCK / 4;
  guint n_keys;

  for (guint i = 8; i < LK_CARD_BLOCK_LEN; i++)
    pattern[i] = g_random_int_range (0, 256);

  if (!job_precheck (job) || !job_dispense_and_read (job))
    return;

  job_progress (job, LK_ISSUE_STAGE_WRITING);
  n_keys = job_sector_keys (job, sector, keys);
  if (!job_authenticate (job, sector, (const guint8 (*)[LK_CARD_KEY_LEN]) keys, n_keys, &error)
      || !job_write_block (job, LK_DISPENSER_TEST_BLOCK, pattern, &error))
    {
      job_fail (job, device_reason (error, LK_FAIL_WRITE_FAILED), error, "write test block");
      job_capture (job);
      return;
    }

  job_progress (job, LK_ISSUE_STAGE_VERIFYING);
  if (!job_read_block (job, LK_DISPENSER_TEST_BLOCK, back, &error))
    {
      job_fail (job, device_reason (error, LK_FAIL_READ_FAILED), error, "read test block");
      job_capture (job);
      return;
    }
  if (memcmp (back, pattern, sizeof back) != 0)
    {
      job_fail_literal (job, LK_FAIL_WRITE_FAILED, "the test block reads back different");
      job_capture (job);
      return;
    }

  /* Leave the card as blank as it came. */
  if (!job_write_block (job, LK_DISPENSER_TEST_BLOCK, blank, &error))
    {
      job_fail (job, device_reason (error, LK_FAIL_WRITE_FAILED), error, "blank test block");
      job_capture (job);
      return;
    }

  /* Every step passed; the card must still reach the reject box. */
  job->result->ok = TRUE;
  job_capture (job);
  if (!job->result->captured)
    {
      job->stage = LK_ISSUE_STAGE_CAPTURED;
      job_fail_literal (job, LK_FAIL_JAM, job->result->detail);
    }
}

/* Opens the port again when it failed: a USB adapter that was pulled out and put back comes
 * back into service without restarting the kiosk. Called with io_lock held. */
static gboolean
dispenser_ensure_open (LkDispenser  *self,
                       guint         reply_timeout_ms,
                       GError      **error)
{
  if (self->link != NULL && !lk_k7x0_link_get_transport_failed (self->link))
    {
      lk_k7x0_link_set_reply_timeout_ms (self->link, reply_timeout_ms);
      return TRUE;
    }

  g_clear_pointer (&self->link, lk_k7x0_link_free);
  if (self->transport != NULL)
    {
      g_debug ("the port %s failed; opening it again", self->port);
      lk_transport_close (self->transport);
      g_clear_object (&self->transport);
    }

  self->transport = lk_transport_open_by_name (self->port, self->baud, error);
  if (self->transport == NULL)
    return FALSE;

  self->link = lk_k7x0_link_new (self->transport, self->address);
  lk_k7x0_link_set_reply_timeout_ms (self->link, reply_timeout_ms);
  return TRUE;
}

static void
issue_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  LkDispenser *self = source_object;
  Job *job = task_data;
  g_autoptr(GError) error = NULL;

  job->result = g_new0 (LkIssueResult, 1);
  job->result->reason = LK_FAIL_CANCELLED;
  job->have_uid = FALSE;

  g_mutex_lock (&self->io_lock);
  if (!dispenser_ensure_open (self, job->reply_timeout_ms, &error))
    {
      job->stage = LK_ISSUE_STAGE_CHECKING;
      job_fail (job, LK_FAIL_DISPENSER_SILENT, error, "open the port");
    }
  else if (job->test_mode)
    run_test_issue (job);
  else
    run_issue (job);
  g_mutex_unlock (&self->io_lock);

  g_task_return_pointer (task, g_steal_pointer (&job->result),
                         (GDestroyNotify) lk_issue_result_free);
}

static void
status_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  LkDispenser *self = source_object;
  Job *job = task_data;
  GError *error = NULL;
  gboolean ok;

  g_mutex_lock (&self->io_lock);
  ok = dispenser_ensure_open (self, job->reply_timeout_ms, &error)
       && job_status (job, cancellable, &error);
  g_mutex_unlock (&self->io_lock);

  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_memdup2 (&job->status, sizeof job->status), g_free);
}

typedef struct
{
  gboolean  captured;
  char     *card_no;
} Recovered;

static void
recovered_free (Recovered *recovered)
{
  g_free (recovered->card_no);
  g_free (recovered);
}

static gboolean
job_recover (Job        *job,
             Recovered  *recovered,
             GError    **error)
{
  const LkDispenserStatus *st = &job->status;

  if (!job_status (job, NULL, error))
    return FALSE;

  if (st->jam || st->cards_overlapped)
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_JAM,
                   "Card jam (status %s): a technician must clear it", st->raw);
      return FALSE;
    }

  if ((st->dispensing || st->capturing) && !job_wait_idle (job, error))
    return FALSE;

  if ((st->cannot_execute || st->dispense_error || st->capture_error)
      && !job_motion (job, MOTION_RESET, error))
    return FALSE;

  if (!st->card_in_channel)
    return TRUE;

  /* Its number, if it sits at the antenna, lets the kiosk match it to its journal. */
  if (st->card_at_read_position)
    {
      g_autoptr(GError) read_error = NULL;

      if (job_search_uid (job, &read_error))
        recovered->card_no = lk_card_uid_to_string (job->uid);
      else
        g_debug ("the card left in the channel cannot be read: %s", read_error->message);
    }

  g_warning ("a card was left in the channel (status %s); capturing it", st->raw);
  job_capture (job);
  if (!job->result->captured)
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_MOTION,
                   "Cannot capture the card left in the channel: %s",
                   job->result->detail != NULL ? job->result->detail : "unknown");
      return FALSE;
    }

  recovered->captured = TRUE;
  return TRUE;
}

static void
recover_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  LkDispenser *self = source_object;
  Job *job = task_data;
  Recovered *recovered = g_new0 (Recovered, 1);
  GError *error = NULL;
  gboolean ok;

  job->result = g_new0 (LkIssueResult, 1);

  g_mutex_lock (&self->io_lock);
  ok = dispenser_ensure_open (self, job->reply_timeout_ms, &error)
       && job_recover (job, recovered, &error);
  g_mutex_unlock (&self->io_lock);

  if (!ok)
    {
      recovered_free (recovered);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, recovered, (GDestroyNotify) recovered_free);
}

static void
lk_dispenser_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  LkDispenser *self = LK_DISPENSER (object);

  switch (prop_id)
    {
    case PROP_PORT:
      g_value_set_string (value, self->port);
      break;
    case PROP_ADDRESS:
      g_value_set_uint (value, self->address);
      break;
    case PROP_BAUD:
      g_value_set_uint (value, self->baud);
      break;
    case PROP_POLL_INTERVAL_MS:
      g_value_set_uint (value, lk_dispenser_get_poll_interval_ms (self));
      break;
    case PROP_REPLY_TIMEOUT_MS:
      g_value_set_uint (value, lk_dispenser_get_reply_timeout_ms (self));
      break;
    case PROP_MOTION_TIMEOUT_MS:
      g_value_set_uint (value, lk_dispenser_get_motion_timeout_ms (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_dispenser_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  LkDispenser *self = LK_DISPENSER (object);

  switch (prop_id)
    {
    case PROP_PORT:
      self->port = g_value_dup_string (value);
      break;
    case PROP_ADDRESS:
      self->address = g_value_get_uint (value);
      break;
    case PROP_BAUD:
      self->baud = g_value_get_uint (value);
      break;
    case PROP_POLL_INTERVAL_MS:
      lk_dispenser_set_poll_interval_ms (self, g_value_get_uint (value));
      break;
    case PROP_REPLY_TIMEOUT_MS:
      lk_dispenser_set_reply_timeout_ms (self, g_value_get_uint (value));
      break;
    case PROP_MOTION_TIMEOUT_MS:
      lk_dispenser_set_motion_timeout_ms (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_dispenser_finalize (GObject *object)
{
  LkDispenser *self = LK_DISPENSER (object);

  g_clear_pointer (&self->link, lk_k7x0_link_free);
  if (self->transport != NULL)
    lk_transport_close (self->transport);
  g_clear_object (&self->transport);
  g_clear_pointer (&self->port, g_free);
  g_mutex_clear (&self->io_lock);

  G_OBJECT_CLASS (lk_dispenser_parent_class)->finalize (object);
}

static void
lk_dispenser_class_init (LkDispenserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = lk_dispenser_get_property;
  object_class->set_property = lk_dispenser_set_property;
  object_class->finalize = lk_dispenser_finalize;

  properties[PROP_PORT] =
    g_param_spec_string ("port", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ADDRESS] =
    g_param_spec_uint ("address", NULL, NULL, 0, LK_K7X0_MAX_ADDRESS, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BAUD] =
    g_param_spec_uint ("baud", NULL, NULL, 1200, 115200, 9600,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_POLL_INTERVAL_MS] =
    g_param_spec_uint ("poll-interval-ms", NULL, NULL, 0, 10000, 200,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REPLY_TIMEOUT_MS] =
    g_param_spec_uint ("reply-timeout-ms", NULL, NULL, 10, 60000, 1000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MOTION_TIMEOUT_MS] =
    g_param_spec_uint ("motion-timeout-ms", NULL, NULL, 100, 600000, 15000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lk_dispenser_init (LkDispenser *self)
{
  g_mutex_init (&self->io_lock);
  self->poll_interval_ms = 200;
  self->reply_timeout_ms = 1000;
  self->motion_timeout_ms = 15000;
  self->baud = 9600;
}

LkDispenser *
lk_dispenser_new (const char  *port,
                  guint        address,
                  guint        baud,
                  GError     **error)
{
  g_autoptr(LkDispenser) self = NULL;

  g_return_val_if_fail (port != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (address > LK_K7X0_MAX_ADDRESS)
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_CONFIG,
                   "Dispenser address %u is not 0..%u", address, LK_K7X0_MAX_ADDRESS);
      return NULL;
    }

  self = g_object_new (LK_TYPE_DISPENSER, "port", port, "address", address, NULL);
  self->baud = baud;

  self->transport = lk_transport_open_by_name (port, baud, error);
  if (self->transport == NULL)
    return NULL;

  self->link = lk_k7x0_link_new (self->transport, address);

  return g_steal_pointer (&self);
}

guint
lk_dispenser_get_address (LkDispenser *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER (self), 0);

  return self->address;
}

const char *
lk_dispenser_get_port (LkDispenser *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER (self), NULL);

  return self->port;
}

guint
lk_dispenser_get_poll_interval_ms (LkDispenser *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER (self), 0);

  return g_atomic_int_get (&self->poll_interval_ms);
}

void
lk_dispenser_set_poll_interval_ms (LkDispenser *self,
                                   guint        interval_ms)
{
  g_return_if_fail (LK_IS_DISPENSER (self));

  if ((guint) g_atomic_int_get (&self->poll_interval_ms) == interval_ms)
    return;

  g_atomic_int_set (&self->poll_interval_ms, interval_ms);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLL_INTERVAL_MS]);
}

guint
lk_dispenser_get_reply_timeout_ms (LkDispenser *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER (self), 0);

  return g_atomic_int_get (&self->reply_timeout_ms);
}

void
lk_dispenser_set_reply_timeout_ms (LkDispenser *self,
                                   guint        timeout_ms)
{
  g_return_if_fail (LK_IS_DISPENSER (self));

  if ((guint) g_atomic_int_get (&self->reply_timeout_ms) == timeout_ms)
    return;

  /* Each job takes a snapshot when it starts. */
  g_atomic_int_set (&self->reply_timeout_ms, timeout_ms);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLY_TIMEOUT_MS]);
}

guint
lk_dispenser_get_motion_timeout_ms (LkDispenser *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER (self), 0);

  return g_atomic_int_get (&self->motion_timeout_ms);
}

void
lk_dispenser_set_motion_timeout_ms (LkDispenser *self,
                                    guint        timeout_ms)
{
  g_return_if_fail (LK_IS_DISPENSER (self));

  if ((guint) g_atomic_int_get (&self->motion_timeout_ms) == timeout_ms)
    return;

  g_atomic_int_set (&self->motion_timeout_ms, timeout_ms);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MOTION_TIMEOUT_MS]);
}

void
lk_dispenser_get_status_async (LkDispenser         *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LK_IS_DISPENSER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_dispenser_get_status_async);
  g_task_set_task_data (task, job_new (self, cancellable), (GDestroyNotify) job_free);
  g_task_run_in_thread (task, status_thread);
}

gboolean
lk_dispenser_get_status_finish (LkDispenser        *self,
                                GAsyncResult       *result,
                                LkDispenserStatus  *out_status,
                                GError            **error)
{
  g_autofree LkDispenserStatus *status = NULL;

  g_return_val_if_fail (LK_IS_DISPENSER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  status = g_task_propagate_pointer (G_TASK (result), error);
  if (status == NULL)
    return FALSE;

  if (out_status != NULL)
    *out_status = *status;
  return TRUE;
}

static void
start_issue (LkDispenser         *self,
             gboolean             test_mode,
             const LkCardData    *data,
             const guint8        *card_key,
             gsize                key_len,
             guint                take_timeout_ms,
             LkIssueProgressFunc  progress,
             gpointer             progress_data,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data,
             gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  Job *job;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  /* The result carries the cancellation: a moved card must still be accounted for. */
  g_task_set_check_cancellable (task, FALSE);

  job = job_new (self, cancellable);
  job->test_mode = test_mode;
  job->data = data != NULL ? lk_card_data_copy (data) : NULL;
  job->card_key = key_len > 0 ? g_memdup2 (card_key, key_len) : NULL;
  job->key_len = key_len;
  job->take_timeout_ms = take_timeout_ms;
  job->progress = progress;
  job->progress_data = progress_data;
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);

  g_task_run_in_thread (task, issue_thread);
}

void
lk_dispenser_issue_async (LkDispenser         *self,
                          const LkCardData    *data,
                          const guint8        *card_key,
                          gsize                key_len,
                          guint                take_timeout_ms,
                          LkIssueProgressFunc  progress,
                          gpointer             progress_data,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (LK_IS_DISPENSER (self));
  g_return_if_fail (data != NULL);
  g_return_if_fail (card_key != NULL || key_len == 0);

  start_issue (self, FALSE, data, card_key, key_len, take_timeout_ms, progress, progress_data,
               cancellable, callback, user_data, lk_dispenser_issue_async);
}

static LkIssueResult *
finish_issue (LkDispenser   *self,
              GAsyncResult  *result,
              GError       **error)
{
  g_return_val_if_fail (LK_IS_DISPENSER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

LkIssueResult *
lk_dispenser_issue_finish (LkDispenser   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return finish_issue (self, result, error);
}

void
lk_dispenser_test_issue_async (LkDispenser         *self,
                               const guint8        *card_key,
                               gsize                key_len,
                               LkIssueProgressFunc  progress,
                               gpointer             progress_data,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (LK_IS_DISPENSER (self));
  g_return_if_fail (card_key != NULL || key_len == 0);

  start_issue (self, TRUE, NULL, card_key, key_len, 0, progress, progress_data, cancellable,
               callback, user_data, lk_dispenser_test_issue_async);
}

LkIssueResult *
lk_dispenser_test_issue_finish (LkDispenser   *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return finish_issue (self, result, error);
}

void
lk_issue_result_free (LkIssueResult *result)
{
  if (result == NULL)
    return;

  g_free (result->card_no);
  g_clear_pointer (&result->written, lk_card_data_free);
  g_free (result->detail);
  g_free (result);
}

const char *
lk_issue_stage_to_string (LkIssueStage stage)
{
  switch (stage)
    {
    case LK_ISSUE_STAGE_CHECKING:
      return "checking";
    case LK_ISSUE_STAGE_DISPENSING:
      return "dispensing";
    case LK_ISSUE_STAGE_READING:
      return "reading";
    case LK_ISSUE_STAGE_WRITING:
      return "writing";
    case LK_ISSUE_STAGE_VERIFYING:
      return "verifying";
    case LK_ISSUE_STAGE_PRESENTED:
      return "presented";
    case LK_ISSUE_STAGE_TAKEN:
      return "taken";
    case LK_ISSUE_STAGE_CAPTURED:
      return "captured";
    default:
      return "unknown";
    }
}

const char *
lk_dispenser_status_stock (const LkDispenserStatus *status)
{
  g_return_val_if_fail (status != NULL, NULL);

  if (status->hopper_empty)
    return "empty";
  if (status->low_stock)
    return "low";
  return "ok";
}

GStrv
lk_dispenser_status_faults (const LkDispenserStatus *status)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (status != NULL, NULL);

  if (status->jam)
    g_strv_builder_add (builder, LK_DISPENSER_FAULT_JAM);
  if (status->hopper_empty)
    g_strv_builder_add (builder, LK_DISPENSER_FAULT_EMPTY);
  if (status->reject_full)
    g_strv_builder_add (builder, LK_DISPENSER_FAULT_REJECT_FULL);
  if (status->cards_overlapped)
    g_strv_builder_add (builder, LK_DISPENSER_FAULT_OVERLAPPED);
  if (status->dispense_error)
    g_strv_builder_add (builder, LK_DISPENSER_FAULT_DISPENSE_ERROR);
  if (status->capture_error)
    g_strv_builder_add (builder, LK_DISPENSER_FAULT_CAPTURE_ERROR);
  if (status->cannot_execute)
    g_strv_builder_add (builder, LK_DISPENSER_FAULT_CANNOT_EXECUTE);

  return g_strv_builder_end (builder);
}

gboolean
lk_dispenser_status_can_issue (const LkDispenserStatus *status)
{
  g_return_val_if_fail (status != NULL, FALSE);

  return !status->jam && !status->cards_overlapped && !status->hopper_empty
         && !status->reject_full && !status->dispense_error && !status->capture_error
         && !status->cannot_execute;
}

char *
lk_dispenser_status_describe (const LkDispenserStatus *status)
{
  g_autoptr(GString) text = NULL;

  g_return_val_if_fail (status != NULL, NULL);

  text = g_string_new (NULL);
  {
    const struct
    {
      gboolean    set;
      const char *line;
    } bits[] = {
      { status->reject_full, N_("Reject box full") },
      { status->cannot_execute, N_("Cannot execute the command") },
      { status->unused_bit, N_("Unused status bit set") },
      { status->hopper_pre_full, N_("Hopper almost full") },
      { status->dispensing, N_("Dispensing a card") },
      { status->capturing, N_("Capturing a card") },
      { status->dispense_error, N_("Dispense error") },
      { status->capture_error, N_("Capture error") },
      { status->hopper_full, N_("Hopper full") },
      { status->cards_overlapped, N_("Cards overlapped") },
      { status->jam, N_("Card jam") },
      { status->low_stock, N_("Few cards left") },
      { status->hopper_empty, N_("Hopper empty") },
      { status->sensor3, N_("Card at sensor 3") },
      { status->sensor2, N_("Card at sensor 2") },
      { status->sensor1, N_("Card at sensor 1") },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bits); i++)
      if (bits[i].set)
        g_string_append_printf (text, "%s%s", text->len > 0 ? "\n" : "", _(bits[i].line));
  }

  if (text->len == 0)
    g_string_append (text, _("Ready, no fault"));

  return g_string_free (g_steal_pointer (&text), FALSE);
}

void
lk_dispenser_recover_async (LkDispenser         *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LK_IS_DISPENSER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_dispenser_recover_async);
  g_task_set_task_data (task, job_new (self, cancellable), (GDestroyNotify) job_free);
  g_task_run_in_thread (task, recover_thread);
}

gboolean
lk_dispenser_recover_finish (LkDispenser   *self,
                             GAsyncResult  *result,
                             gboolean      *card_captured,
                             char         **card_no,
                             GError       **error)
{
  Recovered *recovered;

  g_return_val_if_fail (LK_IS_DISPENSER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (card_captured != NULL)
    *card_captured = FALSE;
  if (card_no != NULL)
    *card_no = NULL;

  recovered = g_task_propagate_pointer (G_TASK (result), error);
  if (recovered == NULL)
    return FALSE;

  if (card_captured != NULL)
    *card_captured = recovered->captured;
  if (card_no != NULL)
    *card_no = g_steal_pointer (&recovered->card_no);
  recovered_free (recovered);
  return TRUE;
}
