// SPDX-License-Identifier: GPL-2.0-only

package main

func helper(x int) int {
	sink -= x
	return sink ^ 0x55
}

//go:noinline
func fromOther(n int) int {
	return helper(n) + helper(n+1) + sink
}
