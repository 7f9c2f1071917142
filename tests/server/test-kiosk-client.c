/* test-kiosk-client.c: WebSocket clients for the realtime tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "test-kiosk-client.h"

void
lk_test_ws_message_free (LkTestWsMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->text);
  g_clear_pointer (&message->object, json_object_unref);
  g_free (message);
}

static void
on_message_cb (SoupWebsocketConnection *connection,
               SoupWebsocketDataType    type,
               GBytes                  *bytes,
               gpointer                 user_data)
{
  LkTestWs *ws = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  LkTestWsMessage *message;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_true (json_parser_load_from_data (parser, data, len, NULL));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  message = g_new0 (LkTestWsMessage, 1);
  message->text = g_strndup (data, len);
  message->object = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  g_ptr_array_add (ws->inbox, message);
}

static void
on_closed_cb (SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  LkTestWs *ws = user_data;

  ws->closed = TRUE;
}

typedef struct
{
  LkTestWs    *ws;
  SoupMessage *msg;
} Connecting;

static void
on_connected_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Connecting *c = user_data;
  g_autoptr(GError) error = NULL;

  c->ws->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (c->ws->connection != NULL)
    {
      g_signal_connect (c->ws->connection, "message", G_CALLBACK (on_message_cb), c->ws);
      g_signal_connect (c->ws->connection, "closed", G_CALLBACK (on_closed_cb), c->ws);
    }
  else
    c->ws->status = soup_message_get_status (c->msg);
  c->ws->connecting = FALSE;
  g_object_unref (c->msg);
  g_free (c);
}

static gboolean
not_connecting (gpointer user_data)
{
  return !((LkTestWs *) user_data)->connecting;
}

LkTestWs *
lk_test_ws_connect (LkTestServer *ts,
                    const char   *path,
                    const char   *authorization)
{
  LkTestWs *ws = g_new0 (LkTestWs, 1);
  g_autofree char *url = g_strconcat (ts->base_url, path, NULL);
  Connecting *c = g_new0 (Connecting, 1);

  ws->inbox = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_test_ws_message_free);
  ws->connecting = TRUE;
  c->ws = ws;
  c->msg = soup_message_new ("GET", url);
  if (authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (c->msg), "Authorization",
                                  authorization);
  soup_session_websocket_connect_async (ts->session, c->msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, on_connected_cb, c);
  g_assert_true (lk_test_wait_until (NULL, 20000, not_connecting, ws));
  return ws;
}

LkTestWs *
lk_test_kiosk_connect (LkTestServer *ts,
                       const char   *sn,
                       const char   *secret)
{
  g_autofree char *pair = g_strdup_printf ("%s:%s", sn, secret);
  g_autofree char *b64 = g_base64_encode ((const guchar *) pair, strlen (pair));
  g_autofree char *header = g_strdup_printf ("Basic %s", b64);

  return lk_test_ws_connect (ts, LK_KIOSK_WS_PATH, header);
}

void
lk_test_ws_send (LkTestWs   *ws,
                 const char *json)
{
  g_assert_nonnull (ws->connection);
  soup_websocket_connection_send_text (ws->connection, json);
}

static gint
find_message (LkTestWs   *ws,
              const char *type,
              const char *re)
{
  for (guint i = 0; i < ws->inbox->len; i++)
    {
      LkTestWsMessage *m = g_ptr_array_index (ws->inbox, i);

      if (type != NULL && g_strcmp0 (json_object_get_string_member_with_default (m->object, "type", ""), type) != 0)
        continue;
      if (re != NULL && g_strcmp0 (json_object_get_string_member_with_default (m->object, "re", ""), re) != 0)
        continue;
      return (gint) i;
    }
  return -1;
}

typedef struct
{
  LkTestWs   *ws;
  const char *type;
  const char *re;
} Waiting;

static gboolean
message_arrived (gpointer user_data)
{
  Waiting *w = user_data;

  return find_message (w->ws, w->type, w->re) >= 0 || w->ws->closed;
}

LkTestWsMessage *
lk_test_ws_wait (LkTestWs   *ws,
                 const char *type,
                 const char *re,
                 guint       timeout_ms)
{
  Waiting w = { ws, type, re };
  gint i;

  lk_test_wait_until (NULL, timeout_ms, message_arrived, &w);
  i = find_message (ws, type, re);
  if (i < 0)
    return NULL;
  return g_ptr_array_steal_index (ws->inbox, i);
}

LkTestWsMessage *
lk_test_ws_request (LkTestWs   *ws,
                    const char *json,
                    const char *id,
                    guint       timeout_ms)
{
  lk_test_ws_send (ws, json);
  return lk_test_ws_wait (ws, NULL, id, timeout_ms);
}

void
lk_test_ws_expect (LkTestWsMessage *message)
{
  g_assert_nonnull (message);
  lk_test_ws_message_free (message);
}

guint
lk_test_ws_count (LkTestWs   *ws,
                  const char *type)
{
  guint n = 0;

  for (guint i = 0; i < ws->inbox->len; i++)
    {
      LkTestWsMessage *m = g_ptr_array_index (ws->inbox, i);

      if (type == NULL || g_strcmp0 (json_object_get_string_member_with_default (m->object, "type", ""), type) == 0)
        n++;
    }
  return n;
}

static gboolean
is_closed (gpointer user_data)
{
  return ((LkTestWs *) user_data)->closed;
}

gboolean
lk_test_ws_wait_closed (LkTestWs *ws,
                        guint     timeout_ms)
{
  if (ws->connection == NULL)
    return TRUE;
  return lk_test_wait_until (NULL, timeout_ms, is_closed, ws);
}

void
lk_test_ws_free (LkTestWs *ws)
{
  if (ws == NULL)
    return;
  if (ws->connection != NULL)
    {
      if (soup_websocket_connection_get_state (ws->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      lk_test_ws_wait_closed (ws, 10000);
      g_signal_handlers_disconnect_by_data (ws->connection, ws);
      g_clear_object (&ws->connection);
    }
  g_clear_pointer (&ws->refusal, g_bytes_unref);
  g_ptr_array_unref (ws->inbox);
  g_free (ws);
}

char *
lk_test_claimable (LkTestServer *ts,
                   const char   *klass,
                   const char   *name,
                   const char   *student_no,
                   char        **app_id,
                   char        **app_token)
{
  const char *rows[1][6] = { { LK_TEST_PROVINCE, LK_TEST_SCHOOL, klass, name, student_no, NULL } };
  g_autofree char *id = NULL;
  g_autofree char *token = NULL;
  char *code;

  lk_test_server_import (ts, ts->teacher_token, rows, 1);
  id = lk_test_server_apply (ts, LK_TEST_PROVINCE, LK_TEST_SCHOOL, klass, name, student_no, &token);
  code = lk_test_server_pay (ts, id, token);
  g_assert_true (lk_claim_code_is_valid (code));
  if (app_id != NULL)
    *app_id = g_steal_pointer (&id);
  if (app_token != NULL)
    *app_token = g_steal_pointer (&token);
  return code;
}

char *
lk_test_claim_request (const char *id,
                       const char *code)
{
  return g_strdup_printf ("{\"type\": \"claim.request\", \"id\": \"%s\", \"code\": \"%s\"}", id, code);
}
