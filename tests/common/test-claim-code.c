/* test-claim-code.c: Damm check digits, code derivation and digests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "lk-claim-code.h"

static const guint8 test_salt[LK_DIGEST_SALT_LEN] = {
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

static const char test_key[] = "server-secret-0123456789abcdef";

static void
test_damm_vectors (void)
{
  /* The worked example of the Damm algorithm: 572 → 4. */
  g_assert_cmpuint (lk_damm_check_digit ("572", -1), ==, 4);
  g_assert_cmpuint (lk_damm_check_digit ("5724", -1), ==, 0);
  g_assert_cmpuint (lk_damm_check_digit ("1234567", -1), ==, 1);
  g_assert_cmpuint (lk_damm_check_digit ("", -1), ==, 0);
  g_assert_cmpuint (lk_damm_check_digit ("5729999", 3), ==, 4);

  g_assert_true (lk_claim_code_is_valid ("12345671"));
  g_assert_false (lk_claim_code_is_valid ("12345670"));
  g_assert_false (lk_claim_code_is_valid ("1234567"));
  g_assert_false (lk_claim_code_is_valid ("123456710"));
  g_assert_false (lk_claim_code_is_valid ("1234567a"));
  g_assert_false (lk_claim_code_is_valid ("１2345671"));
  g_assert_false (lk_claim_code_is_valid (""));
  g_assert_false (lk_claim_code_is_valid (NULL));
}

static void
test_derive_vectors (void)
{
  g_autofree char *code = NULL;
  g_autofree char *again = NULL;
  g_autofree char *next = NULL;

  /* Computed once with python3 hmac/hashlib from the construction in lk-claim-code.h. */
  code = lk_claim_code_derive ((const guint8 *) test_key, strlen (test_key),
                               "2023001234", 1764160000, 42, 0);
  g_assert_cmpstr (code, ==, "45971206");
  g_assert_true (lk_claim_code_is_valid (code));

  again = lk_claim_code_derive ((const guint8 *) test_key, strlen (test_key),
                                "2023001234", 1764160000, 42, 0);
  g_assert_cmpstr (again, ==, code);

  next = lk_claim_code_derive ((const guint8 *) test_key, strlen (test_key),
                               "2023001234", 1764160000, 42, 1);
  g_assert_cmpstr (next, ==, "66879118");
}

static void
test_derive_inputs_matter (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint collisions = 0;

  /* 2,000 codes for different students/sequence numbers: all valid, and with 10^7 bodies
   * a handful of collisions at most (expected about 0.2). */
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *student_no = g_strdup_printf ("2023%06u", i);
      char *code = lk_claim_code_derive ((const guint8 *) test_key, strlen (test_key),
                                         student_no, 1764160000 + i, i % 97, 0);

      g_assert_nonnull (code);
      g_assert_cmpuint (strlen (code), ==, LK_CLAIM_CODE_LEN);
      g_assert_true (lk_claim_code_is_valid (code));
      if (!g_hash_table_add (seen, code))
        collisions++;
    }
  g_assert_cmpuint (collisions, <=, 3);

  {
    g_autofree char *a = lk_claim_code_derive ((const guint8 *) "k1", 2, "1", 5, 1, 0);
    g_autofree char *b = lk_claim_code_derive ((const guint8 *) "k2", 2, "1", 5, 1, 0);
    g_autofree char *c = lk_claim_code_derive ((const guint8 *) "k1", 2, "1", 5, 2, 0);
    g_autofree char *d = lk_claim_code_derive ((const guint8 *) "k1", 2, "1", 6, 1, 0);

    g_assert_cmpstr (a, !=, b);
    g_assert_cmpstr (a, !=, c);
    g_assert_cmpstr (a, !=, d);
  }
}

static void
test_detects_typos (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261126);

  for (guint n = 0; n < 3000; n++)
    {
      char body[LK_CLAIM_CODE_LEN];
      char code[LK_CLAIM_CODE_LEN + 1];

      for (guint i = 0; i < LK_CLAIM_CODE_LEN - 1; i++)
        body[i] = (char) ('0' + g_rand_int_range (rand, 0, 10));
      memcpy (code, body, LK_CLAIM_CODE_LEN - 1);
      code[LK_CLAIM_CODE_LEN - 1] = (char) ('0' + lk_damm_check_digit (body, LK_CLAIM_CODE_LEN - 1));
      code[LK_CLAIM_CODE_LEN] = '\0';
      g_assert_true (lk_claim_code_is_valid (code));

      /* Every single-digit substitution, the check digit included */
      for (guint pos = 0; pos < LK_CLAIM_CODE_LEN; pos++)
        {
          for (char d = '0'; d <= '9'; d++)
            {
              char typo[LK_CLAIM_CODE_LEN + 1];

              if (d == code[pos])
                continue;
              memcpy (typo, code, sizeof typo);
              typo[pos] = d;
              g_assert_false (lk_claim_code_is_valid (typo));
            }
        }

      /* Every swap of two different neighbouring digits */
      for (guint pos = 0; pos + 1 < LK_CLAIM_CODE_LEN; pos++)
        {
          char swapped[LK_CLAIM_CODE_LEN + 1];

          if (code[pos] == code[pos + 1])
            continue;
          memcpy (swapped, code, sizeof swapped);
          swapped[pos] = code[pos + 1];
          swapped[pos + 1] = code[pos];
          g_assert_false (lk_claim_code_is_valid (swapped));
        }
    }
}

static void
test_format (void)
{
  g_autofree char *formatted = lk_claim_code_format ("45971206");
  g_autofree char *short_code = lk_claim_code_format ("123");

  g_assert_cmpstr (formatted, ==, "4597 1206");
  g_assert_cmpstr (short_code, ==, "123");
}

static void
test_digest_vectors (void)
{
  LkDigestParams params = { 0 };
  g_autofree char *pbkdf2 = NULL;
  g_autofree char *pbkdf2_one = NULL;
  g_autofree char *md5 = NULL;

  memcpy (params.salt, test_salt, sizeof test_salt);

  /* python3: hashlib.pbkdf2_hmac('sha256', b"12345674", bytes(range(16)), 10000, 32).hex() */
  params.alg = LK_DIGEST_PBKDF2_SHA256;
  params.iterations = LK_DIGEST_DEFAULT_ITERATIONS;
  pbkdf2 = lk_claim_code_digest (&params, "12345674");
  g_assert_cmpstr (pbkdf2, ==, "c86848277fc1c7e6b41547cff6dcdc07ab4560c23adc2586c70b0e0c78217738");

  params.iterations = 1;
  pbkdf2_one = lk_claim_code_digest (&params, "12345674");
  g_assert_cmpstr (pbkdf2_one, ==, "1045b6223b1f5851c7f395a9e7c71dc8870bb07c4078a945272e40064b46dc94");

  /* python3: hashlib.md5(bytes(range(16)) + b"12345674").hexdigest() */
  params.alg = LK_DIGEST_MD5;
  md5 = lk_claim_code_digest (&params, "12345674");
  g_assert_cmpstr (md5, ==, "22640e52216b5ce9628d12c2ceb05d8b");
}

static void
test_digest_params (void)
{
  LkDigestParams params = { 0 };
  g_autofree char *hex = NULL;
  LkDigestAlg alg = LK_DIGEST_MD5;

  g_assert_true (lk_digest_params_set_salt_hex (&params, "000102030405060708090A0b0c0d0e0f"));
  g_assert_cmpmem (params.salt, sizeof params.salt, test_salt, sizeof test_salt);
  hex = lk_digest_params_salt_hex (&params);
  g_assert_cmpstr (hex, ==, "000102030405060708090a0b0c0d0e0f");

  /* A bad salt leaves the old one in place. */
  g_assert_false (lk_digest_params_set_salt_hex (&params, "00"));
  g_assert_false (lk_digest_params_set_salt_hex (&params, "zz0102030405060708090a0b0c0d0e0f"));
  g_assert_false (lk_digest_params_set_salt_hex (&params, "000102030405060708090a0b0c0d0e0f00"));
  g_assert_false (lk_digest_params_set_salt_hex (&params, NULL));
  g_assert_cmpmem (params.salt, sizeof params.salt, test_salt, sizeof test_salt);

  g_assert_cmpstr (lk_digest_alg_to_string (LK_DIGEST_PBKDF2_SHA256), ==, "pbkdf2-sha256");
  g_assert_cmpstr (lk_digest_alg_to_string (LK_DIGEST_MD5), ==, "md5");
  g_assert_true (lk_digest_alg_from_string ("pbkdf2-sha256", &alg));
  g_assert_cmpint (alg, ==, LK_DIGEST_PBKDF2_SHA256);
  g_assert_true (lk_digest_alg_from_string ("md5", &alg));
  g_assert_cmpint (alg, ==, LK_DIGEST_MD5);
  g_assert_false (lk_digest_alg_from_string ("MD5", &alg));
  g_assert_false (lk_digest_alg_from_string ("sha1", &alg));
  g_assert_false (lk_digest_alg_from_string (NULL, &alg));
}

static void
test_helpers (void)
{
  g_autofree char *sha = lk_sha256_hex ("abc", 3);
  g_autofree char *empty = lk_sha256_hex (NULL, 0);
  g_autofree char *r1 = lk_random_hex (16);
  g_autofree char *r2 = lk_random_hex (16);

  g_assert_cmpstr (sha, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  g_assert_cmpstr (empty, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  g_assert_cmpuint (strlen (r1), ==, 32);
  g_assert_cmpstr (r1, !=, r2);
  for (const char *p = r1; *p != '\0'; p++)
    g_assert_true (g_ascii_isdigit (*p) || (*p >= 'a' && *p <= 'f'));

  g_assert_true (lk_secure_str_equal ("token", "token"));
  g_assert_true (lk_secure_str_equal ("", ""));
  g_assert_false (lk_secure_str_equal ("token", "tokeN"));
  g_assert_false (lk_secure_str_equal ("token", "token2"));
  g_assert_false (lk_secure_str_equal ("token", NULL));
  g_assert_false (lk_secure_str_equal (NULL, NULL));
}

/* lk_random_hex() draws small values from a per-thread pool that it refills: across many
 * refills, and on several threads at once, no bytes may come out twice. */
#define RANDOM_THREADS 4
#define RANDOM_DRAWS 3000

static gpointer
draw_values (gpointer data)
{
  static const gsize sizes[] = { 1, 7, 16, 40, 63, 64, 65, 100 };
  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < RANDOM_DRAWS; i++)
    {
      gsize n = sizes[i % G_N_ELEMENTS (sizes)];
      char *hex = lk_random_hex (n);

      g_assert_cmpuint (strlen (hex), ==, 2 * n);
      g_ptr_array_add (values, hex);
    }
  return values;
}

static void
test_random_pool (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GThread *threads[RANDOM_THREADS];
  GPtrArray *values[RANDOM_THREADS];
  guint distinct_needed = 0;

  for (guint t = 0; t < RANDOM_THREADS; t++)
    threads[t] = g_thread_new ("random", draw_values, NULL);
  for (guint t = 0; t < RANDOM_THREADS; t++)
    values[t] = g_thread_join (threads[t]);

  /* Every value of 7 bytes or more (56 bits) is new; a 1-byte one may repeat by chance. A pool
   * that served bytes twice, within a thread or after a refill, would repeat them here. */
  for (guint t = 0; t < RANDOM_THREADS; t++)
    for (guint i = 0; i < values[t]->len; i++)
      {
        const char *hex = g_ptr_array_index (values[t], i);

        if (strlen (hex) < 14)
          continue;
        distinct_needed++;
        g_assert_false (g_hash_table_contains (seen, hex));
        g_hash_table_add (seen, (gpointer) hex);
      }
  g_assert_cmpuint (g_hash_table_size (seen), ==, distinct_needed);
  g_assert_cmpuint (distinct_needed, >, RANDOM_THREADS * RANDOM_DRAWS / 2);

  g_hash_table_remove_all (seen);
  for (guint t = 0; t < RANDOM_THREADS; t++)
    g_ptr_array_unref (values[t]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/claim-code/damm-vectors", test_damm_vectors);
  g_test_add_func ("/common/claim-code/derive-vectors", test_derive_vectors);
  g_test_add_func ("/common/claim-code/derive-inputs", test_derive_inputs_matter);
  g_test_add_func ("/common/claim-code/detects-typos", test_detects_typos);
  g_test_add_func ("/common/claim-code/format", test_format);
  g_test_add_func ("/common/claim-code/digest-vectors", test_digest_vectors);
  g_test_add_func ("/common/claim-code/digest-params", test_digest_params);
  g_test_add_func ("/common/claim-code/helpers", test_helpers);
  g_test_add_func ("/common/claim-code/random-pool", test_random_pool);

  return g_test_run ();
}
