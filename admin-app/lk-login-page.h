/* lk-login-page.h: server address, user name and password; emits ::logged-in
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LK_TYPE_LOGIN_PAGE (lk_login_page_get_type ())
G_DECLARE_FINAL_TYPE (LkLoginPage, lk_login_page, LK, LOGIN_PAGE, GtkWidget)

/* Fills the fields from (and remembers the next successful login in) @settings. */
void        lk_login_page_set_settings  (LkLoginPage *self,
                                         GSettings   *settings);
/* Sets the fields, as a person would type them. */
void        lk_login_page_set_fields    (LkLoginPage *self,
                                         const char  *server_url,
                                         const char  *username,
                                         const char  *password);
/* Starts a login with what is in the fields (the "Log In" button). */
void        lk_login_page_submit        (LkLoginPage *self);
/* Clears the password and the error after a logout. */
void        lk_login_page_reset         (LkLoginPage *self);
/* The error shown under the form, or NULL. */
const char *lk_login_page_get_error     (LkLoginPage *self);
gboolean    lk_login_page_get_busy      (LkLoginPage *self);

G_END_DECLS
