/* lk-store-private.h: what the store's own files (lk-store*.c) share
 *
 * Only lk-store*.c include this header, and with it sqlite3.h. Every thread gets its own
 * connection to the database, opened on first use and kept until the store is finalized, with
 * its own statement cache.
 *
 * A statement from lk_store_prepare() belongs to the cache. Declare it as
 *
 *   g_autoptr(LkStmt) stmt = lk_store_prepare (self, "SELECT …", error);
 *
 * so that it is reset when it goes out of scope (an unreset SELECT would hold its read
 * snapshot open). Never finalize it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <sqlite3.h>

#include "lk-store.h"

G_BEGIN_DECLS

typedef sqlite3_stmt LkStmt;

static inline void
lk_stmt_reset (LkStmt *stmt)
{
  sqlite3_reset (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkStmt, lk_stmt_reset)

/* This thread's connection (opened on first use); NULL and @error set if it cannot be opened. */
sqlite3  *lk_store_db                 (LkStore     *self,
                                       GError     **error);

/* A cached, reset statement with cleared bindings, for this thread's connection. */
LkStmt   *lk_store_prepare            (LkStore     *self,
                                       const char  *sql,
                                       GError     **error);

/* BEGIN IMMEDIATE (for every transaction that writes), COMMIT, ROLLBACK. rollback never fails
 * visibly: it is the error path. */
gboolean  lk_store_begin_immediate    (LkStore     *self,
                                       GError     **error);
gboolean  lk_store_begin              (LkStore     *self,
                                       GError     **error);
gboolean  lk_store_commit             (LkStore     *self,
                                       GError     **error);
void      lk_store_rollback           (LkStore     *self);

/* Runs a statement that returns no row (sqlite3_step must give SQLITE_DONE). */
gboolean  lk_store_step_done          (LkStore     *self,
                                       LkStmt      *stmt,
                                       GError     **error);

/* Sets @error from @rc and this thread's connection message, mapping SQLITE_CONSTRAINT to
 * LK_STORE_ERROR_CONFLICT and SQLITE_BUSY to LK_STORE_ERROR_BUSY. Returns FALSE. */
gboolean  lk_store_set_error          (LkStore     *self,
                                       GError     **error,
                                       int          rc,
                                       const char  *what);

/* Binding helpers: NULL binds NULL. */
void      lk_stmt_bind_text           (LkStmt      *stmt,
                                       int          index,
                                       const char  *text);
/* The column as a newly allocated string, or NULL. */
char     *lk_stmt_dup_text            (LkStmt      *stmt,
                                       int          column);
/* The column as a const string ("" for NULL); valid until the next step or reset. */
const char *lk_stmt_text              (LkStmt      *stmt,
                                       int          column);

/* Steps @stmt to a row that must exist: TRUE on a row; LK_STORE_ERROR_NOT_FOUND with
 * @not_found when there is none; a store error with @what when the step fails. */
gboolean  lk_store_step_one           (LkStore     *self,
                                       LkStmt      *stmt,
                                       const char  *not_found,
                                       const char  *what,
                                       GError     **error);

/* Steps @stmt to its end and appends each row to @builder (positioned inside an array) as an
 * object: one member per column, named as the SQL names it (use AS) and typed as SQLite holds
 * the value (integer, real, text or null). On a step error sets @error with @what. */
gboolean  lk_store_add_rows           (LkStore     *self,
                                       LkStmt      *stmt,
                                       JsonBuilder *builder,
                                       const char  *what,
                                       GError     **error);

/* An application that is still open, on its status column @col: spelled exactly as the partial
 * index applications_open is (migration 5), so that SQLite uses the index for it. */
#define LK_SQL_APPLICATION_IS_OPEN(col) \
  "(" col " = 'verified' OR " col " = 'paid' OR " col " = 'claimable')"

/* Appends an audit_log row inside the caller's transaction. */
gboolean  lk_store_audit_in_tx        (LkStore     *self,
                                       gint64       user_id,
                                       const char  *action,
                                       gint64       school_id,
                                       const char  *target,
                                       const char  *detail,
                                       GError     **error);

/* Finds or creates a province and a school inside the caller's transaction (0 on error). */
gint64    lk_store_school_ensure_in_tx (LkStore     *self,
                                        const char  *province,
                                        const char  *school,
                                        const char  *digest_alg,
                                        guint        digest_iterations,
                                        gboolean    *created,
                                        GError     **error);

G_END_DECLS
