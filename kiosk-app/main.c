/* main.c: lingka-kiosk
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-kiosk-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LkKioskApplication) app = NULL;

  g_set_prgname ("lingka-kiosk");
  app = lk_kiosk_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
