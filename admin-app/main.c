/* main.c: lingka-admin's entry point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-i18n.h"
#include "lk-admin-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (LkAdminApplication) app = NULL;

  /* zh_CN first; LANGUAGE=en gives the English source strings. */
  lk_i18n_init (NULL);

  app = lk_admin_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
