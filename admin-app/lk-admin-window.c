/* lk-admin-window.c: the main window: login, then the sidebar with the four pages
 *
 * The window owns the session (an LkApiClient) and the admin events WebSocket. Events are
 * turned into toasts (and a GNotification when the window is not focused) and handed to the
 * pages that show them live.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-admin-json.h"
#include "lk-admin-window.h"
#include "lk-mask.h"
#include "lk-protocol.h"

#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30

struct _LkAdminWindow
{
  AdwApplicationWindow     parent_instance;

  /* template */
  AdwToastOverlay         *toast_overlay;
  GtkStack                *main_stack;
  AdwLeaflet              *leaflet;
  GtkWidget               *content_box;
  GtkLabel                *user_label;
  AdwWindowTitle          *window_title;
  GtkRevealer             *offline_revealer;
  GtkStack                *content_stack;
  GtkStackPage            *kiosks_stack_page;
  LkLoginPage             *login_page;
  LkStudentsPage          *students_page;
  LkImportPage            *import_page;
  LkProgressPage          *progress_page;
  LkKiosksPage            *kiosks_page;

  GSettings               *settings;
  LkApiClient             *client;
  SoupWebsocketConnection *events;
  GCancellable            *events_cancellable;
  guint                    reconnect_source;
  guint                    reconnect_delay;
  /* Application heartbeat: libsoup 3.2 never notices a dead peer (MEASURED.md, pitfall 3). */
  guint                    heartbeat_source;
  guint64                  heartbeat_seq;
  gint64                   last_heard;
  guint                    heartbeat_interval_s;
  guint                    events_connections;
  guint                    heartbeat_deadline_s;
  char                    *last_toast;
};

G_DEFINE_FINAL_TYPE (LkAdminWindow, lk_admin_window, ADW_TYPE_APPLICATION_WINDOW)

static void connect_events (LkAdminWindow *self);

static void
notify_desktop (LkAdminWindow *self,
                const char    *id,
                const char    *title,
                const char    *body)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  g_autoptr (GNotification) notification = NULL;

  /* A toast is enough while the teacher looks at the window. Without a session bus (a kiosk
   * session, a test under Xvfb) there is no one to show a notification: GLib's backend would
   * only complain, so the toast stays the only sign. */
  if (app == NULL || gtk_window_is_active (GTK_WINDOW (self))
      || g_application_get_dbus_connection (G_APPLICATION (app)) == NULL)
    return;

  notification = g_notification_new (title);
  if (body != NULL)
    g_notification_set_body (notification, body);
  /* Without a default action, clicking the notification activates the app. */
  g_application_send_notification (G_APPLICATION (app), id, notification);
}

static char *
event_student_name (JsonObject *event)
{
  JsonObject *student = lk_admin_json_object (event, "student");
  const char *name = lk_admin_json_string (student, "name");

  if (name == NULL)
    name = lk_admin_json_string (event, "name");
  if (name == NULL)
    name = lk_admin_json_string (event, "student_name");
  /* PIPL: never a minor's full name on screen. */
  return name != NULL ? lk_mask_name (name) : g_strdup (_("A student"));
}

static const char *
event_kiosk_sn (JsonObject *event)
{
  JsonObject *kiosk = lk_admin_json_object (event, "kiosk");
  const char *sn = lk_admin_json_string (event, "kiosk_sn");

  if (sn == NULL)
    sn = lk_admin_json_string (event, "sn");
  if (sn == NULL)
    sn = lk_admin_json_string (kiosk, "sn");
  if (sn == NULL)
    sn = lk_admin_json_string (event, "kiosk");
  return sn != NULL ? sn : "?";
}

static void
handle_event (LkAdminWindow *self,
              JsonObject    *event)
{
  const char *type = lk_admin_json_string (event, "type");

  if (type == NULL)
    return;

  if (g_str_equal (type, LK_MSG_PONG))
    return;

  if (g_str_equal (type, LK_MSG_PING))
    {
      g_autoptr (JsonBuilder) builder = lk_message_begin (LK_MSG_PONG);
      g_autofree char *text = lk_message_finish (builder);

      if (self->events != NULL &&
          soup_websocket_connection_get_state (self->events) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text (self->events, text);
      return;
    }

  lk_progress_page_handle_event (self->progress_page, event);
  lk_kiosks_page_handle_event (self->kiosks_page, event);
  lk_students_page_handle_event (self->students_page, event);

  if (g_str_equal (type, LK_EVENT_CARD_ISSUED))
    {
      g_autofree char *name = event_student_name (event);
      g_autofree char *title = NULL;

      /* 张*明 已领卡 · 自助机 K-03 */
      title = g_strdup_printf (_("%s has collected the card · kiosk %s"), name,
                               event_kiosk_sn (event));
      lk_admin_window_add_toast (self, title);
      notify_desktop (self, "card-issued", _("Card collected"), title);
    }
  else if (g_str_equal (type, LK_EVENT_KIOSK_OFFLINE))
    {
      g_autofree char *title = g_strdup_printf (_("Kiosk %s went offline"), event_kiosk_sn (event));

      lk_admin_window_add_toast (self, title);
      notify_desktop (self, "kiosk-offline", _("Kiosk offline"), title);
    }
  else if (g_str_equal (type, LK_EVENT_KIOSK_STATUS))
    {
      const char *stock = lk_admin_json_string (event, "stock");
      JsonArray *faults = lk_admin_json_array (event, "faults");
      const char *sn = event_kiosk_sn (event);
      g_autofree char *title = NULL;

      if (faults != NULL && json_array_get_length (faults) > 0)
        {
          const char *fault = json_array_get_string_element (faults, 0);

          if (g_strcmp0 (fault, "jam") == 0)
            title = g_strdup_printf (_("Kiosk %s: card jam"), sn);
          else
            title = g_strdup_printf (_("Kiosk %s reports a fault: %s"), sn,
                                     fault != NULL ? fault : "?");
        }
      else if (g_strcmp0 (stock, "empty") == 0)
        title = g_strdup_printf (_("Kiosk %s is out of cards"), sn);
      else if (g_strcmp0 (stock, "low") == 0)
        title = g_strdup_printf (_("Kiosk %s is running low on cards"), sn);

      if (title != NULL)
        {
          lk_admin_window_add_toast (self, title);
          notify_desktop (self, "kiosk-status", _("Kiosk needs attention"), title);
        }
    }
}

static void
on_events_message_cb (SoupWebsocketConnection *connection,
                      SoupWebsocketDataType    data_type,
                      GBytes                  *message,
                      gpointer                 user_data)
{
  LkAdminWindow *self = user_data;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  JsonNode *root;

  if (data_type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  self->last_heard = g_get_monotonic_time ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &error))
    {
      g_warning ("Ignoring an admin event that is not JSON: %s", error->message);
      return;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;

  self->reconnect_delay = RECONNECT_MIN_S;
  handle_event (self, json_node_get_object (root));
}

static void
drop_events (LkAdminWindow *self)
{
  g_clear_handle_id (&self->heartbeat_source, g_source_remove);
  if (self->events != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->events, self);
      if (soup_websocket_connection_get_state (self->events) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->events, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->events);
    }
}

static gboolean
reconnect_cb (gpointer user_data)
{
  LkAdminWindow *self = user_data;

  self->reconnect_source = 0;
  connect_events (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (LkAdminWindow *self)
{
  if (self->client == NULL || !lk_api_client_is_logged_in (self->client) ||
      self->reconnect_source != 0)
    return;

  gtk_revealer_set_reveal_child (self->offline_revealer, TRUE);
  self->reconnect_source = g_timeout_add_seconds (self->reconnect_delay, reconnect_cb, self);
  self->reconnect_delay = MIN (self->reconnect_delay * 2, RECONNECT_MAX_S);
}

static void
disconnect_events (LkAdminWindow *self)
{
  g_cancellable_cancel (self->events_cancellable);
  g_clear_object (&self->events_cancellable);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  drop_events (self);
}

static gboolean
heartbeat_cb (gpointer user_data)
{
  LkAdminWindow *self = user_data;
  g_autoptr (JsonBuilder) builder = NULL;
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;

  if (self->events == NULL)
    {
      self->heartbeat_source = 0;
      return G_SOURCE_REMOVE;
    }

  if (g_get_monotonic_time () - self->last_heard > (gint64) self->heartbeat_deadline_s * G_USEC_PER_SEC)
    {
      g_message ("Admin events socket silent for %u s; reconnecting", self->heartbeat_deadline_s);
      self->heartbeat_source = 0;
      drop_events (self);
      schedule_reconnect (self);
      return G_SOURCE_REMOVE;
    }

  builder = lk_message_begin (LK_MSG_PING);
  id = g_strdup_printf ("hb-%" G_GUINT64_FORMAT, ++self->heartbeat_seq);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  text = lk_message_finish (builder);
  soup_websocket_connection_send_text (self->events, text);
  return G_SOURCE_CONTINUE;
}

static void
on_events_closed_cb (SoupWebsocketConnection *connection,
                     gpointer                 user_data)
{
  LkAdminWindow *self = user_data;

  g_debug ("Admin events socket closed (code %u)",
           soup_websocket_connection_get_close_code (connection));
  g_signal_handlers_disconnect_by_data (connection, self);
  g_clear_handle_id (&self->heartbeat_source, g_source_remove);
  g_clear_object (&self->events);
  schedule_reconnect (self);
}

static void
on_events_connected_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr (LkAdminWindow) self = user_data;
  g_autoptr (SoupWebsocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  connection = lk_api_client_connect_events_finish (LK_API_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_message ("Cannot open the admin events socket: %s", error->message);
      schedule_reconnect (self);
      return;
    }

  self->events = g_steal_pointer (&connection);
  self->events_connections++;
  /* libsoup 3.2 keepalive only pings; the server's heartbeat tells us of a dead link. */
  soup_websocket_connection_set_keepalive_interval (self->events, LK_HEARTBEAT_INTERVAL_S);
  g_signal_connect (self->events, "message", G_CALLBACK (on_events_message_cb), self);
  g_signal_connect (self->events, "closed", G_CALLBACK (on_events_closed_cb), self);
  self->last_heard = g_get_monotonic_time ();
  g_clear_handle_id (&self->heartbeat_source, g_source_remove);
  self->heartbeat_source = g_timeout_add_seconds (self->heartbeat_interval_s, heartbeat_cb, self);
  gtk_revealer_set_reveal_child (self->offline_revealer, FALSE);

  /* Anything may have happened while the socket was down. */
  if (self->reconnect_delay > RECONNECT_MIN_S)
    {
      lk_progress_page_reload (self->progress_page);
      lk_kiosks_page_reload (self->kiosks_page);
    }
  self->reconnect_delay = RECONNECT_MIN_S;
}

static void
connect_events (LkAdminWindow *self)
{
  g_cancellable_cancel (self->events_cancellable);
  g_clear_object (&self->events_cancellable);
  self->events_cancellable = g_cancellable_new ();

  lk_api_client_connect_events_async (self->client, self->events_cancellable,
                                      on_events_connected_cb, g_object_ref (self));
}

static void
update_title (LkAdminWindow *self)
{
  GtkWidget *child = gtk_stack_get_visible_child (self->content_stack);
  GtkStackPage *page;

  if (child == NULL)
    return;
  page = gtk_stack_get_page (self->content_stack, child);
  adw_window_title_set_title (self->window_title, gtk_stack_page_get_title (page));
}

static void
on_content_stack_visible_child_cb (LkAdminWindow *self)
{
  update_title (self);
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, self->content_box);
}

static void
on_back_clicked_cb (LkAdminWindow *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
on_login_page_logged_in_cb (LkAdminWindow *self,
                            LkApiClient   *client)
{
  gboolean operator = lk_api_client_is_operator (client);
  g_autofree char *user = NULL;

  g_set_object (&self->client, client);

  if (operator)
    user = g_strdup_printf (_("%s · operator"), lk_api_client_get_username (client));
  else
    user = g_strdup_printf (_("%s · teacher"), lk_api_client_get_username (client));
  gtk_label_set_label (self->user_label, user);

  gtk_stack_page_set_visible (self->kiosks_stack_page, operator);
  lk_students_page_set_client (self->students_page, client);
  lk_import_page_set_client (self->import_page, client);
  lk_progress_page_set_client (self->progress_page, client);
  lk_kiosks_page_set_client (self->kiosks_page, operator ? client : NULL);

  gtk_stack_set_visible_child_name (self->content_stack, "students");
  gtk_stack_set_visible_child_name (self->main_stack, "main");
  update_title (self);

  self->reconnect_delay = RECONNECT_MIN_S;
  connect_events (self);
}

static void
on_import_page_imported_cb (LkAdminWindow *self)
{
  lk_students_page_reload (self->students_page);
  lk_progress_page_reload (self->progress_page);
  lk_kiosks_page_reload (self->kiosks_page);
}

static void
import_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);

  if (self->client == NULL)
    return;
  lk_admin_window_show_page (self, "import");
  lk_import_page_choose_file (self->import_page);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);

  if (self->client == NULL)
    return;
  lk_admin_window_show_page (self, "students");
  lk_students_page_focus_search (self->students_page);
}

static void
refresh_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);
  const char *page = lk_admin_window_get_visible_page (self);

  if (self->client == NULL)
    return;
  if (g_strcmp0 (page, "students") == 0)
    lk_students_page_reload (self->students_page);
  else if (g_strcmp0 (page, "progress") == 0)
    lk_progress_page_reload (self->progress_page);
  else if (g_strcmp0 (page, "kiosks") == 0)
    lk_kiosks_page_reload (self->kiosks_page);
}

static void
add_student_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);

  if (self->client == NULL)
    return;
  lk_admin_window_show_page (self, "students");
  lk_students_page_add_student (self->students_page);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);

  if (self->client == NULL)
    return;
  lk_students_page_export (self->students_page);
}

static void
save_template_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);

  lk_import_page_save_template (self->import_page);
}

static void
show_page_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);

  if (self->client == NULL)
    return;
  lk_admin_window_show_page (self, g_variant_get_string (param, NULL));
}

static void
logout_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (widget);

  if (self->client == NULL)
    return;

  disconnect_events (self);
  lk_api_client_logout (self->client);
  lk_students_page_set_client (self->students_page, NULL);
  lk_import_page_set_client (self->import_page, NULL);
  lk_progress_page_set_client (self->progress_page, NULL);
  lk_kiosks_page_set_client (self->kiosks_page, NULL);
  g_clear_object (&self->client);
  gtk_revealer_set_reveal_child (self->offline_revealer, FALSE);
  lk_login_page_reset (self->login_page);
  gtk_stack_set_visible_child_name (self->main_stack, "login");
}

static void
toast_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  lk_admin_window_add_toast (LK_ADMIN_WINDOW (widget), g_variant_get_string (param, NULL));
}

static gboolean
lk_admin_window_close_request (GtkWindow *window)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (window);
  int width, height;

  if (self->settings == NULL)
    return GTK_WINDOW_CLASS (lk_admin_window_parent_class)->close_request (window);

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (lk_admin_window_parent_class)->close_request (window);
}

static void
lk_admin_window_dispose (GObject *object)
{
  LkAdminWindow *self = LK_ADMIN_WINDOW (object);

  disconnect_events (self);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->last_toast, g_free);

  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_ADMIN_WINDOW);

  G_OBJECT_CLASS (lk_admin_window_parent_class)->dispose (object);
}

static void
lk_admin_window_class_init (LkAdminWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = lk_admin_window_dispose;
  window_class->close_request = lk_admin_window_close_request;

  g_type_ensure (LK_TYPE_LOGIN_PAGE);
  g_type_ensure (LK_TYPE_STUDENTS_PAGE);
  g_type_ensure (LK_TYPE_IMPORT_PAGE);
  g_type_ensure (LK_TYPE_PROGRESS_PAGE);
  g_type_ensure (LK_TYPE_KIOSKS_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/cn/lingka/Admin/lk-admin-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, user_label);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, offline_revealer);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, kiosks_stack_page);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, login_page);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, students_page);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, import_page);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, progress_page);
  gtk_widget_class_bind_template_child (widget_class, LkAdminWindow, kiosks_page);
  gtk_widget_class_bind_template_callback (widget_class, on_login_page_logged_in_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_import_page_imported_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_content_stack_visible_child_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_back_clicked_cb);

  gtk_widget_class_install_action (widget_class, "win.import", NULL, import_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "win.add-student", NULL, add_student_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.save-template", NULL, save_template_action);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
  gtk_widget_class_install_action (widget_class, "win.logout", NULL, logout_action);
  gtk_widget_class_install_action (widget_class, "win.toast", "s", toast_action);
}

static void
lk_admin_window_init (LkAdminWindow *self)
{
  g_autoptr (GtkBuilder) builder = NULL;

  self->reconnect_delay = RECONNECT_MIN_S;
  self->heartbeat_interval_s = LK_HEARTBEAT_INTERVAL_S;
  self->heartbeat_deadline_s = LK_HEARTBEAT_DEADLINE_S;
  gtk_widget_init_template (GTK_WIDGET (self));

  builder = gtk_builder_new_from_resource ("/cn/lingka/Admin/gtk/help-overlay.ui");
  gtk_application_window_set_help_overlay (GTK_APPLICATION_WINDOW (self),
                                           GTK_SHORTCUTS_WINDOW (gtk_builder_get_object (builder, "help_overlay")));
}

LkAdminWindow *
lk_admin_window_new (LkAdminApplication *app)
{
  LkAdminWindow *self;

  g_return_val_if_fail (LK_IS_ADMIN_APPLICATION (app), NULL);

  self = g_object_new (LK_TYPE_ADMIN_WINDOW, "application", app, NULL);
  g_set_object (&self->settings, lk_admin_application_get_settings (app));
  if (self->settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (self->settings, "window-width"),
                                   g_settings_get_int (self->settings, "window-height"));
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
      lk_login_page_set_settings (self->login_page, self->settings);
    }
  else
    gtk_window_set_default_size (GTK_WINDOW (self), 1100, 720);

  return self;
}

LkApiClient *
lk_admin_window_get_client (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);
  return self->client;
}

LkLoginPage *
lk_admin_window_get_login_page (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);
  return self->login_page;
}

LkStudentsPage *
lk_admin_window_get_students_page (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);
  return self->students_page;
}

LkImportPage *
lk_admin_window_get_import_page (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);
  return self->import_page;
}

LkProgressPage *
lk_admin_window_get_progress_page (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);
  return self->progress_page;
}

LkKiosksPage *
lk_admin_window_get_kiosks_page (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);
  return self->kiosks_page;
}

void
lk_admin_window_show_page (LkAdminWindow *self,
                           const char    *name)
{
  GtkWidget *child;

  g_return_if_fail (LK_IS_ADMIN_WINDOW (self));

  child = gtk_stack_get_child_by_name (self->content_stack, name);
  if (child == NULL || !gtk_stack_page_get_visible (gtk_stack_get_page (self->content_stack, child)))
    return;
  gtk_stack_set_visible_child (self->content_stack, child);
}

const char *
lk_admin_window_get_visible_page (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "login") == 0)
    return "login";
  return gtk_stack_get_visible_child_name (self->content_stack);
}

gboolean
lk_admin_window_get_events_connected (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), FALSE);

  return self->events != NULL &&
         soup_websocket_connection_get_state (self->events) == SOUP_WEBSOCKET_STATE_OPEN;
}

void
lk_admin_window_set_heartbeat (LkAdminWindow *self,
                               guint          interval_s,
                               guint          deadline_s)
{
  g_return_if_fail (LK_IS_ADMIN_WINDOW (self));
  g_return_if_fail (interval_s > 0 && deadline_s >= interval_s);

  self->heartbeat_interval_s = interval_s;
  self->heartbeat_deadline_s = deadline_s;
}

guint
lk_admin_window_get_events_connections (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), 0);
  return self->events_connections;
}

const char *
lk_admin_window_get_last_toast (LkAdminWindow *self)
{
  g_return_val_if_fail (LK_IS_ADMIN_WINDOW (self), NULL);
  return self->last_toast;
}

void
lk_admin_window_add_toast (LkAdminWindow *self,
                           const char    *title)
{
  g_autofree char *markup = NULL;
  AdwToast *toast;

  g_return_if_fail (LK_IS_ADMIN_WINDOW (self));

  g_free (self->last_toast);
  self->last_toast = g_strdup (title);

  /* libadwaita 1.2 toast titles are Pango markup. */
  markup = g_markup_escape_text (title, -1);
  toast = adw_toast_new (markup);
  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}
