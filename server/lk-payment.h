/* lk-payment.h: payment providers behind one interface
 *
 * A provider makes an order (a URL where the parent pays) and verifies the notifications that
 * it later sends: signature, then order number and amount as it claims them. Applying a
 * verified notice is the store's job (lk_store_payment_apply), exactly once.
 *
 * Only the sandbox provider exists in v1, and only with --sandbox. Its notices are JSON,
 * signed with HMAC-SHA256 under a key derived from the server key, and are checked exactly as a
 * real provider's would be.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct
{
  char    *order_no;
  gint64   amount_fen;
  char    *provider_txn;
  gboolean paid;
} LkPaymentNotice;

void lk_payment_notice_clear (LkPaymentNotice *notice);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LkPaymentNotice, lk_payment_notice_clear)

#define LK_TYPE_PAYMENT_PROVIDER (lk_payment_provider_get_type ())
G_DECLARE_INTERFACE (LkPaymentProvider, lk_payment_provider, LK, PAYMENT_PROVIDER, GObject)

struct _LkPaymentProviderInterface
{
  GTypeInterface parent_iface;

  const char *(*get_channel)   (LkPaymentProvider  *self);
  /* Returns the URL where the parent pays. */
  char       *(*create_order)  (LkPaymentProvider  *self,
                                const char         *order_no,
                                gint64              amount_fen,
                                const char         *description,
                                GError            **error);
  /* FALSE with LK_PAYMENT_ERROR_BAD_SIGNATURE (or _MALFORMED) unless the notice is genuine. */
  gboolean    (*verify_notice) (LkPaymentProvider  *self,
                                SoupMessageHeaders *headers,
                                GBytes             *body,
                                LkPaymentNotice    *notice,
                                GError            **error);
};

#define LK_PAYMENT_ERROR (lk_payment_error_quark ())

typedef enum
{
  LK_PAYMENT_ERROR_MALFORMED,
  LK_PAYMENT_ERROR_BAD_SIGNATURE,
} LkPaymentError;

GQuark      lk_payment_error_quark            (void);

const char *lk_payment_provider_get_channel   (LkPaymentProvider  *self);
char       *lk_payment_provider_create_order  (LkPaymentProvider  *self,
                                               const char         *order_no,
                                               gint64              amount_fen,
                                               const char         *description,
                                               GError            **error);
gboolean    lk_payment_provider_verify_notice (LkPaymentProvider  *self,
                                               SoupMessageHeaders *headers,
                                               GBytes             *body,
                                               LkPaymentNotice    *notice,
                                               GError            **error);

#define LK_TYPE_SANDBOX_PAYMENT (lk_sandbox_payment_get_type ())
G_DECLARE_FINAL_TYPE (LkSandboxPayment, lk_sandbox_payment, LK, SANDBOX_PAYMENT, GObject)

LkSandboxPayment *lk_sandbox_payment_new         (const guint8     *server_key,
                                                  gsize             key_len);
/* The signed notice the sandbox "provider" sends when @order_no is paid. */
GBytes           *lk_sandbox_payment_sign_notice (LkSandboxPayment *self,
                                                  const char       *order_no,
                                                  gint64            amount_fen,
                                                  const char       *provider_txn);

G_END_DECLS
