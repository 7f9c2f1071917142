/* lk-card-layout.h: the student record on a Mifare Classic 1K card (DISPENSER.md)
 *
 *   block 4: 'L' 'K' 0x01 0x00 · school id (u32 BE) · issue date (BCD YYYYMMDD) · issue seq (u32 BE)
 *   block 5: student number (16 bytes, GB18030, NUL-padded)
 *   block 6: student name   (16 bytes, GB18030, NUL-padded)
 *   block 8: class name     (16 bytes, GB18030, NUL-padded)
 *   block 9: HMAC-SHA256(school card key, UID ‖ blocks 4, 5, 6, 8), first 16 bytes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LK_CARD_UID_LEN 4
#define LK_CARD_BLOCK_LEN 16
#define LK_CARD_N_BLOCKS 5
#define LK_CARD_KEY_LEN 6

/* The blocks written at issue, in this order. */
extern const guint8 lk_card_layout_blocks[LK_CARD_N_BLOCKS]; /* { 4, 5, 6, 8, 9 } */

typedef struct
{
  guint32  school_id;
  char    *student_no;
  char    *name;
  char    *klass;        /* JSON "class" */
  char    *issue_date;   /* "YYYY-MM-DD" */
  guint32  issue_seq;
} LkCardData;

LkCardData *lk_card_data_new            (void);
LkCardData *lk_card_data_copy           (const LkCardData *data);
void        lk_card_data_free           (LkCardData       *data);
gboolean    lk_card_data_equal          (const LkCardData *a,
                                         const LkCardData *b);

/* {"school_id", "student_no", "name", "class", "issue_date", "issue_seq"} as in claim.authorized */
JsonNode   *lk_card_data_to_json        (const LkCardData *data);
LkCardData *lk_card_data_from_json      (JsonNode         *node,
                                         GError          **error);

/* Encodes the five blocks (in lk_card_layout_blocks order). Text longer than 16 bytes of
 * GB18030 gives LK_ERROR_ENCODING. */
gboolean    lk_card_layout_encode       (const LkCardData *data,
                                         const guint8      uid[LK_CARD_UID_LEN],
                                         const guint8     *card_key,
                                         gsize             card_key_len,
                                         guint8            blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN],
                                         GError          **error);

/* Decodes and checks the MAC (LK_ERROR_BAD_CARD on mismatch or wrong magic). */
LkCardData *lk_card_layout_decode       (const guint8      blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN],
                                         const guint8      uid[LK_CARD_UID_LEN],
                                         const guint8     *card_key,
                                         gsize             card_key_len,
                                         GError          **error);

/* Per-card sector key ("one card, one key"): first 6 bytes of
 * HMAC-SHA256(card key, "LK-SECTOR" ‖ UID ‖ sector). With no card key, FF×6. */
void        lk_card_sector_key          (const guint8 *card_key,
                                         gsize         card_key_len,
                                         const guint8  uid[LK_CARD_UID_LEN],
                                         guint         sector,
                                         guint8        key[LK_CARD_KEY_LEN]);

/* "A1B2C3D4" (upper-case hex); the card number everywhere. */
char       *lk_card_uid_to_string       (const guint8 uid[LK_CARD_UID_LEN]);
gboolean    lk_card_uid_from_string     (const char  *str,
                                         guint8       uid[LK_CARD_UID_LEN]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkCardData, lk_card_data_free)

G_END_DECLS
