/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SUITES_H
#define SUITES_H

#include <check.h>

Suite *group_suite(void);
Suite *device_suite(void);
Suite *bind_suite(void);
Suite *binding_suite(void);
Suite *explain_suite(void);
Suite *uses_suite(void);
Suite *holders_suite(void);
Suite *netlink_suite(void);
/* tools/vfio-group/tests/test_cli.c */
Suite *cli_suite(void);

#endif
