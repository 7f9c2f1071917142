/* lk-mask.h: masking of minors' personal data for screens and logs (PIPL)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明; works on characters, not bytes. */
char *lk_mask_name        (const char *name);
/* 13812345678 → 138****5678 */
char *lk_mask_phone       (const char *phone);
/* 2023001234 → ******1234 (keeps the last 4) */
char *lk_mask_student_no  (const char *student_no);

G_END_DECLS
