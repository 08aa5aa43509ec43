// SPDX-License-Identifier: GPL-2.0-only

// A Go service for side-by-side checks against Go's own CPU profile: it serves net/http/pprof on
// 127.0.0.1 (the port is printed on stdout's first line, "port N") and keeps two CPUs busy with
// known functions: a leaf without a frame (main.spinLeaf, called by main.leafWorker), a function
// with a frame and inlined helpers (main.mixWorker), SHA-256 of a buffer (crypto/sha256), and an
// allocator that keeps the GC busy (main.allocWorker). Go keeps frame pointers on amd64.
// The allocator has a thread of its own (runtime.LockOSThread; the GC's background workers run on
// other threads): its thread id is the second line of stdout, "alloc-thread N", so the kernel's
// own accounting of that thread's CPU time is a third opinion on its share.
// usage: gopprof [SECONDS]   (default 60; exits 0)
package main

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

var sink uint64

// A hot loop that calls nothing: the compiler gives it no frame.
//
//go:noinline
func spinLeaf(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func leafWorker() {
	for {
		sink += spinLeaf(1 << 16)
	}
}

func mix(x uint64) uint64 {
	return (x ^ x>>31) * 0x9e3779b97f4a7c15
}

//go:noinline
func mixRound(n int) uint64 {
	var acc uint64
	for i := 0; i < n; i++ {
		acc += mix(uint64(i) + acc)
	}
	return acc
}

func mixWorker() {
	for {
		sink ^= mixRound(1 << 14)
	}
}

func hashWorker() {
	buf := make([]byte, 64<<10)
	for {
		sum := sha256.Sum256(buf)
		buf[0] = sum[0]
	}
}

type node struct {
	next *node
	pad  [48]byte
}

//go:noinline
func allocList(n int) *node {
	var head *node
	for i := 0; i < n; i++ {
		head = &node{next: head}
	}
	return head
}

func allocWorker() {
	runtime.LockOSThread()
	fmt.Printf("alloc-thread %d\n", syscall.Gettid())
	for {
		if allocList(1<<12) == nil {
			sink++
		}
	}
}

func main() {
	secs := 60
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "gopprof: bad SECONDS %q\n", os.Args[1])
			os.Exit(2)
		}
		secs = v
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gopprof:", err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	go http.Serve(ln, nil)
	go leafWorker()
	go mixWorker()
	go hashWorker()
	go allocWorker()
	time.Sleep(time.Duration(secs) * time.Second)
}
