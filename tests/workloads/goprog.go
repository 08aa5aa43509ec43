// SPDX-License-Identifier: GPL-2.0-only

// Known answer: main.hotLoop takes 3/4 of the CPU time and main.coldLoop 1/4: they alternate 3 ms
// and 1 ms slices of the thread's CPU time (so the split holds when other processes compete for
// the CPU). Go keeps frame pointers on amd64, so a frame-pointer walk sees both.
// usage: goprog [SECONDS]   (default 10; exits 0)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

const clockThreadCputimeID = 3 // CLOCK_THREAD_CPUTIME_ID

var sink uint64

// threadCPU is this OS thread's CPU time; main locks its goroutine to one thread.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCputimeID,
		uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

//go:noinline
func hotLoop() {
	x := sink
	end := threadCPU() + 3*time.Millisecond
	for threadCPU() < end {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink = x
}

//go:noinline
func coldLoop() {
	x := sink
	end := threadCPU() + 1*time.Millisecond
	for threadCPU() < end {
		for i := 0; i < 10000; i++ {
			x = x*2862933555777941757 + 3037000493
		}
	}
	sink = x
}

func main() {
	runtime.LockOSThread()
	secs := uint64(10)
	if len(os.Args) > 1 {
		v, err := strconv.ParseUint(os.Args[1], 10, 32)
		if err != nil || v == 0 || v > 86400 {
			fmt.Fprintf(os.Stderr, "goprog: bad SECONDS %q (1..86400)\n", os.Args[1])
			os.Exit(2)
		}
		secs = v
	}
	end := time.Now().Add(time.Duration(secs) * time.Second)
	for time.Now().Before(end) {
		hotLoop()
		coldLoop()
	}
	if sink == 42 {
		fmt.Println("unlikely")
	}
}
