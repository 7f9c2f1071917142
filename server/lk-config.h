/* lk-config.h: lingka-server's settings, from a key file merged with the command line
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define LK_TYPE_CONFIG (lk_config_get_type ())
G_DECLARE_FINAL_TYPE (LkConfig, lk_config, LK, CONFIG, GObject)

/* What the command line asked for besides serving. */
typedef enum
{
  LK_CONFIG_ACTION_SERVE,
  LK_CONFIG_ACTION_CREATE_OPERATOR,
  LK_CONFIG_ACTION_ADD_TEACHER,
  LK_CONFIG_ACTION_ADD_SCHOOL,
  LK_CONFIG_ACTION_REGISTER_KIOSK,
  LK_CONFIG_ACTION_BACKUP,
} LkConfigAction;

#define LK_DEFAULT_PORT 8443
#define LK_DEFAULT_FEE_FEN 2000
#define LK_DEFAULT_PASSWORD_ITERATIONS 120000

/* Defaults: listen 0.0.0.0, port 8443, data dir ./lingka-data, threads = CPUs (≥ 2). */
LkConfig      *lk_config_new                  (void);

/* Reads a [server]/[codes]/[sms]/[payment] key file; unknown keys are warned about. */
gboolean       lk_config_load_file            (LkConfig     *self,
                                               const char   *path,
                                               GError      **error);
/* Parses argv (GOptionContext, with --help): --config first, then every flag over it. */
gboolean       lk_config_parse_args           (LkConfig     *self,
                                               int          *argc,
                                               char       ***argv,
                                               GError      **error);

LkConfigAction lk_config_get_action           (LkConfig     *self);
const char    *lk_config_get_action_argument  (LkConfig     *self);
gint64         lk_config_get_school_id        (LkConfig     *self);

const char    *lk_config_get_listen           (LkConfig     *self);
guint          lk_config_get_port             (LkConfig     *self);
const char    *lk_config_get_data_dir         (LkConfig     *self);
guint          lk_config_get_threads          (LkConfig     *self);
const char    *lk_config_get_tls_cert         (LkConfig     *self);
const char    *lk_config_get_tls_key          (LkConfig     *self);
gint64         lk_config_get_fee_fen          (LkConfig     *self);
gboolean       lk_config_get_sandbox          (LkConfig     *self);
const char    *lk_config_get_synchronous      (LkConfig     *self);
const char    *lk_config_get_digest_alg       (LkConfig     *self);
guint          lk_config_get_digest_iterations (LkConfig    *self);
guint          lk_config_get_password_iterations (LkConfig  *self);
const char    *lk_config_get_sms_provider     (LkConfig     *self);
const char * const *lk_config_get_payment_providers (LkConfig *self);
/* Failed verifications allowed per client address: a burst, then one per refill interval. */
guint          lk_config_get_verify_burst     (LkConfig     *self);
gdouble        lk_config_get_verify_refill_s  (LkConfig     *self);
/* Seconds between SMS retries at first (doubling, up to an hour). */
guint          lk_config_get_sms_retry_s      (LkConfig     *self);

/* For tests and embedding: */
void           lk_config_set_listen           (LkConfig     *self,
                                               const char   *listen);
void           lk_config_set_port             (LkConfig     *self,
                                               guint         port);
void           lk_config_set_data_dir         (LkConfig     *self,
                                               const char   *data_dir);
void           lk_config_set_threads          (LkConfig     *self,
                                               guint         threads);
void           lk_config_set_sandbox          (LkConfig     *self,
                                               gboolean      sandbox);
void           lk_config_set_tls              (LkConfig     *self,
                                               const char   *cert_file,
                                               const char   *key_file);
void           lk_config_set_digest           (LkConfig     *self,
                                               const char   *alg,
                                               guint         iterations);
void           lk_config_set_password_iterations (LkConfig  *self,
                                                  guint      iterations);
void           lk_config_set_verify_limit     (LkConfig     *self,
                                               guint         burst,
                                               gdouble       refill_s);
void           lk_config_set_sms_retry_s      (LkConfig     *self,
                                               guint         seconds);

G_END_DECLS
