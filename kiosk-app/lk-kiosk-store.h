/* lk-kiosk-store.h: the kiosk's own SQLite file
 *
 * It holds what the server pushed (the school's digest parameters, and a digest plus masked
 * student details per open claim code) and the JOURNAL: a row per claim, written before the
 * card moves, that walks through
 *
 *   authorized → dispensing → card_read → presented → completed | failed → acknowledged
 *
 * A completed or failed row carries the report message (claim.completed / claim.failed) with
 * its stable id, so it can be resent after a crash, a power cut or a lost network until the
 * server acknowledges it. Every SQL statement of the kiosk lives in this file.
 *
 * The store is thread-safe: every call takes the store's lock.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "lingka-common.h"

G_BEGIN_DECLS

typedef enum
{
  LK_JOURNAL_AUTHORIZED,
  LK_JOURNAL_DISPENSING,
  LK_JOURNAL_CARD_READ,
  LK_JOURNAL_PRESENTED,
  LK_JOURNAL_COMPLETED,
  LK_JOURNAL_FAILED,
  LK_JOURNAL_ACKNOWLEDGED,
} LkJournalState;

const char *lk_journal_state_to_string   (LkJournalState  state);
gboolean    lk_journal_state_from_string (const char     *str,
                                          LkJournalState *state);

/* One code the server pushed; all strings owned. */
typedef struct
{
  char *code_id;
  char *digest;
  char *name;     /* already masked by the server ("张*明") */
  char *klass;
} LkKioskCode;

LkKioskCode *lk_kiosk_code_new  (const char *code_id,
                                 const char *digest,
                                 const char *name,
                                 const char *klass);
void         lk_kiosk_code_free (LkKioskCode *code);
/* Parses one item of codes.snapshot / code.added (code_id may be a string or an integer). */
LkKioskCode *lk_kiosk_code_from_json (JsonObject *object,
                                      GError    **error);

/* One journal row. */
typedef struct
{
  char           *claim_id;
  char           *code_id;
  LkJournalState  state;
  char           *card_no;      /* NULL until read */
  char           *card_data;    /* the claim.authorized card_data, as JSON text */
  char           *report_id;    /* NULL until completed/failed */
  char           *report;       /* the report message, JSON text; NULL until completed/failed */
  gint64          updated_at;   /* unix seconds */
} LkJournalEntry;

void lk_journal_entry_free (LkJournalEntry *entry);

#define LK_TYPE_KIOSK_STORE (lk_kiosk_store_get_type ())
G_DECLARE_FINAL_TYPE (LkKioskStore, lk_kiosk_store, LK, KIOSK_STORE, GObject)

/* Opens (creating if needed) @path; ":memory:" is allowed for tests. */
LkKioskStore   *lk_kiosk_store_open               (const char            *path,
                                                   GError               **error);
const char     *lk_kiosk_store_get_path           (LkKioskStore          *self);

/* codes */
gboolean        lk_kiosk_store_replace_codes      (LkKioskStore          *self,
                                                   gint64                 school_id,
                                                   const LkDigestParams  *params,
                                                   GPtrArray             *codes,
                                                   GError               **error);
gboolean        lk_kiosk_store_add_code           (LkKioskStore          *self,
                                                   const LkKioskCode     *code,
                                                   GError               **error);
gboolean        lk_kiosk_store_remove_code        (LkKioskStore          *self,
                                                   const char            *code_id,
                                                   GError               **error);
guint           lk_kiosk_store_count_codes        (LkKioskStore          *self);
/* FALSE when no snapshot has been received yet. */
gboolean        lk_kiosk_store_get_digest_params  (LkKioskStore          *self,
                                                   LkDigestParams        *params,
                                                   gint64                *school_id);
/* The code whose digest matches @code, or NULL (no error) when none does. Runs the digest
 * (PBKDF2: milliseconds), so call it from a worker thread, or use the async variant. */
LkKioskCode    *lk_kiosk_store_lookup_code        (LkKioskStore          *self,
                                                   const char            *code,
                                                   GError               **error);
void            lk_kiosk_store_lookup_code_async  (LkKioskStore          *self,
                                                   const char            *code,
                                                   GCancellable          *cancellable,
                                                   GAsyncReadyCallback    callback,
                                                   gpointer               user_data);
/* NULL with no error: not found. */
LkKioskCode    *lk_kiosk_store_lookup_code_finish (LkKioskStore          *self,
                                                   GAsyncResult          *result,
                                                   GError               **error);

/* The text form of an id that the server may send as a JSON string or integer
 * (code_id, claim_id); NULL when it is neither. */
char           *lk_kiosk_json_id_to_string        (JsonNode              *node);

/* journal */
/* Records an authorized claim. @claim_id is the claim_id node of claim.authorized (a string or
 * an integer: reports send it back in the same JSON type); rows are keyed by its text form. */
gboolean        lk_kiosk_store_journal_authorize  (LkKioskStore          *self,
                                                   JsonNode              *claim_id,
                                                   const char            *code_id,
                                                   const char            *card_data_json,
                                                   GError               **error);
/* Moves a row forwards (authorized → dispensing → card_read → presented); @card_no may be
 * NULL to keep the one stored. Moving backwards is an error. */
gboolean        lk_kiosk_store_journal_advance    (LkKioskStore          *self,
                                                   const char            *claim_id,
                                                   LkJournalState         state,
                                                   const char            *card_no,
                                                   GError               **error);
/* Ends a claim: builds and stores its report (claim.completed with card_no and @card_data,
 * or claim.failed with @reason and card_no when one was read) with a new stable id.
 * Returns the report's id. */
char           *lk_kiosk_store_journal_finish     (LkKioskStore          *self,
                                                   const char            *claim_id,
                                                   gboolean               completed,
                                                   LkFailReason           reason,
                                                   const char            *card_no,
                                                   const LkCardData      *card_data,
                                                   GError               **error);
/* The server acknowledged report @report_id. FALSE (no error) when no row waits for it. */
gboolean        lk_kiosk_store_journal_acknowledge (LkKioskStore         *self,
                                                    const char           *report_id,
                                                    GError              **error);
LkJournalEntry *lk_kiosk_store_journal_get        (LkKioskStore          *self,
                                                   const char            *claim_id,
                                                   GError               **error);
/* Rows in completed or failed state, oldest first (their reports wait for an ack). */
GPtrArray      *lk_kiosk_store_journal_pending    (LkKioskStore          *self,
                                                   GError               **error);
/* After a crash: every row still in authorized/dispensing/card_read/presented is finished
 * from what the journal knows. authorized (the card never moved) → failed, cancelled;
 * dispensing/card_read (the card moved but was not handed out; the dispenser captures what
 * is left in its channel at start-up) → failed, cancelled, with the card number if read;
 * presented (written, verified and ejected) → completed. Returns how many rows it finished. */
guint           lk_kiosk_store_journal_recover    (LkKioskStore          *self,
                                                   GError               **error);
/* How many rows are in @state (for tests and the service screen). */
guint           lk_kiosk_store_journal_count      (LkKioskStore          *self,
                                                   LkJournalState         state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkKioskCode, lk_kiosk_code_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkJournalEntry, lk_journal_entry_free)

G_END_DECLS
