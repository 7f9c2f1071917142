/* lk-admin-window.h: the main window: login, then the sidebar with the four pages
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lk-admin-application.h"
#include "lk-api-client.h"
#include "lk-import-page.h"
#include "lk-kiosks-page.h"
#include "lk-login-page.h"
#include "lk-progress-page.h"
#include "lk-students-page.h"

G_BEGIN_DECLS

#define LK_TYPE_ADMIN_WINDOW (lk_admin_window_get_type ())
G_DECLARE_FINAL_TYPE (LkAdminWindow, lk_admin_window, LK, ADMIN_WINDOW, AdwApplicationWindow)

LkAdminWindow   *lk_admin_window_new                 (LkAdminApplication *app);

LkApiClient     *lk_admin_window_get_client          (LkAdminWindow      *self);
LkLoginPage     *lk_admin_window_get_login_page      (LkAdminWindow      *self);
LkStudentsPage  *lk_admin_window_get_students_page   (LkAdminWindow      *self);
LkImportPage    *lk_admin_window_get_import_page     (LkAdminWindow      *self);
LkProgressPage  *lk_admin_window_get_progress_page   (LkAdminWindow      *self);
LkKiosksPage    *lk_admin_window_get_kiosks_page     (LkAdminWindow      *self);

/* "students", "import", "progress" or "kiosks" */
void             lk_admin_window_show_page           (LkAdminWindow      *self,
                                                      const char         *name);
const char      *lk_admin_window_get_visible_page    (LkAdminWindow      *self);
/* TRUE once the admin events WebSocket is open. */
gboolean         lk_admin_window_get_events_connected (LkAdminWindow     *self);
/* The admin events heartbeat: a ping every @interval_s, and a reconnect when nothing has
 * arrived for @deadline_s (LK_HEARTBEAT_INTERVAL_S and LK_HEARTBEAT_DEADLINE_S by default).
 * Takes effect on the next connection. */
void             lk_admin_window_set_heartbeat       (LkAdminWindow      *self,
                                                      guint               interval_s,
                                                      guint               deadline_s);
/* How many times the admin events socket was opened. */
guint            lk_admin_window_get_events_connections (LkAdminWindow   *self);
/* The text of the last toast shown (for tests and the accessibility log); NULL if none. */
const char      *lk_admin_window_get_last_toast      (LkAdminWindow      *self);
void             lk_admin_window_add_toast           (LkAdminWindow      *self,
                                                      const char         *title);

G_END_DECLS
