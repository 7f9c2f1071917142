/* test-admin-gui.c: lingka-admin's windows under Xvfb, against the real server in-process
 *
 * Each test starts lingka-server on a free loopback port with a temporary data directory,
 * then drives the admin window the way a teacher or an operator would: log in, import a
 * roster (with errors first), search, and watch the pickup chart while a kiosk, driven here
 * over the real kiosk WebSocket, issues a card. With LINGKA_SCREENSHOT_DIR set, each screen
 * is saved as admin-<screen>.png.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <adwaita.h>
#include <libsoup/soup.h>

#include "lingka-common.h"
#include "lk-admin-application.h"
#include "lk-admin-window.h"
#include "lk-roster-reader.h"
#include "lk-roster-writer.h"
#include "lk-student-item.h"
#include "test-admin-gui-server.h"

#define WAIT_MS 20000
#define PROVINCE "浙江省"
#define SCHOOL "杭州市文三街小学"
#define TEACHER_PASSWORD "teacher-pass-1"
#define OPERATOR_PASSWORD "operator-pass-1"

typedef struct
{
  char               *dir;
  AdminTestServer    *server;
  const char         *base_url;
  gint64              school_id;
  LkAdminApplication *app;
  LkAdminWindow      *window;
  SoupSession        *session;
} Fixture;

/* --- waiting without sleeping: iterate the main context until a condition, or fail --- */

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
iterate (void)
{
  /* The wake-up source only bounds each blocking iteration; the loop checks the condition. */
  guint wake = g_timeout_add (10, wake_cb, NULL);

  g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
}

#define WAIT_FOR(cond) \
  G_STMT_START { \
    gint64 _deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND; \
    while (!(cond)) \
      { \
        if (g_get_monotonic_time () > _deadline) \
          g_error ("%s:%d: timed out waiting for %s", __FILE__, __LINE__, #cond); \
        iterate (); \
      } \
  } G_STMT_END

static gboolean
count_frame_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

static void
wait_frames (GtkWidget *widget,
             guint      n)
{
  guint frames = 0;
  guint id = gtk_widget_add_tick_callback (widget, count_frame_cb, &frames, NULL);

  WAIT_FOR (frames >= n);
  gtk_widget_remove_tick_callback (widget, id);
}

static void
screenshot_window (GtkWidget  *widget,
                   const char *screen)
{
  const char *dir = g_getenv ("LINGKA_SCREENSHOT_DIR");
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GtkSnapshot) snapshot = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  int width, height;

  if (dir == NULL || *dir == '\0')
    return;

  wait_frames (widget, 4);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  name = g_strdup_printf ("admin-%s.png", screen);
  path = g_build_filename (dir, name, NULL);
  g_mkdir_with_parents (dir, 0755);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

static void
screenshot (Fixture    *fx,
            const char *screen)
{
  screenshot_window (GTK_WIDGET (fx->window), screen);
}

/* --- the server side --- */

static JsonNode *
http_json (Fixture    *fx,
           const char *method,
           const char *path,
           const char *bearer,
           const char *body,
           guint       expected_status)
{
  g_autofree char *url = g_strconcat (fx->base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data;

  if (bearer != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", bearer, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }

  answer = soup_session_send_and_read (fx->session, msg, NULL, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (answer, &len);
  if (soup_message_get_status (msg) != expected_status)
    g_error ("%s %s: status %u, expected %u: %.*s", method, path, soup_message_get_status (msg),
             expected_status, (int) len, data);
  if (len == 0)
    return json_node_new (JSON_NODE_NULL);
  g_assert_true (json_parser_load_from_data (parser, data, (gssize) len, &error));
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

static char *
api_login (Fixture    *fx,
           const char *username,
           const char *password)
{
  g_autofree char *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}",
                                           username, password);
  g_autoptr (JsonNode) node = http_json (fx, "POST", "/api/v1/auth/login", NULL, body, 200);

  return g_strdup (json_object_get_string_member (json_node_get_object (node), "token"));
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr (GError) error = NULL;

  fx->dir = g_dir_make_tmp (NULL, &error);
  g_assert_no_error (error);
  fx->server = admin_test_server_start (fx->dir, PROVINCE, SCHOOL, "wang.laoshi", TEACHER_PASSWORD,
                                        "ops", OPERATOR_PASSWORD);
  fx->base_url = admin_test_server_url (fx->server);
  fx->school_id = admin_test_server_school_id (fx->server);

  fx->session = soup_session_new ();

  fx->app = lk_admin_application_new ();
  g_application_set_flags (G_APPLICATION (fx->app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (fx->app), NULL, &error));
  g_assert_no_error (error);
  fx->window = lk_admin_window_new (fx->app);
  gtk_window_set_default_size (GTK_WINDOW (fx->window), 1100, 720);
  gtk_window_present (GTK_WINDOW (fx->window));
  WAIT_FOR (gtk_widget_get_mapped (GTK_WIDGET (fx->window)));
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (fx->window));
  /* Let the cancelled requests and closed sockets finish before the server goes. */
  for (guint i = 0; i < 20 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&fx->app);
  g_clear_object (&fx->session);

  if (fx->server != NULL)
    g_clear_pointer (&fx->server, admin_test_server_stop);

  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", fx->dir);

    g_assert_cmpint (system (cmd), ==, 0);
  }
  g_free (fx->dir);
}

/* --- the admin side --- */

static void
log_in (Fixture    *fx,
        const char *username,
        const char *password)
{
  LkLoginPage *login = lk_admin_window_get_login_page (fx->window);

  g_assert_cmpstr (lk_admin_window_get_visible_page (fx->window), ==, "login");
  lk_login_page_set_fields (login, fx->base_url, username, password);
  lk_login_page_submit (login);
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_visible_page (fx->window), "students") == 0);
  WAIT_FOR (lk_admin_window_get_events_connected (fx->window));
}

static LkImportRow *
make_row (gint64      seq,
          const char *klass,
          const char *name,
          const char *student_no)
{
  LkImportRow *row = lk_import_row_new ();

  row->seq = seq;
  row->province = g_strdup (PROVINCE);
  row->school = g_strdup (SCHOOL);
  row->klass = g_strdup (klass);
  row->name = g_strdup (name);
  row->student_no = g_strdup (student_no);
  return row;
}

static const struct {
  const char *klass;
  const char *name;
  const char *student_no;
} roster[] = {
  { "三年级(1)班", "张小明", "2023001" },
  { "三年级(1)班", "李华", "2023002" },
  { "三年级(1)班", "王芳芳", "2023003" },
  { "三年级(2)班", "张伟", "2023004" },
  { "三年级(2)班", "欧阳小红", "2023005" },
  { "三年级(2)班", "陈静", "2023006" },
};

/* The roster as an .xlsx written by libxlsxwriter; @with_errors adds a row without a name
 * and a row that repeats a student number. */
static GFile *
write_roster (Fixture  *fx,
              gboolean  with_errors)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->dir, with_errors ? "bad.xlsx" : "roster.xlsx", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (roster); i++)
    g_ptr_array_add (rows, make_row (i + 1, roster[i].klass, roster[i].name, roster[i].student_no));
  if (with_errors)
    {
      g_ptr_array_add (rows, make_row (7, "三年级(2)班", "", "2023007"));
      g_ptr_array_add (rows, make_row (8, "三年级(2)班", "赵六", "2023001"));
    }
  g_assert_true (lk_roster_write_rows (path, rows, &error));
  g_assert_no_error (error);
  return g_file_new_for_path (path);
}

static void
import_roster (Fixture *fx)
{
  LkImportPage *page = lk_admin_window_get_import_page (fx->window);
  g_autoptr (GFile) file = write_roster (fx, FALSE);
  LkImportResult result;

  lk_admin_window_show_page (fx->window, "import");
  lk_import_page_open_file (page, file);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
            !lk_import_page_get_checking (page));
  g_assert_true (lk_import_page_get_can_upload (page));
  lk_import_page_upload (page);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "result") == 0);
  g_assert_cmpstr (lk_import_page_get_result_title (page), ==, "上传成功");
  g_assert_true (lk_import_page_get_result (page, &result));
  g_assert_cmpint (result.inserted, ==, G_N_ELEMENTS (roster));
}

/* --- tests --- */

static void
test_login (Fixture       *fx,
            gconstpointer  data)
{
  LkLoginPage *login = lk_admin_window_get_login_page (fx->window);
  GSettings *settings = lk_admin_application_get_settings (fx->app);
  g_autofree char *saved_url = NULL;
  g_autofree char *saved_user = NULL;

  /* First run: nothing remembered, the login page is shown. */
  g_assert_cmpstr (lk_admin_window_get_visible_page (fx->window), ==, "login");
  saved_url = g_settings_get_string (settings, "server-url");
  g_assert_cmpstr (saved_url, ==, "");
  g_clear_pointer (&saved_url, g_free);
  screenshot (fx, "login");

  /* A wrong password stays on the login page with the reason. */
  lk_login_page_set_fields (login, fx->base_url, "wang.laoshi", "wrong-password");
  lk_login_page_submit (login);
  WAIT_FOR (!lk_login_page_get_busy (login));
  g_assert_cmpstr (lk_login_page_get_error (login), ==, "用户名或密码错误。");
  g_assert_cmpstr (lk_admin_window_get_visible_page (fx->window), ==, "login");

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  g_assert_false (lk_api_client_is_operator (lk_admin_window_get_client (fx->window)));
  g_assert_cmpint (lk_api_client_get_school_id (lk_admin_window_get_client (fx->window)), ==,
                   fx->school_id);

  /* The address and the user are remembered; the password is not. */
  saved_url = g_settings_get_string (settings, "server-url");
  saved_user = g_settings_get_string (settings, "username");
  g_assert_true (g_str_has_prefix (saved_url, fx->base_url));
  g_assert_cmpstr (saved_user, ==, "wang.laoshi");

  /* The accelerators of the main actions. */
  {
    g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fx->app),
                                                                   "win.import");

    g_assert_cmpstr (accels[0], ==, "<Control>o");
    g_strfreev (g_steal_pointer (&accels));
    accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fx->app), "win.search");
    g_assert_cmpstr (accels[0], ==, "<Control>f");
    g_strfreev (g_steal_pointer (&accels));
    accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fx->app), "app.quit");
    g_assert_cmpstr (accels[0], ==, "<Control>q");
    g_strfreev (g_steal_pointer (&accels));
    accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fx->app), "win.refresh");
    g_assert_cmpstr (accels[0], ==, "F5");
  }

  /* A teacher has no kiosks page. */
  lk_admin_window_show_page (fx->window, "kiosks");
  g_assert_cmpstr (lk_admin_window_get_visible_page (fx->window), ==, "students");

  /* Log out, back to the login page. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.logout", NULL));
  g_assert_cmpstr (lk_admin_window_get_visible_page (fx->window), ==, "login");
}

static void
drop_file (GtkWidget *widget,
           GFile     *file)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  GtkDropTarget *target = NULL;
  g_auto (GValue) value = G_VALUE_INIT;
  g_autoptr (GSList) files = g_slist_prepend (NULL, file);
  gboolean accepted = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && target == NULL; i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  g_assert_nonnull (target);

  /* What a file manager's drop delivers: a GdkFileList. */
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  g_assert_true (accepted);
}

static void
test_import (Fixture       *fx,
             gconstpointer  data)
{
  LkImportPage *page = lk_admin_window_get_import_page (fx->window);
  LkImportPreview *preview = lk_import_page_get_preview (page);
  g_autoptr (GFile) bad = write_roster (fx, TRUE);
  g_autoptr (GFile) good = write_roster (fx, FALSE);
  g_autoptr (LkImportPreviewRow) row7 = NULL;
  g_autoptr (LkImportPreviewRow) row1 = NULL;
  LkImportResult result;

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);

  /* Step 1 → 2: the file with errors shows them per row, and cannot be uploaded. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.show-page", "s", "import"));
  g_assert_cmpstr (lk_import_page_get_state (page), ==, "choose");
  screenshot (fx, "import");
  lk_import_page_open_file (page, bad);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
            !lk_import_page_get_checking (page));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (preview)), ==, 8);
  g_assert_cmpuint (lk_import_preview_get_n_error_rows (preview), >=, 2);
  g_assert_false (lk_import_page_get_can_upload (page));
  row7 = g_list_model_get_item (G_LIST_MODEL (preview), 6);
  g_assert_cmpint (lk_import_preview_row_get_row (row7)->seq, ==, 7);
  g_assert_nonnull (lk_import_preview_row_get_problem (row7));
  g_assert_true (lk_import_preview_row_get_blocking (row7));
  /* PIPL: the preview masks names. */
  row1 = g_list_model_get_item (G_LIST_MODEL (preview), 0);
  g_assert_cmpstr (lk_import_preview_row_get_masked_name (row1), ==, "张*明");
  screenshot (fx, "import-preview");
  /* Nothing was sent. */
  g_assert_cmpint (admin_test_server_count (fx->server, "import_batches", NULL), ==, 0);

  /* The corrected file, dropped on the page: no errors, upload, 上传成功 with the counts. */
  drop_file (GTK_WIDGET (page), good);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
            !lk_import_page_get_checking (page));
  g_assert_cmpuint (lk_import_preview_get_n_error_rows (preview), ==, 0);
  g_assert_true (lk_import_page_get_can_upload (page));
  lk_import_page_upload (page);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "result") == 0);
  g_assert_cmpstr (lk_import_page_get_result_title (page), ==, "上传成功");
  g_assert_true (lk_import_page_get_result (page, &result));
  g_assert_cmpint (result.inserted, ==, 6);
  g_assert_cmpint (result.updated, ==, 0);
  g_assert_cmpstr (lk_import_page_get_result_description (page), ==, "6 新增 · 0 更新 · 0 未变");
  screenshot (fx, "import-result");

  /* The server holds exactly the rows. */
  g_assert_cmpint (admin_test_server_count (fx->server, "students", NULL), ==, 6);
  g_assert_cmpint (admin_test_server_count (fx->server, "students",
                                            "student_no = '2023005' AND name = '欧阳小红' "
                                            "AND class_name = '三年级(2)班'"), ==, 1);

  /* A student who changed class: the preview shows the difference with the server as a
   * warning, which does not stop the upload; the server updates that one student. */
  {
    g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
    g_autofree char *moved_path = g_build_filename (fx->dir, "moved.xlsx", NULL);
    g_autoptr (GFile) moved = g_file_new_for_path (moved_path);
    g_autoptr (GError) error = NULL;
    g_autoptr (LkImportPreviewRow) row5 = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (roster); i++)
      g_ptr_array_add (rows, make_row (i + 1, i == 4 ? "三年级(1)班" : roster[i].klass,
                                       roster[i].name, roster[i].student_no));
    g_assert_true (lk_roster_write_rows (moved_path, rows, &error));
    g_assert_no_error (error);

    lk_import_page_open_file (page, moved);
    WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
              !lk_import_page_get_checking (page));
    g_assert_cmpuint (lk_import_preview_get_n_error_rows (preview), ==, 0);
    g_assert_cmpuint (lk_import_preview_get_n_warning_rows (preview), ==, 1);
    row5 = g_list_model_get_item (G_LIST_MODEL (preview), 4);
    g_assert_nonnull (lk_import_preview_row_get_problem (row5));
    g_assert_false (lk_import_preview_row_get_blocking (row5));
    g_assert_true (lk_import_page_get_can_upload (page));
    lk_import_page_upload (page);
    WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "result") == 0);
    g_assert_true (lk_import_page_get_result (page, &result));
    g_assert_cmpint (result.updated, ==, 1);
    g_assert_cmpint (result.unchanged, ==, 5);
    g_assert_cmpint (admin_test_server_count (fx->server, "students",
                                              "student_no = '2023005' AND class_name = '三年级(1)班'"),
                     ==, 1);
    g_assert_cmpint (admin_test_server_count (fx->server, "student_history", NULL), ==, 1);

    /* The same file again: the preview warns of nothing, the server changes nothing. */
    lk_import_page_open_file (page, moved);
    WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
              !lk_import_page_get_checking (page));
    g_assert_cmpuint (lk_import_preview_get_n_warning_rows (preview), ==, 0);
    lk_import_page_upload (page);
    WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "result") == 0);
    g_assert_true (lk_import_page_get_result (page, &result));
    g_assert_cmpint (result.unchanged, ==, 6);
    g_assert_cmpint (result.inserted, ==, 0);
  }
}

static void
test_search (Fixture       *fx,
             gconstpointer  data)
{
  LkStudentsPage *page = lk_admin_window_get_students_page (fx->window);
  GListModel *model = lk_students_page_get_model (page);
  g_autoptr (LkStudentItem) item = NULL;

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  import_roster (fx);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.search", NULL));
  g_assert_cmpstr (lk_admin_window_get_visible_page (fx->window), ==, "students");
  WAIT_FOR (!lk_students_page_get_loading (page));
  g_assert_cmpint (lk_students_page_get_total (page), ==, 6);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 6);
  screenshot (fx, "students");

  /* By name */
  lk_students_page_set_search (page, "欧阳");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 1);
  item = g_list_model_get_item (model, 0);
  g_assert_cmpstr (lk_student_item_get_student_no (item), ==, "2023005");
  g_assert_cmpstr (lk_student_item_get_masked_name (item), ==, "欧**红");
  g_clear_object (&item);

  /* By student number */
  lk_students_page_set_search (page, "2023002");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 1);
  item = g_list_model_get_item (model, 0);
  g_assert_cmpstr (lk_student_item_get_name (item), ==, "李华");
  g_clear_object (&item);

  /* By class */
  lk_students_page_set_search (page, "三年级(2)班");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 3);

  /* Nobody has applied yet: the status filter finds no paid student. */
  lk_students_page_set_search (page, "");
  lk_students_page_set_status_filter (page, "paid");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 0);
  lk_students_page_set_status_filter (page, "not_applied");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 6);
}

typedef struct
{
  SoupWebsocketConnection *ws;
  GQueue                   messages;   /* JsonObject */
  GError                  *error;
  gboolean                 done;
} Kiosk;

static void
on_kiosk_message_cb (SoupWebsocketConnection *ws,
                     SoupWebsocketDataType    type,
                     GBytes                  *message,
                     gpointer                 user_data)
{
  Kiosk *kiosk = user_data;
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  g_assert_true (json_parser_load_from_data (parser, data, (gssize) len, NULL));
  g_queue_push_tail (&kiosk->messages, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
}

static void
on_kiosk_connected_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Kiosk *kiosk = user_data;

  kiosk->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &kiosk->error);
  kiosk->done = TRUE;
}

static void
kiosk_connect (Fixture    *fx,
               Kiosk      *kiosk,
               const char *sn,
               const char *secret)
{
  g_autofree char *url = g_strconcat (fx->base_url, LK_KIOSK_WS_PATH, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autofree char *credentials = g_strconcat (sn, ":", secret, NULL);
  g_autofree char *b64 = g_base64_encode ((const guchar *) credentials, strlen (credentials));
  g_autofree char *auth = g_strconcat ("Basic ", b64, NULL);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  soup_session_websocket_connect_async (fx->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_kiosk_connected_cb, kiosk);
  WAIT_FOR (kiosk->done);
  g_assert_no_error (kiosk->error);
  g_signal_connect (kiosk->ws, "message", G_CALLBACK (on_kiosk_message_cb), kiosk);
}

static JsonObject *
kiosk_wait_for (Kiosk      *kiosk,
                const char *type)
{
  JsonObject *found = NULL;

  WAIT_FOR ((found = ({
    JsonObject *match = NULL;
    for (GList *l = kiosk->messages.head; l != NULL && match == NULL; l = l->next)
      if (g_strcmp0 (json_object_get_string_member_with_default (l->data, "type", ""), type) == 0)
        match = l->data;
    match;
  })) != NULL);
  g_queue_remove (&kiosk->messages, found);
  return found;
}

static void
kiosk_close (Kiosk *kiosk)
{
  if (kiosk->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (kiosk->ws, kiosk);
      if (soup_websocket_connection_get_state (kiosk->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (kiosk->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&kiosk->ws);
    }
  g_queue_clear_full (&kiosk->messages, (GDestroyNotify) json_object_unref);
}

/* A parent applies for a student and pays in the sandbox; returns the claim code. */
static char *
apply_and_pay (Fixture    *fx,
               const char *klass,
               const char *name,
               const char *student_no)
{
  g_autofree char *body = NULL;
  g_autofree char *path = NULL;
  g_autofree char *app_id = NULL;
  g_autofree char *app_token = NULL;
  g_autofree char *order_no = NULL;
  g_autoptr (JsonNode) node = NULL;

  body = g_strdup_printf ("{\"province\":\"" PROVINCE "\",\"school\":\"" SCHOOL "\","
                          "\"class\":\"%s\",\"name\":\"%s\",\"student_no\":\"%s\","
                          "\"phone\":\"13800138000\",\"consent\":true}",
                          klass, name, student_no);
  node = http_json (fx, "POST", "/api/v1/applications", NULL, body, 201);
  app_id = g_strdup (json_object_get_string_member (json_node_get_object (node), "id"));
  app_token = g_strdup (json_object_get_string_member (json_node_get_object (node), "token"));
  g_clear_pointer (&node, json_node_unref);

  path = g_strdup_printf ("/api/v1/applications/%s/payment", app_id);
  node = http_json (fx, "POST", path, app_token, "{\"channel\":\"sandbox\"}", 201);
  order_no = g_strdup (json_object_get_string_member (json_node_get_object (node), "order_no"));
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&path, g_free);

  path = g_strdup_printf ("/api/v1/sandbox/pay/%s", order_no);
  node = http_json (fx, "POST", path, NULL, NULL, 200);
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&path, g_free);

  path = g_strdup_printf ("/api/v1/applications/%s", app_id);
  node = http_json (fx, "GET", path, app_token, NULL, 200);
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "claim_code"));
}

static JsonObject *
kiosk_claim (Kiosk      *kiosk,
             const char *id,
             const char *code)
{
  g_autoptr (JsonBuilder) builder = lk_message_begin (LK_MSG_CLAIM_REQUEST);
  g_autofree char *request = NULL;

  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  request = lk_message_finish (builder);
  soup_websocket_connection_send_text (kiosk->ws, request);
  return kiosk_wait_for (kiosk, LK_MSG_CLAIM_AUTHORIZED);
}

static void
test_progress (Fixture       *fx,
               gconstpointer  data)
{
  LkProgressPage *page = lk_admin_window_get_progress_page (fx->window);
  LkProgressChart *chart = lk_progress_page_get_chart (page);
  g_autofree char *ops = NULL;
  g_autofree char *body = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *code = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonObject *reply;
  Kiosk kiosk = { 0, };
  gint64 issued, issued_today, claim_id;
  const LkClassProgress *class2;

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  import_roster (fx);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.show-page", "s", "progress"));
  WAIT_FOR (lk_progress_chart_get_n_classes (chart) == 2);
  class2 = lk_progress_chart_get_class (chart, "三年级(2)班");
  g_assert_nonnull (class2);
  g_assert_cmpint (class2->issued, ==, 0);

  /* An operator registers kiosk K-03 for the school; it connects. */
  ops = api_login (fx, "ops", OPERATOR_PASSWORD);
  body = g_strdup_printf ("{\"sn\":\"K-03\",\"school_id\":%" G_GINT64_FORMAT "}", fx->school_id);
  node = http_json (fx, "POST", "/api/v1/kiosks", ops, body, 201);
  secret = g_strdup (json_object_get_string_member (json_node_get_object (node), "secret"));
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&body, g_free);
  kiosk_connect (fx, &kiosk, "K-03", secret);
  json_object_unref (kiosk_wait_for (&kiosk, LK_MSG_CODES_SNAPSHOT));

  /* A parent applies for 张伟 (三年级(2)班) and pays. */
  code = apply_and_pay (fx, "三年级(2)班", "张伟", "2023004");
  g_assert_nonnull (code);

  /* application.paid → the chart shows the payment, live. */
  WAIT_FOR ((class2 = lk_progress_chart_get_class (chart, "三年级(2)班")) != NULL && class2->paid == 1);
  g_assert_cmpint (class2->applied, >=, 1);
  g_assert_cmpint (class2->issued, ==, 0);

  /* The kiosk claims the card and reports it issued. */
  reply = kiosk_claim (&kiosk, "gui-claim-1", code);
  claim_id = json_object_get_int_member (reply, "claim_id");
  {
    g_autoptr (JsonGenerator) generator = json_generator_new ();
    g_autoptr (JsonNode) card = json_node_new (JSON_NODE_OBJECT);
    g_autoptr (JsonBuilder) builder = lk_message_begin (LK_MSG_CLAIM_COMPLETED);
    g_autofree char *completed = NULL;

    json_builder_set_member_name (builder, "id");
    json_builder_add_string_value (builder, "gui-complete-1");
    json_builder_set_member_name (builder, "claim_id");
    json_builder_add_int_value (builder, claim_id);
    json_builder_set_member_name (builder, "card_no");
    json_builder_add_string_value (builder, "A1B2C3D4");
    json_builder_set_member_name (builder, "card_data");
    json_node_set_object (card, json_object_get_object_member (reply, "card_data"));
    json_builder_add_value (builder, json_node_ref (card));
    completed = lk_message_finish (builder);
    soup_websocket_connection_send_text (kiosk.ws, completed);
  }
  json_object_unref (reply);
  json_object_unref (kiosk_wait_for (&kiosk, LK_MSG_ACK));

  /* card.issued → the chart changes live, and a toast names the masked student and kiosk. */
  WAIT_FOR ((class2 = lk_progress_chart_get_class (chart, "三年级(2)班")) != NULL && class2->issued == 1);
  lk_progress_page_get_totals (page, NULL, NULL, &issued, &issued_today);
  g_assert_cmpint (issued, ==, 1);
  g_assert_cmpint (issued_today, ==, 1);
  g_assert_cmpint (lk_progress_chart_get_class (chart, "三年级(1)班")->issued, ==, 0);
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_last_toast (fx->window), "张* 已领卡 · 自助机 K-03") == 0);
  screenshot (fx, "progress");

  kiosk_close (&kiosk);
}

static void
test_kiosks (Fixture       *fx,
             gconstpointer  data)
{
  LkKiosksPage *page = lk_admin_window_get_kiosks_page (fx->window);
  Kiosk kiosk = { 0, };
  g_autofree char *secret = NULL;
  JsonObject *entry;

  log_in (fx, "ops", OPERATOR_PASSWORD);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.show-page", "s", "kiosks"));
  g_assert_cmpstr (lk_admin_window_get_visible_page (fx->window), ==, "kiosks");

  lk_kiosks_page_register (page, "K-07", fx->school_id);
  WAIT_FOR (lk_kiosks_page_get_secret (page) != NULL);
  secret = g_strdup (lk_kiosks_page_get_secret (page));
  WAIT_FOR (lk_kiosks_page_get_n_kiosks (page) == 1);
  entry = lk_kiosks_page_get_kiosk (page, "K-07");
  g_assert_nonnull (entry);
  g_assert_false (json_object_get_boolean_member_with_default (entry, "online", FALSE));

  /* The secret works: the kiosk connects, and the page shows it online, live. */
  kiosk_connect (fx, &kiosk, "K-07", secret);
  WAIT_FOR ((entry = lk_kiosks_page_get_kiosk (page, "K-07")) != NULL &&
            json_object_get_boolean_member_with_default (entry, "online", FALSE));

  /* A jam: a toast, and the fault stays on the kiosk's row. */
  soup_websocket_connection_send_text (kiosk.ws,
                                       "{\"type\":\"status\",\"id\":\"gui-status-1\","
                                       "\"stock\":\"low\",\"faults\":[\"jam\"]}");
  json_object_unref (kiosk_wait_for (&kiosk, LK_MSG_ACK));
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_last_toast (fx->window), "自助机 K-07：卡片堵塞") == 0);
  entry = lk_kiosks_page_get_kiosk (page, "K-07");
  g_assert_cmpstr (json_object_get_string_member (entry, "stock"), ==, "low");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (entry, "faults")), ==, 1);
  screenshot (fx, "kiosks");

  /* The kiosk goes away: a toast, and the page shows it offline, with its fault still red. */
  kiosk_close (&kiosk);
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_last_toast (fx->window), "自助机 K-07 已离线") == 0);
  entry = lk_kiosks_page_get_kiosk (page, "K-07");
  g_assert_false (json_object_get_boolean_member_with_default (entry, "online", TRUE));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (entry, "faults")), ==, 1);
}

static gboolean
kiosk_has_reserved_claim (LkKiosksPage *page,
                          const char   *sn,
                          gint64        claim_id)
{
  JsonObject *entry = lk_kiosks_page_get_kiosk (page, sn);
  JsonArray *reserved;

  if (entry == NULL || !json_object_has_member (entry, "reserved_claims"))
    return FALSE;
  reserved = json_object_get_array_member (entry, "reserved_claims");
  for (guint i = 0; i < json_array_get_length (reserved); i++)
    if (json_object_get_int_member (json_array_get_object_element (reserved, i), "claim_id") == claim_id)
      return TRUE;
  return FALSE;
}

static void
test_release (Fixture       *fx,
              gconstpointer  data)
{
  LkKiosksPage *page = lk_admin_window_get_kiosks_page (fx->window);
  Kiosk kiosk = { 0, };
  g_autofree char *secret = NULL;
  g_autofree char *code = NULL;
  g_autofree char *where = NULL;
  AdwMessageDialog *dialog;
  JsonObject *reply;
  gint64 claim_id;

  log_in (fx, "ops", OPERATOR_PASSWORD);
  import_roster (fx);
  lk_admin_window_show_page (fx->window, "kiosks");
  lk_kiosks_page_register (page, "K-09", fx->school_id);
  WAIT_FOR (lk_kiosks_page_get_secret (page) != NULL);
  secret = g_strdup (lk_kiosks_page_get_secret (page));
  kiosk_connect (fx, &kiosk, "K-09", secret);
  json_object_unref (kiosk_wait_for (&kiosk, LK_MSG_CODES_SNAPSHOT));

  /* The kiosk is authorized for a card and then goes silent: the claim stays reserved. */
  code = apply_and_pay (fx, "三年级(1)班", "李华", "2023002");
  reply = kiosk_claim (&kiosk, "gui-claim-9", code);
  claim_id = json_object_get_int_member (reply, "claim_id");
  json_object_unref (reply);
  kiosk_close (&kiosk);

  lk_kiosks_page_reload (page);
  WAIT_FOR (kiosk_has_reserved_claim (page, "K-09", claim_id));
  screenshot (fx, "kiosks-reserved");

  /* The operator releases it, after the confirmation. */
  dialog = lk_kiosks_page_release_claim (page, claim_id);
  g_assert_nonnull (dialog);
  screenshot_window (GTK_WIDGET (dialog), "release-dialog");
  adw_message_dialog_response (dialog, "release");
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_last_toast (fx->window), "领卡已释放，注册码可再次使用") == 0);
  where = g_strdup_printf ("id = %" G_GINT64_FORMAT " AND status = 'released'", claim_id);
  g_assert_cmpint (admin_test_server_count (fx->server, "claims", where), ==, 1);
  WAIT_FOR (!kiosk_has_reserved_claim (page, "K-09", claim_id));
}

static void
test_upload_failed (Fixture       *fx,
                    gconstpointer  data)
{
  LkImportPage *page = lk_admin_window_get_import_page (fx->window);
  g_autoptr (GFile) good = write_roster (fx, FALSE);
  const char *reason;

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  lk_admin_window_show_page (fx->window, "import");
  lk_import_page_open_file (page, good);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
            !lk_import_page_get_checking (page));

  /* The server goes away between the preview and the upload: every attempt fails. */
  g_clear_pointer (&fx->server, admin_test_server_stop);
  lk_import_page_upload (page);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "result") == 0);
  g_assert_cmpstr (lk_import_page_get_result_title (page), ==, "上传失败");
  reason = lk_import_page_get_result_description (page);
  g_assert_nonnull (reason);
  g_assert_cmpstr (reason, !=, "");
  g_assert_true (lk_import_page_get_can_retry (page));
  g_assert_false (lk_import_page_get_result (page, NULL));
  screenshot (fx, "import-failed");
}

static gboolean
first_student_in_class (GListModel *model,
                        const char *klass)
{
  g_autoptr (LkStudentItem) item = g_list_model_get_item (model, 0);

  return item != NULL && g_strcmp0 (lk_student_item_get_class (item), klass) == 0;
}

static void
test_server_rejects (Fixture       *fx,
                     gconstpointer  data)
{
  LkImportPage *page = lk_admin_window_get_import_page (fx->window);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autofree char *path = g_build_filename (fx->dir, "other-school.xlsx", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  LkImportRow *row;

  /* A teacher's file that names another school: the reader has nothing against it, the
   * server refuses it, and a retry cannot help. */
  g_ptr_array_add (rows, make_row (1, "三年级(1)班", "张小明", "2023001"));
  row = make_row (2, "三年级(1)班", "李华", "2023002");
  g_free (row->school);
  row->school = g_strdup ("杭州市学军小学");
  g_ptr_array_add (rows, row);
  g_assert_true (lk_roster_write_rows (path, rows, &error));
  g_assert_no_error (error);

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  lk_admin_window_show_page (fx->window, "import");
  lk_import_page_open_file (page, file);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
            !lk_import_page_get_checking (page));
  g_assert_true (lk_import_page_get_can_upload (page));
  lk_import_page_upload (page);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "result") == 0);
  g_assert_cmpstr (lk_import_page_get_result_title (page), ==, "上传失败");
  g_assert_false (lk_import_page_get_can_retry (page));
  g_assert_cmpint (admin_test_server_count (fx->server, "students", NULL), ==, 0);
}

static void
on_editor_destroy_cb (GtkWidget *widget,
                      gpointer   data)
{
  *(gboolean *) data = TRUE;
}

static void
test_edit (Fixture       *fx,
           gconstpointer  data)
{
  LkStudentsPage *page = lk_admin_window_get_students_page (fx->window);
  GListModel *model = lk_students_page_get_model (page);
  LkStudentEditor *editor;
  gboolean closed = FALSE;

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  import_roster (fx);
  lk_admin_window_show_page (fx->window, "students");
  lk_students_page_set_search (page, "2023003");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 1);

  /* 王芳芳 moves to 三年级(2)班 and gets a card number. */
  editor = lk_students_page_edit_student (page, 0);
  g_assert_nonnull (editor);
  g_signal_connect (editor, "destroy", G_CALLBACK (on_editor_destroy_cb), &closed);
  lk_student_editor_set_fields (editor, "王芳芳", "三年级(2)班", "2023003", "0A1B2C3D");
  lk_student_editor_save (editor);
  WAIT_FOR (closed);
  g_assert_cmpint (admin_test_server_count (fx->server, "students",
                                            "student_no = '2023003' AND class_name = '三年级(2)班' "
                                            "AND card_no = '0A1B2C3D'"), ==, 1);

  /* The list follows, and the history keeps the previous version. */
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 1 &&
            first_student_in_class (model, "三年级(2)班"));
  editor = lk_students_page_edit_student (page, 0);
  WAIT_FOR (lk_student_editor_get_history_count (editor) >= 1);
  screenshot_window (GTK_WIDGET (editor), "student-editor");
  gtk_window_close (GTK_WINDOW (editor));

  /* A student missing a name is refused before anything is sent. */
  editor = lk_students_page_add_student (page);
  lk_student_editor_set_fields (editor, "", "三年级(1)班", "2023009", NULL);
  lk_student_editor_save (editor);
  g_assert_cmpstr (lk_student_editor_get_error (editor), ==, "姓名、班级和学号必须填写。");
  gtk_window_close (GTK_WINDOW (editor));
  g_assert_cmpint (admin_test_server_count (fx->server, "students", NULL), ==, 6);
}

/* The button labelled @label under @widget that a user can see and press, or NULL. */
static GtkWidget *
find_button (GtkWidget  *widget,
             const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0)
    return gtk_widget_is_drawable (widget) && gtk_widget_is_sensitive (widget) ? widget : NULL;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Presses the editor's "撤销申请…" as a user would and returns the confirmation it opens. */
static AdwMessageDialog *
press_cancel_application (LkStudentEditor *editor)
{
  GtkWidget *button = find_button (GTK_WIDGET (editor), "撤销申请…");
  GListModel *toplevels = gtk_window_get_toplevels ();   /* (transfer none) */
  AdwMessageDialog *dialog = NULL;

  g_assert_nonnull (button);
  /* (gtk_widget_activate() would emit "clicked" only after its pressed-look animation.) */
  g_signal_emit_by_name (button, "clicked");
  for (guint i = 0; i < g_list_model_get_n_items (toplevels) && dialog == NULL; i++)
    {
      g_autoptr (GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window))
          && gtk_window_get_transient_for (GTK_WINDOW (window)) == GTK_WINDOW (editor))
        dialog = ADW_MESSAGE_DIALOG (window);
    }
  g_assert_nonnull (dialog);
  return dialog;
}

/* A student who left: the teacher cancels the paid application from the editor, after the
 * confirmation; the code stops working at the kiosk and the refund due is shown. A student
 * without an open application has nothing to cancel. */
static void
test_cancel_application (Fixture       *fx,
                         gconstpointer  data)
{
  LkStudentsPage *page = lk_admin_window_get_students_page (fx->window);
  GListModel *model = lk_students_page_get_model (page);
  LkStudentEditor *editor;
  AdwMessageDialog *dialog;
  g_autofree char *code = NULL;
  g_autofree char *ops = NULL;
  g_autofree char *body = NULL;
  g_autofree char *secret = NULL;
  g_autoptr (JsonNode) node = NULL;
  Kiosk kiosk = { 0, };
  JsonObject *answer;

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  import_roster (fx);
  ops = api_login (fx, "ops", OPERATOR_PASSWORD);
  body = g_strdup_printf ("{\"sn\":\"K-05\",\"school_id\":%" G_GINT64_FORMAT "}", fx->school_id);
  node = http_json (fx, "POST", "/api/v1/kiosks", ops, body, 201);
  secret = g_strdup (json_object_get_string_member (json_node_get_object (node), "secret"));
  kiosk_connect (fx, &kiosk, "K-05", secret);
  json_object_unref (kiosk_wait_for (&kiosk, LK_MSG_CODES_SNAPSHOT));
  code = apply_and_pay (fx, "三年级(1)班", "李华", "2023002");
  json_object_unref (kiosk_wait_for (&kiosk, LK_MSG_CODE_ADDED));

  lk_admin_window_show_page (fx->window, "students");

  /* 张小明 has not applied: nothing to cancel. */
  lk_students_page_set_search (page, "2023001");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 1);
  editor = lk_students_page_edit_student (page, 0);
  wait_frames (GTK_WIDGET (editor), 2);
  g_assert_null (find_button (GTK_WIDGET (editor), "撤销申请…"));
  gtk_window_close (GTK_WINDOW (editor));

  lk_students_page_set_search (page, "2023002");
  WAIT_FOR (!lk_students_page_get_loading (page) && g_list_model_get_n_items (model) == 1);
  editor = lk_students_page_edit_student (page, 0);
  g_assert_nonnull (editor);
  wait_frames (GTK_WIDGET (editor), 2);
  screenshot_window (GTK_WIDGET (editor), "cancel-application");

  /* "Keep" changes nothing. */
  dialog = press_cancel_application (editor);
  screenshot_window (GTK_WIDGET (dialog), "cancel-application-confirm");
  adw_message_dialog_response (dialog, "keep");
  g_assert_false (lk_student_editor_get_application_cancelled (editor));
  g_assert_cmpint (admin_test_server_count (fx->server, "applications", "status = 'claimable'"), ==, 1);

  dialog = press_cancel_application (editor);
  adw_message_dialog_response (dialog, "cancel-application");
  WAIT_FOR (lk_student_editor_get_application_cancelled (editor));
  g_assert_null (lk_student_editor_get_error (editor));
  g_assert_cmpint (admin_test_server_count (fx->server, "applications", "status = 'cancelled'"), ==, 1);
  g_assert_cmpint (admin_test_server_count (fx->server, "claim_codes", "status = 'revoked'"), ==, 1);
  screenshot_window (GTK_WIDGET (editor), "cancel-application-done");

  /* The kiosk drops the code, and refuses it if typed. */
  json_object_unref (kiosk_wait_for (&kiosk, LK_MSG_CODE_REMOVED));
  {
    g_autoptr (JsonBuilder) builder = lk_message_begin (LK_MSG_CLAIM_REQUEST);
    g_autofree char *request = NULL;

    json_builder_set_member_name (builder, "id");
    json_builder_add_string_value (builder, "c-1");
    json_builder_set_member_name (builder, "code");
    json_builder_add_string_value (builder, code);
    request = lk_message_finish (builder);
    soup_websocket_connection_send_text (kiosk.ws, request);
    answer = kiosk_wait_for (&kiosk, LK_MSG_CLAIM_REJECTED);
    g_assert_nonnull (answer);
    g_assert_cmpstr (json_object_get_string_member (answer, "reason"), ==, LK_REJECT_REVOKED);
    json_object_unref (answer);
  }
  gtk_window_close (GTK_WINDOW (editor));
  kiosk_close (&kiosk);
}

static gint64 last_tick;
static gint64 max_stall;

static gboolean
stall_tick_cb (gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (last_tick != 0)
    max_stall = MAX (max_stall, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
test_large_file (Fixture       *fx,
                 gconstpointer  data)
{
  LkImportPage *page = lk_admin_window_get_import_page (fx->window);
  LkImportPreview *preview = lk_import_page_get_preview (page);
  g_autoptr (GString) csv = g_string_new ("序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n");
  g_autofree char *path = g_build_filename (fx->dir, "large.csv", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (LkImportPreviewRow) last = NULL;
  const guint n_rows = 100000;
  gint64 start, elapsed;
  guint tick;

  for (guint i = 1; i <= n_rows; i++)
    g_string_append_printf (csv, "%u,浙江省,杭州市文三街小学,学生%u,%u年级(%u)班,S%07u,\n",
                            i, i, 1 + i % 6, 1 + i % 12, i);
  g_assert_true (g_file_set_contents (path, csv->str, (gssize) csv->len, &error));
  g_assert_no_error (error);

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);
  lk_admin_window_show_page (fx->window, "import");

  /* The window keeps drawing while 100,000 rows are read and previewed. */
  last_tick = 0;
  max_stall = 0;
  tick = g_timeout_add (10, stall_tick_cb, NULL);
  start = g_get_monotonic_time ();
  lk_import_page_open_file (page, file);
  WAIT_FOR (g_strcmp0 (lk_import_page_get_state (page), "preview") == 0 &&
            !lk_import_preview_get_loading (preview));
  wait_frames (GTK_WIDGET (fx->window), 3);
  elapsed = g_get_monotonic_time () - start;
  g_source_remove (tick);

  g_test_message ("100,000-row preview: %.2f s, longest main-loop stall %.0f ms",
                  elapsed / 1e6, max_stall / 1e3);
  g_assert_true (lk_import_page_get_can_upload (page));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (preview)), ==, n_rows);
  g_assert_cmpuint (lk_import_preview_get_n_error_rows (preview), ==, 0);
  last = g_list_model_get_item (G_LIST_MODEL (preview), n_rows - 1);
  g_assert_cmpstr (lk_import_preview_row_get_row (last)->student_no, ==, "S0100000");
  /* A window that froze while reading would stall for about the whole time. On a quiet
   * 2-core machine the longest stall is ~0.2 s of ~2.5 s; under load both grow together. */
  g_assert_cmpint (max_stall, <, elapsed / 3);
}

static void
test_template_export (Fixture       *fx,
                      gconstpointer  data)
{
  LkImportPage *import = lk_admin_window_get_import_page (fx->window);
  LkStudentsPage *students = lk_admin_window_get_students_page (fx->window);
  g_autofree char *template = g_build_filename (fx->dir, "template.xlsx", NULL);
  g_autofree char *export = g_build_filename (fx->dir, "export.xlsx", NULL);
  g_autoptr (GFile) template_file = g_file_new_for_path (template);
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GPtrArray) errors = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  log_in (fx, "wang.laoshi", TEACHER_PASSWORD);

  /* The template reads back as a roster with its one example row. */
  lk_import_page_save_template_to_file (import, template);
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_last_toast (fx->window), "模板已保存") == 0);
  rows = lk_roster_read_file (template_file, NULL, NULL, NULL, &errors, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 1);

  /* The export holds the students of the current search: every one here. */
  import_roster (fx);
  lk_admin_window_show_page (fx->window, "students");
  lk_students_page_export_to_file (students, export);
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_last_toast (fx->window), "学生名单已导出") == 0);
  g_assert_true (g_file_get_contents (export, &contents, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, >, 1000);
  /* An .xlsx is a zip file. */
  g_assert_cmpmem (contents, 2, "PK", 2);
}

/* --- a server that accepts the events socket and then says nothing --- */

typedef struct
{
  GPtrArray *sockets;   /* SoupWebsocketConnection */
  guint      pings;
} SilentServer;

static void
on_silent_message_cb (SoupWebsocketConnection *ws,
                      SoupWebsocketDataType    type,
                      GBytes                  *message,
                      gpointer                 user_data)
{
  SilentServer *silent = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  if (g_strstr_len (data, (gssize) len, "\"ping\"") != NULL)
    silent->pings++;
}

static void
silent_events_cb (SoupServer              *server,
                  SoupServerMessage       *msg,
                  const char              *path,
                  SoupWebsocketConnection *connection,
                  gpointer                 user_data)
{
  SilentServer *silent = user_data;

  g_ptr_array_add (silent->sockets, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (on_silent_message_cb), silent);
}

static void
silent_api_cb (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  const char *body;

  if (g_str_equal (path, "/api/v1/auth/login"))
    body = "{\"token\":\"silent-token\",\"role\":\"teacher\",\"school_id\":1,"
           "\"expires_at\":4102444800}";
  else if (g_str_equal (path, "/api/v1/students"))
    body = "{\"students\":[],\"total\":0,\"page\":1}";
  else if (g_str_equal (path, "/api/v1/stats"))
    body = "{\"by_school\":[],\"by_class\":[],\"by_day\":[]}";
  else
    body = "[]";
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, body, strlen (body));
}

static void
test_heartbeat (Fixture       *fx,
                gconstpointer  data)
{
  LkLoginPage *login = lk_admin_window_get_login_page (fx->window);
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoslist (GUri) uris = NULL;
  g_autofree char *url = NULL;
  SilentServer silent = { g_ptr_array_new_with_free_func (g_object_unref), 0 };

  soup_server_add_websocket_handler (server, LK_ADMIN_EVENTS_PATH, NULL, NULL, silent_events_cb,
                                     &silent, NULL);
  soup_server_add_handler (server, "/api/v1", silent_api_cb, NULL, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));

  /* A ping a second, and a new socket after two seconds of silence. */
  lk_admin_window_set_heartbeat (fx->window, 1, 2);
  lk_login_page_set_fields (login, url, "wang.laoshi", "any-password");
  lk_login_page_submit (login);
  WAIT_FOR (g_strcmp0 (lk_admin_window_get_visible_page (fx->window), "students") == 0);
  WAIT_FOR (lk_admin_window_get_events_connections (fx->window) == 1);
  WAIT_FOR (silent.pings >= 1);
  WAIT_FOR (lk_admin_window_get_events_connections (fx->window) == 2);
  g_assert_cmpuint (silent.sockets->len, >=, 2);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.logout", NULL));
  for (guint i = 0; i < silent.sockets->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (silent.sockets, i), &silent);
  g_ptr_array_unref (silent.sockets);
  soup_server_disconnect (server);
}

static gboolean
fatal_log_cb (const char     *log_domain,
              GLogLevelFlags  log_level,
              const char     *message,
              gpointer        user_data)
{
  /* CI and containers have no D-Bus session: GTK says so, and carries on without it. */
  if (g_strcmp0 (log_domain, "Gtk") == 0 && strstr (message, "session bus") != NULL)
    return FALSE;
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  /* The compiled schema of this build, zh_CN first. */
  g_setenv ("GSETTINGS_SCHEMA_DIR", ADMIN_SCHEMA_DIR, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("LANGUAGE", "zh_CN", TRUE);
  /* No accessibility bus under Xvfb. */
  g_setenv ("GTK_A11Y", "none", TRUE);
  lk_i18n_init (NULL);

  /* gtk_test_init() would switch to en_US; keep the locale lk_i18n_init() chose. */
  gtk_disable_setlocale ();
  g_test_init (&argc, &argv, NULL);
  g_test_log_set_fatal_handler (fatal_log_cb, NULL);
  gtk_init ();
  adw_init ();
  /* Stacks switch at once, so a screenshot never catches a crossfade half-way. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  /* The catalogue must be there, or every zh_CN assertion below would be meaningless. */
  g_assert_cmpstr (_("Upload failed"), ==, "上传失败");

  g_test_add ("/admin/gui/login", Fixture, NULL, fixture_setup, test_login, fixture_teardown);
  g_test_add ("/admin/gui/import", Fixture, NULL, fixture_setup, test_import, fixture_teardown);
  g_test_add ("/admin/gui/search", Fixture, NULL, fixture_setup, test_search, fixture_teardown);
  g_test_add ("/admin/gui/progress", Fixture, NULL, fixture_setup, test_progress, fixture_teardown);
  g_test_add ("/admin/gui/kiosks", Fixture, NULL, fixture_setup, test_kiosks, fixture_teardown);
  g_test_add ("/admin/gui/release", Fixture, NULL, fixture_setup, test_release, fixture_teardown);
  g_test_add ("/admin/gui/upload-failed", Fixture, NULL, fixture_setup, test_upload_failed,
              fixture_teardown);
  g_test_add ("/admin/gui/server-rejects", Fixture, NULL, fixture_setup, test_server_rejects,
              fixture_teardown);
  g_test_add ("/admin/gui/edit", Fixture, NULL, fixture_setup, test_edit, fixture_teardown);
  g_test_add ("/admin/gui/cancel-application", Fixture, NULL, fixture_setup, test_cancel_application,
              fixture_teardown);
  g_test_add ("/admin/gui/template-export", Fixture, NULL, fixture_setup, test_template_export,
              fixture_teardown);
  g_test_add ("/admin/gui/heartbeat", Fixture, NULL, fixture_setup, test_heartbeat,
              fixture_teardown);
  g_test_add ("/admin/gui/large-file", Fixture, NULL, fixture_setup, test_large_file,
              fixture_teardown);

  return g_test_run ();
}
