"""PlatformIO runs `<python> <tool-scons>/scons.py --sconstruct ...`: hand over to the SCons
installed in the Python that runs PlatformIO (tinyrig pins it with platformio, see pyproject.toml;
a generated project's README.md tells other machines to install it)."""

import sys

try:
    from SCons.Script import main
except ImportError:
    sys.exit("error: SCons is not installed for %s, which runs PlatformIO; install the version PlatformIO 6.2.0 "
             "expects: %s -m pip install scons==4.11.1" % (sys.executable, sys.executable))

if __name__ == "__main__":
    sys.exit(main())
