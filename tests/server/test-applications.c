/* test-applications.c: step 2 over HTTP: verification in the order province → school → class →
 * name → student number, consent, the phone, 409, day sequence numbers and the rate limit
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-test-server.h"

static const char *roster[][6] = {
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", NULL },
  { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华", "2023002", NULL },
  { LK_TEST_PROVINCE, "杭州市学军小学", "一年级(1)班", "王芳", "X0001", NULL },
  { "江苏省", "南京市琅琊路小学", "一年级(1)班", "欧阳小明", "N0001", NULL },
};

static char *
application_json (const char *province,
                  const char *school,
                  const char *klass,
                  const char *name,
                  const char *student_no,
                  const char *phone,
                  const char *consent)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
#define MEMBER(k, v) if (v != NULL) { json_builder_set_member_name (builder, k); json_builder_add_string_value (builder, v); }
  MEMBER ("province", province);
  MEMBER ("school", school);
  MEMBER ("class", klass);
  MEMBER ("name", name);
  MEMBER ("student_no", student_no);
  MEMBER ("phone", phone);
#undef MEMBER
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = lk_json_to_string (root);
  /* consent is spliced in raw, so that tests can send wrong types */
  if (consent == NULL)
    return g_steal_pointer (&text);
  text[strlen (text) - 1] = '\0';
  return g_strdup_printf ("%s,\"consent\":%s}", text, consent);
}

static LkTestServer *
setup (void (*configure) (LkConfig *config))
{
  LkTestServer *ts = lk_test_server_new (0, configure);

  lk_test_server_import (ts, ts->operator_token, roster, G_N_ELEMENTS (roster));
  return ts;
}

static void
test_mismatch_fields (void)
{
  LkTestServer *ts = setup (NULL);
  struct {
    const char *values[5];
    const char *field;
  } cases[] = {
    { { "上海市", LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001" }, "province" },
    { { LK_TEST_PROVINCE, "南京市琅琊路小学", "三年级(2)班", "张小明", "2023001" }, "school" },
    { { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "一年级(1)班", "张小明", "2023001" }, "class" },
    { { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张晓明", "2023001" }, "name" },
    { { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023002" }, "student_no" },
    /* several wrong: the first in the order is named */
    { { "上海市", LK_TEST_SCHOOL, "三年级(2)班", "张晓明", "9999" }, "province" },
    { { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "四年级(1)班", "张晓明", "9999" }, "class" },
    /* a school of the province, and a class of another school */
    { { LK_TEST_PROVINCE, "杭州市学军小学", "三年级(2)班", "张小明", "2023001" }, "class" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *body = application_json (cases[i].values[0], cases[i].values[1], cases[i].values[2],
                                                cases[i].values[3], cases[i].values[4], "13812345678", "true");
      g_autoptr(JsonNode) reply = NULL;
      g_autofree char *text = NULL;

      g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, body, &reply), ==, 422);
      lk_test_assert_error (reply, "verification_failed", cases[i].field);
      /* Never the stored value. */
      text = lk_json_to_string (reply);
      g_assert_null (strstr (text, "2023001"));
      g_assert_null (strstr (text, "张小明"));
      g_assert_null (strstr (text, "三年级"));
    }
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "applications", NULL), ==, 0);
  lk_test_server_free (ts);
}

static void
test_consent_and_phone (void)
{
  LkTestServer *ts = setup (NULL);
  const char *consents[] = { NULL, "false", "null" };

  for (guint i = 0; i < G_N_ELEMENTS (consents); i++)
    {
      g_autofree char *body = application_json (LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                                "2023001", "13812345678", consents[i]);
      g_autoptr(JsonNode) reply = NULL;

      g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, body, &reply), ==, 422);
      lk_test_assert_error (reply, "consent_required", "consent");
    }
  {
    g_autofree char *body = application_json (LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                              "2023001", "13812345678", "\"yes\"");
    g_autoptr(JsonNode) reply = NULL;

    g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, body, &reply), ==, 422);
    lk_test_assert_error (reply, "invalid_field", "consent");
  }
  {
    const char *phones[] = { "12812345678", "1381234567", "138123456789", "1381234567a", "+8613812345678" };

    for (guint i = 0; i < G_N_ELEMENTS (phones); i++)
      {
        g_autofree char *body = application_json (LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                                  "2023001", phones[i], "true");
        g_autoptr(JsonNode) reply = NULL;

        g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, body, &reply), ==, 422);
        lk_test_assert_error (reply, "invalid_phone", "phone");
      }
  }
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "applications", NULL), ==, 0);
  lk_test_server_free (ts);
}

static void
test_apply (void)
{
  LkTestServer *ts = setup (NULL);
  g_autofree char *body = application_json (LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                            "2023001", "13812345678", "true");
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(JsonNode) got = NULL;
  g_autoptr(JsonNode) wrong = NULL;
  g_autoptr(JsonNode) students = NULL;
  g_autoptr(LkApplicationRecord) first = NULL;
  g_autoptr(LkApplicationRecord) second = NULL;
  g_autofree char *path = NULL;
  g_autofree char *other_token = NULL;
  g_autofree char *other_id = NULL;
  JsonObject *object;
  const char *id, *token;

  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, body, &reply), ==, 201);
  object = json_node_get_object (reply);
  id = json_object_get_string_member (object, "id");
  token = json_object_get_string_member (object, "token");
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "verified");
  g_assert_cmpint (json_object_get_int_member (object, "fee_fen"), ==, LK_DEFAULT_FEE_FEN);
  g_assert_cmpuint (strlen (token), ==, 64);

  /* The same student again: 409, while the first is open. */
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, body, &again), ==, 409);
  lk_test_assert_error (again, "already_applied", NULL);

  path = g_strdup_printf ("/api/v1/applications/%s", id);
  g_assert_cmpuint (lk_test_json (ts, "GET", path, token, NULL, &got), ==, 200);
  object = json_node_get_object (got);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "verified");
  g_assert_true (json_object_get_null_member (object, "claim_code"));
  g_assert_true (json_object_get_null_member (object, "card_no"));
  g_assert_true (json_object_get_null_member (object, "issued_at"));

  other_id = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "李华", "2023002", &other_token);
  /* Another application's token does not open this one. */
  g_assert_cmpuint (lk_test_json (ts, "GET", path, other_token, NULL, &wrong), ==, 401);
  lk_test_assert_error (wrong, "unauthorized", NULL);

  /* The day's sequence numbers. */
  first = lk_store_application_get (lk_server_get_store (ts->server), id, NULL);
  second = lk_store_application_get (lk_server_get_store (ts->server), other_id, NULL);
  g_assert_cmpint (first->day_seq, ==, 1);
  g_assert_cmpint (second->day_seq, ==, 2);
  g_assert_cmpstr (first->day, ==, second->day);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "applications",
                                         "consent_at > 0 AND consent_version != ''"), ==, 2);

  /* Staff see the student as applied. */
  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/students?status=applied", ts->teacher_token, NULL, &students), ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (students), "total"), ==, 2);
  lk_test_server_free (ts);
}

static void
small_limit (LkConfig *config)
{
  lk_config_set_verify_limit (config, 3, 3600);
}

static void
test_rate_limit (void)
{
  LkTestServer *ts = setup (small_limit);
  g_autofree char *wrong = application_json (LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                             "9999999", "13812345678", "true");
  g_autofree char *right = application_json (LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                             "2023001", "13812345678", "true");
  g_autoptr(JsonNode) limited = NULL;
  g_autoptr(JsonNode) still = NULL;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(JsonNode) reply = NULL;

      g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, wrong, &reply), ==, 422);
      lk_test_assert_error (reply, "verification_failed", "student_no");
    }
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, wrong, &limited), ==, 429);
  lk_test_assert_error (limited, "rate_limited", NULL);
  /* Limited means limited: even the right details wait. */
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/applications", NULL, right, &still), ==, 429);
  lk_test_assert_error (still, "rate_limited", NULL);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "applications", NULL), ==, 0);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init ("en");

  g_test_add_func ("/server/applications/mismatch-fields", test_mismatch_fields);
  g_test_add_func ("/server/applications/consent-and-phone", test_consent_and_phone);
  g_test_add_func ("/server/applications/apply", test_apply);
  g_test_add_func ("/server/applications/rate-limit", test_rate_limit);
  return g_test_run ();
}
