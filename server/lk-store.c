/* lk-store.c: connections, migrations, transactions, backup
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-store"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "lingka-server-resources.h"
#include "lk-log.h"
#include "lk-store-private.h"
#include "lk-store-vfs.h"

#define BUSY_TIMEOUT_MS 5000
/* After a burst, a restarted WAL is cut back to this size. */
#define WAL_SIZE_LIMIT_BYTES (192 * 1024 * 1024)
#define MIGRATIONS_PATH "/cn/lingka/server/migrations"
/* Inside a batch, a job's transaction is a savepoint of the batch's transaction. */
#define MAX_SAVEPOINTS 32
/* Pages of 2 KiB rather than SQLite's 4 KiB, for new databases. Every commit writes each page it
 * touched to the WAL in full, and the claim path's commits touch mostly index leaves at random
 * places (a kiosk's replies are keyed by the ids it makes): half the size halves what each one
 * costs the WAL, its checkpoints and their syncs. Measured with 50 kiosks in a closed loop
 * (docs/bench-server.md, "Ninth session"): the writers' wait at a WAL restart went from 8–11 ms
 * to 5–7 ms, the slowest claim from 55–63 ms to about 20, and verification did not move. 1 KiB
 * went further for claims but cost verification 5% (deeper trees to search). */
#define PAGE_SIZE 2048
#define BACKUP_PAGES_PER_STEP 256

typedef struct
{
  sqlite3    *db;
  GHashTable *statements;   /* SQL text → sqlite3_stmt, finalized with the connection */
  LkStore    *store;        /* not owned */
  gboolean    holds_writer; /* this thread is inside lk_store_begin_immediate … commit/rollback */
  gboolean    in_batch;     /* the batch writer's connection, inside a batch's transaction */
  guint       savepoints;   /* open job transactions inside the batch: savepoints, or reads */
  guint32     read_levels;  /* bit N set: level N is a read (lk_store_begin), no savepoint */
  guint32     alias_levels; /* bit N set: level N began with nothing written since level N - 1
                             * began, so it shares that level's savepoint */
  gint64      level_changes[MAX_SAVEPOINTS]; /* sqlite3_total_changes64() when each level began */
} LkConnection;

/* One job for the batch writer. */
typedef struct
{
  LkStoreJobFunc  func;
  GTask          *task;
  GError         *error;    /* the job's outcome, once its batch has ended */
} LkStoreJob;

struct _LkStore
{
  GObject     parent_instance;

  char       *path;
  char       *synchronous;
  gboolean    read_only;
  int         schema_version;

  GMutex      lock;
  GHashTable *connections;  /* GThread* → LkConnection* */

  /* SQLite has one writer. Writers of this process queue here instead of meeting in SQLite's
   * busy handler, which sleeps in steps of milliseconds and so turns a few microseconds of
   * contention between listener threads into whole milliseconds for every request. */
  GMutex      writer_mutex;
  GCond       writer_cond;
  gboolean    writer_held;
  guint       writer_waiters;   /* GLib's GCond makes a system call on every signal: only
                                 * signal when someone waits */

  /* The batch writer (group commit) of lk_store_run_async(). One connection runs every batch,
   * so that its pages stay cached; one thread at a time uses it (batch_running). A job that
   * finds no batch running runs at once on its caller's thread; jobs that arrive meanwhile
   * queue, and the writer thread runs them together in the next batch. */
  GMutex        batch_mutex;
  GCond         batch_cond;
  guint         batch_waiters;    /* threads in g_cond_wait (batch_cond) */
  guint64       wakes_sent;       /* broadcasts of batch_cond (tests) */
  GQueue        jobs;             /* LkStoreJob */
  gboolean      batch_running;
  LkConnection *batch_connection;
  GThread      *writer_thread;
  gboolean      writer_stopping;
  guint64       batches;          /* batches run, and jobs in them: logged at stop */
  guint64       batched_jobs;
  guint64       inline_batches;   /* of which run at once on the caller's thread */
};

/* The batch connection, on the thread that runs a batch. */
static GPrivate current_batch = G_PRIVATE_INIT (NULL);

G_DEFINE_FINAL_TYPE (LkStore, lk_store, G_TYPE_OBJECT)

G_DEFINE_QUARK (lk-store-error-quark, lk_store_error)

static void
statement_free (gpointer data)
{
  sqlite3_finalize (data);
}

static void
lk_connection_free (LkConnection *conn)
{
  g_clear_pointer (&conn->statements, g_hash_table_unref);
  if (conn->db != NULL)
    sqlite3_close_v2 (conn->db);
  g_free (conn);
}

static gboolean
exec_sql (sqlite3     *db,
          const char  *sql,
          GError     **error)
{
  char *message = NULL;
  int rc;

  rc = sqlite3_exec (db, sql, NULL, NULL, &message);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, LK_STORE_ERROR,
                   rc == SQLITE_BUSY ? LK_STORE_ERROR_BUSY : LK_STORE_ERROR_FAILED,
                   "%s", message != NULL ? message : sqlite3_errstr (rc));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

static LkConnection *
open_connection (LkStore  *self,
                 GError  **error)
{
  LkConnection *conn;
  g_autofree char *pragmas = NULL;
  int flags;
  int rc;

  conn = g_new0 (LkConnection, 1);
  conn->store = self;
  conn->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            statement_free);
  flags = SQLITE_OPEN_NOMUTEX
          | (self->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  /* The store's VFS writes each commit's WAL frames in one system call (lk-store-vfs.c). */
  rc = sqlite3_open_v2 (self->path, &conn->db, flags, lk_store_vfs_name ());
  if (rc != SQLITE_OK)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED,
                   "Cannot open %s: %s", self->path,
                   conn->db != NULL ? sqlite3_errmsg (conn->db) : sqlite3_errstr (rc));
      lk_connection_free (conn);
      return NULL;
    }
  sqlite3_busy_timeout (conn->db, BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes (conn->db, 0);

  /* Checkpoints run on the maintenance timer, off the request path (MEASURED.md, 7). */
  pragmas = g_strdup_printf ("PRAGMA foreign_keys = ON;"
                             "PRAGMA synchronous = %s;"
                             "PRAGMA wal_autocheckpoint = %d;"
                             "PRAGMA journal_size_limit = %d;",
                             self->synchronous,
                             self->read_only ? 1000 : 0,
                             WAL_SIZE_LIMIT_BYTES);
  if (!exec_sql (conn->db, pragmas, error))
    {
      lk_connection_free (conn);
      return NULL;
    }
  return conn;
}

static LkConnection *
get_connection (LkStore  *self,
                GError  **error)
{
  GThread *thread = g_thread_self ();
  LkConnection *conn = g_private_get (&current_batch);

  if (conn != NULL && conn->store == self)
    return conn;

  g_mutex_lock (&self->lock);
  conn = g_hash_table_lookup (self->connections, thread);
  g_mutex_unlock (&self->lock);
  if (conn != NULL)
    return conn;

  conn = open_connection (self, error);
  if (conn == NULL)
    return NULL;

  g_mutex_lock (&self->lock);
  g_hash_table_insert (self->connections, thread, conn);
  g_mutex_unlock (&self->lock);
  return conn;
}

static int
migration_number (const char *name)
{
  return (int) g_ascii_strtoll (name, NULL, 10);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return migration_number (*(const char **) a) - migration_number (*(const char **) b);
}

static gboolean
run_migrations (LkStore  *self,
                GError  **error)
{
  g_auto(GStrv) children = NULL;
  g_autoptr(GPtrArray) names = NULL;
  sqlite3 *db;
  int version = 0;

  db = lk_store_db (self, error);
  if (db == NULL)
    return FALSE;
  /* Only a new, empty database takes it (SQLite ignores it once the file has a page size), and
   * it must come before WAL mode, which fixes the size. */
  if (!exec_sql (db, "PRAGMA page_size = " G_STRINGIFY (PAGE_SIZE) ";", error)
      || !exec_sql (db, "PRAGMA journal_mode = WAL;", error))
    return FALSE;

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self, "PRAGMA user_version", error);
    if (stmt == NULL)
      return FALSE;
    if (sqlite3_step (stmt) == SQLITE_ROW)
      version = sqlite3_column_int (stmt, 0);
  }

  children = g_resource_enumerate_children (lk_server_get_resource (), MIGRATIONS_PATH, 0, error);
  if (children == NULL)
    return FALSE;
  names = g_ptr_array_new ();
  for (guint i = 0; children[i] != NULL; i++)
    if (g_str_has_suffix (children[i], ".sql") && migration_number (children[i]) > 0)
      g_ptr_array_add (names, children[i]);
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      int number = migration_number (name);
      g_autofree char *path = NULL;
      g_autofree char *set_version = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *sql = NULL;
      gsize len;

      if (number <= version)
        continue;
      path = g_build_path ("/", MIGRATIONS_PATH, name, NULL);
      bytes = g_resource_lookup_data (lk_server_get_resource (), path, 0, error);
      if (bytes == NULL)
        return FALSE;
      sql = g_strndup (g_bytes_get_data (bytes, &len), g_bytes_get_size (bytes));

      if (!lk_store_begin_immediate (self, error))
        return FALSE;
      set_version = g_strdup_printf ("PRAGMA user_version = %d;", number);
      if (!exec_sql (db, sql, error) || !exec_sql (db, set_version, error)
          || !lk_store_commit (self, error))
        {
          lk_store_rollback (self);
          g_prefix_error (error, "Migration %s: ", name);
          return FALSE;
        }
      version = number;
      lk_log_event (G_LOG_LEVEL_INFO, "Applied a migration", "LK_MIGRATION", name, NULL);
    }
  self->schema_version = version;
  return TRUE;
}

/* Migration 5 edits table definitions through PRAGMA writable_schema, which a build of SQLite
 * with defensive mode on by default refuses: it is off while the migrations run, and put back
 * as it was after. */
static gboolean
run_migrations_with_schema_edits (LkStore  *self,
                                  GError  **error)
{
  sqlite3 *db = lk_store_db (self, error);
  int defensive = 0;
  gboolean ok;

  if (db == NULL)
    return FALSE;
  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, -1, &defensive);
  if (defensive)
    sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL);
  ok = run_migrations (self, error);
  if (defensive)
    sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  return ok;
}

static void
lk_store_finalize (GObject *object)
{
  LkStore *self = (LkStore *) object;

  lk_store_stop_writer (self);
  g_clear_pointer (&self->batch_connection, lk_connection_free);
  g_mutex_clear (&self->batch_mutex);
  g_cond_clear (&self->batch_cond);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->writer_mutex);
  g_cond_clear (&self->writer_cond);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->synchronous, g_free);

  G_OBJECT_CLASS (lk_store_parent_class)->finalize (object);
}

static void
lk_store_class_init (LkStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lk_store_finalize;
}

static void
lk_store_init (LkStore *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->writer_mutex);
  g_cond_init (&self->writer_cond);
  self->connections = g_hash_table_new_full (NULL, NULL, NULL,
                                             (GDestroyNotify) lk_connection_free);
  g_mutex_init (&self->batch_mutex);
  g_cond_init (&self->batch_cond);
  g_queue_init (&self->jobs);
}

LkStore *
lk_store_new (const char  *path,
              const char  *synchronous,
              GError     **error)
{
  g_autoptr(LkStore) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (synchronous == NULL)
    synchronous = "NORMAL";
  if (g_ascii_strcasecmp (synchronous, "FULL") != 0 && g_ascii_strcasecmp (synchronous, "NORMAL") != 0)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED,
                   "synchronous must be FULL or NORMAL, not “%s”", synchronous);
      return NULL;
    }

  self = g_object_new (LK_TYPE_STORE, NULL);
  self->path = g_strdup (path);
  self->synchronous = g_ascii_strup (synchronous, -1);
  if (!run_migrations_with_schema_edits (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

LkStore *
lk_store_new_read_only (const char  *path,
                        GError     **error)
{
  g_autoptr(LkStore) self = NULL;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, "No database at %s", path);
      return NULL;
    }
  self = g_object_new (LK_TYPE_STORE, NULL);
  self->path = g_strdup (path);
  self->synchronous = g_strdup ("NORMAL");
  self->read_only = TRUE;
  if (lk_store_db (self, error) == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

const char *
lk_store_get_path (LkStore *self)
{
  g_return_val_if_fail (LK_IS_STORE (self), NULL);
  return self->path;
}

int
lk_store_get_schema_version (LkStore *self)
{
  g_return_val_if_fail (LK_IS_STORE (self), 0);
  return self->schema_version;
}

/* --- private API --- */

sqlite3 *
lk_store_db (LkStore  *self,
             GError  **error)
{
  LkConnection *conn = get_connection (self, error);

  return conn != NULL ? conn->db : NULL;
}

LkStmt *
lk_store_prepare (LkStore     *self,
                  const char  *sql,
                  GError     **error)
{
  LkConnection *conn;
  sqlite3_stmt *stmt;
  int rc;

  conn = get_connection (self, error);
  if (conn == NULL)
    return NULL;

  stmt = g_hash_table_lookup (conn->statements, sql);
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  rc = sqlite3_prepare_v3 (conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED,
                   "Cannot prepare statement: %s", sqlite3_errmsg (conn->db));
      return NULL;
    }
  g_hash_table_insert (conn->statements, g_strdup (sql), stmt);
  return stmt;
}

gboolean
lk_store_set_error (LkStore     *self,
                    GError     **error,
                    int          rc,
                    const char  *what)
{
  sqlite3 *db = lk_store_db (self, NULL);
  int code;

  switch (rc & 0xff)
    {
    case SQLITE_CONSTRAINT:
      code = LK_STORE_ERROR_CONFLICT;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = LK_STORE_ERROR_BUSY;
      break;
    default:
      code = LK_STORE_ERROR_FAILED;
      break;
    }
  g_set_error (error, LK_STORE_ERROR, code, "%s: %s", what,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  return FALSE;
}

gboolean
lk_store_step_done (LkStore  *self,
                    LkStmt   *stmt,
                    GError  **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_DONE || rc == SQLITE_ROW)
    return TRUE;
  return lk_store_set_error (self, error, rc, "Statement failed");
}

/* Waits for the writer's turn as long as SQLite's busy handler would have, then gives up with
 * LK_STORE_ERROR_BUSY: a bug that leaves a transaction open fails requests, it never hangs the
 * server. */
static gboolean
acquire_writer (LkStore  *self,
                GError  **error)
{
  gint64 deadline = g_get_monotonic_time () + BUSY_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  gboolean acquired = TRUE;

  g_mutex_lock (&self->writer_mutex);
  while (self->writer_held && acquired)
    {
      self->writer_waiters++;
      acquired = g_cond_wait_until (&self->writer_cond, &self->writer_mutex, deadline)
                 || !self->writer_held;
      self->writer_waiters--;
    }
  if (acquired)
    self->writer_held = TRUE;
  g_mutex_unlock (&self->writer_mutex);

  if (!acquired)
    g_set_error_literal (error, LK_STORE_ERROR, LK_STORE_ERROR_BUSY,
                         "Timed out waiting for the database writer");
  return acquired;
}

static void
release_writer_turn (LkStore *self)
{
  g_mutex_lock (&self->writer_mutex);
  self->writer_held = FALSE;
  if (self->writer_waiters > 0)
    g_cond_signal (&self->writer_cond);
  g_mutex_unlock (&self->writer_mutex);
}

static void
release_writer (LkStore      *self,
                LkConnection *conn)
{
  if (!conn->holds_writer)
    return;
  conn->holds_writer = FALSE;
  release_writer_turn (self);
}

/* A read inside a batch needs no savepoint: the batch's transaction is already one snapshot.
 * Nor does a write level that begins where the level around it began, with nothing written in
 * between: the job's own savepoint, then at once the store function's begin. Rolling it back to
 * that outer savepoint is the same rollback, and releasing it is nothing; that saves a
 * SAVEPOINT and a RELEASE on every job of the claim and verification paths. */
static gboolean
savepoint_begin (LkStore       *self,
                 LkConnection  *conn,
                 gboolean       read,
                 GError       **error)
{
  guint32 level;
  gint64 changes;

  G_STATIC_ASSERT (MAX_SAVEPOINTS <= 32);  /* one bit a level */

  if (conn->savepoints >= MAX_SAVEPOINTS)
    {
      g_set_error_literal (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED, "Transactions nested too deep");
      return FALSE;
    }
  level = 1u << conn->savepoints;
  changes = sqlite3_total_changes64 (conn->db);
  conn->read_levels &= ~level;
  conn->alias_levels &= ~level;
  if (read)
    conn->read_levels |= level;
  else if (conn->savepoints > 0
           && !(conn->read_levels & (level >> 1))
           && conn->level_changes[conn->savepoints - 1] == changes)
    conn->alias_levels |= level;
  else
    {
      g_autoptr(LkStmt) stmt = lk_store_prepare (self, "SAVEPOINT lk_job", error);

      if (stmt == NULL || !lk_store_step_done (self, stmt, error))
        return FALSE;
    }
  conn->level_changes[conn->savepoints] = changes;
  conn->savepoints++;
  return TRUE;
}

static gboolean
savepoint_end (LkStore       *self,
               LkConnection  *conn,
               gboolean       keep,
               GError       **error)
{
  gboolean ok = TRUE;

  /* SQLite may have rolled the whole transaction back by itself (SQLITE_FULL, an I/O error):
   * then there is no savepoint left, and the batch fails as a whole. */
  if (sqlite3_get_autocommit (conn->db))
    {
      conn->savepoints = 0;
      g_set_error_literal (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED,
                           "The database rolled the transaction back");
      return FALSE;
    }
  conn->savepoints--;
  if (conn->read_levels & (1u << conn->savepoints))
    return TRUE;
  if (conn->alias_levels & (1u << conn->savepoints))
    {
      /* Back to where the outer level began, which stays open: this level's own start. */
      if (!keep)
        exec_sql (conn->db, "ROLLBACK TO lk_job;", NULL);
      return TRUE;
    }
  if (keep)
    {
      g_autoptr(LkStmt) stmt = lk_store_prepare (self, "RELEASE lk_job", error);

      ok = stmt != NULL && lk_store_step_done (self, stmt, error);
      if (ok)
        return TRUE;
    }
  exec_sql (conn->db, "ROLLBACK TO lk_job; RELEASE lk_job;", NULL);
  return ok;
}

gboolean
lk_store_begin_immediate (LkStore  *self,
                          GError  **error)
{
  LkConnection *conn = get_connection (self, error);
  g_autoptr(LkStmt) stmt = NULL;

  if (conn == NULL)
    return FALSE;
  if (conn->in_batch)
    return savepoint_begin (self, conn, FALSE, error);
  if (conn->holds_writer)
    {
      g_set_error_literal (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED,
                           "A write transaction is already open on this thread");
      return FALSE;
    }
  if (!acquire_writer (self, error))
    return FALSE;
  conn->holds_writer = TRUE;

  stmt = lk_store_prepare (self, "BEGIN IMMEDIATE", error);
  if (stmt == NULL || !lk_store_step_done (self, stmt, error))
    {
      release_writer (self, conn);
      return FALSE;
    }
  return TRUE;
}

gboolean
lk_store_begin (LkStore  *self,
                GError  **error)
{
  LkConnection *conn = get_connection (self, error);
  g_autoptr(LkStmt) stmt = NULL;

  if (conn == NULL)
    return FALSE;
  if (conn->in_batch)
    return savepoint_begin (self, conn, TRUE, error);
  stmt = lk_store_prepare (self, "BEGIN", error);
  return stmt != NULL && lk_store_step_done (self, stmt, error);
}

/* Ends the transaction either way: a COMMIT that fails is rolled back here, so that the writer
 * lock is never left held by a caller that does not roll back after a failed commit. */
gboolean
lk_store_commit (LkStore  *self,
                 GError  **error)
{
  LkConnection *conn = get_connection (self, error);
  g_autoptr(LkStmt) stmt = NULL;
  gboolean ok;

  if (conn == NULL)
    return FALSE;
  if (conn->in_batch)
    return conn->savepoints == 0 || savepoint_end (self, conn, TRUE, error);
  stmt = lk_store_prepare (self, "COMMIT", error);
  ok = stmt != NULL && lk_store_step_done (self, stmt, error);
  g_clear_pointer (&stmt, lk_stmt_reset);
  if (!ok && !sqlite3_get_autocommit (conn->db))
    exec_sql (conn->db, "ROLLBACK", NULL);
  release_writer (self, conn);
  return ok;
}

/* Also called on error paths where the begin itself failed: then there is nothing to roll back
 * (and inside a batch, the batch's own transaction is never touched). */
void
lk_store_rollback (LkStore *self)
{
  LkConnection *conn = get_connection (self, NULL);

  if (conn == NULL)
    return;
  if (conn->in_batch)
    {
      if (conn->savepoints > 0)
        savepoint_end (self, conn, FALSE, NULL);
      return;
    }
  if (!sqlite3_get_autocommit (conn->db))
    exec_sql (conn->db, "ROLLBACK", NULL);
  release_writer (self, conn);
}

void
lk_stmt_bind_text (LkStmt     *stmt,
                   int         index,
                   const char *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

char *
lk_stmt_dup_text (LkStmt *stmt,
                  int     column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

const char *
lk_stmt_text (LkStmt *stmt,
              int     column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? (const char *) text : "";
}

gboolean
lk_store_step_one (LkStore     *self,
                   LkStmt      *stmt,
                   const char  *not_found,
                   const char  *what,
                   GError     **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc == SQLITE_DONE)
    g_set_error_literal (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND, not_found);
  else
    lk_store_set_error (self, error, rc, what);
  return FALSE;
}

gboolean
lk_store_add_rows (LkStore      *self,
                   LkStmt       *stmt,
                   JsonBuilder  *builder,
                   const char   *what,
                   GError      **error)
{
  int n_columns = sqlite3_column_count (stmt);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      json_builder_begin_object (builder);
      for (int i = 0; i < n_columns; i++)
        {
          json_builder_set_member_name (builder, sqlite3_column_name (stmt, i));
          switch (sqlite3_column_type (stmt, i))
            {
            case SQLITE_INTEGER:
              json_builder_add_int_value (builder, sqlite3_column_int64 (stmt, i));
              break;
            case SQLITE_FLOAT:
              json_builder_add_double_value (builder, sqlite3_column_double (stmt, i));
              break;
            case SQLITE_NULL:
              json_builder_add_null_value (builder);
              break;
            default:
              json_builder_add_string_value (builder, lk_stmt_text (stmt, i));
              break;
            }
        }
      json_builder_end_object (builder);
    }
  if (rc != SQLITE_DONE)
    return lk_store_set_error (self, error, rc, what);
  return TRUE;
}

gboolean
lk_store_audit_in_tx (LkStore     *self,
                      gint64       user_id,
                      const char  *action,
                      gint64       school_id,
                      const char  *target,
                      const char  *detail,
                      GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "INSERT INTO audit_log (at, user_id, action, school_id, target, detail) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, g_get_real_time () / G_USEC_PER_SEC);
  if (user_id > 0)
    sqlite3_bind_int64 (stmt, 2, user_id);
  lk_stmt_bind_text (stmt, 3, action);
  if (school_id > 0)
    sqlite3_bind_int64 (stmt, 4, school_id);
  lk_stmt_bind_text (stmt, 5, target);
  lk_stmt_bind_text (stmt, 6, detail);
  return lk_store_step_done (self, stmt, error);
}

void
lk_store_audit (LkStore     *self,
                gint64       user_id,
                const char  *action,
                gint64       school_id,
                const char  *target,
                const char  *detail)
{
  g_autoptr(GError) error = NULL;

  if (!lk_store_begin_immediate (self, &error)
      || !lk_store_audit_in_tx (self, user_id, action, school_id, target, detail, &error)
      || !lk_store_commit (self, &error))
    {
      lk_store_rollback (self);
      g_warning ("Cannot write the audit log (%s): %s", action, error->message);
    }
}

/* --- maintenance --- */

gboolean
lk_store_backup (LkStore     *self,
                 const char  *dest_path,
                 GError     **error)
{
  g_autofree char *part = NULL;
  sqlite3 *src;
  sqlite3 *dest = NULL;
  sqlite3_backup *backup;
  int rc;

  g_return_val_if_fail (LK_IS_STORE (self), FALSE);

  src = lk_store_db (self, error);
  if (src == NULL)
    return FALSE;

  part = g_strconcat (dest_path, ".part", NULL);
  g_unlink (part);
  rc = sqlite3_open_v2 (part, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED, "Cannot create %s: %s", part,
                   dest != NULL ? sqlite3_errmsg (dest) : sqlite3_errstr (rc));
      sqlite3_close (dest);
      return FALSE;
    }

  /* It holds minors' records: readable by the owner only. */
  g_chmod (part, 0600);

  /* One read transaction on the source for the whole copy: every step sees the same snapshot,
   * so writers (WAL) go on and the copy never restarts. */
  if (!exec_sql (src, "BEGIN; SELECT count(*) FROM sqlite_master;", error))
    {
      sqlite3_close (dest);
      g_unlink (part);
      return FALSE;
    }

  backup = sqlite3_backup_init (dest, "main", src, "main");
  if (backup == NULL)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED, "Cannot start the backup: %s",
                   sqlite3_errmsg (dest));
      exec_sql (src, "COMMIT", NULL);
      sqlite3_close (dest);
      g_unlink (part);
      return FALSE;
    }
  do
    {
      rc = sqlite3_backup_step (backup, BACKUP_PAGES_PER_STEP);
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        sqlite3_sleep (5);
    }
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish (backup);
  exec_sql (src, "COMMIT", NULL);

  if (rc != SQLITE_DONE)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED, "Backup failed: %s",
                   sqlite3_errstr (rc));
      sqlite3_close (dest);
      g_unlink (part);
      return FALSE;
    }
  /* A self-contained file: no -wal beside it. */
  exec_sql (dest, "PRAGMA journal_mode = DELETE;", NULL);
  sqlite3_close (dest);

  if (g_rename (part, dest_path) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot write %s: %s",
                   dest_path, g_strerror (saved));
      g_unlink (part);
      return FALSE;
    }
  return TRUE;
}

/* Under a steady stream of writes a PASSIVE checkpoint never lets the WAL start over: frames
 * keep being appended while it copies, so the log is never fully copied when the next write
 * begins, SQLite never restarts it from the beginning, and it grows without bound (about 80 MB
 * a second at ten thousand verifications a second), every append extending the file. So
 * each checkpoint copies what is there without blocking anyone; once the WAL is longer than
 * CHECKPOINT_RESTART_FRAMES, it copies the (small) rest while holding the store's writer turn,
 * so that nothing is appended meanwhile, and the next write starts the WAL over. That costs
 * the writers a few milliseconds (SQLite's syncs) once every few seconds under full load, and
 * nothing when the server is quiet. */
#define CHECKPOINT_PASSES 3
#define CHECKPOINT_TAIL_FRAMES 256
#define CHECKPOINT_RESTART_FRAMES 32768

static int
checkpoint_passive (sqlite3 *db,
                    int     *log_frames,
                    int     *remaining)
{
  int checkpointed = 0;
  int rc = sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, log_frames, &checkpointed);

  *remaining = *log_frames - checkpointed;
  return rc;
}

/* SQLite syncs the database file only at the end of a checkpoint that caught up with the WAL,
 * which under steady writes is only the locked tail: that one sync then had to write out every
 * page the passive passes had copied since, while the writers waited (17–99 ms measured, and a
 * verification p99 of 70 ms in some runs). So the file is synced here after the passes, through
 * a descriptor of our own (any descriptor of a file syncs its pages), with nobody waiting, and
 * the tail's own sync is left with the tail's few pages (5–7 ms). */
static void
sync_database_file (LkStore *self)
{
  int fd = g_open (self->path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    return;
  if (fdatasync (fd) != 0)
    g_debug ("Cannot sync %s: %s", self->path, g_strerror (errno));
  close (fd);
}

void
lk_store_checkpoint (LkStore *self)
{
  sqlite3 *db = lk_store_db (self, NULL);
  int log_frames = 0, remaining = 0;

  if (db == NULL || self->read_only)
    return;

  for (guint pass = 0; pass < CHECKPOINT_PASSES; pass++)
    if (checkpoint_passive (db, &log_frames, &remaining) != SQLITE_OK
        || remaining <= CHECKPOINT_TAIL_FRAMES)
      break;
  if (log_frames > 0)
    sync_database_file (self);
  /* Not long yet; or the passes did not catch up and the rest would hold the writers too
   * long: next time, unless the WAL has grown far past the mark. */
  if (log_frames < CHECKPOINT_RESTART_FRAMES
      || (remaining > CHECKPOINT_TAIL_FRAMES && log_frames < 4 * CHECKPOINT_RESTART_FRAMES))
    return;

  /* The tail's syncs cover whatever arrived since the last pass and the last sync, and the
   * sync above took a while under load (tens of milliseconds, with the WAL growing all the
   * while). One more pass and sync right before the writers are held leaves the tail only the
   * last few milliseconds' frames (15–43 ms of waiting became 4–11 ms, docs/bench-server.md). */
  if (checkpoint_passive (db, &log_frames, &remaining) == SQLITE_OK)
    sync_database_file (self);
  if (acquire_writer (self, NULL))
    {
      gint64 held_since = g_get_monotonic_time ();
      int rc = checkpoint_passive (db, &log_frames, &remaining);

      release_writer_turn (self);
      g_debug ("Checkpoint: the WAL starts over (%d frames); the writers waited %" G_GINT64_FORMAT " ms",
               log_frames, (g_get_monotonic_time () - held_since) / 1000);
      if (rc != SQLITE_OK || remaining > 0)
        g_debug ("Checkpoint: %d WAL frames left (a reader still uses them)", remaining);
    }
}

char *
lk_store_debug_checksum (LkStore  *self,
                         GError  **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func (g_free);

  {
    g_autoptr(LkStmt) stmt = lk_store_prepare (self,
                                               "SELECT name FROM sqlite_master WHERE type = 'table' "
                                               "AND name NOT LIKE 'sqlite_%' ORDER BY name", error);
    if (stmt == NULL)
      return NULL;
    while (sqlite3_step (stmt) == SQLITE_ROW)
      g_ptr_array_add (tables, lk_stmt_dup_text (stmt, 0));
  }

  for (guint i = 0; i < tables->len; i++)
    {
      const char *table = g_ptr_array_index (tables, i);
      g_autofree char *sql = g_strdup_printf ("SELECT * FROM \"%s\" ORDER BY rowid", table);
      g_autoptr(LkStmt) stmt = lk_store_prepare (self, sql, error);

      if (stmt == NULL)
        return NULL;
      g_checksum_update (sum, (const guchar *) table, -1);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          int n = sqlite3_column_count (stmt);

          for (int c = 0; c < n; c++)
            {
              char type = '0' + sqlite3_column_type (stmt, c);
              const void *blob = sqlite3_column_blob (stmt, c);
              int len = sqlite3_column_bytes (stmt, c);

              g_checksum_update (sum, (const guchar *) &type, 1);
              if (blob != NULL)
                g_checksum_update (sum, blob, len);
              g_checksum_update (sum, (const guchar *) "\x1f", 1);
            }
          g_checksum_update (sum, (const guchar *) "\x1e", 1);
        }
    }
  return g_strdup (g_checksum_get_string (sum));
}

void
lk_store_debug_batch_stats (LkStore *self,
                            guint64 *batches,
                            guint64 *jobs)
{
  g_mutex_lock (&self->batch_mutex);
  *batches = self->batches;
  *jobs = self->batched_jobs;
  g_mutex_unlock (&self->batch_mutex);
}

guint64
lk_store_debug_batch_wakes (LkStore *self)
{
  guint64 wakeups;

  g_mutex_lock (&self->batch_mutex);
  wakeups = self->wakes_sent;
  g_mutex_unlock (&self->batch_mutex);
  return wakeups;
}

gint64
lk_store_debug_count (LkStore    *self,
                      const char *table,
                      const char *where)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM \"%s\" WHERE %s", table,
                                          where != NULL ? where : "1");
  g_autoptr(LkStmt) stmt = lk_store_prepare (self, sql, NULL);

  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    return -1;
  return sqlite3_column_int64 (stmt, 0);
}

/* --- the batch writer: group commit --- */

#define BATCH_MAX_JOBS 256
#define BATCH_CACHE_KIB 65536

static void
lk_store_job_free (LkStoreJob *job)
{
  if (job == NULL)
    return;
  g_clear_object (&job->task);
  g_clear_error (&job->error);
  g_free (job);
}

/* In the caller's main context: every GTask call happens on the thread that made the task, so
 * the last reference to it (and to its data) is always dropped there. */
static void
return_job_now (LkStoreJob *job)
{
  if (job->error != NULL)
    g_task_return_error (job->task, g_steal_pointer (&job->error));
  else
    g_task_return_boolean (job->task, TRUE);
  lk_store_job_free (job);
}

/* One idle source per main context for all of a batch's jobs from it, in batch order: one
 * wake-up of that listener thread rather than one per job. */
static gboolean
return_jobs_cb (gpointer data)
{
  GPtrArray *jobs = data;

  for (guint i = 0; i < jobs->len; i++)
    return_job_now (g_steal_pointer (&jobs->pdata[i]));
  g_ptr_array_set_size (jobs, 0);
  return G_SOURCE_REMOVE;
}

static void
return_jobs (GPtrArray *batch)
{
  g_autoptr(GPtrArray) contexts = g_ptr_array_new ();
  g_autoptr(GPtrArray) groups = g_ptr_array_new ();

  for (guint i = 0; i < batch->len; i++)
    {
      LkStoreJob *job = g_ptr_array_index (batch, i);
      GMainContext *context = g_task_get_context (job->task);
      guint index;

      if (!g_ptr_array_find (contexts, context, &index))
        {
          index = contexts->len;
          g_ptr_array_add (contexts, context);
          g_ptr_array_add (groups, g_ptr_array_new_with_free_func ((GDestroyNotify) lk_store_job_free));
        }
      g_ptr_array_add (g_ptr_array_index (groups, index), job);
    }

  for (guint i = 0; i < contexts->len; i++)
    {
      GMainContext *context = g_ptr_array_index (contexts, i);
      GPtrArray *jobs = g_ptr_array_index (groups, i);
      g_autoptr(GSource) source = NULL;

      if (g_main_context_is_owner (context))
        {
          return_jobs_cb (jobs);
          g_ptr_array_unref (jobs);
          continue;
        }
      source = g_idle_source_new ();
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, return_jobs_cb, jobs, (GDestroyNotify) g_ptr_array_unref);
      g_source_set_static_name (source, "[lingka] store jobs done");
      g_source_attach (source, context);
    }
}

/* Runs @batch in one transaction, each job in a savepoint of it, and returns each job only once
 * the transaction has committed: a caller never acts on a change that could still be lost. A
 * job that fails is rolled back to its savepoint alone; if the commit itself fails, every job
 * of the batch fails with it, and nothing of the batch is written. Takes the jobs. */
static void
run_batch (LkStore   *self,
           GPtrArray *batch)
{
  g_autoptr(GError) batch_error = NULL;
  LkConnection *conn = self->batch_connection;

  if (conn == NULL)
    {
      conn = self->batch_connection = open_connection (self, &batch_error);
      /* Every hot write goes through here: a page cache big enough for the working set saves
       * re-reading the pages of the indexes on every batch. */
      if (conn != NULL)
        exec_sql (conn->db, "PRAGMA cache_size = -" G_STRINGIFY (BATCH_CACHE_KIB) ";", NULL);
    }
  g_private_set (&current_batch, conn);
  if (conn != NULL && lk_store_begin_immediate (self, &batch_error))
    {
      conn->in_batch = TRUE;
      for (guint i = 0; i < batch->len && batch_error == NULL; i++)
        {
          LkStoreJob *job = g_ptr_array_index (batch, i);
          gboolean ok;

          /* Each job is all or nothing: a savepoint of its own around whatever it does. */
          if (!savepoint_begin (self, conn, FALSE, &batch_error))
            break;
          ok = job->func (self, g_task_get_task_data (job->task), &job->error);
          if (ok && conn->savepoints > 1)
            {
              ok = FALSE;
              g_set_error_literal (&job->error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED,
                                   "The job left a transaction open");
            }
          if (!ok && job->error == NULL)
            g_set_error_literal (&job->error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED, "The job failed");
          while (conn->savepoints > 1 && batch_error == NULL)
            savepoint_end (self, conn, FALSE, &batch_error);
          if (batch_error == NULL)
            savepoint_end (self, conn, ok, &batch_error);
        }
      conn->in_batch = FALSE;
      if (batch_error != NULL)
        lk_store_rollback (self);
      else
        lk_store_commit (self, &batch_error);
    }
  g_private_set (&current_batch, NULL);

  if (batch_error != NULL)
    {
      g_warning ("A batch of %u database jobs failed: %s", batch->len, batch_error->message);
      for (guint i = 0; i < batch->len; i++)
        {
          LkStoreJob *job = g_ptr_array_index (batch, i);

          g_clear_error (&job->error);
          job->error = g_error_copy (batch_error);
        }
    }
  return_jobs (batch);
  g_ptr_array_set_size (batch, 0);
}

/* Both called with batch_mutex held. */
static void
batch_wait (LkStore *self)
{
  self->batch_waiters++;
  g_cond_wait (&self->batch_cond, &self->batch_mutex);
  self->batch_waiters--;
}

/* Wakes the waiters only when one of them can go on: the writer when jobs are queued, anyone
 * else only ever waits while stopping. An idle writer woken for nothing cost a futex call and
 * two context switches for every batch run at once. */
static void
batch_wake (LkStore *self)
{
  if (self->batch_waiters > 0 && (!g_queue_is_empty (&self->jobs) || self->writer_stopping))
    {
      self->wakes_sent++;
      g_cond_broadcast (&self->batch_cond);
    }
}

/* Runs @batch as the one batch running, on this thread. Called, and returns, with batch_mutex
 * held. */
static void
run_batch_locked (LkStore   *self,
                  GPtrArray *batch,
                  gboolean   at_once)
{
  self->batch_running = TRUE;
  self->batches++;
  self->batched_jobs += batch->len;
  if (at_once)
    self->inline_batches++;
  g_mutex_unlock (&self->batch_mutex);

  run_batch (self, batch);

  g_mutex_lock (&self->batch_mutex);
  self->batch_running = FALSE;
  batch_wake (self);
}

/* Takes up to BATCH_MAX_JOBS queued jobs. Called with batch_mutex held. */
static GPtrArray *
take_queued_locked (LkStore *self)
{
  GPtrArray *batch = g_ptr_array_new ();

  while (batch->len < BATCH_MAX_JOBS && !g_queue_is_empty (&self->jobs))
    g_ptr_array_add (batch, g_queue_pop_head (&self->jobs));
  return batch;
}

static gpointer
writer_thread (gpointer data)
{
  LkStore *self = data;

  g_mutex_lock (&self->batch_mutex);
  for (;;)
    {
      g_autoptr(GPtrArray) batch = NULL;

      while (self->batch_running || (g_queue_is_empty (&self->jobs) && !self->writer_stopping))
        batch_wait (self);
      if (g_queue_is_empty (&self->jobs))
        break;  /* stopping, and nothing left */

      /* Whatever queued up while the last batch ran goes in this one. */
      batch = take_queued_locked (self);
      run_batch_locked (self, batch, FALSE);
    }
  g_mutex_unlock (&self->batch_mutex);
  return NULL;
}

void
lk_store_run_async (LkStore             *self,
                    LkStoreJobFunc       func,
                    gpointer             data,
                    GDestroyNotify       data_free,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GPtrArray) batch = NULL;
  LkStoreJob *job;

  g_return_if_fail (LK_IS_STORE (self));
  g_return_if_fail (func != NULL);

  job = g_new0 (LkStoreJob, 1);
  job->func = func;
  /* No source object: a task must not keep the store alive (see lk_store_stop_writer). */
  job->task = g_task_new (NULL, NULL, callback, user_data);
  g_task_set_source_tag (job->task, lk_store_run_async);
  g_task_set_task_data (job->task, data, data_free);

  g_mutex_lock (&self->batch_mutex);
  if (self->writer_stopping)
    {
      /* Stopping: wait for the batch connection, and run here. */
      while (self->batch_running)
        batch_wait (self);
    }
  else if (self->batch_running || !g_queue_is_empty (&self->jobs))
    {
      /* A batch is running: this job goes in the writer thread's next one. The writer is woken
       * when the running batch ends (run_batch_locked), not now: it could not start anyway,
       * and under load waking it for every job was a context switch each for nothing. */
      g_queue_push_tail (&self->jobs, job);
      if (self->writer_thread == NULL)
        self->writer_thread = g_thread_new ("lk-store-writer", writer_thread, self);
      if (!self->batch_running)
        batch_wake (self);
      g_mutex_unlock (&self->batch_mutex);
      return;
    }

  /* No batch running: this job is one, at once, on this thread (no hand-over between threads
   * when the store is not busy). */
  batch = g_ptr_array_new ();
  g_ptr_array_add (batch, job);
  run_batch_locked (self, batch, TRUE);
  g_mutex_unlock (&self->batch_mutex);
}

gboolean
lk_store_run_finish (GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lk_store_run_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gpointer
lk_store_run_get_data (GAsyncResult *result)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);

  return g_task_get_task_data (G_TASK (result));
}

void
lk_store_stop_writer (LkStore *self)
{
  GThread *thread;

  g_return_if_fail (LK_IS_STORE (self));

  g_mutex_lock (&self->batch_mutex);
  self->writer_stopping = TRUE;
  thread = g_steal_pointer (&self->writer_thread);
  batch_wake (self);
  g_mutex_unlock (&self->batch_mutex);

  /* The writer runs what is queued, then ends. Jobs submitted meanwhile run in their callers'
   * threads; after the stop, the next queued job starts a new writer. */
  if (thread != NULL)
    g_thread_join (thread);

  g_mutex_lock (&self->batch_mutex);
  while (self->batch_running)
    batch_wait (self);
  self->writer_stopping = FALSE;
  if (self->batches > 0)
    g_info ("Batch writer: %" G_GUINT64_FORMAT " jobs in %" G_GUINT64_FORMAT " batches "
            "(%.1f a batch; %" G_GUINT64_FORMAT " run at once on the caller's thread)",
            self->batched_jobs, self->batches, (double) self->batched_jobs / self->batches,
            self->inline_batches);
  self->batches = self->batched_jobs = self->inline_batches = 0;
  g_mutex_unlock (&self->batch_mutex);
}
