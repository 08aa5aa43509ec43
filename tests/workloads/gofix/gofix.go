// SPDX-License-Identifier: GPL-2.0-only

// A Go program with known goroutines, for the goroutine reader's tests (tests/test_goruntime.c):
//
//	1000 main.chanWaiter     blocked on a channel receive, created by main.startWaiters
//	  10 main.mutexWaiter    blocked in sync.Mutex.Lock (main.startMutex holds the lock)
//	   5 main.selectWaiter   blocked in a select
//	   3 main.sleeper        in time.Sleep
//	   1 main.acceptor       in net.Listener.Accept on 127.0.0.1 (IO wait)
//	   1 main.spinner        on the CPU (running or runnable)
//	   1 main.syscallReader  in a read(2) of a pipe nobody writes to (status syscall: its stack
//	                         is the one the runtime saved as it entered the syscall)
//	   N main.grown          blocked on a channel receive, created by main.grower at -grow per
//	                         second (default 20)
//
// With -churn, 4 main.spawner goroutines also start and end short goroutines (main.churnTask)
// as fast as they can. On SIGUSR1 the program writes its own runtime.Stack(buf, true) to the
// -dump file (written to FILE.tmp, then renamed), the oracle the tests compare against, and
// FILE.grown: when each main.grown goroutine was started (CLOCK_MONOTONIC ns, one a line), so a
// growth rate can be checked over exactly the interval flametop measured it on. It
// prints "ready" once every goroutine above has started, and runs until SIGTERM or -seconds.
// Only the standard library; no pprof import, so the linker disables memory profiling
// (runtime.MemProfileRate 0) unless built with -tags keepmemprof.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var (
	sink     uint64
	keep     [][]byte
	keepMu   sync.Mutex
	blockCh  = make(chan int)
	growCh   = make(chan int)
	started  sync.WaitGroup
	heldLock sync.Mutex
	grownMu  sync.Mutex
	grownAt  []int64
)

const clockMonotonic = 1 // CLOCK_MONOTONIC: the clock flametop's ticks are on

func monotonic() int64 {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

//go:noinline
func chanWaiter() {
	started.Done()
	<-blockCh
}

//go:noinline
func mutexWaiter() {
	started.Done()
	heldLock.Lock()
	heldLock.Unlock()
}

//go:noinline
func selectWaiter(a, b chan int) {
	started.Done()
	select {
	case <-a:
	case <-b:
	}
}

//go:noinline
func sleeper() {
	started.Done()
	time.Sleep(24 * time.Hour)
}

//go:noinline
func acceptor(ln net.Listener) {
	started.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

//go:noinline
func spinner() {
	started.Done()
	x := uint64(1)
	for {
		for i := 0; i < 1000000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		sink = x
	}
}

//go:noinline
func grown() {
	<-growCh
}

//go:noinline
func grower(perSec int) {
	if perSec <= 0 {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(perSec))
	for range tick.C {
		go grown()
		at := monotonic()
		grownMu.Lock()
		grownAt = append(grownAt, at)
		grownMu.Unlock()
	}
}

//go:noinline
func churnTask(n int) {
	x := uint64(n)
	for i := 0; i < 100; i++ {
		x = x*2862933555777941757 + 3037000493
	}
	if x == 42 {
		sink = x
	}
}

//go:noinline
func spawner() {
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		for j := 0; j < 200; j++ {
			wg.Add(1)
			go func(n int) {
				churnTask(n)
				wg.Done()
			}(j)
		}
		wg.Wait()
	}
}

// syscallReader blocks in read(2) on a blocking pipe: a goroutine in a syscall for good.
//
//go:noinline
func syscallReader() {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		fmt.Fprintf(os.Stderr, "gofix: pipe: %v\n", err)
		os.Exit(1)
	}
	buf := make([]byte, 1)
	started.Done()
	syscall.Read(p[0], buf)
}

//go:noinline
func startWaiters(n int) {
	for i := 0; i < n; i++ {
		go chanWaiter()
	}
}

//go:noinline
func startMutex(n int) {
	heldLock.Lock()
	for i := 0; i < n; i++ {
		go mutexWaiter()
	}
}

//go:noinline
func startOthers() net.Listener {
	a, b := make(chan int), make(chan int)
	for i := 0; i < 5; i++ {
		go selectWaiter(a, b)
	}
	for i := 0; i < 3; i++ {
		go sleeper()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofix: listen: %v\n", err)
		os.Exit(1)
	}
	go acceptor(ln)
	go spinner()
	go syscallReader()
	return ln
}

// allocator keeps a known amount of memory reachable from main.allocKeep (for heap tests).
//
//go:noinline
func allocKeep(n, size int) {
	keepMu.Lock()
	defer keepMu.Unlock()
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, size))
	}
}

func dump(path string) {
	var times strings.Builder
	grownMu.Lock()
	for _, t := range grownAt {
		times.WriteString(strconv.FormatInt(t, 10))
		times.WriteByte('\n')
	}
	grownMu.Unlock()
	if err := os.WriteFile(path+".grown", []byte(times.String()), 0o600); err != nil {
		fmt.Fprintf(os.Stderr, "gofix: %v\n", err)
	}
	buf := make([]byte, 64<<20)
	n := runtime.Stack(buf, true)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf[:n], 0o600); err != nil {
		fmt.Fprintf(os.Stderr, "gofix: %v\n", err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		fmt.Fprintf(os.Stderr, "gofix: %v\n", err)
	}
}

func main() {
	dumpPath := flag.String("dump", "", "where SIGUSR1 writes runtime.Stack(all)")
	seconds := flag.Int("seconds", 600, "exit after this many seconds")
	grow := flag.Int("grow", 20, "main.grown goroutines started per second")
	churn := flag.Bool("churn", false, "start and end short goroutines as fast as possible")
	waiters := flag.Int("waiters", 1000, "main.chanWaiter goroutines")
	alloc := flag.Int("alloc", 64, "MiB kept reachable from main.allocKeep")
	flag.Parse()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)

	started.Add(*waiters + 10 + 5 + 3 + 1 + 1 + 1)
	startWaiters(*waiters)
	startMutex(10)
	ln := startOthers()
	started.Wait()
	allocKeep(*alloc, 1<<20)
	go grower(*grow)
	if *churn {
		for i := 0; i < 4; i++ {
			go spawner()
		}
	}
	fmt.Printf("ready %d\n", os.Getpid())

	deadline := time.After(time.Duration(*seconds) * time.Second)
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				if *dumpPath != "" {
					dump(*dumpPath)
				}
				fmt.Println("dumped")
				continue
			}
			ln.Close()
			return
		case <-deadline:
			ln.Close()
			return
		}
	}
}
