/* lk-store-roster.c: import batches, the directory, students, their history, statistics
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-store"

#include "config.h"

#include "lk-store-private.h"

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static void
add_text_or_null (JsonBuilder *builder,
                  const char  *name,
                  LkStmt      *stmt,
                  int          column)
{
  json_builder_set_member_name (builder, name);
  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, lk_stmt_text (stmt, column));
}

/* --- imports --- */

gint64
lk_store_import_create (LkStore     *self,
                        gint64       user_id,
                        gint64       row_count,
                        const char  *checksum,
                        const char  *payload,
                        GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  gint64 id;

  if (!lk_store_begin_immediate (self, error))
    return 0;
  stmt = lk_store_prepare (self,
                           "INSERT INTO import_batches (created_by, created_at, row_count, checksum, payload) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, user_id);
  sqlite3_bind_int64 (stmt, 2, now_seconds ());
  sqlite3_bind_int64 (stmt, 3, row_count);
  lk_stmt_bind_text (stmt, 4, checksum);
  lk_stmt_bind_text (stmt, 5, payload);
  if (!lk_store_step_done (self, stmt, error))
    goto fail;
  id = sqlite3_last_insert_rowid (lk_store_db (self, NULL));
  {
    g_autofree char *target = g_strdup_printf ("batch:%" G_GINT64_FORMAT, id);
    g_autofree char *detail = g_strdup_printf ("rows=%" G_GINT64_FORMAT, row_count);

    if (!lk_store_audit_in_tx (self, user_id, "import.upload", 0, target, detail, error))
      goto fail;
  }
  if (!lk_store_commit (self, error))
    goto fail;
  return id;

fail:
  lk_store_rollback (self);
  return 0;
}

static gint64
find_school (LkStore     *self,
             const char  *province,
             const char  *school,
             GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT s.id FROM schools s JOIN provinces p ON p.id = s.province_id "
                           "WHERE p.name = ?1 AND s.name = ?2", error);
  if (stmt == NULL)
    return -1;
  lk_stmt_bind_text (stmt, 1, province);
  lk_stmt_bind_text (stmt, 2, school);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return sqlite3_column_int64 (stmt, 0);
  if (rc == SQLITE_DONE)
    return 0;
  lk_store_set_error (self, error, rc, "Cannot read schools");
  return -1;
}

static gboolean
write_history (LkStore     *self,
               gint64       student_id,
               const char  *reason,
               gint64       batch_id,
               gint64       user_id,
               gint64       now,
               GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;

  stmt = lk_store_prepare (self,
                           "INSERT INTO student_history (student_id, version, class_name, name, student_no, "
                           "card_no, reason, batch_id, changed_by, changed_at) "
                           "SELECT id, version, class_name, name, student_no, card_no, ?2, ?3, ?4, ?5 "
                           "FROM students WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, student_id);
  lk_stmt_bind_text (stmt, 2, reason);
  if (batch_id > 0)
    sqlite3_bind_int64 (stmt, 3, batch_id);
  if (user_id > 0)
    sqlite3_bind_int64 (stmt, 4, user_id);
  sqlite3_bind_int64 (stmt, 5, now);
  return lk_store_step_done (self, stmt, error);
}

static gboolean
apply_row (LkStore           *self,
           const LkImportRow *row,
           gint64             batch_id,
           gint64             user_id,
           gint64             teacher_school_id,
           const char        *digest_alg,
           guint              digest_iterations,
           gint64             now,
           LkStoreImportResult    *result,
           GError           **error)
{
  gint64 school_id;
  gint64 student_id = 0;
  gboolean same = FALSE;

  if (teacher_school_id > 0)
    {
      school_id = find_school (self, row->province, row->school, error);
      if (school_id < 0)
        return FALSE;
      if (school_id != teacher_school_id)
        {
          g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN,
                       "Row %" G_GINT64_FORMAT " belongs to another school", row->seq);
          return FALSE;
        }
    }
  else
    {
      school_id = lk_store_school_ensure_in_tx (self, row->province, row->school, digest_alg,
                                                digest_iterations, NULL, error);
      if (school_id == 0)
        return FALSE;
    }

  {
    g_autoptr(LkStmt) stmt = NULL;
    int rc;

    stmt = lk_store_prepare (self,
                             "SELECT id, class_name = ?3 AND name = ?4 AND (?5 IS NULL OR card_no IS ?5) "
                             "FROM students WHERE school_id = ?1 AND student_no = ?2", error);
    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, school_id);
    lk_stmt_bind_text (stmt, 2, row->student_no);
    lk_stmt_bind_text (stmt, 3, row->klass);
    lk_stmt_bind_text (stmt, 4, row->name);
    lk_stmt_bind_text (stmt, 5, row->card_no);
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
      {
        student_id = sqlite3_column_int64 (stmt, 0);
        same = sqlite3_column_int (stmt, 1) != 0;
      }
    else if (rc != SQLITE_DONE)
      return lk_store_set_error (self, error, rc, "Cannot read students");
  }

  if (student_id == 0)
    {
      g_autoptr(LkStmt) stmt = NULL;

      stmt = lk_store_prepare (self,
                               "INSERT INTO students (school_id, class_name, name, student_no, card_no, "
                               "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, school_id);
      lk_stmt_bind_text (stmt, 2, row->klass);
      lk_stmt_bind_text (stmt, 3, row->name);
      lk_stmt_bind_text (stmt, 4, row->student_no);
      lk_stmt_bind_text (stmt, 5, row->card_no);
      sqlite3_bind_int64 (stmt, 6, now);
      if (!lk_store_step_done (self, stmt, error))
        return FALSE;
      result->inserted++;
      return TRUE;
    }
  if (same)
    {
      result->unchanged++;
      return TRUE;
    }

  if (!write_history (self, student_id, "import", batch_id, user_id, now, error))
    return FALSE;
  {
    g_autoptr(LkStmt) stmt = NULL;

    /* A blank card number in a roster means "not known here", never "unbind the card". */
    stmt = lk_store_prepare (self,
                             "UPDATE students SET class_name = ?2, name = ?3, card_no = coalesce(?4, card_no), "
                             "version = version + 1, updated_at = ?5 WHERE id = ?1", error);
    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, student_id);
    lk_stmt_bind_text (stmt, 2, row->klass);
    lk_stmt_bind_text (stmt, 3, row->name);
    lk_stmt_bind_text (stmt, 4, row->card_no);
    sqlite3_bind_int64 (stmt, 5, now);
    if (!lk_store_step_done (self, stmt, error))
      return FALSE;
  }
  result->updated++;
  return TRUE;
}

gboolean
lk_store_import_commit (LkStore         *self,
                        gint64           batch_id,
                        gint64           user_id,
                        gint64           teacher_school_id,
                        const char      *checksum,
                        const char      *digest_alg,
                        guint            digest_iterations,
                        LkStoreImportResult  *result,
                        GError         **error)
{
  g_autofree char *payload = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(JsonParser) parser = NULL;
  gint64 now = now_seconds ();

  memset (result, 0, sizeof *result);
  if (!lk_store_begin_immediate (self, error))
    return FALSE;

  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "SELECT created_by, status, checksum, payload FROM import_batches WHERE id = ?1",
                             error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, batch_id);
    if (!lk_store_step_one (self, stmt, "No such batch", "Cannot read the batch", error))
      goto fail;
    if (sqlite3_column_int64 (stmt, 0) != user_id)
      {
        g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN, "The batch belongs to another user");
        goto fail;
      }
    if (!g_str_equal (lk_stmt_text (stmt, 1), "pending"))
      {
        g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT, "The batch is %s", lk_stmt_text (stmt, 1));
        goto fail;
      }
    if (!lk_secure_str_equal (lk_stmt_text (stmt, 2), checksum))
      {
        g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID, "The checksum does not match the batch");
        goto fail;
      }
    payload = lk_stmt_dup_text (stmt, 3);
  }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, payload, -1, error))
    goto fail;
  rows = lk_import_rows_from_json (json_parser_get_root (parser), error);
  if (rows == NULL)
    goto fail;

  for (guint i = 0; i < rows->len; i++)
    if (!apply_row (self, g_ptr_array_index (rows, i), batch_id, user_id, teacher_school_id,
                    digest_alg, digest_iterations, now, result, error))
      goto fail;

  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "UPDATE import_batches SET status = 'committed', committed_at = ?2, "
                             "inserted = ?3, updated = ?4, unchanged = ?5 WHERE id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, batch_id);
    sqlite3_bind_int64 (stmt, 2, now);
    sqlite3_bind_int64 (stmt, 3, result->inserted);
    sqlite3_bind_int64 (stmt, 4, result->updated);
    sqlite3_bind_int64 (stmt, 5, result->unchanged);
    if (!lk_store_step_done (self, stmt, error))
      goto fail;
  }
  {
    g_autofree char *target = g_strdup_printf ("batch:%" G_GINT64_FORMAT, batch_id);
    g_autofree char *detail = g_strdup_printf ("inserted=%" G_GINT64_FORMAT " updated=%" G_GINT64_FORMAT
                                               " unchanged=%" G_GINT64_FORMAT,
                                               result->inserted, result->updated, result->unchanged);

    if (!lk_store_audit_in_tx (self, user_id, "import.commit", teacher_school_id, target, detail, error))
      goto fail;
  }
  if (!lk_store_commit (self, error))
    goto fail;
  return TRUE;

fail:
  lk_store_rollback (self);
  memset (result, 0, sizeof *result);
  return FALSE;
}

/* --- directory --- */

JsonNode *
lk_store_directory_provinces (LkStore  *self,
                              GError  **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT p.name FROM provinces p WHERE EXISTS (SELECT 1 FROM schools s "
                           "JOIN students st ON st.school_id = s.id WHERE s.province_id = p.id) "
                           "ORDER BY p.name", error);
  if (stmt == NULL)
    return NULL;
  json_builder_begin_array (builder);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    json_builder_add_string_value (builder, lk_stmt_text (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      lk_store_set_error (self, error, rc, "Cannot read provinces");
      return NULL;
    }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

JsonNode *
lk_store_directory_schools (LkStore     *self,
                            const char  *province,
                            GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  stmt = lk_store_prepare (self,
                           "SELECT s.id AS id, s.name AS name FROM schools s JOIN provinces p ON p.id = s.province_id "
                           "WHERE p.name = ?1 AND EXISTS (SELECT 1 FROM students st WHERE st.school_id = s.id) "
                           "ORDER BY s.name", error);
  if (stmt == NULL)
    return NULL;
  lk_stmt_bind_text (stmt, 1, province);
  json_builder_begin_array (builder);
  if (!lk_store_add_rows (self, stmt, builder, "Cannot read schools", error))
    return NULL;
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

JsonNode *
lk_store_directory_classes (LkStore  *self,
                            gint64    school_id,
                            GError  **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  int rc;

  stmt = lk_store_prepare (self,
                           "SELECT DISTINCT class_name FROM students WHERE school_id = ?1 ORDER BY class_name",
                           error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, school_id);
  json_builder_begin_array (builder);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    json_builder_add_string_value (builder, lk_stmt_text (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      lk_store_set_error (self, error, rc, "Cannot read classes");
      return NULL;
    }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

/* --- students --- */

#define STUDENT_COLUMNS \
  "s.id, s.school_id, s.class_name, s.name, s.student_no, s.card_no, s.updated_at, " \
  "CASE coalesce((SELECT a.status FROM applications a WHERE a.student_id = s.id " \
  "AND a.status != 'cancelled' ORDER BY a.created_at DESC, a.rowid DESC LIMIT 1), '') " \
  "WHEN '' THEN 'not_applied' WHEN 'verified' THEN 'applied' " \
  "ELSE (SELECT a.status FROM applications a WHERE a.student_id = s.id " \
  "AND a.status != 'cancelled' ORDER BY a.created_at DESC, a.rowid DESC LIMIT 1) END AS status"

static void
add_student (JsonBuilder *builder,
             LkStmt      *stmt)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, sqlite3_column_int64 (stmt, 0));
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, sqlite3_column_int64 (stmt, 1));
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, lk_stmt_text (stmt, 2));
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, lk_stmt_text (stmt, 3));
  json_builder_set_member_name (builder, "student_no");
  json_builder_add_string_value (builder, lk_stmt_text (stmt, 4));
  add_text_or_null (builder, "card_no", stmt, 5);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, lk_stmt_text (stmt, 7));
  json_builder_set_member_name (builder, "updated_at");
  json_builder_add_int_value (builder, sqlite3_column_int64 (stmt, 6));
  json_builder_end_object (builder);
}

static char *
like_pattern (const char *query)
{
  GString *pattern;

  if (query == NULL || *query == '\0')
    return NULL;
  pattern = g_string_new ("%");
  for (const char *p = query; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  return g_string_free (pattern, FALSE);
}

#define STUDENT_FILTER \
  "FROM students s WHERE (?1 = 0 OR s.school_id = ?1) AND (?2 IS NULL OR s.class_name = ?2) " \
  "AND (?3 IS NULL OR s.name LIKE ?3 ESCAPE '\\' OR s.student_no LIKE ?3 ESCAPE '\\' " \
  "OR s.class_name LIKE ?3 ESCAPE '\\')"

JsonNode *
lk_store_students_search (LkStore     *self,
                          const char  *query,
                          gint64       school_id,
                          const char  *klass,
                          const char  *status,
                          gint64       page,
                          gint64       page_size,
                          gint64      *total,
                          GError     **error)
{
  g_autofree char *pattern = like_pattern (query);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  int rc;

  *total = 0;
  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "SELECT count(*) FROM (SELECT " STUDENT_COLUMNS " " STUDENT_FILTER
                             ") WHERE ?4 IS NULL OR status = ?4", error);
    if (stmt == NULL)
      return NULL;
    sqlite3_bind_int64 (stmt, 1, school_id);
    lk_stmt_bind_text (stmt, 2, klass);
    lk_stmt_bind_text (stmt, 3, pattern);
    lk_stmt_bind_text (stmt, 4, status);
    rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW)
      {
        lk_store_set_error (self, error, rc, "Cannot count students");
        return NULL;
      }
    *total = sqlite3_column_int64 (stmt, 0);
  }

  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "SELECT * FROM (SELECT " STUDENT_COLUMNS " " STUDENT_FILTER
                             ") WHERE ?4 IS NULL OR status = ?4 "
                             "ORDER BY school_id, class_name, student_no LIMIT ?5 OFFSET ?6", error);
    if (stmt == NULL)
      return NULL;
    sqlite3_bind_int64 (stmt, 1, school_id);
    lk_stmt_bind_text (stmt, 2, klass);
    lk_stmt_bind_text (stmt, 3, pattern);
    lk_stmt_bind_text (stmt, 4, status);
    sqlite3_bind_int64 (stmt, 5, page_size);
    sqlite3_bind_int64 (stmt, 6, (page - 1) * page_size);
    json_builder_begin_array (builder);
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      add_student (builder, stmt);
    if (rc != SQLITE_DONE)
      {
        lk_store_set_error (self, error, rc, "Cannot read students");
        return NULL;
      }
    json_builder_end_array (builder);
  }
  return json_builder_get_root (builder);
}

JsonNode *
lk_store_student_get (LkStore     *self,
                      gint64       student_id,
                      gint64      *school_id,
                      GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  stmt = lk_store_prepare (self, "SELECT " STUDENT_COLUMNS " FROM students s WHERE s.id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, student_id);
  if (!lk_store_step_one (self, stmt, "No such student", "Cannot read the student", error))
    return NULL;
  if (school_id != NULL)
    *school_id = sqlite3_column_int64 (stmt, 1);
  add_student (builder, stmt);
  return json_builder_get_root (builder);
}

gint64
lk_store_student_create (LkStore     *self,
                         gint64       user_id,
                         gint64       school_id,
                         const char  *klass,
                         const char  *name,
                         const char  *student_no,
                         const char  *card_no,
                         GError     **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  gint64 id;

  if (!lk_store_begin_immediate (self, error))
    return 0;
  stmt = lk_store_prepare (self,
                           "INSERT INTO students (school_id, class_name, name, student_no, card_no, "
                           "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, school_id);
  lk_stmt_bind_text (stmt, 2, klass);
  lk_stmt_bind_text (stmt, 3, name);
  lk_stmt_bind_text (stmt, 4, student_no);
  lk_stmt_bind_text (stmt, 5, card_no);
  sqlite3_bind_int64 (stmt, 6, now_seconds ());
  if (!lk_store_step_done (self, stmt, error))
    goto fail;
  id = sqlite3_last_insert_rowid (lk_store_db (self, NULL));
  g_clear_pointer (&stmt, lk_stmt_reset);
  {
    g_autofree char *target = g_strdup_printf ("student:%" G_GINT64_FORMAT, id);

    if (!lk_store_audit_in_tx (self, user_id, "students.create", school_id, target, NULL, error))
      goto fail;
  }
  if (!lk_store_commit (self, error))
    goto fail;
  return id;

fail:
  lk_store_rollback (self);
  return 0;
}

gboolean
lk_store_student_update (LkStore     *self,
                         gint64       user_id,
                         gint64       teacher_school_id,
                         gint64       student_id,
                         const char  *klass,
                         const char  *name,
                         const char  *student_no,
                         const char  *card_no,
                         gboolean     clear_card_no,
                         GError     **error)
{
  gint64 school_id = 0;
  gboolean same = FALSE;
  gint64 now = now_seconds ();

  if (!lk_store_begin_immediate (self, error))
    return FALSE;

  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "SELECT school_id, coalesce(?2, class_name) = class_name AND "
                             "coalesce(?3, name) = name AND coalesce(?4, student_no) = student_no AND "
                             "(CASE WHEN ?6 THEN card_no IS NULL ELSE coalesce(?5, card_no) IS card_no END) "
                             "FROM students WHERE id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, student_id);
    lk_stmt_bind_text (stmt, 2, klass);
    lk_stmt_bind_text (stmt, 3, name);
    lk_stmt_bind_text (stmt, 4, student_no);
    lk_stmt_bind_text (stmt, 5, card_no);
    sqlite3_bind_int (stmt, 6, clear_card_no);
    if (!lk_store_step_one (self, stmt, "No such student", "Cannot read the student", error))
      goto fail;
    school_id = sqlite3_column_int64 (stmt, 0);
    same = sqlite3_column_int (stmt, 1) != 0;
  }
  if (teacher_school_id > 0 && school_id != teacher_school_id)
    {
      g_set_error (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN, "The student belongs to another school");
      goto fail;
    }
  if (same)
    {
      lk_store_rollback (self);
      return TRUE;
    }

  if (!write_history (self, student_id, "edit", 0, user_id, now, error))
    goto fail;
  {
    g_autoptr(LkStmt) stmt = NULL;

    stmt = lk_store_prepare (self,
                             "UPDATE students SET class_name = coalesce(?2, class_name), "
                             "name = coalesce(?3, name), student_no = coalesce(?4, student_no), "
                             "card_no = CASE WHEN ?6 THEN NULL ELSE coalesce(?5, card_no) END, "
                             "version = version + 1, updated_at = ?7 WHERE id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, student_id);
    lk_stmt_bind_text (stmt, 2, klass);
    lk_stmt_bind_text (stmt, 3, name);
    lk_stmt_bind_text (stmt, 4, student_no);
    lk_stmt_bind_text (stmt, 5, card_no);
    sqlite3_bind_int (stmt, 6, clear_card_no);
    sqlite3_bind_int64 (stmt, 7, now);
    if (!lk_store_step_done (self, stmt, error))
      goto fail;
  }
  {
    g_autofree char *target = g_strdup_printf ("student:%" G_GINT64_FORMAT, student_id);

    if (!lk_store_audit_in_tx (self, user_id, "students.update", school_id, target, NULL, error))
      goto fail;
  }
  if (!lk_store_commit (self, error))
    goto fail;
  return TRUE;

fail:
  lk_store_rollback (self);
  return FALSE;
}

JsonNode *
lk_store_student_history (LkStore  *self,
                          gint64    student_id,
                          GError  **error)
{
  g_autoptr(LkStmt) stmt = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  stmt = lk_store_prepare (self,
                           "SELECT version, class_name AS class, name, student_no, card_no, reason, "
                           "batch_id, changed_by, changed_at FROM student_history WHERE student_id = ?1 "
                           "ORDER BY version DESC, id DESC", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, student_id);
  json_builder_begin_array (builder);
  if (!lk_store_add_rows (self, stmt, builder, "Cannot read the history", error))
    return NULL;
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

/* --- statistics --- */

static gboolean
add_stats_rows (LkStore      *self,
                JsonBuilder  *builder,
                const char   *member,
                const char   *sql,
                gint64        school_id,
                GError      **error)
{
  g_autoptr(LkStmt) stmt = lk_store_prepare (self, sql, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, school_id);
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  if (!lk_store_add_rows (self, stmt, builder, "Cannot compute statistics", error))
    return FALSE;
  json_builder_end_array (builder);
  return TRUE;
}

JsonNode *
lk_store_stats (LkStore  *self,
                gint64    school_id,
                GError  **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (!add_stats_rows (self, builder, "by_school",
                       "SELECT s.id AS school_id, s.name AS school, count(DISTINCT st.id) AS students, "
                       "count(a.id) AS applications, "
                       "coalesce(sum(a.status IN ('paid', 'claimable', 'issued')), 0) AS paid, "
                       "coalesce(sum(a.status = 'issued'), 0) AS issued "
                       "FROM schools s JOIN students st ON st.school_id = s.id "
                       "LEFT JOIN applications a ON a.student_id = st.id AND a.status != 'cancelled' "
                       "WHERE ?1 = 0 OR s.id = ?1 GROUP BY s.id ORDER BY s.id",
                       school_id, error)
      || !add_stats_rows (self, builder, "by_class",
                          "SELECT st.school_id AS school_id, st.class_name AS class, "
                          "count(DISTINCT st.id) AS students, count(a.id) AS applications, "
                          "coalesce(sum(a.status IN ('paid', 'claimable', 'issued')), 0) AS paid, "
                          "coalesce(sum(a.status = 'issued'), 0) AS issued "
                          "FROM students st LEFT JOIN applications a ON a.student_id = st.id "
                          "AND a.status != 'cancelled' WHERE ?1 = 0 OR st.school_id = ?1 "
                          "GROUP BY st.school_id, st.class_name ORDER BY st.school_id, st.class_name",
                          school_id, error)
      || !add_stats_rows (self, builder, "by_day",
                          "SELECT a.day AS day, count(a.id) AS applications, "
                          "coalesce(sum(a.status IN ('paid', 'claimable', 'issued')), 0) AS paid, "
                          "coalesce(sum(a.status = 'issued'), 0) AS issued "
                          "FROM applications a JOIN students st ON st.id = a.student_id "
                          "WHERE a.status != 'cancelled' AND (?1 = 0 OR st.school_id = ?1) "
                          "GROUP BY a.day ORDER BY a.day",
                          school_id, error))
    return NULL;
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
