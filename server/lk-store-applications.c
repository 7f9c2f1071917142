/* lk-store-applications.c: applications, payments, claim-code creation and the SMS outbox
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-store"

#include "config.h"

#include "lk-log.h"
#include "lk-store-private.h"

#define MAX_CODE_ATTEMPTS 32

void
lk_application_record_free (LkApplicationRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->id);
  g_free (record->token_hash);
  g_free (record->status);
  g_free (record->phone);
  g_free (record->student_no);
  g_free (record->student_name);
  g_free (record->klass);
  g_free (record->day);
  g_free (record->card_no);
  g_free (record);
}

void
lk_payment_applied_clear (LkPaymentApplied *applied)
{
  g_clear_pointer (&applied->application_id, g_free);
  g_clear_pointer (&applied->kiosk_digest, g_free);
  g_clear_pointer (&applied->student_name, g_free);
  g_clear_pointer (&applied->klass, g_free);
  memset (applied, 0, sizeof *applied);
}

void
lk_sms_item_free (LkSmsItem *item)
{
  if (item == NULL)
    return;
  g_free (item->phone);
  g_free (item->template);
  g_free (item->application_id);
  g_free (item);
}

/* Looks up one id by a text key; 0 if there is none. -1 on error. */
static gint64
select_id (LkStore     *self,
           const char  *sql,
           gint64       int_arg,
           const char  *text_arg,
           GError     **error)
{
  g_autoptr(LkStmt) stmt = lk_store_prepare (self, sql, error);
  int rc;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, int_arg);
  lk_stmt_bind_text (stmt, 2, text_arg);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return sqlite3_column_int64 (stmt, 0);
  if (rc == SQLITE_DONE)
    return 0;
  lk_store_set_error (self, error, rc, "Cannot verify");
  return -1;
}

static gboolean
verify_in_tx (LkStore     *self,
              const char  *province,
              const char  *school,
              const char  *klass,
              const char  *name,
              const char  *student_no,
              gint64      *student_id,
              const char **field,
              GError     **error)
{
  gint64 province_id, school_id, found;
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  *field = NULL;
  *student_id = 0;

  province_id = select_id (self,
                           "SELECT p.id FROM provinces p WHERE ?1 = ?1 AND p.name = ?2 AND EXISTS "
                           "(SELECT 1 FROM schools s JOIN students st ON st.school_id = s.id "
                           "WHERE s.province_id = p.id)", 0, province, error);
  if (province_id < 0)
    return FALSE;
  if (province_id == 0)
    {
      *field = "province";
      return FALSE;
    }
  school_id = select_id (self,
                         "SELECT s.id FROM schools s WHERE s.province_id = ?1 AND s.name = ?2 AND "
                         "EXISTS (SELECT 1 FROM students st WHERE st.school_id = s.id)",
                         province_id, school, error);
  if (school_id < 0)
    return FALSE;
  if (school_id == 0)
    {
      *field = "school";
      return FALSE;
    }
  found = select_id (self,
                     "SELECT 1 FROM students WHERE school_id = ?1 AND class_name = ?2 LIMIT 1",
                     school_id, klass, error);
  if (found < 0)
    return FALSE;
  if (found == 0)
    {
      *field = "class";
      return FALSE;
    }

  stmt = lk_store_prepare (self,
                           "SELECT id, student_no FROM students "
                           "WHERE school_id = ?1 AND class_name = ?2 AND name = ?3", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, school_id);
  lk_stmt_bind_text (stmt, 2, klass);
  lk_stmt_bind_text (stmt, 3, name);
  found = 0;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      found++;
      /* Constant time, and every row is compared: no early exit on the stored value. */
      if (lk_secure_str_equal (lk_stmt_text (stmt, 1), student_no) && *student_id == 0)
        *student_id = sqlite3_column_int64 (stmt, 0);
    }
  if (rc != SQLITE_DONE)
    return lk_store_set_error (self, error, rc, "Cannot verify");
  if (found == 0)
    {
      *field = "name";
      return FALSE;
    }
  if (*student_id == 0)
    {
      *field = "student_no";
      return FALSE;
    }
  return TRUE;
}

gboolean
lk_store_application_verify (LkStore     *self,
                             const char  *province,
                             const char  *school,
                             const char  *klass,
                             const char  *name,
                             const char  *student_no,
                             gint64      *student_id,
                             const char **field,
                             GError     **error)
{
  gboolean ok;

  /* One read transaction for the four lookups: one snapshot, one round of locks. */
  *field = NULL;
  if (!lk_store_begin (self, error))
    return FALSE;
  ok = verify_in_tx (self, province, school, klass, name, student_no, student_id, field, error);
  lk_store_rollback (self);
  return ok;
}

gboolean
lk_store_application_create (LkStore     *self,
                             const char  *id,
                             gint64       student_id,
                             const char  *token_hash,
                             const char  *phone,
                             gint64       fee_fen,
                             const char  *consent_version,
                             gint64       now,
                             const char  *day,
                             gint64      *day_seq,
                             GError     **error)
{
  gint64 open_id;

  /* Called as a job of the batch writer (lk-api-applications.c), already inside the batch's
   * transaction: one check of an open application is enough. */
  if (!lk_store_begin_immediate (self, error))
    return FALSE;

  open_id = select_id (self,
                       "SELECT 1 FROM applications WHERE student_id = ?1 AND ?2 IS NULL "
                       "AND " LK_SQL_APPLICATION_IS_OPEN ("status"), student_id, NULL, error);
  if (open_id < 0)
    goto fail;
  if (open_id > 0)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT,
                   "The student already has an open application");
      goto fail;
    }

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self,
                                               "SELECT coalesce(max(day_seq), 0) + 1 FROM applications "
                                               "WHERE day = ?1", error);
    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, day);
    if (sqlite3_step (stmt) != SQLITE_ROW)
      {
        lk_store_set_error (self, error, sqlite3_errcode (lk_store_db (self, NULL)), "Cannot number");
        goto fail;
      }
    *day_seq = sqlite3_column_int64 (stmt, 0);
  }

  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "INSERT INTO applications (id, student_id, token_hash, phone, status, fee_fen, "
                             "consent_at, consent_version, day, day_seq, created_at, student_no) "
                             "SELECT ?1, ?2, ?3, ?4, 'verified', ?5, ?6, ?7, ?8, ?9, ?6, student_no "
                             "FROM students WHERE id = ?2", error);
    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, id);
    sqlite3_bind_int64 (stmt, 2, student_id);
    lk_stmt_bind_text (stmt, 3, token_hash);
    lk_stmt_bind_text (stmt, 4, phone);
    sqlite3_bind_int64 (stmt, 5, fee_fen);
    sqlite3_bind_int64 (stmt, 6, now);
    lk_stmt_bind_text (stmt, 7, consent_version);
    lk_stmt_bind_text (stmt, 8, day);
    sqlite3_bind_int64 (stmt, 9, *day_seq);
    if (!lk_store_step_done (self, stmt, error))
      goto fail;
  }
  if (!lk_store_commit (self, error))
    goto fail;
  return TRUE;

fail:
  lk_store_rollback (self);
  return FALSE;
}

LkApplicationRecord *
lk_store_application_get (LkStore     *self,
                          const char  *id,
                          GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  LkApplicationRecord *record;

  stmt = lk_store_prepare (self,
                           "SELECT a.id, a.token_hash, a.status, a.phone, a.fee_fen, a.student_id, "
                           "s.school_id, CASE WHEN a.student_no = '' THEN s.student_no ELSE a.student_no END, "
                           "s.name, s.class_name, a.day, a.day_seq, a.created_at, "
                           "coalesce(a.issued_at, 0), a.card_no, coalesce(c.attempt, -1) "
                           "FROM applications a JOIN students s ON s.id = a.student_id "
                           "LEFT JOIN claim_codes c ON c.application_id = a.id WHERE a.id = ?1", error);
  if (stmt == NULL)
    return NULL;
  lk_stmt_bind_text (stmt, 1, id);
  if (!lk_store_step_one (self, stmt, "No such application", "Cannot read the application", error))
    return NULL;
  record = g_new0 (LkApplicationRecord, 1);
  record->id = lk_stmt_dup_text (stmt, 0);
  record->token_hash = lk_stmt_dup_text (stmt, 1);
  record->status = lk_stmt_dup_text (stmt, 2);
  record->phone = lk_stmt_dup_text (stmt, 3);
  record->fee_fen = sqlite3_column_int64 (stmt, 4);
  record->student_id = sqlite3_column_int64 (stmt, 5);
  record->school_id = sqlite3_column_int64 (stmt, 6);
  record->student_no = lk_stmt_dup_text (stmt, 7);
  record->student_name = lk_stmt_dup_text (stmt, 8);
  record->klass = lk_stmt_dup_text (stmt, 9);
  record->day = lk_stmt_dup_text (stmt, 10);
  record->day_seq = sqlite3_column_int64 (stmt, 11);
  record->created_at = sqlite3_column_int64 (stmt, 12);
  record->issued_at = sqlite3_column_int64 (stmt, 13);
  record->card_no = lk_stmt_dup_text (stmt, 14);
  record->code_attempt = sqlite3_column_int64 (stmt, 15);
  return record;
}

gboolean
lk_store_payment_create (LkStore     *self,
                         const char  *order_no,
                         const char  *application_id,
                         const char  *channel,
                         gint64       amount_fen,
                         gint64       now,
                         GError     **error)
{
  if (!lk_store_begin_immediate (self, error))
    return FALSE;

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self, "SELECT status FROM applications WHERE id = ?1", error);

    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, application_id);
    if (!lk_store_step_one (self, stmt, "No such application", "Cannot read the application", error))
      goto fail;
    if (!g_str_equal (lk_stmt_text (stmt, 0), "verified"))
      {
        g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT, "The application is %s",
                     lk_stmt_text (stmt, 0));
        goto fail;
      }
  }
  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "INSERT INTO payments (order_no, application_id, channel, amount_fen, created_at) "
                             "VALUES (?1, ?2, ?3, ?4, ?5)", error);
    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, order_no);
    lk_stmt_bind_text (stmt, 2, application_id);
    lk_stmt_bind_text (stmt, 3, channel);
    sqlite3_bind_int64 (stmt, 4, amount_fen);
    sqlite3_bind_int64 (stmt, 5, now);
    if (!lk_store_step_done (self, stmt, error))
      goto fail;
  }
  if (!lk_store_commit (self, error))
    goto fail;
  return TRUE;

fail:
  lk_store_rollback (self);
  return FALSE;
}

gboolean
lk_store_payment_get (LkStore     *self,
                      const char  *order_no,
                      char       **channel,
                      gint64      *amount_fen,
                      char       **status,
                      GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self, "SELECT channel, amount_fen, status FROM payments WHERE order_no = ?1", error);
  if (stmt == NULL)
    return FALSE;
  lk_stmt_bind_text (stmt, 1, order_no);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No such order");
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return lk_store_set_error (self, error, rc, "Cannot read the order");
  if (channel != NULL)
    *channel = lk_stmt_dup_text (stmt, 0);
  if (amount_fen != NULL)
    *amount_fen = sqlite3_column_int64 (stmt, 1);
  if (status != NULL)
    *status = lk_stmt_dup_text (stmt, 2);
  return TRUE;
}

static gboolean
exec_update (LkStore     *self,
             const char  *sql,
             const char  *text,
             gint64       value,
             gint        *changes,
             GError     **error)
{
  g_autoptr(LkStmt) stmt = lk_store_prepare (self, sql, error);

  if (stmt == NULL)
    return FALSE;
  lk_stmt_bind_text (stmt, 1, text);
  sqlite3_bind_int64 (stmt, 2, value);
  if (!lk_store_step_done (self, stmt, error))
    return FALSE;
  if (changes != NULL)
    *changes = sqlite3_changes (lk_store_db (self, NULL));
  return TRUE;
}

static gint64
insert_claim_code (LkStore               *self,
                   LkApplicationRecord   *app,
                   gint64                 now,
                   LkClaimCodeMakeFunc    make_code,
                   gpointer               user_data,
                   char                 **kiosk_digest,
                   GError               **error)
{
  for (guint attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++)
    {
      g_autofree char *lookup = NULL;
      g_autofree char *digest = NULL;
      gint64 taken;

      if (!make_code (app, attempt, &lookup, &digest, user_data, error))
        return 0;
      taken = select_id (self,
                         "SELECT 1 FROM claim_codes WHERE ?1 = ?1 AND lookup = ?2 "
                         "AND status IN ('open', 'reserved')", 0, lookup, error);
      if (taken < 0)
        return 0;
      if (taken > 0)
        continue;

      {
        g_autoptr(LkStmt) stmt = NULL;

        stmt = lk_store_prepare (self,
                                 "INSERT INTO claim_codes (application_id, school_id, student_id, attempt, "
                                 "lookup, kiosk_digest, status, created_at) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7)", error);
        if (stmt == NULL)
          return 0;
        lk_stmt_bind_text (stmt, 1, app->id);
        sqlite3_bind_int64 (stmt, 2, app->school_id);
        sqlite3_bind_int64 (stmt, 3, app->student_id);
        sqlite3_bind_int64 (stmt, 4, attempt);
        lk_stmt_bind_text (stmt, 5, lookup);
        lk_stmt_bind_text (stmt, 6, digest);
        sqlite3_bind_int64 (stmt, 7, now);
        if (!lk_store_step_done (self, stmt, error))
          return 0;
      }
      *kiosk_digest = g_steal_pointer (&digest);
      return sqlite3_last_insert_rowid (lk_store_db (self, NULL));
    }
  g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT, "No free claim code after %d attempts",
               MAX_CODE_ATTEMPTS);
  return 0;
}

gboolean
lk_store_payment_apply (LkStore             *self,
                        const char          *order_no,
                        gint64               amount_fen,
                        const char          *provider_txn,
                        gint64               now,
                        LkClaimCodeMakeFunc  make_code,
                        gpointer             user_data,
                        LkPaymentApplied    *applied,
                        GError             **error)
{
  g_autoptr(LkApplicationRecord) app = NULL;
  g_autofree char *application_id = NULL;
  g_autofree char *status = NULL;
  gint64 expected_amount;
  gint changes = 0;

  memset (applied, 0, sizeof *applied);
  if (!lk_store_begin_immediate (self, error))
    return FALSE;

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self,
                                               "SELECT application_id, amount_fen, status FROM payments "
                                               "WHERE order_no = ?1", error);

    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, order_no);
    if (!lk_store_step_one (self, stmt, "No such order", "Cannot read the order", error))
      goto fail;
    application_id = lk_stmt_dup_text (stmt, 0);
    expected_amount = sqlite3_column_int64 (stmt, 1);
    status = lk_stmt_dup_text (stmt, 2);
  }

  if (expected_amount != amount_fen)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID, "The amount does not match the order");
      goto fail;
    }
  if (g_str_equal (status, "paid"))
    {
      /* Already applied: the same answer, no change. */
      lk_store_rollback (self);
      applied->applied = FALSE;
      applied->application_id = g_steal_pointer (&application_id);
      return TRUE;
    }
  /* A closed order (its application was cancelled) that the payer paid anyway is still money
   * received: it is recorded, and the application stays as it is (a refund is due). */
  if (!g_str_equal (status, "pending") && !g_str_equal (status, "closed"))
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID, "The order is %s", status);
      goto fail;
    }

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self,
                                               "UPDATE payments SET status = 'paid', provider_txn = ?3, "
                                               "paid_at = ?2 WHERE order_no = ?1 "
                                               "AND status IN ('pending', 'closed')",
                                               error);
    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, order_no);
    sqlite3_bind_int64 (stmt, 2, now);
    lk_stmt_bind_text (stmt, 3, provider_txn);
    if (!lk_store_step_done (self, stmt, error))
      goto fail;
  }

  app = lk_store_application_get (self, application_id, error);
  if (app == NULL)
    goto fail;
  if (!exec_update (self,
                    "UPDATE applications SET status = 'paid', paid_at = ?2 "
                    "WHERE id = ?1 AND status = 'verified'", application_id, now, &changes, error))
    goto fail;
  if (changes == 0)
    {
      /* Paid twice through two orders: keep the money on record, change nothing else. */
      lk_log_event (G_LOG_LEVEL_MESSAGE, "A second payment for an application that is not open",
                    "LK_ORDER", order_no, "LK_APPLICATION_STATUS", app->status, NULL);
      if (!lk_store_commit (self, error))
        goto fail;
      applied->applied = FALSE;
      applied->application_id = g_steal_pointer (&application_id);
      return TRUE;
    }

  applied->code_id = insert_claim_code (self, app, now, make_code, user_data,
                                        &applied->kiosk_digest, error);
  if (applied->code_id == 0)
    goto fail;
  if (!exec_update (self, "UPDATE applications SET status = 'claimable' WHERE id = ?1 AND ?2 = ?2",
                    application_id, 0, NULL, error))
    goto fail;

  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "INSERT INTO sms_outbox (phone, template, application_id, next_attempt_at, created_at) "
                             "VALUES (?1, 'claim_code', ?2, ?3, ?3)", error);
    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, app->phone);
    lk_stmt_bind_text (stmt, 2, application_id);
    sqlite3_bind_int64 (stmt, 3, now);
    if (!lk_store_step_done (self, stmt, error))
      goto fail;
  }

  if (!lk_store_commit (self, error))
    goto fail;

  applied->applied = TRUE;
  applied->application_id = g_steal_pointer (&application_id);
  applied->school_id = app->school_id;
  applied->student_name = g_strdup (app->student_name);
  applied->klass = g_strdup (app->klass);
  return TRUE;

fail:
  lk_store_rollback (self);
  lk_payment_applied_clear (applied);
  return FALSE;
}

void
lk_application_cancel_clear (LkApplicationCancel *cancel)
{
  g_clear_pointer (&cancel->application_id, g_free);
  g_clear_pointer (&cancel->previous_status, g_free);
  memset (cancel, 0, sizeof *cancel);
}

gboolean
lk_store_application_cancel (LkStore             *self,
                             const char          *application_id,
                             gint64               student_id,
                             gint64               user_id,
                             gint64               school_id,
                             LkApplicationCancel *cancel,
                             GError             **error)
{
  gboolean by_parent = application_id != NULL;
  g_autofree char *code_status = NULL;

  memset (cancel, 0, sizeof *cancel);
  if (!lk_store_begin_immediate (self, error))
    return FALSE;

  {
    g_autoptr(LkStmt) stmt = NULL;

    if (by_parent)
      stmt = lk_store_prepare (self,
                               "SELECT a.id, a.status, st.school_id FROM applications a "
                               "JOIN students st ON st.id = a.student_id WHERE a.id = ?1", error);
    else
      stmt = lk_store_prepare (self,
                               "SELECT a.id, a.status, st.school_id FROM applications a "
                               "JOIN students st ON st.id = a.student_id WHERE a.student_id = ?2 "
                               "AND " LK_SQL_APPLICATION_IS_OPEN ("a.status"), error);
    if (stmt == NULL)
      goto fail;
    if (by_parent)
      lk_stmt_bind_text (stmt, 1, application_id);
    else
      sqlite3_bind_int64 (stmt, 2, student_id);
    if (!lk_store_step_one (self, stmt, "No such open application", "Cannot read the application", error))
      goto fail;
    cancel->application_id = lk_stmt_dup_text (stmt, 0);
    cancel->previous_status = lk_stmt_dup_text (stmt, 1);
    cancel->school_id = sqlite3_column_int64 (stmt, 2);
  }

  if (school_id != 0 && cancel->school_id != school_id)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN, "The application belongs to another school");
      goto fail;
    }
  if (!g_str_equal (cancel->previous_status, "verified")
      && (by_parent || (!g_str_equal (cancel->previous_status, "paid")
                        && !g_str_equal (cancel->previous_status, "claimable"))))
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID, "The application is %s",
                   cancel->previous_status);
      goto fail;
    }

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self,
                                               "SELECT id, status FROM claim_codes WHERE application_id = ?1",
                                               error);
    int rc;

    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, cancel->application_id);
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
      {
        cancel->code_id = sqlite3_column_int64 (stmt, 0);
        code_status = lk_stmt_dup_text (stmt, 1);
      }
    else if (rc != SQLITE_DONE)
      {
        lk_store_set_error (self, error, rc, "Cannot read the claim code");
        goto fail;
      }
  }
  /* A kiosk was authorized and may be moving the card: its report decides, or an operator
   * releases the claim first. */
  if (g_strcmp0 (code_status, "reserved") == 0)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT, "A kiosk is issuing this card");
      goto fail;
    }

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self,
                                               "SELECT COALESCE(SUM(amount_fen), 0) FROM payments "
                                               "WHERE application_id = ?1 AND status = 'paid'", error);
    if (stmt == NULL)
      goto fail;
    lk_stmt_bind_text (stmt, 1, cancel->application_id);
    if (!lk_store_step_one (self, stmt, "No payments", "Cannot read the payments", error))
      goto fail;
    cancel->refund_due_fen = sqlite3_column_int64 (stmt, 0);
  }

  if (!exec_update (self, "UPDATE applications SET status = 'cancelled' WHERE id = ?1 AND ?2 = ?2",
                    cancel->application_id, 0, NULL, error)
      || !exec_update (self, "UPDATE payments SET status = 'closed' WHERE application_id = ?1 "
                       "AND status = 'pending' AND ?2 = ?2", cancel->application_id, 0, NULL, error)
      || !exec_update (self, "UPDATE claim_codes SET status = 'revoked' WHERE application_id = ?1 "
                       "AND status = 'open' AND ?2 = ?2", cancel->application_id, 0, NULL, error))
    goto fail;
  if (g_strcmp0 (code_status, "open") != 0)
    cancel->code_id = 0;

  if (user_id > 0)
    {
      g_autofree char *target = g_strdup_printf ("application:%s", cancel->application_id);
      g_autofree char *detail = g_strdup_printf ("was %s; refund due %" G_GINT64_FORMAT " fen",
                                                 cancel->previous_status, cancel->refund_due_fen);

      if (!lk_store_audit_in_tx (self, user_id, "applications.cancel", cancel->school_id, target,
                                 detail, error))
        goto fail;
    }

  if (!lk_store_commit (self, error))
    goto fail;
  return TRUE;

fail:
  lk_store_rollback (self);
  /* The caller words its refusal from the status it found. */
  g_clear_pointer (&cancel->application_id, g_free);
  return FALSE;
}

/* --- SMS outbox --- */

gboolean
lk_store_sms_enqueue (LkStore     *self,
                      const char  *phone,
                      const char  *template,
                      const char  *application_id,
                      gint64       now,
                      GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "INSERT INTO sms_outbox (phone, template, application_id, next_attempt_at, created_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?4)", error);
  if (stmt == NULL)
    return FALSE;
  lk_stmt_bind_text (stmt, 1, phone);
  lk_stmt_bind_text (stmt, 2, template);
  lk_stmt_bind_text (stmt, 3, application_id);
  sqlite3_bind_int64 (stmt, 4, now);
  return lk_store_step_done (self, stmt, error);
}

GPtrArray *
lk_store_sms_due (LkStore     *self,
                  gint64       now,
                  guint        limit,
                  GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_sms_item_free);
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT id, phone, template, application_id, attempts FROM sms_outbox "
                           "WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      LkSmsItem *item = g_new0 (LkSmsItem, 1);

      item->id = sqlite3_column_int64 (stmt, 0);
      item->phone = lk_stmt_dup_text (stmt, 1);
      item->template = lk_stmt_dup_text (stmt, 2);
      item->application_id = lk_stmt_dup_text (stmt, 3);
      item->attempts = sqlite3_column_int64 (stmt, 4);
      g_ptr_array_add (items, item);
    }
  if (rc != SQLITE_DONE)
    {
      lk_store_set_error (self, error, rc, "Cannot read the outbox");
      return NULL;
    }
  return g_steal_pointer (&items);
}

gboolean
lk_store_sms_mark_sent (LkStore     *self,
                        gint64       id,
                        gint64       now,
                        GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "UPDATE sms_outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1, "
                           "last_error = NULL WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, now);
  return lk_store_step_done (self, stmt, error);
}

gboolean
lk_store_sms_mark_retry (LkStore     *self,
                         gint64       id,
                         gint64       next_attempt_at,
                         const char  *last_error,
                         GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "UPDATE sms_outbox SET attempts = attempts + 1, next_attempt_at = ?2, "
                           "last_error = ?3 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, next_attempt_at);
  lk_stmt_bind_text (stmt, 3, last_error);
  return lk_store_step_done (self, stmt, error);
}

gint64
lk_store_sms_next_due (LkStore *self)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "SELECT coalesce(min(next_attempt_at), 0) FROM sms_outbox WHERE status = 'pending'",
                           NULL);
  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    return 0;
  return sqlite3_column_int64 (stmt, 0);
}
