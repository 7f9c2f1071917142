/* test-kiosk-auth.c: the kiosk WebSocket's door and housekeeping
 *
 * Wrong credentials get 401 and no upgrade; the right ones get the snapshot. Kiosk
 * registration and listing, malformed messages answered without dropping the connection,
 * status, the heartbeat deadline, and the operator's release (a teacher cannot release).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "lk-claims.h"
#include "lk-kiosk-ws.h"
#include "lk-store-claims.h"
#include "test-kiosk-client.h"

#define WAIT_MS 10000

static char *
basic (const char *user_pass)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) user_pass, strlen (user_pass));

  return g_strdup_printf ("Basic %s", b64);
}

static void
assert_refused (LkTestServer *ts,
                const char   *authorization)
{
  g_autoptr(LkTestWs) ws = lk_test_ws_connect (ts, LK_KIOSK_WS_PATH, authorization);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  guint status;

  g_assert_null (ws->connection);
  g_assert_cmpuint (ws->status, ==, 401);

  /* The same over plain HTTP, to see the body: the error shape, and no upgrade. */
  status = lk_test_request_full (ts, "GET", LK_KIOSK_WS_PATH, NULL, 0, &body, NULL,
                                 "Authorization", authorization != NULL ? authorization : "",
                                 "Connection", "Upgrade",
                                 "Upgrade", "websocket",
                                 "Sec-WebSocket-Version", "13",
                                 "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==",
                                 NULL);
  g_assert_cmpuint (status, ==, 401);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                             g_bytes_get_size (body), NULL));
  lk_test_assert_error (json_parser_get_root (parser), "unauthorized", NULL);
}

static void
test_refused (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *wrong = g_strdup_printf ("K-01:%sx", secret);
  g_autofree char *unknown = g_strdup_printf ("K-99:%s", secret);
  g_autofree char *auth_wrong = basic (wrong);
  g_autofree char *auth_unknown = basic (unknown);
  g_autofree char *auth_empty = basic ("K-01:");
  g_autofree char *checksum = NULL;
  g_autofree char *after = NULL;

  checksum = lk_store_debug_checksum (lk_server_get_store (ts->server), NULL);

  assert_refused (ts, NULL);
  assert_refused (ts, auth_wrong);
  assert_refused (ts, auth_unknown);
  assert_refused (ts, auth_empty);
  assert_refused (ts, "Basic !!!not-base64!!!");
  assert_refused (ts, "Bearer K-01");

  /* Nothing was recorded for a refused kiosk (not even last_seen). */
  after = lk_store_debug_checksum (lk_server_get_store (ts->server), NULL);
  g_assert_cmpstr (checksum, ==, after);
  g_assert_cmpuint (lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_KIOSK), ==, 0);

  lk_test_server_free (ts);
}

static void
test_snapshot_and_messages (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autoptr(LkTestWs) ws = lk_test_kiosk_connect (ts, "K-01", secret);
  g_autoptr(LkTestWsMessage) snapshot = NULL;
  g_autoptr(LkTestWsMessage) m = NULL;
  LkDigestParams params;
  g_autofree char *salt = NULL;
  JsonObject *digest;

  g_assert_nonnull (ws->connection);
  snapshot = lk_test_ws_wait (ws, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS);
  g_assert_nonnull (snapshot);
  g_assert_cmpint (json_object_get_int_member (snapshot->object, "school_id"), ==, ts->school_id);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (snapshot->object, "codes")), ==, 0);
  digest = json_object_get_object_member (snapshot->object, "digest");
  g_assert_true (lk_store_school_digest (lk_server_get_store (ts->server), ts->school_id, &params, NULL));
  salt = lk_digest_params_salt_hex (&params);
  g_assert_cmpstr (json_object_get_string_member (digest, "alg"), ==, lk_digest_alg_to_string (params.alg));
  g_assert_cmpstr (json_object_get_string_member (digest, "salt"), ==, salt);
  g_assert_cmpint (json_object_get_int_member (digest, "iterations"), ==, params.iterations);
  g_assert_cmpuint (lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_KIOSK), ==, 1);

  /* Malformed messages are answered with an error; the connection stays. */
  lk_test_ws_send (ws, "{not json");
  m = lk_test_ws_wait (ws, LK_MSG_ERROR, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "code"), ==, "invalid_json");
  g_clear_pointer (&m, lk_test_ws_message_free);

  lk_test_ws_send (ws, "[1, 2]");
  m = lk_test_ws_wait (ws, LK_MSG_ERROR, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_clear_pointer (&m, lk_test_ws_message_free);

  m = lk_test_ws_request (ws, "{\"type\": \"claim.request\", \"id\": \"m1\", \"code\": 12345678}", "m1", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "type"), ==, LK_MSG_ERROR);
  g_assert_cmpstr (json_object_get_string_member (m->object, "field"), ==, "code");
  g_clear_pointer (&m, lk_test_ws_message_free);

  lk_test_ws_send (ws, "{\"type\": \"claim.request\", \"id\": 7, \"code\": \"12345678\"}");
  m = lk_test_ws_wait (ws, LK_MSG_ERROR, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "field"), ==, "id");
  g_clear_pointer (&m, lk_test_ws_message_free);

  m = lk_test_ws_request (ws, "{\"type\": \"claim.teleport\", \"id\": \"m2\"}", "m2", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "code"), ==, "unknown_type");
  g_clear_pointer (&m, lk_test_ws_message_free);

  m = lk_test_ws_request (ws, "{\"type\": \"claim.completed\", \"id\": \"m3\", \"claim_id\": 1, "
                              "\"card_no\": \"zz\", \"card_data\": {}}", "m3", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "field"), ==, "card_no");
  g_clear_pointer (&m, lk_test_ws_message_free);

  m = lk_test_ws_request (ws, "{\"type\": \"claim.failed\", \"id\": \"m4\", \"claim_id\": 1, "
                              "\"reason\": \"bored\", \"card_no\": null}", "m4", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "field"), ==, "reason");
  g_clear_pointer (&m, lk_test_ws_message_free);

  /* A claim that is not this kiosk's. */
  m = lk_test_ws_request (ws, "{\"type\": \"claim.failed\", \"id\": \"m5\", \"claim_id\": 424242, "
                              "\"reason\": \"jam\", \"card_no\": null}", "m5", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "code"), ==, "unknown_claim");
  g_clear_pointer (&m, lk_test_ws_message_free);

  /* A typo in the check digit is a wrong try, answered "invalid". */
  m = lk_test_ws_request (ws, "{\"type\": \"claim.request\", \"id\": \"m6\", \"code\": \"12345678\"}", "m6", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "type"), ==, LK_MSG_CLAIM_REJECTED);
  g_assert_cmpstr (json_object_get_string_member (m->object, "reason"), ==, LK_REJECT_INVALID);
  g_clear_pointer (&m, lk_test_ws_message_free);

  /* Status is stored and acknowledged. */
  m = lk_test_ws_request (ws, "{\"type\": \"status\", \"id\": \"m7\", \"stock\": \"low\", "
                              "\"faults\": [\"reject_full\"]}", "m7", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "type"), ==, LK_MSG_ACK);
  g_clear_pointer (&m, lk_test_ws_message_free);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "kiosks",
                                         "sn = 'K-01' AND stock = 'low' AND faults = '[\"reject_full\"]'"), ==, 1);
  m = lk_test_ws_request (ws, "{\"type\": \"status\", \"id\": \"m8\", \"stock\": \"full\", \"faults\": []}",
                          "m8", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "field"), ==, "stock");
  g_clear_pointer (&m, lk_test_ws_message_free);

  /* And the connection is still up: ping, pong. */
  m = lk_test_ws_request (ws, "{\"type\": \"ping\", \"id\": \"p1\"}", "p1", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "type"), ==, LK_MSG_PONG);
  g_assert_false (ws->closed);

  g_clear_pointer (&ws, lk_test_ws_free);
  lk_test_server_free (ts);
}

static gboolean
staff_subscribed (gpointer user_data)
{
  LkTestServer *ts = user_data;

  return lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_STAFF) == 1;
}

static gboolean
hub_empty (gpointer user_data)
{
  LkTestServer *ts = user_data;

  return lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_KIOSK) == 0;
}

static void
test_registration_and_list (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  gint64 other_school = lk_test_server_add_school (ts, LK_TEST_PROVINCE, "杭州市学军小学");
  g_autofree char *body = g_strdup_printf ("{\"sn\": \"K-10\", \"school_id\": %" G_GINT64_FORMAT "}",
                                           ts->school_id);
  g_autofree char *other = g_strdup_printf ("{\"sn\": \"K-20\", \"school_id\": %" G_GINT64_FORMAT "}",
                                            other_school);
  g_autoptr(JsonNode) created = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(LkTestWs) ws = NULL;
  const char *secret;
  g_autofree char *hash = NULL;
  g_autofree char *where = NULL;
  JsonArray *array;
  JsonObject *kiosk;

  /* A teacher may not register kiosks. */
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/kiosks", ts->teacher_token, body, &reply), ==, 403);
  lk_test_assert_error (reply, "forbidden", NULL);
  g_clear_pointer (&reply, json_node_unref);

  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/kiosks", ts->operator_token, body, &created), ==, 201);
  secret = json_object_get_string_member (json_node_get_object (created), "secret");
  g_assert_cmpuint (strlen (secret), >=, 32);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (created), "sn"), ==, "K-10");
  /* Only the hash is stored. */
  hash = lk_sha256_hex (secret, strlen (secret));
  where = g_strdup_printf ("sn = 'K-10' AND secret_hash = '%s'", hash);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "kiosks", where), ==, 1);

  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/kiosks", ts->operator_token, body, &reply), ==, 409);
  lk_test_assert_error (reply, "kiosk_exists", "sn");
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/kiosks", ts->operator_token,
                                  "{\"sn\": \"K 1'; DROP TABLE kiosks;--\", \"school_id\": 1}", &reply), ==, 422);
  lk_test_assert_error (reply, "invalid_field", "sn");
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/kiosks", ts->operator_token,
                                  "{\"sn\": \"K-11\", \"school_id\": 999}", &reply), ==, 422);
  lk_test_assert_error (reply, "invalid_field", "school_id");
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/kiosks", ts->operator_token, other, NULL), ==, 201);

  /* The new kiosk connects with its secret and shows online. */
  ws = lk_test_kiosk_connect (ts, "K-10", secret);
  g_assert_nonnull (ws->connection);
  lk_test_ws_expect (lk_test_ws_wait (ws, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));

  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/kiosks", ts->teacher_token, NULL, &list), ==, 200);
  array = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (array), ==, 1);     /* the teacher's school only */
  kiosk = json_array_get_object_element (array, 0);
  g_assert_cmpstr (json_object_get_string_member (kiosk, "sn"), ==, "K-10");
  g_assert_true (json_object_get_boolean_member (kiosk, "online"));
  g_assert_cmpstr (json_object_get_string_member (kiosk, "stock"), ==, "ok");
  g_assert_cmpint (json_object_get_int_member (kiosk, "last_seen"), >, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (kiosk, "reserved_claims")), ==, 0);
  g_clear_pointer (&list, json_node_unref);

  /* A teacher asking for another school is refused; an operator sees both. */
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/kiosks?school=%" G_GINT64_FORMAT, other_school);

    g_assert_cmpuint (lk_test_json (ts, "GET", path, ts->teacher_token, NULL, &reply), ==, 403);
    lk_test_assert_error (reply, "forbidden", NULL);
    g_clear_pointer (&reply, json_node_unref);
  }
  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/kiosks", ts->operator_token, NULL, &list), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 2);
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (json_node_get_array (list), 1),
                                                  "online"));
  g_clear_pointer (&list, json_node_unref);

  /* Offline again once it leaves. */
  g_clear_pointer (&ws, lk_test_ws_free);
  g_assert_true (lk_test_wait_until (NULL, WAIT_MS, hub_empty, ts));
  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/kiosks", ts->teacher_token, NULL, &list), ==, 200);
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (json_node_get_array (list), 0),
                                                  "online"));

  lk_test_server_free (ts);
}

static void
test_heartbeat_deadline (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autoptr(LkTestWs) quiet = NULL;
  g_autoptr(LkTestWsMessage) ping = NULL;
  gint64 started;

  lk_kiosk_ws_set_heartbeat (1, 2);
  quiet = lk_test_kiosk_connect (ts, "K-01", secret);
  g_assert_nonnull (quiet->connection);
  started = g_get_monotonic_time ();

  /* The server pings, this kiosk never answers, and it is dropped after the deadline. */
  ping = lk_test_ws_wait (quiet, LK_MSG_PING, NULL, WAIT_MS);
  g_assert_nonnull (ping);
  g_assert_true (lk_test_ws_wait_closed (quiet, WAIT_MS));
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 2 * G_USEC_PER_SEC - 200000);
  g_assert_true (lk_test_wait_until (NULL, WAIT_MS, hub_empty, ts));

  lk_kiosk_ws_set_heartbeat (LK_HEARTBEAT_INTERVAL_S, LK_HEARTBEAT_DEADLINE_S);
  g_clear_pointer (&quiet, lk_test_ws_free);
  lk_test_server_free (ts);
}

typedef struct
{
  LkTestWs *ws;
  guint     n;
} Pinger;

static gboolean
on_kiosk_ping_cb (gpointer user_data)
{
  Pinger *p = user_data;
  g_autofree char *json = g_strdup_printf ("{\"type\": \"ping\", \"id\": \"k%u\"}", p->n++);

  lk_test_ws_send (p->ws, json);
  return G_SOURCE_CONTINUE;
}

static gboolean
time_passed (gpointer user_data)
{
  return g_get_monotonic_time () >= *(gint64 *) user_data;
}

/* A kiosk that keeps talking stays past the deadline, and its pongs stand in for pings. */
static void
test_heartbeat_lively (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autoptr(LkTestWs) lively = NULL;
  Pinger pinger = { 0 };
  gint64 until;
  guint tick;

  lk_kiosk_ws_set_heartbeat (1, 2);
  lively = lk_test_kiosk_connect (ts, "K-01", secret);
  g_assert_nonnull (lively->connection);
  pinger.ws = lively;
  tick = g_timeout_add (300, on_kiosk_ping_cb, &pinger);

  /* What is tested is that nothing happens for longer than the deadline. */
  until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  lk_test_wait_until (NULL, 5000, time_passed, &until);
  g_source_remove (tick);

  g_assert_false (lively->closed);
  g_assert_cmpuint (lk_test_ws_count (lively, LK_MSG_PONG), >=, 5);
  g_assert_cmpuint (lk_test_ws_count (lively, LK_MSG_PING), ==, 0);

  lk_kiosk_ws_set_heartbeat (LK_HEARTBEAT_INTERVAL_S, LK_HEARTBEAT_DEADLINE_S);
  g_clear_pointer (&lively, lk_test_ws_free);
  lk_test_server_free (ts);
}

static void
test_release (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  const char *rows[][6] = {
    { LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明", "2023001", NULL },
  };
  g_autofree char *s1 = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *s2 = lk_test_server_register_kiosk (ts, "K-02", ts->school_id);
  g_autofree char *app_token = NULL;
  g_autofree char *app_id = NULL;
  g_autofree char *code = NULL;
  g_autofree char *request = NULL;
  g_autofree char *path = NULL;
  g_autoptr(LkTestWs) k1 = NULL;
  g_autoptr(LkTestWs) k2 = NULL;
  g_autoptr(LkTestWsMessage) authorized = NULL;
  g_autoptr(LkTestWsMessage) removed = NULL;
  g_autoptr(LkTestWsMessage) added = NULL;
  g_autoptr(LkTestWsMessage) again = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) list = NULL;
  gint64 claim_id;
  JsonArray *reserved;

  lk_test_server_import (ts, ts->teacher_token, rows, G_N_ELEMENTS (rows));
  app_id = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, "三年级(2)班", "张小明",
                                 "2023001", &app_token);
  code = lk_test_server_pay (ts, app_id, app_token);

  k1 = lk_test_kiosk_connect (ts, "K-01", s1);
  k2 = lk_test_kiosk_connect (ts, "K-02", s2);
  lk_test_ws_expect (lk_test_ws_wait (k1, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  lk_test_ws_expect (lk_test_ws_wait (k2, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));

  request = g_strdup_printf ("{\"type\": \"claim.request\", \"id\": \"r1\", \"code\": \"%s\"}", code);
  authorized = lk_test_ws_request (k1, request, "r1", WAIT_MS);
  g_assert_nonnull (authorized);
  g_assert_cmpstr (json_object_get_string_member (authorized->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);
  claim_id = json_object_get_int_member (authorized->object, "claim_id");
  removed = lk_test_ws_wait (k2, LK_MSG_CODE_REMOVED, NULL, WAIT_MS);
  g_assert_nonnull (removed);

  /* The operator sees it reserved on K-01. */
  g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/kiosks", ts->operator_token, NULL, &list), ==, 200);
  reserved = json_object_get_array_member (json_array_get_object_element (json_node_get_array (list), 0),
                                           "reserved_claims");
  g_assert_cmpuint (json_array_get_length (reserved), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (reserved, 0), "claim_id"), ==, claim_id);

  path = g_strdup_printf ("/api/v1/claims/%" G_GINT64_FORMAT "/release", claim_id);
  /* A teacher cannot release. */
  g_assert_cmpuint (lk_test_json (ts, "POST", path, ts->teacher_token, NULL, &reply), ==, 403);
  lk_test_assert_error (reply, "forbidden", NULL);
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "claims", "status = 'reserved'"), ==, 1);

  g_assert_cmpuint (lk_test_json (ts, "POST", path, ts->operator_token, NULL, &reply), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"), ==, "released");
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "claims", "status = 'released'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "claim_codes", "status = 'open'"), ==, 1);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "audit_log",
                                         "action = 'claims.release'"), ==, 1);

  /* The code is pushed again, and another kiosk can now take it. */
  added = lk_test_ws_wait (k2, LK_MSG_CODE_ADDED, NULL, WAIT_MS);
  g_assert_nonnull (added);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (added->object, "code"), "code_id"),
                   ==, json_object_get_int_member (removed->object, "code_id"));
  g_free (request);
  request = g_strdup_printf ("{\"type\": \"claim.request\", \"id\": \"r2\", \"code\": \"%s\"}", code);
  again = lk_test_ws_request (k2, request, "r2", WAIT_MS);
  g_assert_nonnull (again);
  g_assert_cmpstr (json_object_get_string_member (again->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);

  /* Releasing twice, or a claim that does not exist. */
  g_assert_cmpuint (lk_test_json (ts, "POST", path, ts->operator_token, NULL, &reply), ==, 409);
  lk_test_assert_error (reply, "claim_not_reserved", NULL);
  g_clear_pointer (&reply, json_node_unref);
  g_assert_cmpuint (lk_test_json (ts, "POST", "/api/v1/claims/99999/release", ts->operator_token, NULL, &reply),
                    ==, 404);
  lk_test_assert_error (reply, "not_found", NULL);
  g_clear_pointer (&reply, json_node_unref);

  g_clear_pointer (&k1, lk_test_ws_free);
  g_clear_pointer (&k2, lk_test_ws_free);
  lk_test_server_free (ts);
}

/* Stopping the server says goodbye to kiosks and event sockets, so they reconnect at once. */
static void
test_goodbye_on_stop (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *header = g_strdup_printf ("Bearer %s", ts->teacher_token);
  g_autoptr(LkTestWs) kiosk = lk_test_kiosk_connect (ts, "K-01", secret);
  g_autoptr(LkTestWs) staff = lk_test_ws_connect (ts, LK_ADMIN_EVENTS_PATH, header);

  lk_test_ws_expect (lk_test_ws_wait (kiosk, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  g_assert_nonnull (staff->connection);
  g_assert_true (lk_test_wait_until (NULL, WAIT_MS, staff_subscribed, ts));

  lk_server_stop (ts->server);
  g_assert_true (lk_test_ws_wait_closed (kiosk, WAIT_MS));
  g_assert_cmpint (soup_websocket_connection_get_close_code (kiosk->connection), ==,
                   SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_assert_true (lk_test_ws_wait_closed (staff, WAIT_MS));
  g_assert_cmpint (soup_websocket_connection_get_close_code (staff->connection), ==,
                   SOUP_WEBSOCKET_CLOSE_GOING_AWAY);

  g_clear_pointer (&kiosk, lk_test_ws_free);
  g_clear_pointer (&staff, lk_test_ws_free);
  lk_test_server_free (ts);
}

/* A well-formed code (right check digit) that was never issued. */
static char *
unknown_code (guint n)
{
  g_autofree char *body = g_strdup_printf ("%07u", 9000000 + n);

  return g_strdup_printf ("%s%u", body, lk_damm_check_digit (body, -1));
}

static void
test_wrong_codes_rate_limited (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  gint64 other_school = lk_test_server_add_school (ts, LK_TEST_PROVINCE, "杭州市学军小学");
  g_autofree char *secret = lk_test_server_register_kiosk (ts, "K-01", ts->school_id);
  g_autofree char *other_secret = lk_test_server_register_kiosk (ts, "K-OTHER", other_school);
  g_autofree char *code = lk_test_claimable (ts, "三年级(2)班", "张小明", "2023001", NULL, NULL);
  g_autoptr(LkTestWs) ws = NULL;
  g_autoptr(LkTestWs) other = NULL;
  g_autoptr(LkTestWsMessage) m = NULL;
  g_autofree char *request = NULL;

  /* A code of another school is not valid at this school's kiosk. */
  other = lk_test_kiosk_connect (ts, "K-OTHER", other_secret);
  lk_test_ws_expect (lk_test_ws_wait (other, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  request = lk_test_claim_request ("x1", code);
  m = lk_test_ws_request (other, request, "x1", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "reason"), ==, LK_REJECT_INVALID);
  g_clear_pointer (&m, lk_test_ws_message_free);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "claims", NULL), ==, 0);

  ws = lk_test_kiosk_connect (ts, "K-01", secret);
  lk_test_ws_expect (lk_test_ws_wait (ws, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
  for (guint i = 0; i < LK_CLAIMS_KIOSK_BURST; i++)
    {
      g_autofree char *wrong = unknown_code (i);
      g_autofree char *id = g_strdup_printf ("w%u", i);
      g_autofree char *json = lk_test_claim_request (id, wrong);

      m = lk_test_ws_request (ws, json, id, WAIT_MS);
      g_assert_nonnull (m);
      g_assert_cmpstr (json_object_get_string_member (m->object, "reason"), ==, LK_REJECT_INVALID);
      g_clear_pointer (&m, lk_test_ws_message_free);
    }

  /* Locked out: even the right code is refused for now, and nothing is reserved. */
  g_free (request);
  request = lk_test_claim_request ("right", code);
  m = lk_test_ws_request (ws, request, "right", WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "reason"), ==, LK_REJECT_RATE_LIMITED);
  g_clear_pointer (&m, lk_test_ws_message_free);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "claims", NULL), ==, 0);

  /* Another kiosk of the school is not locked out by this one. */
  {
    g_autofree char *s2 = lk_test_server_register_kiosk (ts, "K-02", ts->school_id);
    g_autoptr(LkTestWs) k2 = lk_test_kiosk_connect (ts, "K-02", s2);

    lk_test_ws_expect (lk_test_ws_wait (k2, LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
    g_free (request);
    request = lk_test_claim_request ("k2", code);
    m = lk_test_ws_request (k2, request, "k2", WAIT_MS);
    g_assert_nonnull (m);
    g_assert_cmpstr (json_object_get_string_member (m->object, "type"), ==, LK_MSG_CLAIM_AUTHORIZED);
    g_clear_pointer (&m, lk_test_ws_message_free);
  }

  g_clear_pointer (&ws, lk_test_ws_free);
  g_clear_pointer (&other, lk_test_ws_free);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/kiosk/refused", test_refused);
  g_test_add_func ("/server/kiosk/snapshot-and-messages", test_snapshot_and_messages);
  g_test_add_func ("/server/kiosk/registration-and-list", test_registration_and_list);
  g_test_add_func ("/server/kiosk/heartbeat-deadline", test_heartbeat_deadline);
  g_test_add_func ("/server/kiosk/heartbeat-lively", test_heartbeat_lively);
  g_test_add_func ("/server/kiosk/release", test_release);
  g_test_add_func ("/server/kiosk/wrong-codes-rate-limited", test_wrong_codes_rate_limited);
  g_test_add_func ("/server/kiosk/goodbye-on-stop", test_goodbye_on_stop);

  return g_test_run ();
}
