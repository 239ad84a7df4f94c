/* The streaming wakeword commands of the MLPerf Tiny reference DUT, and tinyrig's extensions
 * for its emulated audio input. The parser (api/internally_implemented.cpp) hands them every
 * command it does not know itself. */
#ifndef TINYRIG_SWW_COMMANDS_H
#define TINYRIG_SWW_COMMANDS_H

/* True when `command` (with its arguments in `rest`) was a streaming command and is answered. */
bool sww_command(const char *command, char *rest);
/* `tinyrig audio PATH` and `tinyrig trace PATH`: true when `sub` was one of them. */
bool sww_tinyrig_command(const char *sub, char *rest);

#endif
