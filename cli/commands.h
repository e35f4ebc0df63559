// The table of fluxctl subcommands; each is defined in its own file.
#pragma once

#include "common.h"

namespace fluxguard::cli {

extern const Command status_command;
extern const Command blocked_command;
extern const Command show_command;
extern const Command hosts_command;
extern const Command allow_command;
extern const Command deny_command;
extern const Command block_command;  // the older name of deny
extern const Command unblock_command;
extern const Command expire_command;
extern const Command import_command;
extern const Command export_command;
extern const Command watch_command;
extern const Command replay_command;
extern const Command settings_command;

}  // namespace fluxguard::cli
