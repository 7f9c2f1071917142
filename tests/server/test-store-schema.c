/* test-store-schema.c: the store's schema, as its migrations leave it
 *
 * Migration 5 rewrote every CHECK constraint and partial index that listed three values or
 * more with IN (...): SQLite builds a temporary b-tree for such a list on every execution of a
 * statement that checks it. These tests hold it to that (no definition keeps such a list), to
 * the same meaning (each constraint still takes every value it took, and refuses others), to
 * the open-application index still being used, and to the upgrade path: a database left at
 * migration 4, with rows in it, migrates with its rows intact. Migration 6 replaced two
 * indexes of the claim path with partial ones: the store's queries must still use them. A new
 * database gets the store's page size; an old one keeps its own.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "lk-store-private.h"
#include "lk-test-sqlite.h"

#define MIGRATIONS "/cn/lingka/server/migrations/"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->dir = g_dir_make_tmp ("lingka-schema-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, "lingka.db", NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  lk_test_sqlite_remove_files (fixture->path);
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

/* The extended result code of @sql run once with @value bound to ?1. */
static int
exec_with (sqlite3    *db,
           const char *sql,
           const char *value)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, value, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode (db);
}

/* The extended result code of @sql. */
static int
exec_rc (sqlite3    *db,
         const char *sql)
{
  sqlite3_exec (db, sql, NULL, NULL, NULL);
  return sqlite3_extended_errcode (db);
}

static void
new_store (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkStore) store = lk_store_new (path, "NORMAL", &error);

  g_assert_no_error (error);
  g_assert_cmpint (lk_store_get_schema_version (store), >=, 5);
  lk_store_stop_writer (store);
}

static void
assert_no_long_in_lists (sqlite3 *db)
{
  g_autoptr(GRegex) long_list = g_regex_new ("\\bIN\\s*\\(\\s*'[^']*'(\\s*,\\s*'[^']*'){2,}\\s*\\)",
                                             G_REGEX_CASELESS, 0, NULL);
  sqlite3_stmt *stmt = NULL;
  guint n = 0;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      const char *sql = (const char *) sqlite3_column_text (stmt, 1);

      n++;
      if (g_regex_match (long_list, sql, 0, NULL))
        g_error ("%s still lists three values or more with IN: %s", name, sql);
    }
  sqlite3_finalize (stmt);
  g_assert_cmpuint (n, >, 10);
}

/* Each rewritten constraint: every value it took is still taken, and one more is refused. */
typedef struct
{
  const char *table;
  const char *column;
  const char *insert;   /* an INSERT that takes the value as ?1 */
  const char *values[6];
} CheckCase;

static const CheckCase check_cases[] = {
  { "student_history", "reason",
    "INSERT INTO student_history (student_id, version, class_name, name, student_no, reason, changed_at) "
    "VALUES (1, 1, 'c', 'n', '1', ?1, 0)", { "import", "edit", "card_bound" } },
  { "import_batches", "status",
    "INSERT INTO import_batches (created_by, created_at, row_count, checksum, payload, status) "
    "VALUES (1, 0, 0, 'x', '[]', ?1)", { "pending", "committed", "superseded" } },
  { "applications", "status",
    "INSERT INTO applications (id, student_id, token_hash, phone, status, fee_fen, consent_at, "
    "consent_version, day, day_seq, created_at) VALUES (hex(randomblob(8)), abs(random()), 'h', "
    "'13800000000', ?1, 2000, 0, 'v1', '2026-11-26', abs(random()), 0)",
    { "verified", "paid", "claimable", "issued", "cancelled" } },
  { "payments", "channel",
    "INSERT INTO payments (order_no, application_id, channel, amount_fen, created_at) "
    "VALUES (hex(randomblob(8)), 'a', ?1, 2000, 0)", { "wechat", "alipay", "sandbox" } },
  { "payments", "status",
    "INSERT INTO payments (order_no, application_id, channel, amount_fen, status, created_at) "
    "VALUES (hex(randomblob(8)), 'a', 'sandbox', 2000, ?1, 0)", { "pending", "paid", "closed" } },
  { "claim_codes", "status",
    "INSERT INTO claim_codes (application_id, school_id, student_id, lookup, kiosk_digest, status, "
    "created_at) VALUES (hex(randomblob(8)), 1, 1, hex(randomblob(8)), 'd', ?1, 0)",
    { "open", "reserved", "used", "revoked" } },
  { "kiosks", "stock",
    "INSERT INTO kiosks (sn, school_id, secret_hash, created_at, stock) "
    "VALUES (hex(randomblob(8)), 1, 'h', 0, ?1)", { "ok", "low", "empty" } },
  { "claims", "status",
    "INSERT INTO claims (code_id, kiosk_id, status, authorized_at) "
    "VALUES (abs(random()), 1, ?1, 0)", { "reserved", "completed", "failed", "released" } },
};

/* Every row of every table that migration 5 changed. */
static char *
all_rows (sqlite3 *db)
{
  GString *rows = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (check_cases); i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT * FROM %s ORDER BY rowid", check_cases[i].table);
      g_autofree char *text = lk_test_sqlite_text (db, sql);

      g_string_append_printf (rows, "%s:\n%s", check_cases[i].table, text);
    }
  return g_string_free (rows, FALSE);
}

static void
assert_checks_hold (sqlite3 *db)
{
  for (guint i = 0; i < G_N_ELEMENTS (check_cases); i++)
    {
      const CheckCase *c = &check_cases[i];
      for (guint v = 0; c->values[v] != NULL; v++)
        g_assert_cmpint (exec_with (db, c->insert, c->values[v]), ==, SQLITE_OK);
      g_assert_cmpint (exec_with (db, c->insert, "bogus"), ==, SQLITE_CONSTRAINT_CHECK);
      g_test_message ("%s.%s: %u values taken, 'bogus' refused", c->table, c->column,
                      g_strv_length ((char **) c->values));
    }
}

static void
test_new_database (Fixture       *fixture,
                   gconstpointer  data)
{
  sqlite3 *db;
  g_autofree char *plan = NULL;

  new_store (fixture->path);
  db = lk_test_sqlite_open (fixture->path, NULL);
  assert_no_long_in_lists (db);

  lk_test_sqlite_exec (db, "BEGIN");
  assert_checks_hold (db);

  /* One open application a student: the partial unique index still says so, and still lets
   * a closed one stand beside the open one. */
  lk_test_sqlite_exec (db, "INSERT INTO applications (id, student_id, token_hash, phone, status, fee_fen, "
                           "consent_at, consent_version, day, day_seq, created_at) VALUES ('old', 7, 'h', '1', "
                           "'issued', 1, 0, 'v1', '2026-01-01', 1, 0), ('new', 7, 'h', '1', 'paid', 1, 0, 'v1', "
                           "'2026-01-01', 2, 0)");
  g_assert_cmpint (exec_rc (db, "INSERT INTO applications (id, student_id, token_hash, phone, status, fee_fen, "
                               "consent_at, consent_version, day, day_seq, created_at) VALUES ('again', 7, "
                               "'h', '1', 'verified', 1, 0, 'v1', '2026-01-01', 3, 0)"),
                   ==, SQLITE_CONSTRAINT_UNIQUE);
  lk_test_sqlite_exec (db, "ROLLBACK");

  /* The store's open-application lookups (lk-store-applications.c) spell the condition with
   * LK_SQL_APPLICATION_IS_OPEN, as the index does, so SQLite uses the index for them. */
  plan = lk_test_sqlite_text (db, "EXPLAIN QUERY PLAN SELECT 1 FROM applications WHERE student_id = ?1 "
                                  "AND " LK_SQL_APPLICATION_IS_OPEN ("status"));
  g_test_message ("%s", plan);
  g_assert_nonnull (strstr (plan, "applications_open"));
  g_clear_pointer (&plan, g_free);
  plan = lk_test_sqlite_text (db, "EXPLAIN QUERY PLAN SELECT a.id FROM applications a "
                                  "JOIN students st ON st.id = a.student_id WHERE a.student_id = ?2 "
                                  "AND " LK_SQL_APPLICATION_IS_OPEN ("a.status"));
  g_test_message ("%s", plan);
  g_assert_nonnull (strstr (plan, "applications_open"));
  g_clear_pointer (&plan, g_free);

  /* Migration 6: the claim path's lookups use the indexes that hold only live rows. */
  plan = lk_test_sqlite_text (db, "EXPLAIN QUERY PLAN SELECT id AS claim_id, authorized_at FROM claims "
                                  "WHERE kiosk_id = ?1 AND status = 'reserved' ORDER BY id");
  g_test_message ("%s", plan);
  g_assert_nonnull (strstr (plan, "claims_reserved"));
  g_clear_pointer (&plan, g_free);
  plan = lk_test_sqlite_text (db, "EXPLAIN QUERY PLAN SELECT c.id FROM claim_codes c "
                                  "JOIN students s ON s.id = c.student_id "
                                  "WHERE c.school_id = ?1 AND c.status = 'open' ORDER BY c.id");
  g_test_message ("%s", plan);
  g_assert_nonnull (strstr (plan, "claim_codes_school_open"));
  g_clear_pointer (&plan, g_free);

  /* A new database has the store's page size. */
  plan = lk_test_sqlite_text (db, "PRAGMA page_size");
  g_assert_cmpstr (plan, ==, "2048\n");

  sqlite3_close (db);
}

/* A database as migration 4 left it, with a row in each rewritten table, is migrated with the
 * rows as they were. */
static void
test_upgrade_from_4 (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *migrations[] = { "0001-initial.sql", "0002-application-student-no.sql",
                               "0003-verify-index.sql", "0004-claims-indexes.sql" };
  sqlite3 *db = lk_test_sqlite_open (fixture->path, NULL);
  g_autofree char *rows_before = NULL;
  g_autofree char *rows_after = NULL;
  g_autofree char *version = NULL;
  g_autofree char *check = NULL;

  lk_test_sqlite_exec (db, "PRAGMA journal_mode = WAL");
  for (guint i = 0; i < G_N_ELEMENTS (migrations); i++)
    {
      g_autofree char *path = g_strconcat (MIGRATIONS, migrations[i], NULL);
      g_autoptr(GBytes) bytes = g_resources_lookup_data (path, 0, NULL);
      g_autofree char *sql = NULL;

      g_assert_nonnull (bytes);
      sql = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      lk_test_sqlite_exec (db, sql);
    }
  lk_test_sqlite_exec (db, "PRAGMA user_version = 4");
  for (guint i = 0; i < G_N_ELEMENTS (check_cases); i++)
    g_assert_cmpint (exec_with (db, check_cases[i].insert, check_cases[i].values[0]), ==, SQLITE_OK);
  rows_before = all_rows (db);
  g_assert_cmpuint (strlen (rows_before), >, 0);
  sqlite3_close (db);

  new_store (fixture->path);

  db = lk_test_sqlite_open (fixture->path, NULL);
  version = lk_test_sqlite_text (db, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, "6\n");
  rows_after = all_rows (db);
  g_assert_cmpstr (rows_after, ==, rows_before);
  check = lk_test_sqlite_text (db, "PRAGMA integrity_check");
  g_assert_cmpstr (check, ==, "ok\n");
  g_clear_pointer (&check, g_free);
  /* The indexes migration 6 replaced are gone; a database keeps the page size it was made with. */
  check = lk_test_sqlite_text (db, "SELECT group_concat(name) FROM sqlite_schema WHERE name IN "
                                   "('claims_kiosk_status', 'claim_codes_school', 'claims_reserved', "
                                   "'claim_codes_school_open')");
  g_assert_cmpstr (check, ==, "claims_reserved,claim_codes_school_open\n");
  g_clear_pointer (&check, g_free);
  check = lk_test_sqlite_text (db, "PRAGMA page_size");
  g_assert_cmpstr (check, ==, "4096\n");
  assert_no_long_in_lists (db);
  lk_test_sqlite_exec (db, "BEGIN");
  assert_checks_hold (db);
  lk_test_sqlite_exec (db, "ROLLBACK");
  sqlite3_close (db);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/store/schema/new-database", Fixture, NULL, fixture_set_up, test_new_database,
              fixture_tear_down);
  g_test_add ("/store/schema/upgrade-from-4", Fixture, NULL, fixture_set_up, test_upgrade_from_4,
              fixture_tear_down);

  return g_test_run ();
}
