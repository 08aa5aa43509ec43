// SPDX-License-Identifier: GPL-2.0-only

// A service with net/http/pprof, for comparing flametop with Go's own endpoint at the same
// moment (tests/test_gosvc.c): its goroutine profile (/debug/pprof/goroutine?debug=1) and its
// heap profile (/debug/pprof/heap, inuse_space by function).
//
// With block and mutex profiling on (rate 1, fraction 1), main.contend has two goroutines fight
// over a mutex 200 times and main.blockOn waits 50 times on a channel, before anything else:
// the block and mutex profiles hold those (compared with /debug/pprof/block and /mutex).
//
// It keeps a known heap reachable from three functions (main.keepSmall: 200,000 objects of 64
// bytes; main.keepLarge: 8 blocks of 4 MiB; main.keepTree: a map of 50,000 entries), parks
// goroutines where they stay (500 in main.waiter on a channel, 20 in main.locker on a mutex, 7
// in main.selecter), then runs two GCs so the heap profile, which shows the state as of the last
// GC, holds all of it, and stops allocating. It prints "ready PORT" and serves on 127.0.0.1
// until SIGTERM. Only the standard library.
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

var (
	small [][]byte
	large [][]byte
	tree  map[int][]byte
	block = make(chan int)
	mu    sync.Mutex
	wg    sync.WaitGroup
)

//go:noinline
func keepSmall(n int) {
	for i := 0; i < n; i++ {
		small = append(small, make([]byte, 64))
	}
}

//go:noinline
func keepLarge(n int) {
	for i := 0; i < n; i++ {
		large = append(large, make([]byte, 4<<20))
	}
}

//go:noinline
func keepTree(n int) {
	tree = make(map[int][]byte, n)
	for i := 0; i < n; i++ {
		tree[i] = make([]byte, 200)
	}
}

//go:noinline
func waiter() {
	wg.Done()
	<-block
}

//go:noinline
func locker() {
	wg.Done()
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func selecter(a, b chan int) {
	wg.Done()
	select {
	case <-a:
	case <-b:
	}
}

//go:noinline
func contend() {
	var m sync.Mutex
	var done sync.WaitGroup
	for g := 0; g < 2; g++ {
		done.Add(1)
		go func() {
			defer done.Done()
			for i := 0; i < 200; i++ {
				m.Lock()
				time.Sleep(50 * time.Microsecond)
				m.Unlock()
			}
		}()
	}
	done.Wait()
}

//go:noinline
func blockOn() {
	c := make(chan int)
	go func() {
		for i := 0; i < 50; i++ {
			time.Sleep(500 * time.Microsecond)
			c <- i
		}
	}()
	for i := 0; i < 50; i++ {
		<-c
	}
}

func main() {
	runtime.SetBlockProfileRate(1)
	runtime.SetMutexProfileFraction(1)
	contend()
	blockOn()
	runtime.SetBlockProfileRate(0)
	runtime.SetMutexProfileFraction(0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosvc: %v\n", err)
		os.Exit(1)
	}
	keepSmall(200000)
	keepLarge(8)
	keepTree(50000)
	mu.Lock()
	a, b := make(chan int), make(chan int)
	wg.Add(500 + 20 + 7)
	for i := 0; i < 500; i++ {
		go waiter()
	}
	for i := 0; i < 20; i++ {
		go locker()
	}
	for i := 0; i < 7; i++ {
		go selecter(a, b)
	}
	wg.Wait()
	go http.Serve(ln, nil)
	// the heap profile shows allocations two GCs after they happened
	runtime.GC()
	runtime.GC()
	fmt.Printf("ready %d\n", ln.Addr().(*net.TCPAddr).Port)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	runtime.KeepAlive(small)
	runtime.KeepAlive(large)
	runtime.KeepAlive(tree)
}
