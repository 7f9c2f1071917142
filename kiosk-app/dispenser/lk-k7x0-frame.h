/* lk-k7x0-frame.h: the bytes of the TTCE K720/K730/K750 protocol (DISPENSER.md)
 *
 * Shared by the driver (host side) and the simulator (device side), so the two can never
 * disagree on a byte.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "lk-dispenser.h"

G_BEGIN_DECLS

#define LK_K7X0_STX 0x02
#define LK_K7X0_ETX 0x03
#define LK_K7X0_EOT 0x04
#define LK_K7X0_ENQ 0x05
#define LK_K7X0_ACK 0x06
#define LK_K7X0_NAK 0x15

/* The largest packet the device takes, STX through BCC. */
#define LK_K7X0_MAX_FRAME 300
/* STX, two address digits, two length bytes ... ETX, BCC */
#define LK_K7X0_FRAME_OVERHEAD 7
#define LK_K7X0_MAX_PAYLOAD (LK_K7X0_MAX_FRAME - LK_K7X0_FRAME_OVERHEAD)
#define LK_K7X0_MAX_ADDRESS 99

/* The vendor text does not say which sensor is the read/write position. DISPENSER.md takes it
 * to be sensor 3; this is the one place that says so, and it must be confirmed on hardware. */
#define LK_K7X0_SENSOR_READ_POSITION 3
/* The sensor at the card mouth, where an ejected card waits to be taken. */
#define LK_K7X0_SENSOR_MOUTH 1

/* Reply kinds: 'P' and 'N' replies, and the AP status frame "SF s1 s2 s3 s4". */
#define LK_K7X0_REPLY_POSITIVE 'P'
#define LK_K7X0_REPLY_NEGATIVE 'N'

/* Mifare Classic commands: CM, then PM */
#define LK_K7X0_CM_MIFARE_S50   0x3B
#define LK_K7X0_CM_MIFARE_S70   0x3C
#define LK_K7X0_CM_CPU          0x47
#define LK_K7X0_PM_SEARCH       0x30
#define LK_K7X0_PM_READ_UID     0x31
#define LK_K7X0_PM_CHECK_KEY    0x32
#define LK_K7X0_PM_READ_BLOCK   0x33
#define LK_K7X0_PM_WRITE_BLOCK  0x34
#define LK_K7X0_PM_HALT         0x38
#define LK_K7X0_KEY_A           0x30
#define LK_K7X0_KEY_B           0x31

/* Motion and status commands, as their ASCII payload (CM PM DATA) */
#define LK_K7X0_CMD_STATUS   "AP"
#define LK_K7X0_CMD_DISPENSE "FC7"   /* to the read/write position */
#define LK_K7X0_CMD_EJECT    "FC0"   /* out of the mouth */
#define LK_K7X0_CMD_CAPTURE  "CP"    /* into the reject box */
#define LK_K7X0_CMD_RESET    "RS"
#define LK_K7X0_CMD_HOLD     "DC"    /* to the front holding position */

typedef enum
{
  LK_K7X0_ERR_UNDEFINED_COMMAND = 0x00,
  LK_K7X0_ERR_PARAMETER         = 0x01,
  LK_K7X0_ERR_DATA              = 0x02,
  LK_K7X0_ERR_CANNOT_EXECUTE    = 0x03,
  LK_K7X0_ERR_FAILED            = 0x04,
  LK_K7X0_ERR_SEARCH_FAILED     = 0x41,
  LK_K7X0_ERR_UID_FAILED        = 0x42,
  LK_K7X0_ERR_KEY_FAILED        = 0x43,
  LK_K7X0_ERR_READ_FAILED       = 0x45,
  LK_K7X0_ERR_WRITE_FAILED      = 0x46,
} LkK7x0ErrorCode;

/* "key check failed", ...; "unknown error" for codes outside the list. Not translated. */
const char *lk_k7x0_error_code_to_string (guint8 code);

/* TRUE for the commands of the vendor's "command list 2", executed after ENQ with or without a
 * reply: DC, CP, DB, RS, FC*, and the LED and baud commands. */
gboolean    lk_k7x0_is_motion_command    (const guint8 *payload,
                                          gsize         len);

/* XOR of @len bytes */
guint8      lk_k7x0_bcc                  (const guint8 *data,
                                          gsize         len);

/* The two ASCII digits of @address (0..99). */
gboolean    lk_k7x0_address_digits       (guint         address,
                                          guint8        digits[2]);

/* STX ADDH ADDL LENH LENL payload ETX BCC. @payload is CM PM DATA for a command, or
 * 'P'|'N' CM PM DATA or "SF" s1..s4 for a reply. NULL if @address or @len is out of range. */
GByteArray *lk_k7x0_frame_build          (guint         address,
                                          const guint8 *payload,
                                          gsize         len);

/* ACK, NAK, ENQ or EOT followed by the address digits. */
void        lk_k7x0_control_build        (guint8        control,
                                          guint         address,
                                          guint8        out[3]);

typedef enum
{
  LK_K7X0_REPLY_KIND_POSITIVE,
  LK_K7X0_REPLY_KIND_NEGATIVE,
  LK_K7X0_REPLY_KIND_STATUS,
} LkK7x0ReplyKind;

typedef struct
{
  LkK7x0ReplyKind kind;
  guint           address;
  guint8          cm;            /* 'S' for a status frame */
  guint8          pm;            /* 'F' for a status frame */
  guint8          error_code;    /* NEGATIVE only */
  const guint8   *data;          /* points into the frame; the status characters for STATUS */
  gsize           data_len;
} LkK7x0Reply;

/* Parses a whole reply frame (as given by the stream parser: STX through BCC, BCC already
 * checked). LK_DISPENSER_ERROR_PROTOCOL when it is none of the three shapes. */
gboolean    lk_k7x0_reply_parse          (const guint8 *frame,
                                          gsize         len,
                                          LkK7x0Reply  *reply,
                                          GError      **error);

/* Splits a whole command frame into its address and payload (CM PM DATA, pointing into
 * @frame). */
gboolean    lk_k7x0_command_parse        (const guint8  *frame,
                                          gsize          len,
                                          guint         *address,
                                          const guint8 **payload,
                                          gsize         *payload_len,
                                          GError       **error);

/* Decodes the four ASCII hex status characters ('0'..'9', 'A'..'F', 'a'..'f'). */
gboolean    lk_k7x0_status_decode        (const guint8       chars[4],
                                          LkDispenserStatus *status,
                                          GError           **error);
/* The inverse, upper-case; the derived fields of @status are ignored. */
void        lk_k7x0_status_encode        (const LkDispenserStatus *status,
                                          guint8                   chars[4]);

/* A stream parser for either direction. It copes with partial reads (a token split over
 * several reads) and with line noise (bytes that start no token are skipped and counted). */
typedef enum
{
  LK_K7X0_TOKEN_ACK,
  LK_K7X0_TOKEN_NAK,
  LK_K7X0_TOKEN_ENQ,
  LK_K7X0_TOKEN_EOT,
  LK_K7X0_TOKEN_FRAME,      /* a well-formed frame, BCC correct */
  LK_K7X0_TOKEN_BAD_FRAME,  /* STX ... ETX of the right length, wrong BCC: answer with NAK */
} LkK7x0TokenKind;

typedef struct
{
  LkK7x0TokenKind  kind;
  guint            address;
  GBytes          *frame;   /* FRAME and BAD_FRAME: the whole frame, STX through BCC */
} LkK7x0Token;

void        lk_k7x0_token_clear          (LkK7x0Token *token);

typedef struct _LkK7x0Parser LkK7x0Parser;

LkK7x0Parser *lk_k7x0_parser_new          (void);
void          lk_k7x0_parser_free         (LkK7x0Parser *parser);
void          lk_k7x0_parser_push         (LkK7x0Parser *parser,
                                           const guint8 *data,
                                           gsize         len);
/* Takes the next complete token out of the buffer; FALSE when more bytes are needed. */
gboolean      lk_k7x0_parser_next         (LkK7x0Parser *parser,
                                           LkK7x0Token  *token);
/* Drops any partial token (after an inter-character timeout, or a flush). */
void          lk_k7x0_parser_reset        (LkK7x0Parser *parser);
/* Bytes held for a token that is not complete yet. */
gsize         lk_k7x0_parser_get_pending  (LkK7x0Parser *parser);
/* Noise bytes skipped so far. */
gsize         lk_k7x0_parser_get_skipped  (LkK7x0Parser *parser);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkK7x0Parser, lk_k7x0_parser_free)

G_END_DECLS
