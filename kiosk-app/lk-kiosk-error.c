/* lk-kiosk-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lk-kiosk-error.h"

G_DEFINE_QUARK (lk-kiosk-error-quark, lk_kiosk_error)
