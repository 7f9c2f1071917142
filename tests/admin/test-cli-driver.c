/* test-cli-driver.c: runs lk_admin_cli_check/import as a process of its own, the way
 * lingka-admin's handle-local-options does, so test-cli can read its output and status
 *
 *   test-cli-driver --check FILE
 *   test-cli-driver --import FILE URL USER     (password on stdin)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-admin-cli.h"

int
main (int   argc,
      char *argv[])
{
  lk_i18n_init (NULL);

  if (argc == 3 && g_str_equal (argv[1], "--check"))
    return lk_admin_cli_check (argv[2]);
  if (argc == 5 && g_str_equal (argv[1], "--import"))
    return lk_admin_cli_import (argv[2], argv[3], argv[4]);

  g_printerr ("usage: %s --check FILE | --import FILE URL USER\n", argv[0]);
  return 64;
}
