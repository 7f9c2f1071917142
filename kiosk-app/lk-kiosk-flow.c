/* lk-kiosk-flow.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-kiosk-error.h"
#include "lk-kiosk-flow.h"

#define MAX_PIN_LEN 12
#define MAX_FAULT_LOG 10
#define OUT_OF_SERVICE_POLL_MS 5000

struct _LkKioskFlow
{
  GObject            parent_instance;

  LkKioskConfig     *config;
  LkKioskStore      *store;
  LkKioskLink       *link;
  LkDispenser       *dispenser;
  LkKioskFlowTiming  timing;
  GCancellable      *cancellable;

  LkKioskScreen      screen;
  char               digits[LK_CLAIM_CODE_LEN + 1];
  char               pin[MAX_PIN_LEN + 1];
  char              *student_name;
  char              *student_class;
  char              *code_id;
  char              *claim_id;
  guint              progress;
  guint              countdown;
  gboolean           stock_low;
  gboolean           busy;          /* a lookup, claim or issue is under way */
  gboolean           issuing;       /* the dispenser is running an issue or test */
  gboolean           can_issue;     /* the last status allows an issue */
  gboolean           started;
  guint              wrong_codes;
  gint64             lockout_until; /* monotonic µs; 0 when not locked */

  gint64             deadline;      /* monotonic µs of the screen's timeout; 0 for none */
  gboolean           deadline_to_idle;
  guint              tick_id;
  guint              poll_id;
  gboolean           polling;

  GString           *service_log;
  GQueue             fault_log;     /* char *: "HH:MM:SS fault" */
  char              *status_text;
  GStrv              last_faults;
  char              *service_text;
};

G_DEFINE_FINAL_TYPE (LkKioskFlow, lk_kiosk_flow, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SCREEN,
  PROP_DIGITS,
  PROP_PIN_LENGTH,
  PROP_STUDENT_NAME,
  PROP_STUDENT_CLASS,
  PROP_PROGRESS,
  PROP_COUNTDOWN,
  PROP_STOCK_LOW,
  PROP_BUSY,
  PROP_SERVICE_TEXT,
  N_PROPS
};

enum {
  TYPO,
  ISSUE_PROGRESS,
  CLAIM_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char * const screen_names[] = {
  "idle", "entry", "invalid", "confirm", "waiting", "already-issued", "revoked", "preparing",
  "take-card", "done", "not-taken", "issue-failed", "out-of-service", "offline", "locked",
  "service-pin", "service",
};
G_STATIC_ASSERT (G_N_ELEMENTS (screen_names) == LK_KIOSK_N_SCREENS);

static void schedule_poll (LkKioskFlow *self, guint delay_ms);
static void update_service_text (LkKioskFlow *self);

const char *
lk_kiosk_screen_to_string (LkKioskScreen screen)
{
  g_return_val_if_fail (screen < LK_KIOSK_N_SCREENS, NULL);
  return screen_names[screen];
}

static void
wipe_digits (LkKioskFlow *self)
{
  gboolean changed = self->digits[0] != '\0';

  explicit_bzero (self->digits, sizeof self->digits);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIGITS]);
}

static void
wipe_pin (LkKioskFlow *self)
{
  gboolean changed = self->pin[0] != '\0';

  explicit_bzero (self->pin, sizeof self->pin);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PIN_LENGTH]);
}

static void
set_busy (LkKioskFlow *self,
          gboolean     busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_progress (LkKioskFlow *self,
              guint        progress)
{
  if (self->progress == progress)
    return;
  self->progress = progress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
}

static void
set_countdown (LkKioskFlow *self,
               guint        countdown)
{
  if (self->countdown == countdown)
    return;
  self->countdown = countdown;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COUNTDOWN]);
}

static void
set_student (LkKioskFlow *self,
             const char  *name,
             const char  *klass)
{
  if (g_strcmp0 (self->student_name, name) != 0)
    {
      g_free (self->student_name);
      self->student_name = g_strdup (name);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STUDENT_NAME]);
    }
  if (g_strcmp0 (self->student_class, klass) != 0)
    {
      g_free (self->student_class);
      self->student_class = g_strdup (klass);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STUDENT_CLASS]);
    }
}

static gboolean on_tick_cb (gpointer user_data);

static void
arm_tick (LkKioskFlow *self)
{
  gint64 remaining;
  guint delay;

  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->deadline == 0 || g_cancellable_is_cancelled (self->cancellable))
    {
      set_countdown (self, 0);
      return;
    }
  remaining = self->deadline - g_get_monotonic_time ();
  if (remaining <= 0)
    delay = 0;
  else
    {
      /* Wake at the next whole second of the countdown, or at the deadline. */
      gint64 part = remaining % G_USEC_PER_SEC;
      delay = (guint) ((part != 0 ? part : G_USEC_PER_SEC) / 1000);
      delay = MAX (delay, 1);
    }
  set_countdown (self, (guint) ((MAX (remaining, 0) + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC));
  self->tick_id = g_timeout_add (delay, on_tick_cb, self);
}

/* Sets the screen and its timeout (0 = none). With @to_idle FALSE the deadline only drives
 * the countdown on screen (the dispenser ends "take your card" itself). */
static void
set_screen_full (LkKioskFlow   *self,
                 LkKioskScreen  screen,
                 guint          timeout_ms,
                 gboolean       to_idle)
{
  self->deadline = timeout_ms > 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;
  self->deadline_to_idle = to_idle;
  arm_tick (self);

  if (self->screen == screen)
    return;
  g_debug ("flow: %s → %s", screen_names[self->screen], screen_names[screen]);
  self->screen = screen;
  if (screen == LK_KIOSK_SCREEN_SERVICE)
    update_service_text (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCREEN]);
}

static void
set_screen (LkKioskFlow   *self,
            LkKioskScreen  screen)
{
  guint timeout = 0;

  switch (screen)
    {
    case LK_KIOSK_SCREEN_ENTRY:
    case LK_KIOSK_SCREEN_CONFIRM:
      timeout = self->timing.entry_timeout_ms;
      break;

    case LK_KIOSK_SCREEN_INVALID:
    case LK_KIOSK_SCREEN_ALREADY_ISSUED:
    case LK_KIOSK_SCREEN_REVOKED:
    case LK_KIOSK_SCREEN_DONE:
    case LK_KIOSK_SCREEN_NOT_TAKEN:
    case LK_KIOSK_SCREEN_ISSUE_FAILED:
    case LK_KIOSK_SCREEN_OFFLINE:
      timeout = self->timing.notice_timeout_ms;
      break;

    case LK_KIOSK_SCREEN_SERVICE_PIN:
    case LK_KIOSK_SCREEN_SERVICE:
      timeout = self->timing.service_timeout_ms;
      break;

    case LK_KIOSK_SCREEN_LOCKED:
      {
        gint64 left = self->lockout_until - g_get_monotonic_time ();

        /* Rounded up: a deadline even a fraction of a millisecond before the lockout's end
         * would bring back the idle screen while a touch still finds the kiosk locked. */
        timeout = (guint) MAX ((left + 999) / 1000, 1);
      }
      break;

    case LK_KIOSK_SCREEN_IDLE:
    case LK_KIOSK_SCREEN_WAITING:
    case LK_KIOSK_SCREEN_PREPARING:
    case LK_KIOSK_SCREEN_TAKE_CARD:
    case LK_KIOSK_SCREEN_OUT_OF_SERVICE:
    case LK_KIOSK_N_SCREENS:
    default:
      break;
    }
  set_screen_full (self, screen, timeout, TRUE);
}

/* Idle, or the screen that stands in for it while the kiosk cannot serve. */
static void
go_idle (LkKioskFlow *self)
{
  wipe_digits (self);
  wipe_pin (self);
  set_student (self, NULL, NULL);
  g_clear_pointer (&self->code_id, g_free);
  set_progress (self, 0);

  if (self->lockout_until != 0 && g_get_monotonic_time () >= self->lockout_until)
    {
      self->lockout_until = 0;
      self->wrong_codes = 0;
    }

  if (self->issuing)
    return;
  if (!self->can_issue)
    set_screen (self, LK_KIOSK_SCREEN_OUT_OF_SERVICE);
  else
    set_screen (self, LK_KIOSK_SCREEN_IDLE);
}

static gboolean
on_tick_cb (gpointer user_data)
{
  LkKioskFlow *self = user_data;

  self->tick_id = 0;
  if (self->deadline != 0 && g_get_monotonic_time () >= self->deadline)
    {
      self->deadline = 0;
      set_countdown (self, 0);
      if (self->deadline_to_idle && !self->busy)
        go_idle (self);
      return G_SOURCE_REMOVE;
    }
  arm_tick (self);
  return G_SOURCE_REMOVE;
}

static void
log_fault (LkKioskFlow *self,
           const char  *fault)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");

  g_queue_push_head (&self->fault_log, g_strdup_printf ("%s %s", stamp, fault));
  while (g_queue_get_length (&self->fault_log) > MAX_FAULT_LOG)
    g_free (g_queue_pop_tail (&self->fault_log));
}

static void
update_service_text (LkKioskFlow *self)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, _("Dispenser: %s"),
                          self->dispenser != NULL ? lk_dispenser_get_port (self->dispenser)
                                                  : lk_kiosk_config_get_serial_port (self->config));
  g_string_append_c (text, '\n');
  if (self->status_text != NULL)
    g_string_append_printf (text, "%s\n", self->status_text);
  g_string_append_printf (text, "%s\n", lk_kiosk_link_get_connected (self->link)
                                        ? _("Server: connected") : _("Server: not connected"));
  g_string_append_printf (text, _("Codes on this kiosk: %u"),
                          lk_kiosk_store_count_codes (self->store));
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("Reports waiting for the server: %u"),
                          lk_kiosk_store_journal_count (self->store, LK_JOURNAL_COMPLETED) +
                          lk_kiosk_store_journal_count (self->store, LK_JOURNAL_FAILED));
  g_string_append_c (text, '\n');
  g_string_append_printf (text, "%s\n", _("Last faults:"));
  if (g_queue_is_empty (&self->fault_log))
    g_string_append_printf (text, "  %s\n", _("none"));
  for (GList *l = self->fault_log.head; l != NULL; l = l->next)
    g_string_append_printf (text, "  %s\n", (const char *) l->data);
  if (self->service_log->len > 0)
    g_string_append_printf (text, "%s\n%s", _("Test issue:"), self->service_log->str);

  g_free (self->service_text);
  self->service_text = g_string_free (text, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVICE_TEXT]);
}

/* Status poll */

static void
apply_status (LkKioskFlow             *self,
              const LkDispenserStatus *status,
              const GError            *error)
{
  g_auto(GStrv) faults = NULL;
  const char *stock;
  gboolean can_issue;
  gboolean stock_low;

  if (status != NULL)
    {
      faults = lk_dispenser_status_faults (status);
      stock = lk_dispenser_status_stock (status);
      can_issue = lk_dispenser_status_can_issue (status);
      g_free (self->status_text);
      self->status_text = lk_dispenser_status_describe (status);
    }
  else
    {
      const char *silent[] = { LK_DISPENSER_FAULT_SILENT, NULL };

      faults = g_strdupv ((char **) silent);
      stock = "ok";
      can_issue = FALSE;
      g_free (self->status_text);
      self->status_text = g_strdup_printf (_("The dispenser does not answer: %s"),
                                           error != NULL ? error->message : "");
    }

  /* The fault log keeps each fault once, when it appears. */
  for (guint i = 0; faults[i] != NULL; i++)
    if (self->last_faults == NULL || !g_strv_contains ((const char * const *) self->last_faults,
                                                       faults[i]))
      log_fault (self, faults[i]);
  g_strfreev (self->last_faults);
  self->last_faults = g_strdupv (faults);

  lk_kiosk_link_set_status (self->link, stock, (const char * const *) faults);

  stock_low = g_strcmp0 (stock, "low") == 0;
  if (stock_low != self->stock_low)
    {
      self->stock_low = stock_low;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STOCK_LOW]);
    }

  if (can_issue != self->can_issue)
    {
      g_message ("flow: dispenser %s", can_issue ? "ready" : "out of service");
      self->can_issue = can_issue;
      if (!can_issue && self->screen == LK_KIOSK_SCREEN_IDLE)
        set_screen (self, LK_KIOSK_SCREEN_OUT_OF_SERVICE);
      else if (can_issue && self->screen == LK_KIOSK_SCREEN_OUT_OF_SERVICE)
        set_screen (self, LK_KIOSK_SCREEN_IDLE);
    }
  if (self->screen == LK_KIOSK_SCREEN_SERVICE)
    update_service_text (self);
}

static void
on_status_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(LkKioskFlow) self = user_data;
  g_autoptr(GError) error = NULL;
  LkDispenserStatus status;

  self->polling = FALSE;
  if (!lk_dispenser_get_status_finish (LK_DISPENSER (source), result, &status, &error))
    {
      /* The flow is going away: whatever the port said no longer matters. */
      if (g_cancellable_is_cancelled (self->cancellable))
        return;
      g_warning ("flow: dispenser status: %s", error->message);
      apply_status (self, NULL, error);
    }
  else
    apply_status (self, &status, NULL);
  schedule_poll (self, self->can_issue ? self->timing.status_poll_ms
                                       : MIN (self->timing.status_poll_ms, OUT_OF_SERVICE_POLL_MS));
}

static gboolean
ensure_dispenser (LkKioskFlow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->dispenser != NULL)
    return TRUE;
  self->dispenser = lk_dispenser_new (lk_kiosk_config_get_serial_port (self->config),
                                      lk_kiosk_config_get_dispenser_address (self->config),
                                      lk_kiosk_config_get_baud (self->config), &error);
  if (self->dispenser == NULL)
    {
      g_warning ("flow: cannot open the dispenser: %s", error->message);
      apply_status (self, NULL, error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_poll_timeout_cb (gpointer user_data)
{
  LkKioskFlow *self = user_data;

  self->poll_id = 0;
  lk_kiosk_flow_poll_status (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_poll (LkKioskFlow *self,
               guint        delay_ms)
{
  g_clear_handle_id (&self->poll_id, g_source_remove);
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  self->poll_id = g_timeout_add (delay_ms, on_poll_timeout_cb, self);
}

/* Issue */

static void
journal_failed (LkKioskFlow  *self,
                const char   *claim_id,
                LkFailReason  reason,
                const char   *card_no)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *report_id = NULL;

  report_id = lk_kiosk_store_journal_finish (self->store, claim_id, FALSE, reason, card_no,
                                             NULL, &error);
  if (report_id == NULL)
    g_warning ("flow: cannot journal the end of claim %s: %s", claim_id, error->message);
  lk_kiosk_link_flush_reports (self->link);
}

static void
on_issue_progress_cb (LkIssueStage  stage,
                      const char   *card_no,
                      gpointer      user_data)
{
  LkKioskFlow *self = user_data;
  g_autoptr(GError) error = NULL;

  if (self->claim_id == NULL)
    return;

  switch (stage)
    {
    case LK_ISSUE_STAGE_READING:
      set_progress (self, 1);
      if (!lk_kiosk_store_journal_advance (self->store, self->claim_id, LK_JOURNAL_CARD_READ,
                                           card_no, &error))
        g_warning ("flow: journal: %s", error->message);
      break;

    case LK_ISSUE_STAGE_WRITING:
      set_progress (self, 1);
      break;

    case LK_ISSUE_STAGE_VERIFYING:
      set_progress (self, 2);
      break;

    case LK_ISSUE_STAGE_PRESENTED:
      if (!lk_kiosk_store_journal_advance (self->store, self->claim_id, LK_JOURNAL_PRESENTED,
                                           card_no, &error))
        g_warning ("flow: journal: %s", error->message);
      set_screen_full (self, LK_KIOSK_SCREEN_TAKE_CARD, self->timing.take_timeout_ms, FALSE);
      break;

    case LK_ISSUE_STAGE_CHECKING:
    case LK_ISSUE_STAGE_DISPENSING:
    case LK_ISSUE_STAGE_TAKEN:
    case LK_ISSUE_STAGE_CAPTURED:
    default:
      break;
    }
  /* After the journal: an observer sees the state already on disk. */
  g_signal_emit (self, signals[ISSUE_PROGRESS], 0, (guint) stage, card_no);
}

static void
on_issue_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(LkKioskFlow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LkIssueResult) issue = NULL;
  g_autofree char *claim_id = g_steal_pointer (&self->claim_id);
  g_autofree char *report_id = NULL;
  LkFailReason reason;

  self->issuing = FALSE;
  set_busy (self, FALSE);

  issue = lk_dispenser_issue_finish (LK_DISPENSER (source), result, &error);
  if (issue == NULL)
    {
      /* The driver's contract is a result for every failure; an error means it could not
       * even tell, so the card may have moved. */
      g_warning ("flow: issue of claim %s: %s", claim_id, error->message);
      reason = LK_FAIL_DISPENSER_SILENT;
      journal_failed (self, claim_id, reason, NULL);
    }
  else if (issue->ok)
    {
      report_id = lk_kiosk_store_journal_finish (self->store, claim_id, TRUE, LK_FAIL_CANCELLED,
                                                 issue->card_no, issue->written, &error);
      if (report_id == NULL)
        g_warning ("flow: cannot journal claim %s: %s", claim_id, error->message);
      lk_kiosk_link_flush_reports (self->link);
      self->wrong_codes = 0;
      g_message ("flow: claim %s completed, card %s", claim_id, issue->card_no);
      g_signal_emit (self, signals[CLAIM_FINISHED], 0, TRUE, (guint) LK_FAIL_CANCELLED);
      set_screen (self, LK_KIOSK_SCREEN_DONE);
      lk_kiosk_flow_poll_status (self);
      return;
    }
  else
    {
      reason = issue->reason;
      g_message ("flow: claim %s failed: %s%s%s", claim_id, lk_fail_reason_to_string (reason),
                 issue->detail ? " · " : "", issue->detail ? issue->detail : "");
      journal_failed (self, claim_id, reason, issue->card_no);
    }

  g_signal_emit (self, signals[CLAIM_FINISHED], 0, FALSE, (guint) reason);
  log_fault (self, lk_fail_reason_to_string (reason));
  switch (reason)
    {
    case LK_FAIL_NOT_TAKEN:
      set_screen (self, LK_KIOSK_SCREEN_NOT_TAKEN);
      break;

    case LK_FAIL_JAM:
    case LK_FAIL_EMPTY:
    case LK_FAIL_DISPENSER_SILENT:
      /* Out of service until a status poll shows that the fault has been cleared. */
      self->can_issue = FALSE;
      set_screen (self, LK_KIOSK_SCREEN_OUT_OF_SERVICE);
      break;

    case LK_FAIL_READ_FAILED:
    case LK_FAIL_WRITE_FAILED:
    case LK_FAIL_CANCELLED:
    case LK_N_FAIL_REASONS:
    default:
      set_screen (self, LK_KIOSK_SCREEN_ISSUE_FAILED);
      break;
    }
  lk_kiosk_flow_poll_status (self);
}

static void
start_issue (LkKioskFlow *self,
             JsonObject  *answer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkCardData) data = NULL;
  g_autofree char *claim_id = NULL;
  g_autofree char *card_data_json = NULL;
  JsonNode *claim_node = json_object_get_member (answer, "claim_id");
  JsonNode *card_node = json_object_get_member (answer, "card_data");
  const guint8 *key;
  gsize key_len;

  claim_id = lk_kiosk_json_id_to_string (claim_node);
  if (claim_id == NULL)
    {
      g_warning ("flow: claim.authorized without a claim_id");
      set_busy (self, FALSE);
      set_screen (self, LK_KIOSK_SCREEN_ISSUE_FAILED);
      return;
    }
  if (card_node != NULL)
    {
      card_data_json = lk_json_to_string (card_node);
      data = lk_card_data_from_json (card_node, &error);
    }

  /* The journal row comes first: whatever happens next, the kiosk will report this claim. */
  if (!lk_kiosk_store_journal_authorize (self->store, claim_node, self->code_id, card_data_json,
                                         &error))
    {
      g_warning ("flow: cannot journal claim %s: %s", claim_id, error->message);
      set_busy (self, FALSE);
      self->can_issue = FALSE;
      log_fault (self, "journal");
      set_screen (self, LK_KIOSK_SCREEN_OUT_OF_SERVICE);
      return;
    }
  if (data == NULL)
    {
      g_warning ("flow: claim %s has unusable card data: %s", claim_id,
                 error ? error->message : "missing");
      set_busy (self, FALSE);
      journal_failed (self, claim_id, LK_FAIL_CANCELLED, NULL);
      set_screen (self, LK_KIOSK_SCREEN_ISSUE_FAILED);
      return;
    }
  if (!ensure_dispenser (self) ||
      !lk_kiosk_store_journal_advance (self->store, claim_id, LK_JOURNAL_DISPENSING, NULL, &error))
    {
      if (error != NULL)
        g_warning ("flow: cannot journal claim %s: %s", claim_id, error->message);
      set_busy (self, FALSE);
      journal_failed (self, claim_id, LK_FAIL_CANCELLED, NULL);
      set_screen (self, LK_KIOSK_SCREEN_OUT_OF_SERVICE);
      return;
    }

  /* From here on the card moves. */
  self->claim_id = g_steal_pointer (&claim_id);
  self->issuing = TRUE;
  set_progress (self, 0);
  set_screen (self, LK_KIOSK_SCREEN_PREPARING);
  key = lk_kiosk_config_get_card_key (self->config, &key_len);
  lk_dispenser_issue_async (self->dispenser, data, key, key_len, self->timing.take_timeout_ms,
                            on_issue_progress_cb, self, self->cancellable, on_issue_cb,
                            g_object_ref (self));
}

static void
on_claim_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(LkKioskFlow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) answer = NULL;
  const char *type;
  const char *reason;

  answer = lk_kiosk_link_claim_finish (LK_KIOSK_LINK (source), result, &error);
  wipe_digits (self);
  if (answer == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_message ("flow: claim request: %s", error->message);
      set_busy (self, FALSE);
      set_screen (self, LK_KIOSK_SCREEN_OFFLINE);
      return;
    }

  type = json_object_get_string_member_with_default (answer, "type", "");
  if (g_str_equal (type, LK_MSG_CLAIM_AUTHORIZED))
    {
      start_issue (self, answer);
      return;
    }

  set_busy (self, FALSE);
  reason = json_object_get_string_member_with_default (answer, "reason", "");
  g_message ("flow: claim rejected: %s", reason);
  if (g_str_equal (reason, LK_REJECT_ALREADY_ISSUED))
    set_screen (self, LK_KIOSK_SCREEN_ALREADY_ISSUED);
  else if (g_str_equal (reason, LK_REJECT_REVOKED))
    set_screen (self, LK_KIOSK_SCREEN_REVOKED);
  else if (g_str_equal (reason, LK_REJECT_RATE_LIMITED))
    {
      self->lockout_until = g_get_monotonic_time () + (gint64) self->timing.lockout_ms * 1000;
      set_screen (self, LK_KIOSK_SCREEN_LOCKED);
    }
  else
    set_screen (self, LK_KIOSK_SCREEN_INVALID);
}

static void
on_lookup_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(LkKioskFlow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LkKioskCode) code = NULL;

  code = lk_kiosk_store_lookup_code_finish (LK_KIOSK_STORE (source), result, &error);
  set_busy (self, FALSE);
  if (self->screen != LK_KIOSK_SCREEN_ENTRY)
    return;
  if (error != NULL)
    {
      g_warning ("flow: code lookup: %s", error->message);
      set_screen (self, LK_KIOSK_SCREEN_OUT_OF_SERVICE);
      return;
    }
  if (code == NULL)
    {
      self->wrong_codes++;
      g_message ("flow: a code that no stored digest matches (%u in a row)", self->wrong_codes);
      wipe_digits (self);
      if (self->wrong_codes >= self->timing.max_wrong_codes)
        {
          self->lockout_until = g_get_monotonic_time () + (gint64) self->timing.lockout_ms * 1000;
          set_screen (self, LK_KIOSK_SCREEN_LOCKED);
        }
      else
        set_screen (self, LK_KIOSK_SCREEN_INVALID);
      return;
    }

  g_free (self->code_id);
  self->code_id = g_strdup (code->code_id);
  set_student (self, code->name, code->klass);
  set_screen (self, LK_KIOSK_SCREEN_CONFIRM);
}

static const char *
stage_label (LkIssueStage stage)
{
  switch (stage)
    {
    case LK_ISSUE_STAGE_CHECKING:
      return _("Status check");
    case LK_ISSUE_STAGE_DISPENSING:
      return _("Card out");
    case LK_ISSUE_STAGE_READING:
      return _("Card number read");
    case LK_ISSUE_STAGE_WRITING:
      return _("Writing");
    case LK_ISSUE_STAGE_VERIFYING:
      return _("Checking");
    case LK_ISSUE_STAGE_PRESENTED:
      return _("Card in the slot");
    case LK_ISSUE_STAGE_TAKEN:
      return _("Card taken");
    case LK_ISSUE_STAGE_CAPTURED:
      return _("Card in the reject box");
    default:
      return lk_issue_stage_to_string (stage);
    }
}

static void
on_test_progress_cb (LkIssueStage  stage,
                     const char   *card_no,
                     gpointer      user_data)
{
  LkKioskFlow *self = user_data;

  g_string_append_printf (self->service_log, "  %s%s%s\n", stage_label (stage),
                          card_no ? " · " : "", card_no ? card_no : "");
  update_service_text (self);
}

static void
on_test_issue_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(LkKioskFlow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LkIssueResult) issue = NULL;

  self->issuing = FALSE;
  set_busy (self, FALSE);
  issue = lk_dispenser_test_issue_finish (LK_DISPENSER (source), result, &error);
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  if (issue == NULL)
    g_string_append_printf (self->service_log, "  %s\n", error->message);
  else
    {
      g_string_append_printf (self->service_log, "  %s\n",
                              issue->ok ? _("Test issue passed") : _("Test issue FAILED"));
      if (issue->detail != NULL)
        g_string_append_printf (self->service_log, "  %s\n", issue->detail);
      if (!issue->captured)
        g_string_append_printf (self->service_log, "  %s\n",
                                _("The card did not reach the reject box"));
    }
  update_service_text (self);
  lk_kiosk_flow_poll_status (self);
}

static void
on_link_connected_cb (LkKioskLink *link,
                      GParamSpec  *pspec,
                      gpointer     user_data)
{
  LkKioskFlow *self = user_data;

  if (self->screen == LK_KIOSK_SCREEN_SERVICE)
    update_service_text (self);
}

static void
on_recover_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(LkKioskFlow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *card_no = NULL;
  gboolean captured = FALSE;

  self->polling = FALSE;
  if (!lk_dispenser_recover_finish (LK_DISPENSER (source), result, &captured, &card_no, &error))
    {
      if (g_cancellable_is_cancelled (self->cancellable))
        return;
      /* A jam waits for a technician; the status poll keeps the kiosk out of service. */
      if (g_error_matches (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_JAM))
        g_message ("flow: dispenser recovery: %s", error->message);
      else
        g_warning ("flow: dispenser recovery: %s", error->message);
    }
  else if (captured)
    {
      g_message ("flow: a card left in the dispenser (%s) went to the reject box",
                 card_no ? card_no : "no UID read");
      log_fault (self, "recovered_card");
    }
  lk_kiosk_flow_poll_status (self);
}

/* GObject */

static void
lk_kiosk_flow_dispose (GObject *object)
{
  LkKioskFlow *self = (LkKioskFlow *) object;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->poll_id, g_source_remove);
  if (self->link != NULL)
    g_signal_handlers_disconnect_by_data (self->link, self);
  g_clear_object (&self->link);
  g_clear_object (&self->dispenser);
  g_clear_object (&self->store);
  g_clear_object (&self->config);

  G_OBJECT_CLASS (lk_kiosk_flow_parent_class)->dispose (object);
}

static void
lk_kiosk_flow_finalize (GObject *object)
{
  LkKioskFlow *self = (LkKioskFlow *) object;

  explicit_bzero (self->digits, sizeof self->digits);
  explicit_bzero (self->pin, sizeof self->pin);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->student_name, g_free);
  g_clear_pointer (&self->student_class, g_free);
  g_clear_pointer (&self->code_id, g_free);
  g_clear_pointer (&self->claim_id, g_free);
  g_clear_pointer (&self->status_text, g_free);
  g_clear_pointer (&self->last_faults, g_strfreev);
  g_clear_pointer (&self->service_text, g_free);
  g_string_free (self->service_log, TRUE);
  g_queue_clear_full (&self->fault_log, g_free);

  G_OBJECT_CLASS (lk_kiosk_flow_parent_class)->finalize (object);
}

static void
lk_kiosk_flow_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  LkKioskFlow *self = LK_KIOSK_FLOW (object);

  switch (prop_id)
    {
    case PROP_SCREEN:
      g_value_set_uint (value, self->screen);
      break;

    case PROP_DIGITS:
      g_value_set_string (value, self->digits);
      break;

    case PROP_PIN_LENGTH:
      g_value_set_uint (value, strlen (self->pin));
      break;

    case PROP_STUDENT_NAME:
      g_value_set_string (value, self->student_name);
      break;

    case PROP_STUDENT_CLASS:
      g_value_set_string (value, self->student_class);
      break;

    case PROP_PROGRESS:
      g_value_set_uint (value, self->progress);
      break;

    case PROP_COUNTDOWN:
      g_value_set_uint (value, self->countdown);
      break;

    case PROP_STOCK_LOW:
      g_value_set_boolean (value, self->stock_low);
      break;

    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;

    case PROP_SERVICE_TEXT:
      g_value_set_string (value, self->service_text);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_kiosk_flow_class_init (LkKioskFlowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = lk_kiosk_flow_dispose;
  object_class->finalize = lk_kiosk_flow_finalize;
  object_class->get_property = lk_kiosk_flow_get_property;

  properties[PROP_SCREEN] =
    g_param_spec_uint ("screen", NULL, NULL, 0, LK_KIOSK_N_SCREENS - 1, 0, ro);
  properties[PROP_DIGITS] = g_param_spec_string ("digits", NULL, NULL, "", ro);
  properties[PROP_PIN_LENGTH] =
    g_param_spec_uint ("pin-length", NULL, NULL, 0, MAX_PIN_LEN, 0, ro);
  properties[PROP_STUDENT_NAME] = g_param_spec_string ("student-name", NULL, NULL, NULL, ro);
  properties[PROP_STUDENT_CLASS] = g_param_spec_string ("student-class", NULL, NULL, NULL, ro);
  properties[PROP_PROGRESS] = g_param_spec_uint ("progress", NULL, NULL, 0, 2, 0, ro);
  properties[PROP_COUNTDOWN] = g_param_spec_uint ("countdown", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_STOCK_LOW] = g_param_spec_boolean ("stock-low", NULL, NULL, FALSE, ro);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  properties[PROP_SERVICE_TEXT] = g_param_spec_string ("service-text", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* typo (LkKioskTypo): the code was refused on the kiosk; the boxes shake. */
  signals[TYPO] =
    g_signal_new ("typo", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /* issue-progress (LkIssueStage stage, const char *card_no) */
  signals[ISSUE_PROGRESS] =
    g_signal_new ("issue-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  /* claim-finished (gboolean ok, LkFailReason reason): journaled, and its report sent if the
   * link is up. */
  signals[CLAIM_FINISHED] =
    g_signal_new ("claim-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_UINT);
}

static void
lk_kiosk_flow_init (LkKioskFlow *self)
{
  self->timing = (LkKioskFlowTiming) {
    .entry_timeout_ms = 60000,
    .notice_timeout_ms = 15000,
    .claim_timeout_ms = 10000,
    .take_timeout_ms = 30000,
    .lockout_ms = 60000,
    .max_wrong_codes = 5,
    .status_poll_ms = 30000,
    .service_timeout_ms = 120000,
  };
  self->cancellable = g_cancellable_new ();
  self->service_log = g_string_new (NULL);
  g_queue_init (&self->fault_log);
  self->screen = LK_KIOSK_SCREEN_IDLE;
  /* Until the first status poll answers, the kiosk does not take codes. */
  self->can_issue = FALSE;
}

/* Public API */

LkKioskFlow *
lk_kiosk_flow_new (LkKioskConfig *config,
                   LkKioskStore  *store,
                   LkKioskLink   *link,
                   LkDispenser   *dispenser)
{
  LkKioskFlow *self;

  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (config), NULL);
  g_return_val_if_fail (LK_IS_KIOSK_STORE (store), NULL);
  g_return_val_if_fail (LK_IS_KIOSK_LINK (link), NULL);
  g_return_val_if_fail (dispenser == NULL || LK_IS_DISPENSER (dispenser), NULL);

  self = g_object_new (LK_TYPE_KIOSK_FLOW, NULL);
  self->config = g_object_ref (config);
  self->store = g_object_ref (store);
  self->link = g_object_ref (link);
  self->dispenser = dispenser ? g_object_ref (dispenser) : NULL;
  self->screen = LK_KIOSK_SCREEN_OUT_OF_SERVICE;
  g_signal_connect (link, "notify::connected", G_CALLBACK (on_link_connected_cb), self);
  return self;
}

void
lk_kiosk_flow_set_timing (LkKioskFlow             *self,
                          const LkKioskFlowTiming *timing)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));
  g_return_if_fail (timing != NULL);
  g_return_if_fail (timing->status_poll_ms > 0 && timing->max_wrong_codes > 0);

  self->timing = *timing;
}

const LkKioskFlowTiming *
lk_kiosk_flow_get_timing (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return &self->timing;
}

void
lk_kiosk_flow_start (LkKioskFlow *self)
{
  g_autoptr(GError) error = NULL;
  guint recovered;

  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->started)
    return;
  self->started = TRUE;

  /* What a crash or a power cut left half done is reported first. */
  recovered = lk_kiosk_store_journal_recover (self->store, &error);
  if (error != NULL)
    g_warning ("flow: journal recovery: %s", error->message);
  if (recovered > 0)
    g_message ("flow: %u claim(s) from before the restart will be reported", recovered);

  lk_kiosk_link_start (self->link);

  /* Then the dispenser: stale error bits cleared, and a card that a crash left in the
   * channel captured, so that it can never reach the next student. Until that is done the
   * kiosk stays out of service. */
  if (ensure_dispenser (self))
    {
      self->polling = TRUE;
      lk_dispenser_recover_async (self->dispenser, self->cancellable, on_recover_cb,
                                  g_object_ref (self));
    }
  else
    lk_kiosk_flow_poll_status (self);
}

void
lk_kiosk_flow_stop (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  /* Operations under way finish in their threads (an issue captures its card and is
   * journaled); nothing new starts. */
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->poll_id, g_source_remove);
  lk_kiosk_link_stop (self->link);
}

LkKioskConfig *
lk_kiosk_flow_get_config (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->config;
}

LkKioskStore *
lk_kiosk_flow_get_store (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->store;
}

LkKioskLink *
lk_kiosk_flow_get_link (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->link;
}

LkDispenser *
lk_kiosk_flow_get_dispenser (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->dispenser;
}

LkKioskScreen
lk_kiosk_flow_get_screen (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), LK_KIOSK_SCREEN_IDLE);
  return self->screen;
}

const char *
lk_kiosk_flow_get_digits (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->digits;
}

guint
lk_kiosk_flow_get_pin_length (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), 0);
  return strlen (self->pin);
}

const char *
lk_kiosk_flow_get_student_name (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->student_name;
}

const char *
lk_kiosk_flow_get_student_class (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->student_class;
}

guint
lk_kiosk_flow_get_progress (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), 0);
  return self->progress;
}

guint
lk_kiosk_flow_get_countdown (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), 0);
  return self->countdown;
}

gboolean
lk_kiosk_flow_get_stock_low (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), FALSE);
  return self->stock_low;
}

gboolean
lk_kiosk_flow_get_busy (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), FALSE);
  return self->busy;
}

const char *
lk_kiosk_flow_get_service_text (LkKioskFlow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_FLOW (self), NULL);
  return self->service_text;
}

void
lk_kiosk_flow_start_entry (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->screen != LK_KIOSK_SCREEN_IDLE)
    return;
  if (self->lockout_until != 0 && g_get_monotonic_time () < self->lockout_until)
    {
      set_screen (self, LK_KIOSK_SCREEN_LOCKED);
      return;
    }
  wipe_digits (self);
  set_screen (self, LK_KIOSK_SCREEN_ENTRY);
}

static gboolean
accepts_keys (LkKioskFlow *self)
{
  return self->screen == LK_KIOSK_SCREEN_ENTRY && !self->busy;
}

void
lk_kiosk_flow_press_digit (LkKioskFlow *self,
                           guint        digit)
{
  gsize len;

  g_return_if_fail (LK_IS_KIOSK_FLOW (self));
  g_return_if_fail (digit <= 9);

  if (!accepts_keys (self))
    return;
  set_screen (self, LK_KIOSK_SCREEN_ENTRY);   /* restarts the timeout */
  len = strlen (self->digits);
  if (len >= LK_CLAIM_CODE_LEN)
    return;
  self->digits[len] = (char) ('0' + digit);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIGITS]);
}

void
lk_kiosk_flow_backspace (LkKioskFlow *self)
{
  gsize len;

  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (!accepts_keys (self))
    return;
  set_screen (self, LK_KIOSK_SCREEN_ENTRY);
  len = strlen (self->digits);
  if (len == 0)
    return;
  self->digits[len - 1] = '\0';
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIGITS]);
}

void
lk_kiosk_flow_clear (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (!accepts_keys (self))
    return;
  set_screen (self, LK_KIOSK_SCREEN_ENTRY);
  wipe_digits (self);
}

void
lk_kiosk_flow_submit (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (!accepts_keys (self))
    return;
  set_screen (self, LK_KIOSK_SCREEN_ENTRY);
  if (strlen (self->digits) < LK_CLAIM_CODE_LEN)
    {
      g_signal_emit (self, signals[TYPO], 0, (guint) LK_KIOSK_TYPO_INCOMPLETE);
      return;
    }
  if (!lk_claim_code_is_valid (self->digits))
    {
      /* A typo, caught by the check digit: the code stays on screen for correction, and it
       * does not count as a wrong try. */
      g_signal_emit (self, signals[TYPO], 0, (guint) LK_KIOSK_TYPO_CHECK_DIGIT);
      return;
    }
  set_busy (self, TRUE);
  lk_kiosk_store_lookup_code_async (self->store, self->digits, self->cancellable, on_lookup_cb,
                                    g_object_ref (self));
}

void
lk_kiosk_flow_accept (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->screen != LK_KIOSK_SCREEN_CONFIRM || self->busy)
    return;
  /* A code is never accepted offline: only the server can authorize it. */
  if (!lk_kiosk_link_get_connected (self->link))
    {
      wipe_digits (self);
      set_screen (self, LK_KIOSK_SCREEN_OFFLINE);
      return;
    }
  if (!self->can_issue)
    {
      wipe_digits (self);
      set_screen (self, LK_KIOSK_SCREEN_OUT_OF_SERVICE);
      return;
    }
  set_busy (self, TRUE);
  set_screen (self, LK_KIOSK_SCREEN_WAITING);
  lk_kiosk_link_claim_async (self->link, self->digits, self->timing.claim_timeout_ms,
                             self->cancellable, on_claim_cb, g_object_ref (self));
}

void
lk_kiosk_flow_decline (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->screen != LK_KIOSK_SCREEN_CONFIRM || self->busy)
    return;
  wipe_digits (self);
  set_student (self, NULL, NULL);
  set_screen (self, LK_KIOSK_SCREEN_ENTRY);
}

void
lk_kiosk_flow_retry (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  switch (self->screen)
    {
    case LK_KIOSK_SCREEN_INVALID:
    case LK_KIOSK_SCREEN_NOT_TAKEN:
    case LK_KIOSK_SCREEN_ISSUE_FAILED:
    case LK_KIOSK_SCREEN_OFFLINE:
      if (!self->can_issue)
        {
          go_idle (self);
          return;
        }
      wipe_digits (self);
      set_student (self, NULL, NULL);
      set_screen (self, LK_KIOSK_SCREEN_ENTRY);
      break;

    default:
      break;
    }
}

void
lk_kiosk_flow_go_idle (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  switch (self->screen)
    {
    case LK_KIOSK_SCREEN_WAITING:
    case LK_KIOSK_SCREEN_PREPARING:
    case LK_KIOSK_SCREEN_TAKE_CARD:
    case LK_KIOSK_SCREEN_LOCKED:
      return;

    default:
      if (self->busy)
        return;
      go_idle (self);
    }
}

void
lk_kiosk_flow_request_service (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->issuing || self->busy)
    return;
  if (lk_kiosk_config_get_service_pin (self->config) == NULL)
    {
      g_message ("flow: service screen asked for, but no service_pin is configured");
      return;
    }
  wipe_digits (self);
  wipe_pin (self);
  set_screen (self, LK_KIOSK_SCREEN_SERVICE_PIN);
}

void
lk_kiosk_flow_press_pin_digit (LkKioskFlow *self,
                               guint        digit)
{
  gsize len;

  g_return_if_fail (LK_IS_KIOSK_FLOW (self));
  g_return_if_fail (digit <= 9);

  if (self->screen != LK_KIOSK_SCREEN_SERVICE_PIN)
    return;
  set_screen (self, LK_KIOSK_SCREEN_SERVICE_PIN);
  len = strlen (self->pin);
  if (len >= MAX_PIN_LEN)
    return;
  self->pin[len] = (char) ('0' + digit);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PIN_LENGTH]);
}

void
lk_kiosk_flow_submit_pin (LkKioskFlow *self)
{
  const char *pin;

  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->screen != LK_KIOSK_SCREEN_SERVICE_PIN)
    return;
  pin = lk_kiosk_config_get_service_pin (self->config);
  if (pin == NULL || !lk_secure_str_equal (pin, self->pin))
    {
      g_message ("flow: wrong service PIN");
      wipe_pin (self);
      go_idle (self);
      return;
    }
  wipe_pin (self);
  g_message ("flow: service screen opened");
  set_screen (self, LK_KIOSK_SCREEN_SERVICE);
  lk_kiosk_flow_poll_status (self);
}

void
lk_kiosk_flow_service_refresh (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->screen != LK_KIOSK_SCREEN_SERVICE)
    return;
  set_screen (self, LK_KIOSK_SCREEN_SERVICE);
  update_service_text (self);
  lk_kiosk_flow_poll_status (self);
}

void
lk_kiosk_flow_service_test_issue (LkKioskFlow *self)
{
  const guint8 *key;
  gsize key_len;

  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  if (self->screen != LK_KIOSK_SCREEN_SERVICE || self->issuing || !ensure_dispenser (self))
    return;
  set_screen (self, LK_KIOSK_SCREEN_SERVICE);
  g_string_truncate (self->service_log, 0);
  self->issuing = TRUE;
  set_busy (self, TRUE);
  key = lk_kiosk_config_get_card_key (self->config, &key_len);
  lk_dispenser_test_issue_async (self->dispenser, key, key_len, on_test_progress_cb, self,
                                 self->cancellable, on_test_issue_cb, g_object_ref (self));
  update_service_text (self);
}

void
lk_kiosk_flow_poll_status (LkKioskFlow *self)
{
  g_return_if_fail (LK_IS_KIOSK_FLOW (self));

  g_clear_handle_id (&self->poll_id, g_source_remove);
  if (self->polling || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (!ensure_dispenser (self))
    {
      schedule_poll (self, MIN (self->timing.status_poll_ms, OUT_OF_SERVICE_POLL_MS));
      return;
    }
  self->polling = TRUE;
  lk_dispenser_get_status_async (self->dispenser, self->cancellable, on_status_cb,
                                 g_object_ref (self));
}
