/*
 * slotpool.h: umbrella header; include this one.
 */
#ifndef SLOTPOOL_H
#define SLOTPOOL_H

#include "slotpool/common.h"
#include "slotpool/index.h"
#include "slotpool/mempool.h"

#endif /* SLOTPOOL_H */
