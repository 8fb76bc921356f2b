/* SPDX-License-Identifier: MIT */
/*
 * export.h - marks the interposed functions, the only symbols libmptcpize.so exports.
 * Everything else is built with -fvisibility=hidden and the version script hides the rest.
 */
#ifndef SHIM_EXPORT_H
#define SHIM_EXPORT_H

#define SHIM_EXPORT __attribute__((visibility("default")))

#endif
