/* test-cli.c: lingka-server on the command line: --help, provisioning (operator, school,
 * teacher, kiosk), refused arguments, and --backup while a server is serving and writing
 *
 * The path of lingka-server is the first argument (meson passes it).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "lingka-common.h"
#include "lk-store-claims.h"
#include "lk-test-server.h"

static const char *server_path;
static const char *example_config;

/* Runs lingka-server with @args (NULL-terminated), @input on stdin; returns the exit status. */
static int
run (const char  *input,
     char       **out,
     const char  *first,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer) server_path);
  va_start (args, first);
  for (arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  if (stderr_text != NULL && *stderr_text != '\0')
    g_test_message ("stderr: %s", stderr_text);
  if (out != NULL)
    *out = g_strstrip (g_steal_pointer (&stdout_text));
  return g_subprocess_get_exit_status (process);
}

static void
test_help (void)
{
  const char *flags[] = { "--config", "--data-dir", "--listen", "--port", "--sandbox", "--create-operator",
                          "--add-teacher", "--school-id", "--add-school", "--register-kiosk", "--backup",
                          "--threads" };
  g_autofree char *out = NULL;

  g_assert_cmpint (run (NULL, &out, "--help", NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    g_assert_nonnull (strstr (out, flags[i]));
}

static void
test_example_config (void)
{
  g_autoptr(LkConfig) config = lk_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  lk_config_load_file (config, example_config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lk_config_get_listen (config), ==, "0.0.0.0");
  g_assert_cmpuint (lk_config_get_port (config), ==, 8443);
  g_assert_cmpstr (lk_config_get_data_dir (config), ==, "/var/lib/lingka");
  g_assert_cmpint (lk_config_get_fee_fen (config), ==, 2000);
  g_assert_false (lk_config_get_sandbox (config));
  g_assert_cmpstr (lk_config_get_digest_alg (config), ==, "pbkdf2-sha256");
  g_assert_cmpuint (lk_config_get_password_iterations (config), >=, 100000);
  /* And the program reads it: flags override the file. */
  g_assert_cmpint (run (NULL, &out, "--config", example_config, "--port", "99999", NULL), ==, 2);
}

static void
test_refused_arguments (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lingka-cli-XXXXXX", NULL);

  g_assert_cmpint (run (NULL, NULL, "--port", "70000", NULL), ==, 2);
  g_assert_cmpint (run (NULL, NULL, "--data-dir", dir, "--add-teacher", "t", NULL), ==, 2);
  g_assert_cmpint (run (NULL, NULL, "--data-dir", dir, "--backup", "x.db", "--add-school", "a/b", NULL), ==, 2);
  g_assert_cmpint (run (NULL, NULL, "unexpected", NULL), ==, 2);
  /* A short password, and a school without a province. */
  g_assert_cmpint (run ("short\n", NULL, "--data-dir", dir, "--create-operator", "op", NULL), ==, 1);
  g_assert_cmpint (run (NULL, NULL, "--data-dir", dir, "--add-school", "no-slash", NULL), ==, 1);
  /* A kiosk for a school that does not exist. */
  g_assert_cmpint (run (NULL, NULL, "--data-dir", dir, "--register-kiosk", "K9", "--school-id", "42", NULL), ==, 1);
}

static void
test_provisioning (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lingka-cli-XXXXXX", NULL);
  g_autofree char *school = NULL;
  g_autofree char *operator_id = NULL;
  g_autofree char *teacher_id = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *again = NULL;
  g_autofree char *db_path = g_build_filename (dir, "lingka.db", NULL);
  g_autofree char *key_path = g_build_filename (dir, "secret.key", NULL);
  g_autoptr(LkStore) store = NULL;
  g_autoptr(LkKioskRecord) kiosk = NULL;
  g_autoptr(LkKioskRecord) forged = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_cmpint (run (NULL, &school, "--data-dir", dir, "--add-school", "浙江省/杭州市文三小学", NULL), ==, 0);
  g_assert_cmpstr (school, ==, "1");
  /* The same school again is the same id. */
  g_assert_cmpint (run (NULL, &again, "--data-dir", dir, "--add-school", " 浙江省 / 杭州市文三小学 ", NULL), ==, 0);
  g_assert_cmpstr (again, ==, "1");
  g_assert_cmpint (run ("operator-password\n", &operator_id, "--data-dir", dir, "--create-operator", "op", NULL), ==, 0);
  g_assert_cmpint (run ("teacher-password\n", &teacher_id, "--data-dir", dir, "--add-teacher", "wang",
                        "--school-id", "1", NULL), ==, 0);
  g_assert_cmpint (run (NULL, &secret, "--data-dir", dir, "--register-kiosk", "K-001", "--school-id", "1", NULL), ==, 0);
  g_assert_cmpuint (strlen (secret), ==, 48);
  /* Twice the same SN is refused. */
  g_assert_cmpint (run (NULL, NULL, "--data-dir", dir, "--register-kiosk", "K-001", "--school-id", "1", NULL), ==, 1);

  store = lk_store_new (db_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lk_store_debug_count (store, "users", "role = 'operator' AND password_hash LIKE 'pbkdf2-sha256$%'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "users", "role = 'teacher' AND school_id = 1"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (store, "users", "password_hash LIKE '%password%'"), ==, 0);
  kiosk = lk_store_kiosk_authenticate (store, "K-001", secret, &error);
  g_assert_no_error (error);
  g_assert_nonnull (kiosk);
  forged = lk_store_kiosk_authenticate (store, "K-001", "0000", NULL);
  g_assert_null (forged);

  /* The data dir and the key are private. */
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* A server on that dir lets the operator in. */
  {
    g_autoptr(LkConfig) config = lk_config_new ();
    g_autoptr(LkServer) server = NULL;
    g_autoptr(SoupSession) session = soup_session_new ();
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(GBytes) reply = NULL;
    g_autoptr(GBytes) body = g_bytes_new_static ("{\"username\":\"op\",\"password\":\"operator-password\"}", 48);
    g_autofree char *url = NULL;

    lk_config_set_data_dir (config, dir);
    lk_config_set_listen (config, "127.0.0.1");
    lk_config_set_port (config, 0);
    server = lk_server_new (config, &error);
    g_assert_no_error (error);
    lk_server_start (server, &error);
    g_assert_no_error (error);
    g_assert_cmpint (g_stat (key_path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
    g_assert_cmpint (st.st_size, ==, LK_SERVER_KEY_LEN);

    url = g_strdup_printf ("http://127.0.0.1:%u/api/v1/auth/login", lk_server_get_port (server));
    msg = soup_message_new ("POST", url);
    soup_message_set_request_body_from_bytes (msg, "application/json", body);
    reply = soup_session_send_and_read (session, msg, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
    lk_server_stop (server);
  }
}

typedef struct
{
  LkTestServer *ts;
  gint          stop;   /* atomic */
  guint         writes;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *auth = g_strconcat ("Bearer ", w->ts->operator_token, NULL);

  while (!g_atomic_int_get (&w->stop))
    {
      g_autofree char *url = g_strdup_printf ("%s/api/v1/students", w->ts->base_url);
      g_autofree char *json = g_strdup_printf ("{\"school_id\": %" G_GINT64_FORMAT ", \"class\": \"一年级(1)班\","
                                               " \"name\": \"学生%u\", \"student_no\": \"B%06u\"}",
                                               w->ts->school_id, w->writes, w->writes);
      g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
      g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));
      g_autoptr(GBytes) reply = NULL;

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
      soup_message_set_request_body_from_bytes (msg, "application/json", body);
      reply = soup_session_send_and_read (session, msg, NULL, NULL);
      g_assert_cmpuint (soup_message_get_status (msg), ==, 201);
      w->writes++;
    }
  return NULL;
}

static void
test_backup_while_serving (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *backup_dir = g_dir_make_tmp ("lingka-backup-XXXXXX", NULL);
  g_autofree char *during = g_build_filename (backup_dir, "during.db", NULL);
  g_autofree char *after = g_build_filename (backup_dir, "after.db", NULL);
  g_autoptr(LkStore) copy = NULL;
  g_autoptr(LkStore) final_copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *live_sum = NULL;
  g_autofree char *copy_sum = NULL;
  Writer writer = { ts, 0, 0 };
  GThread *thread;
  gint64 copied;

  /* Backups while a writer keeps adding students through the API. */
  thread = g_thread_new ("writer", writer_thread, &writer);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (run (NULL, NULL, "--data-dir", ts->data_dir, "--backup", during, NULL), ==, 0);
  g_atomic_int_set (&writer.stop, 1);
  g_thread_join (thread);
  g_assert_cmpuint (writer.writes, >, 0);

  {
    GStatBuf st;

    g_assert_cmpint (g_stat (during, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  }
  copy = lk_store_new_read_only (during, &error);
  g_assert_no_error (error);
  copied = lk_store_debug_count (copy, "students", NULL);
  g_assert_cmpint (copied, >=, 0);
  g_assert_cmpint (copied, <=, writer.writes);
  /* Consistent: every student's audit row is there too (one transaction each). */
  g_assert_cmpint (lk_store_debug_count (copy, "audit_log", "action = 'students.create'"), ==, copied);

  /* Once quiet, the copy holds exactly the live rows. */
  g_assert_cmpint (run (NULL, NULL, "--data-dir", ts->data_dir, "--backup", after, NULL), ==, 0);
  final_copy = lk_store_new_read_only (after, &error);
  g_assert_no_error (error);
  live_sum = lk_store_debug_checksum (lk_server_get_store (ts->server), &error);
  g_assert_no_error (error);
  copy_sum = lk_store_debug_checksum (final_copy, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (live_sum, ==, copy_sum);
  g_assert_cmpint (lk_store_debug_count (final_copy, "students", NULL), ==, writer.writes);

  /* The server kept serving throughout. */
  {
    g_autoptr(JsonNode) reply = NULL;
    g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/students", ts->operator_token, NULL, &reply), ==, 200);
  }
  g_unlink (during);
  g_unlink (after);
  g_rmdir (backup_dir);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init ("en");

  g_assert_cmpint (argc, >=, 3);
  server_path = argv[1];
  example_config = argv[2];

  g_test_add_func ("/server/cli/help", test_help);
  g_test_add_func ("/server/cli/example-config", test_example_config);
  g_test_add_func ("/server/cli/refused-arguments", test_refused_arguments);
  g_test_add_func ("/server/cli/provisioning", test_provisioning);
  g_test_add_func ("/server/cli/backup-while-serving", test_backup_while_serving);
  return g_test_run ();
}
