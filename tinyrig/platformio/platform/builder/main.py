"""SCons builder of tinyrig's offline PlatformIO platform.

Compiles with the distribution's arm-none-eabi-gcc found on PATH (Debian's gcc-arm-none-eabi),
so no toolchain package is ever fetched. CPU and FPU come from the project's board JSON, which
tinyrig renders from boards/<board>.toml.
"""

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
        "-Wl,-Map," + join("$BUILD_DIR", "${PROGNAME}.map"),
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
Default([target_bin])
