/* lk-kiosk-config.h: the kiosk's keyfile configuration
 *
 *   [kiosk]
 *   server_url=https://lingka.example.edu.cn
 *   sn=K-0001
 *   secret=…
 *   serial_port=/dev/ttyUSB0          (or pty:/dev/pts/N for the simulator)
 *   dispenser_address=0
 *   baud=9600
 *   card_key=00112233445566778899aabbccddeeff   (hex, optional)
 *   language=zh_CN
 *   service_pin=246810
 *   school_name=…
 *   data_dir=/var/lib/lingka-kiosk     (optional)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define LK_TYPE_KIOSK_CONFIG (lk_kiosk_config_get_type ())
G_DECLARE_FINAL_TYPE (LkKioskConfig, lk_kiosk_config, LK, KIOSK_CONFIG, GObject)

LkKioskConfig *lk_kiosk_config_new                (void);
LkKioskConfig *lk_kiosk_config_new_from_file      (const char     *path,
                                                   GError        **error);
LkKioskConfig *lk_kiosk_config_new_from_data      (const char     *data,
                                                   GError        **error);

const char    *lk_kiosk_config_get_server_url     (LkKioskConfig  *self);
const char    *lk_kiosk_config_get_sn             (LkKioskConfig  *self);
const char    *lk_kiosk_config_get_secret         (LkKioskConfig  *self);
const char    *lk_kiosk_config_get_serial_port    (LkKioskConfig  *self);
guint          lk_kiosk_config_get_dispenser_address (LkKioskConfig *self);
guint          lk_kiosk_config_get_baud           (LkKioskConfig  *self);
/* The school card key as bytes (NULL with *len 0 when not set). */
const guint8  *lk_kiosk_config_get_card_key       (LkKioskConfig  *self,
                                                   gsize          *len);
const char    *lk_kiosk_config_get_language       (LkKioskConfig  *self);
const char    *lk_kiosk_config_get_service_pin    (LkKioskConfig  *self);
const char    *lk_kiosk_config_get_school_name    (LkKioskConfig  *self);
/* data_dir from the file, else $XDG_DATA_HOME/lingka-kiosk */
const char    *lk_kiosk_config_get_data_dir       (LkKioskConfig  *self);

/* Setters, for tests and the bench (which build a config without a file). */
void           lk_kiosk_config_set_server_url     (LkKioskConfig  *self,
                                                   const char     *url);
void           lk_kiosk_config_set_credentials    (LkKioskConfig  *self,
                                                   const char     *sn,
                                                   const char     *secret);
void           lk_kiosk_config_set_serial_port    (LkKioskConfig  *self,
                                                   const char     *port);
void           lk_kiosk_config_set_data_dir       (LkKioskConfig  *self,
                                                   const char     *dir);
void           lk_kiosk_config_set_school_name    (LkKioskConfig  *self,
                                                   const char     *name);
void           lk_kiosk_config_set_service_pin    (LkKioskConfig  *self,
                                                   const char     *pin);
gboolean       lk_kiosk_config_set_card_key_hex   (LkKioskConfig  *self,
                                                   const char     *hex,
                                                   GError        **error);

G_END_DECLS
