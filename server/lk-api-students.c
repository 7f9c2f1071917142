/* lk-api-students.c: staff work on the roster, and the statistics
 *
 * GET   /api/v1/students?q=&school=&class=&status=&page=  → {students, total, page}
 * POST  /api/v1/students                                  → 201 student
 * GET   /api/v1/students/{id}                             → student
 * PATCH /api/v1/students/{id}                             → student (history first)
 * GET   /api/v1/students/{id}/history                     → {student_id, history}
 * POST  /api/v1/students/{id}/application/cancel          → {id, status, refund_due_fen}
 * GET   /api/v1/stats                                     → {by_school, by_class, by_day}
 *
 * A teacher sees and changes only their own school; every read and write is audit-logged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-http.h"
#include "lk-routes.h"

#define PAGE_SIZE 50
#define MAX_PAGE 1000000

static const char *statuses[] = { "not_applied", "applied", "paid", "claimable", "issued" };

static void
ascii_upper_in_place (char *text)
{
  for (char *p = text; *p != '\0'; p++)
    *p = g_ascii_toupper (*p);
}

static gboolean
card_no_is_valid (const char *card_no)
{
  guint8 uid[LK_CARD_UID_LEN];

  return lk_card_uid_from_string (card_no, uid) && strlen (card_no) == 2 * LK_CARD_UID_LEN;
}

static void
search (LkServer            *server,
        SoupServerMessage   *msg,
        const LkAuthContext *auth,
        GHashTable          *query)
{
  const char *q = query != NULL ? g_hash_table_lookup (query, "q") : NULL;
  const char *school = query != NULL ? g_hash_table_lookup (query, "school") : NULL;
  const char *klass = query != NULL ? g_hash_table_lookup (query, "class") : NULL;
  const char *status = query != NULL ? g_hash_table_lookup (query, "status") : NULL;
  const char *page_text = query != NULL ? g_hash_table_lookup (query, "page") : NULL;
  g_autofree char *q_norm = NULL;
  g_autofree char *class_norm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) students = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *detail = NULL;
  gint64 school_id = 0, page = 1, total = 0;

  if ((q != NULL && (!g_utf8_validate (q, -1, NULL) || g_utf8_strlen (q, -1) > 64))
      || (klass != NULL && (!g_utf8_validate (klass, -1, NULL) || g_utf8_strlen (klass, -1) > 64)))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("The search text is not valid"),
                           q != NULL && !g_utf8_validate (q, -1, NULL) ? "q" : "class");
      return;
    }
  if (school != NULL && *school != '\0' && (school_id = lk_http_parse_id (school)) <= 0)
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("“school” must be a school id"), "school");
      return;
    }
  if (page_text != NULL && *page_text != '\0'
      && ((page = lk_http_parse_id (page_text)) <= 0 || page > MAX_PAGE))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("“page” must be a positive number"), "page");
      return;
    }
  if (status != NULL && *status != '\0' && !g_strv_contains (statuses, status))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("Unknown status"), "status");
      return;
    }
  if (status != NULL && *status == '\0')
    status = NULL;
  if (!auth->operator)
    {
      if (school_id != 0 && !lk_http_check_school (msg, auth, school_id))
        return;
      school_id = auth->school_id;
    }
  q_norm = lk_normalize_text (q);
  class_norm = lk_normalize_text (klass);
  if (class_norm != NULL && *class_norm == '\0')
    g_clear_pointer (&class_norm, g_free);

  students = lk_store_students_search (lk_server_get_store (server), q_norm, school_id, class_norm,
                                       status, page, PAGE_SIZE, &total, &error);
  if (students == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  /* The search text may be a name: it stays out of the audit log. */
  detail = g_strdup_printf ("results=%" G_GINT64_FORMAT " page=%" G_GINT64_FORMAT, total, page);
  lk_store_audit (lk_server_get_store (server), auth->user_id, "students.search", school_id, NULL, detail);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "students");
  json_builder_add_value (builder, g_steal_pointer (&students));
  json_builder_set_member_name (builder, "total");
  json_builder_add_int_value (builder, total);
  json_builder_set_member_name (builder, "page");
  json_builder_add_int_value (builder, page);
  json_builder_set_member_name (builder, "per_page");
  json_builder_add_int_value (builder, PAGE_SIZE);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

static void
reply_student (LkServer          *server,
               SoupServerMessage *msg,
               guint              status,
               gint64             student_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = lk_store_student_get (lk_server_get_store (server), student_id, NULL, &error);

  if (node == NULL)
    lk_http_reply_gerror (msg, error);
  else
    lk_http_reply_json (msg, status, node);
}

static void
create (LkServer            *server,
        SoupServerMessage   *msg,
        const LkAuthContext *auth)
{
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *klass = NULL;
  g_autofree char *name = NULL;
  g_autofree char *student_no = NULL;
  g_autofree char *card_no = NULL;
  gint64 school_id = auth->school_id;
  gint64 id;

  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "school_id", "class", "name", "student_no", "card_no", NULL)
      || (json_object_has_member (body, "school_id")
          && !lk_json_require_int (body, "school_id", 1, G_MAXINT64, &school_id, &error))
      || (klass = lk_json_require_string (body, "class", LK_IMPORT_FIELD_MAX_CHARS, &error)) == NULL
      || (name = lk_json_require_string (body, "name", LK_IMPORT_FIELD_MAX_CHARS, &error)) == NULL
      || (student_no = lk_json_require_string (body, "student_no", LK_IMPORT_FIELD_MAX_CHARS, &error)) == NULL
      || !lk_json_optional_string (body, "card_no", 16, &card_no, NULL, &error))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (school_id <= 0)
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("Give a school id"), "school_id");
      return;
    }
  if (!lk_http_check_school (msg, auth, school_id))
    return;
  if (card_no != NULL && !card_no_is_valid (card_no))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("A card number is 8 hexadecimal digits"), "card_no");
      return;
    }
  if (card_no != NULL)
    ascii_upper_in_place (card_no);
  if (!lk_store_school_get (lk_server_get_store (server), school_id, NULL, NULL, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, 422, "unknown_school", _("There is no such school"), "school_id");
      else
        lk_http_reply_gerror (msg, error);
      return;
    }
  id = lk_store_student_create (lk_server_get_store (server), auth->user_id, school_id, klass, name,
                                student_no, card_no, &error);
  if (id == 0)
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "student_exists",
                             _("The school already has a student with this number"), "student_no");
      else
        lk_http_reply_gerror (msg, error);
      return;
    }
  reply_student (server, msg, SOUP_STATUS_CREATED, id);
}

static void
update (LkServer            *server,
        SoupServerMessage   *msg,
        const LkAuthContext *auth,
        gint64               student_id)
{
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *klass = NULL;
  g_autofree char *name = NULL;
  g_autofree char *student_no = NULL;
  g_autofree char *card_no = NULL;
  gboolean card_present = FALSE;

  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "class", "name", "student_no", "card_no", NULL)
      || !lk_json_optional_string (body, "class", LK_IMPORT_FIELD_MAX_CHARS, &klass, NULL, &error)
      || !lk_json_optional_string (body, "name", LK_IMPORT_FIELD_MAX_CHARS, &name, NULL, &error)
      || !lk_json_optional_string (body, "student_no", LK_IMPORT_FIELD_MAX_CHARS, &student_no, NULL, &error)
      || !lk_json_optional_string (body, "card_no", 16, &card_no, &card_present, &error))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (card_no != NULL && !card_no_is_valid (card_no))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("A card number is 8 hexadecimal digits"), "card_no");
      return;
    }
  if (card_no != NULL)
    ascii_upper_in_place (card_no);
  if (!lk_store_student_update (lk_server_get_store (server), auth->user_id,
                                auth->operator ? 0 : auth->school_id, student_id, klass, name,
                                student_no, card_no, card_present && card_no == NULL, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is no such student"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN))
        lk_http_check_school (msg, auth, -1);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "student_exists",
                             _("The school already has a student with this number"), "student_no");
      else
        lk_http_reply_gerror (msg, error);
      return;
    }
  reply_student (server, msg, SOUP_STATUS_OK, student_id);
}

static void
read_one (LkServer            *server,
          SoupServerMessage   *msg,
          const LkAuthContext *auth,
          gint64               student_id,
          gboolean             history)
{
  LkStore *store = lk_server_get_store (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) student = NULL;
  g_autofree char *target = g_strdup_printf ("student:%" G_GINT64_FORMAT, student_id);
  gint64 school_id = 0;

  student = lk_store_student_get (store, student_id, &school_id, &error);
  if (student == NULL)
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is no such student"), NULL);
      else
        lk_http_reply_gerror (msg, error);
      return;
    }
  if (!lk_http_check_school (msg, auth, school_id))
    return;

  if (history)
    {
      g_autoptr(JsonNode) items = lk_store_student_history (store, student_id, &error);
      g_autoptr(JsonBuilder) builder = NULL;
      g_autoptr(JsonNode) reply = NULL;

      if (items == NULL)
        {
          lk_http_reply_gerror (msg, error);
          return;
        }
      lk_store_audit (store, auth->user_id, "students.history", school_id, target, NULL);
      builder = json_builder_new ();
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "student_id");
      json_builder_add_int_value (builder, student_id);
      json_builder_set_member_name (builder, "history");
      json_builder_add_value (builder, g_steal_pointer (&items));
      json_builder_end_object (builder);
      reply = json_builder_get_root (builder);
      lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
      return;
    }
  lk_store_audit (store, auth->user_id, "students.read", school_id, target, NULL);
  lk_http_reply_json (msg, SOUP_STATUS_OK, student);
}

static void
students_cb (LkServer          *server,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query)
{
  const char *method = soup_server_message_get_method (msg);
  LkAuthContext auth;
  g_auto(GStrv) parts = NULL;
  guint n_parts;
  gint64 id;

  if (g_str_equal (path, "/api/v1/students"))
    {
      if (!lk_http_allow_methods (msg, "GET", "POST", NULL) || !lk_http_require_staff (server, msg, &auth))
        return;
      if (g_str_equal (method, "GET"))
        search (server, msg, &auth, query);
      else
        create (server, msg, &auth);
      return;
    }

  /* "", "api", "v1", "students", id [, "history"] */
  parts = g_strsplit (path, "/", 0);
  n_parts = g_strv_length (parts);
  id = n_parts >= 5 ? lk_http_parse_id (parts[4]) : 0;
  if (id > 0 && n_parts == 5)
    {
      if (!lk_http_allow_methods (msg, "GET", "PATCH", NULL) || !lk_http_require_staff (server, msg, &auth))
        return;
      if (g_str_equal (method, "GET"))
        read_one (server, msg, &auth, id, FALSE);
      else
        update (server, msg, &auth, id);
      return;
    }
  if (id > 0 && n_parts == 6 && g_str_equal (parts[5], "history"))
    {
      if (lk_http_allow_methods (msg, "GET", NULL) && lk_http_require_staff (server, msg, &auth))
        read_one (server, msg, &auth, id, TRUE);
      return;
    }
  if (id > 0 && n_parts == 7 && g_str_equal (parts[5], "application") && g_str_equal (parts[6], "cancel"))
    {
      if (lk_http_allow_methods (msg, "POST", NULL) && lk_http_require_staff (server, msg, &auth))
        lk_api_applications_cancel (server, msg, &auth, NULL, id);
      return;
    }
  lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
}

static void
stats_cb (LkServer          *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query)
{
  const char *school = query != NULL ? g_hash_table_lookup (query, "school") : NULL;
  LkAuthContext auth;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) stats = NULL;
  gint64 school_id = 0;

  if (!g_str_equal (path, "/api/v1/stats"))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "GET", NULL) || !lk_http_require_staff (server, msg, &auth))
    return;
  if (school != NULL && *school != '\0' && (school_id = lk_http_parse_id (school)) <= 0)
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("“school” must be a school id"), "school");
      return;
    }
  if (!auth.operator)
    {
      if (school_id != 0 && !lk_http_check_school (msg, &auth, school_id))
        return;
      school_id = auth.school_id;
    }
  stats = lk_store_stats (lk_server_get_store (server), school_id, &error);
  if (stats == NULL)
    lk_http_reply_gerror (msg, error);
  else
    lk_http_reply_json (msg, SOUP_STATUS_OK, stats);
}

void
lk_api_students_register (LkServer   *server,
                          SoupServer *soup)
{
  lk_routes_add (server, soup, "/api/v1/students", LK_JSON_MAX_BYTES, students_cb);
}

void
lk_api_stats_register (LkServer   *server,
                       SoupServer *soup)
{
  lk_routes_add (server, soup, "/api/v1/stats", LK_JSON_MAX_BYTES, stats_cb);
}
