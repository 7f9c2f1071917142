/* lk-kiosks-page.c: operators register kiosks, watch them and release stuck claims
 *
 * The list comes from GET /api/v1/kiosks and is kept current by kiosk.online, kiosk.offline
 * and kiosk.status events. A kiosk's secret is shown once, right after its registration, and
 * is never logged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "lk-admin-json.h"
#include "lk-kiosks-page.h"
#include "lk-protocol.h"

struct _LkKiosksPage
{
  GtkWidget      parent_instance;

  GtkStack      *list_stack;
  GtkListBox    *kiosk_list;
  AdwEntryRow   *sn_row;
  AdwComboRow   *school_row;
  GtkButton     *register_button;
  GtkLabel      *register_error_label;
  GtkRevealer   *secret_revealer;
  GtkLabel      *secret_label;
  AdwEntryRow   *claim_row;

  LkApiClient   *client;
  GCancellable  *cancellable;
  GPtrArray     *kiosks;       /* JsonObject, in listing order */
  GtkStringList *school_names;
  GArray        *school_ids;   /* gint64, parallel to school_names */
  char          *secret;
};

G_DEFINE_FINAL_TYPE (LkKiosksPage, lk_kiosks_page, GTK_TYPE_WIDGET)

static void
show_register_error (LkKiosksPage *self,
                     const char   *message)
{
  gtk_label_set_label (self->register_error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->register_error_label), message != NULL);
}

static const char *
stock_label (const char *stock)
{
  if (g_strcmp0 (stock, "low") == 0)
    return _("cards running low");
  if (g_strcmp0 (stock, "empty") == 0)
    return _("out of cards");
  return _("cards in stock");
}

static const char *
fault_label (const char *fault)
{
  if (g_strcmp0 (fault, "jam") == 0)
    return _("card jam");
  if (g_strcmp0 (fault, "reject_full") == 0)
    return _("reject bin full");
  if (g_strcmp0 (fault, "empty") == 0)
    return _("hopper empty");
  if (g_strcmp0 (fault, "dispenser_silent") == 0)
    return _("dispenser not answering");
  return fault;
}

static gboolean
kiosk_online (JsonObject *kiosk)
{
  return lk_admin_json_int (kiosk, "online", 0) != 0;
}

static void
on_row_release_clicked_cb (GtkButton    *button,
                           LkKiosksPage *self)
{
  gint64 claim_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (button), "claim-id"));

  lk_kiosks_page_release_claim (self, claim_id);
}

static GtkWidget *
make_kiosk_row (LkKiosksPage *self,
                JsonObject   *kiosk)
{
  const char *sn = lk_admin_json_string (kiosk, "sn");
  const char *school = lk_admin_json_string (kiosk, "school");
  JsonArray *faults = lk_admin_json_array (kiosk, "faults");
  JsonArray *reserved = lk_admin_json_array (kiosk, "reserved_claims");
  gboolean online = kiosk_online (kiosk);
  g_autofree char *last_seen = lk_admin_format_time (lk_admin_json_int (kiosk, "last_seen", 0));
  g_autofree char *subtitle = NULL;
  g_autofree char *school_text = NULL;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *state = gtk_label_new (online ? _("Online") : _("Offline"));

  if (school == NULL)
    {
      gint64 school_id = lk_admin_json_int (kiosk, "school_id", 0);

      /* The list gives the school's id; the directory gave us its name. */
      for (guint i = 0; i < self->school_ids->len && school_text == NULL; i++)
        if (g_array_index (self->school_ids, gint64, i) == school_id)
          school_text = g_strdup (gtk_string_list_get_string (self->school_names, i));
      if (school_text == NULL)
        school_text = g_strdup_printf (_("school %d"), (int) school_id);
    }

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), sn != NULL ? sn : "?");
  /* 学校 · 最后在线 2026-11-26 09:30 · 卡片充足 */
  subtitle = g_strdup_printf (_("%s · last seen %s · %s"),
                              school != NULL ? school : school_text, last_seen,
                              stock_label (lk_admin_json_string (kiosk, "stock")));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

  if (faults != NULL && json_array_get_length (faults) > 0)
    {
      g_autoptr (GString) text = g_string_new (NULL);
      GtkWidget *label;

      for (guint i = 0; i < json_array_get_length (faults); i++)
        {
          const char *fault = json_array_get_string_element (faults, i);

          if (fault == NULL)
            continue;
          if (text->len > 0)
            g_string_append (text, ", ");
          g_string_append (text, fault_label (fault));
        }
      label = gtk_label_new (text->str);
      gtk_widget_add_css_class (label, "kiosk-fault");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
    }
  else if (g_strcmp0 (lk_admin_json_string (kiosk, "stock"), "empty") == 0)
    {
      GtkWidget *label = gtk_label_new (_("out of cards"));

      gtk_widget_add_css_class (label, "kiosk-fault");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
    }

  for (guint i = 0; reserved != NULL && i < json_array_get_length (reserved); i++)
    {
      JsonNode *node = json_array_get_element (reserved, i);
      gint64 claim_id = 0;
      g_autofree char *label = NULL;
      GtkWidget *button;

      if (JSON_NODE_HOLDS_OBJECT (node))
        claim_id = lk_admin_json_int (json_node_get_object (node), "claim_id",
                                      lk_admin_json_int (json_node_get_object (node), "id", 0));
      else if (JSON_NODE_HOLDS_VALUE (node))
        claim_id = json_node_get_int (node);
      if (claim_id <= 0)
        continue;

      label = g_strdup_printf (_("Release claim %d…"), (int) claim_id);
      button = gtk_button_new_with_label (label);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "destructive-action");
      g_object_set_data (G_OBJECT (button), "claim-id", GSIZE_TO_POINTER ((gsize) claim_id));
      g_signal_connect (button, "clicked", G_CALLBACK (on_row_release_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }

  gtk_widget_add_css_class (state, online ? "kiosk-online" : "kiosk-offline");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), state);

  return row;
}

static void
rebuild_list (LkKiosksPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->kiosk_list))) != NULL)
    gtk_list_box_remove (self->kiosk_list, child);

  for (guint i = 0; i < self->kiosks->len; i++)
    gtk_list_box_append (self->kiosk_list, make_kiosk_row (self, g_ptr_array_index (self->kiosks, i)));

  gtk_stack_set_visible_child_name (self->list_stack, self->kiosks->len > 0 ? "list" : "empty");
}

static void
on_kiosks_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (LkKiosksPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *array;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Cannot list the kiosks: %s", error->message);
      return;
    }

  array = lk_admin_json_list (node, "kiosks", "items", NULL);
  g_ptr_array_set_size (self->kiosks, 0);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_OBJECT (element))
        g_ptr_array_add (self->kiosks, json_object_ref (json_node_get_object (element)));
    }
  rebuild_list (self);
}

static void
on_schools_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (LkKiosksPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *array;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Cannot list the schools: %s", error->message);
      return;
    }

  array = lk_admin_json_list (node, "schools", NULL);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *school;
      gint64 id;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      school = json_node_get_object (element);
      id = lk_admin_json_int (school, "id", 0);
      if (id <= 0 || lk_admin_json_string (school, "name") == NULL)
        continue;
      g_array_append_val (self->school_ids, id);
      gtk_string_list_append (self->school_names, lk_admin_json_string (school, "name"));
    }
  /* Rows already listed can now show the school's name. */
  rebuild_list (self);
}

static void
on_provinces_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (LkKiosksPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *array;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Cannot list the provinces: %s", error->message);
      return;
    }

  array = lk_admin_json_list (node, "provinces", NULL);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      const char *province = json_array_get_string_element (array, i);
      GString *path;

      if (province == NULL)
        continue;
      path = g_string_new (LK_API_PREFIX "/directory/schools?province=");
      g_string_append_uri_escaped (path, province, NULL, TRUE);
      lk_api_client_request_async (self->client, "GET", path->str, NULL, self->cancellable,
                                   on_schools_cb, g_object_ref (self));
      g_string_free (path, TRUE);
    }
}

static void
load_schools (LkKiosksPage *self)
{
  g_array_set_size (self->school_ids, 0);
  gtk_string_list_splice (self->school_names, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->school_names)), NULL);
  lk_api_client_request_async (self->client, "GET", LK_API_PREFIX "/directory/provinces", NULL,
                               self->cancellable, on_provinces_cb, g_object_ref (self));
}

static void
on_registered_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (LkKiosksPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  const char *secret;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  gtk_widget_set_sensitive (GTK_WIDGET (self->register_button), TRUE);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_register_error (self, error->message);
      return;
    }

  secret = JSON_NODE_HOLDS_OBJECT (node)
    ? lk_admin_json_string (json_node_get_object (node), "secret") : NULL;
  if (secret == NULL)
    {
      show_register_error (self, _("The server did not send the kiosk's secret."));
      return;
    }

  g_free (self->secret);
  self->secret = g_strdup (secret);
  gtk_label_set_label (self->secret_label, secret);
  gtk_revealer_set_reveal_child (self->secret_revealer, TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->sn_row), "");

  lk_kiosks_page_reload (self);
}

static void
on_register_clicked_cb (LkKiosksPage *self)
{
  g_autofree char *sn = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->sn_row))));
  guint selected = adw_combo_row_get_selected (self->school_row);

  if (*sn == '\0')
    {
      show_register_error (self, _("Enter the kiosk's serial number."));
      return;
    }
  if (selected == GTK_INVALID_LIST_POSITION || selected >= self->school_ids->len)
    {
      show_register_error (self, _("Choose the school."));
      return;
    }
  lk_kiosks_page_register (self, sn, g_array_index (self->school_ids, gint64, selected));
}

static void
on_copy_secret_clicked_cb (LkKiosksPage *self)
{
  if (self->secret == NULL)
    return;
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), self->secret);
  gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", _("Secret copied"));
}

static void
on_released_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (LkKiosksPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      message = g_strdup_printf (_("Cannot release the claim: %s"), error->message);
    }
  else
    {
      message = g_strdup (_("Claim released; the code can be used again"));
      gtk_editable_set_text (GTK_EDITABLE (self->claim_row), "");
      lk_kiosks_page_reload (self);
    }
  gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", message);
}

static void
on_release_response_cb (AdwMessageDialog *dialog,
                        const char       *response,
                        gpointer          user_data)
{
  LkKiosksPage *self = user_data;
  gint64 claim_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "claim-id"));
  g_autofree char *path = NULL;

  if (g_strcmp0 (response, "release") != 0 || self->client == NULL)
    return;

  path = g_strdup_printf (LK_API_PREFIX "/claims/%" G_GINT64_FORMAT "/release", claim_id);
  lk_api_client_request_async (self->client, "POST", path, NULL, self->cancellable,
                               on_released_cb, g_object_ref (self));
}

static void
on_release_clicked_cb (LkKiosksPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->claim_row));
  gint64 claim_id = g_ascii_strtoll (text, NULL, 10);

  if (claim_id <= 0)
    {
      gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s",
                                  _("Enter the number of the claim to release."));
      return;
    }
  lk_kiosks_page_release_claim (self, claim_id);
}

static void
lk_kiosks_page_dispose (GObject *object)
{
  LkKiosksPage *self = LK_KIOSKS_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);

  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_KIOSKS_PAGE);
  /* The template's root child is not a bound child: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  g_clear_pointer (&self->kiosks, g_ptr_array_unref);
  g_clear_object (&self->school_names);
  g_clear_pointer (&self->school_ids, g_array_unref);
  if (self->secret != NULL)
    memset (self->secret, 0, strlen (self->secret));
  g_clear_pointer (&self->secret, g_free);

  G_OBJECT_CLASS (lk_kiosks_page_parent_class)->dispose (object);
}

static void
lk_kiosks_page_class_init (LkKiosksPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lk_kiosks_page_dispose;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/cn/lingka/Admin/lk-kiosks-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, kiosk_list);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, sn_row);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, school_row);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, register_button);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, register_error_label);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, secret_revealer);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, secret_label);
  gtk_widget_class_bind_template_child (widget_class, LkKiosksPage, claim_row);
  gtk_widget_class_bind_template_callback (widget_class, on_register_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_secret_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_release_clicked_cb);
}

static void
lk_kiosks_page_init (LkKiosksPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->kiosks = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  self->school_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->school_names = gtk_string_list_new (NULL);
  adw_combo_row_set_model (self->school_row, G_LIST_MODEL (self->school_names));
  gtk_stack_set_visible_child_name (self->list_stack, "empty");
}

void
lk_kiosks_page_set_client (LkKiosksPage *self,
                           LkApiClient  *client)
{
  g_return_if_fail (LK_IS_KIOSKS_PAGE (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_set_object (&self->client, client);

  g_ptr_array_set_size (self->kiosks, 0);
  rebuild_list (self);
  gtk_revealer_set_reveal_child (self->secret_revealer, FALSE);
  gtk_label_set_label (self->secret_label, "");
  g_clear_pointer (&self->secret, g_free);
  show_register_error (self, NULL);

  if (client == NULL)
    return;
  lk_kiosks_page_reload (self);
}

void
lk_kiosks_page_reload (LkKiosksPage *self)
{
  g_return_if_fail (LK_IS_KIOSKS_PAGE (self));

  if (self->client == NULL || !lk_api_client_is_logged_in (self->client))
    return;
  lk_api_client_request_async (self->client, "GET", LK_API_PREFIX "/kiosks", NULL,
                               self->cancellable, on_kiosks_cb, g_object_ref (self));
  /* The directory lists only schools with students: after the first import there are some. */
  if (self->school_ids->len == 0)
    load_schools (self);
}

void
lk_kiosks_page_handle_event (LkKiosksPage *self,
                             JsonObject   *event)
{
  const char *type, *sn;
  JsonObject *kiosk;

  g_return_if_fail (LK_IS_KIOSKS_PAGE (self));

  type = lk_admin_json_string (event, "type");
  sn = lk_admin_json_string (event, "sn");
  if (sn == NULL)
    sn = lk_admin_json_string (event, "kiosk_sn");
  if (self->client == NULL || type == NULL || sn == NULL)
    return;
  if (!g_str_equal (type, LK_EVENT_KIOSK_ONLINE) && !g_str_equal (type, LK_EVENT_KIOSK_OFFLINE) &&
      !g_str_equal (type, LK_EVENT_KIOSK_STATUS))
    return;

  kiosk = lk_kiosks_page_get_kiosk (self, sn);
  if (kiosk == NULL)
    {
      /* A kiosk we do not list yet (registered elsewhere): list again. */
      lk_kiosks_page_reload (self);
      return;
    }

  if (g_str_equal (type, LK_EVENT_KIOSK_ONLINE) || g_str_equal (type, LK_EVENT_KIOSK_OFFLINE))
    {
      json_object_set_boolean_member (kiosk, "online", g_str_equal (type, LK_EVENT_KIOSK_ONLINE));
      json_object_set_int_member (kiosk, "last_seen", g_get_real_time () / G_USEC_PER_SEC);
    }
  else
    {
      const char *stock = lk_admin_json_string (event, "stock");
      JsonArray *faults = lk_admin_json_array (event, "faults");

      if (stock != NULL)
        json_object_set_string_member (kiosk, "stock", stock);
      if (faults != NULL)
        json_object_set_array_member (kiosk, "faults", json_array_ref (faults));
      json_object_set_boolean_member (kiosk, "online", TRUE);
      json_object_set_int_member (kiosk, "last_seen", g_get_real_time () / G_USEC_PER_SEC);
    }
  rebuild_list (self);
}

void
lk_kiosks_page_register (LkKiosksPage *self,
                         const char   *sn,
                         gint64        school_id)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;

  g_return_if_fail (LK_IS_KIOSKS_PAGE (self));
  g_return_if_fail (sn != NULL);

  if (self->client == NULL)
    return;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sn");
  json_builder_add_string_value (builder, sn);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, school_id);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  show_register_error (self, NULL);
  gtk_revealer_set_reveal_child (self->secret_revealer, FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->register_button), FALSE);
  lk_api_client_request_async (self->client, "POST", LK_API_PREFIX "/kiosks", body,
                               self->cancellable, on_registered_cb, g_object_ref (self));
}

const char *
lk_kiosks_page_get_secret (LkKiosksPage *self)
{
  g_return_val_if_fail (LK_IS_KIOSKS_PAGE (self), NULL);
  return self->secret;
}

AdwMessageDialog *
lk_kiosks_page_release_claim (LkKiosksPage *self,
                              gint64        claim_id)
{
  AdwMessageDialog *dialog;
  g_autofree char *body = NULL;

  g_return_val_if_fail (LK_IS_KIOSKS_PAGE (self), NULL);

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                                       _("Release This Claim?"), NULL));
  body = g_strdup_printf (_("Claim %d stays reserved for its kiosk until the kiosk reports "
                            "what happened. Release it only if you are sure that no card "
                            "was handed out: the student can then collect a card again."),
                          (int) claim_id);
  adw_message_dialog_set_body (dialog, body);
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "release", _("_Release"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "release", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data (G_OBJECT (dialog), "claim-id", GSIZE_TO_POINTER ((gsize) claim_id));
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_release_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

guint
lk_kiosks_page_get_n_kiosks (LkKiosksPage *self)
{
  g_return_val_if_fail (LK_IS_KIOSKS_PAGE (self), 0);
  return self->kiosks->len;
}

JsonObject *
lk_kiosks_page_get_kiosk (LkKiosksPage *self,
                          const char   *sn)
{
  g_return_val_if_fail (LK_IS_KIOSKS_PAGE (self), NULL);

  for (guint i = 0; i < self->kiosks->len; i++)
    {
      JsonObject *kiosk = g_ptr_array_index (self->kiosks, i);

      if (g_strcmp0 (lk_admin_json_string (kiosk, "sn"), sn) == 0)
        return kiosk;
    }
  return NULL;
}
