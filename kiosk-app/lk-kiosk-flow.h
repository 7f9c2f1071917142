/* lk-kiosk-flow.h: the kiosk's state machine, without widgets
 *
 *   idle → entry: code typed → check digit (typo: the boxes shake, the code stays)
 *        → local digest lookup (no match: "取卡注册码无效"; too many: lockout)
 *        → confirm (masked name · class) → claim.request → authorized
 *        → journal (written before the card moves) → dispenser issue
 *        → take your card → report completed/failed → back to idle
 *
 * The window shows the screen the flow is on and turns touches into calls; tests drive the
 * flow directly. Serial I/O and digests run in worker threads; everything here runs on the
 * thread-default main context of the thread that made the flow.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lk-dispenser.h"
#include "lk-kiosk-config.h"
#include "lk-kiosk-link.h"
#include "lk-kiosk-store.h"

G_BEGIN_DECLS

typedef enum
{
  LK_KIOSK_SCREEN_IDLE,
  LK_KIOSK_SCREEN_ENTRY,
  LK_KIOSK_SCREEN_INVALID,         /* "取卡注册码无效" */
  LK_KIOSK_SCREEN_CONFIRM,
  LK_KIOSK_SCREEN_WAITING,
  LK_KIOSK_SCREEN_ALREADY_ISSUED,  /* "IC卡已完成发卡" */
  LK_KIOSK_SCREEN_REVOKED,
  LK_KIOSK_SCREEN_PREPARING,
  LK_KIOSK_SCREEN_TAKE_CARD,
  LK_KIOSK_SCREEN_DONE,
  LK_KIOSK_SCREEN_NOT_TAKEN,
  LK_KIOSK_SCREEN_ISSUE_FAILED,
  LK_KIOSK_SCREEN_OUT_OF_SERVICE,
  LK_KIOSK_SCREEN_OFFLINE,
  LK_KIOSK_SCREEN_LOCKED,
  LK_KIOSK_SCREEN_SERVICE_PIN,
  LK_KIOSK_SCREEN_SERVICE,
  LK_KIOSK_N_SCREENS
} LkKioskScreen;

/* "idle", "entry", … (the GtkStack page names) */
const char *lk_kiosk_screen_to_string (LkKioskScreen screen);

/* Why the last code was refused before it reached the server (signal "typo"). */
typedef enum
{
  LK_KIOSK_TYPO_INCOMPLETE,   /* fewer than 8 digits */
  LK_KIOSK_TYPO_CHECK_DIGIT,  /* the check digit does not match */
} LkKioskTypo;

/* Times in milliseconds. */
typedef struct
{
  guint entry_timeout_ms;      /* entry and confirm, since the last touch: 60000 */
  guint notice_timeout_ms;     /* result and error screens: 15000 */
  guint claim_timeout_ms;      /* the server's answer to claim.request: 10000 */
  guint take_timeout_ms;       /* the card waits in the mouth: 30000 */
  guint lockout_ms;            /* after too many wrong codes: 60000 */
  guint max_wrong_codes;       /* wrong codes in a row before the lockout: 5 */
  guint status_poll_ms;        /* dispenser status poll: 30000 (5000 while out of service) */
  guint service_timeout_ms;    /* service screens: 120000 */
} LkKioskFlowTiming;

#define LK_TYPE_KIOSK_FLOW (lk_kiosk_flow_get_type ())
G_DECLARE_FINAL_TYPE (LkKioskFlow, lk_kiosk_flow, LK, KIOSK_FLOW, GObject)

/* @dispenser may be NULL: the flow then opens the configured port itself, and keeps trying
 * (out of service meanwhile). */
LkKioskFlow   *lk_kiosk_flow_new                (LkKioskConfig           *config,
                                                 LkKioskStore            *store,
                                                 LkKioskLink             *link,
                                                 LkDispenser             *dispenser);
void           lk_kiosk_flow_set_timing         (LkKioskFlow             *self,
                                                 const LkKioskFlowTiming *timing);
const LkKioskFlowTiming *lk_kiosk_flow_get_timing (LkKioskFlow           *self);
/* Recovers the journal (reports what a crash left), starts the link and the status poll. */
void           lk_kiosk_flow_start              (LkKioskFlow             *self);
/* Stops polling, timers and the link; an issue under way still ends and is journaled. */
void           lk_kiosk_flow_stop               (LkKioskFlow             *self);

LkKioskConfig *lk_kiosk_flow_get_config         (LkKioskFlow             *self);
LkKioskStore  *lk_kiosk_flow_get_store          (LkKioskFlow             *self);
LkKioskLink   *lk_kiosk_flow_get_link           (LkKioskFlow             *self);
LkDispenser   *lk_kiosk_flow_get_dispenser      (LkKioskFlow             *self);

/* Properties, all with notify. */
LkKioskScreen  lk_kiosk_flow_get_screen         (LkKioskFlow             *self);   /* "screen" */
/* The digits typed so far (0 to 8); for the boxes on screen only, never for a log. */
const char    *lk_kiosk_flow_get_digits         (LkKioskFlow             *self);   /* "digits" */
guint          lk_kiosk_flow_get_pin_length     (LkKioskFlow             *self);   /* "pin-length" */
/* The masked name and class of the code on the confirm screen. */
const char    *lk_kiosk_flow_get_student_name   (LkKioskFlow             *self);   /* "student-name" */
const char    *lk_kiosk_flow_get_student_class  (LkKioskFlow             *self);   /* "student-class" */
/* The issue's stage while preparing: 0 card out, 1 writing, 2 checking. */
guint          lk_kiosk_flow_get_progress       (LkKioskFlow             *self);   /* "progress" */
/* Seconds left on the screen's timer (lockout, take card, notices); 0 when none. */
guint          lk_kiosk_flow_get_countdown      (LkKioskFlow             *self);   /* "countdown" */
gboolean       lk_kiosk_flow_get_stock_low      (LkKioskFlow             *self);   /* "stock-low" */
gboolean       lk_kiosk_flow_get_busy           (LkKioskFlow             *self);   /* "busy" */
/* The service screen's text: dispenser status, last faults, link, journal, test output. */
const char    *lk_kiosk_flow_get_service_text   (LkKioskFlow             *self);   /* "service-text" */

/* Touches. Each is ignored on a screen where it makes no sense. */
void           lk_kiosk_flow_start_entry        (LkKioskFlow *self);   /* idle touched */
void           lk_kiosk_flow_press_digit        (LkKioskFlow *self,
                                                 guint        digit);
void           lk_kiosk_flow_backspace          (LkKioskFlow *self);
void           lk_kiosk_flow_clear              (LkKioskFlow *self);
void           lk_kiosk_flow_submit             (LkKioskFlow *self);   /* 确认 */
void           lk_kiosk_flow_accept             (LkKioskFlow *self);   /* 是，领取 */
void           lk_kiosk_flow_decline            (LkKioskFlow *self);   /* 不是 */
/* "try again" on a notice: back to entry; "back" elsewhere: idle. */
void           lk_kiosk_flow_retry              (LkKioskFlow *self);
void           lk_kiosk_flow_go_idle            (LkKioskFlow *self);
/* The staff gesture (long press in a corner): asks for the PIN. */
void           lk_kiosk_flow_request_service    (LkKioskFlow *self);
void           lk_kiosk_flow_press_pin_digit    (LkKioskFlow *self,
                                                 guint        digit);
void           lk_kiosk_flow_submit_pin         (LkKioskFlow *self);
void           lk_kiosk_flow_service_refresh    (LkKioskFlow *self);
void           lk_kiosk_flow_service_test_issue (LkKioskFlow *self);

/* Polls the dispenser now (also done on a timer). */
void           lk_kiosk_flow_poll_status        (LkKioskFlow *self);

G_END_DECLS
