/* lk-transport-private.h: helpers shared by the two transports
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE if @baud is one the K7X0 family (and the adapters it is wired to) can use. */
gboolean lk_transport_baud_is_valid (guint baud);

/* Milliseconds from now until @deadline (monotonic µs), rounded up, never negative. */
int      lk_transport_ms_until      (gint64 deadline);

G_END_DECLS
