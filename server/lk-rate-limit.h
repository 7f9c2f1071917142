/* lk-rate-limit.h: token buckets per key (client address, kiosk SN), thread-safe
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LkRateLimit LkRateLimit;

/* Each key may spend @burst tokens at once; one token comes back every @refill_s seconds. */
LkRateLimit *lk_rate_limit_new      (guint        burst,
                                     gdouble      refill_s);
LkRateLimit *lk_rate_limit_ref      (LkRateLimit *self);
void         lk_rate_limit_unref    (LkRateLimit *self);

/* TRUE if @key has a token left (without spending it). */
gboolean     lk_rate_limit_check    (LkRateLimit *self,
                                     const char  *key);
/* Spends a token; TRUE if there was one. */
gboolean     lk_rate_limit_take     (LkRateLimit *self,
                                     const char  *key);
/* Gives @key its full burst back (e.g. after a success). */
void         lk_rate_limit_reset    (LkRateLimit *self,
                                     const char  *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkRateLimit, lk_rate_limit_unref)

G_END_DECLS
