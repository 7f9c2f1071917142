/* test-bad-input.c: a table of malformed, hostile and out-of-scope requests. Each gets its
 * 4xx with the one error shape, the server keeps serving, and the database does not change.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-json-guard.h"
#include "lk-test-server.h"

typedef enum
{
  AUTH_NONE,
  AUTH_OPERATOR,
  AUTH_TEACHER,
  AUTH_TEACHER_B,     /* a teacher of the second school */
  AUTH_EXPIRED,
  AUTH_FORGED,
  AUTH_APPLICATION,
  AUTH_OTHER_APPLICATION,
} Auth;

typedef struct
{
  LkTestServer *ts;
  char         *expired_token;
  char         *teacher_b_token;
  char         *app_id;
  char         *app_token;
  char         *other_app_token;
  char         *kiosk_secret;
  gint64        batch_id;         /* pending, uploaded by "teacher" */
  char         *batch_checksum;
  gint64        student_b;        /* a student of the second school */
} Fixture;

typedef GBytes *(*BodyFunc) (Fixture *f);

typedef struct
{
  const char *name;
  const char *method;
  const char *path;          /* {batch} {app} {student_b} are filled in */
  Auth        auth;
  const char *content_type;
  const char *body;          /* text body, or NULL */
  BodyFunc    body_func;     /* or a generated one */
  const char *header_name;   /* one extra header */
  const char *header_value;
  guint       status;
  const char *code;
  const char *field;
} Case;

static const char *roster[][6] = {
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", NULL },
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华", "2023002", NULL },
  { LK_TEST_PROVINCE, "杭州市学军小学", "一年级(1)班", "王芳", "X0001", NULL },
};

static GBytes *
text_frame (const char *start,
            const char *payload,
            const char *end_checksum)
{
  g_autofree char *sum = lk_sha256_hex (payload, strlen (payload));
  char *text = g_strdup_printf ("%s\n%s\nLKEND %s\n", start, payload,
                                end_checksum != NULL ? end_checksum : sum);

  return g_bytes_new_take (text, strlen (text));
}

#define GOOD_PAYLOAD "[{\"seq\":1,\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\"," \
                     "\"name\":\"赵六\",\"student_no\":\"2023009\",\"card_no\":null}]"

static GBytes *frame_bad_start (Fixture *f) { return text_frame ("LKIMPORT/2 1", GOOD_PAYLOAD, NULL); }
static GBytes *frame_bad_count (Fixture *f) { return text_frame ("LKIMPORT/1 2", GOOD_PAYLOAD, NULL); }
static GBytes *frame_no_count (Fixture *f) { return text_frame ("LKIMPORT/1", GOOD_PAYLOAD, NULL); }
static GBytes *frame_bad_checksum (Fixture *f)
{
  return text_frame ("LKIMPORT/1 1", GOOD_PAYLOAD, "0000000000000000000000000000000000000000000000000000000000000000");
}
static GBytes *frame_short_checksum (Fixture *f) { return text_frame ("LKIMPORT/1 1", GOOD_PAYLOAD, "abc"); }
static GBytes *frame_not_json (Fixture *f) { return text_frame ("LKIMPORT/1 1", "[{\"seq\":1,", NULL); }
static GBytes *frame_wrong_types (Fixture *f)
{
  return text_frame ("LKIMPORT/1 1", "[{\"seq\":\"1\",\"province\":\"浙江省\",\"school\":\"杭州市文三小学\","
                     "\"class\":\"三年级(2)班\",\"name\":\"赵六\",\"student_no\":\"2023009\",\"card_no\":null}]", NULL);
}
static GBytes *frame_unknown_key (Fixture *f)
{
  return text_frame ("LKIMPORT/1 1", "[{\"seq\":1,\"province\":\"浙江省\",\"school\":\"杭州市文三小学\","
                     "\"class\":\"三年级(2)班\",\"name\":\"赵六\",\"student_no\":\"2023009\",\"card_no\":null,"
                     "\"admin\":true}]", NULL);
}
static GBytes *frame_invalid_utf8 (Fixture *f)
{
  return text_frame ("LKIMPORT/1 1", "[{\"seq\":1,\"province\":\"\xff\xfe\",\"school\":\"x\",\"class\":\"y\","
                     "\"name\":\"z\",\"student_no\":\"1\",\"card_no\":null}]", NULL);
}
static GBytes *frame_empty_name (Fixture *f)
{
  return text_frame ("LKIMPORT/1 1", "[{\"seq\":1,\"province\":\"浙江省\",\"school\":\"杭州市文三小学\","
                     "\"class\":\"三年级(2)班\",\"name\":\"\xe3\x80\x80\",\"student_no\":\"2023009\",\"card_no\":null}]", NULL);
}
static GBytes *frame_other_school (Fixture *f)
{
  return text_frame ("LKIMPORT/1 1", "[{\"seq\":1,\"province\":\"浙江省\",\"school\":\"杭州市学军小学\","
                     "\"class\":\"一年级(1)班\",\"name\":\"赵六\",\"student_no\":\"X0009\",\"card_no\":null}]", NULL);
}
static GBytes *frame_truncated (Fixture *f)
{
  g_autoptr(GBytes) whole = text_frame ("LKIMPORT/1 1", GOOD_PAYLOAD, NULL);

  return g_bytes_new_from_bytes (whole, 0, g_bytes_get_size (whole) / 2);
}
static GBytes *frame_no_end (Fixture *f)
{
  const char *text = "LKIMPORT/1 1\n" GOOD_PAYLOAD "\n";
  return g_bytes_new_static (text, strlen (text));
}
static GBytes *empty_body (Fixture *f) { return g_bytes_new_static ("", 0); }

static GBytes *
invalid_utf8_json (Fixture *f)
{
  const char *text = "{\"username\": \"op\xc3\x28\", \"password\": \"whatever-pass\"}";
  return g_bytes_new_static (text, strlen (text));
}

static GBytes *
deep_json (Fixture *f)
{
  GString *text = g_string_new ("{\"username\":");

  for (guint i = 0; i < 500; i++)
    g_string_append_c (text, '[');
  for (guint i = 0; i < 500; i++)
    g_string_append_c (text, ']');
  g_string_append (text, ",\"password\":\"x\"}");
  return g_string_free_to_bytes (text);
}

static GBytes *
bracket_bomb (Fixture *f)
{
  gsize len = 200000;
  char *text = g_malloc (len);

  memset (text, '[', len);
  return g_bytes_new_take (text, len);
}

static GBytes *
frame_bracket_bomb (Fixture *f)
{
  g_autofree char *payload = g_malloc (300001);

  memset (payload, '[', 300000);
  payload[300000] = '\0';
  return text_frame ("LKIMPORT/1 1", payload, NULL);
}

static GBytes *
forged_notice (Fixture *f)
{
  char *text = g_strdup_printf ("{\"order_no\":\"LK1\",\"amount_fen\":2000,\"txn\":\"T\",\"status\":\"paid\","
                                "\"signature\":\"%064d\"}", 7);
  return g_bytes_new_take (text, strlen (text));
}

static GBytes *
commit_wrong_checksum (Fixture *f)
{
  const char *text = "{\"checksum\": \"1111111111111111111111111111111111111111111111111111111111111111\"}";
  return g_bytes_new_static (text, strlen (text));
}

static GBytes *
commit_right_checksum (Fixture *f)
{
  char *text = g_strdup_printf ("{\"checksum\": \"%s\"}", f->batch_checksum);
  return g_bytes_new_take (text, strlen (text));
}

#define FRAME LK_IMPORT_FRAME_CONTENT_TYPE
#define JSON "application/json"
#define APPLY_OK_BUT(k, v) "{\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\"," \
                           "\"name\":\"张小明\",\"student_no\":\"2023001\",\"phone\":\"13812345678\",\"consent\":true," k ":" v "}"

static const Case cases[] = {
  /* the import frame */
  { "frame-bad-start", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_bad_start, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-bad-count", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_bad_count, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-no-count", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_no_count, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-wrong-checksum", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_bad_checksum, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-short-checksum", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_short_checksum, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-truncated", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_truncated, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-no-end-field", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_no_end, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-empty", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, empty_body, NULL, NULL, 400, "bad_frame", NULL },
  { "frame-payload-not-json", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_not_json, NULL, NULL, 400, "invalid_json", NULL },
  { "frame-wrong-types", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_wrong_types, NULL, NULL, 400, "invalid_json", NULL },
  { "frame-unknown-key", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_unknown_key, NULL, NULL, 400, "invalid_json", NULL },
  { "frame-invalid-utf8", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_invalid_utf8, NULL, NULL, 400, "invalid_json", NULL },
  { "frame-blank-name", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_empty_name, NULL, NULL, 422, "invalid_rows", NULL },
  { "frame-as-json", "POST", "/api/v1/imports", AUTH_TEACHER, JSON, "[]", NULL, NULL, NULL, 415, "unsupported_media_type", NULL },
  { "frame-no-token", "POST", "/api/v1/imports", AUTH_NONE, FRAME, NULL, frame_bad_start, NULL, NULL, 401, "unauthorized", NULL },
  { "frame-other-school", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_other_school, NULL, NULL, 403, "forbidden", "school" },
  /* the commit */
  { "commit-wrong-checksum", "POST", "/api/v1/imports/{batch}/commit", AUTH_TEACHER, JSON, NULL, commit_wrong_checksum, NULL, NULL, 422, "checksum_mismatch", "checksum" },
  { "commit-other-teacher", "POST", "/api/v1/imports/{batch}/commit", AUTH_TEACHER_B, JSON, NULL, commit_right_checksum, NULL, NULL, 403, "forbidden", NULL },
  { "commit-unknown-batch", "POST", "/api/v1/imports/999999/commit", AUTH_TEACHER, JSON, NULL, commit_right_checksum, NULL, NULL, 404, "not_found", NULL },
  { "commit-checksum-number", "POST", "/api/v1/imports/{batch}/commit", AUTH_TEACHER, JSON, "{\"checksum\": 12}", NULL, NULL, NULL, 422, "invalid_field", "checksum" },
  { "commit-expired-token", "POST", "/api/v1/imports/{batch}/commit", AUTH_EXPIRED, JSON, NULL, commit_right_checksum, NULL, NULL, 401, "token_expired", NULL },
  /* strict JSON */
  { "login-not-json", "POST", "/api/v1/auth/login", AUTH_NONE, JSON, "{username: op}", NULL, NULL, NULL, 400, "invalid_json", NULL },
  { "login-invalid-utf8", "POST", "/api/v1/auth/login", AUTH_NONE, JSON, NULL, invalid_utf8_json, NULL, NULL, 400, "invalid_json", NULL },
  { "login-array", "POST", "/api/v1/auth/login", AUTH_NONE, JSON, "[\"op\", \"pw\"]", NULL, NULL, NULL, 400, "invalid_json", NULL },
  { "login-password-number", "POST", "/api/v1/auth/login", AUTH_NONE, JSON, "{\"username\": \"teacher\", \"password\": 12345678}", NULL, NULL, NULL, 422, "invalid_field", "password" },
  { "login-deep-nesting", "POST", "/api/v1/auth/login", AUTH_NONE, JSON, NULL, deep_json, NULL, NULL, 400, "invalid_json", NULL },
  { "login-bracket-bomb", "POST", "/api/v1/auth/login", AUTH_NONE, JSON, NULL, bracket_bomb, NULL, NULL, 400, "invalid_json", NULL },
  { "apply-bracket-bomb", "POST", "/api/v1/applications", AUTH_NONE, JSON, NULL, bracket_bomb, NULL, NULL, 400, "invalid_json", NULL },
  { "frame-bracket-bomb", "POST", "/api/v1/imports", AUTH_TEACHER, FRAME, NULL, frame_bracket_bomb, NULL, NULL, 400, "invalid_json", NULL },
  { "login-text-plain", "POST", "/api/v1/auth/login", AUTH_NONE, "text/plain", "{}", NULL, NULL, NULL, 415, "unsupported_media_type", NULL },
  { "login-empty-body", "POST", "/api/v1/auth/login", AUTH_NONE, JSON, NULL, empty_body, NULL, NULL, 400, "invalid_json", NULL },
  /* applications */
  { "apply-sql-in-name", "POST", "/api/v1/applications", AUTH_NONE, JSON,
    "{\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\",\"name\":\"x' OR '1'='1\","
    "\"student_no\":\"2023001\",\"phone\":\"13812345678\",\"consent\":true}", NULL, NULL, NULL, 422, "verification_failed", "name" },
  { "apply-sql-in-province", "POST", "/api/v1/applications", AUTH_NONE, JSON,
    "{\"province\":\"浙江省'; DROP TABLE students; --\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\",\"name\":\"张小明\","
    "\"student_no\":\"2023001\",\"phone\":\"13812345678\",\"consent\":true}", NULL, NULL, NULL, 422, "verification_failed", "province" },
  { "apply-name-number", "POST", "/api/v1/applications", AUTH_NONE, JSON,
    "{\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\",\"name\":42,"
    "\"student_no\":\"2023001\",\"phone\":\"13812345678\",\"consent\":true}", NULL, NULL, NULL, 422, "invalid_field", "name" },
  { "apply-unknown-member", "POST", "/api/v1/applications", AUTH_NONE, JSON, APPLY_OK_BUT ("\"status\"", "\"paid\""), NULL, NULL, NULL, 422, "invalid_field", "status" },
  { "apply-no-consent", "POST", "/api/v1/applications", AUTH_NONE, JSON,
    "{\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\",\"name\":\"张小明\","
    "\"student_no\":\"2023001\",\"phone\":\"13812345678\"}", NULL, NULL, NULL, 422, "consent_required", "consent" },
  { "apply-control-chars", "POST", "/api/v1/applications", AUTH_NONE, JSON,
    "{\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\",\"name\":\"张\\u0007小明\","
    "\"student_no\":\"2023001\",\"phone\":\"13812345678\",\"consent\":true}", NULL, NULL, NULL, 422, "invalid_field", "name" },
  { "apply-nul-in-name", "POST", "/api/v1/applications", AUTH_NONE, JSON,
    "{\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\",\"name\":\"张小明\\u0000x\","
    "\"student_no\":\"2023001\",\"phone\":\"13812345678\",\"consent\":true}", NULL, NULL, NULL, 400, "invalid_json", NULL },
  { "apply-open-already", "POST", "/api/v1/applications", AUTH_NONE, JSON,
    "{\"province\":\"浙江省\",\"school\":\"杭州市文三小学\",\"class\":\"三年级(2)班\",\"name\":\"张小明\","
    "\"student_no\":\"2023001\",\"phone\":\"13812345678\",\"consent\":true}", NULL, NULL, NULL, 409, "already_applied", NULL },
  { "application-forged-token", "GET", "/api/v1/applications/{app}", AUTH_FORGED, NULL, NULL, NULL, NULL, NULL, 401, "unauthorized", NULL },
  { "application-other-token", "GET", "/api/v1/applications/{app}", AUTH_OTHER_APPLICATION, NULL, NULL, NULL, NULL, NULL, 401, "unauthorized", NULL },
  { "payment-bad-channel", "POST", "/api/v1/applications/{app}/payment", AUTH_APPLICATION, JSON, "{\"channel\": \"bitcoin\"}", NULL, NULL, NULL, 422, "invalid_field", "channel" },
  { "payment-channel-array", "POST", "/api/v1/applications/{app}/payment", AUTH_APPLICATION, JSON, "{\"channel\": [\"sandbox\"]}", NULL, NULL, NULL, 422, "invalid_field", "channel" },
  { "notice-forged", "POST", "/api/v1/payments/notify/sandbox", AUTH_NONE, JSON, NULL, forged_notice, NULL, NULL, 400, "bad_signature", NULL },
  { "notice-garbage", "POST", "/api/v1/payments/notify/sandbox", AUTH_NONE, JSON, "\x01\x02garbage", NULL, NULL, NULL, 400, "invalid_notice", NULL },
  { "sandbox-unknown-order", "POST", "/api/v1/sandbox/pay/LK0000", AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 404, "unknown_order", NULL },
  /* staff scope and tokens */
  { "students-no-token", "GET", "/api/v1/students", AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 401, "unauthorized", NULL },
  { "students-forged-token", "GET", "/api/v1/students", AUTH_FORGED, NULL, NULL, NULL, NULL, NULL, 401, "unauthorized", NULL },
  { "students-expired-token", "GET", "/api/v1/students", AUTH_EXPIRED, NULL, NULL, NULL, NULL, NULL, 401, "token_expired", NULL },
  { "students-other-school", "GET", "/api/v1/students?school={school_b}", AUTH_TEACHER, NULL, NULL, NULL, NULL, NULL, 403, "forbidden", NULL },
  { "student-other-school", "GET", "/api/v1/students/{student_b}", AUTH_TEACHER, NULL, NULL, NULL, NULL, NULL, 403, "forbidden", NULL },
  { "student-history-other-school", "GET", "/api/v1/students/{student_b}/history", AUTH_TEACHER, NULL, NULL, NULL, NULL, NULL, 403, "forbidden", NULL },
  { "student-patch-other-school", "PATCH", "/api/v1/students/{student_b}", AUTH_TEACHER, JSON, "{\"name\": \"改名\"}", NULL, NULL, NULL, 403, "forbidden", NULL },
  { "student-create-other-school", "POST", "/api/v1/students", AUTH_TEACHER, JSON,
    "{\"school_id\": {school_b}, \"class\": \"一年级(1)班\", \"name\": \"Robert'); DROP TABLE students;--\", \"student_no\": \"X0010\"}",
    NULL, NULL, NULL, 403, "forbidden", NULL },
  { "student-patch-bad-card", "PATCH", "/api/v1/students/{student_b}", AUTH_OPERATOR, JSON, "{\"card_no\": \"XYZ\"}", NULL, NULL, NULL, 422, "invalid_field", "card_no" },
  { "student-patch-wrong-type", "PATCH", "/api/v1/students/{student_b}", AUTH_OPERATOR, JSON, "{\"class\": true}", NULL, NULL, NULL, 422, "invalid_field", "class" },
  { "stats-other-school", "GET", "/api/v1/stats?school={school_b}", AUTH_TEACHER, NULL, NULL, NULL, NULL, NULL, 403, "forbidden", NULL },
  { "users-by-teacher", "POST", "/api/v1/users", AUTH_TEACHER, JSON,
    "{\"username\": \"evil\", \"password\": \"long-enough\", \"role\": \"operator\"}", NULL, NULL, NULL, 403, "forbidden", NULL },
  { "students-bad-page", "GET", "/api/v1/students?page=0", AUTH_OPERATOR, NULL, NULL, NULL, NULL, NULL, 422, "invalid_field", "page" },
  { "students-bad-status", "GET", "/api/v1/students?status=stolen", AUTH_OPERATOR, NULL, NULL, NULL, NULL, NULL, 422, "invalid_field", "status" },
  { "directory-invalid-utf8", "GET", "/api/v1/directory/schools?province=%FF%FE", AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 422, "invalid_field", "province" },
  /* the kiosk socket */
  { "kiosk-forged-secret", "GET", "/api/v1/kiosk/ws", AUTH_NONE, NULL, NULL, NULL, "Authorization", "Basic SzE6d3Jvbmctc2VjcmV0", 401, "unauthorized", NULL },
  /* routing */
  { "unknown-path", "GET", "/api/v1/../../etc/passwd", AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 404, "not_found", NULL },
  { "wrong-method", "DELETE", "/api/v1/students", AUTH_OPERATOR, NULL, NULL, NULL, NULL, NULL, 405, "method_not_allowed", NULL },
};

static char *
fill (Fixture    *f,
      const char *text)
{
  g_autofree char *batch = g_strdup_printf ("%" G_GINT64_FORMAT, f->batch_id);
  g_autofree char *student_b = g_strdup_printf ("%" G_GINT64_FORMAT, f->student_b);
  g_autofree char *school_b = g_strdup_printf ("%" G_GINT64_FORMAT, f->ts->school_id + 1);
  g_autoptr(GString) out = g_string_new (text);

  g_string_replace (out, "{batch}", batch, 0);
  g_string_replace (out, "{app}", f->app_id, 0);
  g_string_replace (out, "{student_b}", student_b, 0);
  g_string_replace (out, "{school_b}", school_b, 0);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static const char *
token_for (Fixture *f,
           Auth     auth)
{
  switch (auth)
    {
    case AUTH_NONE: return NULL;
    case AUTH_OPERATOR: return f->ts->operator_token;
    case AUTH_TEACHER: return f->ts->teacher_token;
    case AUTH_TEACHER_B: return f->teacher_b_token;
    case AUTH_EXPIRED: return f->expired_token;
    case AUTH_FORGED: return "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";
    case AUTH_APPLICATION: return f->app_token;
    case AUTH_OTHER_APPLICATION: return f->other_app_token;
    default: g_assert_not_reached ();
    }
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) upload = NULL;
  g_autoptr(JsonNode) students = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr(GBytes) frame = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *other_id = NULL;
  LkImportRow *row;

  f->ts = lk_test_server_new (0, NULL);
  lk_test_server_import (f->ts, f->ts->operator_token, roster, G_N_ELEMENTS (roster));
  /* The second school is the one roster[2] created: id school_id + 1. */
  lk_test_server_add_teacher (f->ts, "teacher-b", f->ts->school_id + 1);
  f->teacher_b_token = lk_test_server_login (f->ts, "teacher-b", LK_TEST_PASSWORD);
  f->expired_token = lk_test_server_login (f->ts, "teacher", LK_TEST_PASSWORD);
  hash = lk_sha256_hex (f->expired_token, strlen (f->expired_token));
  lk_store_session_set_expiry (lk_server_get_store (f->ts->server), hash, 1000, &error);
  g_assert_no_error (error);
  f->kiosk_secret = lk_test_server_register_kiosk (f->ts, "K1", f->ts->school_id);

  f->app_id = lk_test_server_apply (f->ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                    "2023001", &f->app_token);
  other_id = lk_test_server_apply (f->ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华",
                                   "2023002", &f->other_app_token);

  row = lk_import_row_new ();
  row->seq = 1;
  row->province = g_strdup (LK_TEST_PROVINCE);
  row->school = g_strdup (LK_TEST_SCHOOL);
  row->klass = g_strdup ("三年级(2)班");
  row->name = g_strdup ("赵六");
  row->student_no = g_strdup ("2023009");
  g_ptr_array_add (rows, row);
  frame = lk_import_frame_build (rows);
  g_assert_cmpuint (lk_test_request (f->ts, "POST", "/api/v1/imports", f->ts->teacher_token,
                                     LK_IMPORT_FRAME_CONTENT_TYPE, g_bytes_get_data (frame, NULL),
                                     g_bytes_get_size (frame), &upload), ==, 201);
  f->batch_id = json_object_get_int_member (json_node_get_object (upload), "batch_id");
  f->batch_checksum = g_strdup (json_object_get_string_member (json_node_get_object (upload), "checksum"));

  g_assert_cmpuint (lk_test_json (f->ts, "GET", "/api/v1/students?q=X0001", f->ts->operator_token, NULL, &students), ==, 200);
  f->student_b = json_object_get_int_member (json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (students), "students"), 0), "id");
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  lk_test_server_free (f->ts);
  g_free (f->expired_token);
  g_free (f->teacher_b_token);
  g_free (f->app_id);
  g_free (f->app_token);
  g_free (f->other_app_token);
  g_free (f->kiosk_secret);
  g_free (f->batch_checksum);
}

static void
test_table (Fixture       *f,
            gconstpointer  data)
{
  LkStore *store = lk_server_get_store (f->ts->server);

  g_assert_cmpuint (G_N_ELEMENTS (cases), >=, 30);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autofree char *path = fill (f, c->path);
      g_autofree char *text = c->body != NULL ? fill (f, c->body) : NULL;
      g_autoptr(GBytes) body = c->body_func != NULL ? c->body_func (f)
                               : text != NULL ? g_bytes_new (text, strlen (text)) : NULL;
      g_autofree char *auth = NULL;
      g_autofree char *before = NULL;
      g_autofree char *after = NULL;
      g_autoptr(GBytes) reply_body = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(JsonNode) alive = NULL;
      const char *token = token_for (f, c->auth);
      guint status;

      g_test_message ("case %s", c->name);
      if (token != NULL)
        auth = g_strconcat ("Bearer ", token, NULL);
      before = lk_store_debug_checksum (store, NULL);
      status = lk_test_request_full (f->ts, c->method, path,
                                     body != NULL ? g_bytes_get_data (body, NULL) : NULL,
                                     body != NULL ? g_bytes_get_size (body) : 0,
                                     &reply_body, NULL,
                                     "Content-Type", c->content_type,
                                     "Authorization", auth,
                                     c->header_name != NULL ? c->header_name : "X-Lingka-Test",
                                     c->header_value,
                                     NULL);
      if (status != c->status)
        g_error ("case %s: status %u, expected %u: %.*s", c->name, status, c->status,
                 (int) g_bytes_get_size (reply_body), (const char *) g_bytes_get_data (reply_body, NULL));
      g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (reply_body, NULL),
                                                 g_bytes_get_size (reply_body), NULL));
      lk_test_assert_error (json_parser_get_root (parser), c->code, c->field);

      after = lk_store_debug_checksum (store, NULL);
      if (g_strcmp0 (before, after) != 0)
        g_error ("case %s changed the database", c->name);

      g_assert_cmpuint (lk_test_json (f->ts, "GET", "/api/v1/directory/provinces", NULL, NULL, &alive), ==, 200);
    }
}

static void
test_sql_metacharacters_in_search (Fixture       *f,
                                   gconstpointer  data)
{
  const char *queries[] = { "%25", "_", "%27%20OR%201%3D1%20--", "%5C", "%22%3B%20DROP%20TABLE%20students%3B" };

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autofree char *path = g_strdup_printf ("/api/v1/students?q=%s", queries[i]);
      g_autoptr(JsonNode) reply = NULL;

      g_assert_cmpuint (lk_test_json (f->ts, "GET", path, f->ts->operator_token, NULL, &reply), ==, 200);
      g_assert_cmpint (json_object_get_int_member (json_node_get_object (reply), "total"), ==, 0);
    }
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (f->ts->server), "students", NULL), ==, 3);
}

/* Sends @request by hand and expects the status line @status (e.g. "HTTP/1.1 413 ") with the
 * error shape of @code as its body. */
static void
expect_raw_error (Fixture    *f,
                  const char *request,
                  const char *status,
                  const char *code)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *shape = g_strdup_printf ("{\"error\":{\"code\":\"%s\"", code);
  char answer[1024] = { 0 };
  gsize len = 0;
  gssize n;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", lk_server_get_port (f->ts->server), NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request, strlen (request),
                             NULL, NULL, &error);
  g_assert_no_error (error);
  /* Headers and body may come in two reads; the connection may stay open. */
  while (len < sizeof answer - 1 && strstr (answer, shape) == NULL)
    {
      n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), answer + len,
                               sizeof answer - 1 - len, NULL, &error);
      g_assert_no_error (error);
      if (n <= 0)
        break;
      len += n;
    }
  g_assert_true (g_str_has_prefix (answer, status));
  g_assert_nonnull (strstr (answer, shape));
}

static void
expect_413 (Fixture    *f,
            const char *request)
{
  expect_raw_error (f, request, "HTTP/1.1 413 ", "payload_too_large");
}

/* Requests that libsoup cannot parse, and answers itself before any handler: they still get the
 * error shape, and the server goes on serving. */
static void
test_unparseable (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(JsonNode) alive = NULL;
  g_autofree char *before = lk_store_debug_checksum (lk_server_get_store (f->ts->server), NULL);
  g_autofree char *after = NULL;

  expect_raw_error (f, "GARBAGE\r\n\r\n", "HTTP/1.0 400 ", "bad_request");
  expect_raw_error (f, "POST /api/v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Transfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 ", "bad_request");
  expect_raw_error (f, "GET /api/v1/directory/provinces HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Length: -5\r\n\r\n", "HTTP/1.1 400 ", "bad_request");

  g_assert_cmpuint (lk_test_json (f->ts, "GET", "/api/v1/directory/provinces", NULL, NULL, &alive), ==, 200);
  after = lk_store_debug_checksum (lk_server_get_store (f->ts->server), NULL);
  g_assert_cmpstr (before, ==, after);
}

/* Bodies over the limit, sent by hand: with "Expect: 100-continue" (1 MiB + 1 of JSON, 64 MiB + 1
 * of import frame), and without it (the answer comes before the body is read); then a chunked
 * body that grows past the limit is cut off. The server goes on serving and nothing is stored. */
static void
test_oversize_raw (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) chunked = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) alive = NULL;
  g_autofree char *before = lk_store_debug_checksum (lk_server_get_store (f->ts->server), NULL);
  g_autofree char *after = NULL;
  g_autofree char *import = g_strdup_printf ("POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             "Authorization: Bearer %s\r\nExpect: 100-continue\r\n"
                                             "Content-Type: " LK_IMPORT_FRAME_CONTENT_TYPE "\r\n"
                                             "Content-Length: %d\r\n\r\n", f->ts->teacher_token,
                                             64 * 1024 * 1024 + 1);
  const char *chunked_request = "POST /api/v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  g_autofree char *chunk = NULL;
  gsize chunk_len = 64 * 1024, sent = 0;

  expect_413 (f, "POST /api/v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                 "Content-Type: application/json\r\nContent-Length: 1048577\r\n\r\n");
  expect_413 (f, import);
  expect_413 (f, "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\nContent-Length: 500000000\r\n\r\n");

  /* 64 KiB chunks until the server hangs up: well before 64 MiB. */
  chunked = g_socket_client_connect_to_host (client, "127.0.0.1", lk_server_get_port (f->ts->server), NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (chunked)), chunked_request,
                             strlen (chunked_request), NULL, NULL, &error);
  g_assert_no_error (error);
  chunk = g_strdup_printf ("%zx\r\n%*s\r\n", chunk_len, (int) chunk_len, "");
  while (sent < 64 * 1024 * 1024
         && g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (chunked)), chunk,
                                       strlen (chunk), NULL, NULL, NULL))
    sent += chunk_len;
  g_assert_cmpuint (sent, <, 64 * 1024 * 1024);

  g_assert_cmpuint (lk_test_json (f->ts, "GET", "/api/v1/directory/provinces", NULL, NULL, &alive), ==, 200);
  after = lk_store_debug_checksum (lk_server_get_store (f->ts->server), NULL);
  g_assert_cmpstr (before, ==, after);
}

static void
test_depth_guard (void)
{
  const char *ok[] = { "{}", "[[[]]]", "{\"a\": \"[[[[[[[[\"}", "\"\\\"[[[[\"", "]]]]" };
  g_autofree char *deep = g_strnfill (LK_JSON_MAX_DEPTH + 1, '[');
  g_autofree char *limit = g_strnfill (LK_JSON_MAX_DEPTH, '{');

  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    g_assert_true (lk_json_depth_ok (ok[i], strlen (ok[i]), 3));
  g_assert_true (lk_json_depth_ok (limit, strlen (limit), LK_JSON_MAX_DEPTH));
  g_assert_false (lk_json_depth_ok (deep, strlen (deep), LK_JSON_MAX_DEPTH));
  g_assert_false (lk_json_depth_ok ("[{[{", 4, 3));
}

/* /server/bad-input/unparseable in a child process. Under the asan test setup, libsoup 3.2 leaks
 * the strings it parsed from a request line that it then refuses, and tests/lsan.supp can name
 * that leak by libsoup's frame only if the allocation's stack is unwound in full: Debian's GLib
 * has no frame pointers for the fast unwinder. The slow unwinder makes a whole test program ten
 * times slower, so only this child gets it, and leak checking stays on for all of it. */
static void
test_unparseable_in_child (void)
{
  g_autofree char *asan_options = g_strdup (g_getenv ("ASAN_OPTIONS"));

  if (g_test_subprocess ())
    {
      Fixture f = { 0 };

      fixture_set_up (&f, NULL);
      test_unparseable (&f, NULL);
      fixture_tear_down (&f, NULL);
      return;
    }

  if (asan_options != NULL)
    {
      g_autofree char *slow = g_strconcat (asan_options,
                                           ":fast_unwind_on_malloc=0:malloc_context_size=10", NULL);
      g_setenv ("ASAN_OPTIONS", slow, TRUE);
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  if (asan_options != NULL)
    g_setenv ("ASAN_OPTIONS", asan_options, TRUE);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init ("en");

  g_test_add_func ("/server/bad-input/depth-guard", test_depth_guard);
  g_test_add ("/server/bad-input/table", Fixture, NULL, fixture_set_up, test_table, fixture_tear_down);
  g_test_add_func ("/server/bad-input/unparseable", test_unparseable_in_child);
  g_test_add ("/server/bad-input/oversize-raw", Fixture, NULL, fixture_set_up, test_oversize_raw,
              fixture_tear_down);
  g_test_add ("/server/bad-input/sql-in-search", Fixture, NULL, fixture_set_up,
              test_sql_metacharacters_in_search, fixture_tear_down);
  return g_test_run ();
}
