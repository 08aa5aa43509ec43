// SPDX-License-Identifier: GPL-2.0-only

// Known answer: a Go program with nothing much to do. Eight goroutines wake every 50 ms for a
// moment of work; with GOMAXPROCS=4 the runtime keeps several worker threads (Ms) that find
// nothing to run and sleep in the scheduler (runtime.notesleep → futex), and sysmon naps.
// Those threads wait for work: thread states must say wait, not lock — no goroutine ever
// waits for a lock here.
//
// usage: goidle [SECONDS]   (default 10; exits 0)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var sink uint64

//go:noinline
func work(n int) uint64 {
	x := uint64(n) | 1
	for i := 0; i < 20000; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func main() {
	secs := 10
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v < 1 || v > 86400 {
			fmt.Fprintf(os.Stderr, "goidle: bad SECONDS '%s' (1..86400)\n", os.Args[1])
			os.Exit(2)
		}
		secs = v
	}
	runtime.GOMAXPROCS(4)
	end := time.Now().Add(time.Duration(secs) * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for time.Now().Before(end) {
				time.Sleep(50 * time.Millisecond)
				v := work(g)
				mu.Lock() // uncontended: held for nanoseconds
				sink += v
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
}
