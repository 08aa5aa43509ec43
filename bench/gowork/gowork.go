// SPDX-License-Identifier: GPL-2.0-only

// The goroutine reader's benchmark target (bench/goroutines.c): N goroutines parked in a
// channel receive 8 calls deep (the shape of a server's idle connections), and W workers doing
// a fixed computation, counting how many they finish. Every 100 ms it writes the total count so
// far as a line to stdout (a number), so the benchmark can measure the program's own throughput
// while flametop reads it and while it does not. usage: gowork N W
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	block = make(chan int)
	done  atomic.Uint64
	ready sync.WaitGroup
)

//go:noinline
func depth(n int) {
	if n == 0 {
		ready.Done()
		<-block
		return
	}
	depth(n - 1)
}

//go:noinline
func work() {
	x := uint64(1)
	for {
		for i := 0; i < 100000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if x == 42 {
			fmt.Println()
		}
		done.Add(1)
	}
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	w, _ := strconv.Atoi(os.Args[2])
	ready.Add(n)
	for i := 0; i < n; i++ {
		go depth(8)
	}
	ready.Wait()
	runtime.GC()
	for i := 0; i < w; i++ {
		go work()
	}
	for {
		time.Sleep(100 * time.Millisecond)
		fmt.Fprintf(os.Stdout, "%d\n", done.Load())
	}
}
