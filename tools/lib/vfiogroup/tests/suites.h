/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SUITES_H
#define SUITES_H

#include <check.h>

Suite *group_suite(void);

#endif
