/* lingka-common.h: the library that the server, the kiosk and the admin app share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lk-error.h"
#include "lk-i18n.h"
#include "lk-mask.h"
#include "lk-protocol.h"
#include "lk-import-frame.h"
#include "lk-claim-code.h"
#include "lk-card-layout.h"
