// SPDX-License-Identifier: GPL-2.0-only
#include "out.h"

int out_write(FILE *f, const struct report *r, enum options_format format)
{
	switch (format) {
	case FORMAT_JSON:
		return out_json_write(f, r);
	case FORMAT_FOLDED:
		return out_folded_write(f, r);
	case FORMAT_PPROF:
		return out_pprof_write(f, r);
	case FORMAT_SPEEDSCOPE:
		return out_speedscope_write(f, r);
	default:
		return out_text_write(f, r);
	}
}
