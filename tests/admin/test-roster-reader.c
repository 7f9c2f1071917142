/* test-roster-reader.c: the roster reader on files written by other programs
 *
 * The .xlsx files come from tests/admin/make-fixtures.py (openpyxl, and a writer that lays
 * the parts out as Microsoft Excel does); each readable file has an .expected.json with
 * every row, and every cell read is compared with it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lingka-common.h"
#include "lk-roster-reader.h"
#include "lk-roster-private.h"
#include "test-roster-util.h"

static GPtrArray *
read_path (const char  *path,
           GPtrArray  **row_errors,
           GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  return lk_roster_read_file (file, NULL, NULL, NULL, row_errors, error);
}

static const char *
row_field (LkImportRow *row,
           const char  *key)
{
  if (g_str_equal (key, "province"))
    return row->province;
  if (g_str_equal (key, "school"))
    return row->school;
  if (g_str_equal (key, "name"))
    return row->name;
  if (g_str_equal (key, "class"))
    return row->klass;
  if (g_str_equal (key, "student_no"))
    return row->student_no;
  if (g_str_equal (key, "card_no"))
    return row->card_no;
  g_assert_not_reached ();
}

/* Compares every cell with the fixture's .expected.json. */
static void
assert_rows_expected (GPtrArray  *rows,
                      const char *fixture)
{
  static const char * const keys[] = { "province", "school", "name", "class", "student_no", "card_no" };
  g_autofree char *json_name = g_strconcat (fixture, ".expected.json", NULL);
  g_autofree char *json_path = g_build_filename (lk_test_fixtures_dir (NULL), json_name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *expected;

  json_parser_load_from_file (parser, json_path, &error);
  g_assert_no_error (error);
  expected = json_node_get_array (json_parser_get_root (parser));

  g_assert_cmpuint (rows->len, ==, json_array_get_length (expected));
  for (guint i = 0; i < rows->len; i++)
    {
      LkImportRow *row = g_ptr_array_index (rows, i);
      JsonObject *want = json_array_get_object_element (expected, i);

      g_assert_cmpint (row->seq, ==, json_object_get_int_member (want, "seq"));
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        {
          JsonNode *node = json_object_get_member (want, keys[k]);
          const char *want_text = JSON_NODE_HOLDS_NULL (node) ? NULL : json_node_get_string (node);

          if (g_strcmp0 (row_field (row, keys[k]), want_text) != 0)
            g_error ("%s row %u %s: read “%s”, expected “%s”", fixture, i + 1, keys[k],
                     row_field (row, keys[k]), want_text);
        }
    }
}

static GPtrArray *
read_fixture (const char  *fixture,
              const char  *extension,
              GPtrArray  **row_errors)
{
  g_autofree char *name = g_strconcat (fixture, extension, NULL);
  g_autofree char *path = lk_test_fixture (name);
  g_autoptr(GError) error = NULL;
  GPtrArray *rows;

  if (path == NULL)
    return NULL;
  rows = read_path (path, row_errors, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rows);
  assert_rows_expected (rows, fixture);

  return rows;
}

static void
assert_no_row_errors (GPtrArray *errors)
{
  for (guint i = 0; i < errors->len; i++)
    {
      LkRowError *e = g_ptr_array_index (errors, i);

      g_printerr ("unexpected row error: seq %" G_GINT64_FORMAT " %s: %s\n", e->seq, e->field, e->message);
    }
  g_assert_cmpuint (errors->len, ==, 0);
}

/* Each readable fixture, every cell. */
static void
test_fixture_cb (gconstpointer data)
{
  const char *fixture = data;
  const char *extension = strchr (fixture, '.');
  g_autofree char *base = g_strndup (fixture, extension - fixture);
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;

  /* .xls files need python3-xlwt; without it that case is skipped, not failed */
  if (g_str_equal (extension, ".xls"))
    {
      g_autofree char *xls = lk_test_fixture (fixture);

      if (xls == NULL)
        return;
      if (!g_file_test (xls, G_FILE_TEST_EXISTS))
        {
          g_test_skip ("python3-xlwt is not installed");
          return;
        }
    }

  rows = read_fixture (base, extension, &errors);
  if (rows == NULL)
    return;
  g_assert_nonnull (errors);

  /* Control characters inside a cell are read as they are and reported by validation. */
  if (g_str_equal (base, "xl-excel") || g_str_equal (base, "quoted"))
    {
      g_assert_cmpuint (errors->len, ==, 1);
      g_assert_cmpstr (((LkRowError *) errors->pdata[0])->field, ==,
                       g_str_equal (base, "quoted") ? "class" : "name");
    }
  else if (g_str_equal (base, "opx-whitespace"))
    {
      /* ａｂ１２ＣＤ３４ becomes AB12CD34, which is a valid 8-hex card number */
      assert_no_row_errors (errors);
    }
  else
    assert_no_row_errors (errors);
}

static void
test_numbers_as_numbers (void)
{
  g_autoptr(GPtrArray) rows = read_fixture ("opx-basic", ".xlsx", NULL);
  LkImportRow *row;

  if (rows == NULL)
    return;
  row = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (row->student_no, ==, "2023001");
  row = g_ptr_array_index (rows, 1);
  /* written by openpyxl as the float 2023002.0 */
  g_assert_cmpstr (row->student_no, ==, "2023002");
  /* an empty string cell is a blank card number */
  g_assert_null (((LkImportRow *) g_ptr_array_index (rows, 2))->card_no);
}

static void
test_leading_zeros (void)
{
  g_autoptr(GPtrArray) rows = read_fixture ("opx-leading-zeros", ".xlsx", NULL);

  if (rows == NULL)
    return;
  g_assert_cmpstr (((LkImportRow *) rows->pdata[0])->student_no, ==, "0020230001");
  g_assert_cmpstr (((LkImportRow *) rows->pdata[0])->card_no, ==, "00AB12CD");
  g_assert_cmpstr (((LkImportRow *) rows->pdata[1])->student_no, ==, "000123");
}

static void
test_excel_layout (void)
{
  g_autoptr(GPtrArray) rows = read_fixture ("xl-excel", ".xlsx", NULL);
  LkImportRow *row;

  if (rows == NULL)
    return;
  /* 1.0E+5 stored as a number */
  row = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (row->student_no, ==, "100000");
  /* rich text runs joined, the phonetic run left out */
  g_assert_cmpstr (row->name, ==, "郑小 龙");
  /* 2.0230010000000001E+6: binary noise of 2023001 */
  row = g_ptr_array_index (rows, 2);
  g_assert_cmpstr (row->student_no, ==, "2023001");
  g_assert_cmpstr (row->name, ==, "吴一凡");
  g_assert_cmpstr (row->klass, ==, "三年级(3)班");
  /* a cell out of order in its row goes where its r says */
  row = g_ptr_array_index (rows, 3);
  g_assert_cmpstr (row->card_no, ==, "01A2B3C4");
}

static void
test_1000_rows (void)
{
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GPtrArray) rows = read_fixture ("opx-1000", ".xlsx", &errors);

  if (rows == NULL)
    return;
  g_assert_cmpuint (rows->len, ==, 1000);
  g_assert_cmpstr (((LkImportRow *) rows->pdata[2])->student_no, ==, "0000000003");
  g_assert_cmpstr (((LkImportRow *) rows->pdata[0])->student_no, ==, "2020001");
  assert_no_row_errors (errors);
}

typedef struct
{
  const char   *fixture;
  LkRosterError code;
  const char   *in_message;
} BrokenCase;

static const BrokenCase broken_cases[] = {
  { "not-a-zip.xlsx", LK_ROSTER_ERROR_CORRUPT, "not-a-zip.xlsx" },
  { "truncated.xlsx", LK_ROSTER_ERROR_CORRUPT, NULL },
  { "xl-missing-sst.xlsx", LK_ROSTER_ERROR_CORRUPT, "xl/sharedStrings.xml" },
  { "xl-malformed.xlsx", LK_ROSTER_ERROR_CORRUPT, "xl/worksheets/sheet1.xml" },
  { "xl-no-workbook.xlsx", LK_ROSTER_ERROR_CORRUPT, "xl/workbook.xml" },
  { "opx-missing-column.xlsx", LK_ROSTER_ERROR_MISSING_COLUMN, "学生学号" },
};

static void
test_broken_cb (gconstpointer data)
{
  const BrokenCase *c = data;
  g_autofree char *path = lk_test_fixture (c->fixture);
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return;
  rows = read_path (path, &errors, &error);
  g_assert_null (rows);
  g_assert_null (errors);
  g_assert_error (error, LK_ROSTER_ERROR, (int) c->code);
  g_test_message ("%s: %s", c->fixture, error->message);
  if (c->in_message != NULL)
    g_assert_nonnull (strstr (error->message, c->in_message));
}

static void
test_missing_column_translated (void)
{
  g_autofree char *path = lk_test_fixture ("opx-missing-column.xlsx");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;

  if (path == NULL)
    return;
  /* lk_i18n_init() made zh_CN the language: the person reads Chinese. */
  rows = read_path (path, NULL, &error);
  g_assert_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_MISSING_COLUMN);
  g_assert_true (g_str_has_prefix (error->message, "名单缺少“学生学号”列"));
}

static void
test_no_header (void)
{
  g_autofree char *path = lk_test_write_file ("no-header.csv", "a,b,c\n1,2,3\n", -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = read_path (path, NULL, &error);

  g_assert_null (rows);
  g_assert_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_NO_HEADER);
}

static void
test_unsupported (void)
{
  g_autofree char *path = lk_test_write_file ("roster.pdf", "%PDF-1.4", -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = read_path (path, NULL, &error);

  g_assert_null (rows);
  g_assert_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_UNSUPPORTED);
}

static void
test_csv_bad_encoding (void)
{
  /* Bytes that are neither UTF-8 nor GB18030 (0x80 alone, 0xFF) */
  g_autofree char *path = lk_test_write_file ("bad.csv", "\x80\x80\xff,a\n", 6);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = read_path (path, NULL, &error);

  g_assert_null (rows);
  g_assert_nonnull (error);
  g_assert_true (error->domain == LK_ROSTER_ERROR);
}

static void
test_csv_unterminated_quote (void)
{
  g_autofree char *path = lk_test_write_file ("open-quote.csv",
                                              "序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n"
                                              "1,浙江省,\"杭州市学军小学,沈佳怡\n", -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = read_path (path, NULL, &error);

  g_assert_null (rows);
  g_assert_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_CORRUPT);
}

static const char *
find_error (GPtrArray  *errors,
            gint64      seq,
            const char *field)
{
  for (guint i = 0; i < errors->len; i++)
    {
      LkRowError *e = g_ptr_array_index (errors, i);

      if (e->seq == seq && g_strcmp0 (e->field, field) == 0)
        return e->message;
    }
  return NULL;
}

static void
test_validation_errors (void)
{
  g_autofree char *path = lk_test_write_file (
    "invalid.csv",
    "序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n"
    "1,浙江省,杭州市学军小学,沈佳怡,五年级(1)班,20180001,\n"
    "2,浙江省,杭州市学军小学,,五年级(1)班,20180002,\n"
    "3,浙江省,杭州市学军小学,韩小雪,五年级(1)班,20180001,\n"
    "abc,浙江省,杭州市学军小学,曹宇航,五年级(1)班,20180004,\n"
    "5,浙江省,杭州市学军小学,钱多多,,20180005,XYZ\n", -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GPtrArray) rows = read_path (path, &errors, &error);
  const char *message;

  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 5);

  /* missing name, duplicate student number, bad 序号, missing class, bad card number */
  g_assert_nonnull (find_error (errors, 2, "name"));
  g_assert_nonnull (find_error (errors, 3, "student_no"));
  message = find_error (errors, 0, "seq");
  g_assert_nonnull (message);
  /* the line of the file is named, since the row has no 序号 */
  g_assert_nonnull (strstr (message, "5"));
  g_assert_nonnull (strstr (message, "abc"));
  g_assert_nonnull (find_error (errors, 5, "class"));
  g_assert_nonnull (find_error (errors, 5, "card_no"));
  g_assert_null (find_error (errors, 1, "name"));
  g_assert_cmpuint (errors->len, ==, 5);
}

static JsonObject *
student (const char *school,
         const char *student_no,
         const char *name,
         const char *klass)
{
  JsonObject *object = json_object_new ();

  if (school != NULL)
    json_object_set_string_member (object, "school", school);
  json_object_set_string_member (object, "student_no", student_no);
  json_object_set_string_member (object, "name", name);
  json_object_set_string_member (object, "class", klass);
  return object;
}

static LkImportRow *
make_row (gint64      seq,
          const char *school,
          const char *name,
          const char *klass,
          const char *student_no)
{
  LkImportRow *row = lk_import_row_new ();

  row->seq = seq;
  row->province = g_strdup ("浙江省");
  row->school = g_strdup (school);
  row->name = g_strdup (name);
  row->klass = g_strdup (klass);
  row->student_no = g_strdup (student_no);
  return row;
}

static void
test_conflicts (void)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr(GPtrArray) students = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GPtrArray) errors = NULL;
  const char *message;

  g_ptr_array_add (rows, make_row (1, "甲小学", "张小明", "一年级(1)班", "001"));  /* same */
  g_ptr_array_add (rows, make_row (2, "甲小学", "李四", "一年级(1)班", "002"));    /* name */
  g_ptr_array_add (rows, make_row (3, "甲小学", "王五", "一年级(2)班", "003"));    /* class */
  g_ptr_array_add (rows, make_row (4, "甲小学", "赵六", "二年级(2)班", "004"));    /* both */
  g_ptr_array_add (rows, make_row (5, "甲小学", "孙七", "一年级(1)班", "005"));    /* new */
  g_ptr_array_add (rows, make_row (6, "乙小学", "周八", "一年级(1)班", "001"));    /* other school */

  g_ptr_array_add (students, student ("甲小学", "001", "张小明", "一年级(1)班"));
  g_ptr_array_add (students, student ("甲小学", "002", "李思思", "一年级(1)班"));
  g_ptr_array_add (students, student ("甲小学", "003", "王五", "一年级(1)班"));
  g_ptr_array_add (students, student ("甲小学", "004", "赵小六", "一年级(1)班"));

  errors = lk_roster_find_conflicts (rows, students);
  g_assert_cmpuint (errors->len, ==, 3);
  message = find_error (errors, 2, "name");
  g_assert_nonnull (message);
  /* the stored name is shown masked, never in full */
  g_assert_nonnull (strstr (message, "李*思"));
  g_assert_null (strstr (message, "李思思"));
  message = find_error (errors, 3, "class");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "一年级(1)班"));
  message = find_error (errors, 4, "name");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "一年级(1)班"));

  /* Students listed without their school: the student number alone is compared. */
  g_ptr_array_set_size (students, 0);
  g_ptr_array_add (students, student (NULL, "001", "张三丰", "一年级(1)班"));
  g_clear_pointer (&errors, g_ptr_array_unref);
  errors = lk_roster_find_conflicts (rows, students);
  g_assert_cmpuint (errors->len, ==, 2);
  g_assert_nonnull (find_error (errors, 1, "name"));
  g_assert_nonnull (find_error (errors, 6, "name"));
}

typedef struct
{
  GPtrArray *rows;
  GPtrArray *errors;
  GError    *error;
  gboolean   done;
  GArray    *fractions;
  GThread   *main_thread;
  gboolean   destroyed;
} AsyncState;

static void
on_progress_cb (double   fraction,
                gpointer user_data)
{
  AsyncState *state = user_data;

  /* delivered in the caller's context, i.e. where a window may be touched */
  g_assert_true (g_thread_self () == state->main_thread);
  g_array_append_val (state->fractions, fraction);
}

static void
on_progress_destroy (gpointer user_data)
{
  AsyncState *state = user_data;

  state->destroyed = TRUE;
}

static void
on_read_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_thread_self () == state->main_thread);
  state->rows = lk_roster_read_file_finish (result, &state->errors, &state->error);
  state->done = TRUE;
}

static void
test_async_progress (void)
{
  g_autofree char *path = lk_test_fixture ("opx-1000.xlsx");
  g_autoptr(GFile) file = NULL;
  AsyncState state = { 0 };

  if (path == NULL)
    return;
  file = g_file_new_for_path (path);
  state.fractions = g_array_new (FALSE, FALSE, sizeof (double));
  state.main_thread = g_thread_self ();

  lk_roster_read_file_async (file, NULL, on_progress_cb, &state, on_progress_destroy,
                             on_read_done_cb, &state);
  g_assert_true (lk_test_wait_for (&state.done, 30));
  g_assert_no_error (state.error);
  g_assert_cmpuint (state.rows->len, ==, 1000);
  assert_rows_expected (state.rows, "opx-1000");
  g_assert_cmpuint (state.errors->len, ==, 0);

  /* Progress may still be queued behind the result: wait for the relay to be dropped. */
  g_assert_true (lk_test_wait_for (&state.destroyed, 10));
  g_assert_cmpuint (state.fractions->len, >=, 2);
  for (guint i = 1; i < state.fractions->len; i++)
    g_assert_cmpfloat (g_array_index (state.fractions, double, i), >=,
                       g_array_index (state.fractions, double, i - 1));
  g_assert_cmpfloat (g_array_index (state.fractions, double, state.fractions->len - 1), ==, 1.0);

  g_ptr_array_unref (state.rows);
  g_ptr_array_unref (state.errors);
  g_array_unref (state.fractions);
}

static void
test_async_cancel (void)
{
  g_autofree char *path = lk_test_fixture ("opx-1000.xlsx");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GFile) file = NULL;
  AsyncState state = { 0 };

  if (path == NULL)
    return;
  file = g_file_new_for_path (path);
  state.main_thread = g_thread_self ();
  g_cancellable_cancel (cancellable);
  lk_roster_read_file_async (file, cancellable, NULL, NULL, NULL, on_read_done_cb, &state);
  g_assert_true (lk_test_wait_for (&state.done, 30));
  g_assert_null (state.rows);
  g_assert_error (state.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&state.error);
}

static void
on_process_done_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

/* LibreOffice, when installed: soffice --headless --convert-to xlsx from a CSV. */
static void
test_libreoffice (void)
{
  g_autofree char *soffice = g_find_program_in_path ("soffice");
  g_autofree char *csv = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *xlsx = NULL;
  g_autofree char *profile = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  gboolean done = FALSE;
  LkImportRow *row;

  if (soffice == NULL)
    {
      g_test_skip ("LibreOffice (soffice) is not installed");
      return;
    }

  csv = lk_test_write_file ("libreoffice.csv",
                            "序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n"
                            "1,浙江省,杭州市文三街小学,徐宇轩,三年级(1)班,2023001,\n"
                            "2,浙江省,杭州市文三街小学,马欣怡,三年级(1)班,2023002,A1B2C3D4\n", -1);
  dir = g_path_get_dirname (csv);
  profile = g_strconcat ("-env:UserInstallation=file://", dir, "/lo-profile", NULL);
  /* 44,34,76: comma, double quote, UTF-8; the student numbers become numbers, as typed */
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, soffice, profile, "--headless", "--infilter=CSV:44,34,76,1",
                              "--convert-to", "xlsx", "--outdir", dir, csv, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (process, NULL, on_process_done_cb, &done);
  g_assert_true (lk_test_wait_for (&done, 90));

  xlsx = g_build_filename (dir, "libreoffice.xlsx", NULL);
  rows = read_path (xlsx, &errors, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 2);
  g_assert_cmpuint (errors->len, ==, 0);
  row = g_ptr_array_index (rows, 0);
  g_assert_cmpint (row->seq, ==, 1);
  g_assert_cmpstr (row->province, ==, "浙江省");
  g_assert_cmpstr (row->school, ==, "杭州市文三街小学");
  g_assert_cmpstr (row->name, ==, "徐宇轩");
  g_assert_cmpstr (row->klass, ==, "三年级(1)班");
  g_assert_cmpstr (row->student_no, ==, "2023001");
  g_assert_null (row->card_no);
  row = g_ptr_array_index (rows, 1);
  g_assert_cmpint (row->seq, ==, 2);
  g_assert_cmpstr (row->name, ==, "马欣怡");
  g_assert_cmpstr (row->student_no, ==, "2023002");
  g_assert_cmpstr (row->card_no, ==, "A1B2C3D4");
}

static void
on_progress_cancel_cb (double   fraction,
                       gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* Cancelled half-way through (from the first progress report): the reading stops there. */
static void
test_cancel_midway (void)
{
  g_autoptr(GString) csv = g_string_new ("序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *path = NULL;

  for (guint i = 1; i <= 5000; i++)
    g_string_append_printf (csv, "%u,浙江省,杭州市学军小学,学生%u,五年级(1)班,S%06u,\n", i, i, i);
  path = lk_test_write_file ("cancel.csv", csv->str, (gssize) csv->len);
  file = g_file_new_for_path (path);

  rows = lk_roster_read_file (file, cancellable, on_progress_cancel_cb, cancellable, NULL, &error);
  g_assert_null (rows);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_format_number (void)
{
  static const struct { const char *in, *out; } cases[] = {
    { "2023001", "2023001" },
    { "2023001.0", "2023001" },
    { "1.0E+5", "100000" },
    { "1E5", "100000" },
    { "1.5e-07", "0.00000015" },
    { "2.0230010000000001E+6", "2023001" },
    { "0.30000000000000004", "0.3" },
    { "-3E-2", "-0.03" },
    { "12.50", "12.5" },
    { "0", "0" },
    { "-0", "0" },
    { "007", "7" },
    { "1.234567890123457e+16", "12345678901234600" },
    { "abc", "abc" },
    { "1e999", "1e999" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = lk_roster_format_number (cases[i].in);

      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

int
main (int   argc,
      char *argv[])
{
  static const char * const fixtures[] = {
    "opx-basic.xlsx", "opx-leading-zeros.xlsx", "opx-blank-rows.xlsx", "opx-extra-sheets.xlsx",
    "opx-extra-columns.xlsx", "opx-column-order.xlsx", "opx-whitespace.xlsx", "opx-no-seq.xlsx",
    "opx-1000.xlsx", "xl-excel.xlsx", "utf8-bom.csv", "gb18030.csv", "quoted.csv",
    "xls-basic.xls",
  };
  int ret;

  g_test_init (&argc, &argv, NULL);
  lk_i18n_init (NULL);

  g_test_add_func ("/admin/roster/format-number", test_format_number);
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/admin/roster/read/%s", fixtures[i]);

      g_test_add_data_func (test_path, fixtures[i], test_fixture_cb);
    }
  g_test_add_func ("/admin/roster/xlsx/numbers-as-numbers", test_numbers_as_numbers);
  g_test_add_func ("/admin/roster/xlsx/leading-zeros", test_leading_zeros);
  g_test_add_func ("/admin/roster/xlsx/excel-layout", test_excel_layout);
  g_test_add_func ("/admin/roster/xlsx/1000-rows", test_1000_rows);
  g_test_add_func ("/admin/roster/xlsx/libreoffice", test_libreoffice);
  for (guint i = 0; i < G_N_ELEMENTS (broken_cases); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/admin/roster/broken/%s", broken_cases[i].fixture);

      g_test_add_data_func (test_path, &broken_cases[i], test_broken_cb);
    }
  g_test_add_func ("/admin/roster/broken/missing-column-zh-CN", test_missing_column_translated);
  g_test_add_func ("/admin/roster/broken/no-header", test_no_header);
  g_test_add_func ("/admin/roster/broken/unsupported", test_unsupported);
  g_test_add_func ("/admin/roster/csv/bad-encoding", test_csv_bad_encoding);
  g_test_add_func ("/admin/roster/csv/unterminated-quote", test_csv_unterminated_quote);
  g_test_add_func ("/admin/roster/validate/row-errors", test_validation_errors);
  g_test_add_func ("/admin/roster/validate/conflicts", test_conflicts);
  g_test_add_func ("/admin/roster/async/progress", test_async_progress);
  g_test_add_func ("/admin/roster/async/cancel", test_async_cancel);
  g_test_add_func ("/admin/roster/cancel-midway", test_cancel_midway);

  ret = g_test_run ();
  lk_test_fixtures_cleanup ();

  return ret;
}
