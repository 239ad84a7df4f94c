"""`python -m tinyrig.cli`: the same as the `tinyrig` command."""

from tinyrig.cli.main import main

main()
