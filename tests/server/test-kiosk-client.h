/* test-kiosk-client.h: WebSocket clients for the realtime tests (kiosks and event sockets)
 *
 * Every received message is kept, in order, with its exact text, until a test takes it with
 * lk_test_ws_wait(), which waits with a deadline (never a sleep).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lk-test-server.h"

G_BEGIN_DECLS

typedef struct
{
  SoupWebsocketConnection *connection;   /* NULL if the handshake was refused */
  guint                    status;       /* the HTTP status of a refused handshake */
  GBytes                  *refusal;      /* its body */
  GPtrArray               *inbox;        /* LkTestWsMessage */
  gboolean                 connecting;
  gboolean                 closed;
} LkTestWs;

typedef struct
{
  char       *text;
  JsonObject *object;
} LkTestWsMessage;

void        lk_test_ws_message_free  (LkTestWsMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTestWsMessage, lk_test_ws_message_free)

/* Connects to @path (with its query) with the Authorization header @authorization (or none).
 * Always returns a client; ->connection is NULL if the server refused. */
LkTestWs   *lk_test_ws_connect       (LkTestServer *ts,
                                      const char   *path,
                                      const char   *authorization);
/* The kiosk WebSocket with HTTP Basic SN:secret. */
LkTestWs   *lk_test_kiosk_connect    (LkTestServer *ts,
                                      const char   *sn,
                                      const char   *secret);
void        lk_test_ws_send          (LkTestWs     *ws,
                                      const char   *json);
/* Takes the first message of @type (any if NULL) and, if @re is not NULL, answering @re;
 * waits up to @timeout_ms. NULL on timeout. */
LkTestWsMessage *lk_test_ws_wait     (LkTestWs     *ws,
                                      const char   *type,
                                      const char   *re,
                                      guint         timeout_ms);
/* Sends and waits for the answer to @id. */
LkTestWsMessage *lk_test_ws_request  (LkTestWs     *ws,
                                      const char   *json,
                                      const char   *id,
                                      guint         timeout_ms);
/* Asserts that @message arrived (is not NULL) and frees it. */
void        lk_test_ws_expect        (LkTestWsMessage *message);
/* Messages of @type received and not yet taken. */
guint       lk_test_ws_count         (LkTestWs     *ws,
                                      const char   *type);
/* Waits until the server has closed the connection. */
gboolean    lk_test_ws_wait_closed   (LkTestWs     *ws,
                                      guint         timeout_ms);
/* Closes (if open), waits for the close and frees. */
void        lk_test_ws_free          (LkTestWs     *ws);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTestWs, lk_test_ws_free)

/* Imports one student of LK_TEST_SCHOOL (as the teacher), applies and pays: returns the claim
 * code; the application's id and token in @app_id and @app_token (either may be NULL). */
char       *lk_test_claimable        (LkTestServer *ts,
                                      const char   *klass,
                                      const char   *name,
                                      const char   *student_no,
                                      char        **app_id,
                                      char        **app_token);

/* "{\"type\": \"claim.request\", \"id\": ID, \"code\": CODE}" */
char       *lk_test_claim_request    (const char   *id,
                                      const char   *code);

G_END_DECLS
