// SPDX-License-Identifier: GPL-2.0-only

//go:build keepmemprof

// Built with -tags keepmemprof, the program reaches runtime.MemProfile, so the linker leaves
// memory profiling on (runtime.MemProfileRate 512 KiB) and runtime.mbuckets fills up.
package main

import (
	"os"
	"runtime"
)

func init() {
	if os.Getenv("GOFIX_NEVER") == "memprofile" {
		var recs []runtime.MemProfileRecord
		runtime.MemProfile(recs, true)
	}
}
