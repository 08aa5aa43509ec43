// SPDX-License-Identifier: GPL-2.0-only

// A Go program with known functions for tests/test_gopclntab.c and tests/test_syms.c: inlined
// calls two levels deep (middle -> inner), across files (fromOther -> helper, in other.go), a
// leaf without a frame, generic instances, a method and a closure. Built by every installed Go
// toolchain, default, stripped (-s -w) and PIE. The tests read the source to find the line of
// each "func": keep one function per func line.
package main

import (
	"fmt"
	"os"
	"strconv"
)

var sink int

//go:noinline
func leaf(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i
	}
	return s
}

func inner(x int) int {
	sink += x
	return sink * 3
}

func middle(x int) int {
	y := inner(x)
	sink ^= y
	return inner(y)
}

//go:noinline
func outer(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += middle(i)
	}
	return s + leaf(n)
}

type number interface {
	~int | ~float64
}

//go:noinline
func Sum[T number](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

type counter struct {
	n int
}

//go:noinline
func (c *counter) add(d int) {
	c.n += d
}

func main() {
	n := 10
	if len(os.Args) > 1 {
		if v, err := strconv.Atoi(os.Args[1]); err == nil {
			n = v
		}
	}
	c := &counter{}
	c.add(outer(n))
	twice := func(x int) int { return 2*x + sink }
	fmt.Println(c.n, Sum([]int{1, 2, 3}), Sum([]float64{1.5}), fromOther(n), twice(n))
}
