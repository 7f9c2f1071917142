/* test-store-checkpoint.c: when the store asks for a checkpoint
 *
 * The maintenance thread asks lk_store_checkpoint_due() ten times a second. A quiet server
 * checkpoints once a second if anything was written; a busy one every 8,192 new frames (three or
 * four times a second under full load), so that each checkpoint copies less at a time instead
 * of holding a CPU for 100 ms once a second. These tests hold it to both, and to nothing being due
 * when nothing was written.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "lk-store-private.h"
#include "lk-test-sqlite.h"

typedef struct
{
  char    *dir;
  char    *path;
  LkStore *store;
  sqlite3 *db;      /* the store's own connection on this thread: its commits call the hook */
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("lingka-checkpoint-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, "lingka.db", NULL);
  fixture->store = lk_store_new (fixture->path, "NORMAL", &error);
  g_assert_no_error (error);
  fixture->db = lk_store_db (fixture->store, &error);
  g_assert_no_error (error);
  lk_test_sqlite_exec (fixture->db, "CREATE TABLE filler (b BLOB)");
  /* Where a running server would be: everything so far checkpointed. */
  lk_store_checkpoint (fixture->store);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *suffixes[] = { "", "-wal", "-shm" };

  lk_store_stop_writer (fixture->store);
  g_clear_object (&fixture->store);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (fixture->path, suffixes[i], NULL);
      g_unlink (file);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static void
test_nothing_written (Fixture       *fixture,
                      gconstpointer  data)
{
  g_assert_false (lk_store_checkpoint_due (fixture->store));
  /* Not even once the second is up: a quiet server does not sync its files for nothing. */
  g_usleep (G_USEC_PER_SEC + G_USEC_PER_SEC / 10);
  g_assert_false (lk_store_checkpoint_due (fixture->store));
}

static void
test_many_frames (Fixture       *fixture,
                  gconstpointer  data)
{
  int frames = 0, checkpointed = 0;

  /* A few frames, just now: not yet. */
  lk_test_sqlite_exec (fixture->db, "INSERT INTO filler VALUES (zeroblob(4096))");
  g_assert_false (lk_store_checkpoint_due (fixture->store));

  /* 40 MiB of overflow pages, about 10,000 frames: at once. */
  lk_test_sqlite_exec (fixture->db, "INSERT INTO filler VALUES (zeroblob(40 * 1024 * 1024))");
  g_assert_true (lk_store_checkpoint_due (fixture->store));

  lk_store_checkpoint (fixture->store);
  g_assert_false (lk_store_checkpoint_due (fixture->store));
  g_assert_cmpint (sqlite3_wal_checkpoint_v2 (fixture->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                              &frames, &checkpointed), ==, SQLITE_OK);
  g_assert_cmpint (frames, >, 10000);
  g_assert_cmpint (checkpointed, ==, frames);
}

static void
test_quiet_server_once_a_second (Fixture       *fixture,
                                 gconstpointer  data)
{
  gint64 written_at;

  lk_test_sqlite_exec (fixture->db, "INSERT INTO filler VALUES (zeroblob(4096))");
  written_at = g_get_monotonic_time ();
  g_assert_false (lk_store_checkpoint_due (fixture->store));

  /* The rule is about time itself: wait for it, and no longer than needed. */
  while (!lk_store_checkpoint_due (fixture->store))
    {
      g_assert_cmpint (g_get_monotonic_time () - written_at, <, 3 * G_USEC_PER_SEC);
      g_usleep (20 * 1000);
    }
  g_assert_cmpint (g_get_monotonic_time () - written_at, >=, G_USEC_PER_SEC / 2);
  lk_store_checkpoint (fixture->store);
  g_assert_false (lk_store_checkpoint_due (fixture->store));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/store/checkpoint/nothing-written", Fixture, NULL,
              fixture_set_up, test_nothing_written, fixture_tear_down);
  g_test_add ("/store/checkpoint/many-frames", Fixture, NULL,
              fixture_set_up, test_many_frames, fixture_tear_down);
  g_test_add ("/store/checkpoint/quiet-server-once-a-second", Fixture, NULL,
              fixture_set_up, test_quiet_server_once_a_second, fixture_tear_down);

  return g_test_run ();
}
