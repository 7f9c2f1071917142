/* test-auth.c: staff login, sessions, user creation, the error shape for 401/403/404/405,
 * and starting and stopping servers without leaking threads or descriptors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lingka-common.h"
#include "lk-password.h"
#include "lk-test-server.h"

static void
test_login (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) wrong = NULL;
  g_autoptr(JsonNode) unknown = NULL;
  JsonObject *object;
  gint64 lifetime;
  guint status;

  status = lk_test_json (ts, "POST", "/api/v1/auth/login", NULL,
                         "{\"username\": \"teacher\", \"password\": \"" LK_TEST_PASSWORD "\"}", &reply);
  g_assert_cmpuint (status, ==, 200);
  object = json_node_get_object (reply);
  g_assert_cmpuint (strlen (json_object_get_string_member (object, "token")), ==, 64);
  g_assert_cmpstr (json_object_get_string_member (object, "role"), ==, "teacher");
  g_assert_cmpint (json_object_get_int_member (object, "school_id"), ==, ts->school_id);
  lifetime = json_object_get_int_member (object, "expires_at") - g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (lifetime, >, 11 * 3600);
  g_assert_cmpint (lifetime, <=, 12 * 3600);

  /* Only the token's hash is stored. */
  {
    g_autofree char *hash = lk_sha256_hex (json_object_get_string_member (object, "token"), 64);
    g_autofree char *where = g_strdup_printf ("token_hash = '%s'", hash);
    g_autofree char *clear = g_strdup_printf ("token_hash = '%s'", json_object_get_string_member (object, "token"));

    g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "sessions", where), ==, 1);
    g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "sessions", clear), ==, 0);
  }

  status = lk_test_json (ts, "POST", "/api/v1/auth/login", NULL,
                         "{\"username\": \"teacher\", \"password\": \"wrong-password\"}", &wrong);
  g_assert_cmpuint (status, ==, 401);
  lk_test_assert_error (wrong, "invalid_credentials", NULL);
  status = lk_test_json (ts, "POST", "/api/v1/auth/login", NULL,
                         "{\"username\": \"nobody\", \"password\": \"wrong-password\"}", &unknown);
  g_assert_cmpuint (status, ==, 401);
  lk_test_assert_error (unknown, "invalid_credentials", NULL);

  lk_test_server_free (ts);
}

static void
test_login_rate_limited (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  guint limited = 0;

  for (guint i = 0; i < 15; i++)
    {
      g_autoptr(JsonNode) reply = NULL;
      guint status = lk_test_json (ts, "POST", "/api/v1/auth/login", NULL,
                                   "{\"username\": \"teacher\", \"password\": \"guess-guess\"}", &reply);

      g_assert_true (status == 401 || status == 429);
      if (status == 429)
        {
          lk_test_assert_error (reply, "rate_limited", NULL);
          limited++;
        }
    }
  g_assert_cmpuint (limited, ==, 5);
  lk_test_server_free (ts);
}

static void
test_password_hashes (void)
{
  g_autofree char *pbkdf2 = lk_password_hash ("s3cret-pass", 100000);
  g_autofree char *scrypt = lk_password_hash_scrypt ("s3cret-pass");
  g_autofree char *other = lk_password_hash ("s3cret-pass", 100000);

  g_assert_true (g_str_has_prefix (pbkdf2, "pbkdf2-sha256$100000$"));
  g_assert_true (g_str_has_prefix (scrypt, "scrypt$"));
  g_assert_cmpstr (pbkdf2, !=, other);   /* per-user salt */
  g_assert_true (lk_password_verify ("s3cret-pass", pbkdf2));
  g_assert_true (lk_password_verify ("s3cret-pass", scrypt));
  g_assert_false (lk_password_verify ("s3cret-pasS", pbkdf2));
  g_assert_false (lk_password_verify ("s3cret-pasS", scrypt));
  g_assert_false (lk_password_verify ("s3cret-pass", "pbkdf2-sha256$1$zz$zz"));
  g_assert_false (lk_password_verify ("s3cret-pass", "plain"));
}

static void
test_sessions (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) none = NULL;
  g_autoptr(JsonNode) forged = NULL;
  g_autoptr(JsonNode) expired = NULL;
  g_autoptr(JsonNode) ok = NULL;
  g_autofree char *hash = NULL;
  guint status;

  status = lk_test_json (ts, "POST", "/api/v1/users", NULL, "{}", &none);
  g_assert_cmpuint (status, ==, 401);
  lk_test_assert_error (none, "unauthorized", NULL);

  status = lk_test_json (ts, "POST", "/api/v1/users", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                         "{}", &forged);
  g_assert_cmpuint (status, ==, 401);
  lk_test_assert_error (forged, "unauthorized", NULL);

  status = lk_test_json (ts, "POST", "/api/v1/users", ts->operator_token,
                         "{\"username\": \"t2\", \"password\": \"long-enough\", \"role\": \"teacher\", \"school_id\": 1}",
                         &ok);
  g_assert_cmpuint (status, ==, 201);

  hash = lk_sha256_hex (ts->operator_token, strlen (ts->operator_token));
  lk_store_session_set_expiry (lk_server_get_store (ts->server), hash,
                               g_get_real_time () / G_USEC_PER_SEC - 1, &error);
  g_assert_no_error (error);
  status = lk_test_json (ts, "POST", "/api/v1/users", ts->operator_token,
                         "{\"username\": \"t3\", \"password\": \"long-enough\", \"role\": \"teacher\", \"school_id\": 1}",
                         &expired);
  g_assert_cmpuint (status, ==, 401);
  lk_test_assert_error (expired, "token_expired", NULL);
  g_assert_cmpint (lk_store_debug_count (lk_server_get_store (ts->server), "users", "username = 't3'"), ==, 0);

  lk_test_server_free (ts);
}

static void
test_users (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autoptr(JsonNode) created = NULL;
  g_autoptr(JsonNode) duplicate = NULL;
  g_autoptr(JsonNode) by_teacher = NULL;
  g_autoptr(JsonNode) weak = NULL;
  g_autoptr(JsonNode) no_school = NULL;
  g_autoptr(JsonNode) bad_role = NULL;
  g_autofree char *token = NULL;
  const char *body = "{\"username\": \"wang\", \"password\": \"long-enough\", \"role\": \"teacher\", \"school_id\": 1}";
  guint status;

  status = lk_test_json (ts, "POST", "/api/v1/users", ts->teacher_token, body, &by_teacher);
  g_assert_cmpuint (status, ==, 403);
  lk_test_assert_error (by_teacher, "forbidden", NULL);

  status = lk_test_json (ts, "POST", "/api/v1/users", ts->operator_token, body, &created);
  g_assert_cmpuint (status, ==, 201);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (created), "role"), ==, "teacher");
  token = lk_test_server_login (ts, "wang", "long-enough");
  g_assert_nonnull (token);

  status = lk_test_json (ts, "POST", "/api/v1/users", ts->operator_token, body, &duplicate);
  g_assert_cmpuint (status, ==, 409);
  lk_test_assert_error (duplicate, "user_exists", "username");

  status = lk_test_json (ts, "POST", "/api/v1/users", ts->operator_token,
                         "{\"username\": \"li\", \"password\": \"short\", \"role\": \"teacher\", \"school_id\": 1}", &weak);
  g_assert_cmpuint (status, ==, 422);
  lk_test_assert_error (weak, "weak_password", "password");

  status = lk_test_json (ts, "POST", "/api/v1/users", ts->operator_token,
                         "{\"username\": \"li\", \"password\": \"long-enough\", \"role\": \"teacher\", \"school_id\": 99}",
                         &no_school);
  g_assert_cmpuint (status, ==, 422);
  lk_test_assert_error (no_school, "unknown_school", "school_id");

  status = lk_test_json (ts, "POST", "/api/v1/users", ts->operator_token,
                         "{\"username\": \"li\", \"password\": \"long-enough\", \"role\": \"root\"}", &bad_role);
  g_assert_cmpuint (status, ==, 422);
  lk_test_assert_error (bad_role, "invalid_field", "role");

  lk_test_server_free (ts);
}

static void
test_error_shape (void)
{
  LkTestServer *ts = lk_test_server_new (0, NULL);
  g_autoptr(JsonNode) missing = NULL;
  g_autoptr(JsonNode) method = NULL;
  guint status;

  status = lk_test_json (ts, "GET", "/api/v1/no-such-thing", NULL, NULL, &missing);
  g_assert_cmpuint (status, ==, 404);
  lk_test_assert_error (missing, "not_found", NULL);

  status = lk_test_json (ts, "GET", "/api/v1/auth/login", NULL, NULL, &method);
  g_assert_cmpuint (status, ==, 405);
  lk_test_assert_error (method, "method_not_allowed", NULL);

  lk_test_server_free (ts);
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static guint
count_threads (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "\nThreads:");
  g_assert_nonnull (line);
  return (guint) g_ascii_strtoull (line + 9, NULL, 10);
}

static void
test_start_stop (void)
{
  guint fds_before = 0, threads_before = 0;

  for (guint i = 0; i < 6; i++)
    {
      LkTestServer *ts = lk_test_server_new (3, NULL);
      g_autoptr(JsonNode) reply = NULL;

      /* A real request on every round, so connections were made and closed. */
      g_assert_cmpuint (lk_test_json (ts, "GET", "/api/v1/nothing", NULL, NULL, &reply), ==, 404);
      lk_test_server_free (ts);
      if (i == 1)
        {
          /* After a warm-up round (GLib and GnuTLS keep some state of their own). */
          fds_before = count_fds ();
          threads_before = count_threads ();
        }
    }
  g_assert_cmpuint (count_fds (), <=, fds_before);
  g_assert_cmpuint (count_threads (), <=, threads_before);
}

static void
test_same_port_many_threads (void)
{
  LkTestServer *ts = lk_test_server_new (4, NULL);
  guint port = lk_server_get_port (ts->server);

  g_assert_cmpuint (port, >, 0);
  /* Many fresh connections: the kernel spreads them over the four listeners, and each answers. */
  for (guint i = 0; i < 40; i++)
    {
      g_autoptr(SoupSession) session = soup_session_new ();
      g_autofree char *url = g_strdup_printf ("%s/api/v1/nothing", ts->base_url);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, msg, NULL, NULL);

      g_assert_cmpuint (soup_message_get_status (msg), ==, 404);
    }
  lk_test_server_free (ts);
}

/* A self-signed certificate for 127.0.0.1 (P-256), written as PEM files. */
static void
write_certificate (const char *cert_path,
                   const char *key_path)
{
  EVP_PKEY *pkey = EVP_EC_gen ("P-256");
  X509 *x509 = X509_new ();
  X509_NAME *name;
  BIO *bio;

  g_assert_nonnull (pkey);
  X509_set_version (x509, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (x509), 1);
  X509_gmtime_adj (X509_getm_notBefore (x509), -60);
  X509_gmtime_adj (X509_getm_notAfter (x509), 3600);
  X509_set_pubkey (x509, pkey);
  name = X509_get_subject_name (x509);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *) "127.0.0.1", -1, -1, 0);
  X509_set_issuer_name (x509, name);
  g_assert_cmpint (X509_sign (x509, pkey, EVP_sha256 ()), >, 0);

  bio = BIO_new_file (cert_path, "w");
  g_assert_cmpint (PEM_write_bio_X509 (bio, x509), ==, 1);
  BIO_free (bio);
  bio = BIO_new_file (key_path, "w");
  g_assert_cmpint (PEM_write_bio_PrivateKey (bio, pkey, NULL, NULL, 0, NULL, NULL), ==, 1);
  BIO_free (bio);
  X509_free (x509);
  EVP_PKEY_free (pkey);
}

static char *tls_cert_path;
static char *tls_key_path;

static void
use_tls (LkConfig *config)
{
  lk_config_set_tls (config, tls_cert_path, tls_key_path);
}

static gboolean
on_accept_certificate_cb (SoupMessage          *msg,
                          GTlsCertificate      *certificate,
                          GTlsCertificateFlags  errors,
                          gpointer              user_data)
{
  /* Self-signed, so the only acceptable one is ours. */
  g_autoptr(GTlsCertificate) ours = g_tls_certificate_new_from_file (tls_cert_path, NULL);

  return ours != NULL && g_tls_certificate_is_same (certificate, ours);
}

static void
test_tls (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lingka-tls-XXXXXX", NULL);
  LkTestServer *ts = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(SoupMessage) plain = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) plain_body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *plain_url = NULL;

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("No TLS backend (glib-networking)");
      return;
    }
  tls_cert_path = g_build_filename (dir, "cert.pem", NULL);
  tls_key_path = g_build_filename (dir, "key.pem", NULL);
  write_certificate (tls_cert_path, tls_key_path);

  ts = lk_test_server_new (0, use_tls);
  g_assert_true (g_str_has_prefix (ts->base_url, "https://"));

  url = g_strdup_printf ("%s/api/v1/directory/provinces", ts->base_url);
  msg = soup_message_new ("GET", url);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_accept_certificate_cb), NULL);
  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_nonnull (soup_message_get_tls_peer_certificate (msg));

  /* Plain HTTP on the TLS port gets nowhere. */
  plain_url = g_strdup_printf ("http://127.0.0.1:%u/api/v1/directory/provinces", lk_server_get_port (ts->server));
  plain = soup_message_new ("GET", plain_url);
  plain_body = soup_session_send_and_read (session, plain, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (plain), !=, 200);

  lk_test_server_free (ts);
  g_unlink (tls_cert_path);
  g_unlink (tls_key_path);
  g_rmdir (dir);
  g_clear_pointer (&tls_cert_path, g_free);
  g_clear_pointer (&tls_key_path, g_free);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lk_i18n_init ("en");

  g_test_add_func ("/server/auth/login", test_login);
  g_test_add_func ("/server/auth/login-rate-limited", test_login_rate_limited);
  g_test_add_func ("/server/auth/password-hashes", test_password_hashes);
  g_test_add_func ("/server/auth/sessions", test_sessions);
  g_test_add_func ("/server/auth/users", test_users);
  g_test_add_func ("/server/auth/error-shape", test_error_shape);
  g_test_add_func ("/server/server/start-stop", test_start_stop);
  g_test_add_func ("/server/server/same-port-many-threads", test_same_port_many_threads);
  g_test_add_func ("/server/server/tls", test_tls);
  return g_test_run ();
}
