/* test-protocol.c: kiosk WebSocket messages
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "lk-error.h"
#include "lk-protocol.h"

static void
test_fail_reasons (void)
{
  static const char * const names[] = {
    "jam", "empty", "read_failed", "write_failed", "not_taken", "dispenser_silent", "cancelled",
  };

  g_assert_cmpuint (G_N_ELEMENTS (names), ==, LK_N_FAIL_REASONS);

  for (guint i = 0; i < LK_N_FAIL_REASONS; i++)
    {
      LkFailReason reason = LK_N_FAIL_REASONS;

      g_assert_cmpstr (lk_fail_reason_to_string ((LkFailReason) i), ==, names[i]);
      g_assert_true (lk_fail_reason_from_string (names[i], &reason));
      g_assert_cmpint (reason, ==, i);
    }

  g_assert_false (lk_fail_reason_from_string ("JAM", NULL));
  g_assert_false (lk_fail_reason_from_string ("", NULL));
  g_assert_false (lk_fail_reason_from_string (NULL, NULL));
}

static void
test_build (void)
{
  JsonBuilder *builder = lk_message_begin (LK_MSG_CLAIM_REQUEST);
  g_autofree char *text = NULL;

  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, "k1-0001");
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, "45971206");
  text = lk_message_finish (builder);
  g_object_unref (builder);

  g_assert_cmpstr (text, ==, "{\"type\":\"claim.request\",\"id\":\"k1-0001\",\"code\":\"45971206\"}");
}

static void
test_parse (void)
{
  const char text[] = "{\"type\":\"claim.rejected\",\"re\":\"k1-0001\",\"reason\":\"already_issued\"}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;
  const char *type = NULL;

  object = lk_message_parse (text, strlen (text), &type, &error);
  g_assert_no_error (error);
  g_assert_nonnull (object);
  g_assert_cmpstr (type, ==, LK_MSG_CLAIM_REJECTED);
  g_assert_cmpstr (json_object_get_string_member (object, "reason"), ==, LK_REJECT_ALREADY_ISSUED);

  /* Not NUL-terminated: only len bytes count. */
  {
    char buf[64];
    const char *msg = "{\"type\":\"ping\"}";
    g_autoptr(JsonObject) ping = NULL;

    memset (buf, '}', sizeof buf);
    memcpy (buf, msg, strlen (msg));
    ping = lk_message_parse (buf, strlen (msg), &type, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (type, ==, LK_MSG_PING);
  }
}

static void
test_parse_errors (void)
{
  const char *bad[] = {
    "",
    "not json",
    "[]",
    "\"type\"",
    "{}",
    "{\"type\":1}",
    "{\"type\":null}",
    "{\"type\":{\"a\":1}}",
    "{\"kind\":\"ping\"}",
    "{\"type\":\"\xff\"}",
    "{\"type\":\"ping\"",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      const char *type = "unchanged";
      g_autoptr(JsonObject) object = lk_message_parse (bad[i], strlen (bad[i]), &type, &error);

      g_assert_null (object);
      g_assert_null (type);
      g_assert_error (error, LK_ERROR, LK_ERROR_INVALID_JSON);
    }

  /* A NUL byte inside the message */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) object = lk_message_parse ("{\"type\":\"a\0b\"}", 15, NULL, &error);

    g_assert_null (object);
    g_assert_error (error, LK_ERROR, LK_ERROR_INVALID_JSON);
  }
}

static void
test_mutated_messages (void)
{
  /* Kiosk messages come from the network: damage gives LK_ERROR_INVALID_JSON or a well-formed
   * object with a string type, never a crash. */
  const char msg[] = "{\"type\":\"claim.completed\",\"id\":\"K-1\",\"claim_id\":5,"
                     "\"card_no\":\"A1B2C3D4\",\"card_data\":{\"name\":\"张小明\"}}";
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);

  for (guint n = 0; n < 3000; n++)
    {
      char copy[sizeof msg];
      gsize len = sizeof msg - 1;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) object = NULL;
      const char *type = NULL;

      memcpy (copy, msg, sizeof msg);
      for (guint k = 0; k < 1 + n % 3; k++)
        copy[g_rand_int_range (rand, 0, (gint32) len)] = (char) g_rand_int_range (rand, 0, 256);
      if (n % 5 == 0)
        len = g_rand_int_range (rand, 0, (gint32) len);

      object = lk_message_parse (copy, len, &type, &error);
      if (object != NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (type);
          g_assert_true (g_utf8_validate (type, -1, NULL));
        }
      else
        {
          g_assert_error (error, LK_ERROR, LK_ERROR_INVALID_JSON);
          g_assert_null (type);
        }
    }
}

static void
test_parse_too_deep (void)
{
  g_autoptr(GString) text = g_string_new ("{\"type\": \"status\", \"x\": ");
  g_autoptr(GError) error = NULL;
  const char *type = NULL;
  JsonObject *object;

  /* 100 KiB of "[" once overflowed a listener thread's stack inside json-glib */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (text, '[');
  object = lk_message_parse (text->str, text->len, &type, &error);
  g_assert_null (object);
  g_assert_error (error, LK_ERROR, LK_ERROR_INVALID_JSON);
}

static void
test_to_string (void)
{
  g_autoptr(JsonNode) node = json_from_string ("{ \"a\" : [1, 2],\n \"b\": \"张\" }", NULL);
  g_autofree char *text = lk_json_to_string (node);

  g_assert_cmpstr (text, ==, "{\"a\":[1,2],\"b\":\"张\"}");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/protocol/fail-reasons", test_fail_reasons);
  g_test_add_func ("/common/protocol/build", test_build);
  g_test_add_func ("/common/protocol/parse", test_parse);
  g_test_add_func ("/common/protocol/parse-errors", test_parse_errors);
  g_test_add_func ("/common/protocol/mutated", test_mutated_messages);
  g_test_add_func ("/common/protocol/too-deep", test_parse_too_deep);
  g_test_add_func ("/common/protocol/to-string", test_to_string);

  return g_test_run ();
}
