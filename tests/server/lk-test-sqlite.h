/* lk-test-sqlite.h: a test's own SQLite connection, beside the store's
 *
 * For the tests that look at the database file itself (its schema, the WAL the store's VFS
 * wrote): each helper fails the test on any SQLite error.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* Read-write, created if missing, busy timeout 5 s; @vfs NULL for SQLite's default. Foreign
 * keys are off (SQLite's default), so a row can be written to check one constraint alone. */
sqlite3 *lk_test_sqlite_open (const char *path,
                              const char *vfs);
void     lk_test_sqlite_exec (sqlite3    *db,
                              const char *sql);
/* The first column of the first row. */
gint64   lk_test_sqlite_int  (sqlite3    *db,
                              const char *sql);
/* Every row: columns joined with "|", each row ended with "\n". */
char    *lk_test_sqlite_text (sqlite3    *db,
                              const char *sql);
/* Deletes the database at @path with its -wal and -shm files, whichever exist. */
void     lk_test_sqlite_remove_files (const char *path);

G_END_DECLS
