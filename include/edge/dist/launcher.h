// Launching one training process per device on this machine (`edge train --device-id 0,1`,
// `--nproc N`): the edge binary runs itself once per rank with torchrun's variables.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace edge::dist {

// A free TCP port on 127.0.0.1 for the TCPStore (bound and released; the usual small race).
int free_local_port();

// Runs `exe args... --device devices[r]` as rank r of devices.size() processes with RANK,
// LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT (a free
// port) set; the children share this process's stdout and stderr. Waits for all of them.
// When one fails, the others notice the lost peer and exit on their own; any still running
// after `grace` are killed. SIGINT / SIGTERM to this process go to every worker (each in its
// own process group, so a terminal's Ctrl-C reaches it once, through here), and a worker whose
// launcher dies gets SIGTERM. Returns 0, or the exit code of the first process that failed
// (128 + signal for one killed by a signal or interrupted). Throws std::runtime_error if it
// cannot start them.
int launch_local_workers(const std::string& exe, const std::vector<std::string>& args,
                         const std::vector<std::string>& devices, std::chrono::seconds grace);

// This program's own executable (/proc/self/exe).
std::string self_executable();

}  // namespace edge::dist
