// SPDX-License-Identifier: GPL-2.0-only

// Known answer: main.hotLoop takes 3/4 of the CPU time and main.coldLoop 1/4: each round they
// spin 3 and 1 slices of the thread's CPU time (so the split holds when other processes compete
// for the CPU), the slice drawn between 0.5 and 1 ms so rounds never lock to the scheduler tick
// (see split31.c). Go keeps frame pointers on amd64, so a frame-pointer walk sees both.
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
func hotLoop(slice time.Duration) {
	x := sink
	end := threadCPU() + 3*slice
	for threadCPU() < end {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink = x
}

//go:noinline
func coldLoop(slice time.Duration) {
	x := sink
	end := threadCPU() + slice
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
	x := uint64(0x9e3779b97f4a7c15) // xorshift64: the same sequence every run
	for time.Now().Before(end) {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		slice := time.Duration(500000 + x%500001)
		hotLoop(slice)
		coldLoop(slice)
	}
	if sink == 42 {
		fmt.Println("unlikely")
	}
}
