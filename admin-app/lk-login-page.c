/* lk-login-page.c: server address, user name and password; emits ::logged-in
 *
 * The server address and the user name are remembered in GSettings after a successful
 * login; the password never is, and is never logged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-api-client.h"
#include "lk-login-page.h"

struct _LkLoginPage
{
  GtkWidget     parent_instance;

  AdwEntryRow  *server_row;
  AdwEntryRow  *username_row;
  AdwEntryRow  *password_row;
  GtkLabel     *error_label;
  GtkButton    *login_button;
  GtkSpinner   *spinner;

  GSettings    *settings;
  GCancellable *cancellable;
  LkApiClient  *pending;
};

G_DEFINE_FINAL_TYPE (LkLoginPage, lk_login_page, GTK_TYPE_WIDGET)

enum {
  LOGGED_IN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static char *
normalized_url (const char *text)
{
  g_autofree char *url = g_strstrip (g_strdup (text));

  if (*url == '\0')
    return NULL;
  /* People type "lingka.school.cn:8080"; the client needs a scheme. */
  if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
    {
      char *with_scheme = g_strconcat ("https://", url, NULL);

      g_free (url);
      url = with_scheme;
    }
  if (!g_uri_is_valid (url, G_URI_FLAGS_NONE, NULL))
    return NULL;
  return g_steal_pointer (&url);
}

static void
set_busy (LkLoginPage *self,
          gboolean     busy)
{
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  /* The rows stay editable: making a focused entry insensitive loses its focus-out event.
   * A second submit while busy is ignored instead. */
}

static void
show_error (LkLoginPage *self,
            const char  *message)
{
  gtk_label_set_label (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
update_sensitivity (LkLoginPage *self)
{
  const char *server = gtk_editable_get_text (GTK_EDITABLE (self->server_row));
  const char *user = gtk_editable_get_text (GTK_EDITABLE (self->username_row));
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));

  gtk_widget_set_sensitive (GTK_WIDGET (self->login_button),
                            self->pending == NULL && *server && *user && *password);
}

static void
on_field_changed_cb (LkLoginPage *self)
{
  update_sensitivity (self);
}

static void
on_entry_activated_cb (LkLoginPage *self)
{
  if (gtk_widget_get_sensitive (GTK_WIDGET (self->login_button)))
    lk_login_page_submit (self);
}

static void
on_login_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (LkLoginPage) self = user_data;
  g_autoptr (LkApiClient) client = LK_API_CLIENT (source);
  g_autoptr (GError) error = NULL;

  if (!lk_api_client_login_finish (client, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      g_clear_object (&self->pending);
      set_busy (self, FALSE);
      if (g_error_matches (error, LK_API_ERROR, LK_API_ERROR_UNAUTHORIZED))
        show_error (self, _("The user name or password is wrong."));
      else if (g_error_matches (error, LK_API_ERROR, LK_API_ERROR_TRANSPORT))
        show_error (self, _("Cannot reach the server. Check the address and the network."));
      else
        show_error (self, error->message);
      update_sensitivity (self);
      return;
    }

  g_clear_object (&self->pending);
  set_busy (self, FALSE);
  show_error (self, NULL);

  if (self->settings != NULL)
    {
      g_settings_set_string (self->settings, "server-url", lk_api_client_get_base_url (client));
      g_settings_set_string (self->settings, "username", lk_api_client_get_username (client));
    }
  /* The password field is not kept around once it has done its job. */
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  update_sensitivity (self);

  g_signal_emit (self, signals[LOGGED_IN], 0, client);
}

static void
lk_login_page_dispose (GObject *object)
{
  LkLoginPage *self = LK_LOGIN_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->pending);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_LOGIN_PAGE);
  /* The template's root child is not a bound child: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (lk_login_page_parent_class)->dispose (object);
}

static void
lk_login_page_class_init (LkLoginPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lk_login_page_dispose;

  /**
   * LkLoginPage::logged-in:
   * @client: the LkApiClient holding the new session
   */
  signals[LOGGED_IN] =
    g_signal_new ("logged-in", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, LK_TYPE_API_CLIENT);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/cn/lingka/Admin/lk-login-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LkLoginPage, server_row);
  gtk_widget_class_bind_template_child (widget_class, LkLoginPage, username_row);
  gtk_widget_class_bind_template_child (widget_class, LkLoginPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, LkLoginPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, LkLoginPage, login_button);
  gtk_widget_class_bind_template_child (widget_class, LkLoginPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, lk_login_page_submit);
}

static void
lk_login_page_init (LkLoginPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
lk_login_page_set_settings (LkLoginPage *self,
                            GSettings   *settings)
{
  g_autofree char *server = NULL;
  g_autofree char *user = NULL;

  g_return_if_fail (LK_IS_LOGIN_PAGE (self));

  if (!g_set_object (&self->settings, settings) || settings == NULL)
    return;

  server = g_settings_get_string (settings, "server-url");
  user = g_settings_get_string (settings, "username");
  gtk_editable_set_text (GTK_EDITABLE (self->server_row), server);
  gtk_editable_set_text (GTK_EDITABLE (self->username_row), user);

  /* First run: ask for the address; later, only for the password. */
  if (*server == '\0')
    gtk_widget_grab_focus (GTK_WIDGET (self->server_row));
  else
    gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}

void
lk_login_page_set_fields (LkLoginPage *self,
                          const char  *server_url,
                          const char  *username,
                          const char  *password)
{
  g_return_if_fail (LK_IS_LOGIN_PAGE (self));

  if (server_url != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->server_row), server_url);
  if (username != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->username_row), username);
  if (password != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->password_row), password);
}

void
lk_login_page_submit (LkLoginPage *self)
{
  g_autofree char *url = NULL;
  g_autofree char *user = NULL;

  g_return_if_fail (LK_IS_LOGIN_PAGE (self));

  if (self->pending != NULL)
    return;

  url = normalized_url (gtk_editable_get_text (GTK_EDITABLE (self->server_row)));
  if (url == NULL)
    {
      show_error (self, _("The server address is not valid."));
      return;
    }
  user = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->username_row))));
  if (*user == '\0')
    {
      show_error (self, _("Enter your user name."));
      return;
    }

  show_error (self, NULL);
  set_busy (self, TRUE);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  self->pending = lk_api_client_new (url);
  update_sensitivity (self);
  lk_api_client_login_async (self->pending, user,
                             gtk_editable_get_text (GTK_EDITABLE (self->password_row)),
                             self->cancellable, on_login_cb,
                             g_object_ref (self));
  /* on_login_cb holds the client through the source object. */
  g_object_ref (self->pending);
}

void
lk_login_page_reset (LkLoginPage *self)
{
  g_return_if_fail (LK_IS_LOGIN_PAGE (self));

  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  show_error (self, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}

const char *
lk_login_page_get_error (LkLoginPage *self)
{
  g_return_val_if_fail (LK_IS_LOGIN_PAGE (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_label (self->error_label);
}

gboolean
lk_login_page_get_busy (LkLoginPage *self)
{
  g_return_val_if_fail (LK_IS_LOGIN_PAGE (self), FALSE);
  return self->pending != NULL;
}
