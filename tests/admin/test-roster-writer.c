/* test-roster-writer.c: the template, the rows and the students export, read back
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lingka-common.h"
#include "lk-roster-reader.h"
#include "lk-roster-writer.h"
#include "test-roster-util.h"

static GPtrArray *
read_back (const char  *path,
           GPtrArray  **errors)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  GPtrArray *rows;

  rows = lk_roster_read_file (file, NULL, NULL, NULL, errors, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rows);

  return rows;
}

static char *
scratch_path (const char *name)
{
  /* a file in the scratch directory; the writer replaces it */
  return lk_test_write_file (name, "", 0);
}

static void
test_template (void)
{
  g_autofree char *path = scratch_path ("template.xlsx");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  LkImportRow *row;

  g_assert_true (lk_roster_write_template (path, &error));
  g_assert_no_error (error);

  /* The template is a roster: its header is found, its example row is valid. */
  rows = read_back (path, &errors);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpuint (errors->len, ==, 0);
  row = g_ptr_array_index (rows, 0);
  g_assert_cmpint (row->seq, ==, 1);
  g_assert_cmpstr (row->province, ==, "浙江省");
  g_assert_cmpstr (row->name, ==, "张小明");
  g_assert_cmpstr (row->klass, ==, "三年级(2)班");
  /* stored as text: the leading zeros stay */
  g_assert_cmpstr (row->student_no, ==, "0020230001");
  g_assert_null (row->card_no);
}

static void
test_rows_round_trip (void)
{
  g_autofree char *path = scratch_path ("rows.xlsx");
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 1; i <= 1000; i++)
    {
      LkImportRow *row = lk_import_row_new ();

      row->seq = i;
      row->province = g_strdup ("江苏省");
      row->school = g_strdup ("南京市琅琊路小学");
      row->klass = g_strdup_printf ("%u年级(%u)班", 1 + i % 6, 1 + i % 4);
      row->name = g_strdup_printf ("学生%u号", i);
      row->student_no = g_strdup_printf ("%08u", i);
      row->card_no = i % 5 ? NULL : g_strdup_printf ("%08X", 0xC0DE0000u + i);
      g_ptr_array_add (rows, row);
    }

  g_assert_true (lk_roster_write_rows (path, rows, &error));
  g_assert_no_error (error);
  back = read_back (path, &errors);
  g_assert_cmpuint (errors->len, ==, 0);
  g_assert_cmpuint (back->len, ==, rows->len);
  for (guint i = 0; i < rows->len; i++)
    g_assert_true (lk_import_row_equal (g_ptr_array_index (rows, i), g_ptr_array_index (back, i)));
}

static JsonObject *
student (const char *name,
         const char *klass,
         const char *student_no,
         const char *card_no,
         const char *status)
{
  JsonObject *object = json_object_new ();

  json_object_set_int_member (object, "id", 1);
  json_object_set_string_member (object, "province", "浙江省");
  json_object_set_string_member (object, "school", "杭州市天长小学");
  json_object_set_string_member (object, "name", name);
  json_object_set_string_member (object, "class", klass);
  json_object_set_string_member (object, "student_no", student_no);
  if (card_no != NULL)
    json_object_set_string_member (object, "card_no", card_no);
  else
    json_object_set_null_member (object, "card_no");
  json_object_set_string_member (object, "status", status);
  return object;
}

static void
test_export_students (void)
{
  g_autofree char *path = scratch_path ("students.xlsx");
  g_autoptr(GPtrArray) students = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  LkImportRow *row;

  g_ptr_array_add (students, student ("王一诺", "一年级(1)班", "0012", "0A1B2C3D", "issued"));
  g_ptr_array_add (students, student ("李子墨", "一年级(1)班", "0013", NULL, "paid"));
  g_ptr_array_add (students, student ("周子涵", "一年级(2)班", "0014", NULL, "none"));

  g_assert_true (lk_roster_export_students (path, students, &error));
  g_assert_no_error (error);

  /* The export reads back as a roster (no 序号 column: numbered in order). */
  back = read_back (path, &errors);
  g_assert_cmpuint (back->len, ==, 3);
  g_assert_cmpuint (errors->len, ==, 0);
  row = g_ptr_array_index (back, 0);
  g_assert_cmpint (row->seq, ==, 1);
  g_assert_cmpstr (row->name, ==, "王一诺");
  g_assert_cmpstr (row->student_no, ==, "0012");
  g_assert_cmpstr (row->card_no, ==, "0A1B2C3D");
  row = g_ptr_array_index (back, 2);
  g_assert_cmpstr (row->klass, ==, "一年级(2)班");
  g_assert_null (row->card_no);
}

static void
test_status_labels (void)
{
  /* zh_CN first */
  g_assert_cmpstr (lk_roster_status_label ("issued"), ==, "已发卡");
  g_assert_cmpstr (lk_roster_status_label (NULL), ==, "未申请");
  g_assert_cmpstr (lk_roster_status_label ("claimable"), ==, "待领卡");
  g_assert_cmpstr (lk_roster_status_label ("something-new"), ==, "something-new");
}

static void
test_write_error (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (lk_roster_write_template ("/nonexistent-dir/sub/template.xlsx", &error));
  g_assert_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "template.xlsx"));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  lk_i18n_init (NULL);

  g_test_add_func ("/admin/roster-writer/template", test_template);
  g_test_add_func ("/admin/roster-writer/rows-round-trip", test_rows_round_trip);
  g_test_add_func ("/admin/roster-writer/export-students", test_export_students);
  g_test_add_func ("/admin/roster-writer/status-labels", test_status_labels);
  g_test_add_func ("/admin/roster-writer/write-error", test_write_error);

  ret = g_test_run ();
  lk_test_fixtures_cleanup ();

  return ret;
}
