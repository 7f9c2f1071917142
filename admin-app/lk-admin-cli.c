/* lk-admin-cli.c: lingka-admin's command-line modes for operators' scripts
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-admin-cli.h"
#include "lk-api-client.h"
#include "lk-import-upload.h"
#include "lk-roster-reader.h"

/* How long --import waits for the server at most, end to end. */
#define CLI_DEADLINE_S 600

typedef struct
{
  GMainContext   *context;
  GAsyncResult   *result;
} Waiter;

static void
on_done_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Waiter *waiter = user_data;

  waiter->result = g_object_ref (result);
  g_main_context_wakeup (waiter->context);
}

static gboolean
waiter_wait (Waiter *waiter)
{
  gint64 deadline = g_get_monotonic_time () + CLI_DEADLINE_S * G_USEC_PER_SEC;

  while (waiter->result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (waiter->context, TRUE);
  return waiter->result != NULL;
}

static void
print_json_line (FILE     *stream,
                 JsonNode *node)
{
  g_autofree char *text = lk_json_to_string (node);

  fputs (text, stream);
  fputc ('\n', stream);
}

static void
print_fatal (const char *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  print_json_line (stderr, node);
}

static void
print_row_errors (GPtrArray *errors)
{
  for (guint i = 0; errors != NULL && i < errors->len; i++)
    {
      LkRowError *e = g_ptr_array_index (errors, i);
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, e->seq);
      json_builder_set_member_name (builder, "field");
      if (e->field != NULL)
        json_builder_add_string_value (builder, e->field);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, e->message ? e->message : "");
      json_builder_end_object (builder);
      node = json_builder_get_root (builder);
      print_json_line (stderr, node);
    }
}

/* Reads and validates; prints the row errors. Returns the rows or NULL (printed). */
static GPtrArray *
read_roster (const char  *path,
             GPtrArray  **row_errors)
{
  g_autoptr(GFile) file = g_file_new_for_commandline_arg (path);
  g_autoptr(GError) error = NULL;
  GPtrArray *rows;

  rows = lk_roster_read_file (file, NULL, NULL, NULL, row_errors, &error);
  if (rows == NULL)
    print_fatal (error->message);

  return rows;
}

int
lk_admin_cli_check (const char *path)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;

  g_return_val_if_fail (path != NULL, LK_ADMIN_CLI_FAILED);

  rows = read_roster (path, &errors);
  if (rows == NULL)
    return LK_ADMIN_CLI_FAILED;

  for (guint i = 0; i < rows->len; i++)
    {
      g_autoptr(JsonNode) node = lk_import_row_to_json (g_ptr_array_index (rows, i));

      print_json_line (stdout, node);
    }
  fflush (stdout);
  print_row_errors (errors);
  fflush (stderr);

  return errors->len == 0 ? LK_ADMIN_CLI_OK : LK_ADMIN_CLI_ROW_ERRORS;
}

/* The first line of standard input, without echo when it is a terminal. */
static char *
read_password (void)
{
  g_autoptr(GString) line = g_string_new (NULL);
  struct termios saved, quiet;
  gboolean tty = isatty (STDIN_FILENO);
  int c;

  if (tty)
    {
      fputs (_("Password: "), stderr);
      fflush (stderr);
      tcgetattr (STDIN_FILENO, &saved);
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    }

  while ((c = fgetc (stdin)) != EOF && c != '\n')
    g_string_append_c (line, (char) c);
  if (line->len > 0 && line->str[line->len - 1] == '\r')
    g_string_truncate (line, line->len - 1);

  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
      fputc ('\n', stderr);
    }

  return g_string_free (g_steal_pointer (&line), FALSE);
}

static void
on_upload_progress_cb (LkImportUpload *upload,
                       double          fraction,
                       const char     *stage,
                       gpointer        user_data)
{
  fprintf (stderr, "%3d%% %s\n", (int) (fraction * 100.0 + 0.5), stage);
  fflush (stderr);
}

static int
run_import (const char *path,
            const char *server_url,
            const char *user,
            const char *password,
            GMainContext *context)
{
  g_autoptr(LkApiClient) client = NULL;
  g_autoptr(LkImportUpload) upload = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) node = NULL;
  LkImportResult result = { 0 };
  Waiter login = { context, NULL };
  Waiter run = { context, NULL };
  gboolean ok;

  /* Nothing is sent when a row is wrong: the teacher fixes the file first. */
  rows = read_roster (path, &errors);
  if (rows == NULL)
    return LK_ADMIN_CLI_FAILED;
  if (errors->len > 0)
    {
      print_row_errors (errors);
      return LK_ADMIN_CLI_ROW_ERRORS;
    }

  client = lk_api_client_new (server_url);
  lk_api_client_login_async (client, user, password, NULL, on_done_cb, &login);
  if (!waiter_wait (&login))
    {
      print_fatal (_("The server did not answer in time"));
      return LK_ADMIN_CLI_FAILED;
    }
  ok = lk_api_client_login_finish (client, login.result, &error);
  g_clear_object (&login.result);
  if (!ok)
    {
      g_autofree char *message = g_strdup_printf (_("Login failed: %s"), error->message);

      print_fatal (message);
      return LK_ADMIN_CLI_FAILED;
    }

  upload = lk_import_upload_new (client, rows);
  g_signal_connect (upload, "progress", G_CALLBACK (on_upload_progress_cb), NULL);
  lk_import_upload_run_async (upload, NULL, on_done_cb, &run);
  if (!waiter_wait (&run))
    {
      print_fatal (_("The server did not answer in time"));
      return LK_ADMIN_CLI_FAILED;
    }
  ok = lk_import_upload_run_finish (upload, run.result, &result, &error);
  g_clear_object (&run.result);
  if (!ok)
    {
      print_fatal (error->message);
      if (g_error_matches (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_INVALID_ROWS))
        {
          print_row_errors (lk_import_upload_get_row_errors (upload));
          return LK_ADMIN_CLI_ROW_ERRORS;
        }
      return LK_ADMIN_CLI_FAILED;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "batch_id");
  json_builder_add_int_value (builder, result.batch_id);
  json_builder_set_member_name (builder, "inserted");
  json_builder_add_int_value (builder, result.inserted);
  json_builder_set_member_name (builder, "updated");
  json_builder_add_int_value (builder, result.updated);
  json_builder_set_member_name (builder, "unchanged");
  json_builder_add_int_value (builder, result.unchanged);
  json_builder_set_member_name (builder, "attempts");
  json_builder_add_int_value (builder, result.attempts);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  print_json_line (stdout, node);
  fflush (stdout);

  return LK_ADMIN_CLI_OK;
}

int
lk_admin_cli_import (const char *path,
                     const char *server_url,
                     const char *user)
{
  g_autoptr(GMainContext) context = NULL;
  g_autofree char *password = NULL;
  int status;

  g_return_val_if_fail (path != NULL, LK_ADMIN_CLI_FAILED);

  if (server_url == NULL || user == NULL)
    {
      print_fatal (_("--import needs --server URL and --user NAME"));
      return LK_ADMIN_CLI_FAILED;
    }

  password = read_password ();
  if (*password == '\0')
    {
      print_fatal (_("No password on standard input"));
      return LK_ADMIN_CLI_FAILED;
    }

  /* A private context: the calls complete here whatever the caller's loop does. */
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  status = run_import (path, server_url, user, password, context);
  /* Let the session close its connections before the context goes. */
  while (g_main_context_pending (context))
    g_main_context_iteration (context, FALSE);
  g_main_context_pop_thread_default (context);

  memset (password, 0, strlen (password));

  return status;
}
