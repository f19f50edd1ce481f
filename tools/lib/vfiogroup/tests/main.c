// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One test binary, several suites: Check prints one summary line with the
 * totals, which is what tools/testing/run-checks.sh reads.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(group_suite());
	int failed;

	srunner_add_suite(sr, device_suite());
	srunner_add_suite(sr, bind_suite());
	srunner_add_suite(sr, binding_suite());
	srunner_add_suite(sr, explain_suite());
	srunner_add_suite(sr, uses_suite());
	srunner_add_suite(sr, holders_suite());
	srunner_add_suite(sr, netlink_suite());
#ifndef VFG_NO_CLI_TESTS
	srunner_add_suite(sr, cli_suite());
#endif
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
