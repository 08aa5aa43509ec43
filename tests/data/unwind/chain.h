// SPDX-License-Identifier: GPL-2.0-only
/* The call chains of tests/data/unwind/chain.c: a → b → c → d → cb(arg). */
#ifndef TESTS_DATA_UNWIND_CHAIN_H
#define TESTS_DATA_UNWIND_CHAIN_H

typedef void (*chain_cb)(void *arg);

void eh_chain_a(chain_cb cb, void *arg, int depth);
void eh_chain_b(chain_cb cb, void *arg, int depth);
void eh_chain_c(chain_cb cb, void *arg, int depth);
void eh_chain_d(chain_cb cb, void *arg, int depth);
void df_chain_a(chain_cb cb, void *arg, int depth);
void df_chain_b(chain_cb cb, void *arg, int depth);
void df_chain_c(chain_cb cb, void *arg, int depth);
void df_chain_d(chain_cb cb, void *arg, int depth);
void lp_chain_a(chain_cb cb, void *arg, int depth);
void lp_chain_b(chain_cb cb, void *arg, int depth);
void lp_chain_c(chain_cb cb, void *arg, int depth);
void lp_chain_d(chain_cb cb, void *arg, int depth);

#endif
