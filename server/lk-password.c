/* lk-password.c: staff password hashes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lk-config.h"
#include "lk-password.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define SCRYPT_N 32768
#define SCRYPT_R 8
#define SCRYPT_P 1

static char *
to_hex (const guint8 *data,
        gsize         len)
{
  static const char digits[] = "0123456789abcdef";
  char *hex = g_malloc (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    {
      hex[2 * i] = digits[data[i] >> 4];
      hex[2 * i + 1] = digits[data[i] & 0xf];
    }
  hex[len * 2] = '\0';
  return hex;
}

static gboolean
from_hex (const char *hex,
          guint8     *out,
          gsize       len)
{
  if (strlen (hex) != len * 2)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}

static gboolean
pbkdf2 (const char   *password,
        const guint8 *salt,
        guint         iterations,
        guint8        out[HASH_LEN])
{
  return PKCS5_PBKDF2_HMAC (password, strlen (password), salt, SALT_LEN, iterations,
                            EVP_sha256 (), HASH_LEN, out) == 1;
}

static gboolean
scrypt (const char   *password,
        const guint8 *salt,
        guint64       n,
        guint64       r,
        guint64       p,
        guint8        out[HASH_LEN])
{
  return EVP_PBE_scrypt (password, strlen (password), salt, SALT_LEN, n, r, p,
                         64 * 1024 * 1024, out, HASH_LEN) == 1;
}

char *
lk_password_hash (const char *password,
                  guint       iterations)
{
  guint8 salt[SALT_LEN], hash[HASH_LEN];
  g_autofree char *salt_hex = NULL;
  g_autofree char *hash_hex = NULL;

  if (RAND_bytes (salt, sizeof salt) != 1 || !pbkdf2 (password, salt, iterations, hash))
    return NULL;
  salt_hex = to_hex (salt, sizeof salt);
  hash_hex = to_hex (hash, sizeof hash);
  OPENSSL_cleanse (hash, sizeof hash);
  return g_strdup_printf ("pbkdf2-sha256$%u$%s$%s", iterations, salt_hex, hash_hex);
}

char *
lk_password_hash_scrypt (const char *password)
{
  guint8 salt[SALT_LEN], hash[HASH_LEN];
  g_autofree char *salt_hex = NULL;
  g_autofree char *hash_hex = NULL;

  if (RAND_bytes (salt, sizeof salt) != 1 || !scrypt (password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, hash))
    return NULL;
  salt_hex = to_hex (salt, sizeof salt);
  hash_hex = to_hex (hash, sizeof hash);
  OPENSSL_cleanse (hash, sizeof hash);
  return g_strdup_printf ("scrypt$%u$%u$%u$%s$%s", SCRYPT_N, SCRYPT_R, SCRYPT_P, salt_hex, hash_hex);
}

gboolean
lk_password_verify (const char *password,
                    const char *stored)
{
  g_auto(GStrv) parts = NULL;
  guint8 salt[SALT_LEN], expected[HASH_LEN], actual[HASH_LEN];
  gboolean ok = FALSE;

  if (password == NULL || stored == NULL)
    return FALSE;
  parts = g_strsplit (stored, "$", 0);

  if (g_strv_length (parts) == 4 && g_str_equal (parts[0], "pbkdf2-sha256"))
    {
      guint64 iterations = g_ascii_strtoull (parts[1], NULL, 10);

      if (iterations < 1 || iterations > 100000000
          || !from_hex (parts[2], salt, SALT_LEN) || !from_hex (parts[3], expected, HASH_LEN))
        return FALSE;
      ok = pbkdf2 (password, salt, (guint) iterations, actual);
    }
  else if (g_strv_length (parts) == 6 && g_str_equal (parts[0], "scrypt"))
    {
      guint64 n = g_ascii_strtoull (parts[1], NULL, 10);
      guint64 r = g_ascii_strtoull (parts[2], NULL, 10);
      guint64 p = g_ascii_strtoull (parts[3], NULL, 10);

      if (n < 2 || r < 1 || p < 1
          || !from_hex (parts[4], salt, SALT_LEN) || !from_hex (parts[5], expected, HASH_LEN))
        return FALSE;
      ok = scrypt (password, salt, n, r, p, actual);
    }
  if (!ok)
    return FALSE;
  ok = CRYPTO_memcmp (expected, actual, HASH_LEN) == 0;
  OPENSSL_cleanse (actual, sizeof actual);
  return ok;
}

void
lk_password_verify_dummy (const char *password)
{
  guint8 salt[SALT_LEN] = { 0 }, out[HASH_LEN];

  pbkdf2 (password != NULL ? password : "", salt, LK_DEFAULT_PASSWORD_ITERATIONS, out);
}
