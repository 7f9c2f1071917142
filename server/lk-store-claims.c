/* lk-store-claims.c: the SQL of kiosks, open codes and claims
 *
 * A claim is reserved exactly once because the reservation is one BEGIN IMMEDIATE transaction
 * that only moves a code from 'open' to 'reserved' (checked with changes()), and the partial
 * unique index claims_one_live refuses a second live claim for a code whatever happens above.
 * Every listener thread has its own connection, so this holds across threads.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-store"

#include "config.h"

#include "lk-store-private.h"
#include "lk-store-claims.h"
#include "lk-claim-codes.h"

/* The sha256 hex of nothing anyone knows: compared against when an SN is unknown, so that an
 * unknown SN and a wrong secret take the same time. */
#define DUMMY_SECRET_HASH "0000000000000000000000000000000000000000000000000000000000000000"

void
lk_kiosk_record_free (LkKioskRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->sn);
  g_free (record);
}

LkKioskRecord *
lk_kiosk_record_copy (const LkKioskRecord *record)
{
  LkKioskRecord *copy = g_new0 (LkKioskRecord, 1);

  copy->id = record->id;
  copy->sn = g_strdup (record->sn);
  copy->school_id = record->school_id;
  return copy;
}

void
lk_claim_result_clear (LkClaimResult *result)
{
  g_clear_pointer (&result->application_id, g_free);
  g_clear_pointer (&result->student_no, g_free);
  g_clear_pointer (&result->student_name, g_free);
  g_clear_pointer (&result->klass, g_free);
  g_clear_pointer (&result->card_no, g_free);
  g_clear_pointer (&result->kiosk_sn, g_free);
  memset (result, 0, sizeof *result);
}

/* --- kiosks --- */

LkKioskRecord *
lk_store_kiosk_find (LkStore     *self,
                     const char  *sn,
                     GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  LkKioskRecord *record;

  stmt = lk_store_prepare (self, "SELECT id, sn, school_id FROM kiosks WHERE sn = ?1", error);
  if (stmt == NULL)
    return NULL;
  lk_stmt_bind_text (stmt, 1, sn);
  if (!lk_store_step_one (self, stmt, "No such kiosk", "Kiosk lookup", error))
    return NULL;
  record = g_new0 (LkKioskRecord, 1);
  record->id = sqlite3_column_int64 (stmt, 0);
  record->sn = lk_stmt_dup_text (stmt, 1);
  record->school_id = sqlite3_column_int64 (stmt, 2);
  return record;
}

LkKioskRecord *
lk_store_kiosk_authenticate (LkStore     *self,
                             const char  *sn,
                             const char  *secret,
                             GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *offered = NULL;
  LkKioskRecord *record;
  gboolean match;
  int rc;

  g_return_val_if_fail (sn != NULL && secret != NULL, NULL);

  stmt = lk_store_prepare (self, "SELECT id, sn, school_id, secret_hash FROM kiosks WHERE sn = ?1",
                           error);
  if (stmt == NULL)
    return NULL;
  lk_stmt_bind_text (stmt, 1, sn);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      lk_store_set_error (self, error, rc, "Kiosk lookup");
      return NULL;
    }

  offered = lk_sha256_hex (secret, strlen (secret));
  stored = rc == SQLITE_ROW ? lk_stmt_dup_text (stmt, 3) : g_strdup (DUMMY_SECRET_HASH);
  match = lk_secure_str_equal (stored, offered);
  if (rc != SQLITE_ROW || !match)
    return NULL;

  record = g_new0 (LkKioskRecord, 1);
  record->id = sqlite3_column_int64 (stmt, 0);
  record->sn = lk_stmt_dup_text (stmt, 1);
  record->school_id = sqlite3_column_int64 (stmt, 2);
  return record;
}

static gboolean
kiosk_touch_in_tx (LkStore     *self,
                      gint64       kiosk_id,
                      gint64       now,
                      GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self, "UPDATE kiosks SET last_seen = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, kiosk_id);
  sqlite3_bind_int64 (stmt, 2, now);
  return lk_store_step_done (self, stmt, error);
}

static gboolean
kiosk_set_status_in_tx (LkStore     *self,
                           gint64       kiosk_id,
                           const char  *stock,
                           const char  *faults_json,
                           gint64       now,
                           gboolean    *changed,
                           GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  sqlite3 *db;

  *changed = FALSE;
  stmt = lk_store_prepare (self,
                           "UPDATE kiosks SET stock = ?2, faults = ?3, last_seen = ?4 "
                           "WHERE id = ?1 AND (stock IS NOT ?2 OR faults IS NOT ?3)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, kiosk_id);
  lk_stmt_bind_text (stmt, 2, stock);
  lk_stmt_bind_text (stmt, 3, faults_json);
  sqlite3_bind_int64 (stmt, 4, now);
  if (!lk_store_step_done (self, stmt, error))
    return FALSE;
  db = lk_store_db (self, NULL);
  *changed = sqlite3_changes (db) > 0;
  if (*changed)
    return TRUE;
  return kiosk_touch_in_tx (self, kiosk_id, now, error);
}

/* Each in its own immediate transaction, so that the store's writer queue orders it with every
 * other writer of the server (an autocommit UPDATE would meet them in SQLite's busy handler). */
gboolean
lk_store_kiosk_touch (LkStore     *self,
                      gint64       kiosk_id,
                      gint64       now,
                      GError     **error)
{
  if (!lk_store_begin_immediate (self, error))
    return FALSE;
  if (!kiosk_touch_in_tx (self, kiosk_id, now, error))
    {
      lk_store_rollback (self);
      return FALSE;
    }
  return lk_store_commit (self, error);
}

gboolean
lk_store_kiosk_set_status (LkStore     *self,
                           gint64       kiosk_id,
                           const char  *stock,
                           const char  *faults_json,
                           gint64       now,
                           gboolean    *changed,
                           GError     **error)
{
  if (!lk_store_begin_immediate (self, error))
    return FALSE;
  if (!kiosk_set_status_in_tx (self, kiosk_id, stock, faults_json, now, changed, error))
    {
      lk_store_rollback (self);
      return FALSE;
    }
  return lk_store_commit (self, error);
}

JsonNode *
lk_store_kiosks_list (LkStore     *self,
                      gint64       school_id,
                      GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(LkStmt) kiosks = NULL;
  g_autoptr(LkStmt) claims = NULL;
  int rc;

  if (!lk_store_begin (self, error))
    return NULL;

  kiosks = lk_store_prepare (self,
                             "SELECT id, sn, school_id, last_seen, stock, faults FROM kiosks "
                             "WHERE ?1 = 0 OR school_id = ?1 ORDER BY sn", error);
  claims = lk_store_prepare (self,
                             "SELECT id AS claim_id, authorized_at FROM claims "
                             "WHERE kiosk_id = ?1 AND status = 'reserved' ORDER BY id", error);
  if (kiosks == NULL || claims == NULL)
    goto fail;
  sqlite3_bind_int64 (kiosks, 1, school_id);

  json_builder_begin_array (builder);
  while ((rc = sqlite3_step (kiosks)) == SQLITE_ROW)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      const char *faults = lk_stmt_text (kiosks, 5);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "sn");
      json_builder_add_string_value (builder, lk_stmt_text (kiosks, 1));
      json_builder_set_member_name (builder, "school_id");
      json_builder_add_int_value (builder, sqlite3_column_int64 (kiosks, 2));
      json_builder_set_member_name (builder, "last_seen");
      if (sqlite3_column_type (kiosks, 3) == SQLITE_NULL)
        json_builder_add_null_value (builder);
      else
        json_builder_add_int_value (builder, sqlite3_column_int64 (kiosks, 3));
      json_builder_set_member_name (builder, "stock");
      json_builder_add_string_value (builder, lk_stmt_text (kiosks, 4));
      json_builder_set_member_name (builder, "faults");
      if (json_parser_load_from_data (parser, faults, -1, NULL)
          && JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
        json_builder_add_value (builder, json_node_copy (json_parser_get_root (parser)));
      else
        {
          json_builder_begin_array (builder);
          json_builder_end_array (builder);
        }

      json_builder_set_member_name (builder, "reserved_claims");
      json_builder_begin_array (builder);
      sqlite3_reset (claims);
      sqlite3_bind_int64 (claims, 1, sqlite3_column_int64 (kiosks, 0));
      if (!lk_store_add_rows (self, claims, builder, "Reserved claims", error))
        goto fail;
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  if (rc != SQLITE_DONE)
    {
      lk_store_set_error (self, error, rc, "Kiosk list");
      goto fail;
    }
  json_builder_end_array (builder);

  sqlite3_reset (kiosks);
  sqlite3_reset (claims);
  if (!lk_store_commit (self, error))
    goto fail;
  return json_builder_get_root (builder);

fail:
  if (kiosks != NULL)
    sqlite3_reset (kiosks);
  if (claims != NULL)
    sqlite3_reset (claims);
  lk_store_rollback (self);
  return NULL;
}

/* --- codes --- */

/* A row (id, kiosk_digest, name, class_name) as a codes.snapshot / code.added item, with the
 * name masked: the shape is lk_claim_code_item_json()'s, shared with code.added on payment. */
static JsonNode *
code_item_from_row (LkStmt *stmt)
{
  g_autofree char *masked = lk_mask_name (lk_stmt_text (stmt, 2));

  return lk_claim_code_item_json (sqlite3_column_int64 (stmt, 0), lk_stmt_text (stmt, 1),
                                  masked, lk_stmt_text (stmt, 3));
}

JsonNode *
lk_store_codes_open (LkStore     *self,
                     gint64       school_id,
                     GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT c.id, c.kiosk_digest, s.name, s.class_name "
                           "FROM claim_codes c JOIN students s ON s.id = c.student_id "
                           "WHERE c.school_id = ?1 AND c.status = 'open' ORDER BY c.id", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, school_id);

  json_builder_begin_array (builder);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    json_builder_add_value (builder, code_item_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lk_store_set_error (self, error, rc, "Open codes");
      return NULL;
    }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

JsonNode *
lk_store_code_item (LkStore     *self,
                    gint64       code_id,
                    GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "SELECT c.id, c.kiosk_digest, s.name, s.class_name "
                           "FROM claim_codes c JOIN students s ON s.id = c.student_id "
                           "WHERE c.id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, code_id);
  if (!lk_store_step_one (self, stmt, "No such code", "Code item", error))
    return NULL;
  return code_item_from_row (stmt);
}

/* --- replies --- */

char *
lk_store_kiosk_reply (LkStore     *self,
                      gint64       kiosk_id,
                      const char  *msg_id,
                      GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT reply FROM kiosk_replies WHERE kiosk_id = ?1 AND msg_id = ?2",
                           error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, kiosk_id);
  lk_stmt_bind_text (stmt, 2, msg_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return lk_stmt_dup_text (stmt, 0);
  if (rc != SQLITE_DONE)
    lk_store_set_error (self, error, rc, "Stored reply");
  return NULL;
}

static gboolean
store_reply (LkStore     *self,
             gint64       kiosk_id,
             const char  *msg_id,
             const char  *reply,
             gint64       now,
             GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "INSERT INTO kiosk_replies (kiosk_id, msg_id, reply, created_at) "
                           "VALUES (?1, ?2, ?3, ?4)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, kiosk_id);
  lk_stmt_bind_text (stmt, 2, msg_id);
  lk_stmt_bind_text (stmt, 3, reply);
  sqlite3_bind_int64 (stmt, 4, now);
  return lk_store_step_done (self, stmt, error);
}

/* Begins the transaction and looks for a stored answer. TRUE with *reply set: replayed (the
 * transaction is already closed). TRUE with *reply NULL: go on inside the transaction. */
static gboolean
begin_with_replay (LkStore        *self,
                   gint64          kiosk_id,
                   const char     *msg_id,
                   LkClaimResult  *result,
                   char          **reply,
                   GError        **error)
{
  GError *local_error = NULL;

  *reply = NULL;
  if (!lk_store_begin_immediate (self, error))
    return FALSE;
  *reply = lk_store_kiosk_reply (self, kiosk_id, msg_id, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      lk_store_rollback (self);
      return FALSE;
    }
  if (*reply != NULL)
    {
      result->replayed = TRUE;
      lk_store_rollback (self);
    }
  return TRUE;
}

static gboolean
finish_with_reply (LkStore          *self,
                   gint64            kiosk_id,
                   const char       *msg_id,
                   gint64            now,
                   LkClaimReplyFunc  make_reply,
                   gpointer          user_data,
                   LkClaimResult    *result,
                   char            **reply,
                   GError          **error)
{
  g_autofree char *text = make_reply (result, user_data);

  if (!store_reply (self, kiosk_id, msg_id, text, now, error)
      || !lk_store_commit (self, error))
    {
      lk_store_rollback (self);
      return FALSE;
    }
  *reply = g_steal_pointer (&text);
  return TRUE;
}

/* Fills the student and application of a code into @result. */
static gboolean
load_code_details (LkStore        *self,
                   gint64          code_id,
                   LkClaimResult  *result,
                   GError        **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT c.school_id, c.student_id, c.application_id, s.student_no, "
                           "       s.name, s.class_name "
                           "FROM claim_codes c JOIN students s ON s.id = c.student_id "
                           "WHERE c.id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, code_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      if (rc == SQLITE_DONE)
        g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No such code");
      else
        lk_store_set_error (self, error, rc, "Code details");
      return FALSE;
    }
  result->code_id = code_id;
  result->school_id = sqlite3_column_int64 (stmt, 0);
  result->student_id = sqlite3_column_int64 (stmt, 1);
  g_free (result->application_id);
  result->application_id = lk_stmt_dup_text (stmt, 2);
  g_free (result->student_no);
  result->student_no = lk_stmt_dup_text (stmt, 3);
  g_free (result->student_name);
  result->student_name = lk_stmt_dup_text (stmt, 4);
  g_free (result->klass);
  result->klass = lk_stmt_dup_text (stmt, 5);
  return TRUE;
}

/* --- claims --- */

gboolean
lk_store_claim_reserve (LkStore          *self,
                        gint64            kiosk_id,
                        const char       *msg_id,
                        const char       *lookup,
                        gint64            now,
                        LkClaimReplyFunc  make_reply,
                        gpointer          user_data,
                        LkClaimResult    *result,
                        char            **reply,
                        GError          **error)
{
  LkStmt *find = NULL;
  gint64 code_id = 0;
  gint64 code_school = 0;
  gint64 kiosk_school = 0;
  g_autofree char *code_status = NULL;
  g_autofree char *app_status = NULL;
  int rc;

  memset (result, 0, sizeof *result);
  if (!begin_with_replay (self, kiosk_id, msg_id, result, reply, error))
    return FALSE;
  if (*reply != NULL)
    return TRUE;

  {
    g_autoptr(LkStmt) kiosk = lk_store_prepare (self, "SELECT school_id FROM kiosks WHERE id = ?1",
                                                error);
    if (kiosk == NULL)
      goto fail;
    sqlite3_bind_int64 (kiosk, 1, kiosk_id);
    if (sqlite3_step (kiosk) != SQLITE_ROW)
      {
        g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No such kiosk");
        goto fail;
      }
    kiosk_school = sqlite3_column_int64 (kiosk, 0);
  }

  /* A live (open or reserved) code wins over used or revoked ones with the same lookup:
   * lookups are only unique among live codes. The first query is the hot path and uses the
   * partial unique index on live lookups; only a code that is not live (a wrong or a used
   * one, both rare and the first rate-limited) goes on to the second. */
  for (guint pass = 0; pass < 2 && code_id == 0; pass++)
    {
      find = lk_store_prepare (self,
                               pass == 0
                               ? "SELECT c.id, c.school_id, c.status, a.status "
                                 "FROM claim_codes c JOIN applications a ON a.id = c.application_id "
                                 "WHERE c.lookup = ?1 AND c.status IN ('open', 'reserved')"
                               : "SELECT c.id, c.school_id, c.status, a.status "
                                 "FROM claim_codes c JOIN applications a ON a.id = c.application_id "
                                 "WHERE c.lookup = ?1 AND c.status IN ('used', 'revoked') "
                                 "ORDER BY c.id DESC LIMIT 1",
                               error);
      if (find == NULL)
        goto fail;
      lk_stmt_bind_text (find, 1, lookup);
      rc = sqlite3_step (find);
      if (rc == SQLITE_ROW)
        {
          code_id = sqlite3_column_int64 (find, 0);
          code_school = sqlite3_column_int64 (find, 1);
          code_status = lk_stmt_dup_text (find, 2);
          app_status = lk_stmt_dup_text (find, 3);
        }
      else if (rc != SQLITE_DONE)
        {
          lk_store_set_error (self, error, rc, "Code lookup");
          sqlite3_reset (find);
          goto fail;
        }
      sqlite3_reset (find);
    }

  /* A code of another school is not valid here: this kiosk never had its digest. */
  if (code_id == 0 || code_school != kiosk_school)
    result->outcome = LK_CLAIM_INVALID;
  else if (g_str_equal (code_status, "revoked") || g_str_equal (app_status, "cancelled"))
    result->outcome = LK_CLAIM_REVOKED;
  else if (!g_str_equal (code_status, "open"))
    result->outcome = LK_CLAIM_ALREADY_ISSUED;
  else
    {
      g_autoptr(LkStmt) take = NULL;
      g_autoptr(LkStmt) insert = NULL;
      sqlite3 *db = lk_store_db (self, NULL);

      take = lk_store_prepare (self,
                               "UPDATE claim_codes SET status = 'reserved' "
                               "WHERE id = ?1 AND status = 'open'", error);
      if (take == NULL)
        goto fail;
      sqlite3_bind_int64 (take, 1, code_id);
      if (!lk_store_step_done (self, take, error))
        goto fail;
      if (sqlite3_changes (db) != 1)
        result->outcome = LK_CLAIM_ALREADY_ISSUED;
      else
        {
          insert = lk_store_prepare (self,
                                     "INSERT INTO claims (code_id, kiosk_id, status, authorized_at) "
                                     "VALUES (?1, ?2, 'reserved', ?3)", error);
          if (insert == NULL)
            goto fail;
          sqlite3_bind_int64 (insert, 1, code_id);
          sqlite3_bind_int64 (insert, 2, kiosk_id);
          sqlite3_bind_int64 (insert, 3, now);
          if (!lk_store_step_done (self, insert, error))
            goto fail;
          result->outcome = LK_CLAIM_AUTHORIZED;
          result->claim_id = sqlite3_last_insert_rowid (db);
          result->authorized_at = now;
          if (!load_code_details (self, code_id, result, error))
            goto fail;
        }
    }
  if (result->outcome != LK_CLAIM_AUTHORIZED)
    result->code_id = code_id;

  return finish_with_reply (self, kiosk_id, msg_id, now, make_reply, user_data, result, reply,
                            error);

fail:
  lk_store_rollback (self);
  return FALSE;
}

typedef struct
{
  gint64  code_id;
  char   *status;
  char   *code_status;
} ClaimRow;

/* The claim if it belongs to @kiosk_id. FALSE with no error if it does not. */
static gboolean
load_claim (LkStore   *self,
            gint64     claim_id,
            gint64     kiosk_id,
            ClaimRow  *row,
            GError   **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT cl.code_id, cl.status, c.status, cl.kiosk_id "
                           "FROM claims cl JOIN claim_codes c ON c.id = cl.code_id "
                           "WHERE cl.id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, claim_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return FALSE;
  if (rc != SQLITE_ROW)
    return lk_store_set_error (self, error, rc, "Claim lookup");
  if (kiosk_id > 0 && sqlite3_column_int64 (stmt, 3) != kiosk_id)
    return FALSE;
  row->code_id = sqlite3_column_int64 (stmt, 0);
  row->status = lk_stmt_dup_text (stmt, 1);
  row->code_status = lk_stmt_dup_text (stmt, 2);
  return TRUE;
}

static void
claim_row_clear (ClaimRow *row)
{
  g_clear_pointer (&row->status, g_free);
  g_clear_pointer (&row->code_status, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClaimRow, claim_row_clear)

static gboolean
exec_bound (LkStore     *self,
            const char  *sql,
            GError     **error,
            const char  *types,
            ...)
{
  g_autoptr(LkStmt) stmt = lk_store_prepare (self, sql, error);
  va_list args;

  if (stmt == NULL)
    return FALSE;
  va_start (args, types);
  for (int i = 0; types[i] != '\0'; i++)
    {
      if (types[i] == 'i')
        sqlite3_bind_int64 (stmt, i + 1, va_arg (args, gint64));
      else
        lk_stmt_bind_text (stmt, i + 1, va_arg (args, const char *));
    }
  va_end (args);
  return lk_store_step_done (self, stmt, error);
}

/* How a kiosk's report on one of its claims starts. */
typedef enum
{
  REPORT_FAILED,    /* @error is set; no transaction is open */
  REPORT_REPLAYED,  /* the same id was answered before: *reply is that answer, nothing is open */
  REPORT_LOADED,    /* inside the transaction: @row holds the claim, or result->outcome is
                     * LK_CLAIM_UNKNOWN_CLAIM when it is not a claim of this kiosk */
} ReportStart;

static ReportStart
begin_claim_report (LkStore        *self,
                    gint64          kiosk_id,
                    const char     *msg_id,
                    gint64          claim_id,
                    ClaimRow       *row,
                    LkClaimResult  *result,
                    char          **reply,
                    GError        **error)
{
  GError *local_error = NULL;

  memset (result, 0, sizeof *result);
  result->claim_id = claim_id;
  if (!begin_with_replay (self, kiosk_id, msg_id, result, reply, error))
    return REPORT_FAILED;
  if (*reply != NULL)
    return REPORT_REPLAYED;

  if (!load_claim (self, claim_id, kiosk_id, row, &local_error))
    {
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          lk_store_rollback (self);
          return REPORT_FAILED;
        }
      result->outcome = LK_CLAIM_UNKNOWN_CLAIM;
    }
  return REPORT_LOADED;
}

gboolean
lk_store_claim_complete (LkStore          *self,
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
                         GError          **error)
{
  g_auto(ClaimRow) row = { 0 };

  switch (begin_claim_report (self, kiosk_id, msg_id, claim_id, &row, result, reply, error))
    {
    case REPORT_FAILED:
      return FALSE;
    case REPORT_REPLAYED:
      return TRUE;
    case REPORT_LOADED:
      break;
    }

  if (result->outcome == LK_CLAIM_UNKNOWN_CLAIM)
    {
      /* Not a claim of this kiosk: answered as such, and nothing changes. */
    }
  else if (g_str_equal (row.status, "completed"))
    {
      /* Reported again under a new id: already done, nothing changes. */
      result->outcome = LK_CLAIM_ACKED;
      if (!load_code_details (self, row.code_id, result, error))
        goto fail;
    }
  else if (g_str_equal (row.status, "reserved")
           || (g_str_equal (row.status, "released") && g_str_equal (row.code_status, "open")))
    {
      g_autoptr(LkStmt) kiosk = NULL;

      /* A released claim whose code nobody took since: the card did go out after all (the
       * release was premature), so the issue is recorded rather than lost. */
      if (!load_code_details (self, row.code_id, result, error))
        goto fail;
      kiosk = lk_store_prepare (self, "SELECT sn FROM kiosks WHERE id = ?1", error);
      if (kiosk == NULL)
        goto fail;
      sqlite3_bind_int64 (kiosk, 1, kiosk_id);
      if (sqlite3_step (kiosk) == SQLITE_ROW)
        result->kiosk_sn = lk_stmt_dup_text (kiosk, 0);
      sqlite3_reset (kiosk);

      if (!exec_bound (self,
                       "UPDATE claims SET status = 'completed', finished_at = ?2, card_no = ?3, "
                       "card_data = ?4 WHERE id = ?1", error,
                       "iiss", claim_id, now, card_no, card_data_json)
          || !exec_bound (self, "UPDATE claim_codes SET status = 'used' WHERE id = ?1", error,
                          "i", row.code_id)
          /* Step 6: the current record to the history first, then the binding. */
          || !exec_bound (self,
                          "INSERT INTO student_history (student_id, version, class_name, name, "
                          "  student_no, card_no, reason, changed_at) "
                          "SELECT id, version, class_name, name, student_no, card_no, "
                          "  'card_bound', ?2 FROM students WHERE id = ?1", error,
                          "ii", result->student_id, now)
          || !exec_bound (self,
                          "UPDATE students SET card_no = ?2, version = version + 1, "
                          "updated_at = ?3 WHERE id = ?1", error,
                          "isi", result->student_id, card_no, now)
          || !exec_bound (self,
                          "UPDATE applications SET status = 'issued', card_no = ?2, "
                          "issued_at = ?3, kiosk_sn = ?4 WHERE id = ?1", error,
                          "ssis", result->application_id, card_no, now, result->kiosk_sn)
          || !exec_bound (self,
                          "INSERT INTO sms_outbox (phone, template, application_id, "
                          "  next_attempt_at, created_at) "
                          "SELECT phone, 'card_issued', id, ?2, ?2 FROM applications WHERE id = ?1",
                          error, "si", result->application_id, now))
        goto fail;

      result->outcome = LK_CLAIM_ACKED;
      result->code_used = TRUE;
      result->card_no = g_strdup (card_no);
    }
  else
    result->outcome = LK_CLAIM_NOT_RESERVED;

  return finish_with_reply (self, kiosk_id, msg_id, now, make_reply, user_data, result, reply,
                            error);

fail:
  lk_store_rollback (self);
  return FALSE;
}

gboolean
lk_store_claim_fail (LkStore          *self,
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
                     GError          **error)
{
  g_auto(ClaimRow) row = { 0 };

  switch (begin_claim_report (self, kiosk_id, msg_id, claim_id, &row, result, reply, error))
    {
    case REPORT_FAILED:
      return FALSE;
    case REPORT_REPLAYED:
      return TRUE;
    case REPORT_LOADED:
      break;
    }

  if (result->outcome == LK_CLAIM_UNKNOWN_CLAIM)
    {
      /* Not a claim of this kiosk: answered as such, and nothing changes. */
    }
  else if (g_str_equal (row.status, "reserved"))
    {
      sqlite3 *db = lk_store_db (self, NULL);

      /* The code opens again so that the student can try once more. With not_taken the card
       * exists but nobody holds it (the dispenser took it back): its number is kept on the
       * claim for the record. */
      if (!exec_bound (self,
                       "UPDATE claims SET status = 'failed', finished_at = ?2, fail_reason = ?3, "
                       "card_no = ?4 WHERE id = ?1", error,
                       "iiss", claim_id, now, reason, card_no)
          || !exec_bound (self,
                          "UPDATE claim_codes SET status = 'open' "
                          "WHERE id = ?1 AND status = 'reserved'", error, "i", row.code_id))
        goto fail;
      result->code_reopened = sqlite3_changes (db) == 1;
      if (!load_code_details (self, row.code_id, result, error))
        goto fail;
      result->outcome = LK_CLAIM_ACKED;
    }
  else if (g_str_equal (row.status, "failed") || g_str_equal (row.status, "released"))
    {
      /* Already closed (reported under another id, or released by an operator). */
      result->outcome = LK_CLAIM_ACKED;
      result->code_id = row.code_id;
    }
  else
    result->outcome = LK_CLAIM_NOT_RESERVED;

  return finish_with_reply (self, kiosk_id, msg_id, now, make_reply, user_data, result, reply,
                            error);

fail:
  lk_store_rollback (self);
  return FALSE;
}

gboolean
lk_store_claim_release (LkStore        *self,
                        gint64          claim_id,
                        gint64          user_id,
                        gint64          now,
                        LkClaimResult  *result,
                        GError        **error)
{
  g_auto(ClaimRow) row = { 0 };
  g_autofree char *target = NULL;
  GError *local_error = NULL;
  g_autoptr(LkStmt) kiosk = NULL;

  memset (result, 0, sizeof *result);
  result->claim_id = claim_id;
  if (!lk_store_begin_immediate (self, error))
    return FALSE;

  if (!load_claim (self, claim_id, 0, &row, &local_error))
    {
      if (local_error != NULL)
        g_propagate_error (error, local_error);
      else
        g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No such claim");
      goto fail;
    }
  if (!g_str_equal (row.status, "reserved"))
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT, "The claim is %s, not reserved",
                   row.status);
      goto fail;
    }

  if (!load_code_details (self, row.code_id, result, error))
    goto fail;
  kiosk = lk_store_prepare (self,
                            "SELECT k.sn FROM claims cl JOIN kiosks k ON k.id = cl.kiosk_id "
                            "WHERE cl.id = ?1", error);
  if (kiosk == NULL)
    goto fail;
  sqlite3_bind_int64 (kiosk, 1, claim_id);
  if (sqlite3_step (kiosk) == SQLITE_ROW)
    result->kiosk_sn = lk_stmt_dup_text (kiosk, 0);
  sqlite3_reset (kiosk);

  target = g_strdup_printf ("claim:%" G_GINT64_FORMAT, claim_id);
  if (!exec_bound (self,
                   "UPDATE claims SET status = 'released', finished_at = ?2, released_by = ?3 "
                   "WHERE id = ?1", error, "iii", claim_id, now, user_id)
      || !exec_bound (self,
                      "UPDATE claim_codes SET status = 'open' WHERE id = ?1 AND status = 'reserved'",
                      error, "i", row.code_id))
    goto fail;
  result->code_reopened = sqlite3_changes (lk_store_db (self, NULL)) == 1;
  if (!lk_store_audit_in_tx (self, user_id, "claims.release", result->school_id, target,
                             result->kiosk_sn, error)
      || !lk_store_commit (self, error))
    goto fail;

  result->outcome = LK_CLAIM_ACKED;
  return TRUE;

fail:
  lk_store_rollback (self);
  return FALSE;
}
