/* lk-error.c: the error domain shared by the three programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lk-error.h"

G_DEFINE_QUARK (lk-error-quark, lk_error)
