/* test-kiosk-gui.c: the kiosk window under Xvfb, driven through every screen by the events a
 * touch would give (button clicks, the corner's long-press gesture), with the real flow,
 * store, link and driver, the simulator on a real pty and an in-process kiosk server.
 *
 * With LINGKA_SCREENSHOT_DIR set, each screen is saved as kiosk-<screen>-<w>x<h>.png.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>

#include "lingka-common.h"
#include "lk-kiosk-application.h"
#include "lk-kiosk-test-rig.h"
#include "lk-kiosk-test-util.h"
#include "lk-kiosk-window.h"
#include "lk-test-kiosk-server.h"

#define SN "K-GUI-01"
#define SECRET "gui-secret"

typedef struct
{
  int                width;
  int                height;
  LkTestKioskServer *server;
  LkKioskRig        *rig;
  LkKioskWindow     *window;
  char              *code_a;
  char              *code_b;
  char              *code_c;
  guint              n_shots;
} Fixture;

static GtkWidget *
find_named (GtkWidget  *root,
            const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_named (child, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
shows_text (GtkWidget  *root,
            const char *text)
{
  if (!gtk_widget_get_visible (root))
    return FALSE;
  if (GTK_IS_LABEL (root) && strstr (gtk_label_get_text (GTK_LABEL (root)), text) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (shows_text (child, text))
      return TRUE;
  return FALSE;
}

static GtkStack *
get_stack (Fixture *f)
{
  GtkWidget *start = find_named (GTK_WIDGET (f->window), "start-button");
  GtkWidget *w = start;

  while (w != NULL && !GTK_IS_STACK (w))
    w = gtk_widget_get_parent (w);
  g_assert_nonnull (w);
  return GTK_STACK (w);
}

/* What the visible page says (the footer is outside the stack). */
static void
assert_shows (Fixture    *f,
              const char *text)
{
  GtkWidget *page = gtk_stack_get_visible_child (get_stack (f));

  if (!shows_text (page, text))
    g_error ("page %s does not show “%s”", lk_kiosk_window_get_page (f->window), text);
}

static void
tap (Fixture    *f,
     const char *name)
{
  GtkWidget *button = find_named (GTK_WIDGET (f->window), name);

  if (button == NULL)
    g_error ("no button named %s", name);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static void
tap_code (Fixture    *f,
          const char *code)
{
  for (const char *p = code; *p; p++)
    {
      char name[8];

      g_snprintf (name, sizeof name, "key-%c", *p);
      tap (f, name);
    }
}

static void
wait_page (Fixture    *f,
           const char *page)
{
  GtkStack *stack = get_stack (f);

  if (!LK_TEST_WAIT_UNTIL (g_strcmp0 (lk_kiosk_window_get_page (f->window), page) == 0 &&
                           !gtk_stack_get_transition_running (stack), 15000))
    g_error ("waited for page %s, still on %s", page, lk_kiosk_window_get_page (f->window));
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static void
shoot (Fixture    *f,
       const char *screen)
{
  const char *dir = g_getenv ("LINGKA_SCREENSHOT_DIR");
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  GskRenderer *renderer;
  int width = gtk_widget_get_width (GTK_WIDGET (f->window));
  int height = gtk_widget_get_height (GTK_WIDGET (f->window));

  f->n_shots++;
  g_assert_cmpint (width, ==, f->width);
  g_assert_cmpint (height, ==, f->height);
  if (dir == NULL)
    return;

  /* Wait for a frame to be painted, so that layout and CSS are those of the page shown. */
  {
    GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (f->window));
    guint painted = 0;
    gulong id = g_signal_connect_swapped (clock, "after-paint", G_CALLBACK (count_cb), &painted);

    gtk_widget_queue_draw (GTK_WIDGET (f->window));
    gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_PAINT);
    g_assert_true (LK_TEST_WAIT_UNTIL (painted >= 2, 10000));
    g_signal_handler_disconnect (clock, id);
  }

  paintable = gtk_widget_paintable_new (GTK_WIDGET (f->window));
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (GTK_NATIVE (f->window));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  file = g_strdup_printf ("kiosk-%s-%dx%d.png", screen, width, height);
  path = g_build_filename (dir, file, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  const int *size = data;
  LkKioskFlowTiming timing;

  f->width = size[0];
  f->height = size[1];
  f->server = lk_test_kiosk_server_new (SN, SECRET, LK_DIGEST_PBKDF2_SHA256);
  f->code_a = lk_test_make_code ("2025091");
  f->code_b = lk_test_make_code ("2025092");
  f->code_c = lk_test_make_code ("2025093");
  lk_test_kiosk_server_add_code (f->server, f->code_a, "张小明", "三年级(2)班", "2023001234");
  lk_test_kiosk_server_add_code (f->server, f->code_b, "欧阳小红", "五年级(1)班", "2021000777");
  lk_test_kiosk_server_revoke_code (f->server,
                                    lk_test_kiosk_server_add_code (f->server, f->code_c, "李四",
                                                                   "一年级(3)班", "2025000042"));

  f->rig = lk_kiosk_rig_new (lk_test_kiosk_server_get_url (f->server), SN, SECRET, NULL, 5);
  timing = *lk_kiosk_flow_get_timing (f->rig->flow);
  timing.max_wrong_codes = 2;
  timing.lockout_ms = 60000;
  timing.claim_timeout_ms = 1500;
  timing.take_timeout_ms = 3000;
  lk_kiosk_flow_set_timing (f->rig->flow, &timing);

  f->window = lk_kiosk_window_new (NULL, f->rig->flow);
  gtk_window_set_default_size (GTK_WINDOW (f->window), f->width, f->height);
  gtk_window_present (GTK_WINDOW (f->window));
  if (!LK_TEST_WAIT_UNTIL (gtk_widget_get_width (GTK_WIDGET (f->window)) == f->width &&
                           gtk_widget_get_height (GTK_WIDGET (f->window)) == f->height, 10000))
    g_error ("the window is %d×%d, not %d×%d", gtk_widget_get_width (GTK_WIDGET (f->window)),
             gtk_widget_get_height (GTK_WIDGET (f->window)), f->width, f->height);
  lk_kiosk_rig_start (f->rig);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_pointer (&f->rig, lk_kiosk_rig_free);
  g_clear_pointer (&f->server, lk_test_kiosk_server_free);
  g_free (f->code_a);
  g_free (f->code_b);
  g_free (f->code_c);
}

static void
on_progress_shoot_cb (LkKioskFlow *flow,
                      guint        stage,
                      const char  *card_no,
                      Fixture     *f)
{
  /* The preparing page, caught while the card is being written. */
  if (stage == LK_ISSUE_STAGE_WRITING)
    {
      wait_page (f, "preparing");
      assert_shows (f, "正在制卡，请稍候…");
      shoot (f, "preparing");
    }
}

static void
test_every_screen (Fixture       *f,
                   gconstpointer  data)
{
  LkKioskFlow *flow = f->rig->flow;
  g_autofree char *typo = g_strdup (f->code_a);
  g_autofree char *unknown1 = lk_test_make_code ("9990001");
  g_autofree char *unknown2 = lk_test_make_code ("9990002");
  g_autofree char *unknown3 = lk_test_make_code ("9990003");
  GtkWidget *corner;
  GListModel *controllers;
  gulong progress_id;

  /* idle */
  wait_page (f, "idle");
  assert_shows (f, "请输入取卡注册码领取校园卡");
  assert_shows (f, "轻触屏幕开始");
  assert_shows (f, "杭州市文三街小学");
  shoot (f, "idle");

  /* entry */
  tap (f, "start-button");
  wait_page (f, "entry");
  assert_shows (f, "请输入短信中的8位取卡注册码");
  tap_code (f, "2025");
  g_assert_cmpstr (lk_kiosk_flow_get_digits (flow), ==, "2025");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_named (GTK_WIDGET (f->window), "digit-3"))),
                   ==, "5");
  shoot (f, "entry");

  /* typo: two neighbouring digits swapped */
  tap (f, "key-clear");
  typo[5] = f->code_a[6];
  typo[6] = f->code_a[5];
  tap_code (f, typo);
  tap (f, "key-backspace");
  tap_code (f, typo + 7);
  tap (f, "entry-submit-button");
  g_assert_true (lk_kiosk_window_get_shaking (f->window));
  g_assert_cmpstr (lk_kiosk_window_get_hint (f->window), ==, "注册码有误，请检查后重新输入");
  g_assert_cmpstr (lk_kiosk_flow_get_digits (flow), ==, typo);
  shoot (f, "typo");

  /* not found locally */
  tap (f, "key-clear");
  tap_code (f, unknown1);
  tap (f, "entry-submit-button");
  wait_page (f, "invalid");
  assert_shows (f, "取卡注册码无效");
  shoot (f, "invalid");

  /* confirm */
  tap (f, "invalid-retry-button");
  wait_page (f, "entry");
  tap_code (f, f->code_a);
  tap (f, "entry-submit-button");
  wait_page (f, "confirm");
  assert_shows (f, "张*明");
  assert_shows (f, "三年级(2)班");
  assert_shows (f, "是你的卡吗？");
  shoot (f, "confirm");

  /* waiting, then offline when the server does not answer */
  lk_test_kiosk_server_set_hold_claims (f->server, TRUE);
  tap (f, "confirm-yes-button");
  wait_page (f, "waiting");
  assert_shows (f, "正在核验…");
  shoot (f, "waiting");
  wait_page (f, "offline");
  assert_shows (f, "网络连接中断，请稍后再试");
  shoot (f, "offline");
  lk_test_kiosk_server_set_hold_claims (f->server, FALSE);
  /* The late answer was cancelled through the journal: the code is open again. */
  lk_test_kiosk_server_disconnect_all (f->server);
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_failed (f->server) == 1, 10000));
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_link_get_connected (f->rig->link), 10000));
  tap (f, "offline-back-button");
  wait_page (f, "idle");

  /* preparing → take your card → not taken */
  lk_kiosk_rig_sim (f->rig, "motion-ms 150");
  lk_kiosk_rig_sim (f->rig, "untaken");
  progress_id = g_signal_connect (flow, "issue-progress", G_CALLBACK (on_progress_shoot_cb), f);
  tap (f, "start-button");
  tap_code (f, f->code_a);
  tap (f, "entry-submit-button");
  wait_page (f, "confirm");
  tap (f, "confirm-yes-button");
  wait_page (f, "take-card");
  g_signal_handler_disconnect (flow, progress_id);
  assert_shows (f, "请取走您的校园卡");
  assert_shows (f, "秒");
  shoot (f, "take-card");
  wait_page (f, "not-taken");
  assert_shows (f, "卡片未被取走，已回收。请重新输入注册码领取");
  shoot (f, "not-taken");
  lk_kiosk_rig_sim (f->rig, "motion-ms 5");

  /* done */
  tap (f, "not-taken-retry-button");
  wait_page (f, "entry");
  tap_code (f, f->code_a);
  tap (f, "entry-submit-button");
  wait_page (f, "confirm");
  tap (f, "confirm-yes-button");
  wait_page (f, "done");
  assert_shows (f, "领卡成功");
  shoot (f, "done");
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_test_kiosk_server_get_n_completed (f->server) == 1, 10000));

  /* already issued */
  tap (f, "done-button");
  wait_page (f, "idle");
  tap (f, "start-button");
  tap_code (f, f->code_a);
  tap (f, "entry-submit-button");
  wait_page (f, "confirm");
  tap (f, "confirm-yes-button");
  wait_page (f, "already-issued");
  assert_shows (f, "IC卡已完成发卡");
  assert_shows (f, "如有疑问请联系班主任");
  shoot (f, "already-issued");

  /* a write failure: the card is captured */
  tap (f, "issued-back-button");
  wait_page (f, "idle");
  lk_kiosk_rig_sim (f->rig, "fail-write");
  tap (f, "start-button");
  tap_code (f, f->code_b);
  tap (f, "entry-submit-button");
  wait_page (f, "confirm");
  assert_shows (f, "欧**红");
  tap (f, "confirm-yes-button");
  wait_page (f, "issue-failed");
  assert_shows (f, "制卡失败，卡片已回收");
  shoot (f, "issue-failed");

  /* revoked */
  tap (f, "failed-retry-button");
  wait_page (f, "entry");
  tap_code (f, f->code_c);
  tap (f, "entry-submit-button");
  wait_page (f, "confirm");
  tap (f, "confirm-yes-button");
  wait_page (f, "revoked");
  assert_shows (f, "此注册码已停用");
  shoot (f, "revoked");
  lk_kiosk_flow_go_idle (flow);

  /* too many tries */
  wait_page (f, "idle");
  tap (f, "start-button");
  tap_code (f, unknown2);
  tap (f, "entry-submit-button");
  wait_page (f, "invalid");
  tap (f, "invalid-retry-button");
  tap_code (f, unknown3);
  tap (f, "entry-submit-button");
  wait_page (f, "locked");
  assert_shows (f, "输入错误次数过多，请 60 秒后再试");
  shoot (f, "locked");

  /* the staff gesture works on any screen that is not moving a card: the service screen */
  corner = find_named (GTK_WIDGET (f->window), "service-corner");
  g_assert_nonnull (corner);
  controllers = gtk_widget_observe_controllers (corner);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_LONG_PRESS (controller))
        g_signal_emit_by_name (controller, "pressed", 10.0, 10.0);
    }
  g_object_unref (controllers);
  wait_page (f, "service-pin");
  assert_shows (f, "请输入维护密码");
  for (const char *p = LK_TEST_SERVICE_PIN; *p; p++)
    {
      char name[16];

      g_snprintf (name, sizeof name, "pin-key-%c", *p);
      tap (f, name);
    }
  g_assert_cmpuint (lk_kiosk_flow_get_pin_length (flow), ==, strlen (LK_TEST_SERVICE_PIN));
  shoot (f, "service-pin");
  tap (f, "pin-submit-button");
  wait_page (f, "service");
  tap (f, "service-test-button");
  g_assert_true (LK_TEST_WAIT_UNTIL (!lk_kiosk_flow_get_busy (flow), 15000));
  assert_shows (f, "测试发卡通过");
  assert_shows (f, "服务器：已连接");
  shoot (f, "service");
  tap (f, "service-leave-button");

  /* out of service, for as long as the jam lasts */
  wait_page (f, "idle");
  lk_kiosk_rig_sim (f->rig, "jam");
  wait_page (f, "out-of-service");
  assert_shows (f, "本机暂停服务");
  assert_shows (f, "请到其他自助机领取");
  shoot (f, "out-of-service");
  lk_kiosk_rig_sim (f->rig, "clear");
  wait_page (f, "idle");

  /* cards running low shows on idle */
  lk_kiosk_rig_sim (f->rig, "empty");
  lk_kiosk_rig_sim (f->rig, "fill 2");
  g_assert_true (LK_TEST_WAIT_UNTIL (lk_kiosk_flow_get_stock_low (flow), 10000));
  wait_page (f, "idle");
  assert_shows (f, "本机卡片即将用完");
  shoot (f, "idle-low-stock");

  g_assert_cmpuint (f->n_shots, ==, 19);
}

int
main (int   argc,
      char *argv[])
{
  static const int portrait[] = { 1080, 1920 };
  static const int landscape[] = { 1920, 1080 };

  /* No accessibility bus under Xvfb (GTK 4 asks the session bus for it, and warns). */
  g_setenv ("GTK_A11Y", "none", TRUE);
  /* zh_CN, as a kiosk starts by default. */
  lk_i18n_init ("zh_CN");
  gtk_test_init (&argc, &argv, NULL);
  lk_kiosk_load_css ();

  g_test_add ("/kiosk/gui/portrait", Fixture, portrait,
              fixture_setup, test_every_screen, fixture_teardown);
  g_test_add ("/kiosk/gui/landscape", Fixture, landscape,
              fixture_setup, test_every_screen, fixture_teardown);

  return g_test_run ();
}
