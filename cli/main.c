// SPDX-License-Identifier: GPL-2.0-only
/* flametop: a live, top-like profiler. See README.md and `flametop --help`. */
#include <locale.h>
#include <stdio.h>

#include "cli/convert.h"
#include "cli/doctor.h"
#include "cli/optdefs.h"
#include "cli/options.h"
#include "cli/playback.h"
#include "cli/run.h"
#include "cli/tune.h"
#include "cli/version.h"

int main(int argc, char **argv)
{
	struct options o;
	char err[512];
	int status;

	setlocale(LC_ALL, "");
	if (options_parse(argc, argv, &o, err, sizeof(err))) {
		fprintf(stderr, "flametop: %s\n", err);
		return EXIT_USAGE;
	}
	/* the commands that read and hold data; an exec costs ~25 ms of CPU here */
	if (o.cmd != CMD_HELP && o.cmd != CMD_VERSION && o.cmd != CMD_DOCTOR)
		tune_start(argv);
	switch (o.cmd) {
	case CMD_HELP:
		optdefs_usage(stdout, o.help_cmd);
		status = EXIT_OK;
		break;
	case CMD_VERSION:
		version_print(stdout);
		status = EXIT_OK;
		break;
	case CMD_SNAPSHOT:
		status = run_snapshot(&o);
		break;
	case CMD_RECORD:
		status = run_record(&o);
		break;
	case CMD_REPLAY:
		status = playback_main(&o);
		break;
	case CMD_CONVERT:
		status = convert_main(&o);
		break;
	case CMD_SERVE:
		status = run_serve(&o);
		break;
	case CMD_DOCTOR:
		status = doctor_run(stdout);
		break;
	default:
		status = run_live(&o);
		break;
	}
	options_fini(&o);
	return status;
}
