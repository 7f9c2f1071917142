/* lk-kiosk-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-kiosk-window.h"

#define SHAKE_MS 600

struct _LkKioskWindow
{
  GtkApplicationWindow  parent_instance;

  LkKioskFlow          *flow;
  guint                 shake_id;
  gboolean              landscape;

  /* template children */
  GtkStack             *stack;
  GtkLabel             *countdown_label;
  GtkWidget            *service_corner;
  GtkLabel             *school_label;
  GtkLabel             *oos_school_label;
  GtkWidget            *idle_stock_label;
  GtkWidget            *idle_offline_label;
  GtkBox               *entry_layout;
  GtkBox               *pin_layout;
  GtkWidget            *code_boxes;
  GtkBox               *code_group_a;
  GtkBox               *code_group_b;
  GtkLabel             *entry_hint_label;
  GtkGrid              *entry_keypad;
  GtkLabel             *confirm_name_label;
  GtkLabel             *confirm_class_label;
  GtkLabel             *confirm_school_label;
  GtkWidget            *step_out_label;
  GtkWidget            *step_write_label;
  GtkWidget            *step_check_label;
  GtkLabel             *take_countdown_label;
  GtkLabel             *locked_label;
  GtkLabel             *pin_label;
  GtkGrid              *pin_keypad;
  GtkLabel             *service_label;

  GtkLabel             *digit_labels[LK_CLAIM_CODE_LEN];
};

G_DEFINE_FINAL_TYPE (LkKioskWindow, lk_kiosk_window, GTK_TYPE_APPLICATION_WINDOW)

typedef void (*KeyFunc) (LkKioskFlow *flow);

static void
update_digits (LkKioskWindow *self)
{
  const char *digits = lk_kiosk_flow_get_digits (self->flow);
  gsize len = strlen (digits);

  for (guint i = 0; i < LK_CLAIM_CODE_LEN; i++)
    {
      char text[2] = { i < len ? digits[i] : '\0', '\0' };

      gtk_label_set_text (self->digit_labels[i], text);
      if (i == len)
        gtk_widget_add_css_class (GTK_WIDGET (self->digit_labels[i]), "current");
      else
        gtk_widget_remove_css_class (GTK_WIDGET (self->digit_labels[i]), "current");
    }
}

static void
update_countdown (LkKioskWindow *self)
{
  guint seconds = lk_kiosk_flow_get_countdown (self->flow);
  LkKioskScreen screen = lk_kiosk_flow_get_screen (self->flow);
  g_autofree char *footer = NULL;
  g_autofree char *take = NULL;
  g_autofree char *locked = NULL;

  take = g_strdup_printf (ngettext ("%u second", "%u seconds", seconds), seconds);
  gtk_label_set_text (self->take_countdown_label, take);
  locked = g_strdup_printf (ngettext ("Too many wrong codes. Please try again in %u second",
                                      "Too many wrong codes. Please try again in %u seconds",
                                      seconds), seconds);
  gtk_label_set_text (self->locked_label, locked);

  /* The footer only says when a screen will go back by itself. */
  if (seconds > 0 && screen != LK_KIOSK_SCREEN_TAKE_CARD && screen != LK_KIOSK_SCREEN_LOCKED &&
      screen != LK_KIOSK_SCREEN_IDLE)
    footer = g_strdup_printf (ngettext ("Back to the start in %u second",
                                        "Back to the start in %u seconds", seconds), seconds);
  gtk_label_set_text (self->countdown_label, footer ? footer : "");
}

static void
update_progress (LkKioskWindow *self)
{
  guint progress = lk_kiosk_flow_get_progress (self->flow);
  GtkWidget *steps[] = { self->step_out_label, self->step_write_label, self->step_check_label };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      gtk_widget_remove_css_class (steps[i], "done");
      gtk_widget_remove_css_class (steps[i], "active");
      if (i < progress)
        gtk_widget_add_css_class (steps[i], "done");
      else if (i == progress)
        gtk_widget_add_css_class (steps[i], "active");
    }
}

static void
update_student (LkKioskWindow *self)
{
  const char *school = lk_kiosk_config_get_school_name (lk_kiosk_flow_get_config (self->flow));

  gtk_label_set_text (self->confirm_name_label, lk_kiosk_flow_get_student_name (self->flow)
                                                ? lk_kiosk_flow_get_student_name (self->flow) : "");
  gtk_label_set_text (self->confirm_class_label, lk_kiosk_flow_get_student_class (self->flow)
                                                 ? lk_kiosk_flow_get_student_class (self->flow) : "");
  gtk_label_set_text (self->confirm_school_label, school ? school : "");
}

static void
update_idle (LkKioskWindow *self)
{
  gtk_widget_set_visible (self->idle_stock_label, lk_kiosk_flow_get_stock_low (self->flow));
  gtk_widget_set_visible (self->idle_offline_label,
                          !lk_kiosk_link_get_connected (lk_kiosk_flow_get_link (self->flow)));
}

static void
set_hint (LkKioskWindow *self,
          const char    *hint)
{
  gtk_label_set_text (self->entry_hint_label, hint ? hint : "");
}

static void
update_screen (LkKioskWindow *self)
{
  LkKioskScreen screen = lk_kiosk_flow_get_screen (self->flow);

  if (screen != LK_KIOSK_SCREEN_ENTRY)
    set_hint (self, NULL);
  gtk_stack_set_visible_child_name (self->stack, lk_kiosk_screen_to_string (screen));
  update_countdown (self);
  update_idle (self);
}

static gboolean
on_shake_done_cb (gpointer user_data)
{
  LkKioskWindow *self = user_data;

  self->shake_id = 0;
  gtk_widget_remove_css_class (self->code_boxes, "shake");
  return G_SOURCE_REMOVE;
}

static void
on_typo_cb (LkKioskFlow   *flow,
            guint          typo,
            LkKioskWindow *self)
{
  if (typo == LK_KIOSK_TYPO_INCOMPLETE)
    set_hint (self, _("Please type all 8 digits"));
  else
    set_hint (self, _("The code has a typo. Please check it and type it again"));

  /* Restart the animation: the class comes off, then on again. */
  gtk_widget_remove_css_class (self->code_boxes, "shake");
  g_clear_handle_id (&self->shake_id, g_source_remove);
  gtk_widget_add_css_class (self->code_boxes, "shake");
  self->shake_id = g_timeout_add (SHAKE_MS, on_shake_done_cb, self);
}

static void
on_flow_notify_cb (LkKioskFlow   *flow,
                   GParamSpec    *pspec,
                   LkKioskWindow *self)
{
  const char *name = g_param_spec_get_name (pspec);

  if (g_str_equal (name, "screen"))
    update_screen (self);
  else if (g_str_equal (name, "digits"))
    {
      update_digits (self);
      set_hint (self, NULL);
    }
  else if (g_str_equal (name, "countdown"))
    update_countdown (self);
  else if (g_str_equal (name, "progress"))
    update_progress (self);
  else if (g_str_equal (name, "student-name") || g_str_equal (name, "student-class"))
    update_student (self);
  else if (g_str_equal (name, "stock-low"))
    update_idle (self);
  else if (g_str_equal (name, "pin-length"))
    {
      guint n = lk_kiosk_flow_get_pin_length (self->flow);
      g_autoptr(GString) dots = g_string_new (NULL);

      for (guint i = 0; i < n; i++)
        g_string_append (dots, "●");
      gtk_label_set_text (self->pin_label, dots->str);
    }
  else if (g_str_equal (name, "service-text"))
    gtk_label_set_text (self->service_label, lk_kiosk_flow_get_service_text (self->flow));
}

static void
on_link_connected_cb (LkKioskLink   *link,
                      GParamSpec    *pspec,
                      LkKioskWindow *self)
{
  update_idle (self);
}

static void
on_digit_clicked_cb (GtkButton     *button,
                     LkKioskWindow *self)
{
  guint digit = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "digit"));
  gboolean pin = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "pin"));

  if (pin)
    lk_kiosk_flow_press_pin_digit (self->flow, digit);
  else
    lk_kiosk_flow_press_digit (self->flow, digit);
}

static void
on_function_clicked_cb (GtkButton     *button,
                        LkKioskWindow *self)
{
  KeyFunc func = g_object_get_data (G_OBJECT (button), "func");

  func (self->flow);
}

static GtkWidget *
make_key (LkKioskWindow *self,
          const char    *label,
          const char    *name)
{
  GtkWidget *button = gtk_button_new_with_label (label);

  gtk_widget_set_name (button, name);
  gtk_widget_add_css_class (button, "key");
  gtk_widget_set_focusable (button, FALSE);
  return button;
}

static void
clear_pin (LkKioskFlow *flow)
{
  /* The PIN pad's clear key starts the PIN again. */
  lk_kiosk_flow_request_service (flow);
}

/* 1 2 3 / 4 5 6 / 7 8 9 / clear 0 ⌫: a phone's layout, which children know. */
static void
build_keypad (LkKioskWindow *self,
              GtkGrid       *grid,
              gboolean       pin)
{
  const char *prefix = pin ? "pin-key-" : "key-";

  for (guint digit = 0; digit <= 9; digit++)
    {
      char label[2] = { (char) ('0' + digit), '\0' };
      g_autofree char *name = g_strdup_printf ("%s%u", prefix, digit);
      GtkWidget *button = make_key (self, label, name);
      guint column = digit == 0 ? 1 : (digit - 1) % 3;
      guint row = digit == 0 ? 3 : (digit - 1) / 3;

      g_object_set_data (G_OBJECT (button), "digit", GUINT_TO_POINTER (digit));
      g_object_set_data (G_OBJECT (button), "pin", GINT_TO_POINTER (pin));
      g_signal_connect (button, "clicked", G_CALLBACK (on_digit_clicked_cb), self);
      gtk_grid_attach (grid, button, (int) column, (int) row, 1, 1);
    }

  {
    g_autofree char *clear_name = g_strdup_printf ("%sclear", prefix);
    GtkWidget *clear = make_key (self, _("Clear"), clear_name);

    gtk_widget_add_css_class (clear, "function");
    g_object_set_data (G_OBJECT (clear), "func", pin ? (gpointer) clear_pin
                                                      : (gpointer) lk_kiosk_flow_clear);
    g_signal_connect (clear, "clicked", G_CALLBACK (on_function_clicked_cb), self);
    gtk_grid_attach (grid, clear, 0, 3, 1, 1);
  }
  if (!pin)
    {
      GtkWidget *back = make_key (self, "⌫", "key-backspace");

      gtk_widget_add_css_class (back, "function");
      gtk_widget_set_tooltip_text (back, _("Delete the last digit"));
      g_object_set_data (G_OBJECT (back), "func", (gpointer) lk_kiosk_flow_backspace);
      g_signal_connect (back, "clicked", G_CALLBACK (on_function_clicked_cb), self);
      gtk_grid_attach (grid, back, 2, 3, 1, 1);
    }
}

static void
on_start_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_start_entry (self->flow);
}

static void
on_submit_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_submit (self->flow);
}

static void
on_accept_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_accept (self->flow);
}

static void
on_decline_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_decline (self->flow);
}

static void
on_retry_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_retry (self->flow);
}

static void
on_idle_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_go_idle (self->flow);
}

static void
on_pin_submit_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_submit_pin (self->flow);
}

static void
on_service_refresh_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_service_refresh (self->flow);
}

static void
on_service_test_clicked_cb (LkKioskWindow *self)
{
  lk_kiosk_flow_service_test_issue (self->flow);
}

static void
on_corner_pressed_cb (GtkGestureLongPress *gesture,
                      double               x,
                      double               y,
                      LkKioskWindow       *self)
{
  lk_kiosk_window_long_press_corner (self);
}

static void
apply_orientation (LkKioskWindow *self,
                   gboolean       landscape)
{
  if (self->landscape == landscape)
    return;
  self->landscape = landscape;
  /* Portrait: code above keypad. Landscape: side by side, so nothing scrolls. */
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self->entry_layout),
                                  landscape ? GTK_ORIENTATION_HORIZONTAL
                                            : GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (self->entry_layout, landscape ? 120 : 72);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self->pin_layout),
                                  landscape ? GTK_ORIENTATION_HORIZONTAL
                                            : GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (self->pin_layout, landscape ? 120 : 32);
  if (landscape)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self), "landscape");
      gtk_widget_remove_css_class (GTK_WIDGET (self), "portrait");
    }
  else
    {
      gtk_widget_add_css_class (GTK_WIDGET (self), "portrait");
      gtk_widget_remove_css_class (GTK_WIDGET (self), "landscape");
    }
}

/* The layout's minimum size depends on the orientation, so it is chosen from the default
 * size before the first allocation too (else a portrait minimum would stretch a landscape
 * window). */
static void
on_default_size_cb (LkKioskWindow *self)
{
  int width, height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  if (width > 0 && height > 0)
    apply_orientation (self, width > height);
}

static void
lk_kiosk_window_size_allocate (GtkWidget *widget,
                               int        width,
                               int        height,
                               int        baseline)
{
  LkKioskWindow *self = LK_KIOSK_WINDOW (widget);

  apply_orientation (self, width > height);
  GTK_WIDGET_CLASS (lk_kiosk_window_parent_class)->size_allocate (widget, width, height, baseline);
}

static void
lk_kiosk_window_dispose (GObject *object)
{
  LkKioskWindow *self = (LkKioskWindow *) object;

  g_clear_handle_id (&self->shake_id, g_source_remove);
  if (self->flow != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->flow, self);
      g_signal_handlers_disconnect_by_data (lk_kiosk_flow_get_link (self->flow), self);
    }
  g_clear_object (&self->flow);
  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_KIOSK_WINDOW);

  G_OBJECT_CLASS (lk_kiosk_window_parent_class)->dispose (object);
}

static void
lk_kiosk_window_class_init (LkKioskWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lk_kiosk_window_dispose;
  widget_class->size_allocate = lk_kiosk_window_size_allocate;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/cn/lingka/Kiosk/lk-kiosk-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, countdown_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, service_corner);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, school_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, oos_school_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, idle_stock_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, idle_offline_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, entry_layout);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, pin_layout);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, code_boxes);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, code_group_a);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, code_group_b);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, entry_hint_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, entry_keypad);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, confirm_name_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, confirm_class_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, confirm_school_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, step_out_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, step_write_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, step_check_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, take_countdown_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, locked_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, pin_label);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, pin_keypad);
  gtk_widget_class_bind_template_child (widget_class, LkKioskWindow, service_label);
  gtk_widget_class_bind_template_callback (widget_class, on_start_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_submit_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_accept_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_decline_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_retry_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_idle_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_pin_submit_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_service_refresh_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_service_test_clicked_cb);
}

static void
lk_kiosk_window_init (LkKioskWindow *self)
{
  GtkGesture *long_press;

  gtk_widget_init_template (GTK_WIDGET (self));

  for (guint i = 0; i < LK_CLAIM_CODE_LEN; i++)
    {
      GtkWidget *label = gtk_label_new (NULL);
      g_autofree char *name = g_strdup_printf ("digit-%u", i);

      gtk_widget_set_name (label, name);
      gtk_widget_add_css_class (label, "digit");
      gtk_box_append (i < 4 ? self->code_group_a : self->code_group_b, label);
      self->digit_labels[i] = GTK_LABEL (label);
    }
  build_keypad (self, self->entry_keypad, FALSE);
  build_keypad (self, self->pin_keypad, TRUE);

  long_press = gtk_gesture_long_press_new ();
  gtk_gesture_single_set_touch_only (GTK_GESTURE_SINGLE (long_press), FALSE);
  gtk_gesture_long_press_set_delay_factor (GTK_GESTURE_LONG_PRESS (long_press), 2.0);
  g_signal_connect (long_press, "pressed", G_CALLBACK (on_corner_pressed_cb), self);
  gtk_widget_add_controller (self->service_corner, GTK_EVENT_CONTROLLER (long_press));

  self->landscape = TRUE;
  apply_orientation (self, FALSE);
  g_signal_connect (self, "notify::default-width", G_CALLBACK (on_default_size_cb), NULL);
  g_signal_connect (self, "notify::default-height", G_CALLBACK (on_default_size_cb), NULL);
}

LkKioskWindow *
lk_kiosk_window_new (GtkApplication *application,
                     LkKioskFlow    *flow)
{
  LkKioskWindow *self;
  const char *school;

  g_return_val_if_fail (LK_IS_KIOSK_FLOW (flow), NULL);

  self = g_object_new (LK_TYPE_KIOSK_WINDOW, "application", application, NULL);
  self->flow = g_object_ref (flow);
  school = lk_kiosk_config_get_school_name (lk_kiosk_flow_get_config (flow));
  gtk_label_set_text (self->school_label, school ? school : "");
  gtk_label_set_text (self->oos_school_label, school ? school : "");
  gtk_widget_set_visible (GTK_WIDGET (self->school_label), school != NULL);

  g_signal_connect (flow, "notify", G_CALLBACK (on_flow_notify_cb), self);
  g_signal_connect (flow, "typo", G_CALLBACK (on_typo_cb), self);
  g_signal_connect (lk_kiosk_flow_get_link (flow), "notify::connected",
                    G_CALLBACK (on_link_connected_cb), self);

  update_digits (self);
  update_student (self);
  update_progress (self);
  update_screen (self);
  return self;
}

LkKioskFlow *
lk_kiosk_window_get_flow (LkKioskWindow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_WINDOW (self), NULL);
  return self->flow;
}

const char *
lk_kiosk_window_get_page (LkKioskWindow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

gboolean
lk_kiosk_window_get_shaking (LkKioskWindow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_WINDOW (self), FALSE);
  return gtk_widget_has_css_class (self->code_boxes, "shake");
}

const char *
lk_kiosk_window_get_hint (LkKioskWindow *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_WINDOW (self), NULL);
  return gtk_label_get_text (self->entry_hint_label);
}

void
lk_kiosk_window_long_press_corner (LkKioskWindow *self)
{
  g_return_if_fail (LK_IS_KIOSK_WINDOW (self));

  lk_kiosk_flow_request_service (self->flow);
}
