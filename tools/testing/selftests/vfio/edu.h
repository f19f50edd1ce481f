/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's "edu" educational PCI device (hw/misc/edu.c), as the tests drive it.
 *
 * BAR0 registers (MMIO):
 *   0x00 identification   0x04 liveness (reads back inverted)
 *   0x08 factorial        0x20 status (bit 0 computing, bit 7 IRQ on done)
 *   0x24 IRQ status       0x60 raise IRQ      0x64 acknowledge IRQ
 *   0x80 DMA source       0x88 DMA destination
 *   0x90 DMA count        0x98 DMA command
 * DMA command: bit 0 start, bit 1 direction (0: RAM -> device,
 * 1: device -> RAM), bit 2 raise an IRQ when done.  The device's own buffer
 * is at device address 0x40000; transfers must stay below 4096 bytes (a full
 * 4096-byte transfer aborts QEMU 7.2).  DMA addresses are 28 bits.
 */
#ifndef EDU_H
#define EDU_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_FACT		0x08
#define EDU_REG_STATUS		0x20
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_DMA_START		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_DMA_IRQ		0x4
#define EDU_STATUS_IRQFACT	0x80

#define EDU_ID			0x010000ed	/* version 1.0 */
#define EDU_IRQ_FACT		0x1	/* IRQ status bit: factorial done */
#define EDU_IRQ_DMA		0x100	/* IRQ status bit: DMA done */

#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_MAX		2048
#define EDU_DMA_BITS		28
#define EDU_BAR0_SIZE		0x100000

static inline uint32_t edu_read32(volatile void *bar, unsigned int reg)
{
	return *(volatile uint32_t *)((volatile char *)bar + reg);
}

static inline void edu_write32(volatile void *bar, unsigned int reg,
			       uint32_t val)
{
	*(volatile uint32_t *)((volatile char *)bar + reg) = val;
}

static inline uint64_t edu_read64(volatile void *bar, unsigned int reg)
{
	return *(volatile uint64_t *)((volatile char *)bar + reg);
}

static inline void edu_write64(volatile void *bar, unsigned int reg,
			       uint64_t val)
{
	*(volatile uint64_t *)((volatile char *)bar + reg) = val;
}

/*
 * Run one DMA transfer and wait for it (the device starts it 100 ms of
 * virtual time later).  @to_ram: device buffer -> @iova, else the reverse.
 * Returns false if it did not finish within @ms milliseconds.
 */
static inline bool edu_dma(volatile void *bar, uint64_t iova, uint32_t len,
			   bool to_ram, int ms)
{
	struct timespec ts = { 0, 1000000 };

	edu_write64(bar, EDU_REG_DMA_SRC, to_ram ? EDU_BUF_ADDR : iova);
	edu_write64(bar, EDU_REG_DMA_DST, to_ram ? iova : EDU_BUF_ADDR);
	edu_write64(bar, EDU_REG_DMA_COUNT, len);
	edu_write64(bar, EDU_REG_DMA_CMD,
		    EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	while (edu_read64(bar, EDU_REG_DMA_CMD) & EDU_DMA_START) {
		if (ms-- <= 0)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

/*
 * Compute @n! and wait up to @ms milliseconds for it; @irq asks for an
 * interrupt when done (status bit 7).  Returns the result, or 0 on timeout.
 */
static inline uint32_t edu_fact(volatile void *bar, uint32_t n, bool irq,
				int ms)
{
	struct timespec ts = { 0, 1000000 };

	edu_write32(bar, EDU_REG_STATUS, irq ? EDU_STATUS_IRQFACT : 0);
	edu_write32(bar, EDU_REG_FACT, n);
	while (edu_read32(bar, EDU_REG_STATUS) & 1) {
		if (ms-- <= 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return edu_read32(bar, EDU_REG_FACT);
}

#endif
