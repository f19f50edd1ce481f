// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device names as lspci prints them, from pci.ids through libpci.
 *
 * With --root, pci.ids is ROOT/usr/share/misc/pci.ids and udev's hwdb is not
 * asked (it describes this machine, not the tree).  Without pci.ids, or in a
 * binary built without libpci (VFG_NO_LIBPCI: the guest's static binary, as
 * Debian ships no libpci.a), names are lspci's numeric ones.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-group.h"

#ifndef VFG_NO_LIBPCI
#include <pci/pci.h>

static struct pci_access *pacc;
static int lookup_flags;

/*
 * Without pci_init() (no access to devices is needed) these are unset; a
 * pci.ids that cannot be opened is not worth a word: names go numeric.
 */
static void names_warning(char *msg, ...)
{
	(void)msg;
}

void pci_names_init(const char *root)
{
	static char path[4096];

	pci_names_exit();
	pacc = pci_alloc();
	if (!pacc)
		return;
	pacc->warning = names_warning;
	pacc->debug = names_warning;
	lookup_flags = PCI_LOOKUP_NO_NUMBERS;
	if (root && root[0]) {
		snprintf(path, sizeof(path), "%s/usr/share/misc/pci.ids", root);
		pci_set_name_list_path(pacc, path, 0);
		lookup_flags |= PCI_LOOKUP_NO_HWDB;
	}
}

void pci_names_exit(void)
{
	if (pacc)
		pci_cleanup(pacc);
	pacc = NULL;
}

static void lookup(char *buf, size_t len, int flags, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, flags);
	if (pacc) {
		unsigned int a = va_arg(ap, unsigned int);
		unsigned int b = va_arg(ap, unsigned int);

		s = pci_lookup_name(pacc, buf, len, flags | lookup_flags, a, b);
	}
	va_end(ap);
	if (!s)
		buf[0] = '\0';
}
#else
void pci_names_init(const char *root)
{
	(void)root;
}

void pci_names_exit(void)
{
}

static void lookup(char *buf, size_t len, int flags, ...)
{
	(void)len;
	(void)flags;
	buf[0] = '\0';
}

#define PCI_LOOKUP_VENDOR 0
#define PCI_LOOKUP_DEVICE 0
#define PCI_LOOKUP_CLASS 0
#endif

void pci_names_get(const struct vfg_device_info *d, struct pci_names *n)
{
	lookup(n->vendor, sizeof(n->vendor), PCI_LOOKUP_VENDOR, d->vendor, 0);
	lookup(n->device, sizeof(n->device), PCI_LOOKUP_DEVICE, d->vendor,
	       d->device);
	lookup(n->cls, sizeof(n->cls), PCI_LOOKUP_CLASS, d->pci_class >> 8, 0);
	/* What lspci prints when pci.ids does not know them. */
	if (!n->vendor[0])
		snprintf(n->both, sizeof(n->both), "Device %04x:%04x",
			 d->vendor, d->device);
	else if (!n->device[0])
		snprintf(n->both, sizeof(n->both), "%s Device %04x",
			 n->vendor, d->device);
	else
		snprintf(n->both, sizeof(n->both), "%s %s", n->vendor,
			 n->device);
}
