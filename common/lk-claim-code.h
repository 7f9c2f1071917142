/* lk-claim-code.h: 8-digit claim codes with a Damm check digit, and their digests
 *
 * The server derives a code from HMAC-SHA256(server secret, student_no ‖ application time ‖
 * day sequence ‖ attempt): 7 digits from the MAC, then the Damm check digit, which catches
 * every single wrong digit and every swap of two neighbouring digits.
 *
 * Kiosks only ever see a salted digest of a code: PBKDF2-HMAC-SHA256 with a per-school salt
 * (the default), or MD5(salt ‖ code) for old kiosks (the patent's choice).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LK_CLAIM_CODE_LEN 8
#define LK_DIGEST_SALT_LEN 16
#define LK_DIGEST_DEFAULT_ITERATIONS 10000

/* The Damm check digit of a string of ASCII digits. */
guint        lk_damm_check_digit          (const char *digits,
                                           gssize      len);

/* TRUE if @code is exactly 8 ASCII digits whose last one is the Damm digit of the others. */
gboolean     lk_claim_code_is_valid       (const char *code);

/* Derives a code. @attempt is 0 first, and bumped by the server when the result collides
 * with a code that is still open. */
char        *lk_claim_code_derive         (const guint8 *key,
                                           gsize         key_len,
                                           const char   *student_no,
                                           gint64        applied_at_unix,
                                           guint         day_seq,
                                           guint         attempt);

/* "1234 5678" for display; never log either form. */
char        *lk_claim_code_format         (const char *code);

typedef enum
{
  LK_DIGEST_PBKDF2_SHA256,
  LK_DIGEST_MD5,
} LkDigestAlg;

typedef struct
{
  LkDigestAlg alg;
  guint8      salt[LK_DIGEST_SALT_LEN];
  guint       iterations;   /* PBKDF2 only; ignored for MD5 */
} LkDigestParams;

/* "pbkdf2-sha256" / "md5", as in codes.snapshot */
const char  *lk_digest_alg_to_string      (LkDigestAlg  alg);
gboolean     lk_digest_alg_from_string    (const char  *name,
                                           LkDigestAlg *alg);

/* Fills @params->salt from a hex string of LK_DIGEST_SALT_LEN bytes. */
gboolean     lk_digest_params_set_salt_hex (LkDigestParams *params,
                                            const char     *salt_hex);
char        *lk_digest_params_salt_hex    (const LkDigestParams *params);

/* The lower-case hex digest of @code. */
char        *lk_claim_code_digest         (const LkDigestParams *params,
                                           const char           *code);

/* Constant-time comparison of two strings of any length (length leaks, content does not).
 * Use for tokens, secrets, digests and codes. */
gboolean     lk_secure_str_equal          (const char *a,
                                           const char *b);

/* Random bytes from OpenSSL, as lower-case hex (2 × n_bytes characters). */
char        *lk_random_hex                (gsize n_bytes);

/* SHA-256 of data, lower-case hex. */
char        *lk_sha256_hex                (const void *data,
                                           gsize       len);

G_END_DECLS
