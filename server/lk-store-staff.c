/* lk-store-staff.c: provinces, schools, staff accounts, sessions and kiosk registration
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-store"

#include "config.h"

#include "lk-store-private.h"

void
lk_user_record_free (LkUserRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->username);
  g_free (record->password_hash);
  g_free (record->role);
  g_free (record);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Inside a transaction. */
static gint64
school_ensure_in_tx (LkStore     *self,
                     const char  *province,
                     const char  *school,
                     const char  *digest_alg,
                     guint        digest_iterations,
                     gboolean    *created,
                     GError     **error)
{
  gint64 province_id = 0;
  gint64 school_id = 0;
  int rc;

  if (created != NULL)
    *created = FALSE;

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self, "SELECT id FROM provinces WHERE name = ?1", error);
    if (stmt == NULL)
      return 0;
    lk_stmt_bind_text (stmt, 1, province);
    if ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      province_id = sqlite3_column_int64 (stmt, 0);
    else if (rc != SQLITE_DONE)
      return lk_store_set_error (self, error, rc, "Cannot read provinces");
  }
  if (province_id == 0)
    {
      g_autoptr(LkStmt) stmt = lk_store_prepare (self, "INSERT INTO provinces (name) VALUES (?1)", error);
      if (stmt == NULL)
        return 0;
      lk_stmt_bind_text (stmt, 1, province);
      if (!lk_store_step_done (self, stmt, error))
        return 0;
      province_id = sqlite3_last_insert_rowid (lk_store_db (self, NULL));
    }

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self,
                                               "SELECT id FROM schools WHERE province_id = ?1 AND name = ?2",
                                               error);
    if (stmt == NULL)
      return 0;
    sqlite3_bind_int64 (stmt, 1, province_id);
    lk_stmt_bind_text (stmt, 2, school);
    if ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      school_id = sqlite3_column_int64 (stmt, 0);
    else if (rc != SQLITE_DONE)
      return lk_store_set_error (self, error, rc, "Cannot read schools");
  }
  if (school_id == 0)
    {
      g_autofree char *salt = lk_random_hex (LK_DIGEST_SALT_LEN);
      g_autoptr(LkStmt) stmt = NULL;

      stmt = lk_store_prepare (self,
                               "INSERT INTO schools (province_id, name, digest_alg, digest_salt, "
                               "digest_iterations, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                               error);
      if (stmt == NULL)
        return 0;
      sqlite3_bind_int64 (stmt, 1, province_id);
      lk_stmt_bind_text (stmt, 2, school);
      lk_stmt_bind_text (stmt, 3, digest_alg != NULL ? digest_alg : "pbkdf2-sha256");
      lk_stmt_bind_text (stmt, 4, salt);
      sqlite3_bind_int64 (stmt, 5, digest_iterations > 0 ? digest_iterations : LK_DIGEST_DEFAULT_ITERATIONS);
      sqlite3_bind_int64 (stmt, 6, now_seconds ());
      if (!lk_store_step_done (self, stmt, error))
        return 0;
      school_id = sqlite3_last_insert_rowid (lk_store_db (self, NULL));
      if (created != NULL)
        *created = TRUE;
    }
  return school_id;
}

gint64
lk_store_school_ensure_in_tx (LkStore     *self,
                              const char  *province,
                              const char  *school,
                              const char  *digest_alg,
                              guint        digest_iterations,
                              gboolean    *created,
                              GError     **error)
{
  return school_ensure_in_tx (self, province, school, digest_alg, digest_iterations, created, error);
}

gint64
lk_store_school_ensure (LkStore     *self,
                        const char  *province,
                        const char  *school,
                        const char  *digest_alg,
                        guint        digest_iterations,
                        gboolean    *created,
                        GError     **error)
{
  gint64 id;

  g_return_val_if_fail (LK_IS_STORE (self), 0);

  if (!lk_store_begin_immediate (self, error))
    return 0;
  id = school_ensure_in_tx (self, province, school, digest_alg, digest_iterations, created, error);
  if (id == 0 || !lk_store_commit (self, error))
    {
      lk_store_rollback (self);
      return 0;
    }
  return id;
}

gboolean
lk_store_school_get (LkStore     *self,
                     gint64       school_id,
                     char       **province,
                     char       **name,
                     GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT p.name, s.name FROM schools s JOIN provinces p ON p.id = s.province_id "
                           "WHERE s.id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, school_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No school %" G_GINT64_FORMAT, school_id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return lk_store_set_error (self, error, rc, "Cannot read the school");
  if (province != NULL)
    *province = lk_stmt_dup_text (stmt, 0);
  if (name != NULL)
    *name = lk_stmt_dup_text (stmt, 1);
  return TRUE;
}

gboolean
lk_store_school_digest (LkStore         *self,
                        gint64           school_id,
                        LkDigestParams  *params,
                        GError         **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT digest_alg, digest_salt, digest_iterations FROM schools WHERE id = ?1",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, school_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No school %" G_GINT64_FORMAT, school_id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return lk_store_set_error (self, error, rc, "Cannot read the school");

  memset (params, 0, sizeof *params);
  if (!lk_digest_alg_from_string (lk_stmt_text (stmt, 0), &params->alg)
      || !lk_digest_params_set_salt_hex (params, lk_stmt_text (stmt, 1)))
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED,
                   "School %" G_GINT64_FORMAT " has bad digest parameters", school_id);
      return FALSE;
    }
  params->iterations = (guint) sqlite3_column_int64 (stmt, 2);
  return TRUE;
}

gint64
lk_store_user_create (LkStore     *self,
                      const char  *username,
                      const char  *password_hash,
                      const char  *role,
                      gint64       school_id,
                      GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  gint64 id;

  g_return_val_if_fail (LK_IS_STORE (self), 0);

  if (!lk_store_begin_immediate (self, error))
    return 0;
  stmt = lk_store_prepare (self,
                           "INSERT INTO users (username, password_hash, role, school_id, created_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)", error);
  if (stmt == NULL)
    goto fail;
  lk_stmt_bind_text (stmt, 1, username);
  lk_stmt_bind_text (stmt, 2, password_hash);
  lk_stmt_bind_text (stmt, 3, role);
  if (school_id > 0)
    sqlite3_bind_int64 (stmt, 4, school_id);
  sqlite3_bind_int64 (stmt, 5, now_seconds ());
  if (!lk_store_step_done (self, stmt, error))
    goto fail;
  id = sqlite3_last_insert_rowid (lk_store_db (self, NULL));
  g_clear_pointer (&stmt, lk_stmt_reset);
  if (!lk_store_audit_in_tx (self, 0, "users.create", school_id, NULL, role, error)
      || !lk_store_commit (self, error))
    goto fail;
  return id;

fail:
  lk_store_rollback (self);
  return 0;
}

static LkUserRecord *
user_from_row (LkStmt *stmt)
{
  LkUserRecord *record = g_new0 (LkUserRecord, 1);

  record->id = sqlite3_column_int64 (stmt, 0);
  record->username = lk_stmt_dup_text (stmt, 1);
  record->password_hash = lk_stmt_dup_text (stmt, 2);
  record->role = lk_stmt_dup_text (stmt, 3);
  record->school_id = sqlite3_column_int64 (stmt, 4);
  record->disabled = sqlite3_column_int (stmt, 5) != 0;
  return record;
}

LkUserRecord *
lk_store_user_find (LkStore     *self,
                    const char  *username,
                    GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT id, username, password_hash, role, coalesce(school_id, 0), disabled "
                           "FROM users WHERE username = ?1", error);
  if (stmt == NULL)
    return NULL;
  lk_stmt_bind_text (stmt, 1, username);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return user_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No such user");
  else
    lk_store_set_error (self, error, rc, "Cannot read users");
  return NULL;
}

gboolean
lk_store_session_create (LkStore     *self,
                         const char  *token_hash,
                         gint64       user_id,
                         gint64       created_at,
                         gint64       expires_at,
                         GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
                           "VALUES (?1, ?2, ?3, ?4)", error);
  if (stmt == NULL)
    return FALSE;
  lk_stmt_bind_text (stmt, 1, token_hash);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, created_at);
  sqlite3_bind_int64 (stmt, 4, expires_at);
  return lk_store_step_done (self, stmt, error);
}

LkUserRecord *
lk_store_session_find (LkStore     *self,
                       const char  *token_hash,
                       gint64       now,
                       gboolean    *expired,
                       GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  *expired = FALSE;
  stmt = lk_store_prepare (self,
                           "SELECT u.id, u.username, u.password_hash, u.role, coalesce(u.school_id, 0), "
                           "u.disabled, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id "
                           "WHERE s.token_hash = ?1", error);
  if (stmt == NULL)
    return NULL;
  lk_stmt_bind_text (stmt, 1, token_hash);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      if (sqlite3_column_int (stmt, 5) != 0)
        {
          g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "The account is disabled");
          return NULL;
        }
      if (sqlite3_column_int64 (stmt, 6) <= now)
        {
          *expired = TRUE;
          g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "The session has expired");
          return NULL;
        }
      return user_from_row (stmt);
    }
  if (rc == SQLITE_DONE)
    g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No such session");
  else
    lk_store_set_error (self, error, rc, "Cannot read sessions");
  return NULL;
}

gboolean
lk_store_session_set_expiry (LkStore     *self,
                             const char  *token_hash,
                             gint64       expires_at,
                             GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self, "UPDATE sessions SET expires_at = ?2 WHERE token_hash = ?1", error);
  if (stmt == NULL)
    return FALSE;
  lk_stmt_bind_text (stmt, 1, token_hash);
  sqlite3_bind_int64 (stmt, 2, expires_at);
  if (!lk_store_step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (lk_store_db (self, NULL)) == 0)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No such session");
      return FALSE;
    }
  return TRUE;
}

void
lk_store_sessions_purge (LkStore *self,
                         gint64   now)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autoptr(GError) error = NULL;

  /* Keep expired sessions a day, so a client is told "expired" rather than "unknown". */
  stmt = lk_store_prepare (self, "DELETE FROM sessions WHERE expires_at < ?1", &error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, now - 24 * 3600);
      lk_store_step_done (self, stmt, &error);
    }
  if (error != NULL)
    g_warning ("Cannot purge sessions: %s", error->message);
}

gint64
lk_store_kiosk_register (LkStore     *self,
                         const char  *sn,
                         gint64       school_id,
                         const char  *secret_hash,
                         GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  gint64 id;

  if (!lk_store_begin_immediate (self, error))
    return 0;
  stmt = lk_store_prepare (self,
                           "INSERT INTO kiosks (sn, school_id, secret_hash, created_at) "
                           "VALUES (?1, ?2, ?3, ?4)", error);
  if (stmt == NULL)
    goto fail;
  lk_stmt_bind_text (stmt, 1, sn);
  sqlite3_bind_int64 (stmt, 2, school_id);
  lk_stmt_bind_text (stmt, 3, secret_hash);
  sqlite3_bind_int64 (stmt, 4, now_seconds ());
  if (!lk_store_step_done (self, stmt, error))
    goto fail;
  id = sqlite3_last_insert_rowid (lk_store_db (self, NULL));
  if (!lk_store_commit (self, error))
    goto fail;
  return id;

fail:
  lk_store_rollback (self);
  return 0;
}
