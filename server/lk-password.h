/* lk-password.h: staff password hashes (OpenSSL)
 *
 * Stored as "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>" (PBKDF2-HMAC-SHA256, 16-byte
 * salt, 32-byte hash) or "scrypt$<N>$<r>$<p>$<salt hex>$<hash hex>" (EVP_PBE_scrypt).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LK_PASSWORD_MIN_CHARS 8
#define LK_PASSWORD_MAX_BYTES 1024

/* A new PBKDF2 hash with a random salt; NULL only if OpenSSL fails. */
char     *lk_password_hash         (const char *password,
                                    guint       iterations);
/* A new scrypt hash (N = 2^15, r = 8, p = 1). */
char     *lk_password_hash_scrypt  (const char *password);
/* Constant-time check of @password against a stored hash of either kind. */
gboolean  lk_password_verify       (const char *password,
                                    const char *stored);
/* Burns the time of one verification, so that an unknown user name answers as slowly as a
 * wrong password. */
void      lk_password_verify_dummy (const char *password);

G_END_DECLS
