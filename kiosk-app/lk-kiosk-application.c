/* lk-kiosk-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-kiosk-application.h"
#include "lk-kiosk-window.h"
#include "lk-service.h"

#define DEFAULT_CONFIG "/etc/lingka/kiosk.conf"

struct _LkKioskApplication
{
  GtkApplication  parent_instance;

  LkKioskConfig  *config;
  LkKioskStore   *store;
  LkKioskLink    *link;
  LkKioskFlow    *flow;
  gboolean        windowed;
};

G_DEFINE_FINAL_TYPE (LkKioskApplication, lk_kiosk_application, GTK_TYPE_APPLICATION)

static const GOptionEntry options[] = {
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, NULL,
    N_("The kiosk’s config file (default /etc/lingka/kiosk.conf)"), N_("FILE") },
  { "service", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Service mode without display or server: status or test-issue"), N_("MODE") },
  { "windowed", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Run in a window instead of full screen (for demos and development)"), NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
  { NULL }
};

void
lk_kiosk_load_css (void)
{
  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();
  GdkDisplay *display = gdk_display_get_default ();

  if (display == NULL)
    return;
  gtk_css_provider_load_from_resource (provider, "/cn/lingka/Kiosk/lk-kiosk.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static int
lk_kiosk_application_handle_local_options (GApplication *app,
                                           GVariantDict *dict)
{
  LkKioskApplication *self = LK_KIOSK_APPLICATION (app);
  g_autoptr(GError) error = NULL;
  const char *config_path = DEFAULT_CONFIG;
  const char *service = NULL;
  const guint8 *key;
  gsize key_len;
  int status;

  if (g_variant_dict_contains (dict, "version"))
    {
      g_print ("lingka-kiosk %s\n", PACKAGE_VERSION);
      return 0;
    }

  /* A filename option is a bytestring (MEASURED.md, pitfall 10). */
  g_variant_dict_lookup (dict, "config", "^&ay", &config_path);
  g_variant_dict_lookup (dict, "service", "&s", &service);
  self->windowed = g_variant_dict_contains (dict, "windowed");

  self->config = lk_kiosk_config_new_from_file (config_path, &error);
  if (self->config == NULL)
    {
      lk_i18n_init (NULL);
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return 2;
    }
  lk_i18n_init (lk_kiosk_config_get_language (self->config));

  if (service == NULL)
    return -1;

  /* The technician's mode: no GTK, no display, no server. */
  key = lk_kiosk_config_get_card_key (self->config, &key_len);
  status = lk_service_run (lk_kiosk_config_get_serial_port (self->config),
                           lk_kiosk_config_get_dispenser_address (self->config),
                           lk_kiosk_config_get_baud (self->config),
                           key, key_len, service, &error);
  if (error != NULL)
    g_printerr ("%s: %s\n", g_get_prgname (), error->message);
  return status;
}

static void
lk_kiosk_application_startup (GApplication *app)
{
  G_APPLICATION_CLASS (lk_kiosk_application_parent_class)->startup (app);

  lk_kiosk_load_css ();
}

static void
lk_kiosk_application_activate (GApplication *app)
{
  LkKioskApplication *self = LK_KIOSK_APPLICATION (app);
  g_autoptr(GError) error = NULL;
  g_autofree char *db_path = NULL;
  GListModel *monitors;
  GtkWindow *window;

  if ((window = gtk_application_get_active_window (GTK_APPLICATION (app))) != NULL)
    {
      gtk_window_present (window);
      return;
    }

  db_path = g_build_filename (lk_kiosk_config_get_data_dir (self->config), "kiosk.db", NULL);
  self->store = lk_kiosk_store_open (db_path, &error);
  if (self->store == NULL)
    {
      /* Without its journal the kiosk must not move a card: stop, and let systemd retry. */
      g_critical ("cannot open the kiosk's database: %s", error->message);
      g_application_quit (app);
      return;
    }
  self->link = lk_kiosk_link_new (self->config, self->store);
  self->flow = lk_kiosk_flow_new (self->config, self->store, self->link, NULL);

  window = GTK_WINDOW (lk_kiosk_window_new (GTK_APPLICATION (app), self->flow));
  /* Portrait or landscape from the screen, before the first layout. */
  monitors = gdk_display_get_monitors (gdk_display_get_default ());
  if (self->windowed)
    gtk_window_set_default_size (window, 1280, 720);
  else if (g_list_model_get_n_items (monitors) > 0)
    {
      g_autoptr(GdkMonitor) monitor = g_list_model_get_item (monitors, 0);
      GdkRectangle geometry;

      gdk_monitor_get_geometry (monitor, &geometry);
      gtk_window_set_default_size (window, geometry.width, geometry.height);
    }
  if (!self->windowed)
    gtk_window_fullscreen (window);
  gtk_window_present (window);
  lk_kiosk_flow_start (self->flow);
}

static void
lk_kiosk_application_shutdown (GApplication *app)
{
  LkKioskApplication *self = LK_KIOSK_APPLICATION (app);

  if (self->flow != NULL)
    lk_kiosk_flow_stop (self->flow);

  G_APPLICATION_CLASS (lk_kiosk_application_parent_class)->shutdown (app);
}

static void
lk_kiosk_application_finalize (GObject *object)
{
  LkKioskApplication *self = (LkKioskApplication *) object;

  g_clear_object (&self->flow);
  g_clear_object (&self->link);
  g_clear_object (&self->store);
  g_clear_object (&self->config);

  G_OBJECT_CLASS (lk_kiosk_application_parent_class)->finalize (object);
}

static void
lk_kiosk_application_class_init (LkKioskApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = lk_kiosk_application_finalize;
  app_class->handle_local_options = lk_kiosk_application_handle_local_options;
  app_class->startup = lk_kiosk_application_startup;
  app_class->activate = lk_kiosk_application_activate;
  app_class->shutdown = lk_kiosk_application_shutdown;
}

static void
lk_kiosk_application_init (LkKioskApplication *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("The Lingka campus card kiosk"));
}

LkKioskApplication *
lk_kiosk_application_new (void)
{
  /* NON_UNIQUE: the kiosk's session has no D-Bus session bus to register on. */
  return g_object_new (LK_TYPE_KIOSK_APPLICATION,
                       "application-id", KIOSK_APP_ID,
                       "flags", G_APPLICATION_NON_UNIQUE,
                       NULL);
}

LkKioskFlow *
lk_kiosk_application_get_flow (LkKioskApplication *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_APPLICATION (self), NULL);
  return self->flow;
}
