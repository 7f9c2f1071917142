/* lk-admin-application.h: the lingka-admin application
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LK_TYPE_ADMIN_APPLICATION (lk_admin_application_get_type ())
G_DECLARE_FINAL_TYPE (LkAdminApplication, lk_admin_application, LK, ADMIN_APPLICATION,
                      AdwApplication)

LkAdminApplication *lk_admin_application_new          (void);
/* The app's settings, or NULL when the schema is installed nowhere (nothing is remembered). */
GSettings          *lk_admin_application_get_settings (LkAdminApplication *self);

G_END_DECLS
