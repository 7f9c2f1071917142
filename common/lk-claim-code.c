/* lk-claim-code.c: 8-digit claim codes with a Damm check digit, and their digests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lk-claim-code.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SHA256_LEN 32
#define MD5_LEN 16
#define CODE_BODY_DIGITS 7
#define CODE_BODY_MODULUS G_GUINT64_CONSTANT (10000000)

/* The Damm quasigroup of order 10 (weakly totally anti-symmetric), as published by H. M. Damm. */
static const guint8 damm_table[10][10] = {
  { 0, 3, 1, 7, 5, 9, 8, 6, 4, 2 },
  { 7, 0, 9, 2, 1, 5, 4, 8, 6, 3 },
  { 4, 2, 0, 6, 8, 7, 1, 3, 5, 9 },
  { 1, 7, 5, 0, 9, 8, 3, 4, 2, 6 },
  { 6, 1, 2, 3, 0, 4, 5, 9, 7, 8 },
  { 3, 6, 7, 4, 2, 0, 9, 5, 8, 1 },
  { 5, 8, 6, 9, 7, 2, 0, 1, 3, 4 },
  { 8, 9, 4, 5, 3, 6, 2, 0, 1, 7 },
  { 9, 4, 3, 8, 6, 1, 7, 2, 0, 5 },
  { 2, 5, 8, 1, 4, 3, 6, 7, 9, 0 },
};

static char *
hex_encode (const guint8 *bytes,
            gsize         len)
{
  static const char digits[] = "0123456789abcdef";
  char *out = g_malloc (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
  out[len * 2] = '\0';

  return out;
}

guint
lk_damm_check_digit (const char *digits,
                     gssize      len)
{
  guint interim = 0;

  g_return_val_if_fail (digits != NULL, 0);

  if (len < 0)
    len = (gssize) strlen (digits);

  for (gssize i = 0; i < len; i++)
    {
      g_return_val_if_fail (g_ascii_isdigit (digits[i]), 0);
      interim = damm_table[interim][digits[i] - '0'];
    }

  return interim;
}

gboolean
lk_claim_code_is_valid (const char *code)
{
  if (code == NULL || strlen (code) != LK_CLAIM_CODE_LEN)
    return FALSE;

  for (guint i = 0; i < LK_CLAIM_CODE_LEN; i++)
    if (!g_ascii_isdigit (code[i]))
      return FALSE;

  /* Running the whole code, check digit included, through the table ends in 0. */
  return lk_damm_check_digit (code, LK_CLAIM_CODE_LEN) == 0;
}

char *
lk_claim_code_derive (const guint8 *key,
                      gsize         key_len,
                      const char   *student_no,
                      gint64        applied_at_unix,
                      guint         day_seq,
                      guint         attempt)
{
  g_autoptr(GByteArray) message = NULL;
  g_autofree char *time_str = NULL;
  g_autofree char *seq_str = NULL;
  g_autofree char *attempt_str = NULL;
  guint8 mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  guint64 value = 0;
  char code[LK_CLAIM_CODE_LEN + 1];
  static const guint8 zero = 0;

  g_return_val_if_fail (key != NULL || key_len == 0, NULL);
  g_return_val_if_fail (student_no != NULL, NULL);

  time_str = g_strdup_printf ("%" G_GINT64_FORMAT, applied_at_unix);
  seq_str = g_strdup_printf ("%u", day_seq);
  attempt_str = g_strdup_printf ("%u", attempt);

  /* student_no ‖ 0x00 ‖ time ‖ 0x00 ‖ day_seq ‖ 0x00 ‖ attempt: the NULs keep the fields apart,
   * so ("12", "3…") and ("1", "23…") never feed the same bytes to the MAC. */
  message = g_byte_array_new ();
  g_byte_array_append (message, (const guint8 *) student_no, strlen (student_no));
  g_byte_array_append (message, &zero, 1);
  g_byte_array_append (message, (const guint8 *) time_str, strlen (time_str));
  g_byte_array_append (message, &zero, 1);
  g_byte_array_append (message, (const guint8 *) seq_str, strlen (seq_str));
  g_byte_array_append (message, &zero, 1);
  g_byte_array_append (message, (const guint8 *) attempt_str, strlen (attempt_str));

  if (HMAC (EVP_sha256 (), key_len > 0 ? key : &zero, (int) key_len,
            message->data, message->len, mac, &mac_len) == NULL ||
      mac_len < 8)
    {
      g_warning ("HMAC-SHA256 failed while deriving a claim code");
      return NULL;
    }

  /* The first 64 bits as a big-endian integer, reduced mod 10^7: the bias is below 10^-12. */
  for (guint i = 0; i < 8; i++)
    value = (value << 8) | mac[i];
  value %= CODE_BODY_MODULUS;

  g_snprintf (code, sizeof code, "%07" G_GUINT64_FORMAT, value);
  code[CODE_BODY_DIGITS] = (char) ('0' + lk_damm_check_digit (code, CODE_BODY_DIGITS));
  code[LK_CLAIM_CODE_LEN] = '\0';

  OPENSSL_cleanse (mac, sizeof mac);

  return g_strdup (code);
}

char *
lk_claim_code_format (const char *code)
{
  g_return_val_if_fail (code != NULL, NULL);

  if (strlen (code) != LK_CLAIM_CODE_LEN)
    return g_strdup (code);

  return g_strdup_printf ("%.4s %.4s", code, code + 4);
}

const char *
lk_digest_alg_to_string (LkDigestAlg alg)
{
  switch (alg)
    {
    case LK_DIGEST_PBKDF2_SHA256:
      return "pbkdf2-sha256";
    case LK_DIGEST_MD5:
      return "md5";
    default:
      g_return_val_if_reached (NULL);
    }
}

gboolean
lk_digest_alg_from_string (const char  *name,
                           LkDigestAlg *alg)
{
  LkDigestAlg found;

  if (g_strcmp0 (name, "pbkdf2-sha256") == 0)
    found = LK_DIGEST_PBKDF2_SHA256;
  else if (g_strcmp0 (name, "md5") == 0)
    found = LK_DIGEST_MD5;
  else
    return FALSE;

  if (alg != NULL)
    *alg = found;

  return TRUE;
}

gboolean
lk_digest_params_set_salt_hex (LkDigestParams *params,
                               const char     *salt_hex)
{
  guint8 salt[LK_DIGEST_SALT_LEN];

  g_return_val_if_fail (params != NULL, FALSE);

  if (salt_hex == NULL || strlen (salt_hex) != LK_DIGEST_SALT_LEN * 2)
    return FALSE;

  for (guint i = 0; i < LK_DIGEST_SALT_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (salt_hex[2 * i]);
      int lo = g_ascii_xdigit_value (salt_hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      salt[i] = (guint8) (hi << 4 | lo);
    }

  memcpy (params->salt, salt, sizeof salt);

  return TRUE;
}

char *
lk_digest_params_salt_hex (const LkDigestParams *params)
{
  g_return_val_if_fail (params != NULL, NULL);

  return hex_encode (params->salt, LK_DIGEST_SALT_LEN);
}

char *
lk_claim_code_digest (const LkDigestParams *params,
                      const char           *code)
{
  guint8 out[EVP_MAX_MD_SIZE];
  gsize out_len;
  gsize code_len;
  char *hex;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (code != NULL, NULL);

  code_len = strlen (code);

  switch (params->alg)
    {
    case LK_DIGEST_PBKDF2_SHA256:
      g_return_val_if_fail (params->iterations > 0 && params->iterations <= G_MAXINT, NULL);
      out_len = SHA256_LEN;
      if (PKCS5_PBKDF2_HMAC (code, (int) code_len, params->salt, LK_DIGEST_SALT_LEN,
                             (int) params->iterations, EVP_sha256 (),
                             (int) out_len, out) != 1)
        {
          g_warning ("PBKDF2-HMAC-SHA256 failed");
          return NULL;
        }
      break;

    case LK_DIGEST_MD5:
      {
        g_autoptr(GByteArray) input = g_byte_array_sized_new (LK_DIGEST_SALT_LEN + code_len);
        unsigned int md_len = 0;

        /* MD5 (salt bytes ‖ code), the patent's digest for old kiosks */
        g_byte_array_append (input, params->salt, LK_DIGEST_SALT_LEN);
        g_byte_array_append (input, (const guint8 *) code, code_len);
        if (EVP_Digest (input->data, input->len, out, &md_len, EVP_md5 (), NULL) != 1)
          {
            OPENSSL_cleanse (input->data, input->len);
            g_warning ("MD5 failed");
            return NULL;
          }
        OPENSSL_cleanse (input->data, input->len);
        out_len = md_len;
      }
      break;

    default:
      g_return_val_if_reached (NULL);
    }

  hex = hex_encode (out, out_len);
  OPENSSL_cleanse (out, sizeof out);

  return hex;
}

gboolean
lk_secure_str_equal (const char *a,
                     const char *b)
{
  gsize len_a;
  gsize len_b;

  if (a == NULL || b == NULL)
    return FALSE;

  len_a = strlen (a);
  len_b = strlen (b);
  if (len_a != len_b)
    return FALSE;

  return CRYPTO_memcmp (a, b, len_a) == 0;
}

/* Small draws (tokens, ids, salts) come from a per-thread pool that is refilled from OpenSSL's
 * generator RANDOM_POOL_BYTES at a time. Each RAND_bytes() call costs a fork check (a getpid()
 * system call) and a re-key of the DRBG whatever its size; for a 40-byte token that was most of
 * its cost. Bytes leave the pool once, and are wiped as they leave it and when the thread ends,
 * so the pool holds no more than the generator's own state would let an attacker work out. */
#define RANDOM_POOL_BYTES 1024
#define RANDOM_POOL_MAX_DRAW 64

typedef struct
{
  guint8 bytes[RANDOM_POOL_BYTES];
  gsize  left;   /* unused bytes, at the end of bytes[] */
} RandomPool;

static void
random_pool_free (gpointer data)
{
  OPENSSL_cleanse (data, sizeof (RandomPool));
  g_free (data);
}

static GPrivate random_pool_key = G_PRIVATE_INIT (random_pool_free);

static void
random_bytes (guint8 *out,
              gsize   n_bytes)
{
  RandomPool *pool;
  guint8 *start;

  /* Secrets, salts and tokens come from here. Carrying on with predictable bytes would be
   * worse than stopping, and OpenSSL's generator only fails when the system has no entropy. */
  if (n_bytes > RANDOM_POOL_MAX_DRAW)
    {
      if (RAND_bytes (out, (int) n_bytes) != 1)
        g_error ("OpenSSL could not produce random bytes");
      return;
    }

  pool = g_private_get (&random_pool_key);
  if (pool == NULL)
    {
      pool = g_new0 (RandomPool, 1);
      g_private_set (&random_pool_key, pool);
    }
  if (pool->left < n_bytes)
    {
      if (RAND_bytes (pool->bytes, sizeof pool->bytes) != 1)
        g_error ("OpenSSL could not produce random bytes");
      pool->left = sizeof pool->bytes;
    }
  start = pool->bytes + sizeof pool->bytes - pool->left;
  memcpy (out, start, n_bytes);
  OPENSSL_cleanse (start, n_bytes);
  pool->left -= n_bytes;
}

char *
lk_random_hex (gsize n_bytes)
{
  g_autofree guint8 *bytes = NULL;
  char *hex;

  g_return_val_if_fail (n_bytes > 0 && n_bytes <= G_MAXINT, NULL);

  bytes = g_malloc (n_bytes);
  random_bytes (bytes, n_bytes);
  hex = hex_encode (bytes, n_bytes);
  OPENSSL_cleanse (bytes, n_bytes);

  return hex;
}

char *
lk_sha256_hex (const void *data,
               gsize       len)
{
  guint8 out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  static const EVP_MD *sha256;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  /* Fetched once: EVP_sha256() makes every EVP_Digest() look the implementation up again. */
  if (g_once_init_enter (&sha256))
    {
      EVP_MD *fetched = EVP_MD_fetch (NULL, "SHA256", NULL);

      g_once_init_leave (&sha256, fetched != NULL ? fetched : EVP_sha256 ());
    }
  if (EVP_Digest (len > 0 ? data : "", len, out, &out_len, sha256, NULL) != 1)
    {
      g_warning ("SHA-256 failed");
      return NULL;
    }

  return hex_encode (out, out_len);
}
