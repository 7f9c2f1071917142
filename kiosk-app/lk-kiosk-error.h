/* lk-kiosk-error.h: the kiosk's error domain
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LK_KIOSK_ERROR (lk_kiosk_error_quark ())

typedef enum
{
  LK_KIOSK_ERROR_FAILED,
  LK_KIOSK_ERROR_CONFIG,      /* missing or malformed key in the config file */
  LK_KIOSK_ERROR_STORE,       /* SQLite failure in the kiosk's own database */
  LK_KIOSK_ERROR_OFFLINE,     /* no connection to the server */
  LK_KIOSK_ERROR_TIMEOUT,     /* the server did not answer in time */
  LK_KIOSK_ERROR_PROTOCOL,    /* the server sent something the contract does not allow */
  LK_KIOSK_ERROR_NOT_FOUND,   /* no such row */
} LkKioskError;

GQuark lk_kiosk_error_quark (void);

G_END_DECLS
