/* lk-kiosk-window.h: the kiosk's fullscreen window; it shows the flow's screen
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "lk-kiosk-flow.h"

G_BEGIN_DECLS

#define LK_TYPE_KIOSK_WINDOW (lk_kiosk_window_get_type ())
G_DECLARE_FINAL_TYPE (LkKioskWindow, lk_kiosk_window, LK, KIOSK_WINDOW, GtkApplicationWindow)

LkKioskWindow *lk_kiosk_window_new          (GtkApplication *application,
                                             LkKioskFlow    *flow);
LkKioskFlow   *lk_kiosk_window_get_flow     (LkKioskWindow  *self);
/* The visible stack page's name (lk_kiosk_screen_to_string()). */
const char    *lk_kiosk_window_get_page     (LkKioskWindow  *self);
/* TRUE while the code boxes shake after a typo. */
gboolean       lk_kiosk_window_get_shaking  (LkKioskWindow  *self);
/* The text of the entry screen's hint ("" when none). */
const char    *lk_kiosk_window_get_hint     (LkKioskWindow  *self);
/* The long press in the top-right corner, as the gesture would deliver it. */
void           lk_kiosk_window_long_press_corner (LkKioskWindow *self);

G_END_DECLS
