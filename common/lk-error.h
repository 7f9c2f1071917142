/* lk-error.h: the error domain shared by the three programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LK_ERROR (lk_error_quark ())

typedef enum
{
  LK_ERROR_FAILED,
  LK_ERROR_BAD_FRAME,      /* import frame: start/end field, count or checksum */
  LK_ERROR_INVALID_ROWS,   /* import rows that fail validation */
  LK_ERROR_INVALID_JSON,   /* wrong JSON shape or type */
  LK_ERROR_INVALID_CODE,   /* claim code: not 8 digits, or check digit wrong */
  LK_ERROR_BAD_CARD,       /* card layout: wrong magic/version, or MAC mismatch */
  LK_ERROR_ENCODING,       /* text that cannot be converted (e.g. to GB18030) */
  LK_ERROR_CRYPTO,         /* OpenSSL failure */
} LkError;

GQuark lk_error_quark (void);

G_END_DECLS
