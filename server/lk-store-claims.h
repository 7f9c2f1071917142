/* lk-store-claims.h: the store's kiosks, open codes and claims (steps 4 to 6)
 *
 * Every change that answers a kiosk message stores the answer in kiosk_replies in the same
 * transaction, so that a resent message id gets the identical answer and changes nothing.
 * The answer is built by the caller's LkClaimReplyFunc inside the transaction, from the
 * outcome the store reports.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lk-store.h"

G_BEGIN_DECLS

typedef struct
{
  gint64  id;
  char   *sn;
  gint64  school_id;
} LkKioskRecord;

LkKioskRecord *lk_kiosk_record_copy          (const LkKioskRecord *record);
void           lk_kiosk_record_free          (LkKioskRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkKioskRecord, lk_kiosk_record_free)

/* The kiosk whose SN and secret match, compared in constant time (an unknown SN costs the
 * same as a wrong secret). NULL without @error set when they do not match. */
LkKioskRecord *lk_store_kiosk_authenticate   (LkStore      *self,
                                              const char   *sn,
                                              const char   *secret,
                                              GError      **error);
LkKioskRecord *lk_store_kiosk_find           (LkStore      *self,
                                              const char   *sn,
                                              GError      **error);
gboolean       lk_store_kiosk_touch          (LkStore      *self,
                                              gint64        kiosk_id,
                                              gint64        now,
                                              GError      **error);
/* Stores stock ("ok", "low", "empty") and faults (a JSON array of strings, compact);
 * *changed tells whether either differs from what was stored. */
gboolean       lk_store_kiosk_set_status     (LkStore      *self,
                                              gint64        kiosk_id,
                                              const char   *stock,
                                              const char   *faults_json,
                                              gint64        now,
                                              gboolean     *changed,
                                              GError      **error);
/* [{sn, school_id, last_seen, stock, faults, reserved_claims: [{claim_id, authorized_at}]}],
 * ordered by SN; @school_id 0 lists every school. last_seen is null if never seen. */
JsonNode      *lk_store_kiosks_list          (LkStore      *self,
                                              gint64        school_id,
                                              GError      **error);

/* The open codes of a school as codes.snapshot items:
 * [{code_id, digest, student: {name (masked), class}}]. */
JsonNode      *lk_store_codes_open           (LkStore      *self,
                                              gint64        school_id,
                                              GError      **error);
/* One code as a code.added item (whatever its status). */
JsonNode      *lk_store_code_item            (LkStore      *self,
                                              gint64        code_id,
                                              GError      **error);

typedef enum
{
  LK_CLAIM_AUTHORIZED,
  LK_CLAIM_ALREADY_ISSUED,
  LK_CLAIM_REVOKED,
  LK_CLAIM_INVALID,
  LK_CLAIM_ACKED,           /* completed or failed: recorded */
  LK_CLAIM_UNKNOWN_CLAIM,   /* not a claim of this kiosk */
  LK_CLAIM_NOT_RESERVED,    /* the claim's state does not allow the report */
} LkClaimOutcome;

/* What a claim operation did; the strings are owned by the struct. */
typedef struct
{
  LkClaimOutcome outcome;
  gboolean       replayed;        /* the stored answer of an earlier identical message id */
  gint64         claim_id;
  gint64         code_id;
  gint64         school_id;
  gint64         student_id;
  gint64         authorized_at;
  char          *application_id;
  char          *student_no;
  char          *student_name;    /* full: only for card_data, never logged */
  char          *klass;
  char          *card_no;
  char          *kiosk_sn;
  gboolean       code_reopened;   /* failed/released: the code is open again */
  gboolean       code_used;       /* completed now (not on a repeat) */
} LkClaimResult;

void           lk_claim_result_clear         (LkClaimResult *result);

/* Builds the answer to store and send, from the outcome; called inside the transaction.
 * Returns a newly allocated JSON text. */
typedef char *(*LkClaimReplyFunc) (const LkClaimResult *result,
                                   gpointer             user_data);

/* The stored answer to (@kiosk_id, @msg_id), or NULL. */
char          *lk_store_kiosk_reply          (LkStore      *self,
                                              gint64        kiosk_id,
                                              const char   *msg_id,
                                              GError      **error);

/* claim.request: in one BEGIN IMMEDIATE transaction, finds the code by @lookup among the
 * kiosk's school's codes and reserves it exactly once (open → reserved, a claims row).
 * *reply is the answer (stored, or replayed). */
gboolean       lk_store_claim_reserve        (LkStore          *self,
                                              gint64            kiosk_id,
                                              const char       *msg_id,
                                              const char       *lookup,
                                              gint64            now,
                                              LkClaimReplyFunc  make_reply,
                                              gpointer          user_data,
                                              LkClaimResult    *result,
                                              char            **reply,
                                              GError          **error);

/* claim.completed, step 6 in one transaction: claim completed, code used, the student's
 * current version to student_history (card_bound), card_no bound and version bumped, the
 * application issued (card_no, issued_at, kiosk_sn), SMS card_issued queued. */
gboolean       lk_store_claim_complete       (LkStore          *self,
                                              gint64            kiosk_id,
                                              const char       *msg_id,
                                              gint64            claim_id,
                                              const char       *card_no,
                                              const char       *card_data_json,
                                              gint64            now,
                                              LkClaimReplyFunc  make_reply,
                                              gpointer          user_data,
                                              LkClaimResult    *result,
                                              char            **reply,
                                              GError          **error);

/* claim.failed: claim failed (reason and any card_no recorded), code open again. */
gboolean       lk_store_claim_fail           (LkStore          *self,
                                              gint64            kiosk_id,
                                              const char       *msg_id,
                                              gint64            claim_id,
                                              const char       *reason,
                                              const char       *card_no,
                                              gint64            now,
                                              LkClaimReplyFunc  make_reply,
                                              gpointer          user_data,
                                              LkClaimResult    *result,
                                              char            **reply,
                                              GError          **error);

/* An operator releases a reserved claim: released, code open, audit-logged in the same
 * transaction. NOT_FOUND for an unknown claim, CONFLICT unless it is reserved. */
gboolean       lk_store_claim_release        (LkStore          *self,
                                              gint64            claim_id,
                                              gint64            user_id,
                                              gint64            now,
                                              LkClaimResult    *result,
                                              GError          **error);

G_END_DECLS
