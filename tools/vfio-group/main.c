// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-group: list, explain, bind and unbind IOMMU groups as a whole.
 *
 *   vfio-group [--json] [--root DIR] [--state-dir DIR] [--config-dir DIR]
 *              COMMAND [ARGS]
 *
 * Every command is one function in a cmd_*.c file; this file parses the
 * command line and dispatches through the table below.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-group.h"

const char *prog = "vfio-group";

static const struct cmd cmds[] = {
	{ "list", cmd_list, true, "list [GROUP|BDF...]",
	  "every group: members, IDs, class, driver, viability, holder" },
	{ "explain", cmd_explain, true, "explain GROUP|BDF",
	  "why the group has these members, and what would make it viable" },
	{ "bind", cmd_bind, false,
	  "bind [--dry-run] [--force] [--persistent] GROUP|BDF",
	  "bind the whole group to vfio-pci, all or nothing" },
	{ "unbind", cmd_unbind, false,
	  "unbind [--dry-run] [--force] [--persistent] GROUP|BDF",
	  "give the whole group back to its previous drivers" },
	{ "restore", cmd_restore, false, "restore [--dry-run] [--force]",
	  "bind every persistent group again (at boot)" },
	{ "holders", cmd_holders, true, "holders [GROUP|BDF...]",
	  "the processes that have groups open" },
	{ "memlock-check", cmd_memlock_check, true,
	  "memlock-check [--pid PID] GUEST_SIZE",
	  "whether RLIMIT_MEMLOCK allows a guest of that size" },
	{ "watch", cmd_watch, true, "watch [WATCH-OPTIONS] [GROUP|BDF...]",
	  "follow group events as they happen, one line each" },
};

#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s [--json] [--root DIR] [--state-dir DIR] [--config-dir DIR]\n"
		"                  COMMAND [ARGS]\n\n", prog);
	fprintf(f, "commands:\n");
	for (i = 0; i < NR_CMDS; i++)
		fprintf(f, "  %-53s %s\n", cmds[i].usage, cmds[i].help);
	fprintf(f, "\n"
		"GROUP is an IOMMU group number; BDF a PCI address (0000:01:00.0 or 01:00.0)\n"
		"standing for its group.  --json applies to list, explain, holders,\n"
		"memlock-check, watch and bind/unbind --dry-run.\n"
		"WATCH-OPTIONS: --group N (repeatable), --count N, --timeout SEC, --state.\n"
		"--persistent records the group in " VFG_BINDING_DIR " (--config-dir)\n"
		"for 'restore', which vfio-group-restore.service runs at boot.\n"
		"See vfio-group(8).\n");
}

enum {
	OPT_ROOT = 256,
	OPT_STATE_DIR,
	OPT_VERSION,
	OPT_PID,
	OPT_GROUP,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_STATE,
	OPT_PERSISTENT,
	OPT_CONFIG_DIR,
};

static const struct option longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "force", no_argument, NULL, 'f' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
	{ "persistent", no_argument, NULL, OPT_PERSISTENT },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "state", no_argument, NULL, OPT_STATE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

int vfio_group_main(int argc, char **argv)
{
	struct opts o = { 0 };
	const struct cmd *cmd = NULL;
	bool watch_opt = false;
	struct vfg_ctx *ctx;
	char *end;
	size_t i;
	long v;
	int c, ret;

	optind = 0;	/* callable more than once (the unit tests do) */
	o.root = getenv("VFIO_GROUP_ROOT");
	o.state_dir = getenv("VFIO_GROUP_STATE_DIR");
	o.config_dir = getenv("VFIO_GROUP_CONFIG_DIR");
	while ((c = getopt_long(argc, argv, "jnfh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'f':
			o.force = true;
			break;
		case OPT_ROOT:
			o.root = optarg;
			break;
		case OPT_STATE_DIR:
			o.state_dir = optarg;
			break;
		case OPT_CONFIG_DIR:
			o.config_dir = optarg;
			break;
		case OPT_PERSISTENT:
			o.persistent = true;
			break;
		case OPT_PID:
			errno = 0;
			o.pid = strtol(optarg, &end, 10);
			if (errno || *end || o.pid <= 0) {
				err("--pid wants a process ID, not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_GROUP:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 ||
			    v > INT32_MAX) {
				err("--group wants an IOMMU group number, not \"%s\"",
				    optarg);
				return EXIT_USAGE;
			}
			if (o.n_groups == MAX_WATCH_GROUPS) {
				err("at most %d --group options", MAX_WATCH_GROUPS);
				return EXIT_USAGE;
			}
			o.groups[o.n_groups++] = (int)v;
			watch_opt = true;
			break;
		case OPT_COUNT:
			errno = 0;
			o.count = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o.count <= 0) {
				err("--count wants a number of events, not \"%s\"",
				    optarg);
				return EXIT_USAGE;
			}
			watch_opt = true;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			o.timeout = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o.timeout > 0) ||
			    o.timeout > 1e9) {
				err("--timeout wants seconds (> 0), not \"%s\"",
				    optarg);
				return EXIT_USAGE;
			}
			watch_opt = true;
			break;
		case OPT_STATE:
			o.state = true;
			watch_opt = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("%s %s\n", prog, VFG_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < NR_CMDS; i++)
		if (!strcmp(argv[optind], cmds[i].name))
			cmd = &cmds[i];
	if (!cmd) {
		err("unknown command \"%s\"", argv[optind]);
		hint("'%s --help' lists the commands", prog);
		return EXIT_USAGE;
	}
	o.args = argv + optind + 1;
	o.nargs = argc - optind - 1;

	if (o.json && !cmd->reads && !o.dry_run) {
		err("--json is for read commands; '%s' changes drivers (use --dry-run --json to see the plan)",
		    cmd->name);
		return EXIT_USAGE;
	}
	if ((o.dry_run || o.force) && strcmp(cmd->name, "bind") &&
	    strcmp(cmd->name, "unbind") && strcmp(cmd->name, "restore")) {
		err("--%s is for bind, unbind and restore only",
		    o.dry_run ? "dry-run" : "force");
		return EXIT_USAGE;
	}
	if (o.persistent && strcmp(cmd->name, "bind") &&
	    strcmp(cmd->name, "unbind")) {
		err("--persistent is for bind and unbind only");
		return EXIT_USAGE;
	}
	if (o.json && !strcmp(cmd->name, "restore")) {
		err("--json is not for restore (it binds several groups)");
		return EXIT_USAGE;
	}
	if (o.pid && strcmp(cmd->name, "memlock-check")) {
		err("--pid is for memlock-check only");
		return EXIT_USAGE;
	}
	if (watch_opt && strcmp(cmd->name, "watch")) {
		err("--group, --count, --timeout and --state are for watch only");
		return EXIT_USAGE;
	}

	ctx = vfg_ctx_new(o.root);
	if (!ctx) {
		err("cannot open a library context: %s", strerror(errno));
		return EXIT_FAIL;
	}
	pci_names_init(o.root);
	ret = cmd->fn(ctx, &o);
	pci_names_exit();
	vfg_ctx_free(ctx);
	if (fflush(stdout) && ret == EXIT_OK) {
		err("writing the output: %s", strerror(errno));
		ret = EXIT_FAIL;
	}
	return ret;
}

#ifndef VFG_CLI_NO_MAIN
int main(int argc, char **argv)
{
	return vfio_group_main(argc, argv);
}
#endif
