/* main.c - dispatches llmsyn-fhir's subcommands; generate is the default. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(void)
{
    printf("usage: " CLI_NAME " [generate] [options]      generate records (see '" CLI_NAME " generate --help')\n"
           "       " CLI_NAME " validate PATH...          check bundle files or folders against conformance/\n"
           "       " CLI_NAME " codes lookup CODE...      look codes up in the shipped dictionaries (ICD-9-CM,\n"
           "                                         HCPCS, CPT ranges); exit 11 when a code is not found\n"
           "       " CLI_NAME " codes search TEXT         rank valid codes by description (see 'codes --help')\n"
           "       " CLI_NAME " post PATH --to URL [options]  upload bundles to a FHIR server (see 'post --help')\n"
           "       " CLI_NAME " compare --synthea DIR --ours PATH [--real DIR] --report DIR\n"
           "                                         Synthea vs llmsyn-fhir vs real, per service category\n"
           "       " CLI_NAME " eval --real DIR --synthetic PATH --report DIR  compare with real data (see 'eval --help')\n"
           "       " CLI_NAME " prior extract --mimic DIR --out FILE  aggregate real data into a prior\n"
           "       " CLI_NAME " --version | --help\n");
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd && (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))) {
        usage();
        printf("\n");
        usage_generate();
        return 0;
    }
    if (cmd && !strcmp(cmd, "--version")) {
        printf(CLI_NAME " " CLI_VERSION "\n");
        return 0;
    }
    if (cmd && !strcmp(cmd, "generate"))
        return cmd_generate(argc - 1, argv + 1);
    if (cmd && !strcmp(cmd, "post"))
        return cmd_post(argc - 1, argv + 1);
    if (cmd && !strcmp(cmd, "validate"))
        return cmd_validate(argc - 1, argv + 1);
    if (cmd && !strcmp(cmd, "eval"))
        return cmd_eval(argc - 1, argv + 1);
    if (cmd && !strcmp(cmd, "prior"))
        return cmd_prior(argc - 1, argv + 1);
    if (cmd && !strcmp(cmd, "codes"))
        return cmd_codes(argc - 1, argv + 1);
    if (cmd && !strcmp(cmd, "compare"))
        return cmd_compare(argc - 1, argv + 1);
    if (cmd && cmd[0] != '-') {
        msg_error("unknown command '%s' (see '" CLI_NAME " --help')", cmd);
        return LLMSYN_E_USAGE;
    }
    return cmd_generate(argc, argv);
}
