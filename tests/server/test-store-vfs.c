/* test-store-vfs.c: the store's VFS, which writes each commit's WAL frames in one go
 *
 * The VFS holds WAL appends back and writes them out together, at the end of each commit. What
 * must hold, and what each test would catch:
 * - the frames go out in a few writes, not two a frame (otherwise the VFS does nothing), and
 *   still do once another connection has started the WAL over;
 * - a commit is in the file when sqlite3_step() returns: another connection, on SQLite's own
 *   VFS and file handles, reads every row at once (frames left in the buffer would be read as
 *   garbage or missing pages); and already when SQLite publishes it in the WAL index, which
 *   another thread could read from in between (every test checks that, at its end);
 * - a copy of the files taken while the connection is still open, as after a crash, recovers
 *   every committed row and passes integrity_check;
 * - a transaction that spills pages to the WAL before its commit, reads them back, and then
 *   changes them again (SQLite then rewrites frames in place and re-reads them to fix the
 *   checksums) sees its own writes and ends up whole, in the file at once (a crash copy
 *   recovers it);
 * - frames a rolled-back transaction spilled are not held back past the rollback (held back,
 *   they later land on another connection's commit, and its rows come back wrong);
 * - a write that fails when the buffer goes out fails the commit, and leaves the database as it
 *   was before the transaction (a failure swallowed by the buffer would lose the transaction
 *   while SQLite reported it committed).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <sys/resource.h>

#include <glib/gstdio.h>

#include "lk-store-vfs.h"
#include "lk-test-sqlite.h"

#define ROWS 400
#define ROW_BYTES 1000

typedef struct
{
  char    *dir;
  char    *path;
  sqlite3 *db;     /* through the store's VFS */
} Fixture;

/* The SQL value of row @id's payload as written in @round: ROW_BYTES digits derived from both. */
static char *
payload_sql (const char *id,
             int         round)
{
  return g_strdup_printf ("printf('%%0%dd', %s * 7919 + %d)", ROW_BYTES, id, round);
}

/* Every row's payload rewritten as insert_rows() would write it in @round, in one statement. */
static void
update_rows (sqlite3 *db,
             int      round)
{
  g_autofree char *payload = payload_sql ("id", round);
  g_autofree char *sql = g_strconcat ("UPDATE t SET payload = ", payload, NULL);

  lk_test_sqlite_exec (db, sql);
}

/* ROWS rows of ROW_BYTES each, about 100 pages: one transaction. Each row's payload is
 * derived from its id and @round, so that a reader can check every byte of it. */
static int
insert_rows (sqlite3 *db,
             int      first_id,
             int      round)
{
  g_autofree char *payload = payload_sql ("i", round);
  g_autofree char *sql = g_strdup_printf (
      "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
      "INSERT INTO t (id, payload) SELECT i, %s FROM n",
      first_id, first_id + ROWS - 1, payload);
  int rc;

  rc = sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_exec (db, sql, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Every row is there, and holds exactly what insert_rows() wrote in @round. */
static void
assert_rows (sqlite3 *db,
             gint64   expected_rows,
             int      round)
{
  g_autofree char *payload = payload_sql ("id", round);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM t WHERE payload = %s", payload);

  g_assert_cmpint (lk_test_sqlite_int (db, "SELECT count(*) FROM t"), ==, expected_rows);
  g_assert_cmpint (lk_test_sqlite_int (db, sql), ==, expected_rows);
}

static void
assert_intact (sqlite3 *db)
{
  g_autofree char *check = lk_test_sqlite_text (db, "PRAGMA integrity_check");

  g_assert_cmpstr (check, ==, "ok\n");
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->dir = g_dir_make_tmp ("lingka-vfs-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, "lingka.db", NULL);
  fixture->db = lk_test_sqlite_open (fixture->path, lk_store_vfs_name ());
  lk_test_sqlite_exec (fixture->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                                    "PRAGMA wal_autocheckpoint = 0;"
                                    "CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  /* In every test: no commit was published in the WAL index before its frames were in the
   * file, where other connections (other threads) read them from. */
  g_assert_cmpuint (lk_store_vfs_debug_published_early (), ==, 0);

  g_clear_pointer (&fixture->db, sqlite3_close);
  lk_test_sqlite_remove_files (fixture->path);
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static void
test_one_write_per_buffer (Fixture       *fixture,
                           gconstpointer  data)
{
  guint before = lk_store_vfs_debug_wal_writes ();
  int frames = 0, checkpointed = 0;
  guint writes;

  g_assert_cmpint (insert_rows (fixture->db, 1, 0), ==, SQLITE_OK);
  writes = lk_store_vfs_debug_wal_writes () - before;
  g_assert_cmpint (sqlite3_wal_checkpoint_v2 (fixture->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                              &frames, &checkpointed), ==, SQLITE_OK);

  /* ~100 frames of 4,120 bytes: 200 writes straight through, 4 in 124 KiB buffers. */
  g_test_message ("%d frames in %u writes", frames, writes);
  g_assert_cmpint (frames, >=, 100);
  g_assert_cmpuint (writes, >=, 1);
  g_assert_cmpuint (writes, <=, frames * 4120 / (124 * 1024) + 2);
}

static void
test_commit_visible_to_other_connections (Fixture       *fixture,
                                          gconstpointer  data)
{
  sqlite3 *other = lk_test_sqlite_open (fixture->path, NULL);

  for (int round = 0; round < 5; round++)
    {
      g_assert_cmpint (insert_rows (fixture->db, 1 + round * ROWS, round), ==, SQLITE_OK);
      /* The same rows, read at once through SQLite's own VFS and file handles. */
      g_assert_cmpint (lk_test_sqlite_int (other, "SELECT count(*) FROM t"), ==, (round + 1) * ROWS);
      {
        g_autofree char *payload = payload_sql ("id", round);
        g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM t WHERE id > %d AND payload = %s",
                                                round * ROWS, payload);
        g_assert_cmpint (lk_test_sqlite_int (other, sql), ==, ROWS);
      }
    }
  assert_intact (other);
  sqlite3_close (other);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (to, contents, length, NULL));
}

/* The files as a crash would leave them (the connection still open, nothing checkpointed),
 * recovered by SQLite's own VFS: every committed row is there, as written in @round. */
static void
assert_crash_copy_recovers (Fixture *fixture,
                            gint64   expected_rows,
                            int      round)
{
  g_autofree char *copy = g_build_filename (fixture->dir, "copy.db", NULL);
  g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);
  g_autofree char *copy_wal = g_strconcat (copy, "-wal", NULL);
  sqlite3 *recovered;

  copy_file (fixture->path, copy);
  copy_file (wal, copy_wal);
  recovered = lk_test_sqlite_open (copy, NULL);
  assert_rows (recovered, expected_rows, round);
  assert_intact (recovered);
  sqlite3_close (recovered);
  lk_test_sqlite_remove_files (copy);
}

static void
test_crash_copy_recovers (Fixture       *fixture,
                          gconstpointer  data)
{
  g_assert_cmpint (insert_rows (fixture->db, 1, 0), ==, SQLITE_OK);
  g_assert_cmpint (insert_rows (fixture->db, 1 + ROWS, 0), ==, SQLITE_OK);
  assert_crash_copy_recovers (fixture, 2 * ROWS, 0);
}

/* After a checkpoint the next transaction starts the WAL over from its header: its frames
 * are appends again, gathered as before, whichever connection started the WAL over, and
 * recovered after a crash like any others. */
static void
test_restarted_wal (Fixture       *fixture,
                    gconstpointer  data)
{
  sqlite3 *second = lk_test_sqlite_open (fixture->path, lk_store_vfs_name ());
  int frames = 0, checkpointed = 0;
  guint before, writes;

  g_assert_cmpint (insert_rows (fixture->db, 1, 0), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_wal_checkpoint_v2 (fixture->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                              &frames, &checkpointed), ==, SQLITE_OK);
  g_assert_cmpint (checkpointed, ==, frames);

  /* Another connection starts the WAL over; this one's frames then follow it. */
  g_assert_cmpint (insert_rows (second, 1 + ROWS, 0), ==, SQLITE_OK);
  before = lk_store_vfs_debug_wal_writes ();
  g_assert_cmpint (insert_rows (fixture->db, 1 + 2 * ROWS, 0), ==, SQLITE_OK);
  writes = lk_store_vfs_debug_wal_writes () - before;
  g_assert_cmpint (sqlite3_wal_checkpoint_v2 (fixture->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                              &frames, &checkpointed), ==, SQLITE_OK);
  g_test_message ("after the restart: %d frames in the WAL, the last ~100 in %u writes", frames, writes);
  /* The two transactions since the restart only. */
  g_assert_cmpint (frames, <, 300);
  g_assert_cmpuint (writes, <=, 100 * 4120 / (124 * 1024) + 3);
  sqlite3_close (second);
  assert_crash_copy_recovers (fixture, 3 * ROWS, 0);
}

static void
test_spilled_pages_rewritten (Fixture       *fixture,
                              gconstpointer  data)
{
  sqlite3 *other = lk_test_sqlite_open (fixture->path, NULL);

  g_assert_cmpint (insert_rows (fixture->db, 1, 0), ==, SQLITE_OK);

  /* A page cache of 10 pages spills to the WAL in the middle of the transaction; the second
   * update changes the spilled pages again, which SQLite writes over their frames. */
  lk_test_sqlite_exec (fixture->db, "PRAGMA cache_size = 10; PRAGMA cache_spill = 5");
  lk_test_sqlite_exec (fixture->db, "BEGIN IMMEDIATE");
  lk_test_sqlite_exec (fixture->db, "UPDATE t SET payload = printf('%0999d', id)");
  /* Read back inside the transaction: the spilled pages come from the WAL, some of them from
   * frames the VFS still holds. */
  g_assert_cmpint (lk_test_sqlite_int (fixture->db, "SELECT count(*) FROM t WHERE payload = printf('%0999d', id)"),
                   ==, ROWS);
  update_rows (fixture->db, 1);
  lk_test_sqlite_exec (fixture->db, "COMMIT");

  assert_rows (other, ROWS, 1);
  assert_intact (other);
  sqlite3_close (other);
  /* The frames written over, and the checksums SQLite rewrote after them up to the commit
   * frame's, are all in the file as soon as the commit returns. */
  assert_crash_copy_recovers (fixture, ROWS, 1);
}

/* A transaction that spills frames and is rolled back leaves nothing behind that could later
 * land on top of another connection's commit. */
static void
test_rolled_back_frames_left_behind (Fixture       *fixture,
                                     gconstpointer  data)
{
  sqlite3 *other = lk_test_sqlite_open (fixture->path, NULL);

  g_assert_cmpint (insert_rows (fixture->db, 1, 0), ==, SQLITE_OK);

  /* A few pages spill to the WAL (fewer than a buffer holds), then the transaction is undone.
   * With the WAL emptied first, the pages are read from the database file, so no read of the
   * WAL pushes the spilled frames out before the rollback. */
  g_assert_cmpint (sqlite3_wal_checkpoint_v2 (fixture->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                              NULL, NULL), ==, SQLITE_OK);
  lk_test_sqlite_exec (fixture->db, "PRAGMA cache_size = 2; PRAGMA cache_spill = 1");
  lk_test_sqlite_exec (fixture->db, "BEGIN IMMEDIATE");
  lk_test_sqlite_exec (fixture->db, "UPDATE t SET payload = printf('%0999d', id) WHERE id <= 40");
  g_assert_cmpuint (lk_store_vfs_debug_buffered (), >, 0);
  lk_test_sqlite_exec (fixture->db, "ROLLBACK");
  g_assert_cmpuint (lk_store_vfs_debug_buffered (), ==, 0);

  /* Another connection commits frames where the undone ones were... */
  update_rows (other, 1);
  /* ...and the first connection goes on using the file. */
  assert_rows (fixture->db, ROWS, 1);

  assert_rows (other, ROWS, 1);
  assert_intact (other);
  sqlite3_close (other);
  assert_crash_copy_recovers (fixture, ROWS, 1);
}

static void
test_failed_write_fails_commit (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);
  struct rlimit saved, limited;
  void (*saved_handler) (int);
  GStatBuf st;
  int rc;

  g_assert_cmpint (insert_rows (fixture->db, 1, 0), ==, SQLITE_OK);
  g_assert_cmpint (g_stat (wal, &st), ==, 0);

  /* No file may grow past the WAL's size now: the next transaction's frames cannot be
   * written. (SIGXFSZ would end the process; the write fails with EFBIG instead.) */
  saved_handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  limited = saved;
  limited.rlim_cur = st.st_size;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limited), ==, 0);
  rc = insert_rows (fixture->db, 1 + ROWS, 0);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, saved_handler);

  g_assert_cmpint (rc, !=, SQLITE_OK);
  {
    sqlite3 *other = lk_test_sqlite_open (fixture->path, NULL);

    assert_rows (other, ROWS, 0);
    assert_intact (other);
    sqlite3_close (other);
  }

  /* And the connection goes on: the same transaction now commits. */
  g_assert_cmpint (insert_rows (fixture->db, 1 + ROWS, 0), ==, SQLITE_OK);
  assert_rows (fixture->db, 2 * ROWS, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/store/vfs/one-write-per-buffer", Fixture, NULL,
              fixture_set_up, test_one_write_per_buffer, fixture_tear_down);
  g_test_add ("/store/vfs/restarted-wal", Fixture, NULL,
              fixture_set_up, test_restarted_wal, fixture_tear_down);
  g_test_add ("/store/vfs/commit-visible-to-other-connections", Fixture, NULL,
              fixture_set_up, test_commit_visible_to_other_connections, fixture_tear_down);
  g_test_add ("/store/vfs/crash-copy-recovers", Fixture, NULL,
              fixture_set_up, test_crash_copy_recovers, fixture_tear_down);
  g_test_add ("/store/vfs/spilled-pages-rewritten", Fixture, NULL,
              fixture_set_up, test_spilled_pages_rewritten, fixture_tear_down);
  g_test_add ("/store/vfs/rolled-back-frames-left-behind", Fixture, NULL,
              fixture_set_up, test_rolled_back_frames_left_behind, fixture_tear_down);
  g_test_add ("/store/vfs/failed-write-fails-commit", Fixture, NULL,
              fixture_set_up, test_failed_write_fails_commit, fixture_tear_down);

  return g_test_run ();
}
