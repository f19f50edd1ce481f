// SPDX-License-Identifier: LGPL-2.1-or-later
/* Compiles only if the public header is self-contained. */
#include "vfiogroup/vfiogroup.h"

int vfg_header_alone(void);
int vfg_header_alone(void)
{
	return VFG_NO_GROUP;
}
