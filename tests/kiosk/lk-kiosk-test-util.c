/* lk-kiosk-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "lingka-common.h"
#include "lk-kiosk-test-util.h"

gboolean
lk_test_set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

char *
lk_test_make_code (const char *seven)
{
  return g_strdup_printf ("%s%u", seven, lk_damm_check_digit (seven, -1));
}

void
lk_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        lk_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}
