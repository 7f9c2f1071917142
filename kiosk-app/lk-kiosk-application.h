/* lk-kiosk-application.h: lingka-kiosk, the fullscreen touchscreen app
 *
 *   lingka-kiosk --config FILE                 the kiosk
 *   lingka-kiosk --config FILE --service status|test-issue
 *                                              the technician's service mode: no display,
 *                                              no server (handled before GTK starts)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "lk-kiosk-flow.h"

G_BEGIN_DECLS

#define LK_TYPE_KIOSK_APPLICATION (lk_kiosk_application_get_type ())
G_DECLARE_FINAL_TYPE (LkKioskApplication, lk_kiosk_application, LK, KIOSK_APPLICATION,
                      GtkApplication)

LkKioskApplication *lk_kiosk_application_new      (void);
/* The flow, once the app has been activated (NULL before). */
LkKioskFlow        *lk_kiosk_application_get_flow (LkKioskApplication *self);

/* Loads the kiosk's stylesheet for the default display (the window and the GUI tests). */
void                lk_kiosk_load_css             (void);

G_END_DECLS
