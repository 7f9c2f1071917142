/* lk-store.h: the store layer; all SQL of the server lives behind this interface
 *
 * LkStore is shared by every thread of the server. Each thread gets its own SQLite connection
 * (WAL, foreign keys), and every state change is one transaction. The numbered migrations in
 * the GResource /cn/lingka/server/migrations/ are applied at open.
 *
 * Listing queries return JSON nodes in the shape the REST API sends them, so that a second
 * backend (PostgreSQL) only has to implement this header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "lingka-common.h"

G_BEGIN_DECLS

#define LK_STORE_ERROR (lk_store_error_quark ())

typedef enum
{
  LK_STORE_ERROR_FAILED,
  LK_STORE_ERROR_NOT_FOUND,
  LK_STORE_ERROR_CONFLICT,     /* a uniqueness or state rule: already exists, not pending… */
  LK_STORE_ERROR_BUSY,         /* the database stayed locked past the busy timeout */
  LK_STORE_ERROR_FORBIDDEN,    /* the row belongs to another school */
  LK_STORE_ERROR_INVALID,      /* the request contradicts stored data (amount, checksum…) */
} LkStoreError;

GQuark lk_store_error_quark (void);

#define LK_TYPE_STORE (lk_store_get_type ())
G_DECLARE_FINAL_TYPE (LkStore, lk_store, LK, STORE, GObject)

/* @synchronous: "FULL" or "NORMAL" (NULL: NORMAL). Opens (creating it) and migrates. */
LkStore    *lk_store_new                   (const char   *path,
                                            const char   *synchronous,
                                            GError      **error);
/* Opens an existing database read-only, without migrating (for --backup). */
LkStore    *lk_store_new_read_only         (const char   *path,
                                            GError      **error);
const char *lk_store_get_path              (LkStore      *self);
int         lk_store_get_schema_version    (LkStore      *self);

/* A consistent copy of the database while others keep writing (sqlite3_backup_* in steps). */
gboolean    lk_store_backup                (LkStore      *self,
                                            const char   *dest_path,
                                            GError      **error);
/* Copies the WAL into the database without blocking anyone (passive); once the WAL is long,
 * copies its last frames holding the writer turn (a few milliseconds), so that the next write
 * starts it over instead of letting it grow. */
void        lk_store_checkpoint            (LkStore      *self);
/* The batch writer (group commit). lk_store_run_async() runs @func at once on the calling
 * thread when no batch is running; otherwise it queues it, and the store's writer thread runs
 * every job queued at that moment in one transaction. Each job runs in a savepoint of its own
 * and is all or nothing: the store functions that @func calls see their begin/commit/rollback
 * become savepoints, so they are written exactly as for a transaction of their own. @callback
 * runs in the caller's thread-default main context once the batch has committed (or failed);
 * read the outcome with lk_store_run_finish() and the results from @data
 * (lk_store_run_get_data()).
 *
 * @func runs on whichever thread runs the batch: it may only touch the store and @data. @data
 * must not hold a reference that keeps the store alive; lk_store_stop_writer() (also run at
 * finalize) runs what is queued and joins the thread; jobs submitted while it stops run in the
 * caller's thread. */
typedef gboolean (*LkStoreJobFunc) (LkStore   *store,
                                    gpointer   data,
                                    GError   **error);

void        lk_store_run_async             (LkStore             *self,
                                            LkStoreJobFunc       func,
                                            gpointer             data,
                                            GDestroyNotify       data_free,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
gboolean    lk_store_run_finish            (GAsyncResult        *result,
                                            GError             **error);
gpointer    lk_store_run_get_data          (GAsyncResult        *result);
void        lk_store_stop_writer           (LkStore             *self);

/* SHA-256 over every row of every table, in a stable order (tests: "nothing changed"). */
char       *lk_store_debug_checksum        (LkStore      *self,
                                            GError      **error);
/* Batches the batch writer ran since the last lk_store_stop_writer(), and the jobs in them. */
void        lk_store_debug_batch_stats     (LkStore      *self,
                                            guint64      *batches,
                                            guint64      *jobs);
/* Wake-ups sent to the batch writer's waiters (the writer thread, a stop). */
guint64     lk_store_debug_batch_wakes     (LkStore      *self);
/* Number of rows of @table matching @where (an SQL condition, tests only); -1 on error. */
gint64      lk_store_debug_count           (LkStore      *self,
                                            const char   *table,
                                            const char   *where);

/* --- schools and staff --- */

typedef struct
{
  gint64    id;
  char     *username;
  char     *password_hash;
  char     *role;        /* "teacher" or "operator" */
  gint64    school_id;   /* 0 for operators */
  gboolean  disabled;
} LkUserRecord;

void          lk_user_record_free          (LkUserRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkUserRecord, lk_user_record_free)

/* Finds or creates the province and the school. A new school gets a random digest salt. */
gint64        lk_store_school_ensure       (LkStore      *self,
                                            const char   *province,
                                            const char   *school,
                                            const char   *digest_alg,
                                            guint         digest_iterations,
                                            gboolean     *created,
                                            GError      **error);
/* Province and school name of a school (NOT_FOUND if there is none). */
gboolean      lk_store_school_get          (LkStore      *self,
                                            gint64        school_id,
                                            char        **province,
                                            char        **name,
                                            GError      **error);
/* The school's kiosk digest parameters. */
gboolean      lk_store_school_digest       (LkStore        *self,
                                            gint64          school_id,
                                            LkDigestParams *params,
                                            GError        **error);

gint64        lk_store_user_create         (LkStore      *self,
                                            const char   *username,
                                            const char   *password_hash,
                                            const char   *role,
                                            gint64        school_id,
                                            GError      **error);
LkUserRecord *lk_store_user_find           (LkStore      *self,
                                            const char   *username,
                                            GError      **error);
gboolean      lk_store_session_create      (LkStore      *self,
                                            const char   *token_hash,
                                            gint64        user_id,
                                            gint64        created_at,
                                            gint64        expires_at,
                                            GError      **error);
/* The user of a live session. NOT_FOUND if unknown or the user is disabled; *expired is set
 * when the session exists but has expired. */
LkUserRecord *lk_store_session_find        (LkStore      *self,
                                            const char   *token_hash,
                                            gint64        now,
                                            gboolean     *expired,
                                            GError      **error);
/* Test and operator hook: moves a session's expiry. */
gboolean      lk_store_session_set_expiry  (LkStore      *self,
                                            const char   *token_hash,
                                            gint64        expires_at,
                                            GError      **error);
void          lk_store_sessions_purge      (LkStore      *self,
                                            gint64        now);

/* Kiosk registration (--register-kiosk, POST /api/v1/kiosks): CONFLICT if the SN exists. */
gint64        lk_store_kiosk_register      (LkStore      *self,
                                            const char   *sn,
                                            gint64        school_id,
                                            const char   *secret_hash,
                                            GError      **error);

/* An audit_log row in its own transaction (staff reads). */
void          lk_store_audit               (LkStore      *self,
                                            gint64        user_id,
                                            const char   *action,
                                            gint64        school_id,
                                            const char   *target,
                                            const char   *detail);

/* --- step 1: imports --- */

typedef struct
{
  gint64 inserted;
  gint64 updated;
  gint64 unchanged;
} LkStoreImportResult;

gint64        lk_store_import_create       (LkStore      *self,
                                            gint64        user_id,
                                            gint64        row_count,
                                            const char   *checksum,
                                            const char   *payload,
                                            GError      **error);
/* NOT_FOUND; FORBIDDEN if @user_id did not create it; CONFLICT if not pending; INVALID if the
 * checksum differs. Then applies the rows in one transaction: upsert by school + student_no,
 * history of every changed student. @teacher_school_id > 0 limits the rows to that school. */
gboolean      lk_store_import_commit       (LkStore        *self,
                                            gint64          batch_id,
                                            gint64          user_id,
                                            gint64          teacher_school_id,
                                            const char     *checksum,
                                            const char     *digest_alg,
                                            guint           digest_iterations,
                                            LkStoreImportResult *result,
                                            GError        **error);

/* --- the directory (only schools that have students) --- */

JsonNode     *lk_store_directory_provinces (LkStore      *self,
                                            GError      **error);
JsonNode     *lk_store_directory_schools   (LkStore      *self,
                                            const char   *province,
                                            GError      **error);
JsonNode     *lk_store_directory_classes   (LkStore      *self,
                                            gint64        school_id,
                                            GError      **error);

/* --- students --- */

/* @status: NULL or one of not_applied, applied, paid, claimable, issued.
 * Returns the array of students of the page; *total counts every match. */
JsonNode     *lk_store_students_search     (LkStore      *self,
                                            const char   *query,
                                            gint64        school_id,
                                            const char   *klass,
                                            const char   *status,
                                            gint64        page,
                                            gint64        page_size,
                                            gint64       *total,
                                            GError      **error);
/* One student object; *school_id is set. */
JsonNode     *lk_store_student_get         (LkStore      *self,
                                            gint64        student_id,
                                            gint64       *school_id,
                                            GError      **error);
gint64        lk_store_student_create      (LkStore      *self,
                                            gint64        user_id,
                                            gint64        school_id,
                                            const char   *klass,
                                            const char   *name,
                                            const char   *student_no,
                                            const char   *card_no,
                                            GError      **error);
/* NULL members are left as they are; @clear_card_no sets card_no to NULL. Writes the previous
 * version to the history first. @teacher_school_id > 0: FORBIDDEN for another school. */
gboolean      lk_store_student_update      (LkStore      *self,
                                            gint64        user_id,
                                            gint64        teacher_school_id,
                                            gint64        student_id,
                                            const char   *klass,
                                            const char   *name,
                                            const char   *student_no,
                                            const char   *card_no,
                                            gboolean      clear_card_no,
                                            GError      **error);
JsonNode     *lk_store_student_history     (LkStore      *self,
                                            gint64        student_id,
                                            GError      **error);

/* --- step 2: applications --- */

/* Checks in the order province, school, class, name, student_no. On a mismatch returns FALSE
 * with *field set to the first mismatching field and no error. */
gboolean      lk_store_application_verify  (LkStore      *self,
                                            const char   *province,
                                            const char   *school,
                                            const char   *klass,
                                            const char   *name,
                                            const char   *student_no,
                                            gint64       *student_id,
                                            const char  **field,
                                            GError      **error);

typedef struct
{
  char   *id;
  char   *token_hash;
  char   *status;
  char   *phone;
  gint64  fee_fen;
  gint64  student_id;
  gint64  school_id;
  char   *student_no;
  char   *student_name;
  char   *klass;
  char   *day;
  gint64  day_seq;
  gint64  created_at;
  gint64  issued_at;    /* 0 if not issued */
  char   *card_no;
  gint64  code_attempt; /* -1 if there is no claim code */
} LkApplicationRecord;

void          lk_application_record_free   (LkApplicationRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkApplicationRecord, lk_application_record_free)

/* CONFLICT if the student has an open application. Fills the day's sequence number. */
gboolean      lk_store_application_create  (LkStore      *self,
                                            const char   *id,
                                            gint64        student_id,
                                            const char   *token_hash,
                                            const char   *phone,
                                            gint64        fee_fen,
                                            const char   *consent_version,
                                            gint64        now,
                                            const char   *day,
                                            gint64       *day_seq,
                                            GError      **error);
LkApplicationRecord *lk_store_application_get (LkStore   *self,
                                               const char *id,
                                               GError    **error);

/* What cancelling an application changed. */
typedef struct
{
  char   *application_id;
  char   *previous_status; /* also set when the cancel is refused for the status */
  gint64  school_id;
  gint64  code_id;         /* the claim code revoked, 0 if it had none */
  gint64  refund_due_fen;  /* what was paid for it, now owed back */
} LkApplicationCancel;

void          lk_application_cancel_clear  (LkApplicationCancel *cancel);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LkApplicationCancel, lk_application_cancel_clear)

/* Cancels an open application in one transaction: the application becomes "cancelled", its
 * pending orders "closed" and its open claim code "revoked" (so the student may apply again).
 * By @application_id (the parent; then only while unpaid) or, if that is NULL, the open
 * application of @student_id (staff: @user_id for the audit log, @school_id 0 or the only
 * school it may touch). NOT_FOUND: no such (open) application; FORBIDDEN: another school;
 * INVALID: not open, or paid and asked by the parent (see previous_status); CONFLICT: a kiosk
 * holds the claim right now. */
gboolean      lk_store_application_cancel  (LkStore             *self,
                                            const char          *application_id,
                                            gint64               student_id,
                                            gint64               user_id,
                                            gint64               school_id,
                                            LkApplicationCancel *cancel,
                                            GError             **error);

/* --- step 3: payments --- */

/* CONFLICT unless the application is "verified". */
gboolean      lk_store_payment_create      (LkStore      *self,
                                            const char   *order_no,
                                            const char   *application_id,
                                            const char   *channel,
                                            gint64        amount_fen,
                                            gint64        now,
                                            GError      **error);
/* Channel and amount of an order. */
gboolean      lk_store_payment_get         (LkStore      *self,
                                            const char   *order_no,
                                            char        **channel,
                                            gint64       *amount_fen,
                                            char        **status,
                                            GError      **error);

/* Called inside the payment transaction for attempt 0, 1, … until the lookup is free among
 * open codes. */
typedef gboolean (*LkClaimCodeMakeFunc) (LkApplicationRecord *application,
                                         guint                attempt,
                                         char               **lookup,
                                         char               **kiosk_digest,
                                         gpointer             user_data,
                                         GError             **error);

typedef struct
{
  gboolean  applied;       /* FALSE: the notice had already been applied */
  char     *application_id;
  gint64    school_id;
  gint64    code_id;
  char     *kiosk_digest;
  char     *student_name;  /* full; mask before it leaves for a kiosk */
  char     *klass;
} LkPaymentApplied;

void          lk_payment_applied_clear     (LkPaymentApplied *applied);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LkPaymentApplied, lk_payment_applied_clear)

/* Applies a verified "paid" notice exactly once, in one transaction: payment pending → paid
 * (INVALID if the amount differs, NOT_FOUND for an unknown order), application → paid, claim
 * code created, application → claimable, SMS queued. A second notice: applied = FALSE. */
gboolean      lk_store_payment_apply       (LkStore            *self,
                                            const char         *order_no,
                                            gint64              amount_fen,
                                            const char         *provider_txn,
                                            gint64              now,
                                            LkClaimCodeMakeFunc make_code,
                                            gpointer            user_data,
                                            LkPaymentApplied   *applied,
                                            GError            **error);

/* --- SMS outbox --- */

typedef struct
{
  gint64  id;
  char   *phone;
  char   *template;
  char   *application_id;
  gint64  attempts;
} LkSmsItem;

void          lk_sms_item_free             (LkSmsItem    *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkSmsItem, lk_sms_item_free)

gboolean      lk_store_sms_enqueue         (LkStore      *self,
                                            const char   *phone,
                                            const char   *template,
                                            const char   *application_id,
                                            gint64        now,
                                            GError      **error);
/* Pending messages due at @now, oldest first (array of LkSmsItem). */
GPtrArray    *lk_store_sms_due             (LkStore      *self,
                                            gint64        now,
                                            guint         limit,
                                            GError      **error);
gboolean      lk_store_sms_mark_sent       (LkStore      *self,
                                            gint64        id,
                                            gint64        now,
                                            GError      **error);
gboolean      lk_store_sms_mark_retry      (LkStore      *self,
                                            gint64        id,
                                            gint64        next_attempt_at,
                                            const char   *last_error,
                                            GError      **error);
/* The earliest next_attempt_at of a pending message, or 0 if none. */
gint64        lk_store_sms_next_due        (LkStore      *self);

/* --- statistics --- */

/* {"by_school": [...], "by_class": [...], "by_day": [...]}; @school_id 0 = every school. */
JsonNode     *lk_store_stats               (LkStore      *self,
                                            gint64        school_id,
                                            GError      **error);

G_END_DECLS
