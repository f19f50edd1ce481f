/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fake sysfs trees for unit tests: a temporary directory laid out like the
 * parts of /sys the library reads.
 */
#ifndef FAKESYS_H
#define FAKESYS_H

#define FAKESYS_NO_GROUP (-1)

struct fakesys;

struct fakesys *fakesys_new(void);
void fakesys_free(struct fakesys *fs);
const char *fakesys_root(struct fakesys *fs);
/* Add PCI device @bdf in IOMMU group @group (FAKESYS_NO_GROUP: none). */
void fakesys_device(struct fakesys *fs, const char *bdf, int group);
/* Write @val to the device attribute @attr (creating it). */
void fakesys_attr(struct fakesys *fs, const char *bdf, const char *attr,
		  const char *val);

#endif
