/* test-events.c: the staff and application event sockets
 *
 * Who may connect (header or query token, expired and wrong tokens refused before any
 * upgrade), and who hears what: a teacher their own school, an operator every school, a
 * parent their own application.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "test-kiosk-client.h"

#define WAIT_MS 10000

static LkTestWs *
staff_socket (LkTestServer *ts,
              const char   *token)
{
  g_autofree char *header = g_strdup_printf ("Bearer %s", token);

  return lk_test_ws_connect (ts, LK_ADMIN_EVENTS_PATH, header);
}

typedef struct
{
  LkTestServer *ts;
  LkHubChannel  channel;
  guint         count;
} HubCount;

static gboolean
hub_has (gpointer user_data)
{
  HubCount *c = user_data;

  return lk_hub_count (lk_server_get_hub (c->ts->server), c->channel) == c->count;
}

/* The client sees the 101 before the server's thread has subscribed the connection. */
static void
wait_hub_count (LkTestServer *ts,
                LkHubChannel  channel,
                guint         count)
{
  HubCount c = { ts, channel, count };

  g_assert_true (lk_test_wait_until (NULL, WAIT_MS, hub_has, &c));
}

static void
assert_http_error (LkTestServer *ts,
                   const char   *path,
                   const char   *authorization,
                   guint         expected_status,
                   const char   *code)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  guint status;

  status = lk_test_request_full (ts, "GET", path, NULL, 0, &body, NULL,
                                 "Authorization", authorization != NULL ? authorization : "",
                                 "Connection", "Upgrade",
                                 "Upgrade", "websocket",
                                 "Sec-WebSocket-Version", "13",
                                 "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==",
                                 NULL);
  g_assert_cmpuint (status, ==, expected_status);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                             g_bytes_get_size (body), NULL));
  lk_test_assert_error (json_parser_get_root (parser), code, NULL);
}

static void
test_staff_access (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *path = g_strdup_printf ("%s?token=%s", LK_ADMIN_EVENTS_PATH, ts->teacher_token);
  g_autofree char *expired_token = NULL;
  g_autofree char *expired_hash = NULL;
  g_autofree char *expired_header = NULL;
  g_autoptr(LkTestWs) by_header = NULL;
  g_autoptr(LkTestWs) by_query = NULL;
  g_autoptr(LkTestWs) none = NULL;
  g_autoptr(LkTestWs) wrong = NULL;
  g_autoptr(LkTestWs) expired = NULL;
  g_autoptr(LkTestWsMessage) pong = NULL;

  by_header = staff_socket (ts, ts->teacher_token);
  g_assert_nonnull (by_header->connection);
  by_query = lk_test_ws_connect (ts, path, NULL);
  g_assert_nonnull (by_query->connection);
  wait_hub_count (ts, LK_HUB_STAFF, 2);

  pong = lk_test_ws_request (by_query, "{\"type\": \"ping\", \"id\": \"p1\"}", "p1", WAIT_MS);
  g_assert_nonnull (pong);
  g_assert_cmpstr (json_object_get_string_member (pong->object, "type"), ==, LK_MSG_PONG);

  none = lk_test_ws_connect (ts, LK_ADMIN_EVENTS_PATH, NULL);
  g_assert_null (none->connection);
  g_assert_cmpuint (none->status, ==, 401);
  wrong = staff_socket (ts, "0000000000000000000000000000000000000000000000000000000000000000");
  g_assert_null (wrong->connection);
  g_assert_cmpuint (wrong->status, ==, 401);
  assert_http_error (ts, LK_ADMIN_EVENTS_PATH, "Bearer nope", 401, "unauthorized");

  /* An expired session: 401 token_expired, and no upgrade. */
  expired_token = lk_test_server_login (ts, "teacher", LK_TEST_PASSWORD);
  expired_hash = lk_sha256_hex (expired_token, strlen (expired_token));
  g_assert_true (lk_store_session_set_expiry (lk_server_get_store (ts->server), expired_hash,
                                              g_get_real_time () / G_USEC_PER_SEC - 10, NULL));
  expired = staff_socket (ts, expired_token);
  g_assert_null (expired->connection);
  g_assert_cmpuint (expired->status, ==, 401);
  expired_header = g_strdup_printf ("Bearer %s", expired_token);
  assert_http_error (ts, LK_ADMIN_EVENTS_PATH, expired_header, 401, "token_expired");

  /* A plain GET with a good token is not an event socket. */
  {
    g_autoptr(JsonNode) reply = NULL;

    g_assert_cmpuint (lk_test_json (ts, "GET", LK_ADMIN_EVENTS_PATH, ts->teacher_token, NULL, &reply), ==, 400);
    lk_test_assert_error (reply, "websocket_required", NULL);
  }
  g_assert_cmpuint (lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_STAFF), ==, 2);

  g_clear_pointer (&by_header, lk_test_ws_free);
  g_clear_pointer (&by_query, lk_test_ws_free);
  lk_test_server_free (ts);
}

static void
test_staff_routing (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  gint64 school_b = lk_test_server_add_school (ts, LK_TEST_PROVINCE, "杭州市学军小学");
  g_autofree char *teacher_b_token = NULL;
  g_autofree char *secret_a = lk_test_server_register_kiosk (ts, "K-A", ts->school_id);
  g_autofree char *secret_b = lk_test_server_register_kiosk (ts, "K-B", school_b);
  g_autoptr(LkTestWs) teacher_a = NULL;
  g_autoptr(LkTestWs) teacher_b = NULL;
  g_autoptr(LkTestWs) operator = NULL;
  g_autoptr(LkTestWs) kiosk_a = NULL;
  g_autoptr(LkTestWs) kiosk_b = NULL;
  g_autoptr(LkTestWsMessage) m = NULL;

  lk_test_server_add_teacher (ts, "teacher-b", school_b);
  teacher_b_token = lk_test_server_login (ts, "teacher-b", LK_TEST_PASSWORD);
  teacher_a = staff_socket (ts, ts->teacher_token);
  teacher_b = staff_socket (ts, teacher_b_token);
  operator = staff_socket (ts, ts->operator_token);
  g_assert_nonnull (teacher_a->connection);
  g_assert_nonnull (teacher_b->connection);
  g_assert_nonnull (operator->connection);
  wait_hub_count (ts, LK_HUB_STAFF, 3);

  /* School A's kiosk comes online: its teacher and the operator hear it. */
  kiosk_a = lk_test_kiosk_connect (ts, "K-A", secret_a);
  m = lk_test_ws_wait (teacher_a, LK_EVENT_KIOSK_ONLINE, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "sn"), ==, "K-A");
  g_assert_cmpint (json_object_get_int_member (m->object, "at"), >, 0);
  g_clear_pointer (&m, lk_test_ws_message_free);
  m = lk_test_ws_wait (operator, LK_EVENT_KIOSK_ONLINE, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "sn"), ==, "K-A");
  g_clear_pointer (&m, lk_test_ws_message_free);

  /* School B's: its teacher hears it, and by then has heard nothing of school A. */
  kiosk_b = lk_test_kiosk_connect (ts, "K-B", secret_b);
  m = lk_test_ws_wait (teacher_b, LK_EVENT_KIOSK_ONLINE, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "sn"), ==, "K-B");
  g_clear_pointer (&m, lk_test_ws_message_free);
  g_assert_cmpuint (lk_test_ws_count (teacher_b, NULL), ==, 0);
  m = lk_test_ws_wait (operator, LK_EVENT_KIOSK_ONLINE, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "sn"), ==, "K-B");
  g_clear_pointer (&m, lk_test_ws_message_free);

  /* A status change is an event; the same status again is not. */
  lk_test_ws_expect (lk_test_ws_request (kiosk_a, "{\"type\": \"status\", \"id\": \"s1\", \"stock\": \"low\", "
                                        "\"faults\": [\"jam\"]}", "s1", WAIT_MS));
  m = lk_test_ws_wait (teacher_a, LK_EVENT_KIOSK_STATUS, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "stock"), ==, "low");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (m->object, "faults"), 0), ==, "jam");
  g_clear_pointer (&m, lk_test_ws_message_free);
  lk_test_ws_expect (lk_test_ws_request (kiosk_a, "{\"type\": \"status\", \"id\": \"s2\", \"stock\": \"low\", "
                                        "\"faults\": [\"jam\"]}", "s2", WAIT_MS));
  lk_test_ws_expect (lk_test_ws_request (kiosk_a, "{\"type\": \"status\", \"id\": \"s3\", \"stock\": \"ok\", "
                                        "\"faults\": []}", "s3", WAIT_MS));
  m = lk_test_ws_wait (teacher_a, LK_EVENT_KIOSK_STATUS, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "stock"), ==, "ok");
  g_clear_pointer (&m, lk_test_ws_message_free);
  g_assert_cmpuint (lk_test_ws_count (teacher_a, LK_EVENT_KIOSK_STATUS), ==, 0);

  /* Offline when it goes. */
  g_clear_pointer (&kiosk_a, lk_test_ws_free);
  m = lk_test_ws_wait (teacher_a, LK_EVENT_KIOSK_OFFLINE, NULL, WAIT_MS);
  g_assert_nonnull (m);
  g_assert_cmpstr (json_object_get_string_member (m->object, "sn"), ==, "K-A");
  g_clear_pointer (&m, lk_test_ws_message_free);
  g_assert_cmpuint (lk_test_ws_count (teacher_b, NULL), ==, 0);

  g_clear_pointer (&kiosk_b, lk_test_ws_free);
  g_clear_pointer (&teacher_a, lk_test_ws_free);
  g_clear_pointer (&teacher_b, lk_test_ws_free);
  g_clear_pointer (&operator, lk_test_ws_free);
  lk_test_server_free (ts);
}

static void
test_application_events (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autofree char *app_id = NULL;
  g_autofree char *app_token = NULL;
  g_autofree char *code = lk_test_claimable (ts, "三年级(2)班", "张小明", "2023001", &app_id, &app_token);
  g_autofree char *path = g_strdup_printf ("/api/v1/applications/%s/events", app_id);
  g_autofree char *query_path = g_strdup_printf ("%s?token=%s", path, app_token);
  g_autofree char *header = g_strdup_printf ("Bearer %s", app_token);
  g_autoptr(LkTestWs) parent = NULL;
  g_autoptr(LkTestWs) by_query = NULL;
  g_autoptr(LkTestWs) wrong = NULL;
  g_autoptr(LkTestWs) unknown = NULL;
  g_autoptr(LkTestWsMessage) status = NULL;

  parent = lk_test_ws_connect (ts, path, header);
  g_assert_nonnull (parent->connection);
  status = lk_test_ws_wait (parent, LK_EVENT_STATUS_CHANGED, NULL, WAIT_MS);
  g_assert_nonnull (status);
  g_assert_cmpstr (json_object_get_string_member (status->object, "id"), ==, app_id);
  g_assert_cmpstr (json_object_get_string_member (status->object, "status"), ==, LK_APP_CLAIMABLE);
  g_clear_pointer (&status, lk_test_ws_message_free);

  by_query = lk_test_ws_connect (ts, query_path, NULL);
  g_assert_nonnull (by_query->connection);
  status = lk_test_ws_wait (by_query, LK_EVENT_STATUS_CHANGED, NULL, WAIT_MS);
  g_assert_nonnull (status);
  g_clear_pointer (&status, lk_test_ws_message_free);
  g_assert_cmpuint (lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_APPLICATION), ==, 2);

  /* The token of another application, or none: 401 before any upgrade. */
  wrong = lk_test_ws_connect (ts, path, "Bearer 00000000000000000000000000000000");
  g_assert_null (wrong->connection);
  g_assert_cmpuint (wrong->status, ==, 401);
  unknown = lk_test_ws_connect (ts, "/api/v1/applications/ffffffffffffffff/events", header);
  g_assert_null (unknown->connection);
  g_assert_cmpuint (unknown->status, ==, 401);
  assert_http_error (ts, path, NULL, 401, "unauthorized");
  g_assert_cmpuint (lk_hub_count (lk_server_get_hub (ts->server), LK_HUB_APPLICATION), ==, 2);

  /* The rest of the API under /api/v1/applications is untouched by the events route. */
  {
    g_autofree char *app_path = g_strdup_printf ("/api/v1/applications/%s", app_id);
    g_autoptr(JsonNode) reply = NULL;

    g_assert_cmpuint (lk_test_json (ts, "GET", app_path, app_token, NULL, &reply), ==, 200);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "claim_code"), ==, code);
  }

  g_clear_pointer (&parent, lk_test_ws_free);
  g_clear_pointer (&by_query, lk_test_ws_free);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/events/staff-access", test_staff_access);
  g_test_add_func ("/server/events/staff-routing", test_staff_routing);
  g_test_add_func ("/server/events/application", test_application_events);

  return g_test_run ();
}
