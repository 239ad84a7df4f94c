"""PlatformIO runs `<python> <tool-scons>/scons.py --sconstruct ...`: hand over to the SCons
installed in tinyrig's own environment (pinned with platformio, see pyproject.toml)."""

import sys

from SCons.Script import main

if __name__ == "__main__":
    sys.exit(main())
