/* SPDX-License-Identifier: MIT */
/**
 * @file slotpool.h
 * @brief Umbrella header: include this one.
 *
 * It includes slotpool/common.h (version, error names), slotpool/index.h
 * (the slot index allocator with affinity) and slotpool/mempool.h (the
 * memory pool with copy-on-write images).
 */
#ifndef SLOTPOOL_H
#define SLOTPOOL_H

#include "slotpool/common.h"
#include "slotpool/index.h"
#include "slotpool/mempool.h"

#endif /* SLOTPOOL_H */
