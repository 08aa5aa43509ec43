// SPDX-License-Identifier: GPL-2.0-only
/*
 * The text of the help view: the keys and what the columns mean. The help view (view_help.c)
 * shows it and the man page's "THE LIVE VIEW" is generated from it (cli/gendoc.c), so a key
 * added here is documented in both. A line starting with '#' is a heading.
 */
#ifndef TUI_HELP_TEXT_H
#define TUI_HELP_TEXT_H

#include <stddef.h>

extern const char *const help_text[];
extern const size_t help_text_nr;

#endif
