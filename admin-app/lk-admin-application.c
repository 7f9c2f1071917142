/* lk-admin-application.c: the lingka-admin application
 *
 * The command-line modes (--check, --import) are handled in handle-local-options, before
 * startup and gtk_init, so they run without a display (MEASURED.md, pitfall 10).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-admin-application.h"
#include "lk-admin-cli.h"
#include "lk-admin-window.h"

struct _LkAdminApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
  gboolean        settings_missing;
};

G_DEFINE_FINAL_TYPE (LkAdminApplication, lk_admin_application, ADW_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "check", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Read a roster file, print its rows and errors as JSON, and upload nothing"), N_("FILE") },
  { "import", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Import a roster file from the command line (password on standard input)"), N_("FILE") },
  { "server", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Server address for --import"), N_("URL") },
  { "user", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("User name for --import"), N_("NAME") },
  { NULL }
};

static LkAdminWindow *
get_main_window (LkAdminApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (LK_IS_ADMIN_WINDOW (window))
    return LK_ADMIN_WINDOW (window);
  return NULL;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  LkAdminApplication *self = user_data;
  static const char *developers[] = { "The Lingka developers", NULL };

  adw_show_about_window (GTK_WINDOW (get_main_window (self)),
                         "application-name", _("Lingka Admin"),
                         "application-icon", ADMIN_APP_ID,
                         "version", PACKAGE_VERSION,
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments", _("Import rosters, follow card pickup and watch the kiosks"),
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action },
  { "about", about_action },
};

static int
lk_admin_application_handle_local_options (GApplication *app,
                                           GVariantDict *options)
{
  const char *check = NULL;
  const char *import = NULL;
  const char *server = NULL;
  const char *user = NULL;

  /* FILENAME options are bytestrings: "^&ay", not "&s" (MEASURED.md, pitfall 10). */
  g_variant_dict_lookup (options, "check", "^&ay", &check);
  g_variant_dict_lookup (options, "import", "^&ay", &import);
  g_variant_dict_lookup (options, "server", "&s", &server);
  g_variant_dict_lookup (options, "user", "&s", &user);

  if (check != NULL && import != NULL)
    {
      g_printerr ("%s\n", _("Use either --check or --import, not both."));
      return 2;
    }

  if (check != NULL)
    return lk_admin_cli_check (check);

  if (import != NULL)
    {
      if (server == NULL || user == NULL)
        {
          g_printerr ("%s\n", _("--import needs --server URL and --user NAME."));
          return 2;
        }
      return lk_admin_cli_import (import, server, user);
    }

  if (server != NULL || user != NULL)
    {
      g_printerr ("%s\n", _("--server and --user only go with --import."));
      return 2;
    }

  return -1;
}

static void
lk_admin_application_startup (GApplication *app)
{
  LkAdminApplication *self = LK_ADMIN_APPLICATION (app);
  static const struct { const char *action; const char *accels[3]; } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "win.import", { "<Control>o", NULL } },
    { "win.search", { "<Control>f", NULL } },
    { "win.refresh", { "F5", "<Control>r", NULL } },
    { "win.add-student", { "<Control>n", NULL } },
    { "win.export", { "<Control>e", NULL } },
    { "win.save-template", { "<Control><Shift>s", NULL } },
    { "win.show-page::students", { "<Alt>1", NULL } },
    { "win.show-page::import", { "<Alt>2", NULL } },
    { "win.show-page::progress", { "<Alt>3", NULL } },
    { "win.show-page::kiosks", { "<Alt>4", NULL } },
    { "window.close", { "<Control>w", NULL } },
  };

  G_APPLICATION_CLASS (lk_admin_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action,
                                           accels[i].accels);

  gtk_window_set_default_icon_name (ADMIN_APP_ID);
}

static void
lk_admin_application_activate (GApplication *app)
{
  LkAdminApplication *self = LK_ADMIN_APPLICATION (app);
  LkAdminWindow *window = get_main_window (self);

  if (window == NULL)
    window = lk_admin_window_new (self);
  gtk_window_present (GTK_WINDOW (window));
}

static void
lk_admin_application_dispose (GObject *object)
{
  LkAdminApplication *self = LK_ADMIN_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (lk_admin_application_parent_class)->dispose (object);
}

static void
lk_admin_application_class_init (LkAdminApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = lk_admin_application_dispose;
  app_class->handle_local_options = lk_admin_application_handle_local_options;
  app_class->startup = lk_admin_application_startup;
  app_class->activate = lk_admin_application_activate;
}

static void
lk_admin_application_init (LkAdminApplication *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Lingka Admin: rosters, students, kiosks"));
}

LkAdminApplication *
lk_admin_application_new (void)
{
  return g_object_new (LK_TYPE_ADMIN_APPLICATION,
                       "application-id", ADMIN_APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/cn/lingka/Admin",
                       NULL);
}

GSettings *
lk_admin_application_get_settings (LkAdminApplication *self)
{
  GSettingsSchemaSource *installed;
  g_autoptr (GSettingsSchemaSource) build_tree = NULL;
  g_autoptr (GSettingsSchema) schema = NULL;

  g_return_val_if_fail (LK_IS_ADMIN_APPLICATION (self), NULL);

  if (self->settings != NULL || self->settings_missing)
    return self->settings;

  /* g_settings_new() aborts when the schema is not installed: an uninstalled run (the demo,
   * a developer's build) finds it in the build tree instead. */
  installed = g_settings_schema_source_get_default ();
  if (installed != NULL)
    schema = g_settings_schema_source_lookup (installed, ADMIN_APP_ID, TRUE);
  if (schema == NULL)
    {
      build_tree = g_settings_schema_source_new_from_directory (LK_ADMIN_BUILD_SCHEMA_DIR, installed,
                                                                FALSE, NULL);
      if (build_tree != NULL)
        schema = g_settings_schema_source_lookup (build_tree, ADMIN_APP_ID, FALSE);
    }
  if (schema == NULL)
    {
      /* Nothing is remembered then: the login page asks for everything each time. */
      g_message ("The GSettings schema %s is not installed; settings are not kept", ADMIN_APP_ID);
      self->settings_missing = TRUE;
      return NULL;
    }

  self->settings = g_settings_new_full (schema, NULL, NULL);
  return self->settings;
}
