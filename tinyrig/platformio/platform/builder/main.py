"""SCons builder of tinyrig's offline PlatformIO platform.

Compiles with the distribution's arm-none-eabi-gcc found on PATH (Debian's gcc-arm-none-eabi),
so no toolchain package is ever fetched. CPU and FPU come from the project's board JSON, which
tinyrig renders from boards/<board>.toml.

Targets beyond the image: `upload` flashes the ELF with `pyocd flash`, `gdbserver` runs
`pyocd gdbserver` for any GDB or IDE to attach to (`pio debug` starts the same server from the
debug_* options tinyrig writes into platformio.ini). Both need the board's pyOCD target, which
platformio.ini passes as `board_upload.pyocd_target`; pyocd itself is found on PATH.
"""

import sys
from os.path import join

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment  # noqa: F401 (SCons names)

env = DefaultEnvironment()
board = env.BoardConfig()

cpu = board.get("build.cpu")
fpu = board.get("build.fpu", "none")
cpu_flags = ["-mcpu=%s" % cpu, "-mthumb"]
if fpu == "none":
    cpu_flags.append("-mfloat-abi=soft")
else:
    cpu_flags.append("-mfloat-abi=hard")
    if fpu != "auto":  # "auto": -mcpu picks the FPU (and MVE on Cortex-M55)
        cpu_flags.append("-mfpu=%s" % fpu)

env.Replace(
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-gcc",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="gdb-multiarch",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"],
    PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.rodata|\.ARM\.exidx|\.init_array|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -A -d $SOURCES",
)

env.Append(
    ASFLAGS=cpu_flags + ["-x", "assembler-with-cpp"],
    CCFLAGS=cpu_flags
    + [
        "-O2",
        "-g",
        "-ffunction-sections",
        "-fdata-sections",
        "-fno-common",
        # Keep a*b+c as two roundings so results printed on the device match the host's.
        "-ffp-contract=off",
        "-Wall",
        "-Wextra",
    ],
    CFLAGS=["-std=gnu11"],
    CXXFLAGS=["-std=gnu++17", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics"],
    LINKFLAGS=cpu_flags
    + [
        "-nostartfiles",
        "--specs=nano.specs",
        "--specs=nosys.specs",
        "-Wl,--gc-sections",
        "-Wl,--print-memory-usage",
        # Quoted: SCons splits an expanded $BUILD_DIR at spaces unless the value sits inside
        # quotes, and a project folder or cache under "My Projects" is a normal place to build.
        '-Wl,-Map="%s"' % join("$BUILD_DIR", "${PROGNAME}.map"),
    ],
    LIBS=["c", "m", "gcc"],
)

ldscript = board.get("build.ldscript", "")
if ldscript:
    env.Replace(LDSCRIPT_PATH=ldscript)

target_elf = env.BuildProgram()
target_bin = env.Command(
    join("$BUILD_DIR", "${PROGNAME}.bin"),
    target_elf,
    env.VerboseAction("$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"),
)
target_size = env.Alias("size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"))
AlwaysBuild(target_size)

# GDB's default remote port, which platformio.ini's debug_port names too.
GDB_PORT = 3333
pyocd_target = board.get("upload.pyocd_target", "")
if pyocd_target:
    probe = ["--uid", "$UPLOAD_PORT"] if env.subst("$UPLOAD_PORT") else []
    env.Replace(
        UPLOADER="pyocd",
        # upload_flags from platformio.ini are prepended to these: they land after `flash`.
        UPLOADERFLAGS=["--target", pyocd_target] + probe,
        UPLOADCMD="$UPLOADER flash $UPLOADERFLAGS $SOURCE",
        GDBSERVERCMD="$UPLOADER gdbserver --target %s --port %d %s" % (pyocd_target, GDB_PORT, " ".join(probe)),
    )
    upload_action = env.VerboseAction("$UPLOADCMD", "Flashing $SOURCE with pyOCD (target %s)" % pyocd_target)
    gdbserver_action = env.VerboseAction("$GDBSERVERCMD", "pyOCD GDB server on port %d" % GDB_PORT)
else:
    def _no_probe_target(target, source, env):  # noqa: ARG001 (SCons action signature)
        sys.stderr.write(
            "Error: board %s names no pyOCD target (pyocd_target in its tinyrig board file), so there is "
            "nothing to flash or debug with; emulated boards run with `tinyrig run`\n" % board.get("build.mcu", "?"))
        return 1

    upload_action = gdbserver_action = env.Action(_no_probe_target, None)

# The ELF, not the .bin: it carries its load addresses, so pyOCD needs no base address.
AlwaysBuild(env.Alias("upload", target_elf, upload_action))
AlwaysBuild(env.Alias("gdbserver", target_elf, gdbserver_action))
Default([target_bin])
