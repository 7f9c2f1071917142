/* test-cli.c: lingka-admin --check and --import, as processes, their output parsed as JSON
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lingka-common.h"
#include "lk-admin-cli.h"
#include "test-roster-util.h"
#include "test-upload-mock.h"

#define DEADLINE_S 60

static const char *roster_csv =
  "序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n"
  "1,浙江省,杭州市文三街小学,徐宇轩,三年级(1)班,0020230001,\n"
  "2,浙江省,杭州市文三街小学,马欣怡,三年级(1)班,20230002,A1B2C3D4\n"
  "3,浙江省,杭州市文三街小学,\"张,嘉懿\",三年级(2)班,20230003,\n";

typedef struct
{
  char     *out;
  char     *err;
  int       status;
  gboolean  done;
} Run;

static void
on_communicate_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run->status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  run->done = TRUE;
}

/* Runs a program while this process's main context keeps serving (the mock server). */
static void
run_program (Run         *run,
             const char  *stdin_text,
             const char * const *argv)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  memset (run, 0, sizeof *run);
  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, stdin_text ? stdin_text : "", NULL,
                                       on_communicate_cb, run);
  g_assert_true (lk_test_wait_for (&run->done, DEADLINE_S));
  g_test_message ("exit %d\nstdout:\n%s\nstderr:\n%s", run->status, run->out, run->err);
}

static void
run_driver (Run        *run,
            const char *stdin_text,
            const char *mode,
            const char *path,
            const char *url,
            const char *user)
{
  g_autofree char *driver = g_test_build_filename (G_TEST_BUILT, "admin", "test-cli-driver", NULL);
  const char *argv[] = { driver, mode, path, url, user, NULL };

  run_program (run, stdin_text, argv);
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

/* Each non-empty line of @text as a JSON object. */
static GPtrArray *
json_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;

      if (*lines[i] == '\0')
        continue;
      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      g_ptr_array_add (objects, json_node_ref (json_parser_get_root (parser)));
    }

  return objects;
}

static void
assert_row (JsonNode   *node,
            gint64      seq,
            const char *name,
            const char *student_no,
            const char *card_no)
{
  static const char * const keys[] = { "seq", "province", "school", "class", "name", "student_no", "card_no" };
  JsonObject *object = json_node_get_object (node);
  g_autoptr(GList) members = json_object_get_members (object);
  guint k = 0;

  /* DESIGN.md's row fields, in order, and nothing else */
  for (GList *l = members; l != NULL; l = l->next, k++)
    g_assert_cmpstr (l->data, ==, keys[k]);
  g_assert_cmpuint (k, ==, G_N_ELEMENTS (keys));

  g_assert_cmpint (json_object_get_int_member (object, "seq"), ==, seq);
  g_assert_cmpstr (json_object_get_string_member (object, "province"), ==, "浙江省");
  g_assert_cmpstr (json_object_get_string_member (object, "school"), ==, "杭州市文三街小学");
  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (object, "student_no"), ==, student_no);
  if (card_no == NULL)
    g_assert_true (json_object_get_null_member (object, "card_no"));
  else
    g_assert_cmpstr (json_object_get_string_member (object, "card_no"), ==, card_no);
}

static void
test_check_ok (void)
{
  g_autofree char *path = lk_test_write_file ("cli-ok.csv", roster_csv, -1);
  g_autoptr(GPtrArray) rows = NULL;
  Run run;

  run_driver (&run, NULL, "--check", path, NULL, NULL);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_OK);
  g_assert_cmpstr (run.err, ==, "");
  rows = json_lines (run.out);
  g_assert_cmpuint (rows->len, ==, 3);
  assert_row (rows->pdata[0], 1, "徐宇轩", "0020230001", NULL);
  assert_row (rows->pdata[1], 2, "马欣怡", "20230002", "A1B2C3D4");
  assert_row (rows->pdata[2], 3, "张,嘉懿", "20230003", NULL);
  run_clear (&run);
}

static void
test_check_xlsx (void)
{
  g_autofree char *path = lk_test_fixture ("opx-1000.xlsx");
  g_autoptr(GPtrArray) rows = NULL;
  Run run;

  if (path == NULL)
    return;
  run_driver (&run, NULL, "--check", path, NULL, NULL);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_OK);
  rows = json_lines (run.out);
  g_assert_cmpuint (rows->len, ==, 1000);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (rows->pdata[2]), "student_no"),
                   ==, "0000000003");
  run_clear (&run);
}

static void
test_check_row_errors (void)
{
  g_autofree char *path = lk_test_write_file (
    "cli-errors.csv",
    "序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n"
    "1,浙江省,杭州市文三街小学,徐宇轩,三年级(1)班,20230001,\n"
    "2,浙江省,杭州市文三街小学,,三年级(1)班,20230002,\n"
    "3,浙江省,杭州市文三街小学,张嘉懿,三年级(2)班,20230001,\n", -1);
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  JsonObject *e;
  Run run;

  run_driver (&run, NULL, "--check", path, NULL, NULL);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_ROW_ERRORS);
  /* every row is still printed, so a script sees what was read */
  rows = json_lines (run.out);
  g_assert_cmpuint (rows->len, ==, 3);
  errors = json_lines (run.err);
  g_assert_cmpuint (errors->len, ==, 2);
  e = json_node_get_object (errors->pdata[0]);
  g_assert_cmpint (json_object_get_int_member (e, "seq"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (e, "field"), ==, "name");
  g_assert_cmpstr (json_object_get_string_member (e, "message"), !=, "");
  e = json_node_get_object (errors->pdata[1]);
  g_assert_cmpint (json_object_get_int_member (e, "seq"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (e, "field"), ==, "student_no");
  run_clear (&run);
}

static void
test_check_broken (void)
{
  g_autofree char *path = lk_test_write_file ("cli-broken.xlsx", "this is not a workbook", -1);
  g_autoptr(GPtrArray) errors = NULL;
  Run run;

  run_driver (&run, NULL, "--check", path, NULL, NULL);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_FAILED);
  g_assert_cmpstr (run.out, ==, "");
  errors = json_lines (run.err);
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_nonnull (strstr (json_object_get_string_member (json_node_get_object (errors->pdata[0]), "error"),
                            "cli-broken.xlsx"));
  run_clear (&run);
}

static void
test_import (void)
{
  g_autoptr(MockServer) mock = mock_server_new ();
  g_autofree char *path = lk_test_write_file ("cli-import.csv", roster_csv, -1);
  g_autoptr(GPtrArray) result = NULL;
  JsonObject *object;
  LkImportRow *row;
  Run run;

  run_driver (&run, MOCK_PASSWORD "\n", "--import", path, mock->base_url, MOCK_USER);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_OK);
  result = json_lines (run.out);
  g_assert_cmpuint (result->len, ==, 1);
  object = json_node_get_object (result->pdata[0]);
  g_assert_cmpint (json_object_get_int_member (object, "inserted"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (object, "updated"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (object, "attempts"), ==, 1);
  /* progress went to stderr and the password did not */
  g_assert_nonnull (strstr (run.err, "上传成功"));
  g_assert_null (strstr (run.err, MOCK_PASSWORD));
  g_assert_null (strstr (run.out, MOCK_PASSWORD));

  g_assert_cmpuint (mock->commits, ==, 1);
  g_assert_cmpuint (g_hash_table_size (mock->students), ==, 3);
  row = g_hash_table_lookup (mock->students, "0020230001");
  g_assert_nonnull (row);
  g_assert_cmpstr (row->name, ==, "徐宇轩");
  row = g_hash_table_lookup (mock->students, "20230003");
  g_assert_cmpstr (row->name, ==, "张,嘉懿");
  run_clear (&run);
}

static void
test_import_retry_and_fail (void)
{
  g_autoptr(MockServer) mock = mock_server_new ();
  g_autofree char *path = lk_test_write_file ("cli-import-fail.csv", roster_csv, -1);
  g_autoptr(GPtrArray) errors = NULL;
  Run run;

  /* three bad echoes in a row: 上传失败 and a non-zero status */
  mock->corrupt_echo = 3;
  run_driver (&run, MOCK_PASSWORD "\n", "--import", path, mock->base_url, MOCK_USER);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_FAILED);
  g_assert_cmpuint (mock->frames, ==, 3);
  g_assert_cmpuint (mock->commits, ==, 0);
  errors = json_lines (g_strrstr (run.err, "{\"error\""));
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (json_node_get_object (errors->pdata[0]),
                                                                  "error"), "上传失败"));
  run_clear (&run);
}

static void
test_import_wrong_password (void)
{
  g_autoptr(MockServer) mock = mock_server_new ();
  g_autofree char *path = lk_test_write_file ("cli-import-pw.csv", roster_csv, -1);
  Run run;

  run_driver (&run, "not-the-password\n", "--import", path, mock->base_url, MOCK_USER);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_FAILED);
  g_assert_nonnull (strstr (run.err, "登录失败"));
  g_assert_null (strstr (run.err, "not-the-password"));
  g_assert_cmpuint (mock->frames, ==, 0);
  run_clear (&run);
}

static void
test_import_row_errors (void)
{
  g_autoptr(MockServer) mock = mock_server_new ();
  g_autofree char *path = lk_test_write_file (
    "cli-import-bad.csv",
    "序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n"
    "1,浙江省,杭州市文三街小学,,三年级(1)班,20230001,\n", -1);
  g_autoptr(GPtrArray) errors = NULL;
  Run run;

  /* nothing is sent while a row is wrong */
  run_driver (&run, MOCK_PASSWORD "\n", "--import", path, mock->base_url, MOCK_USER);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_ROW_ERRORS);
  g_assert_cmpuint (mock->logins, ==, 0);
  g_assert_cmpuint (mock->frames, ==, 0);
  errors = json_lines (run.err);
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (errors->pdata[0]), "field"),
                   ==, "name");
  run_clear (&run);
}

/* The real lingka-admin: --check runs without a display (MEASURED.md pitfall 10). */
static void
test_lingka_admin_check (void)
{
  g_autofree char *path = lk_test_write_file ("cli-app.csv", roster_csv, -1);
  g_autoptr(GPtrArray) rows = NULL;
  const char *argv[] = { LINGKA_ADMIN, "--check", path, NULL };
  Run run;

  if (!g_file_test (LINGKA_ADMIN, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("lingka-admin is not built");
      return;
    }

  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");
  run_program (&run, NULL, argv);
  g_assert_cmpint (run.status, ==, LK_ADMIN_CLI_OK);
  rows = json_lines (run.out);
  g_assert_cmpuint (rows->len, ==, 3);
  assert_row (rows->pdata[0], 1, "徐宇轩", "0020230001", NULL);
  run_clear (&run);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  lk_i18n_init (NULL);

  g_test_add_func ("/admin/cli/check/ok", test_check_ok);
  g_test_add_func ("/admin/cli/check/xlsx", test_check_xlsx);
  g_test_add_func ("/admin/cli/check/row-errors", test_check_row_errors);
  g_test_add_func ("/admin/cli/check/broken", test_check_broken);
  g_test_add_func ("/admin/cli/import/ok", test_import);
  g_test_add_func ("/admin/cli/import/three-failures", test_import_retry_and_fail);
  g_test_add_func ("/admin/cli/import/wrong-password", test_import_wrong_password);
  g_test_add_func ("/admin/cli/import/row-errors", test_import_row_errors);
  g_test_add_func ("/admin/cli/lingka-admin/check", test_lingka_admin_check);

  ret = g_test_run ();
  lk_test_fixtures_cleanup ();

  return ret;
}
