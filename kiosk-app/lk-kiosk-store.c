/* lk-kiosk-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <sqlite3.h>

#include "lk-kiosk-error.h"
#include "lk-kiosk-store.h"

struct _LkKioskStore
{
  GObject  parent_instance;

  GMutex   lock;
  sqlite3 *db;
  char    *path;
};

G_DEFINE_FINAL_TYPE (LkKioskStore, lk_kiosk_store, G_TYPE_OBJECT)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static const char * const journal_state_names[] = {
  "authorized", "dispensing", "card_read", "presented", "completed", "failed", "acknowledged",
};

/* Version 1 of the kiosk's schema. The journal is the record of every card that moved: it is
 * never pruned by the kiosk. */
static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS meta ("
  "  key   TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL);"
  "CREATE TABLE IF NOT EXISTS codes ("
  "  code_id TEXT PRIMARY KEY,"
  "  digest  TEXT NOT NULL,"
  "  name    TEXT NOT NULL,"
  "  class   TEXT NOT NULL);"
  "CREATE INDEX IF NOT EXISTS codes_digest ON codes (digest);"
  "CREATE TABLE IF NOT EXISTS journal ("
  "  claim_id      TEXT PRIMARY KEY,"
  "  claim_id_json TEXT NOT NULL,"
  "  code_id       TEXT,"
  "  state         TEXT NOT NULL,"
  "  card_no       TEXT,"
  "  card_data     TEXT,"
  "  report_id     TEXT UNIQUE,"
  "  report        TEXT,"
  "  created_at    INTEGER NOT NULL,"
  "  updated_at    INTEGER NOT NULL,"
  "  seq           INTEGER NOT NULL);"
  "CREATE INDEX IF NOT EXISTS journal_state ON journal (state, seq);"
  "PRAGMA user_version = 1;";

const char *
lk_journal_state_to_string (LkJournalState state)
{
  g_return_val_if_fail (state <= LK_JOURNAL_ACKNOWLEDGED, NULL);
  return journal_state_names[state];
}

gboolean
lk_journal_state_from_string (const char     *str,
                              LkJournalState *state)
{
  for (guint i = 0; i < G_N_ELEMENTS (journal_state_names); i++)
    if (g_strcmp0 (str, journal_state_names[i]) == 0)
      {
        *state = (LkJournalState) i;
        return TRUE;
      }
  return FALSE;
}

LkKioskCode *
lk_kiosk_code_new (const char *code_id,
                   const char *digest,
                   const char *name,
                   const char *klass)
{
  LkKioskCode *code = g_new0 (LkKioskCode, 1);

  code->code_id = g_strdup (code_id);
  code->digest = g_ascii_strdown (digest, -1);
  code->name = g_strdup (name);
  code->klass = g_strdup (klass);
  return code;
}

void
lk_kiosk_code_free (LkKioskCode *code)
{
  if (code == NULL)
    return;
  g_free (code->code_id);
  g_free (code->digest);
  g_free (code->name);
  g_free (code->klass);
  g_free (code);
}

char *
lk_kiosk_json_id_to_string (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return NULL;
}

static const char *
object_get_string (JsonObject *object,
                   const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

LkKioskCode *
lk_kiosk_code_from_json (JsonObject  *object,
                         GError     **error)
{
  g_autofree char *code_id = lk_kiosk_json_id_to_string (json_object_get_member (object, "code_id"));
  const char *digest = object_get_string (object, "digest");
  JsonNode *student = json_object_get_member (object, "student");
  const char *name = NULL;
  const char *klass = NULL;

  if (student != NULL && JSON_NODE_HOLDS_OBJECT (student))
    {
      name = object_get_string (json_node_get_object (student), "name");
      klass = object_get_string (json_node_get_object (student), "class");
    }
  if (code_id == NULL || digest == NULL || name == NULL || klass == NULL)
    {
      g_set_error_literal (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_PROTOCOL,
                           "a code needs code_id, digest and student {name, class}");
      return NULL;
    }
  for (const char *p = digest; *p; p++)
    if (!g_ascii_isxdigit (*p))
      {
        g_set_error_literal (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_PROTOCOL,
                             "a code's digest must be hex");
        return NULL;
      }
  return lk_kiosk_code_new (code_id, digest, name, klass);
}

void
lk_journal_entry_free (LkJournalEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->claim_id);
  g_free (entry->code_id);
  g_free (entry->card_no);
  g_free (entry->card_data);
  g_free (entry->report_id);
  g_free (entry->report);
  g_free (entry);
}

static gboolean
set_sqlite_error (LkKioskStore *self,
                  GError      **error,
                  const char   *what)
{
  g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_STORE,
               "%s: %s", what, sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
exec (LkKioskStore *self,
      const char   *sql,
      GError      **error)
{
  char *errmsg = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &errmsg) != SQLITE_OK)
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_STORE, "%s", errmsg);
      sqlite3_free (errmsg);
      return FALSE;
    }
  return TRUE;
}

static sqlite3_stmt *
prepare (LkKioskStore *self,
         const char   *sql,
         GError      **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sqlite_error (self, error, "prepare");
      return NULL;
    }
  return stmt;
}

static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

static char *
column_text (sqlite3_stmt *stmt,
             int           index)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

static gboolean
set_meta (LkKioskStore *self,
          const char   *key,
          const char   *value,
          GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt =
    prepare (self, "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, key);
  bind_text (stmt, 2, value);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_sqlite_error (self, error, "meta");
  return TRUE;
}

static char *
get_meta (LkKioskStore *self,
          const char   *key)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (self, "SELECT value FROM meta WHERE key = ?1", NULL);

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, key);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return NULL;
  return column_text (stmt, 0);
}

static gboolean
insert_code (LkKioskStore      *self,
             const LkKioskCode *code,
             GError           **error)
{
  g_autoptr(sqlite3_stmt) stmt =
    prepare (self, "INSERT INTO codes (code_id, digest, name, class) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (code_id) DO UPDATE SET digest = excluded.digest, "
                   "name = excluded.name, class = excluded.class", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, code->code_id);
  bind_text (stmt, 2, code->digest);
  bind_text (stmt, 3, code->name);
  bind_text (stmt, 4, code->klass);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_sqlite_error (self, error, "insert code");
  return TRUE;
}

static void
lk_kiosk_store_finalize (GObject *object)
{
  LkKioskStore *self = (LkKioskStore *) object;

  g_clear_pointer (&self->db, sqlite3_close);
  g_clear_pointer (&self->path, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (lk_kiosk_store_parent_class)->finalize (object);
}

static void
lk_kiosk_store_class_init (LkKioskStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_kiosk_store_finalize;
}

static void
lk_kiosk_store_init (LkKioskStore *self)
{
  g_mutex_init (&self->lock);
}

LkKioskStore *
lk_kiosk_store_open (const char  *path,
                     GError     **error)
{
  g_autoptr(LkKioskStore) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (LK_TYPE_KIOSK_STORE, NULL);
  self->path = g_strdup (path);

  if (strcmp (path, ":memory:") != 0)
    {
      g_autofree char *dir = g_path_get_dirname (path);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "%s: %s", dir, g_strerror (saved_errno));
          return NULL;
        }
    }

  if (sqlite3_open_v2 (path, &self->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                       NULL) != SQLITE_OK)
    {
      set_sqlite_error (self, error, path);
      return NULL;
    }
  sqlite3_busy_timeout (self->db, 5000);

  /* synchronous=FULL: a journal row must be on the disk before the card moves, and survive a
   * power cut (MEASURED.md: ~0.13 ms per commit, nothing next to a card's motion). */
  if (!exec (self, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", error) ||
      !exec (self, schema_sql, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
lk_kiosk_store_get_path (LkKioskStore *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), NULL);
  return self->path;
}

gboolean
lk_kiosk_store_replace_codes (LkKioskStore          *self,
                              gint64                 school_id,
                              const LkDigestParams  *params,
                              GPtrArray             *codes,
                              GError               **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autofree char *salt = NULL;
  g_autofree char *iterations = NULL;
  g_autofree char *school = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), FALSE);
  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (codes != NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  salt = lk_digest_params_salt_hex (params);
  iterations = g_strdup_printf ("%u", params->iterations);
  school = g_strdup_printf ("%" G_GINT64_FORMAT, school_id);

  if (!exec (self, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!exec (self, "DELETE FROM codes", error) ||
      !set_meta (self, "school_id", school, error) ||
      !set_meta (self, "digest_alg", lk_digest_alg_to_string (params->alg), error) ||
      !set_meta (self, "digest_salt", salt, error) ||
      !set_meta (self, "digest_iterations", iterations, error))
    goto rollback;
  for (guint i = 0; i < codes->len; i++)
    if (!insert_code (self, g_ptr_array_index (codes, i), error))
      goto rollback;
  if (!exec (self, "COMMIT", error))
    goto rollback;
  return TRUE;

rollback:
  exec (self, "ROLLBACK", NULL);
  return FALSE;
}

gboolean
lk_kiosk_store_add_code (LkKioskStore      *self,
                         const LkKioskCode *code,
                         GError           **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), FALSE);
  g_return_val_if_fail (code != NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  return insert_code (self, code, error);
}

gboolean
lk_kiosk_store_remove_code (LkKioskStore *self,
                            const char   *code_id,
                            GError      **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), FALSE);
  g_return_val_if_fail (code_id != NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "DELETE FROM codes WHERE code_id = ?1", error)))
    return FALSE;
  bind_text (stmt, 1, code_id);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_sqlite_error (self, error, "remove code");
  return TRUE;
}

guint
lk_kiosk_store_count_codes (LkKioskStore *self)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), 0);

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "SELECT count(*) FROM codes", NULL)) ||
      sqlite3_step (stmt) != SQLITE_ROW)
    return 0;
  return (guint) sqlite3_column_int64 (stmt, 0);
}

static gboolean
get_digest_params_locked (LkKioskStore   *self,
                          LkDigestParams *params,
                          gint64         *school_id)
{
  g_autofree char *alg = get_meta (self, "digest_alg");
  g_autofree char *salt = get_meta (self, "digest_salt");
  g_autofree char *iterations = get_meta (self, "digest_iterations");
  g_autofree char *school = get_meta (self, "school_id");
  guint64 n = 0;

  memset (params, 0, sizeof *params);
  if (alg == NULL || salt == NULL || iterations == NULL ||
      !lk_digest_alg_from_string (alg, &params->alg) ||
      !lk_digest_params_set_salt_hex (params, salt) ||
      !g_ascii_string_to_unsigned (iterations, 10, 0, G_MAXUINT, &n, NULL))
    return FALSE;
  params->iterations = (guint) n;
  if (school_id != NULL)
    *school_id = school != NULL ? g_ascii_strtoll (school, NULL, 10) : 0;
  return TRUE;
}

gboolean
lk_kiosk_store_get_digest_params (LkKioskStore   *self,
                                  LkDigestParams *params,
                                  gint64         *school_id)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), FALSE);
  g_return_val_if_fail (params != NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  return get_digest_params_locked (self, params, school_id);
}

LkKioskCode *
lk_kiosk_store_lookup_code (LkKioskStore  *self,
                            const char    *code,
                            GError       **error)
{
  LkDigestParams params;
  g_autofree char *digest = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), NULL);
  g_return_val_if_fail (code != NULL, NULL);

  if (!lk_kiosk_store_get_digest_params (self, &params, NULL))
    return NULL;

  /* The digest is computed without the lock: PBKDF2 takes milliseconds. */
  digest = lk_claim_code_digest (&params, code);
  if (digest == NULL)
    {
      g_set_error_literal (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_FAILED,
                           "the claim code digest could not be computed");
      return NULL;
    }

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "SELECT code_id, digest, name, class FROM codes "
                              "WHERE digest = ?1", error)))
    return NULL;
  bind_text (stmt, 1, digest);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      /* The index finds the row; compare again in constant time all the same. */
      if (lk_secure_str_equal ((const char *) sqlite3_column_text (stmt, 1), digest))
        return lk_kiosk_code_new ((const char *) sqlite3_column_text (stmt, 0),
                                  (const char *) sqlite3_column_text (stmt, 1),
                                  (const char *) sqlite3_column_text (stmt, 2),
                                  (const char *) sqlite3_column_text (stmt, 3));
    }
  return NULL;
}

static void
lookup_code_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  GError *error = NULL;
  LkKioskCode *code = lk_kiosk_store_lookup_code (source_object, task_data, &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, code, (GDestroyNotify) lk_kiosk_code_free);
}

void
lk_kiosk_store_lookup_code_async (LkKioskStore        *self,
                                  const char          *code,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LK_IS_KIOSK_STORE (self));
  g_return_if_fail (code != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_kiosk_store_lookup_code_async);
  g_task_set_task_data (task, g_strdup (code), g_free);
  g_task_run_in_thread (task, lookup_code_thread);
}

LkKioskCode *
lk_kiosk_store_lookup_code_finish (LkKioskStore  *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
lk_kiosk_store_journal_authorize (LkKioskStore  *self,
                                  JsonNode      *claim_id,
                                  const char    *code_id,
                                  const char    *card_data_json,
                                  GError       **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *id = lk_kiosk_json_id_to_string (claim_id);
  g_autofree char *id_json = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), FALSE);

  if (id == NULL)
    {
      g_set_error_literal (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_PROTOCOL,
                           "claim_id must be a string or an integer");
      return FALSE;
    }
  id_json = lk_json_to_string (claim_id);

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "INSERT INTO journal (claim_id, claim_id_json, code_id, state, "
                              "card_data, created_at, updated_at, seq) "
                              "VALUES (?1, ?2, ?3, 'authorized', ?4, ?5, ?5, "
                              "(SELECT coalesce(max(seq), 0) + 1 FROM journal))", error)))
    return FALSE;
  bind_text (stmt, 1, id);
  bind_text (stmt, 2, id_json);
  bind_text (stmt, 3, code_id);
  bind_text (stmt, 4, card_data_json);
  sqlite3_bind_int64 (stmt, 5, now);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_sqlite_error (self, error, "journal authorize");
  return TRUE;
}

static LkJournalEntry *
get_entry_locked (LkKioskStore *self,
                  const char   *claim_id,
                  GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  LkJournalEntry *entry;

  if (!(stmt = prepare (self, "SELECT claim_id, code_id, state, card_no, card_data, report_id, "
                              "report, updated_at FROM journal WHERE claim_id = ?1", error)))
    return NULL;
  bind_text (stmt, 1, claim_id);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_NOT_FOUND,
                   "no journal row for claim %s", claim_id);
      return NULL;
    }
  entry = g_new0 (LkJournalEntry, 1);
  entry->claim_id = column_text (stmt, 0);
  entry->code_id = column_text (stmt, 1);
  lk_journal_state_from_string ((const char *) sqlite3_column_text (stmt, 2), &entry->state);
  entry->card_no = column_text (stmt, 3);
  entry->card_data = column_text (stmt, 4);
  entry->report_id = column_text (stmt, 5);
  entry->report = column_text (stmt, 6);
  entry->updated_at = sqlite3_column_int64 (stmt, 7);
  return entry;
}

LkJournalEntry *
lk_kiosk_store_journal_get (LkKioskStore  *self,
                            const char    *claim_id,
                            GError       **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), NULL);
  g_return_val_if_fail (claim_id != NULL, NULL);

  locker = g_mutex_locker_new (&self->lock);
  return get_entry_locked (self, claim_id, error);
}

gboolean
lk_kiosk_store_journal_advance (LkKioskStore    *self,
                                const char      *claim_id,
                                LkJournalState   state,
                                const char      *card_no,
                                GError         **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(LkJournalEntry) entry = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), FALSE);
  g_return_val_if_fail (claim_id != NULL, FALSE);
  g_return_val_if_fail (state >= LK_JOURNAL_DISPENSING && state <= LK_JOURNAL_PRESENTED, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  if (!(entry = get_entry_locked (self, claim_id, error)))
    return FALSE;
  if (entry->state > state || entry->state >= LK_JOURNAL_COMPLETED)
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_FAILED,
                   "journal row %s cannot go from %s to %s", claim_id,
                   lk_journal_state_to_string (entry->state), lk_journal_state_to_string (state));
      return FALSE;
    }
  if (!(stmt = prepare (self, "UPDATE journal SET state = ?2, card_no = coalesce(?3, card_no), "
                              "updated_at = ?4 WHERE claim_id = ?1", error)))
    return FALSE;
  bind_text (stmt, 1, claim_id);
  bind_text (stmt, 2, lk_journal_state_to_string (state));
  bind_text (stmt, 3, card_no);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time () / G_USEC_PER_SEC);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_sqlite_error (self, error, "journal advance");
  return TRUE;
}

static char *
build_report (const char       *report_id,
              const char       *claim_id_json,
              gboolean          completed,
              LkFailReason      reason,
              const char       *card_no,
              const LkCardData *card_data)
{
  JsonBuilder *builder = lk_message_begin (completed ? LK_MSG_CLAIM_COMPLETED
                                                     : LK_MSG_CLAIM_FAILED);
  g_autoptr(JsonNode) claim_id = json_from_string (claim_id_json, NULL);
  g_autoptr(JsonBuilder) owned = builder;

  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, report_id);
  json_builder_set_member_name (builder, "claim_id");
  json_builder_add_value (builder, g_steal_pointer (&claim_id));
  if (completed)
    {
      json_builder_set_member_name (builder, "card_no");
      json_builder_add_string_value (builder, card_no);
      json_builder_set_member_name (builder, "card_data");
      json_builder_add_value (builder, lk_card_data_to_json (card_data));
    }
  else
    {
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, lk_fail_reason_to_string (reason));
      json_builder_set_member_name (builder, "card_no");
      if (card_no != NULL)
        json_builder_add_string_value (builder, card_no);
      else
        json_builder_add_null_value (builder);
    }
  return lk_message_finish (builder);
}

static char *
finish_locked (LkKioskStore     *self,
               const char       *claim_id,
               gboolean          completed,
               LkFailReason      reason,
               const char       *card_no,
               const LkCardData *card_data,
               GError          **error)
{
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) update = NULL;
  g_autoptr(LkCardData) stored = NULL;
  g_autofree char *claim_id_json = NULL;
  g_autofree char *stored_card_no = NULL;
  g_autofree char *report_id = NULL;
  g_autofree char *report = NULL;
  LkJournalState state;

  if (!(select = prepare (self, "SELECT claim_id_json, state, card_no, card_data FROM journal "
                                "WHERE claim_id = ?1", error)))
    return NULL;
  bind_text (select, 1, claim_id);
  if (sqlite3_step (select) != SQLITE_ROW)
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_NOT_FOUND,
                   "no journal row for claim %s", claim_id);
      return NULL;
    }
  claim_id_json = column_text (select, 0);
  lk_journal_state_from_string ((const char *) sqlite3_column_text (select, 1), &state);
  stored_card_no = column_text (select, 2);
  if (state >= LK_JOURNAL_COMPLETED)
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_FAILED,
                   "claim %s is already %s", claim_id, lk_journal_state_to_string (state));
      return NULL;
    }
  if (card_no == NULL)
    card_no = stored_card_no;
  if (completed && card_data == NULL && sqlite3_column_text (select, 3) != NULL)
    {
      g_autoptr(JsonNode) node = json_from_string ((const char *) sqlite3_column_text (select, 3),
                                                   NULL);
      if (node != NULL)
        stored = lk_card_data_from_json (node, NULL);
      card_data = stored;
    }
  if (completed && (card_no == NULL || card_data == NULL))
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_FAILED,
                   "claim %s cannot be completed without a card number and card data", claim_id);
      return NULL;
    }

  report_id = lk_random_hex (12);
  report = build_report (report_id, claim_id_json, completed, reason, card_no, card_data);

  if (!(update = prepare (self, "UPDATE journal SET state = ?2, card_no = ?3, report_id = ?4, "
                                "report = ?5, updated_at = ?6 WHERE claim_id = ?1", error)))
    return NULL;
  bind_text (update, 1, claim_id);
  bind_text (update, 2, completed ? "completed" : "failed");
  bind_text (update, 3, card_no);
  bind_text (update, 4, report_id);
  bind_text (update, 5, report);
  sqlite3_bind_int64 (update, 6, g_get_real_time () / G_USEC_PER_SEC);
  if (sqlite3_step (update) != SQLITE_DONE)
    {
      set_sqlite_error (self, error, "journal finish");
      return NULL;
    }
  return g_steal_pointer (&report_id);
}

char *
lk_kiosk_store_journal_finish (LkKioskStore      *self,
                               const char        *claim_id,
                               gboolean           completed,
                               LkFailReason       reason,
                               const char        *card_no,
                               const LkCardData  *card_data,
                               GError           **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), NULL);
  g_return_val_if_fail (claim_id != NULL, NULL);

  locker = g_mutex_locker_new (&self->lock);
  return finish_locked (self, claim_id, completed, reason, card_no, card_data, error);
}

gboolean
lk_kiosk_store_journal_acknowledge (LkKioskStore  *self,
                                    const char    *report_id,
                                    GError       **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), FALSE);
  g_return_val_if_fail (report_id != NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "UPDATE journal SET state = 'acknowledged', updated_at = ?2 "
                              "WHERE report_id = ?1 AND state IN ('completed', 'failed')", error)))
    return FALSE;
  bind_text (stmt, 1, report_id);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_sqlite_error (self, error, "journal acknowledge");
  return sqlite3_changes (self->db) > 0;
}

GPtrArray *
lk_kiosk_store_journal_pending (LkKioskStore  *self,
                                GError       **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) entries = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), NULL);

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "SELECT claim_id FROM journal WHERE state IN ('completed', 'failed') "
                              "ORDER BY seq", error)))
    return NULL;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (ids, column_text (stmt, 0));

  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_journal_entry_free);
  for (guint i = 0; i < ids->len; i++)
    {
      LkJournalEntry *entry = get_entry_locked (self, g_ptr_array_index (ids, i), error);

      if (entry == NULL)
        return NULL;
      g_ptr_array_add (entries, entry);
    }
  return g_steal_pointer (&entries);
}

guint
lk_kiosk_store_journal_recover (LkKioskStore  *self,
                                GError       **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) states = g_array_new (FALSE, FALSE, sizeof (LkJournalState));

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), 0);

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "SELECT claim_id, state FROM journal WHERE state IN "
                              "('authorized', 'dispensing', 'card_read', 'presented') ORDER BY seq",
                        error)))
    return 0;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      LkJournalState state;

      lk_journal_state_from_string ((const char *) sqlite3_column_text (stmt, 1), &state);
      g_ptr_array_add (ids, column_text (stmt, 0));
      g_array_append_val (states, state);
    }

  for (guint i = 0; i < ids->len; i++)
    {
      const char *claim_id = g_ptr_array_index (ids, i);
      LkJournalState state = g_array_index (states, LkJournalState, i);
      g_autofree char *report_id = NULL;

      g_message ("journal: claim %s was left %s; reporting it", claim_id,
                 lk_journal_state_to_string (state));
      report_id = finish_locked (self, claim_id, state == LK_JOURNAL_PRESENTED,
                                 LK_FAIL_CANCELLED, NULL, NULL, error);
      if (report_id == NULL)
        return i;
    }
  return ids->len;
}

guint
lk_kiosk_store_journal_count (LkKioskStore   *self,
                              LkJournalState  state)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (LK_IS_KIOSK_STORE (self), 0);

  locker = g_mutex_locker_new (&self->lock);
  if (!(stmt = prepare (self, "SELECT count(*) FROM journal WHERE state = ?1", NULL)))
    return 0;
  bind_text (stmt, 1, lk_journal_state_to_string (state));
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return 0;
  return (guint) sqlite3_column_int64 (stmt, 0);
}
