/* test-roster-util.c: fixtures and waiting helpers for the roster tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "test-roster-util.h"

static char *fixtures_dir;
static char *scratch_dir;
static char *fixtures_error;
static gboolean fixtures_tried;

static char *
make_tmp_dir (GError **error)
{
  /* g_mkdtemp's template: six placeholder characters at the end */
  g_autofree char *placeholders = g_strnfill (6, 'X');
  g_autofree char *tmpl = g_strconcat ("lingka-roster-", placeholders, NULL);

  return g_dir_make_tmp (tmpl, error);
}

static gboolean
on_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
lk_test_wait_for (gboolean *flag,
                  guint     timeout_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (timeout_s, on_timeout_cb, &timed_out);

  while (!*flag && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);

  return *flag;
}

static void
make_fixtures (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  g_autofree char *err_text = NULL;
  g_autofree char *dir = NULL;
  int status = 0;
  const char *python = PYTHON3;

  fixtures_tried = TRUE;
  if (*python == '\0')
    {
      fixtures_error = g_strdup ("python3 with openpyxl was not found when configuring");
      return;
    }

  dir = make_tmp_dir (&error);
  g_assert_no_error (error);

  script = g_strdup (MAKE_FIXTURES);
  {
    const char *argv[] = { python, script, dir, NULL };

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                       &err_text, &status, &error) ||
        !g_spawn_check_wait_status (status, &error))
      {
        /* the skip reason goes into one TAP line */
        fixtures_error = g_strdup_printf ("make-fixtures.py failed: %s", error->message);
        g_printerr ("%s\n%s", fixtures_error, err_text ? err_text : "");
        g_rmdir (dir);
        return;
      }
  }

  fixtures_dir = g_steal_pointer (&dir);
}

const char *
lk_test_fixtures_dir (char **why)
{
  if (!fixtures_tried)
    make_fixtures ();
  if (why != NULL)
    *why = fixtures_error;

  return fixtures_dir;
}

char *
lk_test_fixture (const char *name)
{
  char *why = NULL;
  const char *dir = lk_test_fixtures_dir (&why);

  if (dir == NULL)
    {
      g_test_skip (why);
      return NULL;
    }

  return g_build_filename (dir, name, NULL);
}

char *
lk_test_write_file (const char *name,
                    const char *text,
                    gssize      len)
{
  g_autoptr(GError) error = NULL;
  char *path;

  if (scratch_dir == NULL)
    {
      scratch_dir = make_tmp_dir (&error);
      g_assert_no_error (error);
    }

  path = g_build_filename (scratch_dir, name, NULL);
  g_file_set_contents (path, text, len, &error);
  g_assert_no_error (error);

  return path;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  /* a directory of files and directories made by this test (soffice adds a profile) */
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
remove_dir (char **dir_path)
{
  if (*dir_path == NULL)
    return;
  remove_tree (*dir_path);
  g_clear_pointer (dir_path, g_free);
}

void
lk_test_fixtures_cleanup (void)
{
  remove_dir (&fixtures_dir);
  remove_dir (&scratch_dir);
}
