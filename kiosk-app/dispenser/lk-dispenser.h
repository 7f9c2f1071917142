/* lk-dispenser.h: the card dispenser as the kiosk sees it
 *
 * LkDispenser speaks the TTCE K7X0 protocol of DISPENSER.md over an LkTransport. Every
 * blocking serial exchange runs in a worker thread; results and progress come back on the
 * thread-default main context of the thread that started the call. Calls are serialized:
 * a status query started while a card is being issued runs after the issue ends.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lingka-common.h"

G_BEGIN_DECLS

#define LK_DISPENSER_ERROR (lk_dispenser_error_quark ())

typedef enum
{
  LK_DISPENSER_ERROR_FAILED,
  LK_DISPENSER_ERROR_SILENT,       /* no ACK or reply before the deadline */
  LK_DISPENSER_ERROR_NAK,          /* the frame was NAKed on every try */
  LK_DISPENSER_ERROR_PROTOCOL,     /* a reply that does not fit the command */
  LK_DISPENSER_ERROR_DEVICE,       /* an 'N' reply; the message names the error code */
  LK_DISPENSER_ERROR_MOTION,       /* a motion ended in jam, dispense or capture error */
  LK_DISPENSER_ERROR_TIMEOUT,      /* a motion did not finish before its deadline */
  LK_DISPENSER_ERROR_CONFIG,       /* bad port name, address or baud rate */
  LK_DISPENSER_ERROR_JAM,          /* jam or overlapped cards */
  LK_DISPENSER_ERROR_EMPTY,        /* the hopper is empty */
  LK_DISPENSER_ERROR_REJECT_FULL,  /* the reject box is full */
  LK_DISPENSER_ERROR_CANCELLED,
} LkDispenserError;

GQuark lk_dispenser_error_quark (void);

/* The decoded AP status: every bit of DISPENSER.md, by name. */
typedef struct
{
  char     raw[5];            /* the four status characters as received, NUL-terminated */
  /* byte 1 */
  gboolean reject_full;
  gboolean cannot_execute;
  gboolean unused_bit;        /* byte 1, 0x2: has no meaning; kept so that no bit is lost */
  gboolean hopper_pre_full;
  /* byte 2 */
  gboolean dispensing;
  gboolean capturing;
  gboolean dispense_error;
  gboolean capture_error;
  /* byte 3 */
  gboolean hopper_full;       /* K750 only */
  gboolean cards_overlapped;
  gboolean jam;
  gboolean low_stock;         /* "card pre-empty" */
  /* byte 4 */
  gboolean hopper_empty;
  gboolean sensor3;
  gboolean sensor2;
  gboolean sensor1;
  /* derived */
  gboolean card_at_read_position;  /* the sensor of LK_K7X0_SENSOR_READ_POSITION */
  gboolean card_in_channel;        /* any of the three sensors */
} LkDispenserStatus;

/* Fault names, as in the kiosk's "status" message (DESIGN.md). */
#define LK_DISPENSER_FAULT_JAM             "jam"
#define LK_DISPENSER_FAULT_EMPTY           "empty"
#define LK_DISPENSER_FAULT_REJECT_FULL     "reject_full"
#define LK_DISPENSER_FAULT_OVERLAPPED      "overlapped"
#define LK_DISPENSER_FAULT_DISPENSE_ERROR  "dispense_error"
#define LK_DISPENSER_FAULT_CAPTURE_ERROR   "capture_error"
#define LK_DISPENSER_FAULT_CANNOT_EXECUTE  "cannot_execute"
#define LK_DISPENSER_FAULT_SILENT          "dispenser_silent"

/* "ok", "low" or "empty" */
const char *lk_dispenser_status_stock     (const LkDispenserStatus *status);
/* The faults that @status shows (LK_DISPENSER_FAULT_*), NULL-terminated; empty when none. */
GStrv       lk_dispenser_status_faults    (const LkDispenserStatus *status);
/* TRUE if a card may be dispensed: no jam, not empty, reject box not full, no error bit. */
gboolean    lk_dispenser_status_can_issue (const LkDispenserStatus *status);
/* One translated line per bit that is set, or a line saying that all is well. */
char       *lk_dispenser_status_describe  (const LkDispenserStatus *status);

typedef enum
{
  LK_ISSUE_STAGE_CHECKING,     /* AP pre-check */
  LK_ISSUE_STAGE_DISPENSING,   /* FC7 sent: the card is moving to the read/write position */
  LK_ISSUE_STAGE_READING,      /* the UID has been read: card_no is set from here on */
  LK_ISSUE_STAGE_WRITING,
  LK_ISSUE_STAGE_VERIFYING,
  LK_ISSUE_STAGE_PRESENTED,    /* ejected to the mouth: "please take your card" */
  LK_ISSUE_STAGE_TAKEN,
  LK_ISSUE_STAGE_CAPTURED,     /* the card went into the reject box */
} LkIssueStage;

const char *lk_issue_stage_to_string (LkIssueStage stage);

/* Called on the caller's context, in order, before the async call completes. @card_no is NULL
 * for CHECKING and DISPENSING (and for CAPTURED when no UID could be read). */
typedef void (*LkIssueProgressFunc) (LkIssueStage  stage,
                                     const char   *card_no,
                                     gpointer      user_data);

typedef struct
{
  gboolean           ok;         /* the card was written, verified, ejected and taken */
  LkFailReason       reason;     /* when !ok */
  char              *card_no;    /* NULL if no UID was read */
  LkCardData        *written;    /* the data written and verified; NULL unless written */
  gboolean           captured;   /* the card is in the reject box */
  char              *detail;     /* technician's text (English, no personal data); may be NULL */
  gboolean           low_stock;  /* the pre-check saw "card pre-empty" */
  LkDispenserStatus  status;     /* the last status read (all FALSE if none) */
  LkIssueStage       failed_stage; /* when !ok: the stage that failed (CAPTURED: only the
                                    * capture at the end of a test issue failed) */
} LkIssueResult;

void lk_issue_result_free (LkIssueResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkIssueResult, lk_issue_result_free)

#define LK_TYPE_DISPENSER (lk_dispenser_get_type ())

G_DECLARE_FINAL_TYPE (LkDispenser, lk_dispenser, LK, DISPENSER, GObject)

/* Opens the port (see lk_transport_open_by_name()). @address is the DIP-switch address,
 * 0..99. */
LkDispenser   *lk_dispenser_new                (const char          *port,
                                                guint                address,
                                                guint                baud,
                                                GError             **error);

guint          lk_dispenser_get_address        (LkDispenser         *self);
const char    *lk_dispenser_get_port           (LkDispenser         *self);

/* Milliseconds between AP polls during a motion; 200 by default (the vendor's floor on real
 * hardware). Tests and benches against the simulator lower it. Property "poll-interval-ms". */
guint          lk_dispenser_get_poll_interval_ms (LkDispenser       *self);
void           lk_dispenser_set_poll_interval_ms (LkDispenser       *self,
                                                  guint              interval_ms);
/* How long to wait for an ACK or a reply frame before the dispenser counts as silent;
 * 1000 ms by default. Property "reply-timeout-ms". */
guint          lk_dispenser_get_reply_timeout_ms (LkDispenser       *self);
void           lk_dispenser_set_reply_timeout_ms (LkDispenser       *self,
                                                  guint              timeout_ms);
/* Deadline of one motion (dispense, eject, capture); 15000 ms by default.
 * Property "motion-timeout-ms". */
guint          lk_dispenser_get_motion_timeout_ms (LkDispenser      *self);
void           lk_dispenser_set_motion_timeout_ms (LkDispenser      *self,
                                                   guint             timeout_ms);

void           lk_dispenser_get_status_async   (LkDispenser         *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
gboolean       lk_dispenser_get_status_finish  (LkDispenser         *self,
                                                GAsyncResult        *result,
                                                LkDispenserStatus   *out_status,
                                                GError             **error);

/* Runs the issue sequence of DISPENSER.md: AP pre-check, FC7 and AP polls, search, UID, key
 * check, write blocks 4 5 6 8 9 (and the per-card sector trailers when @card_key is set),
 * read back and compare, FC0, wait up to @take_timeout_ms for the card to be taken, else CP.
 * Any failure after the card moved captures it. Cancelling captures a card that has moved.
 * @progress (may be NULL) is called on the caller's context. @data is copied. */
void           lk_dispenser_issue_async        (LkDispenser         *self,
                                                const LkCardData    *data,
                                                const guint8        *card_key,
                                                gsize                key_len,
                                                guint                take_timeout_ms,
                                                LkIssueProgressFunc  progress,
                                                gpointer             progress_data,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
/* Never NULL: a failure is a result with ok = FALSE and its reason. */
LkIssueResult *lk_dispenser_issue_finish       (LkDispenser         *self,
                                                GAsyncResult        *result,
                                                GError             **error);

/* The technician's test: dispense one card, read its UID, write a test block (block 10, which
 * the layout leaves free), read it back and compare, blank it again, and capture the card into
 * the reject box. result->ok is TRUE only if every step passed; result->captured tells whether
 * the card reached the reject box. Progress stages as for an issue (no PRESENTED/TAKEN). */
void           lk_dispenser_test_issue_async   (LkDispenser         *self,
                                                const guint8        *card_key,
                                                gsize                key_len,
                                                LkIssueProgressFunc  progress,
                                                gpointer             progress_data,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
LkIssueResult *lk_dispenser_test_issue_finish  (LkDispenser         *self,
                                                GAsyncResult        *result,
                                                GError             **error);

/* After a restart (a crash or power cut mid-issue): clears error bits that outlived their
 * cause (RS) and captures any card left in the channel, at the antenna or in the mouth, so it
 * can never reach the next student. Returns TRUE when the dispenser is left with no card in
 * its channel. *@card_captured tells whether a card was taken back, and *@card_no (free it)
 * is its number when it sat at the antenna and could be read, else NULL. A jam is left for a
 * technician: LK_DISPENSER_ERROR_JAM. */
void           lk_dispenser_recover_async      (LkDispenser         *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
gboolean       lk_dispenser_recover_finish     (LkDispenser         *self,
                                                GAsyncResult        *result,
                                                gboolean            *card_captured,
                                                char               **card_no,
                                                GError             **error);

/* The block the test issue writes. */
#define LK_DISPENSER_TEST_BLOCK 10

G_END_DECLS
