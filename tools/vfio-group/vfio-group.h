/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-group: IOMMU groups from the command line, on libvfiogroup.
 */
#ifndef VFIO_GROUP_H
#define VFIO_GROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vfiogroup/vfiogroup.h"

#ifndef VFG_VERSION
#define VFG_VERSION "0.1.0"
#endif

/* Exit codes: each says what to do next (see vfio-group(8)). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* failed; nothing was changed (rolled back) */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_REFUSED = 3,	/* refused for safety; --force overrides */
	EXIT_NOTFOUND = 4,	/* no such group or device, or no IOMMU group */
	EXIT_CHECK = 5,		/* a check failed: not viable, memlock low */
	EXIT_PARTIAL = 6,	/* rollback incomplete: the group is mixed */
	EXIT_UNAVAILABLE = 7,	/* watch: the vfio module is not loaded */
	EXIT_TIMEOUT = 8,	/* watch: --timeout before --count events */
};

/* How many --group options watch takes. */
#define MAX_WATCH_GROUPS 64

struct opts {
	bool json;
	bool dry_run;
	bool force;
	bool persistent;	/* bind/unbind --persistent */
	const char *root;	/* sysfs root prefix, NULL for "/" */
	const char *state_dir;	/* records of binds */
	const char *config_dir;	/* persistent bindings */
	long pid;		/* memlock-check --pid, 0 for ourselves */
	int groups[MAX_WATCH_GROUPS];	/* watch --group */
	int n_groups;
	long count;		/* watch --count, 0 for no limit */
	double timeout;		/* watch --timeout in seconds, 0 for none */
	bool state;		/* watch --state */
	char **args;		/* positional arguments after the command */
	int nargs;
};

struct cmd {
	const char *name;
	int (*fn)(struct vfg_ctx *ctx, const struct opts *o);
	bool reads;		/* a read command: takes --json */
	const char *usage;
	const char *help;
};

extern const char *prog;

/* The whole program; main() calls it, and so do the unit tests. */
int vfio_group_main(int argc, char **argv);

void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Is the vfio module's enable_unsafe_noiommu_mode set? */
bool noiommu_mode(struct vfg_ctx *ctx);

/*
 * Turn "GROUP" or "BDF" into a group number; on failure print why and what
 * to do, and return the exit code (else EXIT_OK).
 */
int resolve_group(struct vfg_ctx *ctx, const char *arg, int *group);
/*
 * The groups named by the positional arguments (deduplicated), or every
 * group when there are none; *@groups to free().  Returns an exit code.
 */
int resolve_groups(struct vfg_ctx *ctx, const struct opts *o, int **groups,
		   int *n);
/* The record of group @group's bind: "<state dir>/group-N". */
void record_path(const struct opts *o, int group, char *buf, size_t len);
/* The directory of persistent bindings: --config-dir, or VFG_BINDING_DIR. */
void binding_dir(const struct opts *o, char *buf, size_t len);
/*
 * Names from pci.ids as lspci prints them (names.c): @vendor, @device and
 * @cls ("Ethernet controller") are "" when pci.ids does not know them;
 * @both ("Intel Corporation 82574L Gigabit Network Connection") is always
 * set, to lspci's numeric name ("Device 8086:10d3") when pci.ids does not
 * know the device.
 */
struct pci_names {
	char vendor[128];
	char device[128];
	char cls[128];
	char both[260];
};

/* Where pci.ids is: below @root when given; call again to change. */
void pci_names_init(const char *root);
void pci_names_exit(void);
void pci_names_get(const struct vfg_device_info *d, struct pci_names *n);
/* "1.5 GiB" */
void fmt_bytes(uint64_t v, char *buf, size_t len);

/* Commands (cmd_*.c). */
int cmd_list(struct vfg_ctx *ctx, const struct opts *o);
int cmd_explain(struct vfg_ctx *ctx, const struct opts *o);
int cmd_bind(struct vfg_ctx *ctx, const struct opts *o);
int cmd_unbind(struct vfg_ctx *ctx, const struct opts *o);
int cmd_restore(struct vfg_ctx *ctx, const struct opts *o);
int cmd_holders(struct vfg_ctx *ctx, const struct opts *o);
int cmd_memlock_check(struct vfg_ctx *ctx, const struct opts *o);
int cmd_watch(struct vfg_ctx *ctx, const struct opts *o);

/* Shared by list and explain: one device line, one JSON device object. */
struct json;
void print_device(const struct vfg_device_info *d, const char *indent);
void json_device(struct json *j, const struct vfg_device_info *d);
void json_holders(struct json *j, const struct vfg_holder *h, int n);

#endif
