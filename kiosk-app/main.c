/* main.c: lingka-kiosk
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-kiosk-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LkKioskApplication) app = NULL;

  g_set_prgname ("lingka-kiosk");
  /* zh_CN for --help and config errors; the config's language takes over once it is read. */
  lk_i18n_init (NULL);
  app = lk_kiosk_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
