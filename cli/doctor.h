// SPDX-License-Identifier: GPL-2.0-only
/*
 * flametop doctor: what works on this host and what does not, one line per check with the fix:
 * privileges and capabilities, kernel BTF and BPF program loading, perf events and
 * kernel.perf_event_paranoid, kernel symbols (kptr_restrict), tracefs, uprobes, DWARF unwinding
 * and debug info. Every check tries the real thing (loads the probes, opens the events, unwinds
 * its own stack) rather than guessing from versions.
 */
#ifndef CLI_DOCTOR_H
#define CLI_DOCTOR_H

#include <stdio.h>

/* Prints the checks to f. Returns EXIT_OK when the default live view (whole system) can run,
 * EXIT_FAIL otherwise. */
int doctor_run(FILE *f);

#endif
