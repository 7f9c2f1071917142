/* lk-test-server.h: run lingka-server in-process for tests, and talk to it
 *
 * Used by the server, realtime, kiosk and admin tests: a server on 127.0.0.1, port 0, a
 * temporary data dir, --sandbox; a school, an operator and a teacher already made; JSON
 * requests over a real SoupSession; and a wait-with-deadline helper (never sleep).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "lk-server.h"

G_BEGIN_DECLS

#define LK_TEST_PROVINCE "浙江省"
#define LK_TEST_SCHOOL "杭州市文三小学"
#define LK_TEST_PASSWORD "correct-horse-9"

typedef struct
{
  LkServer    *server;
  LkConfig    *config;
  char        *data_dir;
  char        *base_url;
  SoupSession *session;
  gint64       school_id;       /* LK_TEST_PROVINCE / LK_TEST_SCHOOL */
  char        *operator_token;  /* user "operator" */
  char        *teacher_token;   /* user "teacher", of school_id */
} LkTestServer;

/* Starts a server (2 listener threads unless @threads > 0). @configure, if not NULL, may
 * change the config before the server is made. */
LkTestServer *lk_test_server_new          (guint          threads,
                                           void         (*configure) (LkConfig *config));
/* Stops the server and removes its data dir. */
void          lk_test_server_free         (LkTestServer  *ts);
/* Starts a second server on the same data dir (a restart), replacing ts->server. */
void          lk_test_server_restart      (LkTestServer  *ts);

gint64        lk_test_server_add_school   (LkTestServer  *ts,
                                           const char    *province,
                                           const char    *school);
void          lk_test_server_add_teacher  (LkTestServer  *ts,
                                           const char    *username,
                                           gint64         school_id);
/* Logs in (asserting success) and returns the token. */
char         *lk_test_server_login        (LkTestServer  *ts,
                                           const char    *username,
                                           const char    *password);
/* Registers a kiosk and returns its secret. */
char         *lk_test_server_register_kiosk (LkTestServer *ts,
                                             const char   *sn,
                                             gint64        school_id);

/* A request; returns the HTTP status. @reply (if not NULL) gets the parsed JSON body, or NULL
 * if the body is empty or not JSON. @token is sent as Bearer when not NULL. */
guint         lk_test_request             (LkTestServer  *ts,
                                           const char    *method,
                                           const char    *path,
                                           const char    *token,
                                           const char    *content_type,
                                           const void    *body,
                                           gsize          body_len,
                                           JsonNode     **reply);
/* The same with a JSON text body (NULL: no body). */
guint         lk_test_json                (LkTestServer  *ts,
                                           const char    *method,
                                           const char    *path,
                                           const char    *token,
                                           const char    *json,
                                           JsonNode     **reply);
/* A request with extra headers (NULL-terminated name, value pairs), the raw body back. */
guint         lk_test_request_full        (LkTestServer  *ts,
                                           const char    *method,
                                           const char    *path,
                                           const void    *body,
                                           gsize          body_len,
                                           GBytes       **reply_body,
                                           SoupMessageHeaders **reply_headers,
                                           ...) G_GNUC_NULL_TERMINATED;

/* Asserts that @reply is the one error shape with this code (and field, if not NULL). */
void          lk_test_assert_error        (JsonNode      *reply,
                                           const char    *code,
                                           const char    *field);

/* Imports rows (each an array of 6 strings: province, school, class, name, student_no,
 * card_no or NULL) as @token, asserting success. Returns the batch id. */
gint64        lk_test_server_import       (LkTestServer  *ts,
                                           const char    *token,
                                           const char    *(*rows)[6],
                                           guint          n_rows);

/* Applies for a student (asserting 201); returns the application id, its token in @app_token. */
char         *lk_test_server_apply        (LkTestServer  *ts,
                                           const char    *province,
                                           const char    *school,
                                           const char    *klass,
                                           const char    *name,
                                           const char    *student_no,
                                           char         **app_token);
/* Pays an application through the sandbox and returns its claim code (asserting claimable). */
char         *lk_test_server_pay          (LkTestServer  *ts,
                                           const char    *application_id,
                                           const char    *app_token);

/* The id of the one student with @student_no, found through the search as @token (asserting
 * there is exactly one). */
gint64        lk_test_server_student_id   (LkTestServer  *ts,
                                           const char    *token,
                                           const char    *student_no);

/* Iterates @context (NULL: the thread default) until @condition returns TRUE or @timeout_ms
 * passes; returns the last value of @condition. */
gboolean      lk_test_wait_until          (GMainContext  *context,
                                           guint          timeout_ms,
                                           gboolean     (*condition) (gpointer user_data),
                                           gpointer       user_data);

G_END_DECLS
